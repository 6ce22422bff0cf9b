// Which pods are protected, and how. A CheckpointPolicy of the pod's namespace whose selector matches
// (the first by name, so the choice is stable) wins; otherwise Cedana's own pod labels protect it:
//   cedana.ai/node-restore: "true"           checkpoint and restore around node loss
//   cedana.ai/heartbeat-checkpoint: "<secs>" periodic checkpoints, reason heartbeat
import type { CheckpointPolicy } from '../api/checkpointpolicy.ts';
import { CheckpointPolicies, Pods, type CheckpointPolicyStore } from '../api/kinds.ts';
import type { PodCheckpointSpec } from '../api/podcheckpoint.ts';
import type { Pod } from '../api/pod.ts';
import { defineIndex } from '../kube/cache.ts';
import { matchesSelector } from '../kube/selector.ts';

/** Policies by namespace: a policy protects pods of its own namespace only. */
export const policiesByNamespace = defineIndex(CheckpointPolicies, 'namespace', (p) => [p.metadata.namespace ?? '']);
/** Pods by namespace, for a policy counting the pods it protects. */
export const podsByNamespace = defineIndex(Pods, 'namespace', (p) => [p.metadata.namespace ?? '']);

export const NODE_RESTORE_LABEL = 'cedana.ai/node-restore';
export const HEARTBEAT_LABEL = 'cedana.ai/heartbeat-checkpoint';

export interface ProtectionRule {
  /** The policy that protects the pod; undefined when its labels do. */
  policy: CheckpointPolicy | undefined;
  checkpoint: boolean;
  restore: boolean;
  kind: PodCheckpointSpec['kind'];
  /** Label heartbeats only: a policy's heartbeats are the policy controller's. */
  labelHeartbeatMs: number | undefined;
}

export class Protection {
  private readonly policies: CheckpointPolicyStore;
  private readonly minHeartbeatMs: number;
  /** `policies` must have policiesByNamespace registered. */
  /** false: Cedana's own controller acts on its labels (--cedana-labels=ignore); only policies protect here. */
  private readonly honourLabels: boolean;
  constructor(policies: CheckpointPolicyStore, minHeartbeatMs: number, honourLabels = true) {
    this.honourLabels = honourLabels;
    this.policies = policies;
    this.minHeartbeatMs = minHeartbeatMs;
  }

  /** The policy that protects the pod: of several that select it, the first by name. */
  policyFor(pod: Pod): CheckpointPolicy | undefined {
    // Called for every pod of a namespace per policy reconcile: no array, no sort.
    let first: CheckpointPolicy | undefined;
    for (const p of this.policies.byIndex(policiesByNamespace, pod.metadata.namespace ?? '')) {
      if (p.metadata.deletionTimestamp || !matchesSelector(p.spec.selector, pod.metadata.labels)) continue;
      if (!first || p.metadata.name.localeCompare(first.metadata.name) < 0) first = p;
    }
    return first;
  }

  /** The policies of a namespace (any of them may start or stop protecting a pod there). */
  policiesIn(namespace: string | undefined): CheckpointPolicy[] {
    return this.policies.byIndex(policiesByNamespace, namespace ?? '');
  }

  ruleFor(pod: Pod): ProtectionRule | undefined {
    const policy = this.policyFor(pod);
    if (policy) {
      const t = policy.spec.onNodeTermination;
      return { policy, checkpoint: t.checkpoint, restore: t.restore, kind: t.kind, labelHeartbeatMs: undefined };
    }
    if (!this.honourLabels) return undefined;
    const labels = this.readLabels(pod);
    if (!labels.nodeRestore && labels.heartbeatMs === undefined) return undefined;
    return { policy: undefined, checkpoint: labels.nodeRestore, restore: labels.nodeRestore, kind: 'simple', labelHeartbeatMs: labels.heartbeatMs };
  }

  /** What is wrong with the pod's Cedana labels, one line each (empty when nothing is). */
  labelProblems(pod: Pod): string[] {
    return this.honourLabels ? this.readLabels(pod).problems : [];
  }

  private readLabels(pod: Pod): { nodeRestore: boolean; heartbeatMs: number | undefined; problems: string[] } {
    const labels = pod.metadata.labels ?? {};
    const problems: string[] = [];
    const nodeRestore = labels[NODE_RESTORE_LABEL];
    if (nodeRestore !== undefined && nodeRestore !== 'true' && nodeRestore !== 'false') {
      problems.push(`label ${NODE_RESTORE_LABEL}="${nodeRestore}" is not "true" (or "false"); the pod is not protected by it`);
    }
    let heartbeatMs: number | undefined;
    const heartbeat = labels[HEARTBEAT_LABEL];
    if (heartbeat !== undefined) {
      if (!/^[1-9]\d{0,8}$/.test(heartbeat)) {
        problems.push(`label ${HEARTBEAT_LABEL}="${heartbeat}" is not a positive whole number of seconds; no heartbeat checkpoints are taken`);
      } else if (Number(heartbeat) * 1000 < this.minHeartbeatMs) {
        problems.push(`label ${HEARTBEAT_LABEL}="${heartbeat}" is below the operator's minimum of ${Math.ceil(this.minHeartbeatMs / 1000)}s; no heartbeat checkpoints are taken`);
      } else heartbeatMs = Number(heartbeat) * 1000;
    }
    return { nodeRestore: nodeRestore === 'true', heartbeatMs, problems };
  }
}
