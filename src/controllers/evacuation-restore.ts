// The second half of an evacuation: once a node-termination checkpoint is Ready and its pod has
// left the node (evicted, deleted, or the node is gone), create the PodRestore, with the reason the
// signal gave (nodeTermination for a taint, nodeUnschedulable for a cordon). Keyed by checkpoint.
import type { Logger } from 'pino';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import { LABELS, NODE_ANNOTATION, type Node, type Pod } from '../api/pod.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { Store } from '../kube/informer.ts';
import type { ReconcileResult } from '../kube/workqueue.ts';
import type { Metrics } from '../metrics.ts';
import { restoreReasonOf } from './owned-objects.ts';

export interface EvacuationRestoreDeps {
  checkpoints: Store<PodCheckpoint>;
  pods: Store<Pod>;
  nodes: Store<Node>;
  objects: CustomObjects;
  metrics: Metrics;
  log: Logger;
}

export class EvacuationRestoreController {
  private readonly d: EvacuationRestoreDeps;
  constructor(deps: EvacuationRestoreDeps) {
    this.d = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const pc = this.d.checkpoints.get(key);
    if (!pc || pc.metadata.deletionTimestamp || pc.metadata.labels?.[LABELS.trigger] !== 'evacuation') return undefined;
    const reason = restoreReasonOf(pc.metadata.annotations);
    if (!reason || reason === 'none' || pc.status?.phase !== 'Ready') return undefined;
    const podUID = pc.metadata.labels[LABELS.podUID] ?? '';
    const nodeName = pc.metadata.annotations?.[NODE_ANNOTATION] ?? '';
    const pod = this.d.pods.byIndex('uid', podUID)[0];
    // Gone, moved, or its node gone. A pod that never had a node (disrupted while Pending) leaves only by going.
    const left = !pod || (nodeName !== '' && (pod.spec.nodeName !== nodeName || !this.d.nodes.get(nodeName)));
    if (!left) return undefined; // the pod's deletion (or the node's) brings us back
    const namespace = pc.metadata.namespace ?? 'default';
    const outcome = await this.d.objects.createIfAbsent('podrestores', namespace, {
      apiVersion: 'cedana.ai/v1alpha1',
      kind: 'PodRestore',
      metadata: {
        name: pc.metadata.name,
        labels: { ...pc.metadata.labels },
        ...(pc.metadata.annotations?.[NODE_ANNOTATION] ? { annotations: { [NODE_ANNOTATION]: pc.metadata.annotations[NODE_ANNOTATION] } } : {}),
        ...(pc.metadata.ownerReferences ? { ownerReferences: pc.metadata.ownerReferences } : {}),
      },
      spec: { checkpointRef: { name: pc.metadata.name }, reason },
    });
    if (outcome === 'created') {
      this.d.metrics.restoresByReason.inc({ reason });
      this.d.log.info({ namespace, checkpoint: pc.metadata.name, reason }, 'pod left its node: restore requested');
    }
    return undefined;
  }
}
