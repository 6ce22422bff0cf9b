// The informer against the real apiserver: a list in pages (continue tokens), then the watch from its
// resourceVersion; no cached object keeps its managedFields, whether a list brought it (the splitter
// leaves them out before the parse) or a watch event (dropped at the parse).
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodCheckpoints } from '../../src/api/kinds.ts';
import type { PodCheckpoint } from '../../src/api/podcheckpoint.ts';
import { Informer } from '../../src/kube/informer.ts';
import { createTestNamespace, kubeAccess, kubeConfig, waitFor, type TestNamespace } from './harness/cluster.ts';
import { testLogger } from './harness/stack.ts';

const checkpoint = (name: string) => ({ apiVersion: 'cedana.ai/v1alpha1', kind: 'PodCheckpoint', metadata: { name, labels: { app: 'x' } }, spec: { podName: `pod-${name}` } });

describe('Informer', () => {
  let ns: TestNamespace;
  let informer: Informer<'PodCheckpoint', PodCheckpoint> | undefined;
  const custom = kubeConfig().makeApiClient(CustomObjectsApi);
  const create = (name: string) => custom.createNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'podcheckpoints', body: checkpoint(name) });

  beforeAll(async () => {
    ns = await createTestNamespace('informer', { waitForServiceAccount: false });
  });
  afterAll(async () => {
    await informer?.stop();
    await ns.cleanup();
  });

  it('lists in pages, then watches; neither a listed nor a watched object keeps its managedFields', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) await create(name);
    // The apiserver keeps them: the test would prove nothing otherwise.
    const stored = (await custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'podcheckpoints', name: 'a' })) as {
      metadata: { managedFields?: unknown[] };
    };
    expect(stored.metadata.managedFields?.length).toBeGreaterThan(0);

    informer = new Informer({ kind: PodCheckpoints, namespace: ns.name, access: kubeAccess(), logger: testLogger(), pageSize: 2 });
    informer.start();
    await informer.waitForSync();
    expect(
      informer
        .list()
        .map((c) => c.metadata.name)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd', 'e']);

    await create('f');
    const watched = await waitFor(() => informer?.get(`${ns.name}/f`), { what: 'the watch to bring f' });
    expect(watched.spec.podName).toBe('pod-f');
    for (const c of informer.list()) {
      expect(c.metadata, c.metadata.name).not.toHaveProperty('managedFields');
      expect(c.metadata.labels, c.metadata.name).toEqual({ app: 'x' });
    }
  });
});
