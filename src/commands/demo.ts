// `cedana-operator demo`: the whole story on this machine. A local control plane (etcd,
// kube-apiserver, scheduler, controller manager, kwok fake nodes), the Cedana API simulator
// playing Cedana and its in-cluster agents, and the operator with its eviction webhook. It
// checkpoints a pod, loses the pod, restores it; then a node is drained the way Karpenter does it
// (taint, then evictions at once) and the webhook holds each protected pod's eviction until its
// checkpoint is Ready. It narrates each step. Everything it started stops when it ends (or on Ctrl-C).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { pino } from 'pino';
import { ConfigSchema } from '../config/config.ts';
import { loadKubeAccess } from '../kube/access.ts';
import { applyManifestDir, waitForCrdsEstablished } from '../kube/apply.ts';
import { createLogger } from '../log.ts';
import { startOperator } from '../operator.ts';
import { startSimulator } from '../simulator/index.ts';
import { kubeHooks } from '../simulator/kube-side.ts';
import { sleep } from '../util/backoff.ts';
import { clusterScript, repoRoot, startLocalCluster } from '../dev/local-cluster.ts';
import { kubectl } from '../dev/kubectl.ts';
import { createLocalEvictionWebhook, freeLoopbackPort } from '../dev/local-webhook.ts';

const root = repoRoot;
const HELP = `Usage: cedana-operator demo [--keep] [--nodes N]

Starts a local Kubernetes control plane (built from source on first use, then cached), the Cedana
API simulator and the operator; checkpoints a pod, deletes it, restores it; then a node is tainted
and drained at once (kubectl drain), the operator holds each protected pod's eviction until its
checkpoint is Ready, and a CheckpointPolicy carries the pods to other nodes. Shows each step.
  --keep      keep everything running afterwards (prints KUBECONFIG), until Ctrl-C
  --nodes N   kwok fake nodes (default 3)
Logs of the operator and simulator go to <state dir>/demo.log.
`;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { keep: { type: 'boolean' }, nodes: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const nodes = Number(values.nodes ?? '3');
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 50) {
    process.stderr.write(`cedana-operator demo: --nodes must be a whole number from 1 to 50 (got '${values.nodes ?? ''}')\n`);
    return 2;
  }
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  };
  const onSignal = (): void => {
    say('\ninterrupted: stopping everything');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say(`1/8  starting a local control plane with ${String(nodes)} kwok nodes (the first run builds it from source: allow 15 minutes)`);
    const cluster = await startLocalCluster({ full: true, nodes, prefix: 'cedana-demo-' });
    cleanups.push(cluster.down);
    const { kubeconfig, dir } = cluster;
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    await waitForCrdsEstablished(kc, await applyManifestDir(kc, join(root, 'crds'), 'cedana-operator-demo'));
    say(`     control plane up; CRDs applied. KUBECONFIG=${kubeconfig}`);

    const logFile = join(dir, 'demo.log');
    const log = createLogger('info', pino.destination({ dest: logFile, sync: false }));
    const token = `demo-${Math.random().toString(36).slice(2)}`;
    const sim = await startSimulator({ token, stepMs: 700, logger: log.child({ component: 'simulator' }), hooks: kubeHooks(kc, log.child({ component: 'cedana-agent' })) });
    cleanups.push(() => sim.close());
    say(`2/8  Cedana API simulator listening at ${sim.url}`);

    // The eviction hold: the apiserver calls the operator's webhook on loopback (the chart uses a Service).
    const webhookPort = await freeLoopbackPort();
    cleanups.push(await createLocalEvictionWebhook(kc, { name: 'cedana-operator-demo', port: webhookPort }));
    const operator = await startOperator(
      ConfigSchema.parse({
        cedanaUrl: sim.url,
        cedanaToken: token,
        clusterId: 'demo-cluster',
        identity: 'demo',
        leaderElect: false,
        httpBindAddress: '127.0.0.1:0',
        pollInterval: 300,
        pollIntervalMax: 2_000,
        // No Cedana controller here: the operator honours Cedana's labels itself.
        cedanaLabels: 'honour',
        webhook: true,
        webhookBindAddress: `127.0.0.1:${String(webhookPort)}`,
        webhookConfigName: 'cedana-operator-demo',
        evictionHoldMax: 60_000,
      }),
      loadKubeAccess(kubeconfig),
      log.child({ component: 'operator' }),
    );
    cleanups.push(() => operator.stop());
    say(`3/8  operator running; metrics at ${operator.httpUrl}/metrics; eviction webhook on https://127.0.0.1:${String(webhookPort)}; logs in ${logFile}`);

    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ns = 'demo';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await waitUntil(
      () =>
        core.readNamespacedServiceAccount({ name: 'default', namespace: ns }).then(
          () => true,
          () => false,
        ),
      60_000,
      'the demo namespace service account',
    );
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'trainer-0', labels: { app: 'trainer' } }, spec: { containers: [{ name: 'train', image: 'registry.invalid/trainer:1' }], terminationGracePeriodSeconds: 0 } },
    });
    const node = await waitUntil(
      async () => {
        const p = await core.readNamespacedPod({ name: 'trainer-0', namespace: ns });
        return p.status?.phase === 'Running' ? (p.spec?.nodeName ?? '?') : undefined;
      },
      60_000,
      'trainer-0 to run',
    );
    say(`4/8  pod demo/trainer-0 is Running on ${node}; checkpointing it`);

    const cr = (plural: string, kind: string, name: string, spec: object) =>
      custom.createNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns, plural, body: { apiVersion: 'cedana.ai/v1alpha1', kind, metadata: { name }, spec } });
    const phaseOf = async (plural: string, name: string): Promise<{ phase?: string; message?: string; cedanaStatus?: string } & Record<string, unknown>> =>
      ((await custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns, plural, name })) as { status?: Record<string, unknown> }).status ?? {};
    await cr('podcheckpoints', 'PodCheckpoint', 'trainer-0-ckpt', { podName: 'trainer-0' });
    const ckpt = await follow('PodCheckpoint trainer-0-ckpt', () => phaseOf('podcheckpoints', 'trainer-0-ckpt'), ['Ready', 'Failed']);
    if (ckpt.phase !== 'Ready') throw new Error(`checkpoint failed: ${String(ckpt.message)}`);
    say(`     checkpoint ready: Cedana action ${String(ckpt.actionId)}, checkpoint ${String(ckpt.checkpointId)}`);

    say(`5/8  the pod is lost (deleting demo/trainer-0), then restoring it from the checkpoint`);
    await core.deleteNamespacedPod({ name: 'trainer-0', namespace: ns, gracePeriodSeconds: 0 });
    await cr('podrestores', 'PodRestore', 'trainer-0-restore', { checkpointRef: { name: 'trainer-0-ckpt' } });
    const restore = await follow('PodRestore trainer-0-restore', () => phaseOf('podrestores', 'trainer-0-restore'), ['Succeeded', 'Failed']);
    if (restore.phase !== 'Succeeded') throw new Error(`restore failed: ${String(restore.message)}`);
    const restored = restore.restoredPod as { name: string };
    const where = await waitUntil(
      async () => {
        const p = await core.readNamespacedPod({ name: restored.name, namespace: ns });
        return p.status?.phase === 'Running' ? (p.spec?.nodeName ?? '?') : undefined;
      },
      60_000,
      'the restored pod to run',
    );
    say(`6/8  restored: pod demo/${restored.name} is Running on ${where}`);

    // Part two: a node is reclaimed, and a CheckpointPolicy carries its pods to other nodes.
    const doomed = 'kwok-node-0';
    await custom.createNamespacedCustomObject({
      group: 'cedana.ai',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'checkpointpolicies',
      body: { apiVersion: 'cedana.ai/v1alpha1', kind: 'CheckpointPolicy', metadata: { name: 'workers' }, spec: { selector: { matchLabels: { app: 'worker' } } } },
    });
    const workers = ['worker-0', 'worker-1', 'worker-2'];
    for (const name of workers) {
      await core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name, labels: { app: 'worker' } }, spec: { nodeName: doomed, containers: [{ name: 'work', image: 'registry.invalid/worker:1' }], terminationGracePeriodSeconds: 0 } },
      });
    }
    await waitUntil(
      async () => {
        const policy = (await custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns, plural: 'checkpointpolicies', name: 'workers' })) as {
          status?: { protectedPods?: number };
        };
        return policy.status?.protectedPods === workers.length;
      },
      60_000,
      'the policy to protect the workers',
    );
    say(`7/8  CheckpointPolicy "workers" protects 3 pods on ${doomed}. Karpenter reclaims the node: taint karpenter.sh/disrupted, then kubectl drain at once`);
    await core.patchNode({ name: doomed, body: { spec: { taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const listOf = async (plural: string) =>
      (
        (await custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns, plural, labelSelector: `cedana.ai/node=${doomed}` })) as {
          items: { spec: { podName?: string }; status?: { phase?: string; restoredPod?: { name: string } } }[];
        }
      ).items;
    // The drain does not wait for anything: the webhook answers its evictions 429 until each pod's checkpoint is Ready.
    const drainStarted = Date.now();
    const drain = await kubectl(kubeconfig, ['drain', doomed, '--ignore-daemonsets', '--force', '--delete-emptydir-data', '--timeout=120s']);
    const drainSeconds = ((Date.now() - drainStarted) / 1000).toFixed(1);
    if (drain.code !== 0) throw new Error(`kubectl drain failed (${String(drain.code)}): ${drain.out.slice(-500)}`);
    const outcomes = Object.fromEntries((await operator.metrics.evictions.get()).values.map((v) => [String(v.labels.outcome), v.value]));
    const ready = (await listOf('podcheckpoints')).filter((c) => c.status?.phase === 'Ready');
    say(
      `     kubectl drain finished in ${drainSeconds}s: ${String(outcomes.held ?? 0)} evictions held (429) while ${String(ready.length)} checkpoints were taken (${ready.map((c) => c.spec.podName ?? '?').join(', ')}), then allowed: ${String(outcomes.ready ?? 0)}`,
    );
    const restoredPods = await waitUntil(
      async () => {
        const items = await listOf('podrestores');
        return items.length === workers.length && items.every((r) => r.status?.phase === 'Succeeded') ? items.map((r) => r.status?.restoredPod?.name ?? '?') : undefined;
      },
      120_000,
      'the evacuation restores',
    );
    const placed = await waitUntil(
      async () => {
        const pods = await Promise.all(restoredPods.map((name) => core.readNamespacedPod({ name, namespace: ns })));
        return pods.every((p) => p.status?.phase === 'Running') ? pods.map((p) => `${p.metadata?.name ?? '?'} on ${p.spec?.nodeName ?? '?'}`) : undefined;
      },
      60_000,
      'the restored workers to run',
    );
    say(`8/8  restored elsewhere, reason nodeTermination: ${placed.join(', ')}. Done.`);

    if (values.keep) {
      say(
        `\nEverything keeps running. Try:\n  export KUBECONFIG=${kubeconfig}\n  "$(sh ${script} build)/kubectl" get cedana -n demo -o wide\n  curl -H 'Authorization: Bearer ${token}' ${sim.url}/v2/actions\nCtrl-C stops it all.`,
      );
      await new Promise<never>(() => undefined);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

async function follow(what: string, read: () => Promise<{ phase?: string; message?: string; cedanaStatus?: string } & Record<string, unknown>>, final: string[]) {
  let last = '';
  return waitUntil(
    async () => {
      const s: Awaited<ReturnType<typeof read>> = await read().catch(() => ({}));
      const line = `${s.phase ?? 'Pending'}${s.cedanaStatus ? ` (Cedana: ${s.cedanaStatus})` : ''}`;
      if (line !== last) say(`     ${what}: ${line}`);
      last = line;
      return s.phase && final.includes(s.phase) ? s : undefined;
    },
    120_000,
    `${what} to finish`,
  );
}

async function waitUntil<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const script = clusterScript;
