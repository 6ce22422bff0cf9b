// Retention: of each pod's Ready checkpoints, keep the newest keepLast and delete the rest. Deleting
// a PodCheckpoint with deletionPolicy Deprecate deprecates it in Cedana (its finalizer), so this is
// all retention has to do. A checkpoint that a restore still waits for is kept.
import type { Logger } from 'pino';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import type { PodRestoreStore } from '../api/kinds.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import { completedMs } from './owned-objects.ts';
import { restoresByCheckpoint } from './podrestore.ts';

/** `restores` must have restoresByCheckpoint registered. */
export async function pruneCheckpoints(objects: CustomObjects, restores: PodRestoreStore, candidates: PodCheckpoint[], keepLast: number, log: Logger): Promise<number> {
  const byPod = new Map<string, PodCheckpoint[]>();
  for (const c of candidates) {
    if (c.status?.phase !== 'Ready' || c.metadata.deletionTimestamp) continue;
    const pod = c.status.podUID ?? c.spec.podName;
    byPod.set(pod, [...(byPod.get(pod) ?? []), c]);
  }
  let deleted = 0;
  for (const list of byPod.values()) {
    list.sort((a, b) => completedMs(b) - completedMs(a));
    for (const old of list.slice(keepLast)) {
      const ns = old.metadata.namespace ?? 'default';
      const inUse = restores.byIndex(restoresByCheckpoint, `${ns}/${old.metadata.name}`).some((r) => r.status?.phase !== 'Succeeded' && r.status?.phase !== 'Failed');
      if (inUse) continue;
      await objects.delete({ plural: 'podcheckpoints', namespace: ns, name: old.metadata.name });
      deleted++;
      log.info({ namespace: ns, checkpoint: old.metadata.name }, 'retention: deleted an old checkpoint (its finalizer deprecates it in Cedana)');
    }
  }
  return deleted;
}
