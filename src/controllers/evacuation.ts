// One place that requests a pod's evacuation checkpoint, whatever the signal (a node going away, a
// pod-level DisruptionTarget, a soft autoscaler cue). The name comes from the pod uid, so a second
// signal, a second replica or a restart finds it there and creates nothing.
import { RESTORE_REASON_ANNOTATION, type Pod } from '../api/pod.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { Store } from '../kube/informer.ts';
import { derivedName, operatorCheckpoint, shortUid } from './owned-objects.ts';
import type { ProtectionRule } from './protection.ts';

export type RestoreReason = 'nodeTermination' | 'nodeUnschedulable' | 'manual';

export interface EvacuationRequest {
  /** 'evacuation' is restored once the pod leaves; 'early' (a soft cue) is never restored. */
  trigger: 'evacuation' | 'early';
  restoreReason: RestoreReason;
  nodeName: string | undefined;
}

export async function requestEvacuationCheckpoint(
  objects: CustomObjects,
  checkpoints: Store<PodCheckpoint>,
  pod: Pod,
  rule: ProtectionRule,
  req: EvacuationRequest,
): Promise<'created' | 'exists'> {
  const uid = pod.metadata.uid ?? '';
  const name = derivedName(pod.metadata.name, `${req.trigger === 'early' ? 'early' : 'evac'}-${shortUid(uid)}`);
  const namespace = pod.metadata.namespace ?? 'default';
  if (checkpoints.get(`${namespace}/${name}`)) return 'exists';
  const annotations = req.trigger === 'evacuation' ? { [RESTORE_REASON_ANNOTATION]: rule.restore ? req.restoreReason : 'none' } : {};
  return objects.createIfAbsent('podcheckpoints', namespace, operatorCheckpoint(pod, rule.policy, req.trigger, name, req.nodeName, { kind: rule.kind, reason: 'manual' }, annotations));
}
