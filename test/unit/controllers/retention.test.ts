import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import type { PodRestore } from '../../../src/api/podrestore.ts';
import { PodRestores } from '../../../src/api/kinds.ts';
import { restoresByCheckpoint } from '../../../src/controllers/podrestore.ts';
import { pruneCheckpoints } from '../../../src/controllers/retention.ts';
import type { CustomObjects } from '../../../src/kube/custom-objects.ts';
import { checkpoint, fakeStore, restore } from './builders.ts';

const log = pino({ level: 'silent' });

interface Ref {
  plural: string;
  namespace: string;
  name: string;
}

function fakeObjects() {
  const deleted: Ref[] = [];
  const objects = {
    delete: (ref: Ref) => {
      deleted.push(ref);
      return Promise.resolve();
    },
  } as unknown as CustomObjects;
  return { objects, deleted };
}

const restores = (items: PodRestore[] = []) => fakeStore(PodRestores, items, [restoresByCheckpoint]);

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
const ready = (name: string, podUID: string, minute: number, extra: Parameters<typeof checkpoint>[2] = {}): PodCheckpoint =>
  checkpoint(name, { phase: 'Ready', podUID, completedAt: at(minute) }, extra);

describe('pruneCheckpoints', () => {
  it('keeps the newest keepLast Ready checkpoints of each pod, whatever the input order', async () => {
    const { objects, deleted } = fakeObjects();
    const candidates = [ready('a-3', 'uid-a', 3), ready('a-1', 'uid-a', 1), ready('a-5', 'uid-a', 5), ready('a-2', 'uid-a', 2), ready('a-4', 'uid-a', 4)];
    const n = await pruneCheckpoints(objects, restores(), candidates, 2, log);
    expect(n).toBe(3);
    expect(deleted.map((r) => r.name).sort()).toEqual(['a-1', 'a-2', 'a-3']);
    expect(deleted.every((r) => r.plural === 'podcheckpoints' && r.namespace === 'default')).toBe(true);
  });

  it('counts per pod by status.podUID, not by pod name', async () => {
    const { objects, deleted } = fakeObjects();
    // Same pod name, two incarnations (uids): each keeps its own newest.
    const candidates = [ready('old-1', 'uid-old', 1), ready('old-2', 'uid-old', 2), ready('new-3', 'uid-new', 3), ready('new-4', 'uid-new', 4), ready('b-1', 'uid-b', 1, { podName: 'b' })];
    const n = await pruneCheckpoints(objects, restores(), candidates, 1, log);
    expect(n).toBe(2);
    expect(deleted.map((r) => r.name).sort()).toEqual(['new-3', 'old-1']);
  });

  it('ignores checkpoints that are not Ready, and they do not count toward keepLast', async () => {
    const { objects, deleted } = fakeObjects();
    const candidates = [
      checkpoint('failed-9', { phase: 'Failed', podUID: 'uid-a', completedAt: at(9) }),
      checkpoint('pending-8', { phase: 'Pending', podUID: 'uid-a' }),
      checkpoint('nostatus', undefined),
      ready('a-2', 'uid-a', 2),
      ready('a-1', 'uid-a', 1),
    ];
    const n = await pruneCheckpoints(objects, restores(), candidates, 1, log);
    expect(n).toBe(1);
    expect(deleted.map((r) => r.name)).toEqual(['a-1']);
  });

  it('ignores checkpoints already being deleted', async () => {
    const { objects, deleted } = fakeObjects();
    const candidates = [ready('a-3', 'uid-a', 3), ready('a-2', 'uid-a', 2, { deletionTimestamp: at(10) }), ready('a-1', 'uid-a', 1)];
    expect(await pruneCheckpoints(objects, restores(), candidates, 1, log)).toBe(1);
    expect(deleted.map((r) => r.name)).toEqual(['a-1']);
  });

  it('keeps an old checkpoint that a non-terminal restore still references', async () => {
    const { objects, deleted } = fakeObjects();
    const candidates = [ready('a-4', 'uid-a', 4), ready('a-3', 'uid-a', 3), ready('a-2', 'uid-a', 2), ready('a-1', 'uid-a', 1)];
    const store = restores([restore('r-pending', 'a-1', 'Pending'), restore('r-nostatus', 'a-2', undefined), restore('r-done', 'a-3', 'Succeeded'), restore('r-failed', 'a-3', 'Failed')]);
    const n = await pruneCheckpoints(objects, store, candidates, 1, log);
    expect(n).toBe(1);
    expect(deleted.map((r) => r.name)).toEqual(['a-3']);
    expect(store.indexCalls.every(([index]) => index === 'checkpointRef')).toBe(true);
    expect(store.indexCalls.map(([, value]) => value).sort()).toEqual(['default/a-1', 'default/a-2', 'default/a-3']);
  });

  it('a restore in another namespace does not hold the checkpoint', async () => {
    const { objects, deleted } = fakeObjects();
    const candidates = [ready('a-2', 'uid-a', 2, { namespace: 'team' }), ready('a-1', 'uid-a', 1, { namespace: 'team' })];
    const n = await pruneCheckpoints(objects, restores([restore('r', 'a-1', 'Restoring', 'other')]), candidates, 1, log);
    expect(n).toBe(1);
    expect(deleted).toEqual([{ plural: 'podcheckpoints', namespace: 'team', name: 'a-1' }]);
  });

  it('deletes nothing when every pod is within keepLast', async () => {
    const { objects, deleted } = fakeObjects();
    const n = await pruneCheckpoints(objects, restores(), [ready('a-1', 'uid-a', 1), ready('a-2', 'uid-a', 2), ready('b-1', 'uid-b', 1)], 2, log);
    expect(n).toBe(0);
    expect(deleted).toEqual([]);
    expect(await pruneCheckpoints(objects, restores(), [], 1, log)).toBe(0);
  });
});
