// Drain benchmark (not a test): the eviction hold on the path every real drainer takes. N pods
// protected by Cedana's label (`cedana.ai/node-restore: "true"`, --cedana-labels=honour) on one node,
// drained with the built `kubectl drain` (the Eviction API; each eviction answered 429 is retried
// every 5 s), with no wait for the checkpoints first. The operator serves its eviction webhook and
// holds each pod's eviction until its evacuation checkpoint is Ready.
//
// Three processes, as bench/termination.ts: the operator (`bin/cedana-operator run --webhook=true`,
// its webhook on a loopback port named by a ValidatingWebhookConfiguration made before it starts;
// the operator patches its CA bundle in), the simulator (`bin/cedana-operator simulator
// --kubeconfig`: it plays Cedana's in-cluster side, so a checkpoint whose pod left first would end
// in error), and this one, which sets up, runs kubectl drain, watches pods and PodCheckpoints.
//
// It prints one JSON object per N: the time from the drain's start (kubectl spawned) to the last
// eviction allowed (the pod's deletion seen by this watch; deletionTimestamps as a cross-check), next
// to the simulator's own time to take the checkpoints (first action_timestamp to last
// checkpoint_completed_timestamp in GET /v2/actions), as a ratio; the evictions held and allowed
// (the operator's cedana_operator_evictions_total), and the Cedana checkpoint actions per pod
// (GET /_sim/stats). As a baseline, the same kubectl drain of N unprotected pods on another node
// just before (the webhook allows them at once): kubectl's own pace, its client-side rate limiter
// (5 QPS) included, which a drain of 50 pods meets (its waits are counted from its --v=3 log).
// Nothing about time is asserted.
//
//   npm run bench:drain                       N = 10, then N = 50; L = 20 ms
//   npm run bench:drain -- --n 100 --latency-ms 50
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { PodCheckpoints, Pods } from '../src/api/kinds.ts';
import type { Pod } from '../src/api/pod.ts';
import type { PodCheckpoint } from '../src/api/podcheckpoint.ts';
import { applyManifestDir, waitForCrdsEstablished } from '../src/kube/apply.ts';
import { Informer } from '../src/kube/informer.ts';
import { mapBounded } from '../src/util/concurrency.ts';
import { clusterScript, repoRoot, startLocalCluster, type LocalCluster } from '../src/dev/local-cluster.ts';
import { createLocalEvictionWebhook, freeLoopbackPort } from '../src/dev/local-webhook.ts';
import { pick, scrape, sum } from './prometheus.ts';
import { cpuSecondsOf, runTracked, spawnOperator, spawnSimulator, waitUntil, type Child, type OperatorProcess, type SimulatorProcess } from './processes.ts';
import { sleep } from '../src/util/backoff.ts';
import { accessFromKubeConfig } from '../src/kube/access.ts';

const TOKEN = 'bench-token-0123456789abcdef';
const NAMESPACE = 'bench';
const NODE = 'bench-node-0';
const BASELINE_NODE = 'bench-node-baseline';
const WEBHOOK_CONFIG = 'cedana-operator-bench-drain';
const DRAINER_RETRY_MS = 5000; // kubectl drain's wait between evictions answered 429

interface Options {
  ns: number[];
  latencyMs: number;
  concurrency: number;
  stepMs: number;
  pollIntervalMs: number;
  pollIntervalMaxMs: number;
  evictionHoldMax: string | undefined;
  timeoutS: number;
  logLevel: string;
  kubectlV: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      n: { type: 'string' },
      'latency-ms': { type: 'string' },
      concurrency: { type: 'string' },
      'step-ms': { type: 'string' },
      'poll-interval-ms': { type: 'string' },
      'poll-interval-max-ms': { type: 'string' },
      'eviction-hold-max': { type: 'string' },
      'timeout-s': { type: 'string' },
      'log-level': { type: 'string' },
      'kubectl-v': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stderr.write(`Usage: npm run bench:drain -- [flags]
  --n LIST                  protected pods on the drained node, one run each (env BENCH_N; default 10,50)
  --latency-ms L            simulator latency per Cedana call (env BENCH_LATENCY_MS; default 20)
  --concurrency C           operator workers and terminationConcurrency (default 32)
  --step-ms MS              simulator: time per action status step, 3 steps to ready (default 100)
  --poll-interval-ms MS     operator pollInterval (default 100)
  --poll-interval-max-ms MS operator pollIntervalMax (default 1000)
  --eviction-hold-max D     operator --eviction-hold-max (default: the operator's, 20s)
  --timeout-s S             kubectl drain --timeout (default 300)
  --log-level LEVEL         the operator's LOG_LEVEL (default info, the chart's)
  --kubectl-v N             kubectl drain's --v (default 3: its client-side throttling waits are counted)
`);
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name}: want a whole number >= ${String(min)}, got "${raw}"`);
    return v;
  };
  const nList = values.n ?? process.env.BENCH_N ?? '10,50';
  return {
    ns: nList.split(',').map((s) => int('--n', s.trim(), 0, 1)),
    latencyMs: int('--latency-ms', values['latency-ms'] ?? process.env.BENCH_LATENCY_MS, 20, 0),
    concurrency: int('--concurrency', values.concurrency, 32, 1),
    stepMs: int('--step-ms', values['step-ms'], 100, 0),
    pollIntervalMs: int('--poll-interval-ms', values['poll-interval-ms'], 100, 50),
    pollIntervalMaxMs: int('--poll-interval-max-ms', values['poll-interval-max-ms'], 1000, 50),
    evictionHoldMax: values['eviction-hold-max'],
    timeoutS: int('--timeout-s', values['timeout-s'], 300, 1),
    logLevel: values['log-level'] ?? 'info',
    kubectlV: int('--kubectl-v', values['kubectl-v'], 3, 0),
  };
}

const say = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;
const percentile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
function summary(values: number[]): { p50_ms: number; max_ms: number; min_ms: number } {
  const s = [...values].sort((a, b) => a - b);
  return { min_ms: round(s[0] ?? NaN), p50_ms: round(percentile(s, 0.5)), max_ms: round(s.at(-1) ?? NaN) };
}

interface SimStats {
  calls: Record<string, number>;
  checkpointActionsByPod: Record<string, string[]>;
}
interface SimAction {
  action_id: string;
  action_timestamp: string;
  checkpoint_completed_timestamp: string | null;
  status: string;
  details: string | null;
}

async function simGet<T>(sim: SimulatorProcess, path: string): Promise<T> {
  const res = await fetch(`${sim.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`simulator GET ${path}: HTTP ${String(res.status)}`);
  return (await res.json()) as T;
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => {
      resolve(false);
    });
  });

/** The kubectl built with the control plane, found as the demo finds it. */
function kubectlPath(): string {
  const r = spawnSync('sh', [clusterScript, 'build'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bin = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || bin === '') throw new Error(`sh ${clusterScript} build: exit ${String(r.status)}`);
  return join(bin, 'kubectl');
}

async function run(o: Options, n: number, kubectl: string): Promise<Record<string, unknown>> {
  const started = performance.now();
  say(`N=${String(n)}: starting a control plane (etcd + kube-apiserver)`);
  const cluster: LocalCluster = await startLocalCluster({ prefix: 'cedana-bench-drain-' });
  let sim: SimulatorProcess | undefined;
  let op: OperatorProcess | undefined;
  let drain: Child | undefined;
  let removeWebhook: (() => Promise<void>) | undefined;
  let podWatch: Informer<'Pod', Pod> | undefined;
  let ckptWatch: Informer<'PodCheckpoint', PodCheckpoint> | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await waitForCrdsEstablished(kc, await applyManifestDir(kc, join(repoRoot, 'crds'), 'bench'));

    // ---- setup: namespace, two Nodes (no kubelet): N label-protected pods on the one drained for
    // the figures, N unprotected pods on another, drained first as the baseline (kubectl's own pace)
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const createPods = async (node: string, prefix: string, labels: Record<string, string>): Promise<Map<string, string>> => {
      await core.createNode({ body: { metadata: { name: node, labels: { 'kubernetes.io/hostname': node, bench: 'true' } } } });
      const names = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
      const created = await mapBounded(names, 50, (name) =>
        core.createNamespacedPod({
          namespace: NAMESPACE,
          body: { metadata: { name, labels }, spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'registry.invalid/bench:1' }] } },
        }),
      );
      const refused = created.filter((r) => r.status === 'rejected');
      if (refused.length > 0) throw new Error(`${String(refused.length)} pods could not be created: ${String((refused[0] as PromiseRejectedResult).reason)}`);
      const byUid = new Map<string, string>();
      for (const r of created) if (r.status === 'fulfilled' && r.value.metadata?.uid && r.value.metadata.name) byUid.set(r.value.metadata.uid, r.value.metadata.name);
      return byUid;
    };
    const podByUid = await createPods(NODE, 'p', { app: 'bench', 'cedana.ai/node-restore': 'true' });
    const podNames = [...podByUid.values()].sort();
    const baselineByUid = await createPods(BASELINE_NODE, 'u', { app: 'bench-unprotected' });
    const uids = new Set([...podByUid.keys(), ...baselineByUid.keys()]);

    // ---- the simulator, its own process, playing Cedana's in-cluster side on this cluster
    sim = await spawnSimulator({ token: TOKEN, latencyMs: o.latencyMs, stepMs: o.stepMs, extraArgs: ['--kubeconfig', cluster.kubeconfig] });
    const simulator = sim;
    say(`N=${String(n)}: simulator (pid ${String(sim.pid)}) listening on ${sim.url}`);

    // ---- our watches: when each original pod went (deletion seen), when each checkpoint was Ready
    let t0 = Number.NaN;
    let t0Wall = Number.NaN;
    const goneAt = new Map<string, number>(); // pod name → ms since t0
    const deletionTimestamp = new Map<string, string>();
    podWatch = new Informer({ kind: Pods, namespace: NAMESPACE, access: accessFromKubeConfig(kc), logger: pino({ level: 'silent' }) });
    podWatch.onEvent((e) => {
      if (!uids.has(e.obj.metadata.uid ?? '')) return; // restored pods are new pods
      const name = e.obj.metadata.name;
      const dt = e.obj.metadata.deletionTimestamp;
      if (dt && !deletionTimestamp.has(name)) deletionTimestamp.set(name, dt instanceof Date ? dt.toISOString() : dt);
      if ((e.type === 'delete' || dt) && !goneAt.has(name)) goneAt.set(name, performance.now() - t0);
    });
    const readyAt = new Map<string, number>(); // pod name → ms since t0
    const createdAt = new Map<string, number>();
    const failed = new Map<string, string>();
    const checkpointNames = new Map<string, Set<string>>(); // pod name → its PodCheckpoints
    const recordedActions = new Set<string>(); // action ids some PodCheckpoint records
    ckptWatch = new Informer({ kind: PodCheckpoints, namespace: NAMESPACE, access: accessFromKubeConfig(kc), logger: pino({ level: 'silent' }) });
    ckptWatch.onEvent((e) => {
      if (e.type === 'delete') return;
      const pod = e.obj.spec.podName;
      if (!createdAt.has(pod)) createdAt.set(pod, performance.now() - t0);
      const names = checkpointNames.get(pod) ?? new Set<string>();
      checkpointNames.set(pod, names.add(e.obj.metadata.name));
      const actionId = e.obj.status?.actionId ?? e.obj.metadata.annotations?.['cedana.ai/action-id'];
      if (actionId) recordedActions.add(actionId);
      if (e.obj.status?.phase === 'Ready' && !readyAt.has(pod)) readyAt.set(pod, performance.now() - t0);
      if (e.obj.status?.phase === 'Failed') failed.set(pod, e.obj.status.message ?? 'Failed');
    });
    for (const w of [podWatch, ckptWatch]) w.start();
    await Promise.all([podWatch.waitForSync(), ckptWatch.waitForSync()]);

    // ---- the webhook's configuration first (the operator patches its CA bundle in), then the operator
    const webhookPort = await freeLoopbackPort();
    removeWebhook = await createLocalEvictionWebhook(kc, { name: WEBHOOK_CONFIG, port: webhookPort, namespaces: [NAMESPACE] });
    op = await spawnOperator({
      cedanaUrl: sim.url,
      token: TOKEN,
      kubeconfig: cluster.kubeconfig,
      namespaces: [NAMESPACE],
      logLevel: o.logLevel,
      flags: [
        `--workers=${String(o.concurrency)}`,
        `--termination-concurrency=${String(o.concurrency)}`,
        `--poll-interval=${String(o.pollIntervalMs)}ms`,
        `--poll-interval-max=${String(o.pollIntervalMaxMs)}ms`,
        '--cedana-timeout=10s',
        '--cedana-labels=honour',
        '--webhook=true',
        `--webhook-bind-address=127.0.0.1:${String(webhookPort)}`,
        `--webhook-config-name=${WEBHOOK_CONFIG}`,
        `--lease-namespace=${NAMESPACE}`,
        ...(o.evictionHoldMax !== undefined ? [`--eviction-hold-max=${o.evictionHoldMax}`] : []),
      ],
    });
    const operator = op;
    let operatorExit: number | null | undefined;
    void op.exited.then((code) => {
      operatorExit = code;
    });
    const alive = (): void => {
      if (operatorExit !== undefined) throw new Error(`the operator exited (code ${String(operatorExit)}); its last lines:\n${operator.tail()}`);
    };
    await waitUntil('the operator ready (caches synced)', 60_000, async () => {
      alive();
      return (await fetch(`${operator.httpUrl}/readyz`)).ok ? true : undefined;
    });
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    await waitUntil('the CA bundle patched in and the webhook listening', 60_000, async () => {
      alive();
      const vwc = await admission.readValidatingWebhookConfiguration({ name: WEBHOOK_CONFIG });
      return (vwc.webhooks?.[0]?.clientConfig.caBundle ?? '') !== '' && (await listening(webhookPort)) ? true : undefined;
    });
    say(`N=${String(n)}: operator (pid ${String(op.pid)}) ready, webhook on https://127.0.0.1:${String(webhookPort)}; draining ${BASELINE_NODE} (unprotected), then ${NODE} with kubectl drain`);
    await sleep(500);

    // kubectl drain of a node, at once, no wait for anything; resolves when it has exited and this
    // watch has seen every one of `names` deleted. Times in goneAt are ms since t0, set by the caller.
    const drainNode = async (node: string, names: string[]): Promise<{ code: number | null; out: string; exitMs: number }> => {
      const args = ['--kubeconfig', cluster.kubeconfig, 'drain', node, '--ignore-daemonsets', '--force', '--delete-emptydir-data', `--timeout=${String(o.timeoutS)}s`, `--v=${String(o.kubectlV)}`];
      const tracked = runTracked('kubectl drain', kubectl, args);
      drain = tracked.child;
      say(`N=${String(n)}: kubectl drain ${node} (pid ${String(drain.pid)}) started`);
      let lastReport = 0;
      const progress = setInterval(() => {
        const now = performance.now() - t0;
        if (now - lastReport < 2000) return;
        lastReport = now;
        say(
          `N=${String(n)}: +${(now / 1000).toFixed(1)} s: ${String(createdAt.size)} PodCheckpoints, ${String(readyAt.size)} Ready, ${String(names.filter((x) => goneAt.has(x)).length)} pods of ${node} evicted`,
        );
      }, 500);
      const r = await tracked.done.finally(() => {
        clearInterval(progress);
      });
      const exitMs = performance.now() - t0;
      alive();
      if (r.code !== 0) throw new Error(`kubectl drain ${node} exited ${String(r.code)}:\n${r.out.slice(-2000)}`);
      await waitUntil(`${String(names.length)} pod deletions seen`, 30_000, () => (names.every((x) => goneAt.has(x)) ? true : undefined), 20);
      return { ...r, exitMs };
    };

    // ---- the baseline: N unprotected pods (allowed at once, from the cache)
    const opBaseline = await scrape(`${op.httpUrl}/metrics`);
    const baselineNames = [...baselineByUid.values()];
    t0 = performance.now();
    const baseline = await drainNode(BASELINE_NODE, baselineNames);
    const baselineGone = baselineNames.map((x) => goneAt.get(x) ?? NaN);
    const opAfterBaseline = await scrape(`${op.httpUrl}/metrics`);
    await sleep(500);

    // ---- the measured part: the node of the protected pods
    const opBefore = await scrape(`${op.httpUrl}/metrics`);
    const cpu0 = { operator: await cpuSecondsOf(op.pid), simulator: await cpuSecondsOf(sim.pid), apiserver: await cpuSecondsOf(await cluster.pidOf('kube-apiserver')) };
    const load = loadavg();
    t0 = performance.now();
    t0Wall = Date.now();
    const result = await drainNode(NODE, podNames);
    const drainExitMs = result.exitMs;
    const cpu1 = { operator: await cpuSecondsOf(op.pid), simulator: await cpuSecondsOf(sim.pid), apiserver: await cpuSecondsOf(await cluster.pidOf('kube-apiserver')) };
    await sleep(300);
    const opAfter = await scrape(`${op.httpUrl}/metrics`);
    const stats = await simGet<SimStats>(simulator, '/_sim/stats');
    const actions = new Map((await simGet<SimAction[]>(simulator, '/v2/actions')).map((a) => [a.action_id, a]));

    // ---- figures
    const outcomes = (samples: typeof opAfter): Record<string, number> => Object.fromEntries(pick(samples, 'cedana_operator_evictions_total').map((s) => [s.labels.outcome ?? '', s.value]));
    const before = outcomes(opBefore);
    const evictions = Object.fromEntries(Object.entries(outcomes(opAfter)).map(([k, v]) => [k, v - (before[k] ?? 0)]));
    const holdCount = sum(pick(opAfter, 'cedana_operator_eviction_hold_seconds_count')) - sum(pick(opBefore, 'cedana_operator_eviction_hold_seconds_count'));
    const holdSum = sum(pick(opAfter, 'cedana_operator_eviction_hold_seconds_sum')) - sum(pick(opBefore, 'cedana_operator_eviction_hold_seconds_sum'));

    const actionsPerPod: number[] = [];
    const taken: { pod: string; id: string; postAccepted: number; completed: number | undefined; status: string; details: string | null }[] = [];
    for (const uid of podByUid.keys()) {
      const ids = stats.checkpointActionsByPod[uid] ?? [];
      actionsPerPod.push(ids.length);
      const pod = podByUid.get(uid) ?? '';
      for (const id of ids) {
        const a = actions.get(id);
        if (!a) continue;
        taken.push({
          pod,
          id,
          postAccepted: Date.parse(a.action_timestamp) - t0Wall,
          completed: a.checkpoint_completed_timestamp === null ? undefined : Date.parse(a.checkpoint_completed_timestamp) - t0Wall,
          status: a.status,
          details: a.details,
        });
      }
    }
    const notReady = taken.filter((x) => x.completed === undefined);
    // The checkpoints the hold waits for: the actions the PodCheckpoints record (all, should none be recorded).
    const recorded = taken.filter((x) => recordedActions.has(x.id));
    const counted = recorded.length > 0 ? recorded : taken;
    const spanOf = (xs: typeof taken): { first: number; last: number } => ({
      first: Math.min(...xs.map((x) => x.postAccepted)),
      last: Math.max(...xs.map((x) => x.completed ?? -Infinity)),
    });
    const { first: firstPost, last: lastCompleted } = spanOf(counted);
    const simulatorMs = lastCompleted - firstPost;
    const allSpan = spanOf(taken);
    const gone = podNames.map((p) => goneAt.get(p) ?? NaN);
    const lastAllowedMs = Math.max(...gone);
    // Per pod: how long after its checkpoint was taken (the simulator's clock) its eviction was let go
    // (this watch's), and any pod that left before its checkpoint was taken (none, if the hold works).
    const completedOf = new Map(counted.map((x) => [x.pod, x.completed]));
    const afterCheckpoint = podNames.map((p) => (goneAt.get(p) ?? NaN) - (completedOf.get(p) ?? NaN));
    const leftBeforeCheckpoint = podNames.filter((p) => !((goneAt.get(p) ?? NaN) >= (completedOf.get(p) ?? Infinity)));
    const dtSeconds = podNames
      .map((p) => deletionTimestamp.get(p))
      .filter((x): x is string => x !== undefined)
      .map((x) => Date.parse(x) - t0Wall);
    // A pod with more than one checkpoint action: when each was accepted, and whether a PodCheckpoint records it.
    const unrecorded = taken.filter((x) => !recordedActions.has(x.id));
    const duplicated = [...new Set(taken.map((x) => x.pod))].filter((p) => taken.filter((x) => x.pod === p).length > 1);
    const duplicates = duplicated.slice(0, 3).map((p) => ({
      pod: p,
      podCheckpoints: [...(checkpointNames.get(p) ?? [])],
      actions: taken.filter((x) => x.pod === p).map((x) => ({ postAccepted_ms: round(x.postAccepted), recordedByAPodCheckpoint: recordedActions.has(x.id), status: x.status })),
    }));
    // kubectl's own client-side rate limiter (klog at --v=3: each request it delayed, and by how much)
    const throttling = (out: string): Record<string, unknown> => {
      const unit: Record<string, number> = { s: 1000, ms: 1, µs: 0.001, us: 0.001 };
      const waits = [...out.matchAll(/delay="([\d.]+)(s|ms|µs|us)" reason="client-side throttling[^"]*" verb="(\w+)" URL="([^"]*)"/g)].map((m) => ({
        ms: Number(m[1]) * (unit[m[2] ?? ''] ?? NaN),
        what: `${m[3] ?? ''} ${(m[4] ?? '').endsWith('/eviction') ? 'eviction' : 'pod'}`,
      }));
      return {
        requestsDelayed: waits.length,
        byRequest: waits.reduce<Record<string, number>>((a, x) => ({ ...a, [x.what]: (a[x.what] ?? 0) + 1 }), {}),
        maxWait_ms: waits.length === 0 ? 0 : round(Math.max(...waits.map((x) => x.ms))),
      };
    };
    if (process.env.BENCH_KUBECTL_OUT) await writeFile(process.env.BENCH_KUBECTL_OUT, result.out);
    const cpu = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b !== undefined ? round(b - a, 2) : null);
    return {
      benchmark: 'drain',
      drainer: 'kubectl drain (built with the control plane; 429 retried every 5 s)',
      operatorProcess: 'separate',
      simulatorProcess: 'separate, --kubeconfig (a checkpoint whose pod left first ends in error)',
      N: n,
      L_ms: o.latencyMs,
      C: o.concurrency,
      stepMs: o.stepMs,
      drainerRetry_ms: DRAINER_RETRY_MS,
      // the headline: drain start → last eviction allowed, against the simulator's own time to take the checkpoints
      drainToLastEvictionAllowed_ms: round(lastAllowedMs),
      simulatorCheckpoints_ms: round(simulatorMs),
      ratio: round(lastAllowedMs / simulatorMs, 2),
      // the last eviction allowed, less the baseline's: what the hold added to kubectl's own pace
      holdAddedToDrain_ms: round(lastAllowedMs - Math.max(...baselineGone)),
      drainExit_ms: round(drainExitMs),
      drainExitCode: result.code,
      // kubectl's own client-side rate limiter (client-go, 5 QPS, burst 10; from its --v=3 log): each
      // request it held back, and the longest wait
      kubectlClientThrottling: throttling(result.out),
      // The same kubectl drain of N unprotected pods on another node, just before (the webhook allows them at once)
      baselineUnprotected: {
        drainToLastEvictionAllowed_ms: round(Math.max(...baselineGone)),
        drainExit_ms: round(baseline.exitMs),
        evictions: Object.fromEntries(Object.entries(outcomes(opAfterBaseline)).map(([k, v]) => [k, v - (outcomes(opBaseline)[k] ?? 0)])),
        kubectlClientThrottling: throttling(baseline.out),
      },
      simulator: {
        firstPostAccepted_ms: round(firstPost),
        lastCheckpointCompleted_ms: round(lastCompleted),
        allActions_ms: round(allSpan.last - allSpan.first),
        actionsNotCompleted: notReady.map((x) => `${x.pod}: ${x.status}${x.details ? ` (${x.details})` : ''}`),
      },
      evictionAllowedSinceDrain: summary(gone),
      evictionAllowedAfterCheckpoint: summary(afterCheckpoint),
      podsEvictedBeforeTheirCheckpoint: leftBeforeCheckpoint.length,
      deletionTimestampsSinceDrain_s: dtSeconds.length === 0 ? null : { count: dtSeconds.length, max_s: round(Math.max(...dtSeconds) / 1000, 0) },
      podCheckpointCreatedSinceDrain: summary(podNames.map((p) => createdAt.get(p) ?? NaN)),
      podCheckpointReadySinceDrain: summary(podNames.map((p) => readyAt.get(p) ?? NaN)),
      podCheckpointsFailed: failed.size,
      evictions,
      evictionsHeld: evictions.held ?? 0,
      evictionsAllowed: Object.entries(evictions)
        .filter(([k]) => k !== 'held')
        .reduce((a, [, v]) => a + v, 0),
      evictionHoldMetric: { count: holdCount, mean_ms: round(holdCount > 0 ? (holdSum * 1000) / holdCount : NaN) },
      cedanaActionsPerPod: { min: Math.min(...actionsPerPod), max: Math.max(...actionsPerPod), pods: actionsPerPod.length },
      cedanaCheckpointPosts: stats.calls['POST /v2/checkpoint/pod'] ?? 0,
      podCheckpointsPerPod: { min: Math.min(...podNames.map((p) => checkpointNames.get(p)?.size ?? 0)), max: Math.max(...podNames.map((p) => checkpointNames.get(p)?.size ?? 0)) },
      actionsRecordedByNoPodCheckpoint: unrecorded.length,
      podsWithMoreThanOneAction: duplicated.length,
      duplicateExamples: duplicates,
      resolution:
        "ms since the drain started (kubectl spawned): eviction allowed = the pod's deletion seen by this watch; action times from the simulator's Date.now() on the same machine (1 ms); deletionTimestamps have 1 s resolution",
      cpuSecondsDuringDrain: {
        operator: cpu(cpu0.operator, cpu1.operator),
        simulator: cpu(cpu0.simulator, cpu1.simulator),
        kubeApiserver: cpu(cpu0.apiserver, cpu1.apiserver),
        cores: availableParallelism(),
      },
      hostLoadAvg: load.map((x) => round(x, 2)),
      runSeconds: round((performance.now() - started) / 1000),
    };
  } finally {
    await drain?.stop(1000);
    await op?.stop();
    await podWatch?.stop();
    await ckptWatch?.stop();
    await sim?.stop();
    await removeWebhook?.().catch(() => undefined);
    await cluster.down();
  }
}

async function main(): Promise<void> {
  const o = options();
  const kubectl = kubectlPath();
  say(`N in [${o.ns.join(', ')}], L=${String(o.latencyMs)} ms, C=${String(o.concurrency)}, stepMs=${String(o.stepMs)}; ${kubectl}`);
  for (const n of o.ns) {
    const r = await run(o, n, kubectl);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    say(
      `N=${String(n)}: drain start to last eviction allowed ${String(r.drainToLastEvictionAllowed_ms)} ms; the simulator took ${String(r.simulatorCheckpoints_ms)} ms for the checkpoints (ratio ${String(r.ratio)}); ${String(r.evictionsHeld)} evictions held`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
