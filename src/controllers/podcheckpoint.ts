// PodCheckpoint reconciler, in controller-runtime's shape: get the object (gone: done), handle
// deletion (deprecate in Cedana, then drop the finalizer), ensure the finalizer, drive the
// checkpoint (submit, upload the pod spec, poll), and write status at every step.
import type { Logger } from 'pino';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { CedanaClient } from '../cedana/client.ts';
import { CHECKPOINT_FINALIZER, PodCheckpoint, isJsonObjectString, type PodCheckpointStatus } from '../api/podcheckpoint.ts';
import { Pod } from '../api/pod.ts';
import type { Store } from '../kube/informer.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { EventRecorder } from '../kube/events.ts';
import { statusCodeOf } from '../kube/clients.ts';
import { condition, findCondition, type ConditionInput } from '../kube/conditions.ts';
import type { ReconcileResult } from '../kube/workqueue.ts';
import type { Metrics } from '../metrics.ts';
import type { ActionDirectory } from './action-directory.ts';
import { SKEW_MS, nowIso, pollDelay, reconcileLogger, triage, writeStatus } from './reconcile-kit.ts';

const PLURAL = 'podcheckpoints';

export interface PodCheckpointDeps {
  cedana: CedanaClient;
  core: CoreV1Api;
  objects: CustomObjects;
  events: EventRecorder;
  checkpoints: Store<PodCheckpoint>;
  pods: Store<Pod>;
  actions: ActionDirectory;
  clusterId: string;
  pollIntervalMs: number;
  pollIntervalMaxMs: number;
  metrics: Metrics;
  log: Logger;
}

type Step = { changes: Partial<PodCheckpointStatus>; conditions: ConditionInput[] };

export class PodCheckpointController {
  private readonly d: PodCheckpointDeps;
  constructor(deps: PodCheckpointDeps) {
    this.d = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const cached = this.d.checkpoints.get(key);
    if (!cached) return undefined; // deleted: nothing to do
    let pc = cached;
    const log = reconcileLogger(this.d.log, 'podcheckpoint', pc.metadata.namespace ?? '', pc.metadata.name);

    if (pc.metadata.deletionTimestamp) {
      await this.finalize(pc, log);
      return undefined;
    }
    pc = await this.ensureFinalizer(pc);

    const phase = pc.status?.phase;
    if (phase === 'Ready' || phase === 'Failed') return undefined;

    const criuOpts = pc.spec.overrides?.criuOpts;
    if (criuOpts !== undefined && !isJsonObjectString(criuOpts)) {
      await this.fail(pc, 'InvalidSpec', `spec.overrides.criuOpts must be a JSON object string, got ${JSON.stringify(criuOpts.slice(0, 80))}`, log);
      return undefined;
    }

    if (!pc.status?.actionId) {
      const submitted = await this.submit(pc, log);
      if (!submitted) return undefined;
      pc = submitted.pc;
      if (submitted.pod) pc = await this.upload(pc, submitted.pod, log);
    } else if (findCondition(pc.status.conditions, 'SpecUploaded')?.status !== 'True') {
      const pod = await this.findPod(pc);
      if (pod?.metadata.uid === pc.status.podUID && pod) pc = await this.upload(pc, pod, log);
    }
    return this.poll(pc, log);
  }

  /** Deletion: deprecate the Cedana checkpoint if the policy says so, then let the object go. */
  private async finalize(pc: PodCheckpoint, log: Logger): Promise<void> {
    const finalizers = pc.metadata.finalizers ?? [];
    if (!finalizers.includes(CHECKPOINT_FINALIZER)) return;
    if (pc.spec.deletionPolicy === 'Deprecate' && pc.status?.actionId) {
      const checkpointId = pc.status.checkpointId ?? (await this.d.actions.find(pc.status.actionId, 'checkpoint'))?.checkpoint_id;
      if (checkpointId) {
        try {
          await this.d.cedana.deprecateCheckpoint(checkpointId);
          log.info({ checkpointId }, 'deprecated the Cedana checkpoint');
          this.d.events.record(this.target(pc), 'Normal', 'Deprecated', `Deprecated Cedana checkpoint ${checkpointId}`);
        } catch (err) {
          const t = triage(err);
          if (t.kind === 'transient') throw err;
          // A checkpoint Cedana no longer knows needs no deprecation: let the object go.
          log.warn({ err, checkpointId }, 'Cedana refused the deprecation; removing the finalizer anyway');
          this.d.events.record(this.target(pc), 'Warning', 'DeprecateFailed', `Cedana refused to deprecate ${checkpointId}: ${t.message}`);
        }
      }
    }
    await this.d.objects.setFinalizers(this.ref(pc), finalizers.filter((f) => f !== CHECKPOINT_FINALIZER), pc.metadata.resourceVersion);
  }

  /** Only deletionPolicy Deprecate needs Cedana work on delete, so only it carries the finalizer. */
  private async ensureFinalizer(pc: PodCheckpoint): Promise<PodCheckpoint> {
    const finalizers = pc.metadata.finalizers ?? [];
    const want = pc.spec.deletionPolicy === 'Deprecate';
    const has = finalizers.includes(CHECKPOINT_FINALIZER);
    if (want === has) return pc;
    const next = want ? [...finalizers, CHECKPOINT_FINALIZER] : finalizers.filter((f) => f !== CHECKPOINT_FINALIZER);
    return PodCheckpoint.parse(await this.d.objects.setFinalizers(this.ref(pc), next, pc.metadata.resourceVersion));
  }

  /**
   * POST /v2/checkpoint/pod exactly once. The intent is written first (submitStartedAt); if it is
   * already there, an earlier attempt may have reached Cedana with its answer lost, so the pod's
   * latest action is looked up and adopted before anything is sent again.
   */
  private async submit(pc: PodCheckpoint, log: Logger): Promise<{ pc: PodCheckpoint; pod: Pod | undefined } | undefined> {
    const pod = await this.findPod(pc);
    if (!pod?.metadata.uid) {
      await this.fail(pc, 'PodNotFound', `pod ${pc.metadata.namespace ?? ''}/${pc.spec.podName} not found`, log);
      return undefined;
    }
    const podUID = pod.metadata.uid;
    if (pc.status?.podUID && pc.status.podUID !== podUID) {
      await this.fail(pc, 'PodReplaced', `pod ${pc.spec.podName} was replaced (uid ${pc.status.podUID} → ${podUID}) before the checkpoint was submitted`, log);
      return undefined;
    }

    let actionId = pc.status?.submitStartedAt ? await this.recoverLostSubmission(pc, podUID, log) : undefined;
    if (!actionId) {
      pc = await this.write(pc, {
        changes: { phase: 'Pending', submitStartedAt: nowIso(), podUID, ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}) },
        conditions: [condition('Submitted', 'Unknown', 'Submitting', 'Sending the checkpoint request to Cedana')],
      });
      try {
        actionId = await this.d.cedana.checkpointPod({
          pod_name: pc.spec.podName,
          pod_id: podUID,
          namespace: pc.metadata.namespace ?? 'default',
          cluster_id: this.d.clusterId,
          kind: pc.spec.kind,
          reason: pc.spec.reason,
          overrides: this.overrides(pc),
        });
      } catch (err) {
        const t = triage(err);
        if (t.kind === 'permanent') {
          await this.fail(pc, 'CedanaRejected', `Cedana rejected the checkpoint: ${t.message}`, log);
          return undefined;
        }
        await this.write(pc, { changes: { message: t.message }, conditions: [condition('Submitted', 'Unknown', 'CedanaUnavailable', t.message)] });
        throw err; // requeued with backoff; the next try looks the action up first
      }
    }
    log.info({ actionId, podUID }, 'checkpoint submitted to Cedana');
    this.d.events.record(this.target(pc), 'Normal', 'Submitted', `Checkpoint of pod ${pc.spec.podName} submitted to Cedana (action ${actionId})`);
    pc = await this.write(pc, {
      changes: { phase: 'Submitted', actionId, submittedAt: nowIso(), cedanaStatus: 'initialized', message: 'Submitted to Cedana' },
      conditions: [condition('Submitted', 'True', 'Submitted', `Cedana action ${actionId}`), condition('Ready', 'False', 'Checkpointing', 'Waiting for Cedana')],
    });
    return { pc, pod };
  }

  /** The pod's latest action, if it is ours: unclaimed by any other PodCheckpoint and no older than our intent. */
  private async recoverLostSubmission(pc: PodCheckpoint, podUID: string, log: Logger): Promise<string | undefined> {
    const candidate = await this.d.cedana.latestPodAction(podUID);
    if (!candidate) return undefined;
    const claimed = this.d.checkpoints.byIndex('actionId', candidate).some((o) => o.metadata.uid !== pc.metadata.uid);
    if (claimed) return undefined;
    const action = await this.d.actions.find(candidate, 'checkpoint');
    const startedAt = Date.parse(pc.status?.submitStartedAt ?? '');
    const at = action?.action_timestamp ? Date.parse(action.action_timestamp) : undefined;
    if (at !== undefined && at < startedAt - SKEW_MS) return undefined;
    log.info({ actionId: candidate }, 'adopted a checkpoint action whose answer was lost');
    return candidate;
  }

  private async upload(pc: PodCheckpoint, pod: Pod, log: Logger): Promise<PodCheckpoint> {
    const actionId = pc.status?.actionId ?? '';
    const claims = (pod.spec.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
    const { name, namespace, labels, annotations, ownerReferences } = pod.metadata;
    try {
      await this.d.cedana.uploadPodSpec({
        action_id: actionId,
        status: pc.status?.cedanaStatus ?? 'initialized',
        pod_id: pod.metadata.uid ?? null,
        pod_spec: pod.spec,
        pod_metadata_spec: { name, namespace, labels, annotations, ownerReferences },
        persistent_volume_claim: claims,
      });
    } catch (err) {
      const t = triage(err);
      if (t.kind === 'transient') throw err;
      log.warn({ err, actionId }, 'Cedana rejected the pod spec upload');
      return this.write(pc, { changes: {}, conditions: [condition('SpecUploaded', 'False', 'UploadRejected', t.message)] });
    }
    log.debug({ actionId, claims: claims.length }, 'pod spec uploaded');
    return this.write(pc, { changes: {}, conditions: [condition('SpecUploaded', 'True', 'Uploaded', 'Pod spec, metadata and claims uploaded to Cedana')] });
  }

  private async poll(pc: PodCheckpoint, log: Logger): Promise<ReconcileResult | undefined> {
    const status = pc.status ?? {};
    const actionId = status.actionId ?? '';
    let answer;
    try {
      answer = await this.d.cedana.getCheckpointStatus(actionId);
    } catch (err) {
      const t = triage(err);
      if (t.kind === 'permanent') {
        await this.fail(pc, 'ActionNotFound', `Cedana does not know action ${actionId}: ${t.message}`, log);
        return undefined;
      }
      throw err;
    }
    const again = { requeueAfterMs: pollDelay(status.submittedAt, this.d.pollIntervalMs, this.d.pollIntervalMaxMs) };
    switch (answer.status) {
      case 'initialized':
      case 'processing':
      case 'checkpoint_created':
        if (status.cedanaStatus !== answer.status || status.phase !== 'Checkpointing') {
          await this.write(pc, { changes: { phase: 'Checkpointing', cedanaStatus: answer.status, message: `Cedana: ${answer.status}` }, conditions: [] });
        }
        return again;
      case 'ready':
        await this.ready(pc, log);
        return undefined;
      case 'error':
        this.observeDuration(status.submittedAt, 'error');
        await this.fail(pc, 'CheckpointFailed', `Cedana reported an error${answer.details ? `: ${answer.details}` : ''}`, log, { cedanaStatus: 'error' });
        return undefined;
      case 'not_found':
        await this.fail(pc, 'ActionNotFound', `Cedana reports action ${actionId} as not_found`, log, { cedanaStatus: 'not_found' });
        return undefined;
    }
  }

  private async ready(pc: PodCheckpoint, log: Logger): Promise<void> {
    const actionId = pc.status?.actionId ?? '';
    const checkpointId = (await this.d.actions.find(actionId, 'checkpoint'))?.checkpoint_id;
    let restorePath: string | undefined;
    try {
      restorePath = await this.d.cedana.getCheckpointPath(`${pc.metadata.namespace ?? 'default'}/${pc.spec.podName}`);
    } catch (err) {
      log.debug({ err }, 'no restore path known for this checkpoint');
    }
    this.observeDuration(pc.status?.submittedAt, 'ready');
    await this.write(pc, {
      changes: {
        phase: 'Ready',
        cedanaStatus: 'ready',
        completedAt: nowIso(),
        message: 'Checkpoint ready',
        ...(checkpointId ? { checkpointId } : {}),
        ...(restorePath ? { restorePath } : {}),
      },
      conditions: [condition('Ready', 'True', 'CheckpointReady', `Cedana checkpoint ${checkpointId ?? '(id unknown)'} is ready`)],
    });
    log.info({ actionId, checkpointId }, 'checkpoint ready');
    this.d.events.record(this.target(pc), 'Normal', 'Ready', `Checkpoint of pod ${pc.spec.podName} is ready`);
  }

  private async fail(pc: PodCheckpoint, reason: string, message: string, log: Logger, extra: Partial<PodCheckpointStatus> = {}): Promise<void> {
    log.warn({ reason }, message);
    await this.write(pc, {
      changes: { phase: 'Failed', message, completedAt: nowIso(), ...extra },
      conditions: [condition('Ready', 'False', reason, message)],
    });
    this.d.events.record(this.target(pc), 'Warning', reason, message);
  }

  private async findPod(pc: PodCheckpoint): Promise<Pod | undefined> {
    const namespace = pc.metadata.namespace ?? 'default';
    const cached = this.d.pods.get(`${namespace}/${pc.spec.podName}`);
    if (cached) return cached;
    // The pod watch may lag a pod created a moment ago: ask the apiserver before calling it missing.
    try {
      return Pod.parse(await this.d.core.readNamespacedPod({ name: pc.spec.podName, namespace }));
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
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

  private observeDuration(submittedAt: string | undefined, result: string): void {
    if (submittedAt) this.d.metrics.actionDuration.observe({ type: 'checkpoint', result }, (Date.now() - Date.parse(submittedAt)) / 1000);
  }

  private write(pc: PodCheckpoint, step: Step): Promise<PodCheckpoint> {
    return writeStatus(this.d.objects, PLURAL, pc, step.changes, step.conditions, (raw) => PodCheckpoint.parse(raw));
  }

  private ref(pc: PodCheckpoint) {
    return { plural: PLURAL, namespace: pc.metadata.namespace ?? 'default', name: pc.metadata.name };
  }

  private target(pc: PodCheckpoint) {
    return { apiVersion: pc.apiVersion, kind: pc.kind, metadata: pc.metadata };
  }
}
