// PodRestore reconciler: resolve the checkpoint action, submit the restore exactly once (the same
// intent-then-lookup guard as checkpoints), poll the restore action, then find the restored pod.
import type { Logger } from 'pino';
import type { CedanaClient } from '../cedana/client.ts';
import { PodRestore, type PodRestoreStatus } from '../api/podrestore.ts';
import { isJsonObjectString, type PodCheckpoint } from '../api/podcheckpoint.ts';
import { RESTORE_ACTION_LABEL, type Pod } from '../api/pod.ts';
import type { Store } from '../kube/informer.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { EventRecorder } from '../kube/events.ts';
import { condition, findCondition, type ConditionInput } from '../kube/conditions.ts';
import type { ReconcileResult } from '../kube/workqueue.ts';
import type { Metrics } from '../metrics.ts';
import type { ActionDirectory } from './action-directory.ts';
import { SKEW_MS, nowIso, pollDelay, reconcileLogger, triage, writeStatus } from './reconcile-kit.ts';

const PLURAL = 'podrestores';

export interface PodRestoreDeps {
  cedana: CedanaClient;
  objects: CustomObjects;
  events: EventRecorder;
  restores: Store<PodRestore>;
  checkpoints: Store<PodCheckpoint>;
  pods: Store<Pod>;
  actions: ActionDirectory;
  clusterId: string;
  pollIntervalMs: number;
  pollIntervalMaxMs: number;
  restoredPodTimeoutMs: number;
  metrics: Metrics;
  log: Logger;
}

type Step = { changes: Partial<PodRestoreStatus>; conditions: ConditionInput[] };

/** Where the checkpoint to restore comes from, or why we cannot tell yet. */
type Source =
  | { kind: 'action'; actionId: string; podName: string | undefined }
  | { kind: 'wait'; reason: string; message: string }
  | { kind: 'fail'; reason: string; message: string };

export class PodRestoreController {
  private readonly d: PodRestoreDeps;
  constructor(deps: PodRestoreDeps) {
    this.d = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const cached = this.d.restores.get(key);
    if (!cached || cached.metadata.deletionTimestamp) return undefined; // nothing to clean up in Cedana
    let pr = cached;
    const phase = pr.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return undefined;
    const log = reconcileLogger(this.d.log, 'podrestore', pr.metadata.namespace ?? '', pr.metadata.name);

    if (pr.spec.criuOpts !== undefined && !isJsonObjectString(pr.spec.criuOpts)) {
      await this.fail(pr, 'InvalidSpec', 'spec.criuOpts must be a JSON object string', log);
      return undefined;
    }

    const source = this.source(pr);
    if (source.kind === 'fail') {
      await this.fail(pr, source.reason, source.message, log);
      return undefined;
    }
    if (source.kind === 'wait') {
      if (findCondition(pr.status?.conditions, 'Ready')?.reason !== source.reason) {
        await this.write(pr, { changes: { phase: 'Pending', message: source.message }, conditions: [condition('Ready', 'False', source.reason, source.message)] });
      }
      // A checkpoint becoming Ready enqueues this restore at once; this is only a safety net.
      return { requeueAfterMs: pollDelay(pr.metadata.creationTimestamp ? new Date(pr.metadata.creationTimestamp).toISOString() : undefined, 2_000, 30_000) };
    }

    if (!pr.status?.restoreActionId) {
      const next = await this.submit(pr, source.actionId, log);
      if (!next) return undefined;
      pr = next;
    }
    return this.poll(pr, source.podName, log);
  }

  private source(pr: PodRestore): Source {
    if (pr.spec.actionId) return { kind: 'action', actionId: pr.spec.actionId, podName: undefined };
    const name = pr.spec.checkpointRef?.name ?? '';
    const pc = this.d.checkpoints.get(`${pr.metadata.namespace ?? 'default'}/${name}`);
    if (!pc) {
      // Already submitted: the checkpoint object may be gone (retention), the action is known.
      if (pr.status?.checkpointActionId) return { kind: 'action', actionId: pr.status.checkpointActionId, podName: undefined };
      return { kind: 'wait', reason: 'CheckpointNotFound', message: `PodCheckpoint ${name} does not exist (yet)` };
    }
    switch (pc.status?.phase) {
      case 'Ready':
        return { kind: 'action', actionId: pc.status.actionId ?? '', podName: pc.spec.podName };
      case 'Failed':
        return { kind: 'fail', reason: 'CheckpointFailed', message: `PodCheckpoint ${name} failed: ${pc.status.message ?? 'no message'}` };
      default:
        return { kind: 'wait', reason: 'WaitingForCheckpoint', message: `PodCheckpoint ${name} is not Ready yet` };
    }
  }

  private async submit(pr: PodRestore, checkpointActionId: string, log: Logger): Promise<PodRestore | undefined> {
    let restoreActionId = pr.status?.submitStartedAt ? await this.recoverLostSubmission(pr, checkpointActionId, log) : undefined;
    if (!restoreActionId) {
      pr = await this.write(pr, {
        changes: { phase: 'Pending', checkpointActionId, submitStartedAt: nowIso() },
        conditions: [condition('Submitted', 'Unknown', 'Submitting', 'Sending the restore request to Cedana')],
      });
      const overrides = {
        ...(pr.spec.podName ? { pod_name: pr.spec.podName } : {}),
        ...(pr.spec.criuOpts ? { criu_opts: pr.spec.criuOpts } : {}),
      };
      try {
        restoreActionId = await this.d.cedana.restorePod({
          action_id: checkpointActionId,
          cluster_id: this.d.clusterId,
          reason: pr.spec.reason,
          overrides: Object.keys(overrides).length > 0 ? overrides : null,
        });
      } catch (err) {
        const t = triage(err);
        if (t.kind === 'permanent') {
          await this.fail(pr, 'CedanaRejected', `Cedana rejected the restore: ${t.message}`, log);
          return undefined;
        }
        await this.write(pr, { changes: { message: t.message }, conditions: [condition('Submitted', 'Unknown', 'CedanaUnavailable', t.message)] });
        throw err;
      }
    }
    log.info({ restoreActionId, checkpointActionId }, 'restore submitted to Cedana');
    this.d.events.record(this.target(pr), 'Normal', 'Submitted', `Restore submitted to Cedana (action ${restoreActionId})`);
    return this.write(pr, {
      changes: { phase: 'Restoring', checkpointActionId, restoreActionId, submittedAt: nowIso(), cedanaStatus: 'initialized', message: 'Submitted to Cedana' },
      conditions: [condition('Submitted', 'True', 'Submitted', `Cedana action ${restoreActionId}`), condition('Ready', 'False', 'Restoring', 'Waiting for Cedana')],
    });
  }

  /** A restore action of the same checkpoint, created after our intent and claimed by no other PodRestore. */
  private async recoverLostSubmission(pr: PodRestore, checkpointActionId: string, log: Logger): Promise<string | undefined> {
    const checkpointAction = await this.d.actions.find(checkpointActionId, 'checkpoint');
    if (!checkpointAction) return undefined;
    const startedAt = Date.parse(pr.status?.submitStartedAt ?? '');
    const claimed = new Set(this.d.restores.list().flatMap((o) => (o.metadata.uid !== pr.metadata.uid && o.status?.restoreActionId ? [o.status.restoreActionId] : [])));
    const candidates = (await this.d.actions.all('restore'))
      .filter((a) => a.checkpoint_id === checkpointAction.checkpoint_id && !claimed.has(a.action_id))
      .filter((a) => !a.action_timestamp || Date.parse(a.action_timestamp) >= startedAt - SKEW_MS)
      .sort((a, b) => Date.parse(b.action_timestamp ?? '') - Date.parse(a.action_timestamp ?? ''));
    const found = candidates[0]?.action_id;
    if (found) log.info({ restoreActionId: found }, 'adopted a restore action whose answer was lost');
    return found;
  }

  private async poll(pr: PodRestore, originalPodName: string | undefined, log: Logger): Promise<ReconcileResult | undefined> {
    const status = pr.status ?? {};
    const restoreActionId = status.restoreActionId ?? '';
    const again = { requeueAfterMs: pollDelay(status.submittedAt, this.d.pollIntervalMs, this.d.pollIntervalMaxMs) };
    if (status.cedanaStatus !== 'ready') {
      let answer;
      try {
        answer = await this.d.cedana.getCheckpointStatus(restoreActionId);
      } catch (err) {
        const t = triage(err);
        if (t.kind === 'permanent') {
          await this.fail(pr, 'ActionNotFound', `Cedana does not know restore action ${restoreActionId}: ${t.message}`, log);
          return undefined;
        }
        throw err;
      }
      if (answer.status === 'error' || answer.status === 'not_found') {
        this.observe(status.submittedAt, 'error');
        await this.fail(pr, 'RestoreFailed', `Cedana reported ${answer.status}${answer.details ? `: ${answer.details}` : ''}`, log, { cedanaStatus: answer.status });
        return undefined;
      }
      if (answer.status !== 'ready') {
        if (status.cedanaStatus !== answer.status) await this.write(pr, { changes: { cedanaStatus: answer.status, message: `Cedana: ${answer.status}` }, conditions: [] });
        return again;
      }
      this.observe(status.submittedAt, 'ready');
      pr = await this.write(pr, {
        changes: { cedanaStatus: 'ready', message: 'Cedana restored the pod; looking for it' },
        conditions: [condition('Restored', 'True', 'CedanaReady', 'Cedana reports the restore as done')],
      });
    }

    const pod = this.restoredPod(pr, originalPodName);
    if (!pod) {
      const since = findCondition(pr.status?.conditions, 'Restored')?.lastTransitionTime;
      if (since && Date.now() - Date.parse(since) > this.d.restoredPodTimeoutMs) {
        await this.fail(pr, 'RestoredPodNotFound', `Cedana reported the restore done, but no restored pod appeared within ${Math.round(this.d.restoredPodTimeoutMs / 1000)}s`, log);
        return undefined;
      }
      return { requeueAfterMs: this.d.pollIntervalMs };
    }
    const restoredPod = { name: pod.metadata.name, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}), ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}) };
    await this.write(pr, {
      changes: { phase: 'Succeeded', restoredPod, completedAt: nowIso(), message: `Restored as pod ${pod.metadata.name}` },
      conditions: [condition('Ready', 'True', 'Restored', `Restored as pod ${pod.metadata.name}${pod.spec.nodeName ? ` on ${pod.spec.nodeName}` : ''}`)],
    });
    log.info({ pod: pod.metadata.name, node: pod.spec.nodeName }, 'restore succeeded');
    this.d.events.record(this.target(pr), 'Normal', 'Restored', `Restored as pod ${pod.metadata.name}`);
    return undefined;
  }

  /** The pod labelled with the restore action, else the name Cedana gives it (override, or <pod>-restored). */
  private restoredPod(pr: PodRestore, originalPodName: string | undefined): Pod | undefined {
    const namespace = pr.metadata.namespace ?? 'default';
    const actionId = pr.status?.restoreActionId ?? '';
    const labelled = this.d.pods.byIndex('restoreAction', actionId).find((p) => p.metadata.namespace === namespace);
    if (labelled) return labelled;
    const name = pr.spec.podName ?? (originalPodName ? `${originalPodName}-restored` : undefined);
    const byName = name ? this.d.pods.get(`${namespace}/${name}`) : undefined;
    // A pod of that name that predates the restore is not the restored one.
    if (byName?.metadata.labels?.[RESTORE_ACTION_LABEL] !== undefined && byName.metadata.labels[RESTORE_ACTION_LABEL] !== actionId) return undefined;
    return byName;
  }

  private async fail(pr: PodRestore, reason: string, message: string, log: Logger, extra: Partial<PodRestoreStatus> = {}): Promise<void> {
    log.warn({ reason }, message);
    await this.write(pr, { changes: { phase: 'Failed', message, completedAt: nowIso(), ...extra }, conditions: [condition('Ready', 'False', reason, message)] });
    this.d.events.record(this.target(pr), 'Warning', reason, message);
  }

  private observe(submittedAt: string | undefined, result: string): void {
    if (submittedAt) this.d.metrics.actionDuration.observe({ type: 'restore', result }, (Date.now() - Date.parse(submittedAt)) / 1000);
  }

  private write(pr: PodRestore, step: Step): Promise<PodRestore> {
    return writeStatus(this.d.objects, PLURAL, pr, step.changes, step.conditions, (raw) => PodRestore.parse(raw));
  }

  private target(pr: PodRestore) {
    return { apiVersion: pr.apiVersion, kind: pr.kind, metadata: pr.metadata };
  }
}
