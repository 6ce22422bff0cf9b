// Node termination against a real control plane with kwok nodes: taints, cordons, nodes deleted
// without notice, repeated signals, an operator restart, heartbeats and retention.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOperator } from '../../src/operator.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { createTestNamespace, waitFor, type TestNamespace } from './harness/cluster.ts';
import { api, createCr, createKwokNode, getCr, podOnNode, startInProcessOperator, startTestSimulator } from './harness/stack.ts';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
type Obj = { metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { name: string }[] }; spec: Record<string, unknown>; status?: Record<string, unknown> & { phase?: string } };

const createNode = createKwokNode;
const podOn = (namespace: string, name: string, node: string, app: string): Promise<string> => podOnNode(namespace, name, node, { app });

const list = async (namespace: string, plural: string): Promise<Obj[]> =>
  ((await api().custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace, plural })) as { items: Obj[] }).items;

const deletePods = (namespace: string, names: string[]) => Promise.all(names.map((name) => api().core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 })));

describe('node termination', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;

  beforeAll(async () => {
    ns = await createTestNamespace('nt');
    sim = await startTestSimulator();
    op = await startInProcessOperator(sim, ns.name, { minHeartbeatInterval: 500 });
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'trainers', { selector: { matchLabels: { app: 'trainer' } } });
  });
  afterAll(async () => {
    await op.stop();
    await sim.close();
    await ns.cleanup();
  });

  it('Karpenter taint: one checkpoint per protected pod, none for others; pods deleted → restored elsewhere; a repeated signal doubles nothing', async () => {
    const [a, b] = [await createNode('nt-a'), await createNode('nt-b')];
    const uids = [await podOn(ns.name, 'k-0', a, 'trainer'), await podOn(ns.name, 'k-1', a, 'trainer'), await podOn(ns.name, 'k-2', a, 'trainer')];
    await podOn(ns.name, 'k-plain', a, 'web');
    await podOn(ns.name, 'k-elsewhere', b, 'trainer');
    await waitFor(async () => (await getCr(ns.name, 'checkpointpolicies', 'trainers')).status?.protectedPods === 4, { what: '4 protected pods' });

    await api().core.patchNode({ name: a, body: { spec: { taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] } } }, merge);
    const evac = await waitFor(
      async () => {
        const mine = (await list(ns.name, 'podcheckpoints')).filter((c) => c.metadata.labels?.['cedana.ai/node'] === a);
        return mine.length === 3 && mine.every((c) => c.status?.phase === 'Ready') ? mine : undefined;
      },
      { what: '3 Ready evacuation checkpoints' },
    );
    expect(evac.map((c) => c.spec.podName).sort()).toEqual(['k-0', 'k-1', 'k-2']);
    expect(evac.every((c) => c.metadata.ownerReferences?.[0]?.name === 'trainers')).toBe(true);

    // the same signal again, and a second known taint: nothing new
    await api().core.patchNode(
      {
        name: a,
        body: {
          spec: {
            taints: [
              { key: 'karpenter.sh/disrupted', effect: 'NoSchedule' },
              { key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' },
            ],
          },
        },
      },
      merge,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await list(ns.name, 'podcheckpoints')).filter((c) => c.metadata.labels?.['cedana.ai/node'] === a)).toHaveLength(3);
    expect(await list(ns.name, 'podrestores')).toHaveLength(0); // the pods are still on the node

    await deletePods(ns.name, ['k-0', 'k-1', 'k-2']);
    const restores = await waitFor(
      async () => {
        const r = (await list(ns.name, 'podrestores')).filter((x) => x.metadata.labels?.['cedana.ai/node'] === a);
        return r.length === 3 && r.every((x) => x.status?.phase === 'Succeeded') ? r : undefined;
      },
      { what: '3 Succeeded restores', timeoutMs: 60_000 },
    );
    expect(restores.every((r) => r.spec.reason === 'nodeTermination')).toBe(true);
    for (const name of ['k-0', 'k-1', 'k-2']) {
      const restoredName = (restores.find((r) => r.metadata.labels?.['cedana.ai/pod'] === name)?.status?.restoredPod as { name?: string } | undefined)?.name ?? '';
      expect(restoredName).toMatch(new RegExp(`^${name}-restored-[0-9a-f]{5}$`));
      const pod = await waitFor(
        async () => {
          const p = await api().core.readNamespacedPod({ namespace: ns.name, name: restoredName });
          return p.status?.phase === 'Running' ? p : undefined;
        },
        { what: `${restoredName} running` },
      );
      expect(pod.spec?.nodeName).not.toBe(a);
    }
    for (const uid of uids) expect(sim.stats().checkpointActionsByPod[uid]).toHaveLength(1);
  });

  it('cordon: checkpoint, then restore with reason nodeUnschedulable once the pod is drained', async () => {
    const c = await createNode('nt-c');
    const uid = await podOn(ns.name, 'drained', c, 'trainer');
    await api().core.patchNode({ name: c, body: { spec: { unschedulable: true } } }, merge);
    await waitFor(async () => (await list(ns.name, 'podcheckpoints')).find((x) => x.metadata.labels?.['cedana.ai/node'] === c && x.status?.phase === 'Ready'), {
      what: 'a Ready checkpoint of the drained pod',
    });
    await deletePods(ns.name, ['drained']);
    const restore = await waitFor(async () => (await list(ns.name, 'podrestores')).find((x) => x.metadata.labels?.['cedana.ai/node'] === c && x.status?.phase === 'Succeeded'), {
      what: 'a Succeeded restore',
      timeoutMs: 60_000,
    });
    expect(restore.spec.reason).toBe('nodeUnschedulable');
    expect(sim.stats().checkpointActionsByPod[uid]).toHaveLength(1);
  });

  it('operator restarted mid-way: nothing lost, nothing doubled', async () => {
    const d = await createNode('nt-d');
    const names = Array.from({ length: 6 }, (_, i) => `r-${String(i)}`);
    const uids = await Promise.all(names.map((n) => podOn(ns.name, n, d, 'trainer')));
    await waitFor(async () => Number((await getCr(ns.name, 'checkpointpolicies', 'trainers')).status?.protectedPods ?? 0) >= 6, { what: 'the pods protected' });
    sim.setFaults({ latencyMs: 400, paths: ['POST /v2/checkpoint/pod'] });
    await api().core.patchNode({ name: d, body: { spec: { taints: [{ key: 'aws-node-termination-handler/spot-itn', effect: 'NoSchedule' }] } } }, merge);
    await waitFor(async () => (await list(ns.name, 'podcheckpoints')).some((x) => x.metadata.labels?.['cedana.ai/node'] === d), { what: 'the first evacuation checkpoint' });
    await op.stop();
    sim.setFaults({ latencyMs: 0, paths: [] });
    op = await startInProcessOperator(sim, ns.name, { minHeartbeatInterval: 500 });
    await waitFor(
      async () => {
        const mine = (await list(ns.name, 'podcheckpoints')).filter((x) => x.metadata.labels?.['cedana.ai/node'] === d);
        return mine.length === 6 && mine.every((x) => x.status?.phase === 'Ready');
      },
      { what: '6 Ready checkpoints after the restart', timeoutMs: 60_000 },
    );
    await deletePods(ns.name, names);
    await waitFor(
      async () => {
        const r = (await list(ns.name, 'podrestores')).filter((x) => x.metadata.labels?.['cedana.ai/node'] === d);
        return r.length === 6 && r.every((x) => x.status?.phase === 'Succeeded');
      },
      { what: '6 Succeeded restores', timeoutMs: 60_000 },
    );
    for (const uid of uids) expect(sim.stats().checkpointActionsByPod[uid]).toHaveLength(1);
  });

  it('node deleted without notice: restore from the newest heartbeat; pods with none are reported lost; retention keeps keepLast', async () => {
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'beating', {
      selector: { matchLabels: { app: 'beating' } },
      heartbeat: { interval: '1s' },
      retention: { keepLast: 2 },
    });
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'fragile', { selector: { matchLabels: { app: 'fragile' } } });
    const e = await createNode('nt-e');
    const uid = await podOn(ns.name, 'beater', e, 'beating');
    await podOn(ns.name, 'fragile-0', e, 'fragile');
    const heartbeats = async () => (await list(ns.name, 'podcheckpoints')).filter((x) => x.metadata.labels?.['cedana.ai/pod-uid'] === uid && x.metadata.labels['cedana.ai/trigger'] === 'heartbeat');
    // heartbeats keep coming; retention holds the Ready ones of the pod at keepLast
    await waitFor(() => (sim.stats().checkpointActionsByPod[uid]?.length ?? 0) >= 4, { what: '4 heartbeats', timeoutMs: 30_000 });
    await waitFor(async () => (await heartbeats()).filter((x) => x.status?.phase === 'Ready').length === 2, { what: 'exactly 2 Ready heartbeat checkpoints' });
    const deprecated = (await (await fetch(`${sim.url}/v2/checkpoints`, { headers: { authorization: 'Bearer integration-test-token-0123456789' } })).json()) as { status: string }[];
    expect(deprecated.filter((x) => x.status === 'deprecated').length).toBeGreaterThanOrEqual(1);
    expect((await getCr(ns.name, 'checkpointpolicies', 'beating')).status?.lastHeartbeat).toBeTypeOf('string');

    await api().core.deleteNode({ name: e });
    const restore = await waitFor(async () => (await list(ns.name, 'podrestores')).find((x) => x.metadata.labels?.['cedana.ai/pod-uid'] === uid && x.status?.phase === 'Succeeded'), {
      what: 'the beater restored',
      timeoutMs: 60_000,
    });
    expect(restore.spec.reason).toBe('nodeTermination');
    expect((restore.spec.checkpointRef as { name: string }).name).toContain('-hb-');
    const fragile = await waitFor(
      async () => {
        const p = await getCr(ns.name, 'checkpointpolicies', 'fragile');
        return (p.status?.lostPods as string[] | undefined)?.length ? p : undefined;
      },
      { what: 'the fragile pod reported lost' },
    );
    expect(fragile.status?.lostPods).toEqual([`${ns.name}/fragile-0`]);
    expect(fragile.status?.conditions?.find((c) => c.type === 'PodsLost')?.status).toBe('True');
  });
});
