// The pieces the operator tests run: the Cedana simulator playing Cedana's in-cluster side against
// the test cluster, and the operator, either in this process or as a real child process (for the
// SIGKILL and leader-election tests). Every child is killed by its pid when the tests end.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { ConfigSchema, type Config } from '../../../src/config/config.ts';
import { startOperator, type RunningOperator } from '../../../src/operator.ts';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../../src/simulator/index.ts';
import { kubeHooks } from '../../../src/simulator/kube-side.ts';
import { kubeAccess, kubeConfig, kubeconfigPath, repoRoot, waitFor } from './cluster.ts';

export const TOKEN = 'integration-test-token-0123456789';
export const CLUSTER_ID = 'it-cluster';

export const testLogger = (): Logger => pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });

export async function startTestSimulator(opts: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  const log = testLogger();
  return startSimulator({ token: TOKEN, stepMs: 150, logger: log, hooks: kubeHooks(kubeConfig(), log), ...opts });
}

export function testConfig(sim: RunningSimulator, namespace: string, overrides: Partial<Config> = {}): Config {
  return ConfigSchema.parse({
    cedanaUrl: sim.url,
    cedanaToken: TOKEN,
    clusterId: CLUSTER_ID,
    cedanaTimeout: 2_000,
    namespaces: [namespace],
    workers: 4,
    pollInterval: 100,
    pollIntervalMax: 1_000,
    leaderElect: false,
    leaseNamespace: namespace,
    identity: `in-process-${String(process.pid)}`,
    httpBindAddress: '127.0.0.1:0',
    // The tests play Cedana's side themselves: no Cedana controller acts on its labels here.
    cedanaLabels: 'honour',
    ...overrides,
  });
}

export async function startInProcessOperator(sim: RunningSimulator, namespace: string, overrides: Partial<Config> = {}): Promise<RunningOperator> {
  return startOperator(testConfig(sim, namespace, overrides), kubeAccess(), testLogger());
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface OperatorProcess {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => Promise<number | null>;
}

/**
 * `cedana-operator run` as its own process, configured through flags and env like a Deployment;
 * against the shared test cluster, or the one `kubeconfig` names (a test with its own control plane).
 */
export function spawnOperator(
  sim: RunningSimulator,
  namespace: string,
  identity: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
  kubeconfig: string = kubeconfigPath(),
): OperatorProcess {
  const args = [
    'run',
    `--cedana-url=${sim.url}`,
    `--cluster-id=${CLUSTER_ID}`,
    `--namespaces=${namespace}`,
    '--cedana-timeout=2s',
    '--poll-interval=100ms',
    '--poll-interval-max=1s',
    `--lease-namespace=${namespace}`,
    `--identity=${identity}`,
    '--http-bind-address=127.0.0.1:0',
    '--cedana-labels=honour',
    `--kubeconfig=${kubeconfig}`,
    ...extraArgs,
  ];
  const proc = spawn(join(repoRoot, 'bin/cedana-operator'), args, {
    env: { ...process.env, CEDANA_AUTH_TOKEN: TOKEN, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => {
      children.delete(proc);
      resolve(code);
    });
  });
  return {
    proc,
    output: () => out,
    exited,
    kill: (signal) => {
      proc.kill(signal);
      return exited;
    },
  };
}

export const api = (kc: KubeConfig = kubeConfig()) => ({ core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) });

/** A pod the scheduler places on a kwok node, where it turns Running. */
export async function createPod(namespace: string, name: string, labels: Record<string, string> = {}): Promise<{ uid: string }> {
  const { core } = api();
  const pod = await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app: 'trainer', ...labels } },
      spec: {
        containers: [{ name: 'main', image: 'registry.invalid/trainer:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
        terminationGracePeriodSeconds: 0,
      },
    },
  });
  return { uid: pod.metadata?.uid ?? '' };
}

/** A kwok node (kwok plays its kubelet), Ready before this returns. */
export async function createKwokNode(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await api().core.createNode({ body: { metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok-test' } } } });
  await waitFor(async () => (await api().core.readNode({ name })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), { what: `node ${name} Ready`, timeoutMs: 60_000 });
  return name;
}

/** A pod bound to the given node; returns its uid. */
export async function podOnNode(namespace: string, name: string, node: string, labels: Record<string, string>): Promise<string> {
  const pod = await api().core.createNamespacedPod({
    namespace,
    body: { metadata: { name, labels }, spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'registry.invalid/app:1' }] } },
  });
  return pod.metadata?.uid ?? '';
}

type Json = Record<string, unknown>;

export async function createCr(namespace: string, plural: string, kind: string, name: string, spec: Json): Promise<void> {
  await api().custom.createNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace, plural, body: { apiVersion: 'cedana.ai/v1alpha1', kind, metadata: { name }, spec } });
}

export async function getCr(
  namespace: string,
  plural: string,
  name: string,
): Promise<{ metadata: Json; spec: Json; status?: Json & { phase?: string; conditions?: { type: string; status: string; reason: string }[] } }> {
  return (await api().custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace, plural, name })) as never;
}

/** Waits until the object's status.phase is one of `phases`, and returns it. */
export async function waitForPhase(namespace: string, plural: string, name: string, phases: string[], timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const obj = await getCr(namespace, plural, name);
      return obj.status?.phase && phases.includes(obj.status.phase) ? obj : undefined;
    },
    { what: `${plural} ${namespace}/${name} to reach ${phases.join(' or ')}`, timeoutMs, intervalMs: 100 },
  );
}

export async function eventsFor(namespace: string, name: string): Promise<{ reason: string; type: string; message: string }[]> {
  const list = await api().core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e) => ({ reason: e.reason ?? '', type: e.type ?? '', message: e.message ?? '' }));
}
