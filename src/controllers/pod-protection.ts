// Pod-protection controller: per-pod protection that needs no node signal.
// Triggered by: a pod created, relabelled, deleted, or its DisruptionTarget condition turning True.
// Reads policies (through Protection), checkpoints and restores.
//
// A protected pod with a controller owner and no CEDANA_CHECKPOINT gets a Warning Event (once):
// its owner's replacement could not be restored from an evacuation checkpoint.
//
// Cedana's pod labels (checked, with a Warning Event for a malformed value; heartbeats at the
// label's interval, with retention), and the pod-level DisruptionTarget condition, which
// checkpoints a protected pod at once.
//
// DisruptionTarget reason → restore reason once the pod is gone:
//   TerminationByKubelet, DeletionByTaintManager → nodeTermination (the node is failing or going)
//   PreemptionByScheduler, EvictionByEvictionAPI, anything else → manual
import { PodCheckpoints, PodRestores, Pods, type PodCheckpointStore, type PodRestoreStore, type PodStore } from '../api/kinds.ts';
import { LABELS, type Pod } from '../api/pod.ts';
import type { ReconcileContext, ReconcileResult } from '../kube/controller.ts';
import type { Manager } from '../kube/manager.ts';
import type { OperatorContext } from './context.ts';
import { Evacuator, type RestoreReason } from './evacuation.ts';
import { checkpointsByActionId } from './podcheckpoint.ts';
import { HeartbeatClock } from './heartbeat-clock.ts';
import { checkpointsByPodUID, operatorCheckpoint } from './owned-objects.ts';
import { lacksCheckpointName, missingCheckpointNameMessage } from './owner-replacement.ts';
import { restoresByCheckpoint } from './podrestore.ts';
import { podsByNamespace } from './protection.ts';
import { LabelRecoveryPoints, recoveryPointEvent } from '../protection/recovery-point.ts';
import { pruneCheckpoints } from './retention.ts';

export const disruptionRestoreReason = (reason: string | undefined): RestoreReason => (reason === 'TerminationByKubelet' || reason === 'DeletionByTaintManager' ? 'nodeTermination' : 'manual');

/** The pod's DisruptionTarget condition when it is True: the pod is about to be deleted. */
export const disruptionTarget = (pod: Pod): { reason?: string | undefined } | undefined => pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');

export function setupPodProtectionController(mgr: Manager, ctx: OperatorContext): void {
  const checkpoints = mgr.index(PodCheckpoints, checkpointsByPodUID, checkpointsByActionId);
  const evacuator = new Evacuator(ctx, checkpoints, (id) => checkpoints.byIndex(checkpointsByActionId, id).length > 0);
  const reconciler = new PodProtectionReconciler(ctx, mgr.index(Pods, podsByNamespace), checkpoints, mgr.index(PodRestores, restoresByCheckpoint), evacuator);
  mgr
    .controller('pod-protection')
    .for(Pods, (e) => {
      if (e.type !== 'update') return true;
      const relabelled = JSON.stringify(e.obj.metadata.labels) !== JSON.stringify(e.old.metadata.labels);
      return relabelled || (disruptionTarget(e.obj) !== undefined && disruptionTarget(e.old) === undefined);
    })
    .reads(PodCheckpoints, PodRestores)
    .complete(reconciler);
}

export class PodProtectionReconciler {
  private readonly ctx: OperatorContext;
  private readonly pods: PodStore;
  private readonly checkpoints: PodCheckpointStore;
  private readonly restores: PodRestoreStore;
  private readonly clock = new HeartbeatClock();
  /** Per pod key: its uid, and the label problems already reported (one Warning per distinct problem). */
  private readonly seen = new Map<string, { uid: string; warned: string; missingName?: boolean }>();

  private readonly evacuator: Evacuator;
  private readonly recovery = new LabelRecoveryPoints();
  /** When each namespace's label-protected recovery point was last computed (it is O(pods of the namespace)). */
  private readonly recoveryLooked = new Map<string, number>();

  constructor(ctx: OperatorContext, pods: PodStore, checkpoints: PodCheckpointStore, restores: PodRestoreStore, evacuator: Evacuator) {
    this.ctx = ctx;
    this.evacuator = evacuator;
    this.pods = pods;
    this.checkpoints = checkpoints;
    this.restores = restores;
  }

  async reconcile(key: string, { log, signal }: ReconcileContext): Promise<ReconcileResult | undefined> {
    const pod = this.pods.get(key);
    const known = this.seen.get(key);
    // First look at this pod since this replica started leading: a predecessor may have posted for it.
    const recovering = known?.uid !== pod?.metadata.uid;
    if (known && known.uid !== pod?.metadata.uid) {
      // Gone (or replaced under the same name): drop what we remembered of it.
      this.seen.delete(key);
      this.clock.forget(known.uid);
    }
    if (!pod?.metadata.uid || pod.metadata.deletionTimestamp) return undefined;
    const uid = pod.metadata.uid;

    const problems = this.ctx.protection.labelProblems(pod).join('; ');
    const rule = this.ctx.protection.ruleFor(pod);
    // Remembered only for a pod with something to remember: of 10,000 pods most are neither
    // protected nor mislabelled. One forgotten and protected later counts as a first look (recovering).
    if (!problems && !rule) {
      this.seen.delete(key);
      return undefined;
    }
    const memory = this.seen.get(key) ?? { uid, warned: '' };
    this.seen.set(key, memory);
    if (problems && memory.warned !== problems) {
      memory.warned = problems;
      log.warn({ problems }, 'malformed Cedana label');
      this.ctx.events.record({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, 'Warning', 'InvalidCedanaLabel', problems);
    }
    if (!rule) return undefined;

    // An owned pod whose replacement could not be restored: said once (per pod, per leader).
    if (rule.restore && !memory.missingName && lacksCheckpointName(pod, rule.policy?.spec.restore?.mode)) {
      memory.missingName = true;
      this.ctx.events.record({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, 'Warning', 'MissingCheckpointName', missingCheckpointNameMessage(pod));
    }

    const disruption = disruptionTarget(pod);
    if (disruption && rule.checkpoint) {
      const request = { trigger: 'evacuation', restoreReason: disruptionRestoreReason(disruption.reason), nodeName: pod.spec.nodeName } as const;
      const outcome = await this.evacuator.submit(pod, rule, request, { recovering, signal, log });
      if (outcome === 'created') {
        log.info({ reason: disruption.reason }, 'pod is being disrupted: checkpoint requested');
        this.ctx.events.record(
          { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata },
          'Normal',
          'CheckpointOnDisruption',
          `DisruptionTarget (${disruption.reason ?? 'no reason'}): checkpoint requested`,
        );
      }
      return undefined;
    }

    if (rule.labelHeartbeatMs === undefined) return undefined;
    this.labelRecoveryPoint(pod.metadata.namespace ?? 'default');
    const beat = this.clock.check(pod, rule.labelHeartbeatMs);
    // Only a running pod has a process to checkpoint.
    if (beat.due && pod.status?.phase === 'Running') {
      const body = operatorCheckpoint(pod, undefined, 'heartbeat', beat.name, pod.spec.nodeName, { kind: rule.kind, reason: 'heartbeat' });
      const outcome = await this.ctx.objects.createIfAbsent('podcheckpoints', pod.metadata.namespace ?? 'default', body);
      if (outcome === 'created') log.info({ checkpoint: beat.name }, 'label heartbeat checkpoint requested');
    }
    const mine = this.checkpoints.byIndex(checkpointsByPodUID, uid).filter((c) => c.metadata.labels?.[LABELS.trigger] === 'heartbeat' && !c.metadata.ownerReferences?.length);
    await pruneCheckpoints(this.ctx.objects, this.restores, mine, this.ctx.config.labelHeartbeatKeepLast, log);
    return { requeueAfterMs: beat.nextInMs };
  }

  /**
   * The recovery point of a namespace's label-protected pods (metrics, policy "cedana.ai/labels"),
   * at most every few seconds, with a Warning Event on each pod that has just passed its bound
   * (twice its heartbeat label). Heartbeat requeues keep it current.
   */
  private labelRecoveryPoint(namespace: string): void {
    const now = Date.now();
    if ((this.recoveryLooked.get(namespace) ?? 0) > now - LABEL_RECOVERY_EVERY_MS) return;
    this.recoveryLooked.set(namespace, now);
    const pods = this.pods
      .byIndex(podsByNamespace, namespace)
      .filter((p) => p.metadata.uid && !p.metadata.deletionTimestamp && this.ctx.protection.ruleFor(p)?.policy === undefined && this.ctx.protection.ruleFor(p) !== undefined);
    const checkpoints = pods.flatMap((p) => this.checkpoints.byIndex(checkpointsByPodUID, p.metadata.uid ?? ''));
    const { crossed } = this.recovery.update(namespace, pods, checkpoints, (p) => this.ctx.protection.ruleFor(p)?.labelHeartbeatMs, this.ctx.metrics, now);
    for (const p of crossed) {
      const pod = pods.find((q) => q.metadata.uid === p.uid);
      const e = recoveryPointEvent(p);
      if (pod) this.ctx.events.record({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, e.type, e.reason, e.message);
    }
  }
}

const LABEL_RECOVERY_EVERY_MS = 5_000;
