// Node-termination latency benchmark (not a test): N protected pods on one node, a Cedana simulator
// that answers every call after L ms, the operator with concurrency C (workers and
// terminationConcurrency). The clock starts just before the node's Karpenter taint is written and
// stops at the last POST /v2/checkpoint/pod the simulator accepted, and at the last PodCheckpoint
// seen Ready. One JSON object per run on stdout; human-readable progress on stderr.
//
//   npm run bench:termination                       N = 100, then N = 1000; L = 20 ms; C = 32
//   npm run bench:termination -- --n 500 --latency-ms 50 --concurrency 64
//
// Each run gets its own control plane (etcd + kube-apiserver on loopback, no scheduler or kubelet:
// the pods are bound by spec.nodeName and stay Pending, which is all the operator needs), its own
// simulator and operator, all stopped before the next run starts.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { pino } from 'pino';
import { PodCheckpoints } from '../src/api/kinds.ts';
import type { PodCheckpoint } from '../src/api/podcheckpoint.ts';
import { ConfigSchema } from '../src/config/config.ts';
import { CHECKPOINT_FINALIZER } from '../src/api/podcheckpoint.ts';
import { applyManifestDir, waitForCrdsEstablished } from '../src/kube/apply.ts';
import { Informer } from '../src/kube/informer.ts';
import { startOperator, type RunningOperator } from '../src/operator.ts';
import { startSimulator, type Exchange, type RunningSimulator } from '../src/simulator/index.ts';
import { mapBounded } from '../src/util/concurrency.ts';
import { repoRoot, startLocalCluster, type LocalCluster } from '../src/dev/local-cluster.ts';
import { apiserverRequestsBetween, meanMsBetween, pick, scrape, scrapeApiserver, sum, type Sample } from './prometheus.ts';

const TOKEN = 'bench-token-0123456789abcdef';
const NAMESPACE = 'bench';
const NODE = 'bench-node-0';
const TAINT = 'karpenter.sh/disrupted';
const CHECKPOINT_POST = 'POST /v2/checkpoint/pod';

interface Options {
  ns: number[];
  latencyMs: number;
  concurrency: number;
  stepMs: number;
  pollIntervalMs: number;
  pollIntervalMaxMs: number;
  createConcurrency: number;
  timeoutMs: number;
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
      'create-concurrency': { type: 'string' },
      'timeout-s': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stderr.write(`Usage: npm run bench:termination -- [flags]
  --n LIST                  pods on the node, one run each (env BENCH_N; default 100,1000)
  --latency-ms L            simulator latency per Cedana call (env BENCH_LATENCY_MS; default 20)
  --concurrency C           operator workers and terminationConcurrency (env BENCH_CONCURRENCY; default 32)
  --step-ms MS              simulator: time per action status step, 3 steps to ready (default 100)
  --poll-interval-ms MS     operator pollInterval (default 100)
  --poll-interval-max-ms MS operator pollIntervalMax (default 1000)
  --create-concurrency K    pods created at once during setup (default 50)
  --timeout-s S             per run, from the taint to all Ready (default 600)
`);
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name}: want a whole number >= ${String(min)}, got "${raw}"`);
    return v;
  };
  const nList = values.n ?? process.env.BENCH_N ?? '100,1000';
  return {
    ns: nList.split(',').map((s) => int('--n', s.trim(), 0, 1)),
    latencyMs: int('--latency-ms', values['latency-ms'] ?? process.env.BENCH_LATENCY_MS, 20, 0),
    concurrency: int('--concurrency', values.concurrency ?? process.env.BENCH_CONCURRENCY, 32, 1),
    stepMs: int('--step-ms', values['step-ms'], 100, 0),
    pollIntervalMs: int('--poll-interval-ms', values['poll-interval-ms'], 100, 50),
    pollIntervalMaxMs: int('--poll-interval-max-ms', values['poll-interval-max-ms'], 1000, 50),
    createConcurrency: int('--create-concurrency', values['create-concurrency'], 50, 1),
    timeoutMs: int('--timeout-s', values['timeout-s'], 600, 1) * 1000,
  };
}

const say = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile of a sorted list. */
const percentile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;

function summary(values: number[]): { p50_ms: number; p99_ms: number; total_ms: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50_ms: round(percentile(s, 0.5)), p99_ms: round(percentile(s, 0.99)), total_ms: round(s.at(-1) ?? NaN) };
}

async function waitUntil<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    await sleep(intervalMs);
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined when unreadable. */
async function cpuSecondsOf(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** Host-wide CPU seconds (busy, i.e. all but idle and iowait) so far, from /proc/stat. */
async function hostBusySeconds(): Promise<number | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const [, ...ticks] = line.trim().split(/\s+/).map(Number);
    const busy = ticks.reduce((a, t, i) => (i === 3 || i === 4 ? a : a + t), 0); // user nice system [idle iowait] irq softirq steal ...
    return Number.isFinite(busy) ? busy / 100 : undefined;
  } catch {
    return undefined;
  }
}

/** Milestones of a PodCheckpoint as seen on a watch, in ms since t0 (first time seen). */
interface Timeline {
  pod: string;
  created?: number;
  finalizer?: number;
  pending?: number;
  submitted?: number;
  specUploaded?: number;
  checkpointing?: number;
  ready?: number;
  failed?: string;
  writes: number;
}
const MILESTONES = ['created', 'finalizer', 'pending', 'submitted', 'specUploaded', 'checkpointing', 'ready'] as const;

async function run(o: Options, n: number): Promise<Record<string, unknown>> {
  const started = performance.now();
  say(`N=${String(n)}: starting a control plane (etcd + kube-apiserver)`);
  const cluster: LocalCluster = await startLocalCluster({ prefix: 'cedana-bench-' });
  let sim: RunningSimulator | undefined;
  let op: RunningOperator | undefined;
  let watch: Informer<'PodCheckpoint', PodCheckpoint> | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await waitForCrdsEstablished(kc, await applyManifestDir(kc, join(repoRoot, 'crds'), 'bench'));

    // ---- setup: namespace, a Node (no kubelet: the operator only reads Nodes), N pods bound to it
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await core.createNode({ body: { metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE, bench: 'true' } } } });
    const podNames = Array.from({ length: n }, (_, i) => `p-${String(i).padStart(4, '0')}`);
    let t = performance.now();
    const created = await mapBounded(podNames, o.createConcurrency, (name) =>
      core.createNamespacedPod({
        namespace: NAMESPACE,
        body: {
          metadata: { name, labels: { app: 'bench' } },
          spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'registry.invalid/bench:1' }] },
        },
      }),
    );
    const refused = created.filter((r) => r.status === 'rejected');
    if (refused.length > 0) throw new Error(`${String(refused.length)} pods could not be created: ${String((refused[0] as PromiseRejectedResult).reason)}`);
    say(`N=${String(n)}: ${String(n)} pods bound to ${NODE} in ${String(Math.round(performance.now() - t))} ms`);

    // ---- the simulator, in-process; every accepted checkpoint POST timestamped
    let t0 = Number.NaN;
    const postAccepted = new Map<string, number>();
    sim = await startSimulator({
      token: TOKEN,
      stepMs: o.stepMs,
      faults: { latencyMs: o.latencyMs },
      logger: pino({ level: 'silent' }),
      onExchange: (e: Exchange) => {
        if (e.status !== 200 || `${e.method} ${e.pathTemplate}` !== CHECKPOINT_POST) return;
        const pod = (e.requestBody as { pod_name?: unknown } | undefined)?.pod_name;
        if (typeof pod === 'string' && !postAccepted.has(pod)) postAccepted.set(pod, performance.now() - t0);
      },
    });

    // ---- our own watch of the PodCheckpoints: when each is created, written, Ready
    const timelines = new Map<string, Timeline>();
    watch = new Informer({ kind: PodCheckpoints, namespace: NAMESPACE, kubeConfig: kc, logger: pino({ level: 'silent' }) });
    watch.onEvent((e) => {
      if (e.type === 'delete') return;
      const at = performance.now() - t0;
      const c = e.obj;
      let tl = timelines.get(c.metadata.name);
      if (!tl) {
        tl = { pod: c.spec.podName, writes: 0 };
        timelines.set(c.metadata.name, tl);
      }
      tl.writes++;
      const s = c.status;
      tl.created ??= at;
      if (c.metadata.finalizers?.includes(CHECKPOINT_FINALIZER)) tl.finalizer ??= at;
      if (s?.submitStartedAt) tl.pending ??= at;
      if (s?.actionId) tl.submitted ??= at;
      if (s?.conditions?.some((x) => x.type === 'SpecUploaded' && x.status === 'True')) tl.specUploaded ??= at;
      if (s?.phase === 'Checkpointing') tl.checkpointing ??= at;
      if (s?.phase === 'Ready') tl.ready ??= at;
      if (s?.phase === 'Failed') tl.failed ??= s.message ?? 'Failed';
    });
    watch.start();
    await watch.waitForSync();

    // ---- the operator, in-process
    const config = ConfigSchema.parse({
      cedanaUrl: sim.url,
      cedanaToken: TOKEN,
      clusterId: 'bench-cluster',
      namespaces: [NAMESPACE],
      workers: o.concurrency,
      terminationConcurrency: o.concurrency,
      pollInterval: o.pollIntervalMs,
      pollIntervalMax: o.pollIntervalMaxMs,
      leaderElect: false,
      identity: `bench-${String(process.pid)}`,
      httpBindAddress: '127.0.0.1:0',
      logLevel: 'error',
    });
    t = performance.now();
    op = await startOperator(config, kc, pino({ level: 'silent' }));
    const operator = op;
    await waitUntil('the operator ready (caches synced)', 60_000, async () => ((await fetch(`${operator.httpUrl}/readyz`)).ok ? true : undefined));
    await custom.createNamespacedCustomObject({
      group: 'cedana.ai',
      version: 'v1alpha1',
      namespace: NAMESPACE,
      plural: 'checkpointpolicies',
      body: { apiVersion: 'cedana.ai/v1alpha1', kind: 'CheckpointPolicy', metadata: { name: 'bench' }, spec: { selector: { matchLabels: { app: 'bench' } } } },
    });
    await waitUntil(`the policy to protect ${String(n)} pods`, 120_000, async () => {
      const p = (await custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: NAMESPACE, plural: 'checkpointpolicies', name: 'bench' })) as {
        status?: { protectedPods?: number };
      };
      return p.status?.protectedPods === n ? true : undefined;
    });
    say(`N=${String(n)}: operator synced and the policy protects ${String(n)} pods (${String(Math.round(performance.now() - t))} ms); tainting ${NODE}`);
    await sleep(500); // let the policy's own writes settle

    // ---- the measured part
    const simBefore = sim.stats().calls;
    const apiBefore = await scrapeApiserver(kc);
    const opBefore = await scrape(`${op.httpUrl}/metrics`);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpu0 = { host: await hostBusySeconds(), self: process.cpuUsage(), apiserver: await cpuSecondsOf(await cluster.pidOf('kube-apiserver')), etcd: await cpuSecondsOf(await cluster.pidOf('etcd')) };
    const load = loadavg()[0] ?? NaN;
    t0 = performance.now();
    await core.patchNode({ name: NODE, body: { spec: { taints: [{ key: TAINT, effect: 'NoSchedule' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const taintWrittenMs = performance.now() - t0;

    let lastReport = 0;
    await waitUntil(`${String(n)} PodCheckpoints Ready`, o.timeoutMs, () => {
      const all = [...timelines.values()];
      const failed = all.find((x) => x.failed !== undefined);
      if (failed) throw new Error(`PodCheckpoint of ${failed.pod} Failed: ${failed.failed ?? ''}`);
      const ready = all.filter((x) => x.ready !== undefined).length;
      const now = performance.now() - t0;
      if (now - lastReport >= 2000) {
        lastReport = now;
        say(`N=${String(n)}: +${(now / 1000).toFixed(1)} s: ${String(timelines.size)} created, ${String(postAccepted.size)} POSTs accepted, ${String(ready)} Ready`);
      }
      return ready === n ? true : undefined;
    }, 20);
    const windowMs = performance.now() - t0;
    loopDelay.disable();
    const cpuSelf = process.cpuUsage(cpu0.self);
    const cpu1 = { host: await hostBusySeconds(), apiserver: await cpuSecondsOf(await cluster.pidOf('kube-apiserver')), etcd: await cpuSecondsOf(await cluster.pidOf('etcd')) };
    await sleep(300); // trailing writes (events) land before the apiserver is scraped
    const apiAfter = await scrapeApiserver(kc);
    const opMetrics = await scrape(`${op.httpUrl}/metrics`);
    const simAfter = sim.stats().calls;

    // ---- figures
    const all = [...timelines.values()];
    const posts = podNames.map((p) => postAccepted.get(p));
    if (posts.some((x) => x === undefined)) throw new Error('a pod has a Ready checkpoint but no accepted POST');
    const toPost = summary(posts as number[]);
    const toReady = summary(all.map((x) => x.ready ?? NaN));
    const toCreated = summary(all.map((x) => x.created ?? NaN));
    const boundMs = (n * o.latencyMs) / o.concurrency;
    const perCheckpoint = (calls: Record<string, number>, before: Record<string, number> = {}): Record<string, number> =>
      Object.fromEntries(
        Object.entries(calls)
          .map(([k, v]) => [k, round((v - (before[k] ?? 0)) / n, 2)] as const)
          .filter(([, v]) => v > 0)
          .sort(([a], [b]) => a.localeCompare(b)),
      );
    const hist = (scope: string): { count: number; mean_ms: number } => {
      const labels = { scope, reason: 'nodeTermination' };
      const count = sum(pick(opMetrics, 'cedana_operator_signal_to_checkpoint_requested_seconds_count', labels));
      const total = sum(pick(opMetrics, 'cedana_operator_signal_to_checkpoint_requested_seconds_sum', labels));
      return { count, mean_ms: round(count > 0 ? (total * 1000) / count : NaN) };
    };
    const reconciles = (controller: string): Record<string, number> =>
      Object.fromEntries(pick(opMetrics, 'cedana_operator_reconcile_total', { controller }).map((s: Sample) => [s.labels.result ?? '', round(s.value / n, 2)]));
    const milestones = Object.fromEntries(
      MILESTONES.map((m) => {
        const s = all.map((x) => x[m]).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
        return [m, { p50_ms: round(percentile(s, 0.5)), max_ms: round(s.at(-1) ?? NaN) }];
      }),
    );
    const cpuDelta = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b !== undefined ? round(b - a, 2) : null);
    const usage = process.resourceUsage();
    const selfCpu = (cpuSelf.user + cpuSelf.system) / 1e6;
    const [hostCpu, apiserverCpu, etcdCpu] = [cpuDelta(cpu0.host, cpu1.host), cpuDelta(cpu0.apiserver, cpu1.apiserver), cpuDelta(cpu0.etcd, cpu1.etcd)];
    return {
      benchmark: 'node-termination',
      N: n,
      L_ms: o.latencyMs,
      C: o.concurrency,
      stepMs: o.stepMs,
      pollIntervalMs: o.pollIntervalMs,
      pollIntervalMaxMs: o.pollIntervalMaxMs,
      toPostAccepted: toPost,
      toReady,
      bound_ms: round(boundMs, 2),
      ratio: round(toPost.total_ms / boundMs, 2),
      ratioReady: round(toReady.total_ms / boundMs, 2),
      toCreated,
      signalToCheckpointRequestedMetric: { pod: hist('pod'), node: hist('node') },
      milestonesSinceTaint: milestones,
      resolution: 'ms since t0 (just before the taint PATCH): POSTs timestamped in the simulator as answered; PodCheckpoint milestones at the arrival of a watch event',
      taintWrite_ms: round(taintWrittenMs),
      cedanaCallsPerCheckpoint: perCheckpoint(simAfter, simBefore),
      podCheckpointWritesPerCheckpoint: round(all.reduce((a, x) => a + x.writes, 0) / n, 2),
      apiserverRequestsPerCheckpoint: Object.fromEntries(
        Object.entries(apiserverRequestsBetween(apiBefore, apiAfter, ['podcheckpoints', 'events', 'pods', 'nodes'])).map(([k, v]) => [k, round(v / n, 2)]),
      ),
      reconcilesPerCheckpoint: reconciles('podcheckpoint'),
      meanLatency: {
        // as the apiserver measures it (apiserver_request_duration_seconds), per verb and resource
        apiserver: meanMsBetween(apiBefore, apiAfter, 'apiserver_request_duration_seconds', (l) =>
          ['podcheckpoints', 'events', 'pods', 'nodes'].includes(l.resource ?? '') && l.verb !== 'WATCH' && l.verb !== 'LIST'
            ? `${l.verb ?? ''} ${l.resource ?? ''}${l.subresource ? `/${l.subresource}` : ''}`
            : undefined,
        ),
        // as the operator measures it: Cedana calls per operation, and whole reconciles per controller
        cedana: meanMsBetween(opBefore, opMetrics, 'cedana_operator_cedana_request_duration_seconds', (l) => l.operation),
        reconcile: meanMsBetween(opBefore, opMetrics, 'cedana_operator_reconcile_duration_seconds', (l) => l.controller),
      },
      eventLoopDelay_ms: { p50: round(loopDelay.percentile(50) / 1e6), p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) },
      cpuSecondsDuringRun: {
        window_s: round(windowMs / 1000, 2),
        benchProcess: round(selfCpu, 2),
        kubeApiserver: apiserverCpu,
        etcd: etcdCpu,
        // Everything else on the machine, other users' work included: host busy time minus the three
        // above (clock-tick resolution: a few hundredths either way are noise).
        rest: hostCpu !== null && apiserverCpu !== null && etcdCpu !== null ? round(hostCpu - apiserverCpu - etcdCpu - selfCpu, 2) : null,
        cores: availableParallelism(),
      },
      hostLoadAvg1m: round(load, 2),
      rssMB: round(process.memoryUsage().rss / 2 ** 20),
      maxRssMB: round(usage.maxRSS / 1024),
      runSeconds: round((performance.now() - started) / 1000),
    };
  } finally {
    await op?.stop().catch((err: unknown) => {
      say(`operator stop: ${String(err)}`);
    });
    await watch?.stop();
    await sim?.close();
    await cluster.down();
  }
}

async function main(): Promise<void> {
  const o = options();
  say(`N in [${o.ns.join(', ')}], L=${String(o.latencyMs)} ms, C=${String(o.concurrency)}, stepMs=${String(o.stepMs)}, poll ${String(o.pollIntervalMs)}..${String(o.pollIntervalMaxMs)} ms`);
  for (const n of o.ns) {
    const result = await run(o, n);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    say(`N=${String(n)}: total to last POST accepted ${String((result.toPostAccepted as { total_ms: number }).total_ms)} ms, to last Ready ${String((result.toReady as { total_ms: number }).total_ms)} ms (bound ${String(result.bound_ms)} ms)`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
