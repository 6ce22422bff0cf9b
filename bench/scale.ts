// Scale benchmark (not a test): the operator, as its own process, in a cluster of P pods on M nodes.
// It measures how long the operator takes from its start to /readyz (its caches synced), and its
// memory (VmRSS and VmHWM, the peak, from /proc/<pid>/status) once synced, and again after a
// CheckpointPolicy that protects 10 % of the pods and a node signal: the Karpenter taint
// (karpenter.sh/disrupted) on 10 % of the nodes, whose protected pods (1 % of all) are checkpointed.
// One JSON object per size on stdout; progress on stderr.
//
//   npm run bench:scale                                   1000x100, then 10000x500
//   npm run bench:scale -- --sizes 10000x500 --create-concurrency 64
//
// Each size gets its own control plane: etcd and kube-apiserver only (no scheduler, controller
// manager or kubelet). Nodes are plain Node objects; pods are bound by spec.nodeName, have a
// realistic spec (two containers, env, resources, probes, volumes, labels, annotations, an owner;
// about 4.5 kB of JSON as the apiserver serves them) and, unless --no-pod-status, a Running status
// (conditions, container statuses, IPs) written through the status subresource, as a kubelet would.
// The simulator runs as its own process too. Everything is stopped by its pid at the end.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { applyManifestDir, waitForCrdsEstablished } from '../src/kube/apply.ts';
import { reuseConnections } from '../src/kube/client-node.ts';
import { mapBounded } from '../src/util/concurrency.ts';
import { repoRoot, startLocalCluster, type LocalCluster } from '../src/dev/local-cluster.ts';
import { parseMetrics, pick, sum } from './prometheus.ts';
import { cpuSecondsOf, memoryOf, spawnOperator, spawnSimulator, waitUntil, type OperatorProcess, type SimulatorProcess } from './processes.ts';
import { sleep } from '../src/util/backoff.ts';

const TOKEN = 'bench-token-0123456789abcdef';
const NAMESPACE = 'scale';
const TAINT = 'karpenter.sh/disrupted';
const PROTECTED_LABEL = 'bench.cedana.ai/protected';
/** The issue's 150 MB (10^6 bytes) in the MiB (2^20 bytes) every memory figure here is in: 143.05. */
const GOAL_RSS_MIB = Math.round((150e6 / 2 ** 20) * 100) / 100;
const GOAL_READYZ_MS = 3000;

interface Size {
  pods: number;
  nodes: number;
}
interface Options {
  sizes: Size[];
  createConcurrency: number;
  podStatus: boolean;
  latencyMs: number;
  stepMs: number;
  concurrency: number;
  logLevel: string;
  settleMs: number;
  timeoutMs: number;
  hold: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string' },
      'create-concurrency': { type: 'string' },
      'no-pod-status': { type: 'boolean' },
      'latency-ms': { type: 'string' },
      'step-ms': { type: 'string' },
      concurrency: { type: 'string' },
      'log-level': { type: 'string' },
      'settle-ms': { type: 'string' },
      'timeout-s': { type: 'string' },
      hold: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stderr.write(`Usage: npm run bench:scale -- [flags]
  --sizes LIST              PODSxNODES, one run each (env BENCH_SIZES; default 1000x100,10000x500)
  --create-concurrency K    objects created at once during setup (default 48)
  --no-pod-status           leave the pods Pending with no status (default: a Running status, as a kubelet writes)
  --latency-ms L            simulator latency per Cedana call (default 20)
  --step-ms MS              simulator: time per action status step, 3 steps to ready (default 100)
  --concurrency C           operator --workers and --termination-concurrency (default 32)
  --log-level LEVEL         the operator's LOG_LEVEL (default info, the chart's)
  --settle-ms MS            wait before each memory reading after a milestone (default 2000)
  --timeout-s S             per wait (default 600)
  --hold                    after the last size, keep its control plane up (its kubeconfig on stderr) until SIGINT,
                            to run the operator against it again by hand (heap snapshots, flags)
`);
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name}: want a whole number >= ${String(min)}, got "${raw}"`);
    return v;
  };
  const sizes = (values.sizes ?? process.env.BENCH_SIZES ?? '1000x100,10000x500').split(',').map((s) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(s);
    if (!m) throw new Error(`--sizes: want PODSxNODES, e.g. 10000x500, got "${s}"`);
    const size = { pods: Number(m[1]), nodes: Number(m[2]) };
    if (size.pods < 1 || size.nodes < 1 || size.pods < size.nodes) throw new Error(`--sizes: want pods >= nodes >= 1, got "${s}"`);
    return size;
  });
  return {
    sizes,
    createConcurrency: int('--create-concurrency', values['create-concurrency'], 48, 1),
    podStatus: values['no-pod-status'] !== true,
    latencyMs: int('--latency-ms', values['latency-ms'], 20, 0),
    stepMs: int('--step-ms', values['step-ms'], 100, 0),
    concurrency: int('--concurrency', values.concurrency, 32, 1),
    logLevel: values['log-level'] ?? 'info',
    settleMs: int('--settle-ms', values['settle-ms'], 2000, 0),
    timeoutMs: int('--timeout-s', values['timeout-s'], 600, 1) * 1000,
    hold: values.hold === true,
  };
}

const say = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;
const seconds = (sinceMs: number): number => round((performance.now() - sinceMs) / 1000, 2);

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const nodeName = (j: number): string => `ip-10-0-${String(Math.floor(j / 250))}-${String(j % 250)}.ec2.internal`;

function nodeBody(j: number): V1Node {
  const name = nodeName(j);
  return {
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'm6i.4xlarge',
        'topology.kubernetes.io/region': 'us-east-1',
        'topology.kubernetes.io/zone': ZONES[j % ZONES.length] ?? 'us-east-1a',
        'karpenter.sh/nodepool': 'default',
        'karpenter.sh/capacity-type': j % 2 === 0 ? 'spot' : 'on-demand',
      },
      annotations: { 'karpenter.sh/nodepool-hash': '4012513481623584108', 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { providerID: `aws:///us-east-1a/i-0${j.toString(16).padStart(16, '0')}` },
  };
}

/** Pod i sits on node i mod M; every node has the same share of protected pods (10 %). */
const isProtected = (i: number, nodes: number): boolean => Math.floor(i / nodes) % 10 === 0;

function podBody(i: number, nodes: number): V1Pod {
  const app = `trainer-${String(i % 50).padStart(2, '0')}`;
  const hash = (i * 2654435761) % 4294967296;
  const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0').slice(0, len);
  return {
    metadata: {
      name: `${app}-${hex(hash, 10)}-${String(i).padStart(5, '0')}`,
      labels: {
        app,
        'app.kubernetes.io/name': app,
        'app.kubernetes.io/instance': `${app}-prod`,
        'app.kubernetes.io/component': 'worker',
        'app.kubernetes.io/part-of': 'training-platform',
        'pod-template-hash': hex(hash, 10),
        team: `ml-${String(i % 7)}`,
        [PROTECTED_LABEL]: isProtected(i, nodes) ? 'true' : 'false',
      },
      annotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
        'kubectl.kubernetes.io/default-container': 'main',
        'checksum/config': `${hex(hash, 8)}${'9f2c4e1a7b3d5f60'.repeat(3)}${hex(i, 8)}`,
      },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${hex(hash, 10)}`, uid: `6f1d2c3b-4a5e-4f60-8a7b-${hex(hash, 8)}${hex(i, 4)}`, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      nodeName: nodeName(i % nodes),
      serviceAccountName: 'trainer',
      terminationGracePeriodSeconds: 30,
      securityContext: { runAsNonRoot: true, runAsUser: 1000 },
      containers: [
        {
          name: 'main',
          image: `registry.example.com/ml/${app}:v1.42.${String(i % 10)}`,
          command: ['python', '-m', 'trainer.main'],
          args: ['--config=/etc/trainer/config.yaml', '--checkpoint-dir=/data/checkpoints', `--shard=${String(i)}`],
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'MODEL_NAME', value: 'llama-3-8b' },
            { name: 'CEDANA_CHECKPOINT', value: `${app}-${String(i)}` },
          ],
          resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
          volumeMounts: [
            { name: 'config', mountPath: '/etc/trainer', readOnly: true },
            { name: 'data', mountPath: '/data' },
          ],
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 10 },
        },
        {
          name: 'log-shipper',
          image: 'registry.example.com/infra/fluent-bit:3.1.4',
          env: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'OUTPUT_HOST', value: 'logs.observability.svc.cluster.local' },
          ],
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
          volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: `${app}-config` } },
        { name: 'data', emptyDir: { sizeLimit: '10Gi' } },
      ],
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    },
  };
}

/** A Running status, as the kubelet would write it. */
function podStatus(i: number, pod: V1Pod): Record<string, unknown> {
  const at = new Date(Date.now() - 3600_000).toISOString();
  const ip = `10.1.${String(Math.floor(i / 250) % 256)}.${String(i % 250)}`;
  return {
    phase: 'Running',
    qosClass: 'Burstable',
    hostIP: `10.0.${String(Math.floor(i / 250) % 256)}.${String(i % 250)}`,
    podIP: ip,
    podIPs: [{ ip }],
    startTime: at,
    conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: at })),
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image ?? ''}@sha256:${'3b2f8c1d9e7a6b5c'.repeat(2)}`,
      containerID: `containerd://${'a1b2c3d4e5f60718'.repeat(2)}`,
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: at } },
    })),
  };
}

/** RSS now and the peak so far, after `settleMs`. */
async function memory(pid: number, settleMs: number): Promise<{ rssMB: number; peakRssMB: number }> {
  if (settleMs > 0) await sleep(settleMs);
  const m = await memoryOf(pid);
  if (!m) throw new Error(`cannot read /proc/${String(pid)}/status: the operator is gone`);
  return m;
}

/** What the operator says of its own memory on /metrics (prom-client's default metrics), in MB. */
async function heapOf(op: OperatorProcess): Promise<Record<string, number>> {
  const samples = parseMetrics(await (await fetch(`${op.httpUrl}/metrics`)).text());
  // The operator registers them with its prefix.
  const mb = (name: string): number => round(sum(pick(samples, `cedana_operator_${name}`)) / 2 ** 20);
  return {
    heapUsedMB: mb('nodejs_heap_size_used_bytes'),
    heapTotalMB: mb('nodejs_heap_size_total_bytes'),
    externalMB: mb('nodejs_external_memory_bytes'),
  };
}

/** --hold: the last size's control plane, left up. */
let held: LocalCluster | undefined;

async function run(o: Options, size: Size, hold = false): Promise<Record<string, unknown>> {
  const tag = `${String(size.pods)}x${String(size.nodes)}`;
  const started = performance.now();
  say(`${tag}: starting a control plane (etcd + kube-apiserver)`);
  const cluster: LocalCluster = await startLocalCluster({ prefix: 'cedana-bench-scale-' });
  const clusterSeconds = seconds(started);
  let sim: SimulatorProcess | undefined;
  let op: OperatorProcess | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    reuseConnections(kc);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await waitForCrdsEstablished(kc, await applyManifestDir(kc, join(repoRoot, 'crds'), 'bench'));
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });

    // ---- setup: nodes, pods, their status (bounded concurrency; timed apart from the measurements)
    const failIfAny = (what: string, results: PromiseSettledResult<unknown>[]): void => {
      const refused = results.filter((r) => r.status === 'rejected');
      if (refused.length > 0) throw new Error(`${String(refused.length)} ${what} failed: ${String((refused[0] as PromiseRejectedResult).reason)}`);
    };
    let t = performance.now();
    failIfAny(
      'node creates',
      await mapBounded(
        Array.from({ length: size.nodes }, (_, j) => j),
        o.createConcurrency,
        (j) => core.createNode({ body: nodeBody(j) }),
      ),
    );
    const nodesSeconds = seconds(t);
    t = performance.now();
    let done = 0;
    let lastSaid = performance.now();
    const podResults = await mapBounded(
      Array.from({ length: size.pods }, (_, i) => i),
      o.createConcurrency,
      async (i) => {
        const body = podBody(i, size.nodes);
        const pod = await core.createNamespacedPod({ namespace: NAMESPACE, body });
        if (o.podStatus) {
          await core.patchNamespacedPodStatus(
            { namespace: NAMESPACE, name: body.metadata?.name ?? '', body: { status: podStatus(i, body) } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        }
        done++;
        if (performance.now() - lastSaid > 10_000) {
          lastSaid = performance.now();
          say(`${tag}: ${String(done)}/${String(size.pods)} pods in ${String(seconds(t))} s`);
        }
        return pod;
      },
    );
    failIfAny('pod creates', podResults);
    const podsSeconds = seconds(t);
    const sample = await core.listNamespacedPod({ namespace: NAMESPACE, limit: 20 });
    const storedBytes = sample.items.map((p) => Buffer.byteLength(JSON.stringify(p)));
    const servedBytes = sample.items.map((p) => Buffer.byteLength(JSON.stringify(p, (k, v: unknown) => (k === 'managedFields' ? undefined : v))));
    const mean = (xs: number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
    const requestBytes = Buffer.byteLength(JSON.stringify(podBody(0, size.nodes)));
    const protectedPods = Array.from({ length: size.pods }, (_, i) => i).filter((i) => isProtected(i, size.nodes)).length;
    say(
      `${tag}: ${String(size.nodes)} nodes (${String(nodesSeconds)} s) and ${String(size.pods)} pods${o.podStatus ? ' with a Running status' : ''} (${String(podsSeconds)} s); ${String(protectedPods)} to protect`,
    );

    sim = await spawnSimulator({ token: TOKEN, latencyMs: o.latencyMs, stepMs: o.stepMs });
    say(`${tag}: simulator (pid ${String(sim.pid)}) listening on ${sim.url}`);

    // ---- start → /readyz: from the spawn (Node's start, the module graph, the lists) to the first 200
    const load = loadavg()[0] ?? NaN;
    op = await spawnOperator({
      cedanaUrl: sim.url,
      token: TOKEN,
      kubeconfig: cluster.kubeconfig,
      namespaces: [], // all namespaces, the chart's default: a cluster-wide watch of Pods and Nodes
      logLevel: o.logLevel,
      flags: [`--workers=${String(o.concurrency)}`, `--termination-concurrency=${String(o.concurrency)}`, '--poll-interval=100ms', '--poll-interval-max=1s'],
    });
    const operator = op;
    say(`${tag}: operator (pid ${String(op.pid)}) started, serving on ${op.httpUrl}`);
    let exited: number | null | undefined;
    void op.exited.then((code) => {
      exited = code;
    });
    const alive = (): void => {
      if (exited !== undefined) throw new Error(`the operator exited (code ${String(exited)}); its last lines:\n${operator.tail()}`);
    };
    const readyAt = await waitUntil(
      'the operator ready (caches synced)',
      o.timeoutMs,
      async () => {
        alive();
        return (await fetch(`${operator.httpUrl}/readyz`)).ok ? Date.now() : undefined;
      },
      10,
    );
    const startToReadyzMs = readyAt - op.spawnedAt;
    const cpuAtReady = await cpuSecondsOf(op.pid);
    const atReady = await memory(op.pid, 0);
    const afterSync = await memory(op.pid, o.settleMs);
    const heapAfterSync = await heapOf(op);
    say(`${tag}: /readyz after ${String(startToReadyzMs)} ms; RSS ${String(afterSync.rssMB)} MB (peak ${String(afterSync.peakRssMB)} MB)`);

    // ---- a policy protecting 10 % of the pods, then the Karpenter taint on 10 % of the nodes
    t = performance.now();
    await custom.createNamespacedCustomObject({
      group: 'cedana.ai',
      version: 'v1alpha1',
      namespace: NAMESPACE,
      plural: 'checkpointpolicies',
      body: { apiVersion: 'cedana.ai/v1alpha1', kind: 'CheckpointPolicy', metadata: { name: 'protect-10pct' }, spec: { selector: { matchLabels: { [PROTECTED_LABEL]: 'true' } } } },
    });
    await waitUntil(`the policy to protect ${String(protectedPods)} pods`, o.timeoutMs, async () => {
      alive();
      const p = (await custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: NAMESPACE, plural: 'checkpointpolicies', name: 'protect-10pct' })) as {
        status?: { protectedPods?: number };
      };
      return p.status?.protectedPods === protectedPods ? true : undefined;
    });
    const policyMs = performance.now() - t;
    const afterPolicy = await memory(op.pid, o.settleMs);
    const tainted = Array.from({ length: Math.max(1, Math.round(size.nodes / 10)) }, (_, k) => nodeName(k * Math.floor(size.nodes / Math.max(1, Math.round(size.nodes / 10)))));
    const expected = Array.from({ length: size.pods }, (_, i) => i).filter((i) => isProtected(i, size.nodes) && tainted.includes(nodeName(i % size.nodes))).length;
    say(
      `${tag}: the policy protects ${String(protectedPods)} pods (${String(Math.round(policyMs))} ms); RSS ${String(afterPolicy.rssMB)} MB; tainting ${String(tainted.length)} nodes (${String(expected)} protected pods on them)`,
    );
    t = performance.now();
    failIfAny(
      'taints',
      await mapBounded(tainted, o.createConcurrency, (name) =>
        core.patchNode({ name, body: { spec: { taints: [{ key: TAINT, effect: 'NoSchedule' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      ),
    );
    await waitUntil(
      `${String(expected)} PodCheckpoints Ready`,
      o.timeoutMs,
      async () => {
        alive();
        const list = (await custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: NAMESPACE, plural: 'podcheckpoints' })) as {
          items: { spec: { podName: string }; status?: { phase?: string; message?: string } }[];
        };
        const failed = list.items.find((c) => c.status?.phase === 'Failed');
        if (failed) throw new Error(`PodCheckpoint of ${failed.spec.podName} Failed: ${failed.status?.message ?? ''}`);
        return list.items.filter((c) => c.status?.phase === 'Ready').length >= expected ? true : undefined;
      },
      250,
    );
    const signalMs = performance.now() - t;
    const afterSignal = await memory(op.pid, o.settleMs);
    const heapAfterSignal = await heapOf(op);
    const cpuEnd = await cpuSecondsOf(op.pid);
    say(`${tag}: ${String(expected)} checkpoints Ready ${String(Math.round(signalMs))} ms after the taints; RSS ${String(afterSignal.rssMB)} MB (peak ${String(afterSignal.peakRssMB)} MB)`);

    const rssGoal = (mib: number): { limit_MiB: number; measured_MiB: number; ratio: number } => ({ limit_MiB: GOAL_RSS_MIB, measured_MiB: mib, ratio: round(mib / GOAL_RSS_MIB, 2) });
    return {
      benchmark: 'scale',
      operatorProcess: 'separate',
      pods: size.pods,
      nodes: size.nodes,
      podJsonBytes: {
        request: requestBytes,
        // as the apiserver serves it (defaults and status included), mean of a sample: as kubectl
        // shows it (no managedFields), and whole (what a client that lists pods receives)
        served: mean(servedBytes),
        withManagedFields: mean(storedBytes),
        withStatus: o.podStatus,
      },
      setup_s: { controlPlane: clusterSeconds, nodes: nodesSeconds, pods: podsSeconds, createConcurrency: o.createConcurrency },
      startToReadyz_ms: startToReadyzMs,
      startToLogLine_ms: op.startedAt - op.spawnedAt,
      operatorCpuSecondsToReady: cpuAtReady ?? null,
      rssAtReadyzMB: atReady.rssMB,
      rssAfterSyncMB: afterSync.rssMB,
      heapAfterSync,
      policy: { protectedPods, toProtected_ms: Math.round(policyMs) },
      rssAfterPolicyMB: afterPolicy.rssMB,
      signal: { taint: TAINT, nodesTainted: tainted.length, checkpoints: expected, toAllReady_ms: Math.round(signalMs) },
      rssAfterPolicyAndSignalMB: afterSignal.rssMB,
      heapAfterSignal,
      peakRssMB: afterSignal.peakRssMB,
      operatorCpuSecondsTotal: cpuEnd ?? null,
      goals: {
        note: `the RSS goal is for 10000 pods on 500 nodes; settled ${String(o.settleMs)} ms before each reading`,
        rssAfterSync: rssGoal(afterSync.rssMB),
        rssAfterPolicyAndSignal: rssGoal(afterSignal.rssMB),
        peakRss: rssGoal(afterSignal.peakRssMB),
        startToReadyz: { limit_ms: GOAL_READYZ_MS, measured_ms: startToReadyzMs, ratio: round(startToReadyzMs / GOAL_READYZ_MS, 2) },
      },
      operatorLogLevel: o.logLevel,
      hostLoadAvg1m: round(load, 2),
      cores: availableParallelism(),
      runSeconds: seconds(started),
    };
  } finally {
    await op?.stop();
    await sim?.stop();
    if (hold) held = cluster;
    else await cluster.down();
  }
}

async function main(): Promise<void> {
  const o = options();
  say(`sizes ${o.sizes.map((s) => `${String(s.pods)}x${String(s.nodes)}`).join(', ')}; create concurrency ${String(o.createConcurrency)}`);
  for (const [i, size] of o.sizes.entries()) {
    const result = await run(o, size, o.hold && i === o.sizes.length - 1);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  if (held) {
    say(`holding the control plane until SIGINT; KUBECONFIG=${held.kubeconfig}`);
    // SIGINT/SIGTERM: startLocalCluster's hooks take it down.
    await new Promise<never>(() => setInterval(() => undefined, 60_000));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
