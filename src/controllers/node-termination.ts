// Node-termination controller.
// Triggered by: any change to a Node (taints, cordon, readiness, deletion). Reads pods, checkpoints
// and policies.
//
// A terminating or cordoned node: every protected pod on it gets one PodCheckpoint at once, created
// concurrently (bounded) so that hundreds of pods fit in a 30 s notice. A node gone without notice:
// every protected pod on it is restored from its newest Ready checkpoint, or recorded as lost in its
// policy's status (the policy controller turns that into a condition). The restore after an
// evacuation checkpoint is the evacuation-restore controller's job.
import type { Logger } from 'pino';
import type { CheckpointPolicy } from '../api/checkpointpolicy.ts';
import { CheckpointPolicies, Nodes, PodCheckpoints, Pods, type NodeStore, type PodCheckpointStore, type PodStore } from '../api/kinds.ts';
import type { Pod } from '../api/pod.ts';
import { defineIndex } from '../kube/cache.ts';
import type { ReconcileContext, ReconcileResult } from '../kube/controller.ts';
import type { Manager } from '../kube/manager.ts';
import { mapBounded } from '../util/concurrency.ts';
import type { OperatorContext } from './context.ts';
import { Evacuator, isEvacuationCheckpoint } from './evacuation.ts';
import { checkpointsByActionId } from './podcheckpoint.ts';
import { classifyNode } from './node-signals.ts';
import { checkpointsByPodUID, completedMs, derivedName, ownedMetadata, shortUid } from './owned-objects.ts';
import { patchStatusFields } from './reconcile-kit.ts';

/** Pods by the node they are bound to. */
export const podsByNode = defineIndex(Pods, 'node', (p) => (p.spec.nodeName ? [p.spec.nodeName] : []));

/** How many lost pods a policy's status lists (the newest). */
const LOST_PODS_KEPT = 50;

export function setupNodeTerminationController(mgr: Manager, ctx: OperatorContext): void {
  const checkpoints = mgr.index(PodCheckpoints, checkpointsByPodUID, checkpointsByActionId);
  const evacuator = new Evacuator(ctx, checkpoints, (id) => checkpoints.byIndex(checkpointsByActionId, id).length > 0);
  const reconciler = new NodeTerminationReconciler(ctx, mgr.cache(Nodes), mgr.index(Pods, podsByNode), checkpoints, evacuator);
  mgr.controller('node-termination').for(Nodes).reads(Pods, PodCheckpoints, CheckpointPolicies).complete(reconciler);
}

const podIsDone = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class NodeTerminationReconciler {
  private readonly ctx: OperatorContext;
  private readonly nodes: NodeStore;
  private readonly pods: PodStore;
  private readonly checkpoints: PodCheckpointStore;
  private readonly evacuator: Evacuator;
  /** When we first saw each node's current signal: the start of its latency clock (a metric only). */
  private readonly signalSeen = new Map<string, number>();
  /** Nodes reconciled since this replica started leading: a signal on a node's first reconcile may be a predecessor's. */
  private readonly known = new Set<string>();

  constructor(ctx: OperatorContext, nodes: NodeStore, pods: PodStore, checkpoints: PodCheckpointStore, evacuator: Evacuator) {
    this.ctx = ctx;
    this.nodes = nodes;
    this.pods = pods;
    this.checkpoints = checkpoints;
    this.evacuator = evacuator;
  }

  async reconcile(nodeName: string, { log, signal: abort }: ReconcileContext): Promise<ReconcileResult | undefined> {
    const c = this.ctx.config;
    const recovering = !this.known.has(nodeName);
    this.known.add(nodeName);
    const node = this.nodes.get(nodeName);
    const signal = classifyNode(node, c.terminatingTaints, c.nodeNotReadyGrace, c.earlyTaints);
    if (signal.kind === 'none') {
      this.signalSeen.delete(nodeName);
      return signal.recheckAfterMs !== undefined ? { requeueAfterMs: signal.recheckAfterMs } : undefined;
    }
    const seen = this.signalSeen.get(nodeName) ?? Date.now();
    this.signalSeen.set(nodeName, seen);
    const pods = this.pods.byIndex(podsByNode, nodeName).filter((p) => !podIsDone(p) && p.metadata.uid);

    if (signal.kind === 'gone') {
      await this.restoreLost(nodeName, pods, signal.cause, log);
      if (!node) {
        this.signalSeen.delete(nodeName);
        this.known.delete(nodeName);
      }
      return undefined;
    }

    const early = signal.kind === 'early';
    const work = pods.flatMap((pod) => {
      const rule = this.ctx.protection.ruleFor(pod);
      return rule?.checkpoint ? [{ pod, rule }] : [];
    });
    const reason = signal.kind === 'early' ? 'none' : signal.reason;
    const request = { trigger: early ? 'early' : 'evacuation', restoreReason: signal.kind === 'unschedulable' ? 'nodeUnschedulable' : 'nodeTermination', nodeName } as const;
    // Every POST first (what saves work inside a notice), then the PodCheckpoints that record them.
    const posted = await mapBounded(work, c.terminationConcurrency, ({ pod, rule }) => this.evacuator.post(pod, rule, request, { recovering, signal: abort, log }));
    // A pod whose lookup failed is not recorded either: its PodCheckpoint would post again; the retry of the node decides.
    const toRecord = work.filter((_, i) => {
      const r = posted[i];
      return r?.status === 'fulfilled' && r.value !== 'exists';
    });
    const results = await mapBounded(toRecord, c.terminationConcurrency, async ({ pod, rule }) => {
      const outcome = await this.evacuator.record(pod, rule, request);
      // One Event per checkpoint (its Ready or Failed); this node's pass is one log line below.
      if (outcome === 'created') this.ctx.metrics.signalToCheckpointRequested.observe({ scope: 'pod', reason }, (Date.now() - seen) / 1000);
      return outcome;
    });
    results.push(...posted.filter((r) => r.status === 'rejected'));
    const created = results.filter((r) => r.status === 'fulfilled' && r.value === 'created').length;
    const failed = results.filter((r) => r.status === 'rejected');
    if (created > 0) {
      this.ctx.metrics.signalToCheckpointRequested.observe({ scope: 'node', reason }, (Date.now() - seen) / 1000);
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
      const rule = this.ctx.protection.ruleFor(pod);
      if (!rule?.restore) continue;
      const policy = rule.policy;
      const uid = pod.metadata.uid ?? '';
      const checkpoints = this.checkpoints.byIndex(checkpointsByPodUID, uid);
      // An evacuation checkpoint exists: its own restore follows it (the evacuation-restore controller).
      if (checkpoints.some(isEvacuationCheckpoint)) continue;
      const newest = checkpoints.filter((c) => c.status?.phase === 'Ready').sort((a, b) => completedMs(b) - completedMs(a))[0];
      const namespace = pod.metadata.namespace ?? 'default';
      if (!newest) {
        if (policy) lostByPolicy.set(policy, [...(lostByPolicy.get(policy) ?? []), `${namespace}/${pod.metadata.name}`]);
        else
          this.ctx.events.record(
            { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata },
            'Warning',
            'PodLost',
            `Node ${nodeName} (${cause}) is gone and this pod has no Ready checkpoint to restore from`,
          );
        continue;
      }
      const name = derivedName(pod.metadata.name, `lost-${shortUid(uid)}`);
      const outcome = await this.ctx.objects.createIfAbsent('podrestores', namespace, {
        apiVersion: 'cedana.ai/v1alpha1',
        kind: 'PodRestore',
        metadata: ownedMetadata(pod, policy, 'node-lost', name, nodeName),
        spec: { checkpointRef: { name: newest.metadata.name }, reason: 'nodeTermination' },
      });
      if (outcome === 'created') {
        this.ctx.metrics.restoresByReason.inc({ reason: 'nodeTermination' });
        log.info({ pod: `${namespace}/${pod.metadata.name}`, checkpoint: newest.metadata.name }, `node gone (${cause}): restoring from the newest Ready checkpoint`);
      }
    }
    for (const [policy, lost] of lostByPolicy) {
      const known = new Set(policy.status?.lostPods ?? []);
      const fresh = lost.filter((p) => !known.has(p));
      if (fresh.length === 0) continue; // recorded by an earlier pass (or a predecessor)
      // Into the policy's status, so a new leader knows it too; the policy controller makes it a condition.
      const lostPods = [...known, ...fresh].slice(-LOST_PODS_KEPT);
      await patchStatusFields(this.ctx.objects, 'checkpointpolicies', policy, { lostPods });
      const message = `Node ${nodeName} (${cause}) took ${fresh.length} protected pod(s) with no Ready checkpoint to restore from: ${fresh.join(', ')}`;
      log.warn({ policy: policy.metadata.name, lost: fresh }, message);
      this.ctx.events.record(policy, 'Warning', 'PodsLost', message);
    }
  }
}
