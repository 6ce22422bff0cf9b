// Chaos benchmark (not a test): N PodCheckpoints, one per pod, while Cedana misbehaves, the operator
// is SIGKILLed and restarted, and kube-apiserver is stopped for a while. It measures what issue 16's
// goals name: checkpoints lost (never Ready), duplicate Cedana actions (more than one checkpoint action
// for a pod), the delay of each PodCheckpoint's Ready behind Cedana's own ready, and how soon the
// controllers act again after the outage. One JSON object on stdout; progress on stderr.
//
//   npm run bench:chaos                            N = 200, 4 kills, a 60 s outage
//   npm run bench:chaos -- --n 50 --kills 3 --outage-s 30
//
// Four processes: a control plane (etcd + kube-apiserver on loopback; pods bound by spec.nodeName,
// no scheduler or kubelet), the Cedana simulator (`bin/cedana-operator simulator`, faults on every
// call the operator makes), the operator (`bin/cedana-operator run`, flags as a Deployment gives them,
// no leader election) and this one. The run:
//   1. 70 % of the PodCheckpoints are created in batches while the operator is SIGKILLed and
//      restarted (--kills - 1 times, every few seconds);
//   2. 20 % are created, and a second later kube-apiserver is killed (scripts/local-cluster.sh
//      apiserver-stop --kill, SIGKILL by its pid) for --outage-s, then started again on the same port (apiserver-start);
//   3. once it answers, the last 10 % are created (the probe: only working informers and controllers
//      can act on new objects), and when the operator has acted on them it is SIGKILLed once more;
//   4. everything settles (bounded by --timeout-s), then the figures are read.
// Cedana's own ready is the simulator's `checkpoint_completed_timestamp` of the action the
// PodCheckpoint recorded (GET /v2/actions, read with the faults cleared); the PodCheckpoint's Ready is
// when this process's watch saw it (its watch retries every 100-500 ms, so after the outage it sees
// within half a second what the operator wrote). Every process is stopped by its pid at the end, on
// an error and on SIGINT.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { z } from 'zod';
import { PodCheckpoints } from '../src/api/kinds.ts';
import type { PodCheckpoint } from '../src/api/podcheckpoint.ts';
import { applyManifestDir, waitForCrdsEstablished } from '../src/kube/apply.ts';
import { Informer } from '../src/kube/informer.ts';
import { mapBounded } from '../src/util/concurrency.ts';
import { repoRoot, startLocalCluster, type LocalCluster } from '../src/dev/local-cluster.ts';
import { spawnOperator, spawnSimulator, type OperatorProcess, type SimulatorProcess } from './processes.ts';
import { sleep } from '../src/util/backoff.ts';
import { accessFromKubeConfig } from '../src/kube/access.ts';

const TOKEN = 'bench-token-0123456789abcdef';
const NAMESPACE = 'chaos';
const NODE = 'chaos-node-0';

// The issue's goals.
const GOALS = { lost: 0, duplicates: 0, worstReadyDelayMs: 30_000, medianReadyDelayMs: 3_000, resumeMs: 5_000 };

interface Options {
  n: number;
  kills: number;
  outageMs: number;
  stepMs: number;
  faults: { errorRate: string; rateLimitRate: string; hangRate: string; dropAfterCommitRate: string; malformedRate: string };
  seed: string | undefined;
  cedanaTimeout: string;
  pollInterval: string;
  pollIntervalMax: string;
  workers: number;
  killEveryMs: number;
  timeoutMs: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      n: { type: 'string' },
      kills: { type: 'string' },
      'outage-s': { type: 'string' },
      'step-ms': { type: 'string' },
      'error-rate': { type: 'string' },
      'rate-limit-rate': { type: 'string' },
      'hang-rate': { type: 'string' },
      'drop-after-commit-rate': { type: 'string' },
      'malformed-rate': { type: 'string' },
      seed: { type: 'string' },
      'cedana-timeout': { type: 'string' },
      'poll-interval': { type: 'string' },
      'poll-interval-max': { type: 'string' },
      workers: { type: 'string' },
      'kill-every-s': { type: 'string' },
      'timeout-s': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stderr.write(`Usage: npm run bench:chaos -- [flags]
  --n N                        PodCheckpoints, one per pod (env BENCH_N; default 200)
  --kills K                    operator SIGKILLs: K-1 before the outage, 1 after it (default 4)
  --kill-every-s S             seconds between the kills before the outage (default 6)
  --outage-s S                 how long kube-apiserver stays stopped (default 60; 0: no outage)
  --step-ms MS                 simulator: time per action status step, 3 steps to ready (default 200)
  --error-rate F               simulator: share of calls answered 500/503 (default 0.2)
  --rate-limit-rate F          simulator: share answered 429 (default 0.1)
  --hang-rate F                simulator: share never answered (default 0.05)
  --drop-after-commit-rate F   simulator: share that take effect and lose their answer (default 0.05)
  --malformed-rate F           simulator: share that take effect and get a malformed 200 (default 0.05)
  --seed N                     simulator: seed of its fault PRNG (default random; printed)
  --cedana-timeout D           operator: per-call timeout (default 2s)
  --poll-interval D            operator (default 1s, the chart's)
  --poll-interval-max D        operator (default 10s, the chart's)
  --workers W                  operator (default 16, the chart's)
  --timeout-s S                the whole run, cluster start included (default 900)
`);
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name}: want a whole number >= ${String(min)}, got "${raw}"`);
    return v;
  };
  const share = (name: string, raw: string | undefined, fallback: string): string => {
    const v = raw ?? fallback;
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1) throw new Error(`${name}: want a number from 0 to 1, got "${v}"`);
    return v;
  };
  return {
    n: int('--n', values.n ?? process.env.BENCH_N, 200, 10),
    kills: int('--kills', values.kills, 4, 0),
    killEveryMs: int('--kill-every-s', values['kill-every-s'], 6, 1) * 1000,
    outageMs: int('--outage-s', values['outage-s'], 60, 0) * 1000,
    stepMs: int('--step-ms', values['step-ms'], 200, 0),
    faults: {
      errorRate: share('--error-rate', values['error-rate'], '0.2'),
      rateLimitRate: share('--rate-limit-rate', values['rate-limit-rate'], '0.1'),
      hangRate: share('--hang-rate', values['hang-rate'], '0.05'),
      dropAfterCommitRate: share('--drop-after-commit-rate', values['drop-after-commit-rate'], '0.05'),
      malformedRate: share('--malformed-rate', values['malformed-rate'], '0.05'),
    },
    seed: values.seed,
    cedanaTimeout: values['cedana-timeout'] ?? '2s',
    pollInterval: values['poll-interval'] ?? '1s',
    pollIntervalMax: values['poll-interval-max'] ?? '10s',
    workers: int('--workers', values.workers, 16, 1),
    timeoutMs: int('--timeout-s', values['timeout-s'], 900, 60) * 1000,
  };
}

const say = (msg: string): void => {
  process.stderr.write(`chaos: ${msg}\n`);
};
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;
const percentile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
const ratio = (measured: number, goal: number): number | null => (Number.isFinite(measured) ? (goal === 0 ? (measured === 0 ? 0 : null) : round(measured / goal, 2)) : null);

// What this benchmark reads from the simulator: zod at the boundary.
const SimStats = z.object({ calls: z.record(z.string(), z.number()), faults: z.record(z.string(), z.number()), checkpointActionsByPod: z.record(z.string(), z.array(z.string())) });
const SimActions = z.array(z.object({ action_id: z.string(), type: z.string(), status: z.string(), action_timestamp: z.string(), checkpoint_completed_timestamp: z.string().nullable() }));
const SimFaults = z.object({ seed: z.number().nullable() });

async function sim<T>(s: SimulatorProcess, method: 'GET' | 'DELETE', path: string, schema: z.ZodType<T>): Promise<T> {
  const res = await fetch(`${s.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`simulator ${method} ${path}: HTTP ${String(res.status)}`);
  return schema.parse(await res.json());
}

async function waitUntil<T>(what: string, deadline: number, fn: () => Promise<T | undefined> | T | undefined, intervalMs = 100): Promise<T> {
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await sleep(intervalMs);
  }
}

/** What this process's watch saw of one PodCheckpoint (Date.now() of the events). */
interface Seen {
  pod: string;
  phase: 'A' | 'B' | 'C';
  createdAt?: number;
  readyAt?: number;
  failed?: string;
  actionId?: string;
  submitStartedAt?: number;
}

async function run(o: Options): Promise<Record<string, unknown>> {
  const began = Date.now();
  const deadline = began + o.timeoutMs;
  say(
    `N=${String(o.n)}, ${String(o.kills)} kills, outage ${String(o.outageMs / 1000)} s; faults ${JSON.stringify(o.faults)}; operator --cedana-timeout=${o.cedanaTimeout} --poll-interval=${o.pollInterval} --poll-interval-max=${o.pollIntervalMax} --workers=${String(o.workers)}`,
  );
  say('starting a control plane (etcd + kube-apiserver)');
  const cluster: LocalCluster = await startLocalCluster({ prefix: 'cedana-bench-chaos-' });
  let simulator: SimulatorProcess | undefined;
  let op: OperatorProcess | undefined;
  let watch: Informer<'PodCheckpoint', PodCheckpoint> | undefined;
  let apiserverDown = false;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await waitForCrdsEstablished(kc, await applyManifestDir(kc, join(repoRoot, 'crds'), 'bench'));
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await core.createNode({ body: { metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } } } });
    const pods = Array.from({ length: o.n }, (_, i) => `p-${String(i).padStart(4, '0')}`);
    const created = await mapBounded(pods, 20, (name) =>
      core.createNamespacedPod({
        namespace: NAMESPACE,
        body: { metadata: { name, labels: { app: 'chaos' } }, spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'registry.invalid/chaos:1' }] } },
      }),
    );
    const refused = created.find((r) => r.status === 'rejected');
    if (refused) throw new Error(`a pod could not be created: ${String(refused.reason)}`);
    const podByUid = new Map<string, string>();
    for (const r of created) if (r.status === 'fulfilled' && r.value.metadata?.uid && r.value.metadata.name) podByUid.set(r.value.metadata.uid, r.value.metadata.name);
    say(`${String(o.n)} pods bound to ${NODE}`);

    const f = o.faults;
    simulator = await spawnSimulator({
      token: TOKEN,
      latencyMs: 0,
      stepMs: o.stepMs,
      extraArgs: [
        `--error-rate=${f.errorRate}`,
        `--rate-limit-rate=${f.rateLimitRate}`,
        `--hang-rate=${f.hangRate}`,
        `--drop-after-commit-rate=${f.dropAfterCommitRate}`,
        `--malformed-rate=${f.malformedRate}`,
        ...(o.seed === undefined ? [] : [`--seed=${o.seed}`]),
      ],
    });
    const s = simulator;
    const seed = (await sim(s, 'GET', '/_sim/faults', SimFaults)).seed;
    say(`simulator (pid ${String(s.pid)}) on ${s.url}, fault seed ${String(seed)}`);

    // This process's own watch: when each PodCheckpoint was created, recorded its action, became Ready.
    const seen = new Map<string, Seen>();
    let outageEndedAt: number | undefined = undefined; // set once it answers again; the watch reads it
    let firstOperatorWriteAfterOutage: number | undefined;
    watch = new Informer({ kind: PodCheckpoints, namespace: NAMESPACE, access: accessFromKubeConfig(kc), logger: pino({ level: 'silent' }), backoff: { baseMs: 100, maxMs: 500 } });
    watch.onEvent((e) => {
      if (e.type === 'delete') return;
      const at = Date.now();
      const c = e.obj;
      const x = seen.get(c.metadata.name);
      if (!x) return;
      if (e.type === 'update' && outageEndedAt !== undefined && firstOperatorWriteAfterOutage === undefined) firstOperatorWriteAfterOutage = at;
      x.createdAt ??= at;
      if (c.status?.actionId) x.actionId = c.status.actionId;
      if (c.status?.submitStartedAt) x.submitStartedAt ??= Date.parse(c.status.submitStartedAt);
      if (c.status?.phase === 'Ready') x.readyAt ??= at;
      if (c.status?.phase === 'Failed') x.failed ??= c.status.message ?? 'Failed';
    });
    watch.start();
    await watch.waitForSync();

    // The operator, restarted after each kill as its Deployment would restart it (at once, here).
    const flags = [`--cedana-timeout=${o.cedanaTimeout}`, `--poll-interval=${o.pollInterval}`, `--poll-interval-max=${o.pollIntervalMax}`, `--workers=${String(o.workers)}`];
    const startOperator = (): Promise<OperatorProcess> => spawnOperator({ cedanaUrl: s.url, token: TOKEN, kubeconfig: cluster.kubeconfig, namespaces: [NAMESPACE], flags });
    let logLines = 0;
    op = await startOperator();
    // at_s: since the first PodCheckpoint was created; restartMs: from the SIGKILL to 'operator started'.
    const kills: { at_s: number; restartMs: number }[] = [];
    const down: { from: number; to: number }[] = []; // the operator dead or starting: SIGKILL to 'operator started'
    let workloadStartedAt = Date.now();
    const killAndRestart = async (): Promise<void> => {
      const victim = op;
      if (!victim) return;
      const t = Date.now();
      process.kill(victim.pid, 'SIGKILL');
      await victim.exited;
      logLines += victim.lines();
      op = await startOperator();
      kills.push({ at_s: round((t - workloadStartedAt) / 1000), restartMs: Date.now() - t });
      down.push({ from: t, to: Date.now() });
      say(`operator SIGKILLed (pid ${String(victim.pid)}) and restarted (pid ${String(op.pid)})`);
    };

    const createCheckpoints = async (names: string[], phase: Seen['phase']): Promise<void> => {
      for (const pod of names) seen.set(`${pod}-ckpt`, { pod, phase });
      const results = await mapBounded(names, 10, (pod) =>
        waitUntil(`PodCheckpoint ${pod}-ckpt created`, deadline, () =>
          custom
            .createNamespacedCustomObject({
              group: 'cedana.ai',
              version: 'v1alpha1',
              namespace: NAMESPACE,
              plural: 'podcheckpoints',
              body: { apiVersion: 'cedana.ai/v1alpha1', kind: 'PodCheckpoint', metadata: { name: `${pod}-ckpt` }, spec: { podName: pod } },
            })
            .then(() => true)
            .catch((err: unknown) => {
              if ((err as { code?: number }).code === 409) return true; // a retried create that had landed
              throw err;
            }),
        ),
      );
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw new Error(String(failed.reason));
    };

    // ---- 1. 70 % in batches of 10 every 500 ms, with kills - 1 kills every killEveryMs
    const nA = Math.floor(o.n * 0.7);
    const nC = Math.max(1, Math.floor(o.n * 0.1));
    const nB = o.n - nA - nC;
    const [a, b, c] = [pods.slice(0, nA), pods.slice(nA, nA + nB), pods.slice(nA + nB)];
    const killsBefore = Math.max(0, o.kills - 1);
    workloadStartedAt = Date.now();
    const creating = (async () => {
      for (let i = 0; i < a.length; i += 10) {
        await createCheckpoints(a.slice(i, i + 10), 'A');
        await sleep(500);
      }
    })();
    for (let k = 0; k < killsBefore; k++) {
      await sleep(k === 0 ? Math.min(3_000, o.killEveryMs) : o.killEveryMs);
      await killAndRestart();
    }
    await creating;
    const readyCount = (): number => [...seen.values()].filter((x) => x.readyAt !== undefined).length;
    say(`phase 1 done: ${String(nA)} created, ${String(readyCount())} Ready so far`);

    // ---- 2. 20 % more, then the outage while they are in flight
    await createCheckpoints(b, 'B');
    await sleep(1_000);
    const outageStartedAt = Date.now();
    if (o.outageMs > 0) {
      say(`stopping kube-apiserver for ${String(o.outageMs / 1000)} s (${String(readyCount())} of ${String(seen.size)} Ready)`);
      apiserverDown = true;
      await cluster.stopApiserver({ kill: true }); // a crash: the outage starts at once
    }
    const stoppedAt = Date.now();
    if (o.outageMs > 0) {
      await sleep(o.outageMs);
      await cluster.startApiserver();
      apiserverDown = false;
    }
    outageEndedAt = Date.now(); // startApiserver resolves once /readyz answers (polled every 200 ms)
    say(`kube-apiserver answers again (down ${String(Math.round((outageEndedAt - stoppedAt) / 1000))} s); creating the probe (${String(nC)} PodCheckpoints)`);

    // ---- 3. the probe: new objects only working informers and controllers act on
    await createCheckpoints(c, 'C');
    const probeCreatedAt = Date.now();
    const resumeDeadline = Math.min(deadline, Date.now() + 300_000);
    await waitUntil('the operator to act on a probe PodCheckpoint', resumeDeadline, () => (c.some((p) => seen.get(`${p}-ckpt`)?.submitStartedAt !== undefined) ? true : undefined), 50).catch(
      (err: unknown) => {
        say(String(err));
      },
    );
    if (o.kills > 0) {
      await sleep(2_000);
      await killAndRestart();
    }

    // ---- 4. settle
    let lastReport = 0;
    let timedOut = false;
    await waitUntil(
      `all ${String(o.n)} PodCheckpoints Ready`,
      deadline,
      () => {
        const all = [...seen.values()];
        const settled = all.filter((x) => x.readyAt !== undefined || x.failed !== undefined).length;
        if (Date.now() - lastReport > 5_000) {
          lastReport = Date.now();
          say(`+${String(Math.round((Date.now() - began) / 1000))} s: ${String(readyCount())} Ready, ${String(all.filter((x) => x.failed !== undefined).length)} Failed of ${String(o.n)}`);
        }
        return settled === o.n ? true : undefined;
      },
      100,
    ).catch((err: unknown) => {
      timedOut = true;
      say(String(err));
    });
    await sleep(2_000); // a late duplicate POST would show by now
    logLines += op.lines();

    // ---- figures: Cedana's view, with its faults cleared so that this process's reads go through
    await sim(s, 'DELETE', '/_sim/faults', z.unknown());
    const stats = await sim(s, 'GET', '/_sim/stats', SimStats);
    const actions = new Map((await sim(s, 'GET', '/v2/actions', SimActions)).map((x) => [x.action_id, x]));
    const actionsPerPod = new Map<string, string[]>();
    for (const [uid, ids] of Object.entries(stats.checkpointActionsByPod)) {
      const pod = podByUid.get(uid);
      if (pod !== undefined) actionsPerPod.set(pod, ids);
    }
    const duplicates = [...actionsPerPod].filter(([, ids]) => ids.length > 1);
    const all = [...seen.values()];
    const lost = all.filter((x) => x.readyAt === undefined);
    interface Delay {
      pod: string;
      phase: Seen['phase'];
      cedanaReadyAt: number;
      readyAt: number;
      raw: number;
      adjusted: number;
      inOutage: boolean;
      /** Its wait overlapped the outage or a time the operator was dead or starting after a SIGKILL. */
      disturbed: boolean;
    }
    const delays: Delay[] = [];
    let noCedanaReady = 0;
    for (const x of all) {
      const readyAt = x.readyAt;
      if (readyAt === undefined) continue;
      const id = x.actionId ?? actionsPerPod.get(x.pod)?.at(0);
      const done = Date.parse(actions.get(id ?? '')?.checkpoint_completed_timestamp ?? '');
      if (!Number.isFinite(done)) {
        noCedanaReady++;
        continue;
      }
      // While kube-apiserver was down nothing could be written: that part of the wait is the outage's.
      const inOutage = done >= outageStartedAt && done < outageEndedAt;
      const overlap = Math.max(0, Math.min(readyAt, outageEndedAt) - Math.max(done, outageStartedAt));
      const disturbed = overlap > 0 || down.some((d) => d.from < readyAt && d.to > done);
      delays.push({ pod: x.pod, phase: x.phase, cedanaReadyAt: done, readyAt, raw: readyAt - done, adjusted: readyAt - done - overlap, inOutage, disturbed });
    }
    const stat = (v: number[]): { n: number; median_ms: number; p90_ms: number; worst_ms: number } => {
      const sorted = [...v].sort((p, q) => p - q);
      return { n: sorted.length, median_ms: round(percentile(sorted, 0.5)), p90_ms: round(percentile(sorted, 0.9)), worst_ms: round(sorted.at(-1) ?? NaN) };
    };
    const adjusted = stat(delays.map((d) => d.adjusted));
    const raw = stat(delays.map((d) => d.raw));
    const outsideOutage = stat(delays.filter((d) => !d.inOutage).map((d) => d.raw));
    const probeActs = c.map((p) => seen.get(`${p}-ckpt`)?.submitStartedAt).filter((v): v is number => v !== undefined);
    const probePosts = c
      .flatMap((p) => actionsPerPod.get(p)?.slice(0, 1) ?? [])
      .map((id) => Date.parse(actions.get(id)?.action_timestamp ?? ''))
      .filter((v) => Number.isFinite(v));
    const resumeMs = probeActs.length > 0 && o.outageMs > 0 ? Math.min(...probeActs) - outageEndedAt : NaN;
    const worst = [...delays].sort((p, q) => q.adjusted - p.adjusted).slice(0, 5);

    return {
      benchmark: 'chaos',
      N: o.n,
      split: { beforeOutage: nA, inFlightAtOutage: nB, probeAfterOutage: nC },
      simulator: { faults: Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Number(v)])), seed, stepMs: o.stepMs, faultsInjected: stats.faults, calls: stats.calls },
      operator: { flags, leaderElect: false, kills, logLinesPerCheckpoint: round(logLines / o.n, 1) },
      outage: { requested_s: o.outageMs / 1000, stop_ms: stoppedAt - outageStartedAt, down_ms: outageEndedAt - stoppedAt },
      goals: {
        lost: { goal: GOALS.lost, measured: lost.length, ratio: ratio(lost.length, GOALS.lost), which: lost.slice(0, 10).map((x) => ({ pod: x.pod, phase: x.phase, failed: x.failed ?? null })) },
        duplicates: {
          goal: GOALS.duplicates,
          measured: duplicates.length,
          ratio: ratio(duplicates.length, GOALS.duplicates),
          extraActions: duplicates.reduce((n, [, ids]) => n + ids.length - 1, 0),
          which: duplicates.slice(0, 10).map(([pod, ids]) => ({ pod, actions: ids.length })),
        },
        worstReadyDelay: { goal_ms: GOALS.worstReadyDelayMs, measured_ms: adjusted.worst_ms, ratio: ratio(adjusted.worst_ms, GOALS.worstReadyDelayMs) },
        medianReadyDelay: { goal_ms: GOALS.medianReadyDelayMs, measured_ms: adjusted.median_ms, ratio: ratio(adjusted.median_ms, GOALS.medianReadyDelayMs) },
        resumeAfterOutage: { goal_ms: GOALS.resumeMs, measured_ms: Number.isFinite(resumeMs) ? resumeMs : null, ratio: ratio(resumeMs, GOALS.resumeMs) },
      },
      readyDelayBehindCedana: {
        counted:
          "PodCheckpoint Ready (this process's watch) minus the simulator's checkpoint_completed_timestamp of its action; adjusted: less the part of that wait when kube-apiserver was down (from its kill to /readyz answering again), when nothing could be written; raw: all of it",
        adjusted,
        raw,
        rawCedanaReadyOutsideOutage: outsideOutage,
        // Each with its wait overlapping neither the outage nor a kill-to-restart window: the faults' share.
        undisturbed: stat(delays.filter((d) => !d.disturbed).map((d) => d.raw)),
        byPhase: Object.fromEntries((['A', 'B', 'C'] as const).map((ph) => [ph, stat(delays.filter((d) => d.phase === ph).map((d) => d.adjusted))])),
        cedanaReadyDuringOutage: delays.filter((d) => d.inOutage).length,
        withoutCedanaReadyTime: noCedanaReady,
        worst: worst.map((d) => ({ pod: d.pod, createdIn: d.phase, adjusted_ms: d.adjusted, raw_ms: d.raw, cedanaReadyDuringOutage: d.inOutage, disturbed: d.disturbed })),
      },
      resumeAfterOutage: {
        counted: "from /readyz answering again: the operator's first act on a probe PodCheckpoint created then (its status.submitStartedAt, the intent written before the POST)",
        probeCreated_ms: probeCreatedAt - outageEndedAt,
        firstIntent_ms: Number.isFinite(resumeMs) ? resumeMs : null,
        firstCedanaPost_ms: probePosts.length > 0 ? Math.min(...probePosts) - outageEndedAt : null,
        lastProbeIntent_ms: probeActs.length > 0 ? Math.max(...probeActs) - outageEndedAt : null,
        probesActedOn: probeActs.length,
        firstOperatorWriteSeen_ms: firstOperatorWriteAfterOutage === undefined ? null : firstOperatorWriteAfterOutage - outageEndedAt,
      },
      timedOut,
      cores: availableParallelism(),
      hostLoadAvg1mAtEnd: round(loadavg()[0] ?? NaN, 2),
      runSeconds: round((Date.now() - began) / 1000),
    };
  } finally {
    await op?.stop();
    await watch?.stop();
    await simulator?.stop();
    if (apiserverDown) say('stopping the control plane with its apiserver down');
    await cluster.down();
  }
}

async function main(): Promise<void> {
  const o = options();
  const t = performance.now();
  const result = await run(o);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  say(`done in ${String(Math.round((performance.now() - t) / 1000))} s`);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
