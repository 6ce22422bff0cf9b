// The PodCheckpoints and PodRestores the operator creates by itself: deterministic names (so a
// repeated signal or a restart creates nothing twice), labels that say why, the policy as owner.
import { createHash } from 'node:crypto';
import type { CheckpointPolicy } from '../api/checkpointpolicy.ts';
import { API_VERSION } from '../api/meta.ts';
import { LABELS, RESTORE_REASON_ANNOTATION, type Pod } from '../api/pod.ts';

export type Trigger = 'evacuation' | 'early' | 'heartbeat' | 'node-lost';

/** DNS-1123 name: the pod name, cut to fit, then a suffix that makes it unique. */
export function derivedName(podName: string, suffix: string): string {
  const room = 253 - suffix.length - 1;
  return `${podName.slice(0, room).replace(/[-.]+$/, '')}-${suffix}`;
}

export const shortUid = (uid: string): string => createHash('sha256').update(uid).digest('hex').slice(0, 10);

/** Owned by the protecting policy when there is one; label-protected pods' objects have no owner (the pod's deletion must not take them). */
export function ownedMetadata(pod: Pod, policy: CheckpointPolicy | undefined, trigger: Trigger, name: string, nodeName: string | undefined, annotations: Record<string, string> = {}) {
  return {
    name,
    labels: {
      [LABELS.pod]: pod.metadata.name.slice(0, 63).replace(/[-._]+$/, ''),
      [LABELS.podUID]: pod.metadata.uid ?? '',
      [LABELS.trigger]: trigger,
      ...(nodeName ? { [LABELS.node]: nodeName.slice(0, 63) } : {}),
    },
    annotations,
    ...(policy?.metadata.uid
      ? { ownerReferences: [{ apiVersion: API_VERSION, kind: 'CheckpointPolicy', name: policy.metadata.name, uid: policy.metadata.uid }] }
      : {}),
  };
}

export const restoreReasonOf = (annotations: Record<string, string> | undefined): string | undefined => annotations?.[RESTORE_REASON_ANNOTATION];
