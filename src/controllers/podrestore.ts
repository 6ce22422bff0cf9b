// PodRestore controller.
// Triggered by: PodRestore created or its spec changed; a PodCheckpoint it refers to changing phase
// (Ready releases it, Failed fails it); the pod it asked Cedana for appearing; for OwnerReplacement,
// a pod of the owner it waits on created, starting to terminate, or deleted. Reads pods and
// checkpoints.
//
// spec.mode OwnerReplacement (a pod with a controller owner) never posts a restore: the owner's own
// replacement is the restore, started by Cedana's declarative restore (owner-replacement.ts).
// What follows is the NewPod mode:
//
// Resolve the checkpoint action, submit the restore exactly once (ActionLifecycle, with the same
// intent-then-lookup guard as checkpoints) asking for a pod name unique to this restore, then wait
// for that pod: it is the proof. Cedana's status of the restore action is followed where the service
// answers it (the reference does; the real service has no status for restores: a 404 there is not a
// failure). A pod of that name created before the restore was submitted is never taken for it.
import { RESTORE_CONDITIONS as C, RESTORE_REASONS as R } from '../api/conditions.ts';
import { PodCheckpoints, PodRestores, Pods, type PodCheckpointStore, type PodRestoreStore, type PodStore } from '../api/kinds.ts';
import type { Pod } from '../api/pod.ts';
import { isJsonObjectString } from '../api/podcheckpoint.ts';
import { PodRestore, type PodRestoreStatus } from '../api/podrestore.ts';
import { defineIndex } from '../kube/cache.ts';
import { condition, findCondition, type ConditionInput } from '../kube/conditions.ts';
import type { ReconcileContext, ReconcileResult } from '../kube/controller.ts';
import { keyOf } from '../kube/keys.ts';
import { specOrLifecycleChanged, type Manager } from '../kube/manager.ts';
import type { Logger } from 'pino';
import { ActionLifecycle, waitsOnCedana } from './action-lifecycle.ts';
import { derivedName, shortUid } from './owned-objects.ts';
import { OwnerReplacementRestore, podsByControllerUID, restoresByOwnerUID } from './owner-replacement.ts';
import type { OperatorContext } from './context.ts';
import { SKEW_MS, nowIso, pollDelay, writeStatus } from './reconcile-kit.ts';

const PLURAL = 'podrestores';
/** How much earlier than the restore request a pod may be stamped and still be its pod: the whole second, and skew. */
const RESTORED_POD_SKEW_MS = 2_000;

/** PodRestores by the PodCheckpoint they restore (namespace/name). */
export const restoresByCheckpoint = defineIndex(PodRestores, 'checkpointRef', (r) => (r.spec.checkpointRef ? [`${r.metadata.namespace ?? ''}/${r.spec.checkpointRef.name}`] : []));
/** PodRestores by the pod they asked Cedana to create (namespace/name), recorded at submission. */
export const restoresByPodName = defineIndex(PodRestores, 'restoredPodName', (r) => (r.status?.restoredPod?.name ? [`${r.metadata.namespace ?? ''}/${r.status.restoredPod.name}`] : []));

/**
 * The name the restored pod gets: the user's, or one unique to this restore (Cedana's default
 * `<pod>-restored` would be the same for every restore of a pod, and an old pod of that name must
 * never pass for the new one).
 */
export const restoredPodName = (pr: PodRestore, sourcePodName: string | undefined): string =>
  pr.spec.podName ?? derivedName(sourcePodName ?? pr.metadata.name, `restored-${shortUid(pr.metadata.uid ?? pr.metadata.name).slice(0, 5)}`);

export function setupPodRestoreController(mgr: Manager, ctx: OperatorContext): void {
  const restores = mgr.index(PodRestores, restoresByCheckpoint, restoresByPodName, restoresByOwnerUID);
  const reconciler = new PodRestoreReconciler(ctx, restores, mgr.cache(PodCheckpoints), mgr.index(Pods, podsByControllerUID));
  mgr
    .controller('podrestore')
    .for(PodRestores, specOrLifecycleChanged)
    .watches(PodCheckpoints, (e) =>
      e.type !== 'delete' && e.obj.status?.phase !== (e.type === 'update' ? e.old.status?.phase : undefined) ? restores.byIndex(restoresByCheckpoint, keyOf(e.obj)).map(keyOf) : [],
    )
    // The restored pod appearing (the proof that the restore worked: Cedana's status endpoint need not know restores).
    .watches(Pods, (e) => (e.type === 'add' ? restores.byIndex(restoresByPodName, keyOf(e.obj)).map(keyOf) : []))
    // OwnerReplacement: the owner's replacement appearing, or going (its owner deleted it: follow the next).
    .watches(Pods, (e) => {
      const owner = e.obj.metadata.ownerReferences?.find((o) => o.controller === true)?.uid;
      const relevant = e.type !== 'update' || (e.obj.metadata.deletionTimestamp !== undefined && e.old.metadata.deletionTimestamp === undefined);
      return owner && relevant
        ? restores
            .byIndex(restoresByOwnerUID, owner)
            .filter((r) => r.metadata.namespace === e.obj.metadata.namespace)
            .map(keyOf)
        : [];
    })
    .complete(reconciler);
}

/** Where the checkpoint to restore comes from, or why we cannot tell yet. */
type Source = { kind: 'action'; actionId: string; podName: string | undefined } | { kind: 'wait'; reason: string; message: string } | { kind: 'fail'; reason: string; message: string };

export class PodRestoreReconciler {
  private readonly ctx: OperatorContext;
  private readonly restores: PodRestoreStore;
  private readonly checkpoints: PodCheckpointStore;
  private readonly pods: PodStore;
  private readonly lifecycle: ActionLifecycle<PodRestore, PodRestoreStatus>;
  private readonly ownerReplacement: OwnerReplacementRestore;

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
    this.ownerReplacement = new OwnerReplacementRestore(ctx, pods, restores, {
      write: (pr, changes, conditions) => this.write(pr, changes, conditions),
      fail: (pr, reason, message, log, extra) => this.lifecycle.fail(pr, reason, message, log, extra),
    });
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

    if (pr.spec.mode === 'OwnerReplacement') {
      const pc = pr.spec.checkpointRef ? this.checkpoints.get(`${pr.metadata.namespace ?? 'default'}/${pr.spec.checkpointRef.name}`) : undefined;
      return this.ownerReplacement.reconcile(pr, pc, source.actionId, log, signal);
    }

    // Once asked for, the name stands (the PodCheckpoint it came from may be gone by now).
    const podName = pr.status?.restoredPod?.name ?? restoredPodName(pr, source.podName);
    if (!pr.status?.restoreActionId) {
      // An earlier attempt whose answer was lost may have worked: its pod is the proof.
      const proven = pr.status?.submitStartedAt ? this.restoredPod(pr, podName, pr.status.submitStartedAt) : undefined;
      if (proven) return this.succeed(pr, proven, log);
      const next = await this.submit(pr, source.actionId, podName, log, signal);
      if (!next) return undefined;
      pr = next;
    }
    return this.poll(pr, podName, log, signal);
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

  private async submit(pr: PodRestore, checkpointActionId: string, podName: string, log: Logger, signal: AbortSignal): Promise<PodRestore | undefined> {
    const overrides = { pod_name: podName, ...(pr.spec.criuOpts ? { criu_opts: pr.spec.criuOpts } : {}) };
    const submitted = await this.lifecycle.submit(pr, {
      intent: { checkpointActionId, restoredPod: { name: podName } },
      recover: () => this.recoverLostSubmission(pr, checkpointActionId),
      post: () => this.ctx.cedana.restorePod({ action_id: checkpointActionId, cluster_id: this.ctx.config.clusterId, reason: pr.spec.reason, overrides }, { signal }),
      log,
    });
    if (!submitted) return undefined;
    const { actionId: restoreActionId } = submitted;
    log.info({ restoreActionId, checkpointActionId }, 'restore submitted to Cedana');
    this.ctx.events.record(pr, 'Normal', 'Submitted', `Restore submitted to Cedana (action ${restoreActionId})`);
    return this.write(
      submitted.obj,
      {
        phase: 'Restoring',
        checkpointActionId,
        restoreActionId,
        restoredPod: { name: podName },
        submittedAt: nowIso(),
        cedanaStatus: 'initialized',
        message: `Submitted to Cedana; waiting for pod ${podName}`,
      },
      [condition(C.Submitted, 'True', 'Submitted', `Cedana action ${restoreActionId}`), condition(C.Ready, 'False', R.Restoring, 'Waiting for Cedana')],
    );
  }

  /**
   * A restore action of the same checkpoint, created after our intent and claimed by no other
   * PodRestore. None listed is not proof that none was made (its pod, the other proof, was looked
   * for first): within --restored-pod-timeout of the intent it is retried, never posted over.
   */
  private async recoverLostSubmission(pr: PodRestore, checkpointActionId: string): Promise<string | undefined> {
    const startedAt = Date.parse(pr.status?.submitStartedAt ?? '');
    const checkpointAction = await this.ctx.actions.find(checkpointActionId);
    const found = checkpointAction ? this.unclaimedRestoreOf(pr, checkpointAction.checkpoint_id, startedAt) : undefined;
    const id = await found;
    if (id) return id;
    if (Date.now() - startedAt < this.ctx.config.restoredPodTimeout) {
      throw new Error(`an earlier restore request may have reached Cedana (its answer was lost); neither its action nor its pod is there yet, looking again before sending another`);
    }
    return undefined; // long enough: nothing came of it, so it did not happen; the unique pod name keeps a late one from doubling
  }

  private async unclaimedRestoreOf(pr: PodRestore, checkpointId: string, startedAt: number): Promise<string | undefined> {
    const claimed = new Set(this.restores.list().flatMap((o) => (o.metadata.uid !== pr.metadata.uid && o.status?.restoreActionId ? [o.status.restoreActionId] : [])));
    const candidates = (await this.ctx.actions.ofKind('restore'))
      .filter((a) => a.checkpoint_id === checkpointId && !claimed.has(a.action_id))
      .filter((a) => a.action_timestamp && Date.parse(a.action_timestamp) >= startedAt - SKEW_MS)
      .sort((a, b) => Date.parse(b.action_timestamp ?? '') - Date.parse(a.action_timestamp ?? ''));
    return candidates[0]?.action_id;
  }

  private async poll(pr: PodRestore, podName: string, log: Logger, signal: AbortSignal): Promise<ReconcileResult | undefined> {
    const status = pr.status ?? {};
    const pod = this.restoredPod(pr, podName, status.submitStartedAt ?? status.submittedAt);
    if (pod) return this.succeed(pr, pod, log);
    if (status.cedanaStatus !== 'ready' && status.cedanaStatus !== 'unknown') {
      const outcome = await this.lifecycle.poll(pr, status.restoreActionId ?? '', R.RestoreFailed, log, signal, { notFoundIsUnknown: true });
      if (outcome.kind === 'failed') return undefined;
      if (outcome.kind === 'progress') {
        const recovered = waitsOnCedana(status.conditions);
        if (status.cedanaStatus !== outcome.status || recovered) {
          await this.write(pr, { cedanaStatus: outcome.status, message: `Cedana: ${outcome.status}` }, recovered ? [condition(C.Ready, 'False', R.Restoring, 'Waiting for Cedana')] : []);
        }
        return { requeueAfterMs: pollDelay(status.submittedAt, this.ctx.config.pollInterval, this.ctx.config.pollIntervalMax) };
      }
      pr =
        outcome.kind === 'ready'
          ? await this.write(pr, { cedanaStatus: 'ready', message: `Cedana restored the pod; waiting for pod ${podName}` }, [
              condition(C.Restored, 'True', R.CedanaReady, 'Cedana reports the restore as done'),
            ])
          : await this.write(pr, { cedanaStatus: 'unknown', message: `Cedana keeps no status for restores; waiting for pod ${podName}` }, []);
    }
    // Counted from Cedana's "done" where it says so, else from the submission.
    const since = findCondition(pr.status?.conditions, C.Restored)?.lastTransitionTime ?? pr.status?.submittedAt;
    if (since && Date.now() - Date.parse(since) > this.ctx.config.restoredPodTimeout) {
      await this.lifecycle.fail(
        pr,
        R.RestoredPodNotFound,
        `pod ${podName} did not appear within ${Math.round(this.ctx.config.restoredPodTimeout / 1000)}s (--restored-pod-timeout) of the restore`,
        log,
      );
      return undefined;
    }
    return { requeueAfterMs: pollDelay(pr.status?.submittedAt, this.ctx.config.pollInterval, this.ctx.config.pollIntervalMax) };
  }

  private async succeed(pr: PodRestore, pod: Pod, log: Logger): Promise<undefined> {
    const restoredPod = { name: pod.metadata.name, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}), ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}) };
    await this.write(pr, { phase: 'Succeeded', restoredPod, completedAt: nowIso(), message: `Restored as pod ${pod.metadata.name}` }, [
      condition(C.Ready, 'True', R.Restored, `Restored as pod ${pod.metadata.name}${pod.spec.nodeName ? ` on ${pod.spec.nodeName}` : ''}`),
    ]);
    log.info({ pod: pod.metadata.name, node: pod.spec.nodeName }, 'restore succeeded');
    this.ctx.events.record(pr, 'Normal', 'Restored', `Restored as pod ${pod.metadata.name}`);
    return undefined;
  }

  /** The pod of that name, if it was created after the restore was asked for (an older one is not ours). */
  private restoredPod(pr: PodRestore, podName: string, askedAt: string | undefined): Pod | undefined {
    const pod = this.pods.get(`${pr.metadata.namespace ?? 'default'}/${podName}`);
    if (!pod || pod.metadata.deletionTimestamp) return undefined;
    const created = pod.metadata.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : NaN;
    const asked = askedAt ? Date.parse(askedAt) : NaN;
    // creationTimestamp has whole seconds (the apiserver's clock): allow the second it was asked in, and a little skew.
    return created >= asked - RESTORED_POD_SKEW_MS ? pod : undefined;
  }

  private write(pr: PodRestore, changes: Partial<PodRestoreStatus>, conditions: ConditionInput[]): Promise<PodRestore> {
    return writeStatus(this.ctx.objects, PLURAL, pr, changes, conditions, (raw) => PodRestore.parse(raw));
  }
}
