// Controller.enqueue: keys at once, or after a coalescing delay (a watch's TriggerOptions.coalesceMs),
// where a burst of events for one key makes one reconcile.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Controller } from '../../../src/kube/controller.ts';
import { createMetrics } from '../../../src/metrics.ts';

let controller: Controller | undefined;
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  await controller?.shutdown(0);
  controller = undefined;
  vi.useRealTimers();
});

function start(): string[] {
  const seen: string[] = [];
  controller = new Controller({
    name: 'test',
    reconciler: {
      reconcile: (key) => {
        seen.push(key);
        return Promise.resolve(undefined);
      },
    },
    workers: 2,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    reconcileTimeoutMs: 1_000,
    backoff: { baseMs: 10, maxMs: 100 },
  });
  controller.start();
  return seen;
}

describe('Controller.enqueue', () => {
  it('without a delay: one reconcile per key, at once', async () => {
    const seen = start();
    controller?.enqueue('ns/a');
    controller?.enqueue('ns/b');
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.sort()).toEqual(['ns/a', 'ns/b']);
  });

  it('with a coalescing delay: a burst of events is one reconcile, that long after the first', async () => {
    const seen = start();
    for (let i = 0; i < 50; i++) {
      controller?.enqueue('ns/policy', 1_000);
      await vi.advanceTimersByTimeAsync(10);
    }
    // 500 ms of events: nothing yet
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(seen).toEqual(['ns/policy']);
    // a later event waits its own delay
    controller?.enqueue('ns/policy', 1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(seen).toEqual(['ns/policy']);
    await vi.advanceTimersByTimeAsync(2);
    expect(seen).toEqual(['ns/policy', 'ns/policy']);
  });

  it('a key queued at once is not held back by a pending coalesced one', async () => {
    const seen = start();
    controller?.enqueue('ns/policy', 1_000);
    controller?.enqueue('ns/policy');
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual(['ns/policy']);
  });
});
