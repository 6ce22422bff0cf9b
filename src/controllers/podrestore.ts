// PodRestore controller.
// Triggered by: PodRestore created or its spec changed; a PodCheckpoint it refers to changing phase
// (Ready releases it, Failed fails it); a pod labelled with its restore action appearing.
// Reads pods and checkpoints.
//
// Resolve the checkpoint action, submit the restore exactly once (ActionLifecycle, with the same
// intent-then-lookup guard as checkpoints), poll the restore action, then find the restored pod.
import { RESTORE_CONDITIONS as C, RESTORE_REASONS as R } from '../api/conditions.ts';
import { PodCheckpoints, PodRestores, Pods, type PodCheckpointStore, type PodRestoreStore, type PodStore } from '../api/kinds.ts';
import { RESTORE_ACTION_LABEL, type Pod } from '../api/pod.ts';
import { isJsonObjectString } from '../api/podcheckpoint.ts';
import { PodRestore, type PodRestoreStatus } from '../api/podrestore.ts';
import { defineIndex } from '../kube/cache.ts';
import { condition, findCondition, type ConditionInput } from '../kube/conditions.ts';
import type { ReconcileContext, ReconcileResult } from '../kube/controller.ts';
import { keyOf } from '../kube/keys.ts';
import { specOrLifecycleChanged, type Manager } from '../kube/manager.ts';
import type { Logger } from 'pino';
import { ActionLifecycle } from './action-lifecycle.ts';
import type { OperatorContext } from './context.ts';
import { SKEW_MS, nowIso, pollDelay, writeStatus } from './reconcile-kit.ts';

const PLURAL = 'podrestores';

/** PodRestores by the PodCheckpoint they restore (namespace/name). */
export const restoresByCheckpoint = defineIndex(PodRestores, 'checkpointRef', (r) => (r.spec.checkpointRef ? [`${r.metadata.namespace ?? ''}/${r.spec.checkpointRef.name}`] : []));
/** PodRestores by their Cedana restore action. */
export const restoresByActionId = defineIndex(PodRestores, 'restoreActionId', (r) => (r.status?.restoreActionId ? [r.status.restoreActionId] : []));
/** Pods by the restore action Cedana's in-cluster side labels them with. */
export const podsByRestoreAction = defineIndex(Pods, 'restoreAction', (p) => {
  const id = p.metadata.labels?.[RESTORE_ACTION_LABEL];
  return id ? [id] : [];
});

export function setupPodRestoreController(mgr: Manager, ctx: OperatorContext): void {
  const restores = mgr.index(PodRestores, restoresByCheckpoint, restoresByActionId);
  const reconciler = new PodRestoreReconciler(ctx, restores, mgr.cache(PodCheckpoints), mgr.index(Pods, podsByRestoreAction));
  mgr
    .controller('podrestore')
    .for(PodRestores, specOrLifecycleChanged)
    .watches(PodCheckpoints, (e) => (e.type !== 'delete' && e.obj.status?.phase !== (e.type === 'update' ? e.old.status?.phase : undefined) ? restores.byIndex(restoresByCheckpoint, keyOf(e.obj)).map(keyOf) : []))
    .watches(Pods, (e) => {
      const id = e.obj.metadata.labels?.[RESTORE_ACTION_LABEL];
      return id && e.type !== 'delete' ? restores.byIndex(restoresByActionId, id).map(keyOf) : [];
    })
    .complete(reconciler);
}

/** Where the checkpoint to restore comes from, or why we cannot tell yet. */
type Source =
  | { kind: 'action'; actionId: string; podName: string | undefined }
  | { kind: 'wait'; reason: string; message: string }
  | { kind: 'fail'; reason: string; message: string };

export class PodRestoreReconciler {
  private readonly ctx: OperatorContext;
  private readonly restores: PodRestoreStore;
  private readonly checkpoints: PodCheckpointStore;
  private readonly pods: PodStore;
  private readonly lifecycle: ActionLifecycle<PodRestore, PodRestoreStatus>;

  constructor(ctx: OperatorContext, restores: PodRestoreStore, checkpoints: PodCheckpointStore, pods: PodStore) {
    this.ctx = ctx;
    this.restores = restores;
    this.checkpoints = checkpoints;
    this.pods = pods;
    this.lifecycle = new ActionLifecycle<PodRestore, PodRestoreStatus>(
      {
        what: 'restore',
        write: (pr, changes, conditions) => this.write(pr, changes, conditions),
        event: (pr, type, reason, message) => {
          ctx.events.record(pr, type, reason, message);
        },
      },
      ctx.cedana,
      ctx.metrics,
    );
  }

  async reconcile(key: string, { log, signal }: ReconcileContext): Promise<ReconcileResult | undefined> {
    let pr = this.restores.get(key);
    if (!pr || pr.metadata.deletionTimestamp) return undefined; // nothing to clean up in Cedana
    const phase = pr.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return undefined;

    if (pr.spec.criuOpts !== undefined && !isJsonObjectString(pr.spec.criuOpts)) {
      await this.lifecycle.fail(pr, R.InvalidSpec, 'spec.criuOpts must be a JSON object string', log);
      return undefined;
    }

    const source = this.source(pr);
    if (source.kind === 'fail') {
      await this.lifecycle.fail(pr, source.reason, source.message, log);
      return undefined;
    }
    if (source.kind === 'wait') {
      if (findCondition(pr.status?.conditions, C.Ready)?.reason !== source.reason) {
        await this.write(pr, { phase: 'Pending', message: source.message }, [condition(C.Ready, 'False', source.reason, source.message)]);
      }
      // A checkpoint becoming Ready enqueues this restore at once; this is only a safety net.
      return { requeueAfterMs: pollDelay(pr.metadata.creationTimestamp ? new Date(pr.metadata.creationTimestamp).toISOString() : undefined, 2_000, 30_000) };
    }

    if (!pr.status?.restoreActionId) {
      const next = await this.submit(pr, source.actionId, log, signal);
      if (!next) return undefined;
      pr = next;
    }
    return this.poll(pr, source.podName, log, signal);
  }

  private source(pr: PodRestore): Source {
    if (pr.spec.actionId) return { kind: 'action', actionId: pr.spec.actionId, podName: undefined };
    const name = pr.spec.checkpointRef?.name ?? '';
    const pc = this.checkpoints.get(`${pr.metadata.namespace ?? 'default'}/${name}`);
    if (!pc) {
      // Already submitted: the checkpoint object may be gone (retention), the action is known.
      if (pr.status?.checkpointActionId) return { kind: 'action', actionId: pr.status.checkpointActionId, podName: undefined };
      return { kind: 'wait', reason: R.CheckpointNotFound, message: `PodCheckpoint ${name} does not exist (yet)` };
    }
    switch (pc.status?.phase) {
      case 'Ready':
        return { kind: 'action', actionId: pc.status.actionId ?? '', podName: pc.spec.podName };
      case 'Failed':
        return { kind: 'fail', reason: R.CheckpointFailed, message: `PodCheckpoint ${name} failed: ${pc.status.message ?? 'no message'}` };
      default:
        return { kind: 'wait', reason: R.WaitingForCheckpoint, message: `PodCheckpoint ${name} is not Ready yet` };
    }
  }

  private async submit(pr: PodRestore, checkpointActionId: string, log: Logger, signal: AbortSignal): Promise<PodRestore | undefined> {
    const overrides = {
      ...(pr.spec.podName ? { pod_name: pr.spec.podName } : {}),
      ...(pr.spec.criuOpts ? { criu_opts: pr.spec.criuOpts } : {}),
    };
    const submitted = await this.lifecycle.submit(pr, {
      intent: { checkpointActionId },
      recover: () => this.recoverLostSubmission(pr, checkpointActionId),
      post: () =>
        this.ctx.cedana.restorePod(
          { action_id: checkpointActionId, cluster_id: this.ctx.config.clusterId, reason: pr.spec.reason, overrides: Object.keys(overrides).length > 0 ? overrides : null },
          { signal },
        ),
      log,
    });
    if (!submitted) return undefined;
    const { actionId: restoreActionId } = submitted;
    log.info({ restoreActionId, checkpointActionId }, 'restore submitted to Cedana');
    this.ctx.events.record(pr, 'Normal', 'Submitted', `Restore submitted to Cedana (action ${restoreActionId})`);
    return this.write(
      submitted.obj,
      { phase: 'Restoring', checkpointActionId, restoreActionId, submittedAt: nowIso(), cedanaStatus: 'initialized', message: 'Submitted to Cedana' },
      [condition(C.Submitted, 'True', 'Submitted', `Cedana action ${restoreActionId}`), condition(C.Ready, 'False', R.Restoring, 'Waiting for Cedana')],
    );
  }

  /** A restore action of the same checkpoint, created after our intent and claimed by no other PodRestore. */
  private async recoverLostSubmission(pr: PodRestore, checkpointActionId: string): Promise<string | undefined> {
    const checkpointAction = await this.ctx.actions.find(checkpointActionId);
    if (!checkpointAction) return undefined;
    const startedAt = Date.parse(pr.status?.submitStartedAt ?? '');
    const claimed = new Set(this.restores.list().flatMap((o) => (o.metadata.uid !== pr.metadata.uid && o.status?.restoreActionId ? [o.status.restoreActionId] : [])));
    const candidates = (await this.ctx.actions.ofKind('restore'))
      .filter((a) => a.checkpoint_id === checkpointAction.checkpoint_id && !claimed.has(a.action_id))
      .filter((a) => !a.action_timestamp || Date.parse(a.action_timestamp) >= startedAt - SKEW_MS)
      .sort((a, b) => Date.parse(b.action_timestamp ?? '') - Date.parse(a.action_timestamp ?? ''));
    return candidates[0]?.action_id;
  }

  private async poll(pr: PodRestore, originalPodName: string | undefined, log: Logger, signal: AbortSignal): Promise<ReconcileResult | undefined> {
    const status = pr.status ?? {};
    if (status.cedanaStatus !== 'ready') {
      const outcome = await this.lifecycle.poll(pr, status.restoreActionId ?? '', R.RestoreFailed, log, signal);
      if (outcome.kind === 'failed') return undefined;
      if (outcome.kind === 'progress') {
        if (status.cedanaStatus !== outcome.status) await this.write(pr, { cedanaStatus: outcome.status, message: `Cedana: ${outcome.status}` }, []);
        return { requeueAfterMs: pollDelay(status.submittedAt, this.ctx.config.pollInterval, this.ctx.config.pollIntervalMax) };
      }
      pr = await this.write(pr, { cedanaStatus: 'ready', message: 'Cedana restored the pod; looking for it' }, [condition(C.Restored, 'True', R.CedanaReady, 'Cedana reports the restore as done')]);
    }

    const pod = this.restoredPod(pr, originalPodName);
    if (!pod) {
      const since = findCondition(pr.status?.conditions, C.Restored)?.lastTransitionTime;
      if (since && Date.now() - Date.parse(since) > this.ctx.config.restoredPodTimeout) {
        await this.lifecycle.fail(pr, R.RestoredPodNotFound, `Cedana reported the restore done, but no restored pod appeared within ${Math.round(this.ctx.config.restoredPodTimeout / 1000)}s`, log);
        return undefined;
      }
      return { requeueAfterMs: this.ctx.config.pollInterval };
    }
    const restoredPod = { name: pod.metadata.name, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}), ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}) };
    await this.write(pr, { phase: 'Succeeded', restoredPod, completedAt: nowIso(), message: `Restored as pod ${pod.metadata.name}` }, [
      condition(C.Ready, 'True', R.Restored, `Restored as pod ${pod.metadata.name}${pod.spec.nodeName ? ` on ${pod.spec.nodeName}` : ''}`),
    ]);
    log.info({ pod: pod.metadata.name, node: pod.spec.nodeName }, 'restore succeeded');
    this.ctx.events.record(pr, 'Normal', 'Restored', `Restored as pod ${pod.metadata.name}`);
    return undefined;
  }

  /** The pod labelled with the restore action, else the name Cedana gives it (override, or <pod>-restored). */
  private restoredPod(pr: PodRestore, originalPodName: string | undefined): Pod | undefined {
    const namespace = pr.metadata.namespace ?? 'default';
    const actionId = pr.status?.restoreActionId ?? '';
    const labelled = this.pods.byIndex(podsByRestoreAction, actionId).find((p) => p.metadata.namespace === namespace);
    if (labelled) return labelled;
    const name = pr.spec.podName ?? (originalPodName ? `${originalPodName}-restored` : undefined);
    const byName = name ? this.pods.get(`${namespace}/${name}`) : undefined;
    // A pod of that name that predates the restore is not the restored one.
    if (byName?.metadata.labels?.[RESTORE_ACTION_LABEL] !== undefined && byName.metadata.labels[RESTORE_ACTION_LABEL] !== actionId) return undefined;
    return byName;
  }

  private write(pr: PodRestore, changes: Partial<PodRestoreStatus>, conditions: ConditionInput[]): Promise<PodRestore> {
    return writeStatus(this.ctx.objects, PLURAL, pr, changes, conditions, (raw) => PodRestore.parse(raw));
  }
}
