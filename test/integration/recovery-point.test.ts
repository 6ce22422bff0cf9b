// Recovery point against a real control plane (issue 17): a CheckpointPolicy with a short heartbeat
// and a short bound, its pods Running on a kwok node. The policy's status, its RecoveryPointMet
// condition, its printer columns (kubectl get -o wide, the built kubectl) and the operator's /metrics
// (a real scrape) through three states, each reached by making Cedana fail or succeed new
// checkpoints and then observed: no Ready checkpoint yet and the pods past the bound
// (NoReadyCheckpoint); every pod with a fresh Ready heartbeat (WithinBound); heartbeats failing and
// the newest Ready ones aged past the bound (CheckpointTooOld). Ordered by observed states only.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOperator } from '../../src/operator.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { helmBinary } from '../../scripts/manifests.ts';
import { createTestNamespace, kubeconfigPath, waitFor, type TestNamespace } from './harness/cluster.ts';
import { api, createCr, createKwokNode, podOnNode, startInProcessOperator, startTestSimulator } from './harness/stack.ts';

const POLICY = 'rp-workers';
const BOUND_S = 6; // spec.recoveryPoint.maxAge
const INTERVAL = '2s'; // spec.heartbeat.interval: a Ready heartbeat is never near the bound while they succeed
const PODS = ['rp-0', 'rp-1'];

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface PolicyObj {
  status?: { protectedPods?: number; podsWithoutCheckpoint?: number; worstCheckpointAge?: string; conditions?: Condition[] };
}
interface CheckpointObj {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { podName: string; reason?: string };
  status?: { phase?: string; completedAt?: string; podUID?: string };
}

const cr = { group: 'cedana.ai', version: 'v1alpha1' };
const getPolicy = async (namespace: string): Promise<PolicyObj> => (await api().custom.getNamespacedCustomObject({ ...cr, namespace, plural: 'checkpointpolicies', name: POLICY })) as PolicyObj;
const listCheckpoints = async (namespace: string): Promise<CheckpointObj[]> =>
  ((await api().custom.listNamespacedCustomObject({ ...cr, namespace, plural: 'podcheckpoints' })) as { items: CheckpointObj[] }).items;
const recoveryPoint = (p: PolicyObj): Condition | undefined => p.status?.conditions?.find((c) => c.type === 'RecoveryPointMet');

/** A formatAge duration back to seconds: "45s", "1m30s", "12m", "3h5m". */
function ageSeconds(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s);
  if (s === '' || !m) throw new Error(`not a checkpoint age: ${JSON.stringify(s)}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** The value of the one sample of `name` whose labels are exactly `labels`; undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (m?.[1] !== name) continue;
    const have = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/)
      .sort()
      .join(',');
    if (have === want) return Number(m[3]);
  }
  return undefined;
}

async function kubectl(args: string[]): Promise<string> {
  const bin = join(dirname(await helmBinary()), 'kubectl');
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['--kubeconfig', kubeconfigPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    p.on('error', reject).on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`kubectl ${args.join(' ')} exited ${String(code)}: ${err}`));
    });
  });
}

/** `kubectl get checkpointpolicies -o wide`, the policy's row by column header (cells are aligned under their headers). */
async function printedRow(namespace: string): Promise<Record<string, string>> {
  const lines = (await kubectl(['get', 'checkpointpolicies', '-n', namespace, '-o', 'wide'])).split('\n').filter((l) => l.trim() !== '');
  const header = lines[0] ?? '';
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  const row = lines.find((l) => l.startsWith(`${POLICY} `));
  if (row === undefined) throw new Error(`no row for ${POLICY} in:\n${lines.join('\n')}`);
  return Object.fromEntries(starts.map((s, i) => [s.name, row.slice(s.at, starts[i + 1]?.at ?? row.length).trim()]));
}

describe('recovery point of a CheckpointPolicy', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;
  let node = '';
  const uids: string[] = [];

  beforeAll(async () => {
    ns = await createTestNamespace('rp');
    sim = await startTestSimulator();
    op = await startInProcessOperator(sim, ns.name, { minHeartbeatInterval: 500 });
    node = await createKwokNode('rp');
  });
  afterAll(async () => {
    await op.stop();
    await sim.close();
    if (node !== '') await api().core.deleteNode({ name: node });
    await ns.cleanup();
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${op.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const labels = () => ({ namespace: ns.name, policy: POLICY });
  const heartbeatsOf = (all: CheckpointObj[], uid: string) => all.filter((c) => c.metadata.labels?.['cedana.ai/pod-uid'] === uid && c.metadata.labels['cedana.ai/trigger'] === 'heartbeat');
  /** The completion time (ms) of each pod's newest Ready checkpoint, as the apiserver has them. */
  const newestReady = (all: CheckpointObj[]): (number | undefined)[] =>
    uids.map((uid) => {
      const times = all.filter((c) => c.status?.phase === 'Ready' && (c.metadata.labels?.['cedana.ai/pod-uid'] === uid || c.status.podUID === uid)).map((c) => Date.parse(c.status?.completedAt ?? ''));
      return times.length > 0 ? Math.max(...times) : undefined;
    });
  const until = (reason: string, what: string, test: (c: Condition) => boolean = () => true) =>
    waitFor(
      async () => {
        const p = await getPolicy(ns.name);
        const c = recoveryPoint(p);
        return c?.reason === reason && test(c) ? p : undefined;
      },
      { what, timeoutMs: 60_000, intervalMs: 200 },
    );

  it('no Ready checkpoint yet, the pods past the bound: False NoReadyCheckpoint, in the status, the columns and the metrics', async () => {
    // Every checkpoint Cedana starts ends in error: the heartbeats are taken, none turns Ready.
    sim.setFaults({ actionErrorRate: 1 });
    for (const name of PODS) uids.push(await podOnNode(ns.name, name, node, { app: 'rp-worker' }));
    await waitFor(async () => (await api().core.listNamespacedPod({ namespace: ns.name })).items.filter((p) => p.status?.phase === 'Running').length === PODS.length, { what: 'the pods Running' });
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', POLICY, {
      selector: { matchLabels: { app: 'rp-worker' } },
      heartbeat: { interval: INTERVAL },
      recoveryPoint: { maxAge: `${String(BOUND_S)}s` },
    });

    // Both pods have run longer than the bound without a Ready checkpoint.
    await until('NoReadyCheckpoint', 'RecoveryPointMet False NoReadyCheckpoint for both pods', (c) => c.message.startsWith(`2 of 2 protected pod(s) past the ${String(BOUND_S)}s bound`));
    // Heartbeats were taken and failed: a Failed one of each pod, and still no Ready one.
    await waitFor(
      async () => {
        const all = await listCheckpoints(ns.name);
        return uids.every((uid) => heartbeatsOf(all, uid).some((c) => c.status?.phase === 'Failed'));
      },
      { what: 'a Failed heartbeat of each pod', timeoutMs: 60_000 },
    );
    expect((await listCheckpoints(ns.name)).filter((c) => c.status?.phase === 'Ready')).toEqual([]);

    const policy = await getPolicy(ns.name);
    const rp = recoveryPoint(policy);
    expect(rp).toMatchObject({ status: 'False', reason: 'NoReadyCheckpoint' });
    for (const name of PODS) expect(rp?.message).toMatch(new RegExp(`${name} \\(no Ready checkpoint in \\d+s\\)`));
    expect(policy.status).toMatchObject({ protectedPods: 2, podsWithoutCheckpoint: 2, worstCheckpointAge: '' });

    const row = await printedRow(ns.name);
    expect(row).toMatchObject({ PROTECTED: '2', HEARTBEAT: INTERVAL, 'RECOVERY-POINT': 'False', 'NO-CHECKPOINT': '2', 'WORST-AGE': '' });

    const text = await scrape();
    expect(sample(text, 'cedana_operator_protected_pods', labels())).toBe(2);
    expect(sample(text, 'cedana_operator_protected_pods_without_checkpoint', labels())).toBe(2);
    expect(sample(text, 'cedana_operator_protected_pods_past_recovery_point', labels())).toBe(2);
    expect(sample(text, 'cedana_operator_recovery_point_bound_seconds', labels())).toBe(BOUND_S);
    // No pod has a Ready checkpoint: no age series (an age of 0 would read as "fresh").
    expect(sample(text, 'cedana_operator_protected_pod_checkpoint_age_seconds', labels())).toBeUndefined();
  });

  it('every pod with a Ready heartbeat within the bound: True WithinBound', async () => {
    sim.setFaults({ actionErrorRate: 0 });
    const policy = await until('WithinBound', 'RecoveryPointMet True WithinBound');
    const rp = recoveryPoint(policy);
    expect(rp?.status).toBe('True');
    expect(rp?.message).toMatch(new RegExp(`^2 protected pod\\(s\\) within the ${String(BOUND_S)}s bound; worst checkpoint age \\d+s$`));
    expect(policy.status).toMatchObject({ protectedPods: 2, podsWithoutCheckpoint: 0 });
    // Written with the condition, from the same computation: within the bound.
    expect(ageSeconds(policy.status?.worstCheckpointAge ?? '')).toBeLessThanOrEqual(BOUND_S);
    // The pods were past the bound without a checkpoint: True means each has a Ready heartbeat now.
    const all = await listCheckpoints(ns.name);
    for (const uid of uids) expect(heartbeatsOf(all, uid).some((c) => c.status?.phase === 'Ready' && c.spec.reason === 'heartbeat')).toBe(true);

    const row = await printedRow(ns.name);
    expect(row).toMatchObject({ PROTECTED: '2', 'RECOVERY-POINT': 'True', 'NO-CHECKPOINT': '0' });
    expect(ageSeconds(row['WORST-AGE'] ?? '')).toBeGreaterThanOrEqual(0);

    const text = await waitFor(
      async () => {
        const t = await scrape();
        return sample(t, 'cedana_operator_protected_pods_without_checkpoint', labels()) === 0 && sample(t, 'cedana_operator_protected_pods_past_recovery_point', labels()) === 0 ? t : undefined;
      },
      { what: 'a scrape with every pod checkpointed and none past the bound' },
    );
    const age = sample(text, 'cedana_operator_protected_pod_checkpoint_age_seconds', labels());
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual(BOUND_S);
    expect(sample(text, 'cedana_operator_recovery_point_bound_seconds', labels())).toBe(BOUND_S);
  });

  it('heartbeats failing, the newest Ready checkpoints aged past the bound: False CheckpointTooOld; the metric is the age at scrape time', async () => {
    const failedBefore = (await listCheckpoints(ns.name)).filter((c) => c.status?.phase === 'Failed').length;
    sim.setFaults({ actionErrorRate: 1 });
    const policy = await until('CheckpointTooOld', 'RecoveryPointMet False CheckpointTooOld for both pods', (c) => c.message.startsWith(`2 of 2 protected pod(s) past the ${String(BOUND_S)}s bound`));
    const rp = recoveryPoint(policy);
    expect(rp?.status).toBe('False');
    for (const name of PODS) expect(rp?.message).toMatch(new RegExp(`${name} \\(newest Ready checkpoint \\d+s old\\)`));
    expect(policy.status).toMatchObject({ protectedPods: 2, podsWithoutCheckpoint: 0 });
    expect(ageSeconds(policy.status?.worstCheckpointAge ?? '')).toBeGreaterThan(BOUND_S - 1);
    // The heartbeats go on being taken, and fail.
    await waitFor(async () => (await listCheckpoints(ns.name)).filter((c) => c.status?.phase === 'Failed').length > failedBefore, { what: 'a heartbeat failing' });

    const row = await printedRow(ns.name);
    expect(row).toMatchObject({ PROTECTED: '2', 'RECOVERY-POINT': 'False', 'NO-CHECKPOINT': '0' });
    expect(ageSeconds(row['WORST-AGE'] ?? '')).toBeGreaterThan(BOUND_S - 1);

    // Nothing turns Ready any more: the worst age is now minus the oldest of the newest Ready
    // checkpoints, at the moment of the scrape (the operator's clock is this process's).
    const before = newestReady(await listCheckpoints(ns.name));
    const t0 = Date.now();
    const text = await scrape();
    const t1 = Date.now();
    expect(newestReady(await listCheckpoints(ns.name))).toEqual(before);
    const oldest = Math.min(...before.map((t) => t ?? NaN));
    expect(Number.isFinite(oldest)).toBe(true);
    const age = sample(text, 'cedana_operator_protected_pod_checkpoint_age_seconds', labels());
    expect(age).toBeGreaterThanOrEqual(Math.floor((t0 - oldest) / 1000));
    expect(age).toBeLessThanOrEqual(Math.floor((t1 - oldest) / 1000));
    expect(age).toBeGreaterThanOrEqual(BOUND_S);
    expect(sample(text, 'cedana_operator_protected_pods_without_checkpoint', labels())).toBe(0);
    expect(sample(text, 'cedana_operator_protected_pods_past_recovery_point', labels())).toBe(2);
    expect(sample(text, 'cedana_operator_recovery_point_bound_seconds', labels())).toBe(BOUND_S);
    sim.setFaults({ actionErrorRate: 0 });
  });
});
