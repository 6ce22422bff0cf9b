// The operator as real processes: killed with SIGKILL in the middle of a checkpoint submission,
// and two replicas behind a leader Lease.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortUid } from '../../src/controllers/owned-objects.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { createTestNamespace, kubeConfig, waitFor, type TestNamespace } from './harness/cluster.ts';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { api, createCr, createKwokNode, createPod, getCr, podOnNode, spawnOperator, startTestSimulator, waitForPhase, type OperatorProcess } from './harness/stack.ts';

const CK = 'podcheckpoints';

describe('operator processes', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  const started: OperatorProcess[] = [];
  const spawnTracked = (...args: Parameters<typeof spawnOperator>): OperatorProcess => {
    const p = spawnOperator(...args);
    started.push(p);
    return p;
  };

  beforeAll(async () => {
    ns = await createTestNamespace('proc');
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.kill('SIGKILL')));
    await sim.close();
    await ns.cleanup();
  });

  it('killed (SIGKILL) after the checkpoint POST and restarted: exactly one Cedana action', async () => {
    const { uid } = await createPod(ns.name, 'victim');
    // The POST takes 2 s to take effect: long enough to kill the operator while it waits.
    sim.setFaults({ latencyMs: 2_000, paths: ['POST /v2/checkpoint/pod'] });
    const first = spawnTracked(sim, ns.name, 'first', ['--leader-elect=false']);
    await createCr(ns.name, CK, 'PodCheckpoint', 'victim-ckpt', { podName: 'victim' });
    await waitFor(() => (sim.stats().calls['POST /v2/checkpoint/pod'] ?? 0) >= 1, { what: 'the checkpoint POST to arrive', timeoutMs: 30_000, intervalMs: 20 });
    await first.kill('SIGKILL');
    // Cedana acts on the request although nobody is left to hear the answer.
    await waitFor(() => sim.stats().checkpointActionsByPod[uid]?.length === 1, { what: 'Cedana to commit the action' });
    sim.setFaults({ latencyMs: 0, paths: [] });
    const marked = await getCr(ns.name, CK, 'victim-ckpt');
    expect(marked.status?.submitStartedAt).toBeTypeOf('string');
    expect(marked.status?.actionId).toBeUndefined();

    spawnTracked(sim, ns.name, 'second', ['--leader-elect=false']);
    const pc = await waitForPhase(ns.name, CK, 'victim-ckpt', ['Ready', 'Failed'], 60_000);
    expect(pc.status?.phase).toBe('Ready');
    expect(sim.stats().checkpointActionsByPod[uid]).toEqual([pc.status?.actionId]);
    expect(sim.stats().calls['POST /v2/checkpoint/pod']).toBe(1);
    await Promise.all(started.splice(0).map((p) => p.kill('SIGTERM')));
  });

  it('SIGKILL in the middle of a node fan-out (POSTs sent, not yet recorded), then restarted: each pod checkpointed exactly once', async () => {
    const node = await createKwokNode('fanout');
    await createCr(ns.name, 'checkpointpolicies', 'CheckpointPolicy', 'fan', { selector: { matchLabels: { app: 'fan' } } });
    const names = Array.from({ length: 6 }, (_, i) => `fan-${String(i)}`);
    const uids = await Promise.all(names.map((n) => podOnNode(ns.name, n, node, { app: 'fan' })));
    // Each POST takes 1.5 s to take effect; two at a time: the kill lands with POSTs sent and none recorded.
    sim.setFaults({ latencyMs: 1_500, paths: ['POST /v2/checkpoint/pod'] });
    const first = spawnTracked(sim, ns.name, 'fan-first', ['--leader-elect=false', '--termination-concurrency=2']);
    await waitFor(() => first.output().includes('"controller":"node-termination"') && first.output().includes('controller running'), { what: 'the first operator to run', timeoutMs: 30_000 });
    const postsBefore = sim.stats().calls['POST /v2/checkpoint/pod'] ?? 0;
    await api().core.patchNode({ name: node, body: { spec: { taints: [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await waitFor(() => (sim.stats().calls['POST /v2/checkpoint/pod'] ?? 0) >= postsBefore + 2, { what: 'two checkpoint POSTs to arrive', timeoutMs: 30_000, intervalMs: 10 });
    await first.kill('SIGKILL');
    // Cedana commits what it received although nobody hears the answers.
    await waitFor(() => uids.filter((u) => (sim.stats().checkpointActionsByPod[u]?.length ?? 0) > 0).length >= 2, { what: 'Cedana to commit the posted checkpoints' });
    sim.setFaults({ latencyMs: 0, paths: [] });

    spawnTracked(sim, ns.name, 'fan-second', ['--leader-elect=false']);
    const pcs = await Promise.all(names.map((n, i) => waitForPhase(ns.name, CK, `${n}-evac-${shortUid(uids[i] ?? '')}`, ['Ready', 'Failed'], 60_000)));
    expect(pcs.map((pc) => pc.status?.phase)).toEqual(names.map(() => 'Ready'));
    for (const [i, uid] of uids.entries()) expect(sim.stats().checkpointActionsByPod[uid]).toEqual([pcs[i]?.status?.actionId]);
    await Promise.all(started.splice(0).map((p) => p.kill('SIGTERM')));
  });

  it('two replicas: only the leader acts; the other takes over when the leader dies; SIGTERM releases the lease', async () => {
    const coordination = kubeConfig().makeApiClient(CoordinationV1Api);
    const holder = async (): Promise<string> => (await coordination.readNamespacedLease({ name: 'cedana-operator-leader', namespace: ns.name })).spec?.holderIdentity ?? '';
    const replicas = { a: spawnTracked(sim, ns.name, 'replica-a'), b: spawnTracked(sim, ns.name, 'replica-b') };
    const leaderName = await waitFor(
      async () => {
        const h = await holder();
        return h === 'replica-a' || h === 'replica-b' ? h : undefined;
      },
      { what: 'a leader', timeoutMs: 30_000 },
    );
    const leader = leaderName === 'replica-a' ? replicas.a : replicas.b;
    const standby = leaderName === 'replica-a' ? replicas.b : replicas.a;

    await createPod(ns.name, 'led-0');
    await createCr(ns.name, CK, 'PodCheckpoint', 'led-0-ckpt', { podName: 'led-0' });
    expect((await waitForPhase(ns.name, CK, 'led-0-ckpt', ['Ready', 'Failed'], 60_000)).status?.phase).toBe('Ready');
    expect(leader.output()).toContain('checkpoint submitted to Cedana');
    expect(standby.output()).not.toContain('controller running');

    await leader.kill('SIGKILL');
    await createPod(ns.name, 'led-1');
    await createCr(ns.name, CK, 'PodCheckpoint', 'led-1-ckpt', { podName: 'led-1' });
    // The dead leader's lease must expire first (15 s), then the standby acquires it.
    expect((await waitForPhase(ns.name, CK, 'led-1-ckpt', ['Ready', 'Failed'], 60_000)).status?.phase).toBe('Ready');
    expect(await holder()).toBe(leaderName === 'replica-a' ? 'replica-b' : 'replica-a');
    expect(standby.output()).toContain('became leader');

    expect(await standby.kill('SIGTERM')).toBe(0);
    expect(await holder()).toBe('');
    expect(standby.output()).toContain('released leadership');
  });
});
