// Nodes going away. A terminating or cordoned node: every protected pod on it gets one PodCheckpoint
// at once, created concurrently (bounded) so that hundreds of pods fit in a 30 s notice. A node gone
// without notice: every protected pod on it is restored from its newest Ready checkpoint, or
// reported lost. The restore after a checkpoint is EvacuationRestoreController's job.
import type { Logger } from 'pino';
import type { CheckpointPolicy } from '../api/checkpointpolicy.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import type { Node, Pod } from '../api/pod.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Store } from '../kube/informer.ts';
import type { ReconcileResult } from '../kube/workqueue.ts';
import type { Metrics } from '../metrics.ts';
import { mapBounded } from '../util/concurrency.ts';
import { classifyNode } from './node-signals.ts';
import { requestEvacuationCheckpoint } from './evacuation.ts';
import { completedMs, derivedName, ownedMetadata, shortUid } from './owned-objects.ts';
import type { Protection } from './protection.ts';
import { reconcileLogger } from './reconcile-kit.ts';

export interface NodeTerminationDeps {
  nodes: Store<Node>;
  pods: Store<Pod>;
  checkpoints: Store<PodCheckpoint>;
  protection: Protection;
  objects: CustomObjects;
  events: EventRecorder;
  terminatingTaints: readonly string[];
  earlyTaints: readonly string[];
  notReadyGraceMs: number;
  concurrency: number;
  metrics: Metrics;
  log: Logger;
  /** A pod left its node: its evacuation checkpoint may now be restored. */
  onPodsLeft: (nodeName: string) => void;
  /** Protected pods lost with no checkpoint: the policy's status says so. */
  onPodsLost: (policy: CheckpointPolicy, pods: string[]) => void;
}

const podIsDone = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class NodeTerminationController {
  private readonly d: NodeTerminationDeps;
  /** When we first saw each node's current signal: the start of its latency clock. */
  private readonly signalSeen = new Map<string, number>();
  constructor(deps: NodeTerminationDeps) {
    this.d = deps;
  }

  async reconcile(nodeName: string): Promise<ReconcileResult | undefined> {
    const node = this.d.nodes.get(nodeName);
    const signal = classifyNode(node, this.d.terminatingTaints, this.d.notReadyGraceMs, this.d.earlyTaints);
    if (signal.kind === 'none') {
      this.signalSeen.delete(nodeName);
      return signal.recheckAfterMs !== undefined ? { requeueAfterMs: signal.recheckAfterMs } : undefined;
    }
    const seen = this.signalSeen.get(nodeName) ?? Date.now();
    this.signalSeen.set(nodeName, seen);
    const log = reconcileLogger(this.d.log, 'node-termination', '', nodeName);
    const pods = this.d.pods.byIndex('node', nodeName).filter((p) => !podIsDone(p) && p.metadata.uid);

    if (signal.kind === 'gone') {
      this.d.onPodsLeft(nodeName);
      await this.restoreLost(nodeName, pods, signal.cause, log);
      if (!node) this.signalSeen.delete(nodeName);
      return undefined;
    }

    const early = signal.kind === 'early';
    const work = pods.flatMap((pod) => {
      const rule = this.d.protection.ruleFor(pod);
      return rule?.checkpoint ? [{ pod, rule }] : [];
    });
    const reason = signal.kind === 'early' ? 'none' : signal.reason;
    const results = await mapBounded(work, this.d.concurrency, async ({ pod, rule }) => {
      const outcome = await requestEvacuationCheckpoint(this.d.objects, this.d.checkpoints, pod, rule, {
        trigger: early ? 'early' : 'evacuation',
        restoreReason: signal.kind === 'unschedulable' ? 'nodeUnschedulable' : 'nodeTermination',
        nodeName,
      });
      if (outcome === 'created') {
        this.d.metrics.signalToCheckpointRequested.observe({ scope: 'pod', reason }, (Date.now() - seen) / 1000);
        this.d.events.record({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, 'Normal', early ? 'EarlyCheckpoint' : 'CheckpointOnNodeTermination', `Node ${nodeName}: ${signal.cause}; checkpoint requested`);
      }
      return outcome;
    });
    const created = results.filter((r) => r.status === 'fulfilled' && r.value === 'created').length;
    const failed = results.filter((r) => r.status === 'rejected');
    if (created > 0) {
      this.d.metrics.signalToCheckpointRequested.observe({ scope: 'node', reason }, (Date.now() - seen) / 1000);
      log.info({ signal: signal.cause, created, protected: work.length }, early ? 'node may go away: early checkpoints requested' : 'node going away: checkpoints requested');
    }
    if (failed.length > 0) {
      const first = failed[0] as PromiseRejectedResult;
      throw new Error(`${failed.length} of ${work.length} checkpoints for node ${nodeName} could not be created: ${String(first.reason)}`, { cause: first.reason });
    }
    return undefined;
  }

  /** Pods of a node that vanished: restore each from its newest Ready checkpoint, or say it is lost. */
  private async restoreLost(nodeName: string, pods: Pod[], cause: string, log: Logger): Promise<void> {
    const lostByPolicy = new Map<CheckpointPolicy, string[]>();
    for (const pod of pods) {
      const rule = this.d.protection.ruleFor(pod);
      if (!rule?.restore) continue;
      const policy = rule.policy;
      const uid = pod.metadata.uid ?? '';
      const checkpoints = this.d.checkpoints.byIndex('podUID', uid);
      // An evacuation checkpoint exists: its own restore follows it (EvacuationRestoreController).
      if (checkpoints.some((c) => c.metadata.labels?.['cedana.ai/trigger'] === 'evacuation')) continue;
      const newest = checkpoints
        .filter((c) => c.status?.phase === 'Ready')
        .sort((a, b) => completedMs(b) - completedMs(a))[0];
      const namespace = pod.metadata.namespace ?? 'default';
      if (!newest) {
        if (policy) lostByPolicy.set(policy, [...(lostByPolicy.get(policy) ?? []), `${namespace}/${pod.metadata.name}`]);
        else this.d.events.record({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, 'Warning', 'PodLost', `Node ${nodeName} (${cause}) is gone and this pod has no Ready checkpoint to restore from`);
        continue;
      }
      const name = derivedName(pod.metadata.name, `lost-${shortUid(uid)}`);
      const outcome = await this.d.objects.createIfAbsent('podrestores', namespace, {
        apiVersion: 'cedana.ai/v1alpha1',
        kind: 'PodRestore',
        metadata: ownedMetadata(pod, policy, 'node-lost', name, nodeName),
        spec: { checkpointRef: { name: newest.metadata.name }, reason: 'nodeTermination' },
      });
      if (outcome === 'created') {
        this.d.metrics.restoresByReason.inc({ reason: 'nodeTermination' });
        log.info({ pod: `${namespace}/${pod.metadata.name}`, checkpoint: newest.metadata.name }, `node gone (${cause}): restoring from the newest Ready checkpoint`);
      }
    }
    for (const [policy, lost] of lostByPolicy) {
      const message = `Node ${nodeName} (${cause}) took ${lost.length} protected pod(s) with no Ready checkpoint to restore from: ${lost.join(', ')}`;
      log.warn({ policy: policy.metadata.name, lost }, message);
      this.d.events.record(policy, 'Warning', 'PodsLost', message);
      this.d.onPodsLost(policy, lost);
    }
  }
}
