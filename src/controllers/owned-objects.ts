// The PodCheckpoints and PodRestores the operator creates by itself: deterministic names (so a
// repeated signal or a restart creates nothing twice), labels that say why, the policy as owner.
import { createHash } from 'node:crypto';
import type { CheckpointPolicy } from '../api/checkpointpolicy.ts';
import { API_VERSION } from '../api/meta.ts';
import { LABELS, NODE_ANNOTATION, RESTORE_REASON_ANNOTATION, type Pod } from '../api/pod.ts';
import { CHECKPOINT_FINALIZER, type PodCheckpointSpec } from '../api/podcheckpoint.ts';
import { PodCheckpoints, Pods } from '../api/kinds.ts';
import { defineIndex } from '../kube/cache.ts';

/** On a PodCheckpoint whose Cedana POST went out before it was created: the action id, and when it was posted. */
export const ACTION_ANNOTATION = 'cedana.ai/action-id';
export const SUBMITTED_AT_ANNOTATION = 'cedana.ai/submitted-at';

/** Made by the operator (a node signal, a heartbeat, a disruption), not by a user. */
export const isOperatorCheckpoint = (c: { metadata: { labels?: Record<string, string> | undefined } }): boolean => c.metadata.labels?.[LABELS.trigger] !== undefined;

export type Trigger = 'evacuation' | 'early' | 'heartbeat' | 'node-lost';

/** DNS-1123 name: the pod name, cut to fit, then a suffix that makes it unique. */
export function derivedName(podName: string, suffix: string): string {
  const room = 253 - suffix.length - 1;
  return `${podName.slice(0, room).replace(/[-.]+$/, '')}-${suffix}`;
}

export const shortUid = (uid: string): string => createHash('sha256').update(uid).digest('hex').slice(0, 10);

/** A label value: at most 63 characters, ending in a letter or digit. */
export const labelValue = (s: string): string => s.slice(0, 63).replace(/[-._]+$/, '');

/** When a checkpoint completed, for sorting; one without a time sorts as the oldest. */
export const completedMs = (c: { status?: { completedAt?: string | undefined } | undefined }): number => Date.parse(c.status?.completedAt ?? '') || 0;

/** Owned by the protecting policy when there is one; label-protected pods' objects have no owner (the pod's deletion must not take them). */
export function ownedMetadata(pod: Pod, policy: CheckpointPolicy | undefined, trigger: Trigger, name: string, nodeName: string | undefined, annotations: Record<string, string> = {}) {
  return {
    name,
    labels: {
      [LABELS.pod]: labelValue(pod.metadata.name),
      [LABELS.podUID]: pod.metadata.uid ?? '',
      [LABELS.trigger]: trigger,
      ...(nodeName ? { [LABELS.node]: labelValue(nodeName) } : {}),
    },
    annotations: { ...annotations, ...(nodeName ? { [NODE_ANNOTATION]: nodeName } : {}) },
    ...(policy?.metadata.uid ? { ownerReferences: [{ apiVersion: API_VERSION, kind: 'CheckpointPolicy', name: policy.metadata.name, uid: policy.metadata.uid }] } : {}),
  };
}

/**
 * A PodCheckpoint of the operator's own: deletionPolicy Deprecate, with its finalizer already set so
 * that the reconciler need not add it (one write and one reconcile less per checkpoint, which counts
 * when a node with hundreds of pods goes away).
 */
export function operatorCheckpoint(
  pod: Pod,
  policy: CheckpointPolicy | undefined,
  trigger: Trigger,
  name: string,
  nodeName: string | undefined,
  spec: Pick<PodCheckpointSpec, 'kind' | 'reason'>,
  annotations: Record<string, string> = {},
) {
  return {
    apiVersion: API_VERSION,
    kind: 'PodCheckpoint',
    metadata: { ...ownedMetadata(pod, policy, trigger, name, nodeName, annotations), finalizers: [CHECKPOINT_FINALIZER] },
    spec: { podName: pod.metadata.name, ...spec, deletionPolicy: 'Deprecate' as const },
  };
}

export const restoreReasonOf = (annotations: Record<string, string> | undefined): string | undefined => annotations?.[RESTORE_REASON_ANNOTATION];

/** PodCheckpoints of a pod, by its uid: the one the status recorded, or the label the operator set at creation. */
export const checkpointsByPodUID = defineIndex(PodCheckpoints, 'podUID', (c) => {
  const uids = new Set<string>();
  if (c.status?.podUID) uids.add(c.status.podUID);
  const labelled = c.metadata.labels?.[LABELS.podUID];
  if (labelled) uids.add(labelled);
  return [...uids];
});

/** Pods by uid: a checkpoint names its pod by uid, which a replacement of the same name does not share. */
export const podsByUID = defineIndex(Pods, 'uid', (p) => (p.metadata.uid ? [p.metadata.uid] : []));
