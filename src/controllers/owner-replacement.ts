// Restores that work with the pod's owner (PodRestore spec.mode OwnerReplacement). Run by the
// PodRestore controller (podrestore.ts), which is triggered for these by a pod of the owner
// created or deleted (restoresByOwnerUID) besides its own triggers.
//
// A Deployment, StatefulSet or Job replaces an evicted pod at once; a second, restored pod beside
// it fights the owner. So the operator posts nothing: Cedana's declarative restore starts the
// owner's own replacement from the newest Ready checkpoint named by its CEDANA_CHECKPOINT. Here we
// find that replacement (same controller owner uid; for a StatefulSet the same name, for an indexed
// Job the same completion index; the same CEDANA_CHECKPOINT value; created after the evacuation
// began), then Cedana's restore of it (from_pod of its uid answering a restore action, or a
// restore action of our checkpoint in the listing created with it), and say which pod started from
// which checkpoint. A replacement Cedana did not restore within --restored-pod-timeout is reported
// (ReplacementNotRestored); one its owner deleted is dropped for the next, within the same bound.
import type { Logger } from 'pino';
import { completionIndexOf, controllerOf, declaredCheckpoint } from '../api/checkpoint-name.ts';
import { RESTORE_CONDITIONS as C, RESTORE_REASONS as R } from '../api/conditions.ts';
import { PodRestores, Pods, type PodRestoreStore, type PodStore } from '../api/kinds.ts';
import type { Pod } from '../api/pod.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import type { PodRestore, PodRestoreStatus } from '../api/podrestore.ts';
import { actionOutcome, isPodRestoreAction } from '../cedana/actions.ts';
import type { Action } from '../cedana/schemas.ts';
import { defineIndex } from '../kube/cache.ts';
import { condition, findCondition, type ConditionInput } from '../kube/conditions.ts';
import type { ReconcileResult } from '../kube/controller.ts';
import type { OperatorContext } from './context.ts';
import { nowIso, pollDelay } from './reconcile-kit.ts';

/**
 * creationTimestamp has whole seconds (the apiserver's clock), action_timestamp Cedana's clock: a
 * pod or an action this much earlier than the bound still counts. Tighter than reconcile-kit's
 * SKEW_MS: an older sibling of a ReplicaSet is seconds, not minutes, older.
 */
const CLOCK_SLACK_MS = 2_000;

/** On an evacuation PodCheckpoint, from its pod at creation: what a replacement must match once the pod is gone. */
export const IDENTITY = {
  ownerAPIVersion: 'cedana.ai/owner-api-version',
  ownerKind: 'cedana.ai/owner-kind',
  ownerName: 'cedana.ai/owner-name',
  ownerUID: 'cedana.ai/owner-uid',
  checkpointName: 'cedana.ai/checkpoint-name',
  completionIndex: 'cedana.ai/job-completion-index',
} as const;

/** The pod's owner, CEDANA_CHECKPOINT value and completion index, as annotations (none for a bare pod). */
export function identityAnnotations(pod: Pod): Record<string, string> {
  const owner = controllerOf(pod);
  if (!owner) return {};
  const { name } = declaredCheckpoint(pod);
  const index = owner.kind === 'Job' ? completionIndexOf(pod) : undefined;
  return {
    [IDENTITY.ownerAPIVersion]: owner.apiVersion,
    [IDENTITY.ownerKind]: owner.kind,
    [IDENTITY.ownerName]: owner.name,
    [IDENTITY.ownerUID]: owner.uid,
    ...(name !== null ? { [IDENTITY.checkpointName]: name } : {}),
    ...(index !== undefined ? { [IDENTITY.completionIndex]: index } : {}),
  };
}

/** The OwnerReplacement part of a PodRestore spec, from an evacuation checkpoint's annotations; undefined for a bare pod. */
export function ownerReplacementSpec(pc: PodCheckpoint, podUID: string) {
  const a = pc.metadata.annotations ?? {};
  const kind = a[IDENTITY.ownerKind];
  const name = a[IDENTITY.ownerName];
  const uid = a[IDENTITY.ownerUID];
  if (!kind || !name || !uid || !podUID) return undefined;
  const checkpointName = a[IDENTITY.checkpointName];
  const index = a[IDENTITY.completionIndex];
  return {
    mode: 'OwnerReplacement' as const,
    ...(checkpointName !== undefined ? { checkpointName } : {}),
    owner: { ...(a[IDENTITY.ownerAPIVersion] ? { apiVersion: a[IDENTITY.ownerAPIVersion] } : {}), kind, name, uid },
    originalPod: { name: pc.spec.podName, uid: podUID, ...(index !== undefined ? { completionIndex: index } : {}) },
  };
}

/**
 * A protected pod whose restore would be its owner's replacement (restore mode not NewPod), but
 * which names no checkpoint: the replacement would start from scratch. Said on the pod (a Warning
 * Event) and on its policy (DeclarativeRestoreReady=False).
 */
export function lacksCheckpointName(pod: Pod, mode: 'Auto' | 'NewPod' | 'OwnerReplacement' | undefined): boolean {
  return mode !== 'NewPod' && controllerOf(pod) !== undefined && declaredCheckpoint(pod).name === null;
}

export function missingCheckpointNameMessage(pod: Pod): string {
  const owner = controllerOf(pod);
  return `pod ${pod.metadata.name} is protected and owned by ${owner?.kind ?? 'a controller'} ${owner?.name ?? ''}, but no container sets CEDANA_CHECKPOINT: after an evacuation its owner's replacement starts from scratch. Set CEDANA_CHECKPOINT in the pod template to a value stable for the workload (README, "Pods with an owner")`;
}

/** Pods by their controller owner's uid: the candidates for an owner's replacement. */
export const podsByControllerUID = defineIndex(Pods, 'controllerUID', (p) => {
  const o = controllerOf(p);
  return o ? [o.uid] : [];
});

/** OwnerReplacement PodRestores by the owner whose replacement they wait for. */
export const restoresByOwnerUID = defineIndex(PodRestores, 'ownerUID', (r) => (r.spec.mode === 'OwnerReplacement' && r.spec.owner ? [r.spec.owner.uid] : []));

const ms = (t: string | Date | undefined): number => (t === undefined ? NaN : t instanceof Date ? t.getTime() : Date.parse(t));

export interface OwnerReplacementDeps {
  write(pr: PodRestore, changes: Partial<PodRestoreStatus>, conditions: ConditionInput[]): Promise<PodRestore>;
  fail(pr: PodRestore, reason: string, message: string, log: Logger, extra?: Partial<PodRestoreStatus>): Promise<unknown>;
}

type Found = { action: Action } | undefined;

export class OwnerReplacementRestore {
  private readonly ctx: OperatorContext;
  private readonly pods: PodStore;
  private readonly restores: PodRestoreStore;
  private readonly deps: OwnerReplacementDeps;

  constructor(ctx: OperatorContext, pods: PodStore, restores: PodRestoreStore, deps: OwnerReplacementDeps) {
    this.ctx = ctx;
    this.pods = pods;
    this.restores = restores;
    this.deps = deps;
  }

  /** The replacements of the original pod, oldest first: same owner, same identity, same checkpoint name, made after the evacuation began. */
  candidates(pr: PodRestore, pc: PodCheckpoint | undefined): Pod[] {
    const { owner, originalPod, checkpointName } = pr.spec;
    if (!owner || !originalPod) return [];
    const namespace = pr.metadata.namespace ?? 'default';
    // A pod made before the evacuation checkpoint was asked for is an older sibling, not a replacement.
    const notBefore = ms(pc?.metadata.creationTimestamp ?? pr.metadata.creationTimestamp) - CLOCK_SLACK_MS;
    return this.pods
      .byIndex(podsByControllerUID, owner.uid)
      .filter((p) => (p.metadata.namespace ?? 'default') === namespace && p.metadata.uid !== originalPod.uid && !p.metadata.deletionTimestamp)
      .filter((p) => (owner.kind === 'StatefulSet' ? p.metadata.name === originalPod.name : true))
      .filter((p) => (originalPod.completionIndex !== undefined ? completionIndexOf(p) === originalPod.completionIndex : true))
      .filter((p) => declaredCheckpoint(p).name === checkpointName)
      .filter((p) => !(ms(p.metadata.creationTimestamp) < notBefore))
      .sort((a, b) => ms(a.metadata.creationTimestamp) - ms(b.metadata.creationTimestamp));
  }

  async reconcile(pr: PodRestore, pc: PodCheckpoint | undefined, checkpointActionId: string, log: Logger, signal: AbortSignal): Promise<ReconcileResult | undefined> {
    const { owner, originalPod, checkpointName } = pr.spec;
    if (!owner || !originalPod) return undefined; // the CRD's rule makes this impossible
    const ownerText = `${owner.kind} ${owner.name}`;
    const timeoutS = Math.round(this.ctx.config.restoredPodTimeout / 1000);
    if (checkpointName === undefined) {
      await this.deps.fail(
        pr,
        R.MissingCheckpointName,
        `pod ${originalPod.name} had no CEDANA_CHECKPOINT: ${ownerText} replaces it, and Cedana cannot start the replacement from the checkpoint; set CEDANA_CHECKPOINT in the pod template (see the README, "Pods with an owner")`,
        log,
      );
      return undefined;
    }
    const status = pr.status ?? {};
    const poll = {
      requeueAfterMs: pollDelay(
        status.waitingSince ?? (pr.metadata.creationTimestamp ? new Date(pr.metadata.creationTimestamp).toISOString() : undefined),
        this.ctx.config.pollInterval,
        this.ctx.config.pollIntervalMax,
      ),
    };
    const candidates = this.candidates(pr, pc);
    const followed = status.restoredPod?.uid;
    let dropped: string | undefined;
    if (followed && !candidates.some((p) => p.metadata.uid === followed)) {
      // Its owner deleted it (or it is terminating): the next replacement is the one to follow.
      dropped = status.restoredPod?.name;
      this.ctx.events.record(pr, 'Normal', 'ReplacementGone', `Replacement pod ${dropped ?? followed} is gone; looking for the next one ${ownerText} makes`);
    }

    const checkpointId = pc?.status?.checkpointId ?? (checkpointActionId ? (await this.ctx.actions.find(checkpointActionId))?.checkpoint_id : undefined);
    for (const pod of candidates) {
      const found = await this.restoreOf(pr, pod, checkpointId, signal);
      if (found) return this.follow(pr, pod, found.action, checkpointId, log);
    }

    const newest = candidates.at(-1);
    if (!newest) {
      const since = dropped || !status.waitingSince ? nowIso() : status.waitingSince;
      const sinceMs = Math.max(ms(since), ms(pr.metadata.creationTimestamp));
      if (Date.now() - sinceMs > this.ctx.config.restoredPodTimeout) {
        await this.deps.fail(
          pr,
          R.ReplacementNotFound,
          `${ownerText} made no replacement of pod ${originalPod.name} with CEDANA_CHECKPOINT=${checkpointName} within ${String(timeoutS)}s (--restored-pod-timeout)`,
          log,
        );
        return undefined;
      }
      const message = `Waiting for ${ownerText} to replace pod ${originalPod.name} (CEDANA_CHECKPOINT=${checkpointName})${dropped ? `; replacement ${dropped} is gone` : ''}`;
      if (status.message !== message || !status.waitingSince) {
        await this.deps.write(pr, { phase: 'Pending', message, waitingSince: since, checkpointName, ...(dropped ? { restoredPod: null as never } : {}) }, [
          condition(C.Ready, 'False', R.WaitingForReplacement, message),
        ]);
      }
      return poll;
    }

    // A replacement exists, and Cedana has not restored it (yet).
    const created = ms(newest.metadata.creationTimestamp);
    if (Date.now() - created > this.ctx.config.restoredPodTimeout) {
      await this.deps.fail(
        pr,
        R.ReplacementNotRestored,
        `replacement pod ${newest.metadata.name} of ${ownerText} started without the checkpoint: Cedana did not restore it from a checkpoint named ${checkpointName} within ${String(timeoutS)}s (--restored-pod-timeout)`,
        log,
        { restoredPod: podRef(newest), checkpointName },
      );
      return undefined;
    }
    const message = `Replacement pod ${newest.metadata.name} of ${ownerText} created; waiting for Cedana to restore it from the checkpoint named ${checkpointName}`;
    if (status.restoredPod?.uid !== newest.metadata.uid || status.message !== message) {
      pr = await this.deps.write(pr, { phase: 'Restoring', restoredPod: podRef(newest), checkpointName, message, ...(checkpointActionId ? { checkpointActionId } : {}) }, [
        condition(C.Ready, 'False', R.WaitingForCedanaRestore, message),
      ]);
      this.ctx.events.record(pr, 'Normal', 'ReplacementFound', `Replacement pod ${newest.metadata.name} of ${ownerText}`);
    }
    return poll;
  }

  /** Cedana's restore of this pod: from_pod of its uid (the service's latest action of the pod), else a restore of our checkpoint made with it. */
  private async restoreOf(pr: PodRestore, pod: Pod, checkpointId: string | undefined, signal: AbortSignal): Promise<Found> {
    const uid = pod.metadata.uid ?? '';
    const latest = uid ? await this.ctx.cedana.latestPodAction(uid, { signal }) : undefined;
    if (latest) {
      const a = await this.ctx.actions.find(latest);
      if (a && isPodRestoreAction(a)) return { action: a };
    }
    if (!checkpointId) return undefined;
    // from_pod may answer a later heartbeat: the listing still has the restore, made with the pod, of our checkpoint.
    const claimed = new Set(this.restores.list().flatMap((o) => (o.metadata.uid !== pr.metadata.uid && o.status?.restoreActionId ? [o.status.restoreActionId] : [])));
    const created = ms(pod.metadata.creationTimestamp);
    const listed = (await this.ctx.actions.ofKind('restore'))
      .filter((a) => a.checkpoint_id === checkpointId && !claimed.has(a.action_id) && ms(a.action_timestamp ?? undefined) >= created - CLOCK_SLACK_MS)
      .sort((a, b) => ms(a.action_timestamp ?? undefined) - ms(b.action_timestamp ?? undefined));
    const first = listed[0];
    return first ? { action: first } : undefined;
  }

  private async follow(pr: PodRestore, pod: Pod, action: Action, checkpointId: string | undefined, log: Logger): Promise<ReconcileResult | undefined> {
    const { owner, checkpointName } = pr.spec;
    const ownerText = owner ? `${owner.kind} ${owner.name}` : 'its owner';
    const from = action.checkpoint_id === checkpointId ? `the evacuation checkpoint ${action.checkpoint_id}` : `checkpoint ${action.checkpoint_id}`;
    const base = {
      restoredPod: podRef(pod),
      restoreActionId: action.action_id,
      checkpointId: action.checkpoint_id,
      ...(checkpointName !== undefined ? { checkpointName } : {}),
      cedanaStatus: action.status,
    };
    switch (actionOutcome(action.status)) {
      case 'failed':
        await this.deps.fail(pr, R.RestoreFailed, `Cedana's restore of replacement pod ${pod.metadata.name} from ${from} failed: ${JSON.stringify(action.details ?? action.status)}`, log, base);
        return undefined;
      case 'running': {
        const message = `Cedana is restoring replacement pod ${pod.metadata.name} of ${ownerText} from ${from} (${action.status})`;
        if (pr.status?.message !== message) {
          await this.deps.write(pr, { phase: 'Restoring', ...base, submittedAt: pr.status?.submittedAt ?? nowIso(), message }, [
            condition(C.Submitted, 'True', 'DeclarativeRestore', `Cedana action ${action.action_id}`),
            condition(C.Ready, 'False', R.Restoring, message),
          ]);
        }
        return { requeueAfterMs: pollDelay(pr.status?.submittedAt, this.ctx.config.pollInterval, this.ctx.config.pollIntervalMax) };
      }
      case 'done': {
        const message = `Replacement pod ${pod.metadata.name} of ${ownerText} started from ${from} (CEDANA_CHECKPOINT=${checkpointName ?? ''})`;
        await this.deps.write(pr, { phase: 'Succeeded', ...base, completedAt: nowIso(), message }, [
          condition(C.Submitted, 'True', 'DeclarativeRestore', `Cedana action ${action.action_id}`),
          ...(findCondition(pr.status?.conditions, C.Restored)?.status === 'True' ? [] : [condition(C.Restored, 'True', R.CedanaReady, 'Cedana reports the restore as done')]),
          condition(C.Ready, 'True', R.Restored, message),
        ]);
        log.info({ pod: pod.metadata.name, checkpointId: action.checkpoint_id, restoreActionId: action.action_id }, 'owner replacement restored');
        this.ctx.events.record(pr, 'Normal', 'Restored', message);
        return undefined;
      }
    }
  }
}

const podRef = (pod: Pod) => ({ name: pod.metadata.name, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}), ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}) });
