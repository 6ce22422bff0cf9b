// Leader election on a coordination.k8s.io Lease, after client-go's: acquire when the lease is free
// or its holder stopped renewing (measured on our own clock, so clock skew cannot steal it), renew
// every retry period, and give up leadership when a renewal has not succeeded within the renew
// deadline. Releasing on shutdown hands over at once instead of after a lease duration.
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { statusCodeOf } from './clients.ts';
import { sleep } from '../util/backoff.ts';

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
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
      const lease = await this.o.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      lease.spec = { leaseDurationSeconds: 1, renewTime: new V1MicroTime(), leaseTransitions: lease.spec.leaseTransitions ?? 0 };
      await this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
      this.o.logger.info({ lease: `${this.o.namespace}/${this.o.name}` }, 'released leadership');
    } catch (err) {
      this.o.logger.warn({ err }, 'could not release the lease; it will expire');
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.o;
    const now = new V1MicroTime();
    try {
      let lease: V1Lease;
      try {
        lease = await api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw err;
        await api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
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
        ...(spec.leaseTransitions !== undefined ? { leaseTransitions: spec.leaseTransitions } : {}),
        holderIdentity: identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        renewTime: now,
        ...(takingOver ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      };
      // resourceVersion in the body: if another replica wrote in between, this fails with 409.
      await api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      const code = statusCodeOf(err);
      if (code !== 409) this.o.logger.warn({ err, lease: `${namespace}/${name}` }, 'lease update failed');
      return false;
    }
  }
}
