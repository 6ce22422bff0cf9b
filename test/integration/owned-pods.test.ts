// Restores that work with the pod's owner, against a real control plane whose
// kube-controller-manager acts (a ReplicaSet and a StatefulSet replace an evicted pod at once):
// each node is drained with the built `kubectl drain`, the operator's eviction webhook holds each
// protected pod until its evacuation checkpoint is Ready, the owner makes its replacement, and the
// simulator (as Cedana's declarative restore) starts that replacement from the checkpoint named by
// its CEDANA_CHECKPOINT. Afterwards: one pod per replica or identity, no `-restored` pod, and the
// PodRestore names the replacement and the checkpoint it started from.
import { randomBytes } from 'node:crypto';
import { AdmissionregistrationV1Api, AppsV1Api, BatchV1Api, type V1Container, type V1PodTemplateSpec } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort, createLocalEvictionWebhook } from '../../src/dev/local-webhook.ts';
import type { RunningOperator } from '../../src/operator.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { kubectl as runKubectl } from '../../src/dev/kubectl.ts';
import { createTestNamespace, kubeConfig, kubeconfigPath, waitFor, type TestNamespace } from './harness/cluster.ts';
import { api, createCr, eventsFor, startInProcessOperator, startTestSimulator, TOKEN } from './harness/stack.ts';

const kubectl = (args: string[]): Promise<{ code: number | null; out: string }> => runKubectl(kubeconfigPath(), args);

interface Restore {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { mode?: string; checkpointName?: string; owner?: { kind: string; name: string }; checkpointRef?: { name: string } };
  status?: {
    phase?: string;
    message?: string;
    restoredPod?: { name: string; uid?: string };
    restoreActionId?: string;
    checkpointId?: string;
    checkpointName?: string;
    conditions?: { type: string; status: string; reason: string }[];
  };
}
interface Checkpoint {
  metadata: { name: string };
  status?: { phase?: string; actionId?: string; checkpointId?: string };
}

describe('pods with an owner: the owner replacement is the restore', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;
  let removeWebhook: () => Promise<void>;
  const kc = kubeConfig();
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const vwcName = `cedana-owned-${randomBytes(3).toString('hex')}`;

  const list = async <T>(plural: string, labelSelector?: string): Promise<T[]> =>
    ((await api().custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural, ...(labelSelector ? { labelSelector } : {}) })) as { items: T[] }).items;

  const simGet = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${sim.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: await res.text() };
  };

  /** Pods of this app that are not terminating. */
  const livePods = async (app: string) => (await api().core.listNamespacedPod({ namespace: ns.name, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);

  /**
   * Two kwok nodes of their own (a label the workload selects, a taint it tolerates and no other
   * test's pod does): the pod lands on one, its replacement on the other.
   */
  const nodesFor = async (group: string): Promise<string[]> => {
    const names: string[] = [];
    for (let i = 0; i < 2; i++) {
      const name = `own-${group}-${randomBytes(3).toString('hex')}`;
      await api().core.createNode({
        body: {
          metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok-owned', 'owned-test': `${ns.name}-${group}` } },
          spec: { taints: [{ key: 'owned-test', value: ns.name, effect: 'NoSchedule' }] },
        },
      });
      await waitFor(async () => (await api().core.readNode({ name })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), { what: `node ${name} Ready`, timeoutMs: 60_000 });
      names.push(name);
    }
    return names;
  };

  const template = (app: string, group: string, labels: Record<string, string>, env: V1Container['env']): V1PodTemplateSpec => ({
    metadata: { labels: { app, ...labels } },
    spec: {
      nodeSelector: { 'owned-test': `${ns.name}-${group}` },
      tolerations: [{ key: 'owned-test', operator: 'Equal', value: ns.name, effect: 'NoSchedule' }],
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'main', image: 'registry.invalid/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } }, ...(env ? { env } : {}) }],
    },
  });

  /** The one running pod of the app, once it runs. */
  const runningPod = (app: string) =>
    waitFor(
      async () => {
        const pods = (await livePods(app)).filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName);
        return pods.length === 1 ? pods[0] : undefined;
      },
      { what: `one pod of ${app} Running`, timeoutMs: 60_000 },
    );

  /** The one pod of the app, once it is bound to a node (whatever its phase). */
  const boundPod = (app: string) =>
    waitFor(
      async () => {
        const pods = (await livePods(app)).filter((p) => p.spec?.nodeName);
        return pods.length === 1 ? pods[0] : undefined;
      },
      { what: `one pod of ${app} on a node`, timeoutMs: 60_000 },
    );

  /** Drains the pod's node as a real drainer does; returns the pod that left. */
  async function drainPodOf(app: string, o: { running?: boolean } = {}) {
    const pod = o.running === false ? await boundPod(app) : await runningPod(app);
    const node = pod.spec?.nodeName ?? '';
    const drain = await kubectl(['drain', node, '--ignore-daemonsets', '--force', '--delete-emptydir-data', '--timeout=90s']);
    expect(drain.code, drain.out).toBe(0);
    // The hold made the drain wait for the checkpoint.
    expect(drain.out).toContain('cedana-operator: checkpointing pod');
    return { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '', node };
  }

  const restoreOf = (podUID: string, phases: string[]) =>
    waitFor(async () => (await list<Restore>('podrestores', `cedana.ai/pod-uid=${podUID}`)).find((r) => phases.includes(r.status?.phase ?? '')), {
      what: `the PodRestore of pod ${podUID} ${phases.join(' or ')}`,
      timeoutMs: 60_000,
    });

  /** The restore said who and what, and Cedana (the simulator) says the same through its API. */
  async function expectRestoredFromEvacuation(app: string, original: { name: string; uid: string }, ownerKind: string, checkpointName: string) {
    const restore = await restoreOf(original.uid, ['Succeeded', 'Failed']);
    expect(restore.status?.phase, restore.status?.message).toBe('Succeeded');
    expect(restore.spec.mode).toBe('OwnerReplacement');
    expect(restore.spec.owner?.kind).toBe(ownerKind);
    expect(restore.spec.checkpointName).toBe(checkpointName);
    const replacement = restore.status?.restoredPod;
    expect(replacement?.uid).toBeDefined();
    expect(replacement?.uid).not.toBe(original.uid);

    // Exactly one pod of the workload, and it is the replacement: no second, restored pod.
    const pods = await livePods(app);
    expect(pods.map((p) => p.metadata?.name)).toEqual([replacement?.name]);
    expect(pods[0]?.metadata?.uid).toBe(replacement?.uid);
    expect(pods.some((p) => (p.metadata?.name ?? '').includes('-restored'))).toBe(false);
    expect((await api().core.listNamespacedPod({ namespace: ns.name })).items.some((p) => (p.metadata?.name ?? '').includes('-restored'))).toBe(false);

    // The evacuation checkpoint it started from.
    const pc = (await list<Checkpoint>('podcheckpoints', `cedana.ai/pod-uid=${original.uid}`)).find((c) => c.metadata.name === restore.spec.checkpointRef?.name);
    expect(pc?.status?.phase).toBe('Ready');
    const listing = JSON.parse((await simGet('/v2/actions')).body) as { action_id: string; checkpoint_id: string; type: string; status: string }[];
    const checkpointAction = listing.find((a) => a.action_id === pc?.status?.actionId);
    expect(restore.status?.checkpointId).toBe(checkpointAction?.checkpoint_id);
    // Cedana's own record: a restore action for the replacement's uid, of that checkpoint, done.
    const fromPod = await simGet(`/v2/actions/from_pod/${replacement?.uid ?? ''}`);
    expect(fromPod.status).toBe(200);
    expect(fromPod.body.replaceAll('"', '')).toBe(restore.status?.restoreActionId);
    const restoreAction = listing.find((a) => a.action_id === restore.status?.restoreActionId);
    expect(restoreAction?.type).toBe('restore');
    expect(restoreAction?.checkpoint_id).toBe(checkpointAction?.checkpoint_id);
    // Cedana's checkpoint carries the workload's name.
    const cps = JSON.parse((await simGet(`/v2/checkpoints?ids=${checkpointAction?.checkpoint_id ?? ''}`)).body) as { name: string | null }[];
    expect(cps[0]?.name).toBe(checkpointName);
    return { restore, replacement };
  }

  beforeAll(async () => {
    ns = await createTestNamespace('owned');
    sim = await startTestSimulator();
    const port = await freeLoopbackPort();
    removeWebhook = await createLocalEvictionWebhook(kc, { name: vwcName, port, namespaces: [ns.name] });
    op = await startInProcessOperator(sim, ns.name, {
      webhook: true,
      webhookBindAddress: `127.0.0.1:${String(port)}`,
      webhookConfigName: vwcName,
      leaseNamespace: ns.name,
      restoredPodTimeout: 20_000,
    });
    // The operator patches its CA bundle in; until then the apiserver cannot call the webhook.
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    await waitFor(async () => ((await admission.readValidatingWebhookConfiguration({ name: vwcName })).webhooks?.[0]?.clientConfig.caBundle ?? '') !== '', {
      what: 'the CA bundle patched in',
      timeoutMs: 30_000,
    });
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'owned', { selector: { matchLabels: { protect: 'policy' } } });
  }, 120_000);

  afterAll(async () => {
    await op.stop();
    await removeWebhook();
    await sim.close();
    await ns.cleanup();
  });

  it('Deployment of one replica (policy): its ReplicaSet replacement starts from the evacuation checkpoint; no second pod', async () => {
    await nodesFor('dep');
    const name = 'web';
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name },
        spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: template(name, 'dep', { protect: 'policy' }, [{ name: 'CEDANA_CHECKPOINT', value: name }]) },
      },
    });
    const original = await drainPodOf(name);
    const { replacement } = await expectRestoredFromEvacuation(name, original, 'ReplicaSet', name);
    expect(replacement?.name).not.toBe(original.name);
  }, 150_000);

  it("StatefulSet of one replica (Cedana's label): trainer-0 comes back as trainer-0, started from its checkpoint", async () => {
    await nodesFor('sts');
    const name = 'trainer';
    await apps.createNamespacedStatefulSet({
      namespace: ns.name,
      body: {
        metadata: { name },
        spec: {
          replicas: 1,
          serviceName: name,
          selector: { matchLabels: { app: name } },
          template: template(name, 'sts', { 'cedana.ai/node-restore': 'true' }, [{ name: 'CEDANA_CHECKPOINT', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]),
        },
      },
    });
    const original = await drainPodOf(name);
    expect(original.name).toBe('trainer-0');
    const { replacement } = await expectRestoredFromEvacuation(name, original, 'StatefulSet', 'trainer-0');
    expect(replacement?.name).toBe('trainer-0');
  }, 150_000);

  // kwok completes a Job's pods as soon as they run (its pod-complete stage), so this Job's pod is
  // bound to a Node no kwok or kubelet plays: it stays Pending, which the drain, the hold, the
  // checkpoint and the Job controller treat as they treat a running pod.
  it('indexed Job, parallelism 1 (policy): the replacement of the same completion index starts from "<job>-$(JOB_COMPLETION_INDEX)"', async () => {
    const node = `own-job-${randomBytes(3).toString('hex')}`;
    await api().core.createNode({ body: { metadata: { name: node, labels: { type: 'owned-unmanaged' } } } });
    const name = 'batch';
    const tpl = template(name, 'job', { protect: 'policy' }, [
      { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
      { name: 'CEDANA_CHECKPOINT', value: `${name}-$(JOB_COMPLETION_INDEX)` },
    ]);
    // Bound to that node by name (no scheduler), and Never restarted, as a Job's pods must be.
    if (tpl.spec) {
      tpl.spec.nodeName = node;
      tpl.spec.restartPolicy = 'Never';
      delete tpl.spec.nodeSelector;
    }
    await batch.createNamespacedJob({
      namespace: ns.name,
      body: { metadata: { name }, spec: { completionMode: 'Indexed', completions: 1, parallelism: 1, backoffLimit: 6, template: tpl } },
    });
    const original = await drainPodOf(name, { running: false });
    const { restore, replacement } = await expectRestoredFromEvacuation(name, original, 'Job', `${name}-0`);
    expect(replacement?.name).not.toBe(original.name);
    const pod = await api().core.readNamespacedPod({ namespace: ns.name, name: replacement?.name ?? '' });
    expect(pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']).toBe('0');
    expect(restore.spec.checkpointName).toBe('batch-0');
  }, 150_000);

  it('a Deployment without CEDANA_CHECKPOINT: reported (MissingCheckpointName, a Warning), and still no second pod', async () => {
    await nodesFor('bare-name');
    const name = 'nameless';
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: { metadata: { name }, spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: template(name, 'bare-name', { protect: 'policy' }, undefined) } },
    });
    // Said before anything happens: a Warning on the pod, and the policy's condition naming it.
    const before = await runningPod(name);
    const podName = before.metadata?.name ?? '';
    await waitFor(async () => (await eventsFor(ns.name, podName)).some((e) => e.type === 'Warning' && e.reason === 'MissingCheckpointName'), { what: `the Warning on ${podName}` });
    const condition = await waitFor(
      async () => {
        const p = (await api().custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'checkpointpolicies', name: 'owned' })) as {
          status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
        };
        const c = p.status?.conditions?.find((x) => x.type === 'DeclarativeRestoreReady');
        return c?.message.includes(podName) ? c : undefined;
      },
      { what: 'DeclarativeRestoreReady naming the pod' },
    );
    expect(condition).toMatchObject({ status: 'False', reason: 'MissingCheckpointName' });
    expect(condition.message).not.toContain('web-');

    const original = await drainPodOf(name);
    const restore = await restoreOf(original.uid, ['Succeeded', 'Failed']);
    expect(restore.status?.phase).toBe('Failed');
    expect(restore.spec.mode).toBe('OwnerReplacement');
    expect(restore.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('MissingCheckpointName');
    expect(restore.status?.message).toContain('had no CEDANA_CHECKPOINT');
    expect((await eventsFor(ns.name, restore.metadata.name)).some((e) => e.type === 'Warning' && e.reason === 'MissingCheckpointName')).toBe(true);
    // The ReplicaSet's replacement runs (from scratch); the operator made no pod of its own.
    const replacement = await runningPod(name);
    expect(replacement.metadata?.uid).not.toBe(original.uid);
    expect((await api().core.listNamespacedPod({ namespace: ns.name })).items.some((p) => (p.metadata?.name ?? '').includes('-restored'))).toBe(false);
  }, 150_000);
});
