// What a Node says about its future. A known taint (spot/preemption handlers, Karpenter,
// cluster-autoscaler, GCP, out-of-service, cloud shutdown) means it is being terminated; a cordon
// means it is being drained; NotReady for longer than the grace means it is gone without notice.
import type { Node } from '../api/pod.ts';

export const DEFAULT_TERMINATING_TAINTS = [
  'aws-node-termination-handler/spot-itn',
  'aws-node-termination-handler/rebalance-recommendation',
  'aws-node-termination-handler/scheduled-maintenance',
  'aws-node-termination-handler/asg-lifecycle-termination',
  'karpenter.sh/disrupted',
  'karpenter.sh/disruption=disrupting',
  'ToBeDeletedByClusterAutoscaler',
  'cloud.google.com/impending-node-termination',
  'node.kubernetes.io/out-of-service',
  'node.cloudprovider.kubernetes.io/shutdown',
  'remediator.aks.microsoft.com/unschedulable',
];

/** Soft, early signals: worth a checkpoint now, but the node may well stay (no restore). */
export const DEFAULT_EARLY_TAINTS = ['DeletionCandidateOfClusterAutoscaler'];

export type NodeSignal =
  | { kind: 'none'; recheckAfterMs?: number }
  | { kind: 'terminating'; reason: 'nodeTermination'; cause: string }
  | { kind: 'unschedulable'; reason: 'nodeUnschedulable'; cause: string }
  | { kind: 'early'; cause: string }
  | { kind: 'gone'; reason: 'nodeTermination'; cause: string };

/** A taint pattern is `key` (any value) or `key=value`. */
export const taintMatches = (pattern: string, taint: { key: string; value?: string | undefined }): boolean => {
  const i = pattern.indexOf('=');
  return i < 0 ? taint.key === pattern : taint.key === pattern.slice(0, i) && (taint.value ?? '') === pattern.slice(i + 1);
};

export function classifyNode(node: Node | undefined, terminatingTaints: readonly string[], notReadyGraceMs: number, earlyTaints: readonly string[] = [], now = Date.now()): NodeSignal {
  if (!node) return { kind: 'gone', reason: 'nodeTermination', cause: 'node deleted' };
  if (node.metadata.deletionTimestamp) return { kind: 'gone', reason: 'nodeTermination', cause: 'node being deleted' };
  for (const taint of node.spec?.taints ?? []) {
    const pattern = terminatingTaints.find((p) => taintMatches(p, taint));
    if (pattern) return { kind: 'terminating', reason: 'nodeTermination', cause: `taint ${taint.key}${taint.value ? `=${taint.value}` : ''}` };
  }
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready && ready.status !== 'True' && ready.lastTransitionTime) {
    const since = now - Date.parse(ready.lastTransitionTime);
    if (since >= notReadyGraceMs) return { kind: 'gone', reason: 'nodeTermination', cause: `NotReady for ${Math.round(since / 1000)}s` };
    if (node.spec?.unschedulable !== true) return { kind: 'none', recheckAfterMs: notReadyGraceMs - since + 100 };
  }
  if (node.spec?.unschedulable === true) return { kind: 'unschedulable', reason: 'nodeUnschedulable', cause: 'cordoned' };
  const early = (node.spec?.taints ?? []).find((t) => earlyTaints.some((p) => taintMatches(p, t)));
  if (early) return { kind: 'early', cause: `taint ${early.key}` };
  return { kind: 'none' };
}
