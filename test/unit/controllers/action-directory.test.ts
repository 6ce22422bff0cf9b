import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CedanaClient } from '../../../src/cedana/client.ts';
import type { Action } from '../../../src/cedana/schemas.ts';
import { ActionDirectory } from '../../../src/controllers/action-directory.ts';

const action = (id: string, type = 'checkpoint'): Action => ({
  action_id: id,
  checkpoint_id: '00000000-0000-0000-0000-000000000000',
  details: {},
  gpu: '',
  platform: 'k8s',
  status: 'ready',
  type,
});

/** A listActions whose answers the test hands out one at a time. */
function fakeCedana() {
  const calls: (string | undefined)[] = [];
  const pending: { resolve: (a: Action[]) => void; reject: (e: Error) => void }[] = [];
  const client = {
    listActions(filter: { type?: string } = {}): Promise<Action[]> {
      calls.push(filter.type);
      return new Promise<Action[]>((resolve, reject) => pending.push({ resolve, reject }));
    },
  };
  const next = () => {
    const p = pending.shift();
    if (!p) throw new Error('no listActions call is pending');
    return p;
  };
  return { cedana: client as unknown as CedanaClient, calls, next };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ActionDirectory', () => {
  it('shares one listing between concurrent lookups', async () => {
    const { cedana, calls, next } = fakeCedana();
    const dir = new ActionDirectory(cedana, 1000);
    const a = dir.find('a1');
    const b = dir.find('b2');
    const missing = dir.find('zz');
    expect(calls).toEqual([undefined]);
    next().resolve([action('a1'), action('b2')]);
    expect(await a).toEqual(action('a1'));
    expect(await b).toEqual(action('b2'));
    expect(await missing).toBeUndefined();
    expect(calls).toEqual([undefined]);
  });

  it('lists every action, unfiltered, and tells kinds apart from the free-string type', async () => {
    const { cedana, calls, next } = fakeCedana();
    const dir = new ActionDirectory(cedana, 1000);
    const restores = dir.ofKind('restore');
    const checkpoints = dir.ofKind('checkpoint', 'heartbeat');
    expect(calls).toEqual([undefined]);
    next().resolve([action('c1', 'checkpoint_pod'), action('h1', 'heartbeat'), action('r1', 'restore_pod'), action('r2', 'restore'), action('x', 'slurm_checkpoint')]);
    expect((await restores).map((a) => a.action_id)).toEqual(['r1', 'r2']);
    expect((await checkpoints).map((a) => a.action_id)).toEqual(['c1', 'h1']);
  });

  it('answers from a listing younger than maxAgeMs and lists again once it is older', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const { cedana, calls, next } = fakeCedana();
    const dir = new ActionDirectory(cedana, 1000);
    const first = dir.find('a1');
    next().resolve([action('a1')]);
    await first;
    vi.setSystemTime(new Date('2026-01-01T00:00:00.900Z'));
    expect(await dir.find('a1')).toEqual(action('a1'));
    expect(calls).toHaveLength(1);
    vi.setSystemTime(new Date('2026-01-01T00:00:01.200Z'));
    const fresh = dir.find('a2');
    expect(calls).toHaveLength(2);
    next().resolve([action('a1'), action('a2')]);
    expect(await fresh).toEqual(action('a2'));
  });

  it('a miss in a listing made before the lookup lists again: the action may be younger than it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const { cedana, calls, next } = fakeCedana();
    const dir = new ActionDirectory(cedana, 1000);
    const before = dir.find('a1');
    next().resolve([action('a1')]);
    await before;
    // a2 is posted after that listing; within maxAgeMs a lookup of it must not take the old miss
    vi.setSystemTime(new Date('2026-01-01T00:00:00.500Z'));
    const late = dir.find('a2');
    const shared = dir.find('a3');
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toHaveLength(2); // one new listing for both misses
    next().resolve([action('a1'), action('a2')]);
    expect(await late).toEqual(action('a2'));
    expect(await shared).toBeUndefined(); // a miss in a listing made after it was asked: unknown
    expect(calls).toHaveLength(2);
  });

  it('does not cache a failed listing', async () => {
    const { cedana, calls, next } = fakeCedana();
    const dir = new ActionDirectory(cedana, 60_000);
    const a = dir.find('a1');
    const b = dir.find('a1');
    next().reject(new Error('HTTP 503'));
    await expect(a).rejects.toThrow('HTTP 503');
    await expect(b).rejects.toThrow('HTTP 503');
    const again = dir.find('a1');
    expect(calls).toHaveLength(2);
    next().resolve([action('a1')]);
    expect(await again).toEqual(action('a1'));
  });
});
