// Recovery point: which checkpoint is a pod's newest Ready one, its age, the bound, the summary, the
// RecoveryPointMet condition, and the metrics computed from it at scrape time. Table-driven.
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CheckpointPolicy } from '../../../src/api/checkpointpolicy.ts';
import { Pod } from '../../../src/api/pod.ts';
import { PodCheckpoint } from '../../../src/api/podcheckpoint.ts';
import { createMetrics } from '../../../src/metrics.ts';
import { EVICTION_OUTCOMES, recordEviction, recordWebhookCertificate, startCedanaProbe, watchWebhookCertificate } from '../../../src/protection/operations.ts';
import { generateCa } from '../../../src/webhook/certs.ts';
import {
  LABEL_PROTECTED_POLICY,
  LabelRecoveryPoints,
  policyRecoveryPoint,
  MESSAGE_PODS_MAX,
  boundFromHeartbeat,
  computeRecoveryPoint,
  forgetRecoveryPoint,
  formatAge,
  policyBoundMs,
  recordRecoveryPoint,
  recoveryPointEvent,
  recoveryPointStatus,
  type RecoveryPointInput,
} from '../../../src/protection/recovery-point.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();
const H = 3600;

const pod = (name: string, startedAgo = 10 * H, extra: { uid?: string; creationOnly?: boolean } = {}): Pod =>
  Pod.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ml', uid: extra.uid ?? `uid-${name}`, creationTimestamp: ago(startedAgo) },
    spec: { nodeName: 'node-a' },
    status: { phase: 'Running', ...(extra.creationOnly ? {} : { startTime: ago(startedAgo) }) },
  });

interface Ckpt {
  name: string;
  phase?: string;
  /** Matched by this label... */
  labelUid?: string;
  /** ...or by status.podUID. */
  statusUid?: string;
  completedAgo?: number;
  createdAgo?: number;
  deleting?: boolean;
}
const ckpt = (c: Ckpt): PodCheckpoint =>
  PodCheckpoint.parse({
    apiVersion: 'cedana.ai/v1alpha1',
    kind: 'PodCheckpoint',
    metadata: {
      name: c.name,
      namespace: 'ml',
      ...(c.labelUid !== undefined ? { labels: { 'cedana.ai/pod-uid': c.labelUid } } : {}),
      ...(c.createdAgo !== undefined ? { creationTimestamp: ago(c.createdAgo) } : {}),
      ...(c.deleting ? { deletionTimestamp: ago(1) } : {}),
    },
    spec: { podName: 'x' },
    status: {
      phase: c.phase ?? 'Ready',
      ...(c.statusUid !== undefined ? { podUID: c.statusUid } : {}),
      ...(c.completedAgo !== undefined ? { completedAt: ago(c.completedAgo) } : {}),
    },
  });

const policy = (spec: Record<string, unknown>): CheckpointPolicy =>
  CheckpointPolicy.parse({ apiVersion: 'cedana.ai/v1alpha1', kind: 'CheckpointPolicy', metadata: { name: 'p', namespace: 'ml' }, spec: { selector: {}, ...spec } });

const run = (pods: Pod[], checkpoints: PodCheckpoint[], boundMs: RecoveryPointInput['boundMs']) => computeRecoveryPoint({ pods, checkpoints, boundMs, now: NOW });

describe('newest Ready checkpoint of a pod', () => {
  const cases: { name: string; checkpoints: Ckpt[]; want: { checkpoint: string | undefined; ageSeconds: number | undefined } }[] = [
    { name: 'none at all', checkpoints: [], want: { checkpoint: undefined, ageSeconds: undefined } },
    { name: 'matched by the pod-uid label', checkpoints: [{ name: 'a', labelUid: 'uid-w', completedAgo: 600 }], want: { checkpoint: 'a', ageSeconds: 600 } },
    { name: 'matched by status.podUID', checkpoints: [{ name: 'a', statusUid: 'uid-w', completedAgo: 60 }], want: { checkpoint: 'a', ageSeconds: 60 } },
    {
      name: "another pod's checkpoint does not count",
      checkpoints: [{ name: 'a', labelUid: 'uid-other', statusUid: 'uid-other', completedAgo: 60 }],
      want: { checkpoint: undefined, ageSeconds: undefined },
    },
    {
      name: 'the newest of several Ready ones',
      checkpoints: [
        { name: 'old', labelUid: 'uid-w', completedAgo: 3 * H },
        { name: 'new', statusUid: 'uid-w', completedAgo: 20 * 60 },
        { name: 'mid', labelUid: 'uid-w', completedAgo: H },
      ],
      want: { checkpoint: 'new', ageSeconds: 20 * 60 },
    },
    {
      name: 'newer ones that are not Ready are ignored',
      checkpoints: [
        { name: 'ready', labelUid: 'uid-w', completedAgo: 2 * H },
        { name: 'failed', labelUid: 'uid-w', phase: 'Failed', completedAgo: 60 },
        { name: 'running', labelUid: 'uid-w', phase: 'Checkpointing', createdAgo: 30 },
      ],
      want: { checkpoint: 'ready', ageSeconds: 2 * H },
    },
    {
      name: 'one being deleted is ignored',
      checkpoints: [
        { name: 'going', labelUid: 'uid-w', completedAgo: 60, deleting: true },
        { name: 'kept', labelUid: 'uid-w', completedAgo: 900 },
      ],
      want: { checkpoint: 'kept', ageSeconds: 900 },
    },
    { name: 'without completedAt, dated by its creation (older, never younger)', checkpoints: [{ name: 'a', labelUid: 'uid-w', createdAgo: 700 }], want: { checkpoint: 'a', ageSeconds: 700 } },
    { name: 'completed in the future (clock skew) is 0 s old', checkpoints: [{ name: 'a', labelUid: 'uid-w', completedAgo: -30 }], want: { checkpoint: 'a', ageSeconds: 0 } },
  ];
  it.each(cases)('$name', ({ checkpoints, want }) => {
    const s = run([pod('w')], checkpoints.map(ckpt), H * 1000);
    expect(s.pods).toHaveLength(1);
    expect({ checkpoint: s.pods[0]?.checkpoint, ageSeconds: s.pods[0]?.ageSeconds }).toEqual(want);
  });
});

describe('summary and RecoveryPointMet', () => {
  const bound = 2 * H * 1000; // heartbeat 1h
  const cases: {
    name: string;
    pods: Pod[];
    checkpoints: Ckpt[];
    boundMs: RecoveryPointInput['boundMs'];
    want: { status: string; reason: string; protectedPods: number; podsWithoutCheckpoint: number; worstAgeSeconds: number | undefined; pastBound: string[]; message: RegExp };
  }[] = [
    {
      name: 'no pods: nothing to lose',
      pods: [],
      checkpoints: [],
      boundMs: bound,
      want: { status: 'True', reason: 'NoProtectedPods', protectedPods: 0, podsWithoutCheckpoint: 0, worstAgeSeconds: undefined, pastBound: [], message: /No pods are protected/ },
    },
    {
      name: 'every pod within the bound',
      pods: [pod('a'), pod('b')],
      checkpoints: [
        { name: 'a1', labelUid: 'uid-a', completedAgo: 30 * 60 },
        { name: 'b1', labelUid: 'uid-b', completedAgo: 90 * 60 },
      ],
      boundMs: bound,
      want: {
        status: 'True',
        reason: 'WithinBound',
        protectedPods: 2,
        podsWithoutCheckpoint: 0,
        worstAgeSeconds: 90 * 60,
        pastBound: [],
        message: /^2 protected pod\(s\) within the 2h0m bound; worst checkpoint age 1h30m$/,
      },
    },
    {
      name: 'one checkpoint older than the bound',
      pods: [pod('a'), pod('b')],
      checkpoints: [
        { name: 'a1', labelUid: 'uid-a', completedAgo: 30 * 60 },
        { name: 'b1', labelUid: 'uid-b', completedAgo: 3 * H },
      ],
      boundMs: bound,
      want: {
        status: 'False',
        reason: 'CheckpointTooOld',
        protectedPods: 2,
        podsWithoutCheckpoint: 0,
        worstAgeSeconds: 3 * H,
        pastBound: ['b'],
        message: /^1 of 2 protected pod\(s\) past the 2h0m bound: b \(newest Ready checkpoint 3h0m old\)$/,
      },
    },
    {
      name: 'a pod running past the bound with no checkpoint: the worse reason wins',
      pods: [pod('a'), pod('b'), pod('c', 3 * H)],
      checkpoints: [{ name: 'a1', labelUid: 'uid-a', completedAgo: 5 * H }],
      boundMs: bound,
      want: {
        status: 'False',
        reason: 'NoReadyCheckpoint',
        protectedPods: 3,
        podsWithoutCheckpoint: 2,
        worstAgeSeconds: 5 * H,
        pastBound: ['b', 'a', 'c'],
        message: /^3 of 3 protected pod\(s\) past the 2h0m bound: b \(no Ready checkpoint in 10h0m\), a \(newest Ready checkpoint 5h0m old\), c \(no Ready checkpoint in 3h0m\)$/,
      },
    },
    {
      name: 'a new pod without a checkpoint yet is within the bound',
      pods: [pod('new', 10 * 60)],
      checkpoints: [],
      boundMs: bound,
      want: {
        status: 'True',
        reason: 'WithinBound',
        protectedPods: 1,
        podsWithoutCheckpoint: 1,
        worstAgeSeconds: undefined,
        pastBound: [],
        message: /within the 2h0m bound; 1 without a Ready checkpoint yet$/,
      },
    },
    {
      name: 'a pod dated only by its creation',
      pods: [pod('old', 5 * H, { creationOnly: true })],
      checkpoints: [],
      boundMs: bound,
      want: {
        status: 'False',
        reason: 'NoReadyCheckpoint',
        protectedPods: 1,
        podsWithoutCheckpoint: 1,
        worstAgeSeconds: undefined,
        pastBound: ['old'],
        message: /old \(no Ready checkpoint in 5h0m\)/,
      },
    },
    {
      name: 'no bound: Unknown, and says how to get one',
      pods: [pod('a')],
      checkpoints: [{ name: 'a1', labelUid: 'uid-a', completedAgo: 9 * H }],
      boundMs: undefined,
      want: {
        status: 'Unknown',
        reason: 'NoBound',
        protectedPods: 1,
        podsWithoutCheckpoint: 0,
        worstAgeSeconds: 9 * H,
        pastBound: [],
        message: /set spec.heartbeat.interval or spec.recoveryPoint.maxAge; worst checkpoint age 9h0m$/,
      },
    },
    {
      name: 'label-protected pods, each with its own bound (and one without)',
      pods: [pod('fast'), pod('slow'), pod('nobeat')],
      checkpoints: [
        { name: 'f', labelUid: 'uid-fast', completedAgo: 20 * 60 },
        { name: 's', labelUid: 'uid-slow', completedAgo: 20 * 60 },
        { name: 'n', labelUid: 'uid-nobeat', completedAgo: 20 * H },
      ],
      boundMs: (p) => ({ fast: 10 * 60_000, slow: H * 1000 })[p.metadata.name as 'fast' | 'slow'],
      want: {
        status: 'False',
        reason: 'CheckpointTooOld',
        protectedPods: 3,
        podsWithoutCheckpoint: 0,
        worstAgeSeconds: 20 * H,
        pastBound: ['fast'],
        message: /^1 of 3 protected pod\(s\) past their bound: fast \(newest Ready checkpoint 20m old, bound 10m\)$/,
      },
    },
    {
      name: 'label-protected pods within their bounds, one without a bound',
      pods: [pod('slow'), pod('nobeat')],
      checkpoints: [{ name: 's', labelUid: 'uid-slow', completedAgo: 20 * 60 }],
      boundMs: (p) => (p.metadata.name === 'slow' ? H * 1000 : undefined),
      want: {
        status: 'True',
        reason: 'WithinBound',
        protectedPods: 2,
        podsWithoutCheckpoint: 1,
        worstAgeSeconds: 20 * 60,
        pastBound: [],
        message: /^1 protected pod\(s\) within their bound; worst checkpoint age 20m; 1 without a Ready checkpoint yet; 1 pod\(s\) have no bound$/,
      },
    },
  ];
  it.each(cases)('$name', ({ pods, checkpoints, boundMs, want }) => {
    const s = run(pods, checkpoints.map(ckpt), boundMs);
    const { message, ...fields } = want;
    expect(s.condition.type).toBe('RecoveryPointMet');
    expect({
      status: s.condition.status,
      reason: s.condition.reason,
      protectedPods: s.protectedPods,
      podsWithoutCheckpoint: s.podsWithoutCheckpoint,
      worstAgeSeconds: s.worstAgeSeconds,
      pastBound: s.pastBound.map((p) => p.name),
    }).toEqual(fields);
    expect(s.condition.message).toMatch(message);
    expect(s.condition.reason).toMatch(/^[A-Z][A-Za-z]+$/);
  });

  it('names at most MESSAGE_PODS_MAX pods, worst first, and counts the rest', () => {
    const pods = Array.from({ length: MESSAGE_PODS_MAX + 3 }, (_, i) => pod(`w${String(i)}`, 10 * H));
    const checkpoints = pods.map((p, i) => ckpt({ name: `c${String(i)}`, labelUid: p.metadata.uid ?? '', completedAgo: (3 + i) * H }));
    const s = run(pods, checkpoints, bound);
    expect(s.pastBound).toHaveLength(pods.length);
    expect(s.pastBound[0]?.name).toBe(`w${String(pods.length - 1)}`);
    const named = s.condition.message.split(': ')[1]?.split(/, (?=w\d)/) ?? [];
    expect(named).toHaveLength(MESSAGE_PODS_MAX);
    expect(s.condition.message).toMatch(/, and 3 more$/);
  });

  it('says when the next pod crosses its bound', () => {
    const s = run([pod('a'), pod('b')], [ckpt({ name: 'a1', labelUid: 'uid-a', completedAgo: 90 * 60 }), ckpt({ name: 'b1', labelUid: 'uid-b', completedAgo: 30 * 60 })], bound);
    expect(s.nextChangeMs).toBe(30 * 60_000 + 1);
    const later = computeRecoveryPoint({
      pods: [pod('a'), pod('b')],
      checkpoints: [ckpt({ name: 'a1', labelUid: 'uid-a', completedAgo: 90 * 60 }), ckpt({ name: 'b1', labelUid: 'uid-b', completedAgo: 30 * 60 })],
      boundMs: bound,
      now: NOW + (s.nextChangeMs ?? 0),
    });
    expect(later.pastBound.map((p) => p.name)).toEqual(['a']);
    expect(run([pod('a')], [], undefined).nextChangeMs).toBeUndefined();
  });
});

describe('the bound', () => {
  it.each([
    { spec: {}, want: undefined },
    { spec: { heartbeat: { interval: '30m' } }, want: 60 * 60_000 },
    { spec: { heartbeat: { interval: '30m' }, recoveryPoint: { maxAge: '45m' } }, want: 45 * 60_000 },
    { spec: { recoveryPoint: { maxAge: '1h30m' } }, want: 90 * 60_000 },
  ])('$spec → $want ms', ({ spec, want }) => {
    expect(policyBoundMs(policy(spec))).toBe(want);
  });

  it('label heartbeats: twice the interval, none without one', () => {
    expect(boundFromHeartbeat(600_000)).toBe(1_200_000);
    expect(boundFromHeartbeat(undefined)).toBeUndefined();
    expect(boundFromHeartbeat(0)).toBeUndefined();
  });

  it('the schema refuses a maxAge that is not a duration', () => {
    expect(() => policy({ recoveryPoint: { maxAge: '3600' } })).toThrow();
    expect(() => policy({ recoveryPoint: { maxAge: '1d' } })).toThrow();
  });

  it('holds for a policy that protects no pod (the bound gauge stays)', () => {
    expect(run([], [], 7_200_000).boundSeconds).toBe(7200);
  });
});

describe('status fields and formats', () => {
  it.each([
    [0, '0s'],
    [59, '59s'],
    [90, '1m30s'],
    [125, '2m'],
    [3599, '59m'],
    [3600, '1h0m'],
    [50 * 3600 + 61, '50h1m'],
  ])('formatAge(%i) = %s', (s, want) => {
    expect(formatAge(s)).toBe(want);
  });

  it('fills podsWithoutCheckpoint and worstCheckpointAge, empty (not absent: status is merge-patched) when no pod has a checkpoint', () => {
    expect(recoveryPointStatus(run([pod('a'), pod('b')], [ckpt({ name: 'a1', labelUid: 'uid-a', completedAgo: 4000 })], 7_200_000))).toEqual({ podsWithoutCheckpoint: 1, worstCheckpointAge: '1h6m' });
    expect(recoveryPointStatus(run([pod('a')], [], 7_200_000))).toEqual({ podsWithoutCheckpoint: 1, worstCheckpointAge: '' });
  });

  it('a Warning Event for a label-protected pod past its bound', () => {
    const s = run([pod('w')], [ckpt({ name: 'c', labelUid: 'uid-w', completedAgo: 3 * H })], H * 1000);
    const p = s.pastBound[0];
    expect(p).toBeDefined();
    if (p)
      expect(recoveryPointEvent(p)).toEqual({
        type: 'Warning',
        reason: 'RecoveryPointMissed',
        message: 'Recovery point missed: w (newest Ready checkpoint 3h0m old, bound 1h0m); a node loss now would lose that much work',
      });
  });
});

describe('metrics', () => {
  const value = async (metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const m = await metrics.registry.getSingleMetric(name)?.get();
    return m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  };

  it('sets the gauges from a summary, ages at scrape time, and forgets a policy', async () => {
    const metrics = createMetrics();
    const realNow = Date.now();
    const pods = [pod('a'), pod('b')].map((p) => Pod.parse({ ...p, metadata: { ...p.metadata, creationTimestamp: new Date(realNow - 10 * H * 1000).toISOString() }, status: { phase: 'Running' } }));
    const checkpoints = [ckpt({ name: 'a1', labelUid: 'uid-a' })].map((c) => PodCheckpoint.parse({ ...c, status: { ...c.status, completedAt: new Date(realNow - 1000 * 1000).toISOString() } }));
    const s = computeRecoveryPoint({ pods, checkpoints, boundMs: 2 * H * 1000, now: realNow });
    recordRecoveryPoint(metrics, 'ml', 'p', s);
    const labels = { namespace: 'ml', policy: 'p' };
    expect(await value(metrics, 'cedana_operator_protected_pods_without_checkpoint', labels)).toBe(1);
    expect(await value(metrics, 'cedana_operator_recovery_point_bound_seconds', labels)).toBe(7200);
    // b has run 10 h with no checkpoint: past the 2 h bound.
    expect(await value(metrics, 'cedana_operator_protected_pods_past_recovery_point', labels)).toBe(1);
    const age = await value(metrics, 'cedana_operator_protected_pod_checkpoint_age_seconds', labels);
    expect(age).toBeGreaterThanOrEqual(1000);
    expect(age).toBeLessThan(1100);

    recordRecoveryPoint(metrics, 'ml', undefined, computeRecoveryPoint({ pods: [], checkpoints: [], boundMs: () => undefined, now: realNow }));
    expect(await value(metrics, 'cedana_operator_protected_pods_without_checkpoint', { namespace: 'ml', policy: LABEL_PROTECTED_POLICY })).toBe(0);

    forgetRecoveryPoint(metrics, 'ml', 'p');
    for (const name of [
      'cedana_operator_protected_pods_without_checkpoint',
      'cedana_operator_recovery_point_bound_seconds',
      'cedana_operator_protected_pods_past_recovery_point',
      'cedana_operator_protected_pod_checkpoint_age_seconds',
    ]) {
      expect(await value(metrics, name, labels)).toBeUndefined();
    }
  });

  it('the age of a checkpoint grows between reconciles', () => {
    const metrics = createMetrics();
    const t0 = Date.now();
    const s = computeRecoveryPoint({
      pods: [pod('a')],
      checkpoints: [ckpt({ name: 'a1', labelUid: 'uid-a', completedAgo: 0 })].map((c) => PodCheckpoint.parse({ ...c, status: { ...c.status, completedAt: new Date(t0 - 5000).toISOString() } })),
      boundMs: 60_000,
      now: t0,
    });
    recordRecoveryPoint(metrics, 'ml', 'p', s);
    expect(metrics.recoveryPoints.ages(t0 + 60_000)).toEqual([{ labels: { namespace: 'ml', policy: 'p' }, value: 65 }]);
    expect(metrics.recoveryPoints.pastBound(t0 + 60_000)).toEqual([{ labels: { namespace: 'ml', policy: 'p' }, value: 1 }]);
    expect(metrics.recoveryPoints.pastBound(t0 + 50_000)).toEqual([{ labels: { namespace: 'ml', policy: 'p' }, value: 0 }]);
  });
});

describe('operational metrics helpers (src/protection/operations.ts)', () => {
  const sample = async (metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number | undefined> =>
    (await metrics.registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;

  it('evictions: every outcome is a zero series from the start; a hold is observed only when an eviction is allowed', async () => {
    const metrics = createMetrics();
    for (const outcome of EVICTION_OUTCOMES) expect(await sample(metrics, 'cedana_operator_evictions_total', { outcome })).toBe(0);
    recordEviction(metrics, 'held');
    recordEviction(metrics, 'held', 3);
    recordEviction(metrics, 'hold-max', 120);
    expect(await sample(metrics, 'cedana_operator_evictions_total', { outcome: 'held' })).toBe(2);
    expect(await sample(metrics, 'cedana_operator_evictions_total', { outcome: 'hold-max' })).toBe(1);
    const text = await metrics.registry.getSingleMetricAsString('cedana_operator_eviction_hold_seconds');
    expect(text.split('\n').filter((l) => l.startsWith('cedana_operator_eviction_hold_seconds_count'))).toEqual(['cedana_operator_eviction_hold_seconds_count{outcome="hold-max"} 1']);
  });

  it("the webhook certificate's NotAfter, from a PEM or a date; none is 0", async () => {
    const metrics = createMetrics();
    expect(await sample(metrics, 'cedana_operator_webhook_certificate_expiry_timestamp_seconds')).toBe(0);
    const now = Date.parse('2026-06-01T00:00:00Z');
    const ca = generateCa(now, 30 * 86_400_000);
    recordWebhookCertificate(metrics, ca.cert);
    expect(await sample(metrics, 'cedana_operator_webhook_certificate_expiry_timestamp_seconds')).toBe(Math.floor(new X509Certificate(ca.cert).validToDate.getTime() / 1000));
    recordWebhookCertificate(metrics, new Date('2027-01-01T00:00:00Z'));
    expect(await sample(metrics, 'cedana_operator_webhook_certificate_expiry_timestamp_seconds')).toBe(Date.parse('2027-01-01T00:00:00Z') / 1000);
    const stop = new AbortController();
    watchWebhookCertificate(metrics, () => 'not a certificate', stop.signal);
    stop.abort();
    expect(await sample(metrics, 'cedana_operator_webhook_certificate_expiry_timestamp_seconds')).toBe(0);
  });

  it('the Cedana probe: 1 when GET /v2/user answers, 0 when it throws', async () => {
    const metrics = createMetrics();
    const log = pino({ level: 'silent' });
    let fail = true;
    const stop = new AbortController();
    const cedana = { getUser: () => (fail ? Promise.reject(new Error('401 token rejected')) : Promise.resolve('user-1')) };
    expect(await sample(metrics, 'cedana_operator_cedana_up')).toBeNaN(); // unknown until a probe ran
    await startCedanaProbe({ cedana, metrics, log, signal: stop.signal, intervalMs: 20 });
    expect(await sample(metrics, 'cedana_operator_cedana_up')).toBe(0);
    fail = false;
    await new Promise((r) => setTimeout(r, 80));
    expect(await sample(metrics, 'cedana_operator_cedana_up')).toBe(1);
    stop.abort();
  });
});

describe('the one-call wrappers for the controllers', () => {
  it('policyRecoveryPoint: status changes, condition, requeue, metrics', async () => {
    const metrics = createMetrics();
    const p = policy({ heartbeat: { interval: '1h' } });
    const r = policyRecoveryPoint(
      p,
      [pod('a'), pod('b')],
      [ckpt({ name: 'a1', labelUid: 'uid-a', completedAgo: 30 * 60 }), ckpt({ name: 'b1', labelUid: 'uid-b', completedAgo: 3 * H })],
      metrics,
      NOW,
    );
    expect(r.changes).toEqual({ podsWithoutCheckpoint: 0, worstCheckpointAge: '3h0m' });
    expect(r.condition).toMatchObject({ type: 'RecoveryPointMet', status: 'False', reason: 'CheckpointTooOld' });
    expect(r.requeueAfterMs).toBe(90 * 60_000 + 1);
    const bound = (await metrics.registry.getSingleMetric('cedana_operator_recovery_point_bound_seconds')?.get())?.values;
    expect(bound).toEqual([{ labels: { namespace: 'ml', policy: 'p' }, value: 7200 }]);
  });

  it('LabelRecoveryPoints: a Warning Event once per crossing, and the series go with the last pod', async () => {
    const metrics = createMetrics();
    const lrp = new LabelRecoveryPoints();
    const beat = () => 30 * 60_000; // 30 min heartbeats: a 1 h bound
    const pods = [pod('a')];
    const fresh = [ckpt({ name: 'a1', labelUid: 'uid-a', completedAgo: 10 * 60 })];
    expect(lrp.update('ml', pods, fresh, beat, metrics, NOW).crossed).toEqual([]);
    const late = lrp.update('ml', pods, fresh, beat, metrics, NOW + H * 1000);
    expect(late.crossed.map((p) => p.name)).toEqual(['a']);
    expect(lrp.update('ml', pods, fresh, beat, metrics, NOW + 2 * H * 1000).crossed).toEqual([]); // still past: no second Event
    expect(lrp.update('ml', pods, [...fresh, ckpt({ name: 'a2', labelUid: 'uid-a', completedAgo: -2 * H })], beat, metrics, NOW + 2 * H * 1000).crossed).toEqual([]);
    expect(lrp.update('ml', pods, fresh, beat, metrics, NOW + 3 * H * 1000).crossed.map((p) => p.name)).toEqual(['a']); // crossed again
    const without = async () => (await metrics.registry.getSingleMetric('cedana_operator_protected_pods_without_checkpoint')?.get())?.values;
    expect(await without()).toEqual([{ labels: { namespace: 'ml', policy: 'cedana.ai/labels' }, value: 0 }]);
    lrp.update('ml', [], [], beat, metrics, NOW);
    expect(await without()).toEqual([]);
  });
});
