// PodCheckpoint controller.
// Triggered by: PodCheckpoint created, its spec or deletion changed (not our own status writes);
// requeued by itself while Cedana works (polling). Reads pods.
//
// In controller-runtime's shape: get the object (gone: done), handle deletion (deprecate in Cedana,
// then drop the finalizer), ensure the finalizer, then drive the action (ActionLifecycle): submit
// once, upload the pod spec, poll, Ready or Failed.
import type { Logger } from 'pino';
import { CHECKPOINT_CONDITIONS as C, CHECKPOINT_REASONS as R } from '../api/conditions.ts';
import { Nodes, PodCheckpoints, Pods, type NodeStore, type PodCheckpointStore, type PodStore } from '../api/kinds.ts';
import { LABELS, NODE_ANNOTATION, Pod } from '../api/pod.ts';
import { isPodCheckpointAction } from '../cedana/actions.ts';
import { CedanaApiError } from '../cedana/errors.ts';
import { CHECKPOINT_FINALIZER, PodCheckpoint, isJsonObjectString, type PodCheckpointStatus } from '../api/podcheckpoint.ts';
import { defineIndex } from '../kube/cache.ts';
import { paths } from '../kube/client.ts';
import { statusCodeOf } from '../kube/errors.ts';
import { condition, findCondition, type ConditionInput } from '../kube/conditions.ts';
import type { ReconcileContext, ReconcileResult } from '../kube/controller.ts';
import { withRetryCap } from '../kube/workqueue.ts';
import { specOrLifecycleChanged, type Manager } from '../kube/manager.ts';
import { ActionLifecycle, waitsOnCedana } from './action-lifecycle.ts';
import { isEvacuationCheckpoint } from './evacuation.ts';
import { classifyNode } from './node-signals.ts';
import type { OperatorContext } from './context.ts';
import { ACTION_ANNOTATION, SUBMITTED_AT_ANNOTATION, isOperatorCheckpoint } from './owned-objects.ts';
import { CedanaRejection, SKEW_MS, nowIso, pollDelay, stageStatus, triage, writeStatus } from './reconcile-kit.ts';

const PLURAL = 'podcheckpoints';

/** PodCheckpoints by the Cedana action they hold: an action claimed by one is never adopted by another. */
export const checkpointsByActionId = defineIndex(PodCheckpoints, 'actionId', (c) => (c.status?.actionId ? [c.status.actionId] : []));

export function setupPodCheckpointController(mgr: Manager, ctx: OperatorContext): void {
  const reconciler = new PodCheckpointReconciler(ctx, mgr.index(PodCheckpoints, checkpointsByActionId), mgr.cache(Pods), mgr.cache(Nodes));
  // A node's checkpoints arrive together: as many workers as the fan-out posts at once, so that
  // recording and polling them keeps pace (each reconcile mostly waits on Cedana and the apiserver).
  const workers = Math.max(ctx.config.workers, ctx.config.terminationConcurrency);
  mgr.controller('podcheckpoint', { workers }).for(PodCheckpoints, specOrLifecycleChanged).reads(Pods, Nodes).complete(reconciler);
}

/** What the apiserver answered for a pod was not one: retrying cannot help. */
class NotAPod extends Error {
  override name = 'NotAPod';
}

/** The longest wait between two tries of an evacuation checkpoint (the notice is 30 s to 2 min). */
export const EVACUATION_RETRY_CAP_MS = 5_000;

/** How long a webhook-made evacuation checkpoint on a signalled node waits for the node path's POST (creation time has whole seconds). */
const FAST_PATH_GRACE_MS = 3_000;

/** Upload attempts within one reconcile before the key is requeued: polling does not wait for them. */
const UPLOAD_ATTEMPTS = 3;

export class PodCheckpointReconciler {
  private readonly ctx: OperatorContext;
  private readonly checkpoints: PodCheckpointStore;
  private readonly pods: PodStore;
  private readonly lifecycle: ActionLifecycle<PodCheckpoint, PodCheckpointStatus>;

  /** Without it (tests), no grace for the node path. */
  private readonly nodes: NodeStore | undefined;

  constructor(ctx: OperatorContext, checkpoints: PodCheckpointStore, pods: PodStore, nodes?: NodeStore) {
    this.ctx = ctx;
    this.nodes = nodes;
    this.checkpoints = checkpoints;
    this.pods = pods;
    this.lifecycle = new ActionLifecycle<PodCheckpoint, PodCheckpointStatus>(
      {
        what: 'checkpoint',
        write: (pc, changes, conditions) => this.write(pc, changes, conditions),
        event: (pc, type, reason, message) => {
          ctx.events.record(pc, type, reason, message);
        },
      },
      ctx.cedana,
      ctx.metrics,
    );
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    const pc = this.checkpoints.get(key);
    if (!pc) return undefined; // deleted: nothing to do
    try {
      return await this.drive(pc, ctx);
    } catch (err) {
      // A checkpoint racing a termination notice retries within seconds, not minutes.
      throw isEvacuationCheckpoint(pc) || pc.metadata.labels?.[LABELS.trigger] === 'early' ? withRetryCap(err, EVACUATION_RETRY_CAP_MS) : err;
    }
  }

  private async drive(cached: PodCheckpoint, { log, signal }: ReconcileContext): Promise<ReconcileResult | undefined> {
    let pc = cached;
    if (pc.metadata.deletionTimestamp) {
      await this.finalize(pc, log, signal);
      return undefined;
    }
    pc = await this.ensureFinalizer(pc);

    const phase = pc.status?.phase;
    if (phase === 'Failed') return undefined;
    if (phase === 'Ready') return this.finishUpload(pc, log, signal);

    const criuOpts = pc.spec.overrides?.criuOpts;
    if (criuOpts !== undefined && !isJsonObjectString(criuOpts)) {
      await this.lifecycle.fail(pc, R.InvalidSpec, `spec.overrides.criuOpts must be a JSON object string, got ${JSON.stringify(criuOpts.slice(0, 80))}`, log);
      return undefined;
    }

    // Submission, upload and the first poll are gathered into one status write (at most three
    // writes a checkpoint: the intent, this one, the end); a crash before it is what the intent
    // and the lost-answer lookup are for.
    let staged = false;
    if (!pc.status?.actionId) {
      const submitted = await this.submitOrAdopt(pc, log, signal);
      if (!submitted) return undefined;
      if ('waitMs' in submitted) return { requeueAfterMs: submitted.waitMs };
      pc = submitted;
      staged = true;
    }
    let uploadPending = false;
    if (findCondition(pc.status?.conditions, C.SpecUploaded)?.status !== 'True') {
      const uploaded = await this.upload(pc, await this.readPod(pc, signal), log, signal);
      staged ||= uploaded.pc !== pc;
      pc = uploaded.pc;
      uploadPending = uploaded.pending;
    }
    return this.poll(pc, { staged, uploadPending }, log, signal);
  }

  /** Deletion: deprecate the Cedana checkpoint if the policy says so, then let the object go. */
  private async finalize(pc: PodCheckpoint, log: Logger, signal: AbortSignal): Promise<void> {
    const finalizers = pc.metadata.finalizers ?? [];
    if (!finalizers.includes(CHECKPOINT_FINALIZER)) return;
    if (pc.spec.deletionPolicy === 'Deprecate' && pc.status?.actionId) {
      const checkpointId = pc.status.checkpointId ?? (await this.ctx.actions.find(pc.status.actionId))?.checkpoint_id;
      if (checkpointId) {
        try {
          await this.ctx.cedana.deprecateCheckpoint(checkpointId, { signal });
          log.info({ checkpointId }, 'deprecated the Cedana checkpoint');
          this.ctx.events.record(pc, 'Normal', 'Deprecated', `Deprecated Cedana checkpoint ${checkpointId}`);
        } catch (err) {
          const t = triage(err);
          if (t.kind === 'transient') throw err;
          // A checkpoint Cedana no longer knows needs no deprecation: let the object go.
          log.warn({ err, checkpointId }, 'Cedana refused the deprecation; removing the finalizer anyway');
          this.ctx.events.record(pc, 'Warning', 'DeprecateFailed', `Cedana refused to deprecate ${checkpointId}: ${t.message}`);
        }
      }
    }
    await this.ctx.objects.setFinalizers(
      this.ref(pc),
      finalizers.filter((f) => f !== CHECKPOINT_FINALIZER),
      pc.metadata.resourceVersion,
    );
  }

  /** Only deletionPolicy Deprecate needs Cedana work on delete, so only it carries the finalizer. */
  private async ensureFinalizer(pc: PodCheckpoint): Promise<PodCheckpoint> {
    const finalizers = pc.metadata.finalizers ?? [];
    const want = pc.spec.deletionPolicy === 'Deprecate';
    if (want === finalizers.includes(CHECKPOINT_FINALIZER)) return pc;
    const next = want ? [...finalizers, CHECKPOINT_FINALIZER] : finalizers.filter((f) => f !== CHECKPOINT_FINALIZER);
    return PodCheckpoint.parse(await this.ctx.objects.setFinalizers(this.ref(pc), next, pc.metadata.resourceVersion));
  }

  /**
   * The action: one the node-termination fast path already posted (recorded in the annotations at
   * creation), or a POST now (ActionLifecycle: intent first). Returned staged, not yet written.
   */
  private async submitOrAdopt(pc: PodCheckpoint, log: Logger, signal: AbortSignal): Promise<PodCheckpoint | { waitMs: number } | undefined> {
    const posted = pc.metadata.annotations?.[ACTION_ANNOTATION];
    const podUIDLabel = pc.metadata.labels?.[LABELS.podUID];
    if (posted && podUIDLabel) {
      const nodeName = pc.metadata.annotations?.[NODE_ANNOTATION];
      return this.staged(pc, posted, pc.metadata.annotations?.[SUBMITTED_AT_ANNOTATION] ?? nowIso(), { podUID: podUIDLabel, ...(nodeName ? { nodeName } : {}) });
    }
    const wait = this.fastPathGrace(pc);
    if (wait > 0) return { waitMs: wait };
    let pod: Pod | undefined;
    try {
      pod = await this.findPod(pc, signal);
    } catch (err) {
      if (!(err instanceof NotAPod)) throw err;
      await this.lifecycle.fail(pc, R.InvalidSpec, err.message, log);
      return undefined;
    }
    const podUID = pod?.metadata.uid;
    if (!pod || !podUID) {
      await this.lifecycle.fail(pc, R.PodNotFound, `pod ${pc.metadata.namespace ?? ''}/${pc.spec.podName} not found`, log);
      return undefined;
    }
    if (pc.status?.podUID && pc.status.podUID !== podUID) {
      await this.lifecycle.fail(pc, R.PodReplaced, `pod ${pc.spec.podName} was replaced (uid ${pc.status.podUID} → ${podUID}) before the checkpoint was submitted`, log);
      return undefined;
    }
    const where = { podUID, ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}) };
    const submitted = await this.lifecycle.submit(pc, {
      intent: where,
      // An evacuation checkpoint the webhook created may race the leader's fast-path POST for the
      // same pod (that POST then finds the object existing and records nothing): look first.
      recoverFirst: isEvacuationCheckpoint(pc) || pc.metadata.labels?.[LABELS.trigger] === 'early',
      recover: () => this.recoverLostSubmission(pc, podUID, signal),
      post: () =>
        this.ctx.cedana
          .checkpointPod(
            {
              pod_name: pc.spec.podName,
              pod_id: podUID,
              namespace: pc.metadata.namespace ?? 'default',
              cluster_id: this.ctx.config.clusterId,
              kind: pc.spec.kind,
              reason: pc.spec.reason,
              overrides: this.overrides(pc),
            },
            { signal },
          )
          .catch((err: unknown) => {
            throw this.explainUnsynced(err, pod);
          }),
      log,
    });
    if (!submitted) return undefined;
    log.info({ actionId: submitted.actionId, podUID }, 'checkpoint submitted to Cedana');
    if (!isOperatorCheckpoint(pc)) this.ctx.events.record(pc, 'Normal', 'Submitted', `Checkpoint of pod ${pc.spec.podName} submitted to Cedana (action ${submitted.actionId})`);
    return this.staged(submitted.obj, submitted.actionId, nowIso(), where);
  }

  /**
   * An evacuation checkpoint of a pod whose node is going away, made by someone else (the eviction
   * webhook, on any replica): the leader's node path is posting for that pod right now and hands its
   * action over (Evacuator.record). Give it a moment before posting here, or the pod gets two
   * checkpoints. How long is left to wait, 0 when not.
   */
  private fastPathGrace(pc: PodCheckpoint): number {
    if (!this.nodes || pc.status?.submitStartedAt || !(isEvacuationCheckpoint(pc) || pc.metadata.labels?.[LABELS.trigger] === 'early')) return 0;
    const created = pc.metadata.creationTimestamp ? new Date(pc.metadata.creationTimestamp).getTime() : NaN;
    const left = created + FAST_PATH_GRACE_MS - Date.now();
    if (!(left > 0)) return 0;
    const c = this.ctx.config;
    const node = this.nodes.get(pc.metadata.annotations?.[NODE_ANNOTATION] ?? '');
    return classifyNode(node, c.terminatingTaints, c.nodeNotReadyGrace, c.earlyTaints).kind === 'none' ? 0 : Math.min(left, 500);
  }

  /**
   * Cedana's cluster sync lags a new pod: its 404 "Failed to find checkpointable resource" for a pod
   * younger than --cedana-sync-window is worth a retry; for an older one it fails, saying why.
   */
  private explainUnsynced(err: unknown, pod: Pod): unknown {
    if (!(err instanceof CedanaApiError) || !err.isUnsyncedPod) return err;
    const created = pod.metadata.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : NaN;
    const ageMs = Date.now() - created;
    if (ageMs < this.ctx.config.cedanaSyncWindow)
      return new Error(`Cedana has not seen pod ${pod.metadata.name} yet (it started ${Math.round(ageMs / 1000)}s ago; its cluster sync lags); retrying`, { cause: err });
    return new CedanaRejection(
      `Cedana has not seen pod ${pod.metadata.name} (started ${Number.isNaN(ageMs) ? 'at an unknown time' : `${Math.round(ageMs / 1000)}s ago`}, beyond the ${Math.round(this.ctx.config.cedanaSyncWindow / 1000)}s sync window): ${err.apiMessage ?? err.message}`,
    );
  }

  private staged(pc: PodCheckpoint, actionId: string, submittedAt: string, where: Partial<PodCheckpointStatus>): PodCheckpoint {
    return stageStatus<PodCheckpointStatus, PodCheckpoint>(pc, { ...where, phase: 'Submitted', actionId, submittedAt, cedanaStatus: 'initialized', message: 'Submitted to Cedana' }, [
      condition(C.Submitted, 'True', R.Submitted, `Cedana action ${actionId}`),
      condition(C.Ready, 'False', R.Checkpointing, 'Waiting for Cedana'),
    ]);
  }

  /** The pod's latest action, if it is ours: unclaimed by any other PodCheckpoint and no older than our intent. */
  private async recoverLostSubmission(pc: PodCheckpoint, podUID: string, signal: AbortSignal): Promise<string | undefined> {
    const candidate = await this.ctx.cedana.latestPodAction(podUID, { signal });
    if (!candidate) return undefined;
    if (this.checkpoints.byIndex(checkpointsByActionId, candidate).some((o) => o.metadata.uid !== pc.metadata.uid)) return undefined;
    const action = await this.ctx.actions.find(candidate);
    // Unknown is not new: posting again could make a second checkpoint, adopting could take an old one.
    if (!action) throw new Error(`Cedana's listing does not show action ${candidate}, the latest of pod ${podUID}, yet`);
    // From our intent, or (looking first) from the object's creation: the fast path posts just before.
    const startedAt = Date.parse(pc.status?.submitStartedAt ?? (pc.metadata.creationTimestamp ? new Date(pc.metadata.creationTimestamp).toISOString() : ''));
    const at = action.action_timestamp ? Date.parse(action.action_timestamp) : NaN;
    // An action without a time cannot be shown to be ours.
    if (!isPodCheckpointAction(action) || !(at >= startedAt - SKEW_MS)) return undefined;
    return candidate;
  }

  /**
   * Uploads the pod spec Cedana rebuilds the pod from, retried a few times within this reconcile.
   * Still failing: the status says so (SpecUploaded False, UploadPending) and polling goes on; the
   * upload is bookkeeping for the restore, not a reason to hold the checkpoint back.
   */
  private async upload(pc: PodCheckpoint, pod: Pod | undefined, log: Logger, signal: AbortSignal): Promise<{ pc: PodCheckpoint; pending: boolean }> {
    const actionId = pc.status?.actionId ?? '';
    if (!pod || pod.metadata.uid !== pc.status?.podUID) {
      return { pc: this.setUploadCondition(pc, 'False', 'PodGone', 'The pod is gone; its spec could not be uploaded to Cedana'), pending: false };
    }
    const claims = (pod.spec.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
    const { name, namespace, labels, annotations, ownerReferences } = pod.metadata;
    let lastError = '';
    for (let attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++) {
      try {
        await this.ctx.cedana.uploadPodSpec(
          {
            action_id: actionId,
            status: pc.status?.cedanaStatus ?? 'initialized',
            pod_id: pod.metadata.uid ?? null,
            pod_spec: pod.spec,
            pod_metadata_spec: { name, namespace, labels, annotations, ownerReferences },
            persistent_volume_claim: claims,
          },
          { signal },
        );
        log.debug({ actionId, claims: claims.length }, 'pod spec uploaded');
        return { pc: this.setUploadCondition(pc, 'True', R.Uploaded, 'Pod spec, metadata and claims uploaded to Cedana'), pending: false };
      } catch (err) {
        const t = triage(err);
        if (t.kind === 'permanent') {
          log.warn({ err, actionId }, 'Cedana rejected the pod spec upload');
          return { pc: this.setUploadCondition(pc, 'False', R.UploadRejected, t.message), pending: false };
        }
        lastError = t.message;
        if (signal.aborted || attempt === UPLOAD_ATTEMPTS) break;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt).unref());
      }
    }
    log.warn({ actionId, error: lastError }, 'pod spec upload still failing; polling goes on, the upload is retried');
    return { pc: this.setUploadCondition(pc, 'False', 'UploadPending', `Uploading the pod spec keeps failing, retrying: ${lastError}`), pending: true };
  }

  /** A Ready checkpoint whose upload was still pending: retry it while the pod is there. */
  private async finishUpload(pc: PodCheckpoint, log: Logger, signal: AbortSignal): Promise<ReconcileResult | undefined> {
    if (findCondition(pc.status?.conditions, C.SpecUploaded)?.reason !== 'UploadPending') return undefined;
    const uploaded = await this.upload(pc, await this.readPod(pc, signal), log, signal);
    if (uploaded.pc !== pc) await this.write(uploaded.pc, {}, []);
    return uploaded.pending ? { requeueAfterMs: this.ctx.config.pollIntervalMax } : undefined;
  }

  /** Staged: the caller's next write carries it. The same object back when nothing changed. */
  private setUploadCondition(pc: PodCheckpoint, status: 'True' | 'False', reason: string, message: string): PodCheckpoint {
    const known = findCondition(pc.status?.conditions, C.SpecUploaded);
    if (known?.status === status && known.reason === reason && known.message === message) return pc;
    return stageStatus<PodCheckpointStatus, PodCheckpoint>(pc, {}, [condition(C.SpecUploaded, status, reason, message)]);
  }

  private async poll(pc: PodCheckpoint, o: { staged: boolean; uploadPending: boolean }, log: Logger, signal: AbortSignal): Promise<ReconcileResult | undefined> {
    const status = pc.status ?? {};
    // A failing poll writes what was staged (the action id) with the reason it waits.
    const outcome = await this.lifecycle.poll(pc, status.actionId ?? '', R.CheckpointFailed, log, signal, { staged: o.staged });
    if (outcome.kind === 'failed' || outcome.kind === 'unknown') return undefined; // unknown: only restores ask for it
    if (outcome.kind === 'ready') {
      await this.ready(pc, log);
      return o.uploadPending ? { requeueAfterMs: this.ctx.config.pollInterval } : undefined;
    }
    // Progress is written when the phase moves; Cedana's finer steps only on checkpoints users made
    // (on the termination path every write counts).
    const moved = status.phase !== 'Checkpointing' || (status.cedanaStatus !== outcome.status && !isOperatorCheckpoint(pc));
    const recovered = waitsOnCedana(status.conditions);
    if (o.staged || moved || recovered) {
      await this.write(
        pc,
        { phase: 'Checkpointing', cedanaStatus: outcome.status, message: `Cedana: ${outcome.status}` },
        recovered ? [condition(C.Ready, 'False', R.Checkpointing, 'Waiting for Cedana')] : [],
      );
    }
    const delay = pollDelay(status.submittedAt, this.ctx.config.pollInterval, this.ctx.config.pollIntervalMax);
    // A pending upload comes back sooner than a slow poll would.
    return { requeueAfterMs: o.uploadPending ? Math.min(delay, 1_000) : delay };
  }

  private async ready(pc: PodCheckpoint, log: Logger): Promise<void> {
    const actionId = pc.status?.actionId ?? '';
    const checkpointId = (await this.ctx.actions.find(actionId))?.checkpoint_id;
    await this.write(pc, { phase: 'Ready', cedanaStatus: 'ready', completedAt: nowIso(), message: 'Checkpoint ready', ...(checkpointId ? { checkpointId } : {}) }, [
      condition(C.Ready, 'True', R.CheckpointReady, `Cedana checkpoint ${checkpointId ?? '(id unknown)'} is ready`),
    ]);
    log.info({ actionId, checkpointId }, 'checkpoint ready');
    this.ctx.events.record(pc, 'Normal', 'Ready', `Checkpoint of pod ${pc.spec.podName} is ready`);
  }

  /** The pod from the (compact) cache, or from the apiserver: the pod watch may lag a pod created a moment ago. */
  private async findPod(pc: PodCheckpoint, signal: AbortSignal): Promise<Pod | undefined> {
    const cached = this.pods.get(`${pc.metadata.namespace ?? 'default'}/${pc.spec.podName}`);
    return cached ?? this.readPod(pc, signal);
  }

  /** The whole pod, from the apiserver: the cache keeps only what the controllers read, Cedana needs the spec. */
  private async readPod(pc: PodCheckpoint, signal: AbortSignal): Promise<Pod | undefined> {
    const namespace = pc.metadata.namespace ?? 'default';
    let raw: unknown;
    try {
      raw = await this.ctx.kube.get(paths.pod(namespace, pc.spec.podName), signal);
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
    // A path trick (a name admission let through before its rule existed) can answer with another kind.
    const parsed = Pod.safeParse(raw);
    if (!parsed.success) throw new NotAPod(`reading pod ${namespace}/${pc.spec.podName} did not return a pod: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return parsed.data;
  }

  private overrides(pc: PodCheckpoint) {
    const o = pc.spec.overrides;
    if (!o) return null;
    return {
      ...(o.asynchronous !== undefined ? { asynchronous: o.asynchronous } : {}),
      ...(o.compression !== undefined ? { compression: o.compression } : {}),
      ...(o.criuOpts !== undefined ? { criu_opts: o.criuOpts } : {}),
      ...(o.directory !== undefined ? { directory: o.directory } : {}),
      ...(o.streams !== undefined ? { streams: o.streams } : {}),
    };
  }

  private write(pc: PodCheckpoint, changes: Partial<PodCheckpointStatus>, conditions: ConditionInput[]): Promise<PodCheckpoint> {
    return writeStatus(this.ctx.objects, PLURAL, pc, changes, conditions, (raw) => PodCheckpoint.parse(raw));
  }

  private ref(pc: PodCheckpoint) {
    return { plural: PLURAL, namespace: pc.metadata.namespace ?? 'default', name: pc.metadata.name };
  }
}
