// A real apiserver outage: kube-apiserver stopped for 30 s and started again on the same port with the
// same flags (scripts/local-cluster.sh apiserver-stop / apiserver-start), the operator running as its
// own process throughout. Afterwards the controllers must act again: a PodCheckpoint created once the
// apiserver answers reaches Ready through exactly one Cedana action. The issue's goal is "within 5 s
// of the apiserver answering"; tests never assert timing, so the delay is printed here and reported by
// the chaos benchmark (npm run bench:chaos).
//
// The rest of the integration tier shares one control plane (harness/global-setup.ts): stopping its
// apiserver would break the other files, so this one starts a control plane of its own.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../../src/dev/local-cluster.ts';
import { applyManifestDir, waitForCrdsEstablished } from '../../src/kube/apply.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.ts';
import { kubeHooks } from '../../src/simulator/kube-side.ts';
import { repoRoot, waitFor } from './harness/cluster.ts';
import { spawnOperator, testLogger, TOKEN, type OperatorProcess } from './harness/stack.ts';

const NS = 'outage';
const OUTAGE_MS = 30_000;
const group = { group: 'cedana.ai', version: 'v1alpha1', namespace: NS, plural: 'podcheckpoints' } as const;

interface Checkpoint {
  status?: { phase?: string; actionId?: string; submitStartedAt?: string; message?: string };
}

describe('after a 30 s apiserver outage', () => {
  let cluster: LocalCluster | undefined;
  let sim: RunningSimulator | undefined;
  let operator: OperatorProcess | undefined;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;

  const checkpoint = async (name: string): Promise<Checkpoint> => (await custom.getNamespacedCustomObject({ ...group, name })) as Checkpoint;
  const createCheckpoint = (name: string, podName: string) =>
    custom.createNamespacedCustomObject({ ...group, body: { apiVersion: 'cedana.ai/v1alpha1', kind: 'PodCheckpoint', metadata: { name }, spec: { podName } } });
  const settled = (name: string, timeoutMs: number) =>
    waitFor(
      async () => {
        const pc = await checkpoint(name);
        return pc.status?.phase === 'Ready' || pc.status?.phase === 'Failed' ? pc : undefined;
      },
      { what: `PodCheckpoint ${NS}/${name} Ready or Failed`, timeoutMs, intervalMs: 50 },
    );

  beforeAll(async () => {
    cluster = await startLocalCluster({ full: true, prefix: 'cedana-it-outage-' });
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await waitForCrdsEstablished(kc, await applyManifestDir(kc, join(repoRoot, 'crds'), 'cedana-integration-tests'));
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace: NS }), { what: `service account ${NS}/default`, timeoutMs: 60_000 });
    const log = testLogger();
    sim = await startSimulator({ token: TOKEN, stepMs: 150, logger: log, hooks: kubeHooks(kc, log) });
    // No leader election: with it, an outage longer than the renew deadline (10 s) ends the process
    // (exit 1, for its Deployment to restart); what is under test here is the informers' resume.
    operator = spawnOperator(sim, NS, 'outage-operator', ['--leader-elect=false'], {}, cluster.kubeconfig);
    const op = operator;
    const running = (line: string): boolean => line.includes('"controller":"podcheckpoint"') && line.includes('controller running');
    await waitFor(() => op.output().split('\n').some(running), { what: 'the operator to run its podcheckpoint controller', timeoutMs: 60_000 });
  });

  afterAll(async () => {
    await operator?.kill('SIGKILL');
    await sim?.close();
    await cluster?.down();
  });

  it('the controllers act again once the apiserver answers: a new PodCheckpoint reaches Ready through one Cedana action', { timeout: 300_000 }, async () => {
    if (!cluster || !sim || !operator) throw new Error('setup did not finish');
    const s = sim;
    const pod = await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'trainer', labels: { app: 'trainer' } },
        spec: { nodeName: 'kwok-node-0', terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'registry.invalid/trainer:1' }] },
      },
    });
    const uid = pod.metadata?.uid ?? '';
    await waitFor(async () => (await core.readNamespacedPod({ name: 'trainer', namespace: NS })).status?.phase === 'Running', { what: 'pod trainer Running', timeoutMs: 60_000 });

    // Before: the operator works.
    await createCheckpoint('before', 'trainer');
    const before = await settled('before', 60_000);
    expect({ phase: before.status?.phase, message: before.status?.message }).toMatchObject({ phase: 'Ready' });

    // The outage.
    const stopping = Date.now();
    await cluster.stopApiserver();
    const stoppedAt = Date.now();
    await expect(core.readNamespace({ name: NS })).rejects.toThrow();
    await sleep(OUTAGE_MS);
    await cluster.startApiserver();
    // startApiserver resolves once /readyz answers (polled every 200 ms): the apiserver answered by now.
    const answeredAt = Date.now();
    expect(operator.proc.exitCode).toBeNull();

    // After: a new object, which only a working watch can bring to the operator.
    await waitFor(() => createCheckpoint('after', 'trainer').then(() => true), { what: 'the apiserver to accept the PodCheckpoint', timeoutMs: 60_000, intervalMs: 100 });
    const createdAt = Date.now();
    const after = await settled('after', 120_000);
    // The message is in the diff should it be Failed.
    expect({ phase: after.status?.phase, message: after.status?.message }).toMatchObject({ phase: 'Ready' });

    // One Cedana action per PodCheckpoint: none lost in the outage, none repeated after it.
    const actions = s.stats().checkpointActionsByPod[uid] ?? [];
    expect(actions).toEqual([before.status?.actionId, after.status?.actionId]);

    const listed = (await (await fetch(`${s.url}/v2/actions`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { action_id: string; action_timestamp: string }[];
    const postAt = Date.parse(listed.find((a) => a.action_id === after.status?.actionId)?.action_timestamp ?? '');
    const intentAt = Date.parse(after.status?.submitStartedAt ?? '');
    const ms = (t: number): string => (Number.isFinite(t) ? `${String(t - answeredAt)} ms` : 'unknown');
    process.stdout.write(
      `apiserver outage: stop took ${String(stoppedAt - stopping)} ms, down ${String(answeredAt - stoppedAt)} ms; after it answered again: ` +
        `PodCheckpoint created +${ms(createdAt)}, the operator's first act (status.submitStartedAt) +${ms(intentAt)}, ` +
        `Cedana's POST accepted +${ms(postAt)} (goal: within 5000 ms)\n`,
    );
  });
});
