import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CedanaApiError } from '../../../src/cedana/errors.ts';
import { WorkQueue, withRetryCap, type ReconcileResult } from '../../../src/kube/workqueue.ts';

type Outcome = 'success' | 'requeue' | 'error' | 'conflict';

class Conflict extends Error {}

const tick = (ms = 0): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const queues: WorkQueue[] = [];

function makeQueue(handler: (key: string) => Promise<ReconcileResult | undefined>, workers = 2) {
  const outcomes: Outcome[] = [];
  const q = new WorkQueue({
    name: 'test',
    workers,
    handler,
    backoff: { baseMs: 5, maxMs: 50 },
    logger: pino({ level: 'silent' }),
    onResult: (o) => outcomes.push(o),
    classify: (err) => (err instanceof Conflict ? 'conflict' : 'error'),
  });
  queues.push(q);
  return { q, outcomes };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.shutdown()));
  vi.useRealTimers();
});

describe('WorkQueue', () => {
  it('handles a key added many times while queued once', async () => {
    const calls: string[] = [];
    const { q } = makeQueue((key) => {
      calls.push(key);
      return Promise.resolve(undefined);
    });
    for (let i = 0; i < 5; i++) q.add('a');
    q.add('b');
    expect(q.depth).toBe(2);
    q.start();
    await tick(100);
    expect(calls.sort()).toEqual(['a', 'b']);
  });

  it('never handles one key in two workers at once, and runs it again after a mid-run add', async () => {
    const calls: string[] = [];
    const active = new Map<string, number>();
    let maxSameKey = 0;
    const gate = deferred();
    const { q } = makeQueue(async (key) => {
      calls.push(key);
      const n = (active.get(key) ?? 0) + 1;
      active.set(key, n);
      maxSameKey = Math.max(maxSameKey, n);
      if (key === 'a' && calls.filter((k) => k === 'a').length === 1) await gate.promise;
      active.set(key, (active.get(key) ?? 1) - 1);
      return undefined;
    }, 4);
    q.start();
    q.add('a');
    await tick();
    q.add('a');
    q.add('a');
    q.add('b'); // other keys still flow while 'a' is busy
    await tick(50);
    expect(calls).toEqual(['a', 'b']);
    gate.resolve();
    await tick(50);
    expect(calls).toEqual(['a', 'b', 'a']);
    expect(maxSameKey).toBe(1);
  });

  it('requeues failures with growing per-key delays (jittered within [d/2, d])', async () => {
    const times: number[] = [];
    const { q, outcomes } = makeQueue(() => {
      times.push(Date.now());
      return Promise.reject(new Error('boom'));
    });
    q.start();
    q.add('a');
    await tick();
    expect(times).toHaveLength(1);
    // Failure n (from 0) is retried after base·2ⁿ jittered into [d/2, d]: 5 → [2.5, 5], 10 → [5, 10], ...
    const gaps: number[] = [];
    for (const d of [5, 10, 20, 40]) {
      const before = times.length;
      const last = times.at(-1) ?? 0;
      for (let ms = 0; ms <= d && times.length === before; ms++) await tick(1);
      expect(times).toHaveLength(before + 1);
      const gap = (times.at(-1) ?? 0) - last;
      expect(gap).toBeGreaterThanOrEqual(Math.floor(d / 2));
      expect(gap).toBeLessThanOrEqual(d);
      gaps.push(gap);
    }
    expect(gaps[3]).toBeGreaterThan(gaps[0] ?? Infinity);
    expect(q.failuresOf('a')).toBe(5);
    expect(outcomes.every((o) => o === 'error')).toBe(true);
  });

  it('forgets the failures of a key once it succeeds', async () => {
    let failNext = 3;
    const times: number[] = [];
    const { q } = makeQueue(() => {
      times.push(Date.now());
      if (failNext-- > 0) return Promise.reject(new Error('boom'));
      return Promise.resolve(undefined);
    });
    q.start();
    q.add('a');
    await tick(200);
    expect(times).toHaveLength(4);
    expect(q.failuresOf('a')).toBe(0);
    // A new failure starts again from the base delay (≤ 5ms), not from 2³·base.
    failNext = 1;
    q.add('a');
    await tick();
    expect(times).toHaveLength(5);
    expect(q.failuresOf('a')).toBe(1);
    await tick(5);
    expect(times).toHaveLength(6);
  });

  it('re-adds a key after requeueAfterMs without counting a failure', async () => {
    const times: number[] = [];
    const { q, outcomes } = makeQueue(() => {
      times.push(Date.now());
      return Promise.resolve(times.length === 1 ? { requeueAfterMs: 30 } : undefined);
    });
    q.start();
    q.add('a');
    await tick(29);
    expect(times).toHaveLength(1);
    await tick(1);
    expect(times).toHaveLength(2);
    expect(outcomes).toEqual(['requeue', 'success']);
    expect(q.failuresOf('a')).toBe(0);
  });

  it("does not retry sooner than an error's retryAfterMs", async () => {
    let calls = 0;
    const { q } = makeQueue(() => {
      calls++;
      if (calls > 1) return Promise.resolve(undefined);
      return Promise.reject(new CedanaApiError({ kind: 'http', status: 429, operation: 'op', method: 'GET', path: '/v2/x', description: 'slow down', retryAfterMs: 40 }));
    });
    q.start();
    q.add('a');
    await tick(39);
    expect(calls).toBe(1);
    await tick(1);
    expect(calls).toBe(2);
  });

  it('retries a write conflict with the same per-key backoff as an error, and counts it as a conflict', async () => {
    let calls = 0;
    const { q, outcomes } = makeQueue(() => {
      calls++;
      return calls < 3 ? Promise.reject(new Conflict('lost a race')) : Promise.resolve(undefined);
    });
    q.start();
    q.add('a');
    await tick(1);
    expect(q.failuresOf('a')).toBe(1);
    await tick(10_000);
    expect(calls).toBe(3);
    expect(outcomes).toEqual(['conflict', 'conflict', 'success']);
    expect(q.failuresOf('a')).toBe(0);
  });

  it('caps the backoff of an error that says so (withRetryCap), whatever the failure count', async () => {
    const times: number[] = [];
    const start = Date.now();
    const q = new WorkQueue({
      name: 'capped',
      workers: 1,
      backoff: { baseMs: 1_000, maxMs: 300_000 },
      logger: pino({ level: 'silent' }),
      handler: () => {
        times.push(Date.now() - start);
        return Promise.reject(withRetryCap(new Error('Cedana 503'), 50));
      },
    });
    queues.push(q);
    q.start();
    q.add('a');
    await tick(400);
    // Uncapped, the second try alone would wait ~1 s; capped, every wait is at most 50 ms.
    expect(times.length).toBeGreaterThanOrEqual(7);
    for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeLessThanOrEqual(50);
  });

  it('warns at the 1st, 10th and 100th consecutive failure of a key, not at every retry', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) });
    const q = new WorkQueue({ name: 'noisy', workers: 1, backoff: { baseMs: 1, maxMs: 1 }, logger, handler: () => Promise.reject(new Error('apiserver down')) });
    queues.push(q);
    q.start();
    q.add('a');
    await tick(500);
    expect(q.failuresOf('a')).toBeGreaterThan(100);
    expect(q.failuresOf('a')).toBeLessThan(1000);
    expect(warnings).toEqual(['reconcile failed; retrying with backoff', 'reconcile failed 10 times in a row; still retrying', 'reconcile failed 100 times in a row; still retrying']);
  });

  it('retryFailedNow runs the keys backing off at once, and keeps their failure counts', async () => {
    let fail = true;
    const seen: string[] = [];
    const q = new WorkQueue({
      name: 'outage',
      workers: 1,
      backoff: { baseMs: 60_000, maxMs: 300_000 },
      logger: pino({ level: 'silent' }),
      handler: (key) => {
        seen.push(key);
        return fail ? Promise.reject(new Error('apiserver down')) : Promise.resolve(undefined);
      },
    });
    queues.push(q);
    q.start();
    q.add('a');
    q.add('b');
    await tick(1);
    expect(seen).toEqual(['a', 'b']);
    fail = false;
    expect(q.retryFailedNow()).toBe(2);
    await tick(1);
    // Not a minute later: now.
    expect(seen).toEqual(['a', 'b', 'a', 'b']);
    expect(q.failuresOf('a')).toBe(0);
    expect(q.retryFailedNow()).toBe(0);
  });

  it('keeps the earliest of several addAfter delays for a key', async () => {
    const times: number[] = [];
    const start = Date.now();
    const { q } = makeQueue(() => {
      times.push(Date.now() - start);
      return Promise.resolve(undefined);
    });
    q.start();
    q.addAfter('a', 50);
    q.addAfter('a', 10);
    q.addAfter('a', 30);
    await tick(9);
    expect(times).toEqual([]);
    await tick(100);
    expect(times).toEqual([10]);
  });

  it('shutdown waits for in-flight handlers and drops queued and delayed keys', async () => {
    const calls: string[] = [];
    const gate = deferred();
    let finished = false;
    const { q } = makeQueue(async (key) => {
      calls.push(key);
      if (key === 'a') {
        await gate.promise;
        finished = true;
      }
      return undefined;
    }, 1);
    q.start();
    q.add('a');
    q.add('b');
    q.add('c');
    q.addAfter('d', 10);
    await tick();
    expect(calls).toEqual(['a']);
    let stopped = false;
    const done = q.shutdown().then(() => {
      stopped = true;
    });
    await tick(50);
    expect(stopped).toBe(false);
    gate.resolve();
    await done;
    expect(finished).toBe(true);
    q.add('e');
    await tick(100);
    expect(calls).toEqual(['a']);
  });

  it('runs at most N handlers at once with N workers', async () => {
    let active = 0;
    let maxActive = 0;
    const done: string[] = [];
    const { q } = makeQueue(async (key) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 10));
      active--;
      done.push(key);
      return undefined;
    }, 3);
    q.start();
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await tick();
    expect(active).toBe(3);
    await tick(100);
    expect(maxActive).toBe(3);
    expect(done).toHaveLength(10);
  });
});
