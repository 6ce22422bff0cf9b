// One place that requests a pod's evacuation checkpoint, whatever the signal (a node going away, a
// pod-level DisruptionTarget, a soft autoscaler cue). The name comes from the pod uid, so a second
// signal, a second replica or a restart finds it there and creates nothing.
import { PodCheckpoints, type PodCheckpointStore } from '../api/kinds.ts';
import { LABELS, NODE_ANNOTATION, RESTORE_REASON_ANNOTATION, type Pod } from '../api/pod.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import { defineIndex } from '../kube/cache.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import { derivedName, operatorCheckpoint, shortUid } from './owned-objects.ts';
import type { ProtectionRule } from './protection.ts';

export type RestoreReason = 'nodeTermination' | 'nodeUnschedulable' | 'manual';

export interface EvacuationRequest {
  /** 'evacuation' is restored once the pod leaves; 'early' (a soft cue) is never restored. */
  trigger: 'evacuation' | 'early';
  restoreReason: RestoreReason;
  nodeName: string | undefined;
}

/** An evacuation checkpoint is restored once its pod has left (EvacuationRestoreController). */
export const isEvacuationCheckpoint = (c: PodCheckpoint): boolean => c.metadata.labels?.[LABELS.trigger] === 'evacuation';

/** Evacuation checkpoints by the node their pod was leaving. */
export const evacuationCheckpointsByNode = defineIndex(PodCheckpoints, 'evacuationNode', (c) => {
  const node = c.metadata.annotations?.[NODE_ANNOTATION];
  return node && isEvacuationCheckpoint(c) ? [node] : [];
});

/** The deterministic name of a pod's evacuation (or early) checkpoint. */
export const evacuationCheckpointName = (pod: Pod, trigger: EvacuationRequest['trigger']): string =>
  derivedName(pod.metadata.name, `${trigger === 'early' ? 'early' : 'evac'}-${shortUid(pod.metadata.uid ?? '')}`);

export async function requestEvacuationCheckpoint(
  objects: CustomObjects,
  checkpoints: PodCheckpointStore,
  pod: Pod,
  rule: ProtectionRule,
  req: EvacuationRequest,
): Promise<'created' | 'exists'> {
  const name = evacuationCheckpointName(pod, req.trigger);
  const namespace = pod.metadata.namespace ?? 'default';
  if (checkpoints.get(`${namespace}/${name}`)) return 'exists';
  const annotations = req.trigger === 'evacuation' ? { [RESTORE_REASON_ANNOTATION]: rule.restore ? req.restoreReason : 'none' } : {};
  return objects.createIfAbsent('podcheckpoints', namespace, operatorCheckpoint(pod, rule.policy, req.trigger, name, req.nodeName, { kind: rule.kind, reason: 'manual' }, annotations));
}
