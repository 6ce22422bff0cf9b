import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HeartbeatClock } from '../../../src/controllers/heartbeat-clock.ts';
import { pod } from './builders.ts';

const INTERVAL = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** The first time after `from` at which the pod's slot changes, found by probing a fresh clock. */
function boundaryAfter(p: ReturnType<typeof pod>, from: number): number {
  const clock = new HeartbeatClock();
  const first = clock.check(p, INTERVAL, from);
  return from + first.nextInMs - 10;
}

describe('HeartbeatClock', () => {
  it('first sight is not due', () => {
    const clock = new HeartbeatClock();
    expect(clock.check(pod('a', undefined), INTERVAL, T0).due).toBe(false);
  });

  it('is due once when the slot advances, not twice in the same slot', () => {
    const clock = new HeartbeatClock();
    const p = pod('a', undefined);
    const first = clock.check(p, INTERVAL, T0);
    expect(first.due).toBe(false);
    const boundary = T0 + first.nextInMs;
    expect(clock.check(p, INTERVAL, boundary - 20).due).toBe(false);
    const beat = clock.check(p, INTERVAL, boundary);
    expect(beat.due).toBe(true);
    expect(clock.check(p, INTERVAL, boundary + 1).due).toBe(false);
    expect(clock.check(p, INTERVAL, boundary + INTERVAL - 20).due).toBe(false);
    expect(clock.check(p, INTERVAL, boundary + INTERVAL).due).toBe(true);
  });

  it('is due after several missed slots, once', () => {
    const clock = new HeartbeatClock();
    const p = pod('a', undefined);
    clock.check(p, INTERVAL, T0);
    expect(clock.check(p, INTERVAL, T0 + 5 * INTERVAL).due).toBe(true);
    expect(clock.check(p, INTERVAL, T0 + 5 * INTERVAL + 1).due).toBe(false);
  });

  it('names are stable within a slot and differ across slots', () => {
    const clock = new HeartbeatClock();
    const p = pod('a', undefined);
    const first = clock.check(p, INTERVAL, T0);
    const again = new HeartbeatClock().check(p, INTERVAL, T0 + first.nextInMs - 20);
    expect(again.name).toBe(first.name);
    const next = clock.check(p, INTERVAL, T0 + first.nextInMs);
    expect(next.name).not.toBe(first.name);
    const later = clock.check(p, INTERVAL, T0 + first.nextInMs + INTERVAL);
    expect(new Set([first.name, next.name, later.name]).size).toBe(3);
    for (const n of [first.name, next.name, later.name]) {
      expect(n.startsWith('a-hb-')).toBe(true);
      expect(n).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
  });

  it('two pods with the same name but different uids get different names in the same slot', () => {
    const now = T0 + 123_456;
    const a = new HeartbeatClock().check(pod('app', undefined, { uid: 'uid-1' }), INTERVAL, now);
    const b = new HeartbeatClock().check(pod('app', undefined, { uid: 'uid-2' }), INTERVAL, now);
    expect(a.name).not.toBe(b.name);
  });

  it('offsets spread pods over the interval', () => {
    const boundaries = Array.from({ length: 50 }, () => boundaryAfter(pod('p', undefined, { uid: randomUUID() }), T0));
    for (const b of boundaries) {
      expect(b).toBeGreaterThan(T0);
      expect(b).toBeLessThanOrEqual(T0 + INTERVAL);
    }
    expect(new Set(boundaries).size).toBeGreaterThanOrEqual(20);
    // Roughly uniform: both halves of the interval get a share.
    const early = boundaries.filter((b) => b - T0 <= INTERVAL / 2).length;
    expect(early).toBeGreaterThanOrEqual(5);
    expect(early).toBeLessThanOrEqual(45);
  });

  it('nextInMs stays within (0, interval + 10]', () => {
    const clock = new HeartbeatClock();
    for (let i = 0; i < 200; i++) {
      const p = pod('p', undefined, { uid: `uid-${i}` });
      const now = T0 + i * 7_919;
      const { nextInMs } = clock.check(p, INTERVAL, now);
      expect(nextInMs).toBeGreaterThan(0);
      expect(nextInMs).toBeLessThanOrEqual(INTERVAL + 10);
    }
  });

  it('nextInMs leads to the slot change', () => {
    const clock = new HeartbeatClock();
    const p = pod('a', undefined, { uid: 'fixed' });
    const first = clock.check(p, INTERVAL, T0);
    const boundary = T0 + first.nextInMs - 10;
    expect(clock.check(p, INTERVAL, boundary - 1).due).toBe(false);
    expect(clock.check(p, INTERVAL, boundary).due).toBe(true);
  });

  it('forget() makes the next check a first sight', () => {
    const clock = new HeartbeatClock();
    const p = pod('a', undefined, { uid: 'u-1' });
    clock.check(p, INTERVAL, T0);
    clock.forget('u-1');
    expect(clock.check(p, INTERVAL, T0 + 3 * INTERVAL).due).toBe(false);
    expect(clock.check(p, INTERVAL, T0 + 4 * INTERVAL).due).toBe(true);
  });

  it('forget() of another uid changes nothing', () => {
    const clock = new HeartbeatClock();
    const p = pod('a', undefined, { uid: 'u-1' });
    clock.check(p, INTERVAL, T0);
    clock.forget('u-2');
    expect(clock.check(p, INTERVAL, T0 + 3 * INTERVAL).due).toBe(true);
  });
});
