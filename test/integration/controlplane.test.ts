// Proof that the integration tier talks to a real control plane: CRDs with a status subresource and
// CEL validation, watches, the apiserver's own validation, scheduling onto kwok's fake nodes, the
// controller manager (deployments, namespace deletion) and the pinned version.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, VersionApi, Watch, type V1CustomResourceDefinition, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiError, createTestNamespace, externalCluster, isNotFound, kubeConfig, kubeconfigPath, pinnedKubernetesVersion, repoRoot, waitFor, type TestNamespace } from './harness/cluster.ts';

const group = 'test.cedana.ai';
const version = 'v1';
const plural = 'widgets';
const crdName = `${plural}.${group}`;

// Test-only CRD. The typed client model spells x-kubernetes-validations as x_kubernetes_validations.
const widgetCrd: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: crdName },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                properties: { size: { type: 'integer', minimum: 0 }, color: { type: 'string' } },
                x_kubernetes_validations: [{ rule: 'self.size <= 10', message: 'size must be at most 10' }],
              },
              status: {
                type: 'object',
                properties: { phase: { type: 'string' }, observedSize: { type: 'integer' } },
              },
            },
          },
        },
      },
    ],
  },
};

const Widget = z.object({
  metadata: z.object({ name: z.string(), resourceVersion: z.string() }),
  spec: z.object({ size: z.number(), color: z.string().optional() }),
  status: z.object({ phase: z.string().optional(), observedSize: z.number().optional() }).optional(),
});

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const crds = kc.makeApiClient(ApiextensionsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

async function rejection(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = apiError(err);
    if (e === undefined) throw err;
    return e;
  }
  throw new Error('the apiserver accepted an object it should have refused');
}

describe('custom resources', () => {
  let ns: TestNamespace;

  beforeAll(async () => {
    try {
      await crds.createCustomResourceDefinition({ body: widgetCrd });
    } catch (err) {
      if (apiError(err)?.code !== 409) throw err; // left over from an aborted run
    }
    await waitFor(
      async () => {
        const crd = await crds.readCustomResourceDefinition({ name: crdName });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
      },
      { what: `CRD ${crdName} to be Established` },
    );
    ns = await createTestNamespace('widgets', { waitForServiceAccount: false });
  });

  afterAll(async () => {
    await ns.cleanup();
    await crds.deleteCustomResourceDefinition({ name: crdName }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  });

  it('watches a status patch made through the status subresource', async () => {
    const created = Widget.parse(
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns.name,
        plural,
        body: { apiVersion: `${group}/${version}`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
      }),
    );
    expect(created.status).toBeUndefined();

    const events: { type: string; widget: z.infer<typeof Widget> }[] = [];
    const watch = await new Watch(kc).watch(
      `/apis/${group}/${version}/namespaces/${ns.name}/${plural}`,
      // From the creation's version on, so no event between create and watch is missed.
      { fieldSelector: 'metadata.name=w1', resourceVersion: created.metadata.resourceVersion },
      (type, obj) => {
        events.push({ type, widget: Widget.parse(obj) });
      },
      () => undefined,
    );
    try {
      const patched = Widget.parse(
        await custom.patchNamespacedCustomObjectStatus(
          { group, version, namespace: ns.name, plural, name: 'w1', body: { status: { phase: 'Ready', observedSize: 3 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      expect(patched.status).toEqual({ phase: 'Ready', observedSize: 3 });

      const seen = await waitFor(() => events.find((e) => e.type === 'MODIFIED' && e.widget.status?.phase === 'Ready'), {
        what: 'a MODIFIED watch event carrying status.phase=Ready',
        timeoutMs: 15_000,
      });
      expect(seen.widget.status?.observedSize).toBe(3);
      expect(seen.widget.spec.size).toBe(3);
    } finally {
      watch.abort();
    }

    // The status subresource ignores spec: a status patch cannot change it.
    const afterSpecViaStatus = Widget.parse(
      await custom.patchNamespacedCustomObjectStatus(
        { group, version, namespace: ns.name, plural, name: 'w1', body: { spec: { size: 7 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(afterSpecViaStatus.spec.size).toBe(3);
  });

  it('refuses objects that break the CEL rule or the schema', async () => {
    const create = (spec: Record<string, unknown>): Promise<unknown> =>
      custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns.name,
        plural,
        body: { apiVersion: `${group}/${version}`, kind: 'Widget', metadata: { generateName: 'bad-' }, spec },
      });

    const cel = await rejection(create({ size: 11 }));
    expect(cel.code).toBe(422);
    expect(cel.message).toContain('size must be at most 10');

    const typed = await rejection(create({ size: 'large' }));
    expect(typed.code).toBe(422);
    expect(typed.message).toMatch(/spec\.size.*must be of type integer/);

    const missing = await rejection(create({ color: 'red' }));
    expect(missing.code).toBe(422);
    expect(missing.message).toContain('spec.size: Required value');

    const list: unknown = await custom.listNamespacedCustomObject({ group, version, namespace: ns.name, plural });
    const names = z
      .object({ items: z.array(Widget) })
      .parse(list)
      .items.map((w) => w.metadata.name);
    expect(names.filter((n) => n.startsWith('bad-'))).toEqual([]);
  });
});

describe('scheduling onto kwok nodes', () => {
  let ns: TestNamespace;

  beforeAll(async () => {
    ns = await createTestNamespace('kwok');
  });

  afterAll(async () => {
    await ns.cleanup();
  });

  const onKwok = {
    nodeSelector: { type: 'kwok' },
    // kwok's own docs taint fake nodes; ours are untainted, an external cluster's may not be.
    tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
  };

  it('runs a plain pod: the scheduler binds it to a fake node and kwok makes it Running', async () => {
    const pod: V1Pod = {
      metadata: { name: 'p1', namespace: ns.name },
      spec: { ...onKwok, containers: [{ name: 'main', image: 'registry.invalid/none:1' }] },
    };
    await core.createNamespacedPod({ namespace: ns.name, body: pod });
    const running = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'p1', namespace: ns.name });
        return p.status?.phase === 'Running' ? p : undefined;
      },
      { what: `pod ${ns.name}/p1 to be Running`, timeoutMs: 60_000 },
    );
    const nodeName = running.spec?.nodeName;
    expect(nodeName).toBeDefined();
    const node = await core.readNode({ name: nodeName ?? '' });
    expect(node.metadata?.labels?.type).toBe('kwok');
    expect(running.status?.podIP).toBeTruthy();
  });

  it('turns a Deployment into Running pods and deletes a namespace with everything in it', async () => {
    const other = await createTestNamespace('deploy');
    try {
      const labels = { app: 'web' };
      await apps.createNamespacedDeployment({
        namespace: other.name,
        body: {
          metadata: { name: 'web' },
          spec: {
            replicas: 2,
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: { ...onKwok, containers: [{ name: 'web', image: 'registry.invalid/web:1' }] } },
          },
        },
      });
      await waitFor(
        async () => {
          const d = await apps.readNamespacedDeployment({ name: 'web', namespace: other.name });
          return d.status?.readyReplicas === 2;
        },
        { what: `deployment ${other.name}/web to have 2 ready replicas`, timeoutMs: 90_000 },
      );
      const pods = await core.listNamespacedPod({ namespace: other.name, labelSelector: 'app=web' });
      expect(pods.items.map((p) => p.status?.phase)).toEqual(['Running', 'Running']);
      // The namespace controller empties it and the garbage collector takes the ReplicaSet's pods.
      await other.cleanup({ wait: true });
    } finally {
      await other.cleanup();
    }
  });
});

describe('version', () => {
  it.skipIf(externalCluster)('reports the Kubernetes release pinned in test/controlplane/go.mod', async () => {
    const want = pinnedKubernetesVersion();
    const info = await kc.makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toBe(want);
    expect(`v${info.major}.${info.minor}`).toBe(want.replace(/\.\d+$/, ''));

    // kubectl from the same build says the same for client and server.
    const run = promisify(execFile);
    const { stdout: bindir } = await run('sh', [join(repoRoot, 'scripts/local-cluster.sh'), 'build']);
    const { stdout } = await run(join(bindir.trim(), 'kubectl'), ['version', '-o', 'json', '--kubeconfig', kubeconfigPath()]);
    const versions = z.object({ clientVersion: z.object({ gitVersion: z.string() }), serverVersion: z.object({ gitVersion: z.string() }) }).parse(JSON.parse(stdout));
    expect(versions.clientVersion.gitVersion).toBe(want);
    expect(versions.serverVersion.gitVersion).toBe(want);
  });
});
