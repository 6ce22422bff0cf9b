// One place that requests a pod's evacuation checkpoint, whatever the signal (a node going away, a
// pod-level DisruptionTarget, a soft autoscaler cue, an eviction). The name comes from the pod uid,
// so a second signal, a second replica or a restart finds it there and creates nothing.
//
// Two ways in. `requestEvacuationCheckpoint` creates the PodCheckpoint and leaves the Cedana POST to
// its reconciler (intent first, then the POST): safe from any replica, used by the eviction webhook.
// `Evacuator.submit` is the leader's fast path for a node going away: the Cedana POST goes out first,
// straight from the cache, and the PodCheckpoint records it (its action id in an annotation from
// creation), because during a spot notice only Cedana receiving the request saves work.
import type { Logger } from 'pino';
import { isPodCheckpointAction } from '../cedana/actions.ts';
import { PodCheckpoints, type PodCheckpointStore } from '../api/kinds.ts';
import { LABELS, NODE_ANNOTATION, RESTORE_REASON_ANNOTATION, type Pod } from '../api/pod.ts';
import { PodCheckpoint } from '../api/podcheckpoint.ts';
import { defineIndex } from '../kube/cache.ts';
import type { CustomObjects } from '../kube/custom-objects.ts';
import type { OperatorContext } from './context.ts';
import { ACTION_ANNOTATION, SUBMITTED_AT_ANNOTATION, derivedName, operatorCheckpoint, shortUid } from './owned-objects.ts';
import { identityAnnotations } from './owner-replacement.ts';
import type { ProtectionRule } from './protection.ts';
import { nowIso } from './reconcile-kit.ts';

export type RestoreReason = 'nodeTermination' | 'nodeUnschedulable' | 'manual';

export interface EvacuationRequest {
  /** 'evacuation' is restored once the pod leaves; 'early' (a soft cue) is never restored. */
  trigger: 'evacuation' | 'early';
  restoreReason: RestoreReason;
  nodeName: string | undefined;
}

/** An evacuation checkpoint is restored once its pod has left (EvacuationRestoreController). */
export const isEvacuationCheckpoint = (c: PodCheckpoint): boolean => c.metadata.labels?.[LABELS.trigger] === 'evacuation';

/** Evacuation checkpoints by the node their pod was leaving. */
export const evacuationCheckpointsByNode = defineIndex(PodCheckpoints, 'evacuationNode', (c) => {
  const node = c.metadata.annotations?.[NODE_ANNOTATION];
  return node && isEvacuationCheckpoint(c) ? [node] : [];
});

/** The deterministic name of a pod's evacuation (or early) checkpoint. */
export const evacuationCheckpointName = (pod: Pod, trigger: EvacuationRequest['trigger']): string =>
  derivedName(pod.metadata.name, `${trigger === 'early' ? 'early' : 'evac'}-${shortUid(pod.metadata.uid ?? '')}`);

const evacuationBody = (pod: Pod, rule: ProtectionRule, req: EvacuationRequest, annotations: Record<string, string>) =>
  operatorCheckpoint(
    pod,
    rule.policy,
    req.trigger,
    evacuationCheckpointName(pod, req.trigger),
    req.nodeName,
    { kind: rule.kind, reason: 'manual' },
    {
      ...annotations,
      // Who would replace the pod, and under which checkpoint name: read when the pod is gone.
      ...(req.trigger === 'evacuation' ? identityAnnotations(pod) : {}),
      ...(req.trigger === 'evacuation' ? { [RESTORE_REASON_ANNOTATION]: rule.restore ? req.restoreReason : 'none' } : {}),
    },
  );

/** Creates the pod's evacuation checkpoint; its reconciler submits it. */
export async function requestEvacuationCheckpoint(objects: CustomObjects, checkpoints: PodCheckpointStore, pod: Pod, rule: ProtectionRule, req: EvacuationRequest): Promise<'created' | 'exists'> {
  const namespace = pod.metadata.namespace ?? 'default';
  if (checkpoints.get(`${namespace}/${evacuationCheckpointName(pod, req.trigger)}`)) return 'exists';
  return objects.createIfAbsent('podcheckpoints', namespace, evacuationBody(pod, rule, req, {}));
}

/**
 * How far back an unclaimed checkpoint action of a pod counts as the one a predecessor posted
 * before it could record it: longer than a leader takeover (Lease 15 s) plus a restart and clock
 * skew, shorter than the heartbeat intervals worth keeping.
 */
export const RECOVERY_WINDOW_MS = 3 * 60_000;

export interface PostOptions {
  recovering: boolean;
  signal: AbortSignal;
  log: Logger;
}

/** The leader's fast path: POST first, then the PodCheckpoint that records it. */
export class Evacuator {
  private readonly ctx: OperatorContext;
  private readonly checkpoints: PodCheckpointStore;
  /** Posted by this process, not yet seen in the cache: a retry of the node creates, it does not post again. */
  private readonly posted = new Map<string, { actionId: string; at: string }>();
  /** Whether a PodCheckpoint already holds this action. */
  private readonly claimed: (actionId: string) => boolean;

  constructor(ctx: OperatorContext, checkpoints: PodCheckpointStore, claimed: (actionId: string) => boolean) {
    this.ctx = ctx;
    this.checkpoints = checkpoints;
    this.claimed = claimed;
  }

  /** POST, then record it: for one pod (a disruption). A node's pods post all first: post() then record(). */
  async submit(pod: Pod, rule: ProtectionRule, req: EvacuationRequest, o: PostOptions): Promise<'created' | 'exists'> {
    if ((await this.post(pod, rule, req, o)) === 'exists') return 'exists';
    return this.record(pod, rule, req);
  }

  /**
   * The Cedana POST for the pod, unless its PodCheckpoint exists or this process already posted.
   * `recovering`: a predecessor may have posted for this pod before it died (this replica has just
   * started leading and the signal was already there), so the pod's latest action is looked up and
   * adopted when it is an unclaimed checkpoint younger than RECOVERY_WINDOW_MS. A POST that fails is
   * left to the PodCheckpoint's reconciler (intent, then POST, then lookup): never an error here.
   */
  async post(pod: Pod, rule: ProtectionRule, req: EvacuationRequest, o: PostOptions): Promise<'posted' | 'exists' | 'left'> {
    const namespace = pod.metadata.namespace ?? 'default';
    const uid = pod.metadata.uid ?? '';
    if (this.checkpoints.get(`${namespace}/${evacuationCheckpointName(pod, req.trigger)}`)) {
      this.posted.delete(uid);
      return 'exists';
    }
    if (this.posted.has(uid)) return 'posted';
    const adopted = o.recovering ? await this.recover(uid, o.log, o.signal) : undefined;
    if (adopted) {
      this.posted.set(uid, adopted);
      return 'posted';
    }
    try {
      const at = nowIso();
      const actionId = await this.ctx.cedana.checkpointPod(
        { pod_name: pod.metadata.name, pod_id: uid, namespace, cluster_id: this.ctx.config.clusterId, kind: rule.kind, reason: 'manual', overrides: null },
        { signal: o.signal },
      );
      this.posted.set(uid, { actionId, at });
      return 'posted';
    } catch (err) {
      o.log.debug({ err, pod: pod.metadata.name }, 'fast checkpoint POST failed; the PodCheckpoint reconciler submits it');
      return 'left';
    }
  }

  /**
   * The PodCheckpoint that records what post() did (its action id in an annotation from creation),
   * or, when nothing was posted, one its reconciler submits. `posted` keeps the action until the
   * cache shows the PodCheckpoint: a reconcile of the node before the watch catches up must not post
   * again.
   */
  async record(pod: Pod, rule: ProtectionRule, req: EvacuationRequest): Promise<'created' | 'exists'> {
    const submitted = this.posted.get(pod.metadata.uid ?? '');
    const annotations = submitted ? { [ACTION_ANNOTATION]: submitted.actionId, [SUBMITTED_AT_ANNOTATION]: submitted.at } : {};
    const namespace = pod.metadata.namespace ?? 'default';
    const outcome = await this.ctx.objects.createIfAbsent('podcheckpoints', namespace, evacuationBody(pod, rule, req, annotations));
    // Someone else made it first (the eviction webhook, on any replica): hand it the action, or its
    // reconciler would post a second one. Only while it has not started a submission of its own
    // (it waits a moment for this on a signalled node); a 409 means it moved on: look again next pass.
    if (outcome === 'exists' && submitted) await this.handOver(namespace, evacuationCheckpointName(pod, req.trigger), annotations);
    return outcome;
  }

  private async handOver(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    const existing = PodCheckpoint.parse(await this.ctx.objects.get('podcheckpoints', namespace, name));
    if (existing.status?.actionId || existing.status?.submitStartedAt || existing.metadata.annotations?.[ACTION_ANNOTATION]) return;
    await this.ctx.objects.annotate({ plural: 'podcheckpoints', namespace, name }, annotations, existing.metadata.resourceVersion);
  }

  private async recover(podUID: string, log: Logger, signal: AbortSignal): Promise<{ actionId: string; at: string } | undefined> {
    const candidate = await this.ctx.cedana.latestPodAction(podUID, { signal });
    if (!candidate || this.claimed(candidate)) return undefined;
    const action = await this.ctx.actions.find(candidate);
    // Unknown is not new: an action the listing does not show yet is not posted over.
    if (!action) throw new Error(`Cedana's listing does not show action ${candidate} (the latest of pod ${podUID}) yet`);
    const at = action.action_timestamp ? Date.parse(action.action_timestamp) : NaN;
    if (!isPodCheckpointAction(action) || !(at >= Date.now() - RECOVERY_WINDOW_MS)) return undefined;
    log.info({ actionId: candidate, podUID }, 'adopted a checkpoint action a predecessor posted but did not record');
    return { actionId: candidate, at: new Date(at).toISOString() };
  }
}
