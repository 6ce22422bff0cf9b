// CheckpointPolicy controller.
// Triggered by: the policy created, its spec changed, or its lostPods status changed (written by
// the node-termination controller); a pod of its namespace created, deleted or relabelled; a
// PodCheckpoint it owns changing phase (retention counts Ready ones). Reads restores.
//
// Counts the pods it protects, takes heartbeat checkpoints, applies retention, turns the pods
// lost with their node into a condition, and names the protected pods with an owner but no
// CEDANA_CHECKPOINT (DeclarativeRestoreReady=False: their replacement could not be restored). Heartbeats are spread over the interval by a hash of each
// pod's uid, and named by interval slot, so neither a restart nor a second replica takes one twice.
import type { Logger } from 'pino';
import { CheckpointPolicy, type CheckpointPolicyStatus } from '../api/checkpointpolicy.ts';
import { POLICY_CONDITIONS as C, POLICY_REASONS as R } from '../api/conditions.ts';
import { CheckpointPolicies, PodCheckpoints, PodRestores, Pods, type CheckpointPolicyStore, type PodCheckpointStore, type PodRestoreStore, type PodStore } from '../api/kinds.ts';
import type { Pod } from '../api/pod.ts';
import { parseDuration } from '../config/duration.ts';
import { defineIndex } from '../kube/cache.ts';
import type { ConditionInput } from '../kube/conditions.ts';
import type { InformerEvent } from '../kube/informer.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import type { ReconcileContext, ReconcileResult } from '../kube/controller.ts';
import { keyOf, splitKey } from '../kube/keys.ts';
import { forgetRecoveryPoint, policyRecoveryPoint } from '../protection/recovery-point.ts';
import { lacksCheckpointName } from './owner-replacement.ts';

/** Pods named in the DeclarativeRestoreReady condition; the rest are counted. */
const MAX_LISTED = 10;
import { specOrLifecycleChanged, type Manager } from '../kube/manager.ts';
import type { OperatorContext } from './context.ts';
import { HeartbeatClock } from './heartbeat-clock.ts';
import { checkpointsByPodUID, operatorCheckpoint } from './owned-objects.ts';
import { restoresByCheckpoint } from './podrestore.ts';
import { podsByNamespace } from './protection.ts';
import { pruneCheckpoints } from './retention.ts';
import { nowIso, writeStatus } from './reconcile-kit.ts';

/** PodCheckpoints by the uid of the policy that owns them. */
export const checkpointsByOwner = defineIndex(PodCheckpoints, 'owner', (c) => (c.metadata.ownerReferences ?? []).map((o) => o.uid));

export function setupCheckpointPolicyController(mgr: Manager, ctx: OperatorContext): void {
  const policies = mgr.cache(CheckpointPolicies);
  const reconciler = new CheckpointPolicyReconciler(
    ctx,
    policies,
    mgr.index(Pods, podsByNamespace),
    mgr.index(PodCheckpoints, checkpointsByOwner, checkpointsByPodUID),
    mgr.index(PodRestores, restoresByCheckpoint),
  );
  const phaseChanged = (e: InformerEvent<PodCheckpoint>): boolean => e.type !== 'delete' && e.obj.status?.phase !== (e.type === 'update' ? e.old.status?.phase : undefined);
  mgr
    .controller('checkpointpolicy')
    .for(CheckpointPolicies, (e) => specOrLifecycleChanged(e) || (e.type === 'update' && JSON.stringify(e.obj.status?.lostPods) !== JSON.stringify(e.old.status?.lostPods)))
    // Retention and the recovery point count Ready checkpoints: its own, and those users made of its pods.
    // A reconcile reads every pod of the namespace, so a burst (a node's 1,000 checkpoints turning
    // Ready, 10,000 pods listed at start) makes one reconcile a second, not one per event.
    .owns(PodCheckpoints, phaseChanged, { coalesceMs: COALESCE_MS })
    .watches(PodCheckpoints, (e) => (phaseChanged(e) && !e.obj.metadata.ownerReferences?.length ? ctx.protection.policiesIn(e.obj.metadata.namespace).map(keyOf) : []), { coalesceMs: COALESCE_MS })
    // Protected-pod counts and heartbeats follow pods coming, going and changing labels.
    .watches(
      Pods,
      (e) => (e.type !== 'update' || JSON.stringify(e.obj.metadata.labels) !== JSON.stringify(e.old.metadata.labels) ? ctx.protection.policiesIn(e.obj.metadata.namespace).map(keyOf) : []),
      { coalesceMs: COALESCE_MS },
    )
    .reads(PodRestores)
    .complete(reconciler);
}

/** How long a policy's status may lag its pods and checkpoints. */
const COALESCE_MS = 1_000;

export class CheckpointPolicyReconciler {
  private readonly ctx: OperatorContext;
  private readonly policies: CheckpointPolicyStore;
  private readonly pods: PodStore;
  private readonly checkpoints: PodCheckpointStore;
  private readonly restores: PodRestoreStore;
  private readonly clock = new HeartbeatClock();

  constructor(ctx: OperatorContext, policies: CheckpointPolicyStore, pods: PodStore, checkpoints: PodCheckpointStore, restores: PodRestoreStore) {
    this.ctx = ctx;
    this.policies = policies;
    this.pods = pods;
    this.checkpoints = checkpoints;
    this.restores = restores;
  }

  async reconcile(key: string, { log }: ReconcileContext): Promise<ReconcileResult | undefined> {
    const policy = this.policies.get(key);
    if (!policy || policy.metadata.deletionTimestamp) {
      const { namespace, name } = splitKey(key);
      forgetRecoveryPoint(this.ctx.metrics, namespace ?? 'default', name);
      return undefined;
    }
    const namespace = policy.metadata.namespace ?? 'default';
    const pods = this.pods.byIndex(podsByNamespace, namespace).filter((p) => p.metadata.uid && !p.metadata.deletionTimestamp && this.ctx.protection.policyFor(p)?.metadata.uid === policy.metadata.uid);
    this.clock.retainOnly(new Set(pods.map((p) => p.metadata.uid ?? '')));
    this.ctx.metrics.protectedPods.set({ namespace, policy: policy.metadata.name }, pods.length);

    const conditions: ConditionInput[] = [];
    const changes: Partial<CheckpointPolicyStatus> = { protectedPods: pods.length };
    let requeueAfterMs: number | undefined;

    if (policy.spec.heartbeat) {
      const intervalMs = parseDuration(policy.spec.heartbeat.interval) ?? 0;
      const min = this.ctx.config.minHeartbeatInterval;
      if (intervalMs < min) {
        conditions.push({
          type: C.Ready,
          status: 'False',
          reason: R.HeartbeatTooFrequent,
          message: `heartbeat.interval ${policy.spec.heartbeat.interval} is below the operator's minimum of ${min}ms`,
        });
      } else {
        const beat = await this.heartbeats(policy, pods, intervalMs, log);
        if (beat.took > 0) changes.lastHeartbeat = nowIso();
        requeueAfterMs = beat.nextMs;
      }
    }
    if (policy.spec.retention) await this.retain(policy, policy.spec.retention.keepLast, log);

    // How much work a node loss would cost right now (RecoveryPointMet, status, metrics).
    const rp = policyRecoveryPoint(
      policy,
      pods,
      pods.flatMap((p) => this.checkpoints.byIndex(checkpointsByPodUID, p.metadata.uid ?? '')),
      this.ctx.metrics,
    );
    Object.assign(changes, rp.changes);
    conditions.push(rp.condition);
    if (rp.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, Math.max(1_000, rp.requeueAfterMs));

    const lost = policy.status?.lostPods;
    if (lost?.length) {
      conditions.push({ type: C.PodsLost, status: 'True', reason: R.NoReadyCheckpoint, message: `Lost with their node, nothing to restore from: ${lost.join(', ')}` });
    } else if (policy.status?.conditions?.some((c) => c.type === C.PodsLost && c.status === 'True')) {
      conditions.push({ type: C.PodsLost, status: 'False', reason: R.NoPodsLost, message: 'No protected pod was lost without a checkpoint' });
    }
    // Owned pods restored as their owner's replacement need a checkpoint name (declarative restore).
    const nameless = policy.spec.onNodeTermination.restore
      ? pods
          .filter((p) => lacksCheckpointName(p, policy.spec.restore?.mode))
          .map((p) => p.metadata.name)
          .sort()
      : [];
    if (nameless.length > 0) {
      const shown = nameless.slice(0, MAX_LISTED).join(', ') + (nameless.length > MAX_LISTED ? ` and ${String(nameless.length - MAX_LISTED)} more` : '');
      conditions.push({
        type: C.DeclarativeRestoreReady,
        status: 'False',
        reason: R.MissingCheckpointName,
        message: `Pods with an owner and no CEDANA_CHECKPOINT (their replacement would start from scratch): ${shown}`,
      });
    } else if (policy.status?.conditions?.some((c) => c.type === C.DeclarativeRestoreReady && c.status === 'False')) {
      conditions.push({ type: C.DeclarativeRestoreReady, status: 'True', reason: R.CheckpointNamesSet, message: 'Every protected pod with an owner sets CEDANA_CHECKPOINT' });
    }
    if (!conditions.some((c) => c.type === C.Ready)) {
      conditions.push({ type: C.Ready, status: 'True', reason: R.Protecting, message: `Protecting ${pods.length} pod(s)` });
    }
    const status = policy.status ?? {};
    const unchanged =
      status.protectedPods === changes.protectedPods &&
      status.podsWithoutCheckpoint === changes.podsWithoutCheckpoint &&
      status.worstCheckpointAge === changes.worstCheckpointAge &&
      changes.lastHeartbeat === undefined &&
      conditions.every((c) => status.conditions?.some((s) => s.type === c.type && s.status === c.status && s.reason === c.reason && s.message === c.message)) &&
      status.observedGeneration === policy.metadata.generation;
    if (!unchanged) await writeStatus(this.ctx.objects, 'checkpointpolicies', policy, changes, conditions, (raw) => CheckpointPolicy.parse(raw));
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }

  private async heartbeats(policy: CheckpointPolicy, pods: Pod[], intervalMs: number, log: Logger): Promise<{ took: number; nextMs: number }> {
    let took = 0;
    let nextMs = intervalMs;
    // Only a running pod has a process to checkpoint.
    for (const pod of pods.filter((p) => p.status?.phase === 'Running')) {
      const beat = this.clock.check(pod, intervalMs);
      nextMs = Math.min(nextMs, beat.nextInMs);
      if (!beat.due) continue;
      const body = operatorCheckpoint(pod, policy, 'heartbeat', beat.name, pod.spec.nodeName, { kind: policy.spec.onNodeTermination.kind, reason: 'heartbeat' });
      const outcome = await this.ctx.objects.createIfAbsent('podcheckpoints', pod.metadata.namespace ?? 'default', body);
      if (outcome === 'created') took++;
    }
    if (took > 0) log.info({ took }, 'heartbeat checkpoints requested');
    return { took, nextMs };
  }

  /** Keep the newest keepLast Ready checkpoints of each pod that this policy made; delete the rest. */
  private async retain(policy: CheckpointPolicy, keepLast: number, log: Logger): Promise<void> {
    await pruneCheckpoints(this.ctx.objects, this.restores, this.checkpoints.byIndex(checkpointsByOwner, policy.metadata.uid ?? ''), keepLast, log);
  }
}
