// Recovery point: for each protected pod, the age of its newest Ready checkpoint, which is the work
// a node loss now would cost. Pure: the policy controller (and, for label-protected pods, the pod
// controller) hands it the pods, their checkpoints, a bound and "now", and writes what comes back
// into the policy's status, its RecoveryPointMet condition and the metrics (docs/operations.md).
import type { CheckpointPolicy } from '../api/checkpointpolicy.ts';
import type { PodCheckpoint } from '../api/podcheckpoint.ts';
import { LABELS, type Pod } from '../api/pod.ts';
import { parseDuration } from '../config/duration.ts';
import type { ConditionInput } from '../kube/conditions.ts';
import type { Metrics } from '../metrics.ts';

export const RECOVERY_POINT_CONDITION = 'RecoveryPointMet';
/** The `policy` label of the metrics for pods protected by Cedana's pod labels: no policy name can contain "/". */
export const LABEL_PROTECTED_POLICY = 'cedana.ai/labels';
/** Pods named in the condition's message; the rest are counted. */
export const MESSAGE_PODS_MAX = 5;

export interface PodRecoveryPoint {
  namespace: string;
  name: string;
  uid: string;
  /** Name of the newest Ready PodCheckpoint; undefined when the pod has none. */
  checkpoint: string | undefined;
  /** Its age (whole seconds); undefined when the pod has none. */
  ageSeconds: number | undefined;
  /**
   * What a node loss now would cost, in seconds: the checkpoint's age or, with none, how long the pod
   * has existed. Undefined when neither can be dated (counts as past any bound).
   */
  exposureSeconds: number | undefined;
  /** The bound for this pod (seconds); undefined: none. */
  boundSeconds: number | undefined;
  pastBound: boolean;
  /** When the exposure started (ms since the epoch): what the metrics age from at scrape time. */
  sinceMs: number | undefined;
}

export interface RecoveryPointSummary {
  /** Every protected pod, worst first. */
  pods: PodRecoveryPoint[];
  protectedPods: number;
  podsWithoutCheckpoint: number;
  /** The oldest of the pods' newest Ready checkpoints (seconds); undefined when no pod has one. */
  worstAgeSeconds: number | undefined;
  /** Pods past their bound, worst first. */
  pastBound: PodRecoveryPoint[];
  /** The bound, when every pod has the same one (a policy's); undefined otherwise. */
  boundSeconds: number | undefined;
  condition: ConditionInput;
  /** In how many ms the next pod crosses its bound (when to look again); undefined: none will. */
  nextChangeMs: number | undefined;
}

export interface RecoveryPointInput {
  /** The protected pods (of one policy, or the label-protected pods of one namespace). */
  pods: readonly Pod[];
  /** Candidate checkpoints; those of other pods are ignored. */
  checkpoints: readonly PodCheckpoint[];
  /** The bound in ms, one for all or one per pod; undefined: no bound. */
  boundMs: number | undefined | ((pod: Pod) => number | undefined);
  now: Date | number;
}

/** A policy's bound: spec.recoveryPoint.maxAge, else twice its heartbeat interval, else none. */
export function policyBoundMs(policy: CheckpointPolicy): number | undefined {
  const maxAge = policy.spec.recoveryPoint?.maxAge;
  if (maxAge !== undefined) return parseDuration(maxAge);
  const interval = policy.spec.heartbeat?.interval;
  return interval === undefined ? undefined : boundFromHeartbeat(parseDuration(interval));
}

/** Twice the heartbeat interval: one missed heartbeat is tolerated, two are not. */
export const boundFromHeartbeat = (intervalMs: number | undefined): number | undefined => (intervalMs !== undefined && intervalMs > 0 ? 2 * intervalMs : undefined);

const time = (v: unknown): number | undefined => {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

/**
 * When a Ready checkpoint was taken: completedAt, else its creation (earlier than the completion, so
 * the age is overstated, never understated).
 */
const checkpointTime = (c: PodCheckpoint): number | undefined => time(c.status?.completedAt) ?? time(c.metadata.creationTimestamp);

const podStart = (p: Pod): number | undefined => time(p.status?.['startTime']) ?? time(p.metadata.creationTimestamp);

/** The newest Ready checkpoint of each pod uid. One being deleted (deprecated in Cedana) does not count. */
function newestReady(checkpoints: readonly PodCheckpoint[]): Map<string, { name: string; atMs: number }> {
  const newest = new Map<string, { name: string; atMs: number }>();
  for (const c of checkpoints) {
    if (c.status?.phase !== 'Ready' || c.metadata.deletionTimestamp) continue;
    const atMs = checkpointTime(c);
    if (atMs === undefined) continue; // undatable; never so for an object read from the apiserver
    for (const uid of new Set([c.metadata.labels?.[LABELS.podUID], c.status.podUID])) {
      if (uid === undefined || uid === '') continue;
      const seen = newest.get(uid);
      if (!seen || atMs > seen.atMs) newest.set(uid, { name: c.metadata.name, atMs });
    }
  }
  return newest;
}

/** Whole seconds, never negative (a checkpoint completed "in the future" by a skewed clock is 0 s old). */
const seconds = (ms: number): number => Math.max(0, Math.floor(ms / 1000));

/**
 * A duration as the CRDs write them, coarse enough that a status write does not change every second:
 * "45s", "1m30s" below 2 minutes, then minutes: "12m", "3h5m", "50h0m".
 */
export function formatAge(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${String(s)}s`;
  if (s < 120) return `1m${String(s - 60)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${String(m)}m` : `${String(Math.floor(m / 60))}h${String(m % 60)}m`;
}

const worstFirst = (a: PodRecoveryPoint, b: PodRecoveryPoint): number =>
  Number(b.pastBound) - Number(a.pastBound) || (b.exposureSeconds ?? Infinity) - (a.exposureSeconds ?? Infinity) || a.name.localeCompare(b.name);

export function computeRecoveryPoint(input: RecoveryPointInput): RecoveryPointSummary {
  const nowMs = typeof input.now === 'number' ? input.now : input.now.getTime();
  const newest = newestReady(input.checkpoints);
  const bounds = new Set<number | undefined>();
  let nextChangeMs: number | undefined;
  const pods: PodRecoveryPoint[] = [];
  for (const pod of input.pods) {
    const uid = pod.metadata.uid ?? '';
    const ckpt = uid === '' ? undefined : newest.get(uid);
    const sinceMs = ckpt?.atMs ?? podStart(pod);
    const boundMs = typeof input.boundMs === 'function' ? input.boundMs(pod) : input.boundMs;
    bounds.add(boundMs);
    const exposureMs = sinceMs === undefined ? undefined : Math.max(0, nowMs - sinceMs);
    const pastBound = boundMs !== undefined && (exposureMs === undefined || exposureMs > boundMs);
    if (boundMs !== undefined && exposureMs !== undefined && !pastBound) {
      const crossIn = boundMs - exposureMs + 1;
      nextChangeMs = nextChangeMs === undefined ? crossIn : Math.min(nextChangeMs, crossIn);
    }
    pods.push({
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
      uid,
      checkpoint: ckpt?.name,
      ageSeconds: ckpt ? seconds(nowMs - ckpt.atMs) : undefined,
      exposureSeconds: exposureMs === undefined ? undefined : seconds(exposureMs),
      boundSeconds: boundMs === undefined ? undefined : boundMs / 1000,
      pastBound,
      sinceMs,
    });
  }
  pods.sort(worstFirst);
  // A policy's bound holds even while it protects no pod.
  const oneBound = typeof input.boundMs !== 'function' ? input.boundMs : bounds.size === 1 ? [...bounds][0] : undefined;
  const ages = pods.flatMap((p) => (p.ageSeconds === undefined ? [] : [p.ageSeconds]));
  const summary = {
    pods,
    protectedPods: pods.length,
    podsWithoutCheckpoint: pods.filter((p) => p.checkpoint === undefined).length,
    worstAgeSeconds: ages.length > 0 ? Math.max(...ages) : undefined,
    pastBound: pods.filter((p) => p.pastBound),
    boundSeconds: oneBound === undefined ? undefined : oneBound / 1000,
    nextChangeMs,
  };
  return { ...summary, condition: recoveryPointCondition(summary) };
}

/** How one pod stands, for a message: "worker-1 (newest Ready checkpoint 3h5m old)". */
export function describePod(p: PodRecoveryPoint, withBound = false): string {
  const what =
    p.checkpoint !== undefined
      ? `newest Ready checkpoint ${formatAge(p.ageSeconds ?? 0)} old`
      : p.exposureSeconds !== undefined
        ? `no Ready checkpoint in ${formatAge(p.exposureSeconds)}`
        : 'no Ready checkpoint';
  return `${p.name} (${what}${withBound && p.boundSeconds !== undefined ? `, bound ${formatAge(p.boundSeconds)}` : ''})`;
}

function namePods(list: readonly PodRecoveryPoint[], withBound: boolean): string {
  const named = list.slice(0, MESSAGE_PODS_MAX).map((p) => describePod(p, withBound));
  const more = list.length - named.length;
  return named.join(', ') + (more > 0 ? `, and ${String(more)} more` : '');
}

function recoveryPointCondition(s: Omit<RecoveryPointSummary, 'condition'>): ConditionInput {
  const type = RECOVERY_POINT_CONDITION;
  const n = s.protectedPods;
  if (n === 0) return { type, status: 'True', reason: 'NoProtectedPods', message: 'No pods are protected: nothing to lose' };
  const bound = s.boundSeconds !== undefined ? `the ${formatAge(s.boundSeconds)} bound` : 'their bound';
  if (s.pastBound.length > 0) {
    const reason = s.pastBound.some((p) => p.checkpoint === undefined) ? 'NoReadyCheckpoint' : 'CheckpointTooOld';
    return { type, status: 'False', reason, message: `${String(s.pastBound.length)} of ${String(n)} protected pod(s) past ${bound}: ${namePods(s.pastBound, s.boundSeconds === undefined)}` };
  }
  const unbounded = s.pods.filter((p) => p.boundSeconds === undefined);
  const worst = s.worstAgeSeconds !== undefined ? `; worst checkpoint age ${formatAge(s.worstAgeSeconds)}` : '';
  const without = s.podsWithoutCheckpoint > 0 ? `; ${String(s.podsWithoutCheckpoint)} without a Ready checkpoint yet` : '';
  if (unbounded.length === n) {
    return {
      type,
      status: 'Unknown',
      reason: 'NoBound',
      message: `No bound to check ${String(n)} protected pod(s) against: set spec.heartbeat.interval or spec.recoveryPoint.maxAge${worst}${without}`,
    };
  }
  const rest = unbounded.length > 0 ? `; ${String(unbounded.length)} pod(s) have no bound` : '';
  return { type, status: 'True', reason: 'WithinBound', message: `${String(n - unbounded.length)} protected pod(s) within ${bound}${worst}${without}${rest}` };
}

/**
 * The status fields of a CheckpointPolicy that the summary fills (the condition goes with the others).
 * worstCheckpointAge is "" when no pod has a Ready checkpoint: status writes are merge patches, and an
 * absent field would keep a stale age.
 */
export const recoveryPointStatus = (s: RecoveryPointSummary): { podsWithoutCheckpoint: number; worstCheckpointAge: string } => ({
  podsWithoutCheckpoint: s.podsWithoutCheckpoint,
  worstCheckpointAge: s.worstAgeSeconds !== undefined ? formatAge(s.worstAgeSeconds) : '',
});

/** The Warning Event for a label-protected pod that passed its bound (record it once per crossing). */
export const recoveryPointEvent = (p: PodRecoveryPoint): { type: 'Warning'; reason: 'RecoveryPointMissed'; message: string } => ({
  type: 'Warning',
  reason: 'RecoveryPointMissed',
  message: `Recovery point missed: ${describePod(p, true)}; a node loss now would lose that much work`,
});

interface Tracked {
  labels: { namespace: string; policy: string };
  pods: { sinceMs: number | undefined; boundMs: number | undefined; hasCheckpoint: boolean }[];
}

/**
 * The latest summary of each policy (and of each namespace's label-protected pods), kept for the
 * metrics: the checkpoint age and the pods past their bound are computed at scrape time, so that they
 * are right between reconciles too.
 */
export class RecoveryPoints {
  private readonly tracked = new Map<string, Tracked>();

  set(labels: { namespace: string; policy: string }, s: RecoveryPointSummary): void {
    const pods = s.pods.map((p) => ({ sinceMs: p.sinceMs, boundMs: p.boundSeconds === undefined ? undefined : p.boundSeconds * 1000, hasCheckpoint: p.checkpoint !== undefined }));
    this.tracked.set(`${labels.namespace}/${labels.policy}`, { labels, pods });
  }

  delete(labels: { namespace: string; policy: string }): void {
    this.tracked.delete(`${labels.namespace}/${labels.policy}`);
  }

  /** Worst checkpoint age per label set, at nowMs; a label set whose pods have none is left out. */
  ages(nowMs = Date.now()): { labels: { namespace: string; policy: string }; value: number }[] {
    return [...this.tracked.values()].flatMap((t) => {
      const since = t.pods.flatMap((p) => (p.hasCheckpoint && p.sinceMs !== undefined ? [p.sinceMs] : []));
      return since.length > 0 ? [{ labels: t.labels, value: seconds(nowMs - Math.min(...since)) }] : [];
    });
  }

  /** Pods past their bound per label set, at nowMs. */
  pastBound(nowMs = Date.now()): { labels: { namespace: string; policy: string }; value: number }[] {
    return [...this.tracked.values()].map((t) => ({
      labels: t.labels,
      value: t.pods.filter((p) => p.boundMs !== undefined && (p.sinceMs === undefined || nowMs - p.sinceMs > p.boundMs)).length,
    }));
  }
}

const metricLabels = (namespace: string, policy: string | undefined) => ({ namespace, policy: policy ?? LABEL_PROTECTED_POLICY });

/**
 * Sets the recovery point metrics of one policy (policy undefined: the label-protected pods of the
 * namespace). One call after each computeRecoveryPoint.
 */
export function recordRecoveryPoint(metrics: Metrics, namespace: string, policy: string | undefined, s: RecoveryPointSummary): void {
  const labels = metricLabels(namespace, policy);
  metrics.recoveryPoints.set(labels, s);
  metrics.protectedPodsWithoutCheckpoint.set(labels, s.podsWithoutCheckpoint);
  if (s.boundSeconds !== undefined) metrics.recoveryPointBound.set(labels, s.boundSeconds);
  else metrics.recoveryPointBound.remove(labels);
}

/** Drops the series of a policy that is gone (or of a namespace with no label-protected pods left). */
export function forgetRecoveryPoint(metrics: Metrics, namespace: string, policy: string | undefined): void {
  const labels = metricLabels(namespace, policy);
  metrics.recoveryPoints.delete(labels);
  metrics.protectedPodsWithoutCheckpoint.remove(labels);
  metrics.recoveryPointBound.remove(labels);
}

/** What the policy controller folds into its reconcile: status fields, the condition, when to look again. */
export interface PolicyRecoveryPoint {
  summary: RecoveryPointSummary;
  changes: { podsWithoutCheckpoint: number; worstCheckpointAge: string };
  condition: ConditionInput;
  /** Reconcile again by then, so that the condition turns False when the next pod crosses its bound. */
  requeueAfterMs: number | undefined;
}

/**
 * One call per CheckpointPolicy reconcile: the recovery point of the pods it protects, from the
 * checkpoints of its namespace; the metrics set; the status and condition to write.
 */
export function policyRecoveryPoint(policy: CheckpointPolicy, pods: readonly Pod[], checkpoints: readonly PodCheckpoint[], metrics: Metrics, now: Date | number = Date.now()): PolicyRecoveryPoint {
  const summary = computeRecoveryPoint({ pods, checkpoints, boundMs: policyBoundMs(policy), now });
  recordRecoveryPoint(metrics, policy.metadata.namespace ?? 'default', policy.metadata.name, summary);
  return { summary, changes: recoveryPointStatus(summary), condition: summary.condition, requeueAfterMs: summary.nextChangeMs };
}

/**
 * Pods protected by Cedana's labels, one namespace at a time: the metrics (policy
 * "cedana.ai/labels"), and which pods crossed their bound since the last call, for one Warning Event
 * each (recoveryPointEvent). Remembers only the uids past their bound, per namespace.
 */
export class LabelRecoveryPoints {
  private readonly past = new Map<string, Set<string>>();

  update(
    namespace: string,
    pods: readonly Pod[],
    checkpoints: readonly PodCheckpoint[],
    heartbeatMsOf: (pod: Pod) => number | undefined,
    metrics: Metrics,
    now: Date | number = Date.now(),
  ): { summary: RecoveryPointSummary; crossed: PodRecoveryPoint[]; requeueAfterMs: number | undefined } {
    if (pods.length === 0) {
      forgetRecoveryPoint(metrics, namespace, undefined);
      this.past.delete(namespace);
      const summary = computeRecoveryPoint({ pods, checkpoints: [], boundMs: undefined, now });
      return { summary, crossed: [], requeueAfterMs: undefined };
    }
    const summary = computeRecoveryPoint({ pods, checkpoints, boundMs: (p) => boundFromHeartbeat(heartbeatMsOf(p)), now });
    recordRecoveryPoint(metrics, namespace, undefined, summary);
    const before = this.past.get(namespace) ?? new Set<string>();
    const crossed = summary.pastBound.filter((p) => !before.has(p.uid));
    this.past.set(namespace, new Set(summary.pastBound.map((p) => p.uid)));
    return { summary, crossed, requeueAfterMs: summary.nextChangeMs };
  }
}
