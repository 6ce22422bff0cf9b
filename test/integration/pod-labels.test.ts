// Cedana's own pod labels and pod-level disruption signals, against a real control plane.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOperator } from '../../src/operator.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { createTestNamespace, waitFor, type TestNamespace } from './harness/cluster.ts';
import { api, createCr, eventsFor, startInProcessOperator, startTestSimulator, createKwokNode, podOnNode } from './harness/stack.ts';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
type Obj = { metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { name: string }[] }; spec: Record<string, unknown>; status?: { phase?: string } };

const createNode = createKwokNode;
const podOn = podOnNode;
const list = async (namespace: string, plural: string): Promise<Obj[]> =>
  ((await api().custom.listNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace, plural })) as { items: Obj[] }).items;
const ofPod = (objs: Obj[], uid: string): Obj[] => objs.filter((o) => o.metadata.labels?.['cedana.ai/pod-uid'] === uid);
const taint = (node: string, key: string) => api().core.patchNode({ name: node, body: { spec: { taints: [{ key, effect: 'NoSchedule' }] } } }, merge);

describe('Cedana pod labels and pod-level disruption', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;

  beforeAll(async () => {
    ns = await createTestNamespace('labels');
    sim = await startTestSimulator();
    op = await startInProcessOperator(sim, ns.name, { minHeartbeatInterval: 1_000, labelHeartbeatKeepLast: 2 });
  });
  afterAll(async () => {
    await op.stop();
    await sim.close();
    await ns.cleanup();
  });

  it('cedana.ai/node-restore alone protects like a policy: checkpoint on a terminating node, restore once the pod is gone', async () => {
    const node = await createNode('lbl-a');
    const uid = await podOn(ns.name, 'labelled', node, { 'cedana.ai/node-restore': 'true' });
    const plain = await podOn(ns.name, 'unlabelled', node, { app: 'x' });
    await taint(node, 'cloud.google.com/impending-node-termination');
    const [ckpt] = await waitFor(
      async () => {
        const c = ofPod(await list(ns.name, 'podcheckpoints'), uid);
        return c.length === 1 && c[0]?.status?.phase === 'Ready' ? c : undefined;
      },
      { what: 'a Ready checkpoint of the labelled pod' },
    );
    expect(ckpt?.metadata.ownerReferences).toBeUndefined();
    expect(ofPod(await list(ns.name, 'podcheckpoints'), plain)).toHaveLength(0);
    await api().core.deleteNamespacedPod({ namespace: ns.name, name: 'labelled', gracePeriodSeconds: 0 });
    const restore = await waitFor(async () => ofPod(await list(ns.name, 'podrestores'), uid).find((r) => r.status?.phase === 'Succeeded'), { what: 'the labelled pod restored', timeoutMs: 60_000 });
    expect(restore.spec.reason).toBe('nodeTermination');
  });

  it('a malformed label value gives a Warning Event on the pod and nothing else', async () => {
    const node = await createNode('lbl-b');
    const uid = await podOn(ns.name, 'typo', node, { 'cedana.ai/node-restore': 'yes', 'cedana.ai/heartbeat-checkpoint': '10m' });
    const warning = await waitFor(async () => (await eventsFor(ns.name, 'typo')).find((e) => e.reason === 'InvalidCedanaLabel'), { what: 'an InvalidCedanaLabel event' });
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain('cedana.ai/node-restore="yes"');
    expect(warning.message).toContain('cedana.ai/heartbeat-checkpoint="10m"');
    await taint(node, 'karpenter.sh/disrupted');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ofPod(await list(ns.name, 'podcheckpoints'), uid)).toHaveLength(0);
  });

  it('label plus a matching policy: the policy wins, and one checkpoint is taken', async () => {
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'both', { selector: { matchLabels: { app: 'both' } }, onNodeTermination: { restore: false } });
    const node = await createNode('lbl-c');
    const uid = await podOn(ns.name, 'doubly', node, { app: 'both', 'cedana.ai/node-restore': 'true' });
    await waitFor(
      async () =>
        (
          (await api().custom.getNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: 'checkpointpolicies', name: 'both' })) as {
            status?: { protectedPods?: number };
          }
        ).status?.protectedPods === 1,
      { what: 'the policy to see the pod' },
    );
    await taint(node, 'karpenter.sh/disrupted');
    const [ckpt] = await waitFor(
      async () => {
        const c = ofPod(await list(ns.name, 'podcheckpoints'), uid);
        return c[0]?.status?.phase === 'Ready' ? c : undefined;
      },
      { what: 'the checkpoint Ready' },
    );
    expect(ckpt?.metadata.ownerReferences?.[0]?.name).toBe('both');
    await api().core.deleteNamespacedPod({ namespace: ns.name, name: 'doubly', gracePeriodSeconds: 0 });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ofPod(await list(ns.name, 'podcheckpoints'), uid)).toHaveLength(1);
    expect(ofPod(await list(ns.name, 'podrestores'), uid)).toHaveLength(0); // the policy says restore: false
    expect(sim.stats().checkpointActionsByPod[uid]).toHaveLength(1);
  });

  it('a DisruptionTarget condition checkpoints a protected pod on an untainted node; restore reason follows the condition reason', async () => {
    const node = await createNode('lbl-d');
    const uid = await podOn(ns.name, 'preempted', node, { 'cedana.ai/node-restore': 'true' });
    await waitFor(async () => (await api().core.readNamespacedPod({ namespace: ns.name, name: 'preempted' })).status?.phase === 'Running', { what: 'the pod running' });
    const pod = await api().core.readNamespacedPod({ namespace: ns.name, name: 'preempted' });
    const conditions = [...(pod.status?.conditions ?? []), { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'evicted', lastTransitionTime: new Date() }];
    await api().core.patchNamespacedPodStatus({ namespace: ns.name, name: 'preempted', body: { status: { conditions } } }, merge);
    await waitFor(async () => ofPod(await list(ns.name, 'podcheckpoints'), uid).find((c) => c.status?.phase === 'Ready'), { what: 'a checkpoint of the disrupted pod' });
    await api().core.deleteNamespacedPod({ namespace: ns.name, name: 'preempted', gracePeriodSeconds: 0 });
    const restore = await waitFor(async () => ofPod(await list(ns.name, 'podrestores'), uid).find((r) => r.status?.phase === 'Succeeded'), { what: 'the disrupted pod restored', timeoutMs: 60_000 });
    expect(restore.spec.reason).toBe('manual');
  });

  it('the soft autoscaler taint gives an early checkpoint and no restore', async () => {
    const node = await createNode('lbl-e');
    const uid = await podOn(ns.name, 'candidate', node, { 'cedana.ai/node-restore': 'true' });
    await taint(node, 'DeletionCandidateOfClusterAutoscaler');
    const early = await waitFor(async () => ofPod(await list(ns.name, 'podcheckpoints'), uid).find((c) => c.status?.phase === 'Ready'), { what: 'an early checkpoint' });
    expect(early.metadata.labels?.['cedana.ai/trigger']).toBe('early');
    await api().core.deleteNamespacedPod({ namespace: ns.name, name: 'candidate', gracePeriodSeconds: 0 });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ofPod(await list(ns.name, 'podrestores'), uid)).toHaveLength(0);
  });

  it('cedana.ai/heartbeat-checkpoint takes periodic checkpoints and keeps the newest ones', async () => {
    const node = await createNode('lbl-f');
    const uid = await podOn(ns.name, 'beating', node, { 'cedana.ai/heartbeat-checkpoint': '1' });
    await waitFor(() => (sim.stats().checkpointActionsByPod[uid]?.length ?? 0) >= 4, { what: '4 label heartbeats', timeoutMs: 30_000 });
    const ready = await waitFor(
      async () => {
        const r = ofPod(await list(ns.name, 'podcheckpoints'), uid).filter((c) => c.status?.phase === 'Ready');
        return r.length === 2 ? r : undefined;
      },
      { what: 'exactly 2 Ready heartbeat checkpoints (labelHeartbeatKeepLast)' },
    );
    expect(ready.every((c) => c.spec.reason === 'heartbeat')).toBe(true);
  });
});
