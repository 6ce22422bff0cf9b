// A work queue in the shape of client-go's: a key is held once while it waits, never handled by
// two workers at once (a key added while it is being handled runs again afterwards), failures come
// back with per-key exponential backoff, and "check again later" is a delay without a failure.
import type { Logger } from 'pino';
import { exponentialDelay, jittered, type BackoffPolicy } from '../util/backoff.ts';

export interface ReconcileResult {
  /** Handle the key again after this long (polling), without counting a failure. */
  requeueAfterMs?: number;
}

/** How a failed run is logged: 'conflict' (a write lost a race; the cache catches up) quietly, 'error' as a warning. */
export type FailureKind = 'conflict' | 'error';

export interface WorkQueueOptions {
  name: string;
  workers: number;
  handler: (key: string) => Promise<ReconcileResult | undefined>;
  backoff?: BackoffPolicy;
  logger: Logger;
  onResult?: (outcome: 'success' | 'requeue' | FailureKind, durationMs: number) => void;
  /** Tells a conflict from an error; both are requeued with the key's backoff. */
  classify?: (err: unknown) => FailureKind;
  onDepth?: (depth: number) => void;
}

const isPowerOfTen = (n: number): boolean => n >= 1 && 10 ** Math.round(Math.log10(n)) === n;

/** Caps the backoff of the failure this error causes (e.g. a checkpoint racing a termination notice). */
export function withRetryCap<E>(err: E, capMs: number): E {
  if (err !== null && typeof err === 'object') Object.assign(err, { retryCapMs: capMs });
  return err;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: (() => void)[] = [];
  private readonly workers: Promise<void>[] = [];
  private readonly backoff: BackoffPolicy;
  private stopping = false;
  private readonly opts: WorkQueueOptions;

  constructor(opts: WorkQueueOptions) {
    this.opts = opts;
    this.backoff = opts.backoff ?? { baseMs: 5, maxMs: 1_000_000 };
  }

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // it runs again when the current run ends
    this.queue.push(key);
    this.opts.onDepth?.(this.queue.length);
    this.waiters.shift()?.();
  }

  /** Add after a delay; of several pending delays for one key, the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopping) return;
    if (!(delayMs > 0)) {
      // zero, negative or NaN: now
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /**
   * Requeue after a failure: base·2ⁿ with jitter, n the key's consecutive failures, but never
   * sooner than the server asked (an error's `retryAfterMs`, e.g. from a 429's Retry-After).
   */
  addRateLimited(key: string, minDelayMs = 0, maxDelayMs = Infinity): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.max(minDelayMs, Math.min(maxDelayMs, jittered(exponentialDelay(this.backoff, n))));
    this.addAfter(key, delay);
    return delay;
  }

  /**
   * Every key that is waiting out a failure's backoff runs again now (its failure count stays):
   * after an outage, the keys that failed during it must not sleep out a backoff grown while
   * nothing could work.
   */
  retryFailedNow(): number {
    let n = 0;
    for (const key of this.failures.keys()) {
      const pending = this.timers.get(key);
      if (!pending) continue;
      clearTimeout(pending.timer);
      this.timers.delete(key);
      this.add(key);
      n++;
    }
    return n;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) this.workers.push(this.work());
  }

  /** Stop taking work, let in-flight handlers finish, drop what is still queued. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const wake of this.waiters.splice(0)) wake();
    await Promise.all(this.workers);
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopping) {
      const key = this.queue.shift();
      if (key !== undefined) {
        this.opts.onDepth?.(this.queue.length);
        return key;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return undefined;
  }

  private async work(): Promise<void> {
    for (let key = await this.next(); key !== undefined; key = await this.next()) {
      this.dirty.delete(key);
      this.processing.add(key);
      const started = performance.now();
      try {
        const result = await this.opts.handler(key);
        this.forget(key);
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
        this.opts.onResult?.(result?.requeueAfterMs !== undefined ? 'requeue' : 'success', performance.now() - started);
      } catch (err) {
        const kind = this.opts.classify?.(err) ?? 'error';
        const { retryAfterMs, retryCapMs } = (err ?? {}) as { retryAfterMs?: unknown; retryCapMs?: unknown };
        const delayMs = this.addRateLimited(key, typeof retryAfterMs === 'number' ? retryAfterMs : 0, typeof retryCapMs === 'number' ? retryCapMs : Infinity);
        const failures = this.failuresOf(key);
        const fields = { key, queue: this.opts.name, retryInMs: Math.round(delayMs), failures };
        if (kind === 'conflict') this.opts.logger.debug(fields, 'write conflict; retrying from the fresh cache');
        // A key that keeps failing (an outage) is one warning at the 1st, 10th, 100th... failure, not one per retry.
        else if (isPowerOfTen(failures))
          this.opts.logger.warn({ err, ...fields }, failures === 1 ? 'reconcile failed; retrying with backoff' : `reconcile failed ${String(failures)} times in a row; still retrying`);
        else this.opts.logger.debug({ err, ...fields }, 'reconcile failed again; retrying with backoff');
        this.opts.onResult?.(kind, performance.now() - started);
      } finally {
        this.processing.delete(key);
        if (this.dirty.has(key) && !this.stopping) {
          this.queue.push(key);
          this.waiters.shift()?.();
        }
      }
    }
  }
}
