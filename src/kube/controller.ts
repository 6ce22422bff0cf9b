// One controller at run time: its work queue and workers, its metrics, the write-conflict policy,
// a logger and an AbortSignal for each reconcile. What triggers it is declared with the builder in
// manager.ts, next to its reconciler; this file only runs it.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { ConflictError } from './conflict.ts';
import { splitKey } from './keys.ts';
import { WorkQueue, type ReconcileResult } from './workqueue.ts';

export type { ReconcileResult } from './workqueue.ts';

/** What a reconcile gets besides its key. */
export interface ReconcileContext {
  /** Carries controller, namespace, name and reconcileID. */
  log: Logger;
  /** Aborted on shutdown and when the reconcile outlives its timeout; pass it to every Cedana call. */
  signal: AbortSignal;
}

export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined>;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  workers: number;
  logger: Logger;
  metrics: Metrics;
  /** A reconcile is aborted after this long (its Cedana calls with it) and retried with backoff. */
  reconcileTimeoutMs: number;
  /** Per-key backoff after a failure. */
  backoff: { baseMs: number; maxMs: number };
}

export class Controller {
  readonly name: string;
  private readonly queue: WorkQueue;
  private readonly stopping = new AbortController();
  private readonly log: Logger;
  private running = false;

  constructor(o: ControllerOptions) {
    this.name = o.name;
    const log = o.logger.child({ controller: o.name });
    this.log = log;
    // Every in-flight reconcile listens for shutdown: as many as there are workers.
    setMaxListeners(Infinity, this.stopping.signal);
    this.queue = new WorkQueue({
      name: o.name,
      workers: o.workers,
      backoff: o.backoff,
      logger: log,
      classify: (err) => (err instanceof ConflictError ? 'conflict' : 'error'),
      handler: async (key) => {
        const { namespace, name } = splitKey(key);
        // One controller and one timer per reconcile, both gone when it ends (AbortSignal.any and
        // AbortSignal.timeout would keep them alive for the whole timeout: 10,000 pods, 10 MB).
        const abort = new AbortController();
        const onStop = (): void => {
          abort.abort(this.stopping.signal.reason);
        };
        this.stopping.signal.addEventListener('abort', onStop, { once: true });
        const timer = setTimeout(() => {
          abort.abort(new Error(`reconcile of ${key} took longer than ${String(o.reconcileTimeoutMs)} ms`));
        }, o.reconcileTimeoutMs);
        timer.unref();
        const ctx = { log: log.child({ namespace: namespace ?? '', name, reconcileID: randomUUID() }), signal: abort.signal };
        try {
          return await o.reconciler.reconcile(key, ctx);
        } catch (err) {
          if (!(err instanceof ConflictError)) o.metrics.reconcileErrors.inc({ controller: o.name });
          throw err;
        } finally {
          clearTimeout(timer);
          this.stopping.signal.removeEventListener('abort', onStop);
        }
      },
      onResult: (result, ms) => {
        o.metrics.reconciles.inc({ controller: o.name, result });
        o.metrics.reconcileDuration.observe({ controller: o.name }, ms / 1000);
      },
      onDepth: (depth) => {
        o.metrics.queueDepth.set({ queue: o.name }, depth);
      },
    });
  }

  /** Keys arrive only while the controller runs: a standby's queue stays empty, and its start replays the caches. */
  enqueue(key: string, afterMs?: number): void {
    if (!this.running) return;
    if (afterMs) this.queue.addAfter(key, afterMs);
    else this.queue.add(key);
  }

  /** The keys backing off after failures run now (the apiserver is back). */
  retryFailedNow(): void {
    if (!this.running) return;
    const n = this.queue.retryFailedNow();
    if (n > 0) this.log.info({ keys: n }, 'the apiserver answers again: retrying the keys that failed meanwhile');
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.queue.start();
  }

  /**
   * Stop taking work and let what is in flight finish (a Cedana call half made is worse than a
   * short wait); after graceMs, abort it at its next await.
   */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.running = false;
    const timer = setTimeout(() => {
      this.stopping.abort(new Error(`controller ${this.name} is shutting down`));
    }, graceMs);
    try {
      await this.queue.shutdown();
    } finally {
      clearTimeout(timer);
    }
  }
}
