// Evacuation-restore controller: the second half of an evacuation.
// Triggered by: an evacuation PodCheckpoint created or changing phase; its pod deleted or moved to
// another node; its node deleted. Reads pods, nodes and policies (for spec.restore.mode).
//
// Once a node-termination checkpoint is Ready and its pod has left the node (evicted, deleted, or
// the node is gone), create the PodRestore, with the reason the signal gave (nodeTermination for a
// taint, nodeUnschedulable for a cordon). Keyed by checkpoint.
//
// The restore's mode: a pod with a controller owner (recorded on the checkpoint when it was made,
// owner-replacement.ts) is restored as its owner's replacement (OwnerReplacement: no second pod),
// unless its policy says restore.mode NewPod; a bare pod as a new pod. Label-protected pods have no
// policy and follow the same default.
import { CheckpointPolicies, Nodes, PodCheckpoints, Pods, type CheckpointPolicyStore, type NodeStore, type PodCheckpointStore, type PodStore } from '../api/kinds.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import { LABELS, NODE_ANNOTATION } from '../api/pod.ts';
import type { ReconcileContext, ReconcileResult } from '../kube/controller.ts';
import { keyOf } from '../kube/keys.ts';
import type { Manager } from '../kube/manager.ts';
import type { OperatorContext } from './context.ts';
import { evacuationCheckpointsByNode, isEvacuationCheckpoint } from './evacuation.ts';
import { checkpointsByPodUID, podsByUID, restoreReasonOf } from './owned-objects.ts';
import { ownerReplacementSpec } from './owner-replacement.ts';

export function setupEvacuationRestoreController(mgr: Manager, ctx: OperatorContext): void {
  const checkpoints = mgr.index(PodCheckpoints, checkpointsByPodUID, evacuationCheckpointsByNode);
  const reconciler = new EvacuationRestoreReconciler(ctx, checkpoints, mgr.index(Pods, podsByUID), mgr.cache(Nodes), mgr.cache(CheckpointPolicies));
  mgr
    .controller('evacuation-restore')
    .for(PodCheckpoints, (e) => isEvacuationCheckpoint(e.obj) && e.type !== 'delete' && (e.type === 'add' || e.obj.status?.phase !== e.old.status?.phase))
    // A pod that left its node (deleted, evicted, rebound) may complete an evacuation.
    .watches(Pods, (e) =>
      e.type === 'delete' || (e.type === 'update' && e.obj.spec.nodeName !== e.old.spec.nodeName)
        ? checkpoints
            .byIndex(checkpointsByPodUID, e.obj.metadata.uid ?? '')
            .filter(isEvacuationCheckpoint)
            .map(keyOf)
        : [],
    )
    .watches(Nodes, (e) => (e.type === 'delete' ? checkpoints.byIndex(evacuationCheckpointsByNode, e.obj.metadata.name).map(keyOf) : []))
    .reads(CheckpointPolicies)
    .complete(reconciler);
}

export class EvacuationRestoreReconciler {
  private readonly ctx: OperatorContext;
  private readonly checkpoints: PodCheckpointStore;
  private readonly pods: PodStore;
  private readonly nodes: NodeStore;
  private readonly policies: CheckpointPolicyStore | undefined;

  constructor(ctx: OperatorContext, checkpoints: PodCheckpointStore, pods: PodStore, nodes: NodeStore, policies?: CheckpointPolicyStore) {
    this.ctx = ctx;
    this.checkpoints = checkpoints;
    this.pods = pods;
    this.nodes = nodes;
    this.policies = policies;
  }

  /** The protecting policy's restore.mode (Auto without a policy, or when it says nothing). */
  private modeOf(pc: PodCheckpoint): 'Auto' | 'NewPod' | 'OwnerReplacement' {
    const ref = pc.metadata.ownerReferences?.find((o) => o.kind === 'CheckpointPolicy');
    const policy = ref ? this.policies?.get(`${pc.metadata.namespace ?? 'default'}/${ref.name}`) : undefined;
    return policy?.metadata.uid === ref?.uid ? (policy?.spec.restore?.mode ?? 'Auto') : 'Auto';
  }

  async reconcile(key: string, { log }: ReconcileContext): Promise<ReconcileResult | undefined> {
    const pc = this.checkpoints.get(key);
    if (!pc || pc.metadata.deletionTimestamp || !isEvacuationCheckpoint(pc)) return undefined;
    const reason = restoreReasonOf(pc.metadata.annotations);
    if (!reason || reason === 'none' || pc.status?.phase !== 'Ready') return undefined;
    const podUID = pc.metadata.labels?.[LABELS.podUID] ?? '';
    const nodeName = pc.metadata.annotations?.[NODE_ANNOTATION] ?? '';
    const pod = this.pods.byIndex(podsByUID, podUID)[0];
    // Gone, moved, or its node gone. A pod that never had a node (disrupted while Pending) leaves only by going.
    const left = !pod || (nodeName !== '' && (pod.spec.nodeName !== nodeName || !this.nodes.get(nodeName)));
    if (!left) return undefined; // the pod's deletion (or the node's) brings us back
    const namespace = pc.metadata.namespace ?? 'default';
    // A bare pod has no owner to replace it: always a new pod.
    const owned = this.modeOf(pc) === 'NewPod' ? undefined : ownerReplacementSpec(pc, podUID);
    const outcome = await this.ctx.objects.createIfAbsent('podrestores', namespace, {
      apiVersion: 'cedana.ai/v1alpha1',
      kind: 'PodRestore',
      metadata: {
        name: pc.metadata.name,
        labels: { ...pc.metadata.labels },
        ...(nodeName ? { annotations: { [NODE_ANNOTATION]: nodeName } } : {}),
        ...(pc.metadata.ownerReferences ? { ownerReferences: pc.metadata.ownerReferences } : {}),
      },
      spec: { checkpointRef: { name: pc.metadata.name }, reason, ...owned },
    });
    if (outcome === 'created') {
      this.ctx.metrics.restoresByReason.inc({ reason });
      log.info({ checkpoint: pc.metadata.name, reason, mode: owned ? 'OwnerReplacement' : 'NewPod' }, 'pod left its node: restore requested');
    }
    return undefined;
  }
}
