// The manager, in the shape of controller-runtime's: one cache per kind (one informer per watched
// namespace behind it), the controllers and what triggers each, runnables, leader gating, health
// and readiness, and the shutdown order.
//
// Caches are warm on every replica, so a standby that takes over is ready within a termination
// notice; runnables that do not need leadership (the eviction webhook) serve from them on every
// replica. Workers run only on the leader. When this replica starts leading, each controller starts
// as soon as the caches it uses have synced, and every cached object is replayed through the
// controller's own trigger mappings (an "add" each), so work a predecessor left half done gets
// one look. There is no second list of rules.
import type { KubeAccess } from './access.ts';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { startHttpServer } from '../server/http-server.ts';
import type { Index, Kind, Store } from './cache.ts';
import { Controller, type Reconciler } from './controller.ts';
import { sleep } from '../util/backoff.ts';
import { getJson } from './http.ts';
import { Informer, InformerGroup, type InformerEvent } from './informer.ts';
import { keyOf, type Keyed } from './keys.ts';
import type { LeaderElector } from './leader-election.ts';

/** Something the manager starts and stops besides controllers (a webhook server, a periodic check). */
export interface Runnable {
  name: string;
  /** false: runs on every replica (it must only read caches and write idempotently). */
  needLeaderElection: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ManagerOptions {
  access: KubeAccess;
  /** Namespaces to watch; empty: the whole cluster. */
  namespaces: readonly string[];
  logger: Logger;
  metrics: Metrics;
  /** Workers per controller, unless the controller says otherwise. */
  workers: number;
  /** undefined: this replica leads from the start (tests, a single replica). */
  leaderElector: LeaderElector | undefined;
  httpBindAddress: string;
}

export interface ControllerOptions {
  workers?: number;
  /** Per-key backoff after a failure (default 200 ms → 5 min). */
  backoff?: { baseMs: number; maxMs: number };
  reconcileTimeoutMs?: number;
}

type AnyKind = Kind<string, Keyed>;
type AnyCache = InformerGroup<string, Keyed>;

/** One way events of a kind become keys of a controller. */
interface Trigger {
  kind: AnyKind;
  keys(e: InformerEvent<Keyed>): Iterable<string>;
  /** Keys wait this long, and the events of the wait make one reconcile (TriggerOptions). */
  coalesceMs?: number | undefined;
}

export interface TriggerOptions {
  /**
   * A reconcile that reads many objects (a policy over all its pods) need not follow each of a burst
   * of events: the key is queued after this delay, and the events meanwhile find it already waiting.
   */
  coalesceMs?: number;
}

interface Registered {
  controller: Controller;
  triggers: Trigger[];
  /** Every kind the controller reads: it starts when these caches have synced. */
  kinds: Set<AnyKind>;
}

/** What changed that is worth a reconcile of the object itself: not its status, which is ours. */
export const specOrLifecycleChanged = <T extends Keyed & { metadata: { generation?: number | undefined; deletionTimestamp?: unknown; finalizers?: string[] | undefined } }>(
  e: InformerEvent<T>,
): boolean =>
  e.type !== 'update' ||
  e.obj.metadata.generation !== e.old.metadata.generation ||
  e.obj.metadata.deletionTimestamp !== e.old.metadata.deletionTimestamp ||
  JSON.stringify(e.obj.metadata.finalizers) !== JSON.stringify(e.old.metadata.finalizers);

/**
 * Declares a controller (controller-runtime's builder): the kind it is `for` (its keys are that
 * kind's keys), objects it `owns` (an event maps to the owner's key), what else it `watches` (with a
 * map from that object to its own keys), and what it `reads` besides.
 */
export class ControllerBuilder<FK extends string = string, FT extends Keyed = Keyed> {
  private readonly triggers: Trigger[] = [];
  private readonly kinds = new Set<AnyKind>();
  private forKind: Kind<FK, FT> | undefined;
  private readonly mgr: Manager;
  private readonly name: string;
  private readonly opts: ControllerOptions;

  constructor(mgr: Manager, name: string, opts: ControllerOptions) {
    this.mgr = mgr;
    this.name = name;
    this.opts = opts;
  }

  for<K extends string, T extends Keyed>(kind: Kind<K, T>, predicate: (e: InformerEvent<T>) => boolean = () => true): ControllerBuilder<K, T> {
    const self = this as unknown as ControllerBuilder<K, T>;
    self.forKind = kind;
    return self.trigger(kind, (e) => (predicate(e) ? [keyOf(e.obj)] : []));
  }

  /** Objects whose ownerReferences name an object of the `for` kind: an event requeues that owner. */
  owns<K extends string, T extends Keyed & { metadata: { ownerReferences?: { kind: string; name: string }[] | undefined } }>(
    kind: Kind<K, T>,
    predicate: (e: InformerEvent<T>) => boolean = () => true,
    opts: TriggerOptions = {},
  ): this {
    const owner = this.forKind;
    if (!owner) throw new Error(`controller ${this.name}: owns() needs for() first`);
    return this.trigger(
      kind,
      (e) => (predicate(e) ? (e.obj.metadata.ownerReferences ?? []).filter((r) => r.kind === owner.kind).map((r) => keyOf({ metadata: { name: r.name, namespace: e.obj.metadata.namespace } })) : []),
      opts,
    );
  }

  watches<K extends string, T extends Keyed>(kind: Kind<K, T>, map: (e: InformerEvent<T>) => Iterable<string>, opts: TriggerOptions = {}): this {
    return this.trigger(kind, map, opts);
  }

  /** Kinds the reconciler reads without being triggered by them. */
  reads(...kinds: Kind<string, Keyed>[]): this {
    for (const k of kinds) this.kinds.add(k);
    return this;
  }

  complete(reconciler: Reconciler): Controller {
    if (!this.forKind) throw new Error(`controller ${this.name}: for() is required`);
    return this.mgr.register(this.name, this.opts, reconciler, this.triggers, this.kinds);
  }

  private trigger<K extends string, T extends Keyed>(kind: Kind<K, T>, keys: (e: InformerEvent<T>) => Iterable<string>, opts: TriggerOptions = {}): this {
    this.kinds.add(kind);
    this.triggers.push({ kind: kind, keys: keys as (e: InformerEvent<Keyed>) => Iterable<string>, coalesceMs: opts.coalesceMs });
    return this;
  }
}

export class Manager {
  readonly log: Logger;
  readonly metrics: Metrics;
  private readonly o: ManagerOptions;
  private readonly caches = new Map<AnyKind, AnyCache>();
  private readonly controllers: Registered[] = [];
  private readonly runnables: Runnable[] = [];
  private readonly readyChecks = new Map<string, () => boolean>();
  private started = false;

  constructor(o: ManagerOptions) {
    this.o = o;
    this.log = o.logger;
    this.metrics = o.metrics;
  }

  /** The shared cache of a kind, made on first use; all of them start with the manager. */
  cache<K extends string, T extends Keyed>(kind: Kind<K, T>): InformerGroup<K, T> {
    const known = this.caches.get(kind);
    if (known) return known as unknown as InformerGroup<K, T>;
    if (this.started) throw new Error(`cache of ${kind.plural} asked for after the manager started`);
    const scopes = kind.namespaced && this.o.namespaces.length > 0 ? this.o.namespaces : [undefined];
    const group = new InformerGroup(
      kind,
      scopes.map(
        (namespace) =>
          new Informer<K, T>({
            kind,
            namespace,
            access: this.o.access,
            logger: this.log.child({ informer: kind.plural, namespace: namespace ?? '*' }),
            onWatchState: (state) => {
              this.metrics.watchStates.inc({ informer: kind.plural, state });
              this.watchStateChanged(state);
            },
          }),
      ),
    );
    this.caches.set(kind, group as unknown as AnyCache);
    return group;
  }

  /** Registers an index on a kind's cache (as controller-runtime's IndexField) and returns the store. */
  index<K extends string, T extends Keyed>(kind: Kind<K, T>, ...indexes: Index<K, T>[]): Store<K, T> {
    const cache = this.cache(kind);
    for (const i of indexes) cache.addIndex(i);
    return cache;
  }

  controller(name: string, opts: ControllerOptions = {}): ControllerBuilder {
    if (this.controllers.some((c) => c.controller.name === name)) throw new Error(`two controllers are named ${name}`);
    return new ControllerBuilder(this, name, opts);
  }

  add(runnable: Runnable): void {
    this.runnables.push(runnable);
  }

  /** /readyz answers 200 only while every check passes (and every cache has synced). */
  addReadyCheck(name: string, check: () => boolean): void {
    this.readyChecks.set(name, check);
  }

  /** @internal the builder's end */
  register(name: string, opts: ControllerOptions, reconciler: Reconciler, triggers: Trigger[], kinds: Set<AnyKind>): Controller {
    const controller = new Controller({
      name,
      reconciler,
      workers: opts.workers ?? this.o.workers,
      logger: this.log,
      metrics: this.metrics,
      reconcileTimeoutMs: opts.reconcileTimeoutMs ?? 5 * 60_000,
      // 200 ms → 5 min: a failing Cedana is not hammered, a passing blip costs little.
      backoff: opts.backoff ?? { baseMs: 200, maxMs: 300_000 },
    });
    for (const t of triggers) {
      this.cache(t.kind).onEvent((e) => {
        if (!controller.isRunning) return;
        for (const key of t.keys(e)) controller.enqueue(key, t.coalesceMs);
      });
    }
    for (const k of kinds) this.cache(k);
    this.controllers.push({ controller, triggers, kinds });
    return controller;
  }

  async start(): Promise<RunningManager> {
    if (this.started) throw new Error('the manager is already started');
    this.started = true;
    const caches = [...this.caches.values()];
    for (const c of caches) c.start();
    const http = await startHttpServer({
      bindAddress: this.o.httpBindAddress,
      registry: this.metrics.registry,
      ready: () => caches.every((c) => c.hasSynced()) && [...this.readyChecks.values()].every((check) => check()),
    });
    for (const r of this.runnables.filter((r) => !r.needLeaderElection)) await r.start();
    return new RunningManager(this, http, caches, this.controllers, this.runnables, this.o.leaderElector);
  }

  private probing = false;
  /** Aborted when the manager stops: ends the apiserver probe. */
  readonly stopped = new AbortController();

  /**
   * An informer failed: once the apiserver answers again, every controller retries at once the
   * keys that failed meanwhile, instead of sleeping out backoffs grown during the outage.
   */
  private watchStateChanged(state: string): void {
    if (state !== 'error' || this.probing) return;
    this.probing = true;
    void (async () => {
      try {
        while (!this.stopped.signal.aborted) {
          try {
            await getJson(this.o.access, '/version', {}, AbortSignal.any([this.stopped.signal, AbortSignal.timeout(2_000)]));
            for (const c of this.controllers) c.controller.retryFailedNow();
            return;
          } catch {
            await sleep(1_000, this.stopped.signal);
          }
        }
      } finally {
        this.probing = false;
      }
    })();
  }

  /** @internal */
  cacheOf(kind: AnyKind): AnyCache {
    return this.cache(kind);
  }
}

export class RunningManager {
  readonly httpUrl: string;
  /** Resolves when this replica stops leading (lost lease) or stop() was called. */
  readonly done: Promise<'stopped' | 'lost-leadership'>;
  private leading = false;
  private stopping: Promise<void> | undefined;
  private readonly wakeOnStop: (() => void)[] = [];
  private requestStop: () => void = () => undefined;
  /** Resolves when stop() is called. */
  private readonly stopRequested = new Promise<void>((resolve) => {
    this.requestStop = resolve;
  });
  private readonly mgr: Manager;
  private readonly http: { url: string; close: () => Promise<void> };
  private readonly caches: AnyCache[];
  private readonly controllers: Registered[];
  private readonly runnables: Runnable[];
  private readonly elector: LeaderElector | undefined;

  constructor(mgr: Manager, http: { url: string; close: () => Promise<void> }, caches: AnyCache[], controllers: Registered[], runnables: Runnable[], elector: LeaderElector | undefined) {
    this.mgr = mgr;
    this.http = http;
    this.httpUrl = http.url;
    this.caches = caches;
    this.controllers = controllers;
    this.runnables = runnables;
    this.elector = elector;
    this.done = this.lead();
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** A method, not the field: the field changes while lead() awaits. */
  private isStopping(): boolean {
    return this.stopping !== undefined;
  }

  private async lead(): Promise<'stopped' | 'lost-leadership'> {
    if (this.elector && !(await this.elector.acquire())) return 'stopped';
    if (this.isStopping()) return 'stopped';
    this.leading = true;
    this.mgr.metrics.leader.set(1);
    for (const r of this.runnables.filter((r) => r.needLeaderElection)) await r.start();
    // Each controller starts once its own caches have synced, not the slowest of all.
    await Promise.all(
      this.controllers.map(async ({ controller, triggers, kinds }) => {
        // A stop before the caches ever synced (the apiserver away since start) must not hang here.
        await Promise.race([Promise.all([...kinds].map((k) => this.mgr.cacheOf(k).waitForSync())), this.stopRequested]);
        if (this.isStopping()) return;
        controller.start();
        for (const t of triggers) for (const obj of this.mgr.cacheOf(t.kind).list()) for (const key of t.keys({ type: 'add', obj })) controller.enqueue(key);
        this.mgr.log.info({ controller: controller.name }, 'controller running');
      }),
    );
    if (!this.elector) {
      await new Promise<void>((resolve) => this.wakeOnStop.push(resolve));
      return 'stopped';
    }
    await this.elector.holdUntilLost();
    return this.isStopping() ? 'stopped' : 'lost-leadership';
  }

  /**
   * Controllers finish in-flight work, then leader runnables stop, the Lease is released, then the
   * rest. Every call waits for the same shutdown (a signal handler and the main flow may both ask).
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.requestStop();
    this.mgr.stopped.abort();
    const log = this.mgr.log;
    log.info('stopping: finishing in-flight reconciles');
    await Promise.all(this.controllers.map((c) => c.controller.shutdown()));
    await Promise.all(this.runnables.filter((r) => r.needLeaderElection).map((r) => r.stop()));
    this.leading = false;
    this.mgr.metrics.leader.set(0);
    await this.elector?.stop();
    for (const wake of this.wakeOnStop.splice(0)) wake();
    await Promise.all(this.runnables.filter((r) => !r.needLeaderElection).map((r) => r.stop()));
    await Promise.all(this.caches.map((c) => c.stop()));
    await this.http.close();
    await this.done;
    log.info('stopped');
  }
}
