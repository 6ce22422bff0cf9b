import { describe, expect, it } from 'vitest';
import { mapBounded } from '../../../src/util/concurrency.ts';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
const deferred = <T>(): Deferred<T> => {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('mapBounded', () => {
  it('never has more than limit in flight, and starts the next as soon as one settles', async () => {
    const items = Array.from({ length: 7 }, (_, i) => i);
    const pending = new Map<number, Deferred<string>>();
    let inFlight = 0;
    let maxInFlight = 0;
    const started: number[] = [];
    const run = mapBounded(items, 3, async (i) => {
      started.push(i);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const d = deferred<string>();
      pending.set(i, d);
      try {
        return await d.promise;
      } finally {
        inFlight--;
      }
    });
    await flush();
    expect(started).toEqual([0, 1, 2]);
    pending.get(1)?.resolve('one');
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    expect(inFlight).toBe(3);
    // Settle the rest out of order.
    for (const i of [3, 0, 2, 4, 6, 5]) {
      await flush();
      const d = pending.get(i);
      if (!d) throw new Error(`item ${i} not started`);
      d.resolve(`v${i}`);
    }
    const results = await run;
    expect(maxInFlight).toBe(3);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'v0' },
      { status: 'fulfilled', value: 'one' },
      { status: 'fulfilled', value: 'v2' },
      { status: 'fulfilled', value: 'v3' },
      { status: 'fulfilled', value: 'v4' },
      { status: 'fulfilled', value: 'v5' },
      { status: 'fulfilled', value: 'v6' },
    ]);
  });

  it('returns results in input order whatever the completion order', async () => {
    const results = await mapBounded(
      [30, 5, 20, 1, 10],
      2,
      (ms) =>
        new Promise<number>((r) =>
          setTimeout(() => {
            r(ms * 2);
          }, ms),
        ),
    );
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : undefined))).toEqual([60, 10, 40, 2, 20]);
  });

  it('a rejection does not stop the others', async () => {
    const seen: number[] = [];
    const boom = new Error('boom');
    const results = await mapBounded([1, 2, 3, 4, 5], 2, async (i) => {
      seen.push(i);
      await Promise.resolve();
      if (i === 2) throw boom;
      if (i === 4) throw new Error('four');
      return i * 10;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 10 });
    expect(results[1]).toEqual({ status: 'rejected', reason: boom });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 30 });
    expect(results[3]?.status).toBe('rejected');
    expect(results[4]).toEqual({ status: 'fulfilled', value: 50 });
  });

  it('a synchronous throw is a rejected result too', async () => {
    const results = await mapBounded([1, 2], 1, (i) => {
      if (i === 1) throw new Error('sync');
      return Promise.resolve(i);
    });
    expect(results[0]?.status).toBe('rejected');
    expect(results[1]).toEqual({ status: 'fulfilled', value: 2 });
  });

  it('a limit larger than the items runs them all at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const gate = deferred<undefined>();
    const run = mapBounded(['a', 'b', 'c'], 100, async (s) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await gate.promise;
      inFlight--;
      return s.toUpperCase();
    });
    await flush();
    expect(inFlight).toBe(3);
    gate.resolve(undefined);
    expect(await run).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'fulfilled', value: 'B' },
      { status: 'fulfilled', value: 'C' },
    ]);
    expect(maxInFlight).toBe(3);
  });

  it('a limit of 1 runs one at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const results = await mapBounded([1, 2, 3, 4], 1, async (i) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return i;
    });
    expect(maxInFlight).toBe(1);
    expect(results).toHaveLength(4);
  });

  it('an empty list resolves to an empty list without calling fn', async () => {
    let calls = 0;
    const results = await mapBounded([], 4, () => {
      calls++;
      return Promise.resolve(0);
    });
    expect(results).toEqual([]);
    expect(calls).toBe(0);
  });
});
