// Leader election on a coordination.k8s.io Lease, after client-go's: acquire when the lease is free
// or its holder stopped renewing (measured on our own clock, so clock skew cannot steal it), renew
// every retry period, and give up leadership when a renewal has not succeeded within the renew
// deadline. Releasing on shutdown hands over at once instead of after a lease duration.
import type { Logger } from 'pino';
import { z } from 'zod';
import { sleep } from '../util/backoff.ts';
import { paths, type KubeClient } from './client.ts';
import { statusCodeOf } from './errors.ts';

const LeaseSpec = z.looseObject({
  holderIdentity: z.string().nullish(),
  leaseDurationSeconds: z.number().int().nullish(),
  acquireTime: z.string().nullish(),
  renewTime: z.string().nullish(),
  leaseTransitions: z.number().int().nullish(),
});
const Lease = z.looseObject({ metadata: z.looseObject({ name: z.string(), namespace: z.string().optional(), resourceVersion: z.string().optional() }), spec: LeaseSpec.nullish() });
type Lease = z.infer<typeof Lease>;

/** A MicroTime as the apiserver parses it: RFC 3339 with exactly six fractional digits. */
const microTime = (): string => new Date().toISOString().replace('Z', '000Z');

/** The Lease calls of leader election. */
export class LeaseApi {
  private readonly kube: KubeClient;
  constructor(kube: KubeClient) {
    this.kube = kube;
  }
  async read(namespace: string, name: string): Promise<Lease> {
    return Lease.parse(await this.kube.get(paths.lease(namespace, name)));
  }
  async create(namespace: string, body: object): Promise<void> {
    await this.kube.create(paths.leases(namespace), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...body });
  }
  async replace(namespace: string, name: string, body: Lease): Promise<void> {
    await this.kube.replace(paths.lease(namespace, name), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...body });
  }
}

export interface LeaderElectionOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number; // 15
  renewDeadlineMs?: number; // 10 000
  retryPeriodMs?: number; // 2 000
  logger: Logger;
}

export class LeaderElector {
  private readonly o: Required<LeaderElectionOptions>;
  private readonly stopped = new AbortController();
  private leading = false;
  /** What we last saw of someone else's lease, and when (our clock). */
  private observed: { holder: string; renewTime: string; at: number } | undefined;

  constructor(o: LeaderElectionOptions) {
    this.o = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...o };
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Waits until this replica leads (resolves true) or is stopped first (false). */
  async acquire(): Promise<boolean> {
    while (!this.isStopped()) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.o.logger.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'became leader');
        return true;
      }
      await sleep(this.o.retryPeriodMs, this.stopped.signal);
    }
    return false;
  }

  private isStopped(): boolean {
    return this.stopped.signal.aborted;
  }

  /** Renews until leadership is lost (resolves) or stop() is called. */
  async holdUntilLost(): Promise<void> {
    let lastRenew = Date.now();
    while (!this.isStopped()) {
      await sleep(this.o.retryPeriodMs, this.stopped.signal);
      if (this.isStopped()) return;
      if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.o.renewDeadlineMs) {
        this.leading = false;
        this.o.logger.error({ lease: `${this.o.namespace}/${this.o.name}` }, 'lost leadership: could not renew the lease in time');
        return;
      }
    }
  }

  /** Stops renewing and, if leading, releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped.abort();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.o.api.read(this.o.namespace, this.o.name);
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      lease.spec = { leaseDurationSeconds: 1, renewTime: microTime(), leaseTransitions: lease.spec.leaseTransitions ?? 0 };
      await this.o.api.replace(this.o.namespace, this.o.name, lease);
      this.o.logger.info({ lease: `${this.o.namespace}/${this.o.name}` }, 'released leadership');
    } catch (err) {
      this.o.logger.warn({ err }, 'could not release the lease; it will expire');
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.o;
    const now = microTime();
    try {
      let lease: Lease;
      try {
        lease = await api.read(namespace, name);
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw err;
        await api.create(namespace, {
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      if (holder !== '' && holder !== identity) {
        const renewTime = spec.renewTime ? new Date(spec.renewTime).toISOString() : '';
        if (this.observed?.holder !== holder || this.observed.renewTime !== renewTime) {
          this.observed = { holder, renewTime, at: Date.now() };
        }
        const durationMs = (spec.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
        if (Date.now() < this.observed.at + durationMs) return false; // held, and still being renewed
      }
      const takingOver = holder !== identity;
      lease.spec = {
        ...(spec.acquireTime ? { acquireTime: spec.acquireTime } : {}),
        ...(spec.leaseTransitions !== undefined && spec.leaseTransitions !== null ? { leaseTransitions: spec.leaseTransitions } : {}),
        holderIdentity: identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        renewTime: now,
        ...(takingOver ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      };
      // resourceVersion in the body: if another replica wrote in between, this fails with 409.
      await api.replace(namespace, name, lease);
      return true;
    } catch (err) {
      const code = statusCodeOf(err);
      if (code !== 409) this.o.logger.warn({ err, lease: `${namespace}/${name}` }, 'lease update failed');
      return false;
    }
  }
}
