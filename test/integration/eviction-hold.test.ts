// The eviction hold against a real control plane: the apiserver calls the webhook over loopback TLS
// (a ValidatingWebhookConfiguration with clientConfig.url and the CA bundle the operator's own
// certificate manager patches in). Until the operator wires the webhook itself, this test wires it:
// informers for pods, nodes, PodCheckpoints and policies, the decision, the server; the in-process
// operator takes the checkpoints and restores, the simulator plays Cedana and tells the truth about
// pods that go away before their checkpoint is taken.
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { AdmissionregistrationV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointPolicies, Nodes, PodCheckpoints, Pods } from '../../src/api/kinds.ts';
import type { CheckpointPolicy } from '../../src/api/checkpointpolicy.ts';
import { Node, type Pod } from '../../src/api/pod.ts';
import type { PodCheckpoint } from '../../src/api/podcheckpoint.ts';
import { requestEvacuationCheckpoint } from '../../src/controllers/evacuation.ts';
import { DEFAULT_TERMINATING_TAINTS } from '../../src/controllers/node-signals.ts';
import { checkpointsByPodUID } from '../../src/controllers/owned-objects.ts';
import { policiesByNamespace, Protection } from '../../src/controllers/protection.ts';
import { KubeClient, paths } from '../../src/kube/client.ts';
import { CustomObjects } from '../../src/kube/custom-objects.ts';
import { EventRecorder } from '../../src/kube/events.ts';
import { Informer } from '../../src/kube/informer.ts';
import type { RunningOperator } from '../../src/operator.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { bundleFromSecret, issueServing, SelfManagedCerts, serviceSans, type CertBundle } from '../../src/webhook/certs.ts';
import { evacuationCheckpointName, EvictionHold, type HoldOutcome } from '../../src/webhook/eviction-hold.ts';
import { startWebhookServer, VALIDATE_EVICTION_PATH, type RunningWebhookServer } from '../../src/webhook/server.ts';
import { kubectl as runKubectl } from '../../src/dev/kubectl.ts';
import { apiError, createTestNamespace, kubeAccess, kubeConfig, kubeconfigPath, waitFor, type TestNamespace } from './harness/cluster.ts';
import { api, createCr, eventsFor, startInProcessOperator, startTestSimulator, testLogger, TOKEN } from './harness/stack.ts';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const HOLD_MAX_MS = 4_000;

async function createNode(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await api().core.createNode({ body: { metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok-eh' } } } });
  await waitFor(async () => (await api().core.readNode({ name })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), { what: `node ${name} Ready`, timeoutMs: 60_000 });
  return name;
}

async function podOn(namespace: string, name: string, node: string, labels: Record<string, string>): Promise<string> {
  const pod = await api().core.createNamespacedPod({
    namespace,
    body: { metadata: { name, labels }, spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'registry.invalid/app:1' }] } },
  });
  const uid = pod.metadata?.uid ?? '';
  await waitFor(async () => (await api().core.readNamespacedPod({ namespace, name })).status?.phase === 'Running', { what: `pod ${name} Running` });
  return uid;
}

const evict = (namespace: string, name: string) => api().core.createNamespacedPodEviction({ namespace, name, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } });

/** One eviction: 'allowed', or the apiserver's answer (code and message). */
async function tryEvict(namespace: string, name: string): Promise<'allowed' | { code: number; message: string }> {
  try {
    await evict(namespace, name);
    return 'allowed';
  } catch (err) {
    const e = apiError(err);
    if (!e) throw err;
    return e;
  }
}

/** As a drainer does: evict, and on 429 try again shortly. Resolves with the 429 messages seen. */
async function evictLikeADrainer(namespace: string, name: string): Promise<string[]> {
  const held: string[] = [];
  for (;;) {
    const r = await tryEvict(namespace, name);
    if (r === 'allowed' || r.code === 404) return held;
    if (r.code !== 429) throw new Error(`eviction of ${name}: ${String(r.code)} ${r.message}`);
    held.push(r.message);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const kubectl = (args: string[]): Promise<{ code: number | null; out: string }> => runKubectl(kubeconfigPath(), args);

const evacName = (name: string, uid: string): string => evacuationCheckpointName({ metadata: { name, uid }, spec: {} });

describe('eviction hold', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;
  let server: RunningWebhookServer;
  let certs: SelfManagedCerts;
  let bundle: CertBundle;
  const vwcName = `cedana-eviction-hold-${randomBytes(3).toString('hex')}`;
  const kc = kubeConfig();
  const log = testLogger();
  let pods: Informer<'Pod', Pod>;
  let nodes: Informer<'Node', Node>;
  let checkpoints: Informer<'PodCheckpoint', PodCheckpoint>;
  let policies: Informer<'CheckpointPolicy', CheckpointPolicy>;
  const outcomes: HoldOutcome[] = [];
  /** When this process saw each checkpoint Ready, and each pod terminating or gone (ms, one clock). */
  const readyAt = new Map<string, number>();
  const goneAt = new Map<string, number>();
  const deletionTimestamps = new Map<string, string>();
  const hold = { max: HOLD_MAX_MS };

  /** The names of a pod's PodCheckpoints, from the API. */
  const checkpointsOf = async (uid: string): Promise<string[]> =>
    (
      (await api().custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'podcheckpoints', labelSelector: `cedana.ai/pod-uid=${uid}` })) as {
        items: { metadata: { name: string } }[];
      }
    ).items.map((c) => c.metadata.name);

  /** The PodRestore of an evacuation checkpoint, once Succeeded, and its restored pod once Running. */
  const restoredFrom = async (checkpoint: string) => {
    type Restore = { spec: { reason: string; checkpointRef?: { name: string } }; status?: { phase?: string; restoredPod?: { name: string } } };
    const restore = await waitFor(
      async () => {
        const list = (await api().custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'podrestores' })) as { items: Restore[] };
        return list.items.find((r) => r.spec.checkpointRef?.name === checkpoint && r.status?.phase === 'Succeeded');
      },
      { what: `the restore from ${checkpoint} Succeeded`, timeoutMs: 60_000 },
    );
    const name = restore.status?.restoredPod?.name ?? '';
    const pod = await waitFor(
      async () => {
        const p = await api().core.readNamespacedPod({ namespace: ns.name, name });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { what: `restored pod ${name} Running` },
    );
    return { restore, pod };
  };

  beforeAll(async () => {
    ns = await createTestNamespace('evict');
    // informers of this namespace (pods, checkpoints, policies) and of nodes: the webhook's warm caches
    pods = new Informer({ kind: Pods, namespace: ns.name, access: kubeAccess(), logger: log });
    nodes = new Informer({ kind: Nodes, access: kubeAccess(), logger: log });
    checkpoints = new Informer({ kind: PodCheckpoints, namespace: ns.name, access: kubeAccess(), logger: log });
    checkpoints.addIndex(checkpointsByPodUID);
    policies = new Informer({ kind: CheckpointPolicies, namespace: ns.name, access: kubeAccess(), logger: log });
    policies.addIndex(policiesByNamespace);
    pods.onEvent((e) => {
      const key = e.obj.metadata.name;
      if ((e.type === 'delete' || e.obj.metadata.deletionTimestamp) && !goneAt.has(key)) {
        goneAt.set(key, Date.now());
        const dt = e.obj.metadata.deletionTimestamp;
        if (dt) deletionTimestamps.set(key, dt instanceof Date ? dt.toISOString() : dt);
      }
    });
    checkpoints.onEvent((e) => {
      if (e.type !== 'delete' && e.obj.status?.phase === 'Ready' && !readyAt.has(e.obj.metadata.name)) readyAt.set(e.obj.metadata.name, Date.now());
    });
    const informers = [pods, nodes, checkpoints, policies];
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.waitForSync()));

    sim = await startTestSimulator();
    // Cedana's labels protect a pod here as they do for the webhook's own Protection below.
    op = await startInProcessOperator(sim, ns.name, { cedanaLabels: 'honour' });
    const protection = new Protection(policies, 60_000);
    const kube = new KubeClient(kubeAccess());
    const objects = new CustomObjects(kube);
    const events = new EventRecorder(kube, log, 'eviction-hold-test');
    const decision = new EvictionHold({
      pod: (namespace, name) => pods.get(`${namespace}/${name}`),
      node: (name) => nodes.get(name),
      readNode: async (name) => Node.parse(await kube.get(paths.node(name))),
      checkpointsOfPod: (uid) => checkpoints.byIndex(checkpointsByPodUID, uid),
      ruleFor: (pod) => protection.ruleFor(pod),
      createEvacuationCheckpoint: async (pod, rule, restoreReason) => {
        await requestEvacuationCheckpoint(objects, checkpoints, pod, rule, { trigger: 'evacuation', restoreReason, nodeName: pod.spec.nodeName });
        return evacuationCheckpointName(pod);
      },
      recordEvent: (target, type, reason, message) => {
        events.record(target, type, reason, message);
      },
      onDecision: (outcome) => outcomes.push(outcome),
      get holdMaxMs() {
        return hold.max;
      },
      terminatingTaints: DEFAULT_TERMINATING_TAINTS,
      nodeNotReadyGraceMs: 300_000,
      now: Date.now,
      log,
    });

    // The certificate first (the configuration does not exist yet: nothing to patch), then the
    // server on a free loopback port, then the configuration naming it, then the CA bundle patched in.
    certs = new SelfManagedCerts({
      kube: new KubeClient(kubeAccess()),
      namespace: ns.name,
      secretName: 'webhook-tls',
      serviceName: 'cedana-operator-webhook',
      webhookConfigName: vwcName,
      onCertificate: (pair) => {
        (server as RunningWebhookServer | undefined)?.setCertificate(pair);
      },
      log,
    });
    bundle = await certs.start();
    server = await startWebhookServer({ bindAddress: '127.0.0.1:0', certificate: { cert: bundle.tlsCert, key: bundle.tlsKey }, decide: (ev) => decision.decide(ev), log });
    await kc.makeApiClient(AdmissionregistrationV1Api).createValidatingWebhookConfiguration({
      body: {
        metadata: { name: vwcName },
        webhooks: [
          {
            name: 'eviction-hold.cedana.ai',
            clientConfig: { url: `https://127.0.0.1:${String(server.port)}${VALIDATE_EVICTION_PATH}` },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'], scope: 'Namespaced' }],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
            failurePolicy: 'Ignore',
            matchPolicy: 'Equivalent',
            sideEffects: 'NoneOnDryRun',
            timeoutSeconds: 5,
            admissionReviewVersions: ['v1'],
          },
        ],
      },
    });
    await certs.sync();
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'trainers', { selector: { matchLabels: { app: 'trainer' } } });
    await waitFor(() => policies.list().length === 1, { what: 'the policy in the cache' });
  });

  afterAll(async () => {
    certs.stop();
    await kc
      .makeApiClient(AdmissionregistrationV1Api)
      .deleteValidatingWebhookConfiguration({ name: vwcName })
      .catch(() => undefined);
    await server.close();
    await op.stop();
    await sim.close();
    await Promise.all([pods.stop(), nodes.stop(), checkpoints.stop(), policies.stop()]);
    await ns.cleanup();
  });

  it('the operator patched its CA bundle into the configuration, and keeps the Secret it made', async () => {
    const vwc = await kc.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: vwcName });
    expect(Buffer.from(vwc.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8')).toBe(bundle.caBundle);
    // a second replica reads the same Secret and serves the same certificate
    const other = new SelfManagedCerts({
      kube: new KubeClient(kubeAccess()),
      namespace: ns.name,
      secretName: 'webhook-tls',
      serviceName: 'cedana-operator-webhook',
      webhookConfigName: vwcName,
      onCertificate: () => undefined,
      log,
    });
    expect((await other.sync()).tlsCert).toBe(bundle.tlsCert);
  });

  it('kubectl drain: unprotected pods leave at once; each protected pod only once its checkpoint is Ready; then restored elsewhere', async () => {
    const node = await createNode('eh-drain');
    const uids = { a: await podOn(ns.name, 'drain-a', node, { app: 'trainer' }), b: await podOn(ns.name, 'drain-b', node, { 'cedana.ai/node-restore': 'true' }) };
    await podOn(ns.name, 'drain-web', node, { app: 'web' });
    await waitFor(() => ['drain-a', 'drain-b', 'drain-web'].every((n) => pods.get(`${ns.name}/${n}`)?.status?.phase === 'Running'), { what: 'the pods Running in the cache' });

    const drain = await kubectl(['drain', node, '--ignore-daemonsets', '--force', '--timeout=90s']);
    expect(drain.code, drain.out).toBe(0);
    // the drain was told why it waited
    expect(drain.out).toMatch(/cedana-operator: checkpointing pod [\w-]+\/drain-[ab] before eviction \(PodCheckpoint drain-[ab]-evac-[0-9a-f]{10}: \w+\)/);

    const names = { 'drain-a': evacName('drain-a', uids.a), 'drain-b': evacName('drain-b', uids.b) };
    for (const [name, uid] of [
      ['drain-a', uids.a],
      ['drain-b', uids.b],
    ] as const) {
      const pc = names[name];
      const ready = readyAt.get(pc);
      const gone = goneAt.get(name);
      expect(ready, `${pc} Ready`).toBeTypeOf('number');
      expect(gone, `${name} gone`).toBeTypeOf('number');
      expect(ready).toBeLessThan(gone ?? 0);
      // and by the API's own clock: completed before the pod's deletionTimestamp (whole seconds)
      const completed = Date.parse(String(checkpoints.get(`${ns.name}/${pc}`)?.status?.completedAt));
      expect(completed).toBeLessThan(Date.parse(deletionTimestamps.get(name) ?? '') + 1000);
      expect(await checkpointsOf(uid)).toEqual([pc]);
      // The cordon's fast-path POST and the webhook's PodCheckpoint raced: still one Cedana action.
      expect(sim.stats().checkpointActionsByPod[uid]).toHaveLength(1);
    }
    // the unprotected pod was let go before any protected pod's checkpoint was Ready
    expect(goneAt.get('drain-web')).toBeLessThan(Math.min(readyAt.get(names['drain-a']) ?? 0, readyAt.get(names['drain-b']) ?? 0));

    for (const pc of Object.values(names)) {
      const { restore, pod } = await restoredFrom(pc);
      expect(restore.spec.reason).toBe('nodeUnschedulable');
      expect(pod.spec?.nodeName).not.toBe(node);
    }
  });

  it('taint then evict at once, as Karpenter does: held until Ready, restored with reason nodeTermination', async () => {
    const node = await createNode('eh-karpenter');
    const uid = await podOn(ns.name, 'karp-0', node, { app: 'trainer' });
    await waitFor(() => pods.get(`${ns.name}/karp-0`)?.status?.phase === 'Running', { what: 'karp-0 Running in the cache' });
    await api().core.patchNode({ name: node, body: { spec: { taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] } } }, merge);
    const held = await evictLikeADrainer(ns.name, 'karp-0');
    expect(held.length).toBeGreaterThan(0);
    expect(held[0]).toContain('cedana-operator: checkpointing pod');
    const pc = evacName('karp-0', uid);
    // the eviction's answer can come before our watch sees the pod go
    const gone = await waitFor(() => goneAt.get('karp-0'), { what: 'karp-0 gone in the cache' });
    expect(readyAt.get(pc)).toBeLessThan(gone);
    expect(await checkpointsOf(uid)).toEqual([pc]);
    expect(checkpoints.get(`${ns.name}/${pc}`)?.metadata.annotations?.['cedana.ai/restore-reason']).toBe('nodeTermination');
    const { restore, pod } = await restoredFrom(pc);
    expect(restore.spec.reason).toBe('nodeTermination');
    expect(pod.spec?.nodeName).not.toBe(node);
  });

  it('a second eviction while held creates nothing new', async () => {
    const node = await createNode('eh-twice');
    sim.setFaults({ latencyMs: 1_500, paths: ['POST /v2/checkpoint/pod'] }); // keep the checkpoint from Ready a while
    try {
      const uid = await podOn(ns.name, 'twice-0', node, { app: 'trainer' });
      await waitFor(() => pods.get(`${ns.name}/twice-0`)?.status?.phase === 'Running', { what: 'twice-0 Running in the cache' });
      const first = await tryEvict(ns.name, 'twice-0');
      const second = await tryEvict(ns.name, 'twice-0');
      expect(first).toMatchObject({ code: 429 });
      expect(second).toMatchObject({ code: 429 });
      expect(await checkpointsOf(uid)).toEqual([evacName('twice-0', uid)]);
      sim.setFaults({ latencyMs: 0, paths: null });
      await evictLikeADrainer(ns.name, 'twice-0');
      expect(sim.stats().checkpointActionsByPod[uid]).toHaveLength(1);
    } finally {
      sim.setFaults({ latencyMs: 0, paths: null });
    }
  });

  it('Cedana failing every checkpoint: allowed once the checkpoint Failed, with a Warning on the pod and the PodCheckpoint', async () => {
    const node = await createNode('eh-fail');
    sim.setFaults({ actionErrorRate: 1 });
    try {
      const uid = await podOn(ns.name, 'fail-0', node, { app: 'trainer' });
      await waitFor(() => pods.get(`${ns.name}/fail-0`)?.status?.phase === 'Running', { what: 'fail-0 Running in the cache' });
      const held = await evictLikeADrainer(ns.name, 'fail-0');
      expect(held.length).toBeGreaterThan(0);
      const pc = evacName('fail-0', uid);
      for (const target of ['fail-0', pc]) {
        await waitFor(async () => (await eventsFor(ns.name, target)).find((e) => e.type === 'Warning' && e.reason === 'EvictedWithoutCheckpoint' && e.message.includes('without a fresh checkpoint')), {
          what: `the Warning on ${target}`,
        });
      }
    } finally {
      sim.setFaults({ actionErrorRate: 0 });
    }
  });

  it('Cedana never answering: allowed after the hold bound (from the checkpoint creation), with the Warning', async () => {
    const node = await createNode('eh-slow');
    sim.setFaults({ hangRate: 1, paths: ['POST /v2/checkpoint/pod'] });
    try {
      const uid = await podOn(ns.name, 'slow-0', node, { app: 'trainer' });
      await waitFor(() => pods.get(`${ns.name}/slow-0`)?.status?.phase === 'Running', { what: 'slow-0 Running in the cache' });
      const held = await evictLikeADrainer(ns.name, 'slow-0');
      expect(held.length).toBeGreaterThan(1);
      const pc = checkpoints.get(`${ns.name}/${evacName('slow-0', uid)}`);
      expect(pc?.status?.phase).not.toBe('Ready');
      const created = Date.parse(String(pc?.metadata.creationTimestamp));
      expect(await waitFor(() => goneAt.get('slow-0'), { what: 'slow-0 gone in the cache' })).toBeGreaterThanOrEqual(created + HOLD_MAX_MS);
      const warning = await waitFor(async () => (await eventsFor(ns.name, 'slow-0')).find((e) => e.reason === 'EvictedWithoutCheckpoint'), { what: 'the Warning on slow-0' });
      expect(warning.message).toMatch(/past --eviction-hold-max/);
      expect(outcomes.includes('hold-max')).toBe(true);
    } finally {
      sim.setFaults({ hangRate: 0, paths: null });
    }
  });

  it('bad input: an eviction of a pod that does not exist, a malformed review, another kind: a clear answer, never a hold', async () => {
    const before = outcomes.length;
    const ghost = await tryEvict(ns.name, 'no-such-pod');
    expect(ghost).toMatchObject({ code: 404 });
    expect(outcomes.slice(before)).toEqual(['unprotected']);

    const post = (body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: VALIDATE_EVICTION_PATH, method: 'POST', ca: bundle.caBundle, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (s: string) => (text += s));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: text });
          });
        });
        req.on('error', reject);
        req.end(body);
      });
    const notJson = await post('{"apiVersion": "admission.k8s.io/v1", ');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toContain('not JSON');
    const malformed = await post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x' } }));
    expect(malformed.status).toBe(200);
    expect(JSON.parse(malformed.body)).toMatchObject({ response: { uid: 'x', allowed: true } });
    const otherKind = await post(
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 'y', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'DELETE', name: 'p', namespace: ns.name },
      }),
    );
    expect(JSON.parse(otherKind.body)).toMatchObject({ response: { uid: 'y', allowed: true, warnings: [expect.stringContaining('only CREATE of pods/eviction') as unknown] } });
    // and the server is still there
    expect((await post(JSON.stringify({}))).status).toBe(200);
  });

  it('the webhook stopped: a drain proceeds at once (failurePolicy Ignore)', async () => {
    await server.close();
    const node = await createNode('eh-down');
    const uid = await podOn(ns.name, 'down-0', node, { app: 'trainer' });
    await waitFor(() => pods.get(`${ns.name}/down-0`)?.status?.phase === 'Running', { what: 'down-0 Running in the cache' });
    const before = outcomes.length;
    const drain = await kubectl(['drain', node, '--ignore-daemonsets', '--force', '--timeout=60s']);
    expect(drain.code, drain.out).toBe(0);
    expect(drain.out).not.toContain('cedana-operator: checkpointing');
    expect(outcomes.length).toBe(before); // the webhook was never asked
    // the pod left with no Ready checkpoint: nothing held it
    const ready = readyAt.get(evacName('down-0', uid));
    expect(ready === undefined || ready > (goneAt.get('down-0') ?? 0)).toBe(true);
  });
});

describe('the simulator playing the in-cluster side', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  beforeAll(async () => {
    ns = await createTestNamespace('sim-truth');
    sim = await startTestSimulator({ stepMs: 2_000 }); // the dump (checkpoint_created) comes 4 s after the request
  });
  afterAll(async () => {
    await sim.close();
    await ns.cleanup();
  });

  const checkpoint = async (name: string, uid: string): Promise<string> => {
    const res = await fetch(`${sim.url}/v2/checkpoint/pod`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pod_name: name, pod_id: uid, namespace: ns.name, cluster_id: 'c', kind: 'simple', reason: 'manual' }),
    });
    expect(res.status).toBe(200);
    return (await res.text()).replace(/"/g, '');
  };
  const finalStatus = (id: string) =>
    waitFor(
      async () => {
        const body = (await (await fetch(`${sim.url}/v2/checkpoint/status/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { status: string; details: string | null };
        return body.status === 'ready' || body.status === 'error' ? body : undefined;
      },
      { what: `action ${id} to finish`, timeoutMs: 20_000, intervalMs: 200 },
    );

  it.each([
    { how: 'deleted', details: /was deleted before the checkpoint was taken|started terminating before the checkpoint was taken/ },
    { how: 'evicted', details: /was deleted before the checkpoint was taken|started terminating before the checkpoint was taken/ },
  ])('a pod $how before its checkpoint is taken: the action ends in error, saying so', async ({ how, details }) => {
    const node = await createNode(`sim-${how}`);
    const name = `truth-${how}`;
    const uid = await podOn(ns.name, name, node, { app: 'x' });
    const id = await checkpoint(name, uid);
    if (how === 'deleted') await api().core.deleteNamespacedPod({ namespace: ns.name, name, gracePeriodSeconds: 0 });
    else await evict(ns.name, name);
    const end = await finalStatus(id);
    expect(end.status).toBe('error');
    expect(end.details).toMatch(details);
    expect(end.details).toContain(`pod ${ns.name}/${name}`);
  });

  it('a pod that stays: ready', async () => {
    const node = await createNode('sim-stays');
    const uid = await podOn(ns.name, 'truth-stays', node, { app: 'x' });
    expect(await finalStatus(await checkpoint('truth-stays', uid))).toEqual({ status: 'ready', details: null });
  });
});

describe("the operator's own webhook certificate, in the cluster", () => {
  let ns: TestNamespace;
  const log = testLogger();
  beforeAll(async () => {
    ns = await createTestNamespace('webhook-certs', { waitForServiceAccount: false });
  });
  afterAll(async () => {
    await ns.cleanup();
  });
  const replica = (served: string[]) =>
    new SelfManagedCerts({
      kube: new KubeClient(kubeAccess()),
      namespace: ns.name,
      secretName: 'webhook-tls',
      serviceName: 'cedana-operator-webhook',
      webhookConfigName: `absent-${randomBytes(3).toString('hex')}`,
      onCertificate: (pair) => served.push(pair.cert),
      log,
    });
  const inSecret = async (): Promise<CertBundle | undefined> => bundleFromSecret(await api().core.readNamespacedSecret({ namespace: ns.name, name: 'webhook-tls' }));

  it('two replicas starting at once: one Secret, and both serve its certificate', async () => {
    const sa: string[] = [];
    const sb: string[] = [];
    const [a, b] = await Promise.all([replica(sa).sync(), replica(sb).sync()]);
    expect(a.tlsCert).toBe(b.tlsCert);
    expect(sa).toEqual([a.tlsCert]);
    expect(sb).toEqual([a.tlsCert]);
    expect((await inSecret())?.tlsCert).toBe(a.tlsCert);
  });

  it('a certificate due for renewal is renewed in the Secret under the same CA, and the other replicas take it up', async () => {
    const before = await inSecret();
    if (!before) throw new Error('no certificates in the Secret');
    // The Secret now holds a serving certificate of one second, from the same CA: due at once.
    const short = issueServing({ cert: before.caCert, key: before.caKey }, serviceSans('cedana-operator-webhook', ns.name).dnsNames, ['127.0.0.1'], Date.now(), 1_000);
    const secret = await api().core.readNamespacedSecret({ namespace: ns.name, name: 'webhook-tls' });
    const data = { ...secret.data, 'tls.crt': Buffer.from(short.cert).toString('base64'), 'tls.key': Buffer.from(short.key).toString('base64') };
    await api().core.replaceNamespacedSecret({
      namespace: ns.name,
      name: 'webhook-tls',
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'webhook-tls', resourceVersion: secret.metadata?.resourceVersion ?? '' }, type: 'kubernetes.io/tls', data },
    });
    // The next replica finds it due and renews it with the normal lifetime, keeping the CA.
    const served: string[] = [];
    const renewed = await replica(served).sync();
    expect(renewed.tlsCert).not.toBe(short.cert);
    expect(renewed.caCert).toBe(before.caCert);
    expect(renewed.caBundle).toBe(before.caBundle);
    expect(served).toEqual([renewed.tlsCert]);
    // and then it stays: a third replica serves the same
    expect((await replica([]).sync()).tlsCert).toBe(renewed.tlsCert);
    expect((await inSecret())?.tlsCert).toBe(renewed.tlsCert);
  });
});
