// The operator against both ways the simulator can answer: the reference pages, and what the real
// Cedana service does (REAL-SERVICE.md: /v1 base URLs, other action types, {message} errors, no
// status for restores, the sync lag of new pods). The CEDANA_URL is the one users have: …/v1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOperator } from '../../src/operator.ts';
import type { Profile } from '../../src/simulator/index.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { createTestNamespace, waitFor, type TestNamespace } from './harness/cluster.ts';
import { api, createCr, createPod, getCr, spawnOperator, startInProcessOperator, startTestSimulator, waitForPhase } from './harness/stack.ts';

const CK = 'podcheckpoints';
const RS = 'podrestores';

describe.each<Profile>(['reference', 'service'])('against the %s profile, CEDANA_URL=<simulator>/v1', (profile) => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;

  beforeAll(async () => {
    ns = await createTestNamespace(`rs-${profile.slice(0, 3)}`);
    sim = await startTestSimulator({ profile, syncLagMs: 1_500 });
    op = await startInProcessOperator(sim, ns.name, { cedanaUrl: `${sim.url}/v1`, restoredPodTimeout: 30_000 });
  });
  afterAll(async () => {
    await op.stop();
    await sim.close();
    await ns.cleanup();
  });

  it('takes a PodCheckpoint and a PodRestore to the end; a new pod Cedana has not synced yet is retried, not failed', async () => {
    const { uid } = await createPod(ns.name, 'svc-0');
    // Created at once: on the service profile the first POSTs meet the sync lag.
    await createCr(ns.name, CK, 'PodCheckpoint', 'svc-0-ckpt', { podName: 'svc-0' });
    const pc = await waitForPhase(ns.name, CK, 'svc-0-ckpt', ['Ready', 'Failed'], 60_000);
    expect(pc.status?.phase, String(pc.status?.message)).toBe('Ready');
    expect(sim.stats().checkpointActionsByPod[uid]).toEqual([pc.status?.actionId]);

    await api().core.deleteNamespacedPod({ namespace: ns.name, name: 'svc-0', gracePeriodSeconds: 0 });
    await createCr(ns.name, RS, 'PodRestore', 'svc-0-restore', { checkpointRef: { name: 'svc-0-ckpt' } });
    const pr = await waitForPhase(ns.name, RS, 'svc-0-restore', ['Succeeded', 'Failed'], 60_000);
    expect(pr.status?.phase, String(pr.status?.message)).toBe('Succeeded');
    const restored = pr.status?.restoredPod as { name: string; uid: string };
    expect((await api().core.readNamespacedPod({ namespace: ns.name, name: restored.name })).metadata?.uid).toBe(restored.uid);
    // The pod is the proof: on the service profile the restore's status endpoint answers 404 throughout.
    expect(pr.status?.cedanaStatus).not.toBe('error');
  });

  it('does not take a pod that existed before the restore for the restored one', async () => {
    await createPod(ns.name, 'stale-src');
    await createCr(ns.name, CK, 'PodCheckpoint', 'stale-ckpt', { podName: 'stale-src' });
    expect((await waitForPhase(ns.name, CK, 'stale-ckpt', ['Ready', 'Failed'], 60_000)).status?.phase).toBe('Ready');
    const { uid: staleUid } = await createPod(ns.name, 'stale-back');
    await new Promise((r) => setTimeout(r, 3_100)); // older than the 2 s the operator allows for whole-second timestamps
    await createCr(ns.name, RS, 'PodRestore', 'stale-restore', { checkpointRef: { name: 'stale-ckpt' }, podName: 'stale-back' });
    const pr = await waitForPhase(ns.name, RS, 'stale-restore', ['Succeeded', 'Failed'], 60_000);
    // Cedana cannot create a pod whose name is taken; the old pod is never reported as restored.
    expect(pr.status?.phase).toBe('Failed');
    expect((pr.status?.restoredPod as { uid?: string } | undefined)?.uid).not.toBe(staleUid);
  });
});

describe('Cedana rejecting the token, or not seeing a pod', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;

  beforeAll(async () => {
    ns = await createTestNamespace('token');
    sim = await startTestSimulator({ profile: 'service', syncLagMs: 60_000 });
  });
  afterAll(async () => {
    await sim.close();
    await ns.cleanup();
  });

  it('a wrong token stops start-up with one line', async () => {
    const op = spawnOperator(sim, ns.name, 'wrong-token', ['--leader-elect=false', `--cedana-url=${sim.url}/v1`], { CEDANA_AUTH_TOKEN: 'not-the-token' });
    expect(await op.exited).toBe(1);
    const lines = op
      .output()
      .split('\n')
      .filter((l) => l.startsWith('cedana-operator:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/rejects the token/);
    expect(op.output()).not.toContain('not-the-token');
  });

  it('a pod Cedana has not seen past the sync window fails, saying so', async () => {
    const op = await startInProcessOperator(sim, ns.name, { cedanaUrl: `${sim.url}/v1`, cedanaSyncWindow: 0 });
    try {
      await createPod(ns.name, 'unseen');
      await createCr(ns.name, CK, 'PodCheckpoint', 'unseen-ckpt', { podName: 'unseen' });
      const pc = await waitForPhase(ns.name, CK, 'unseen-ckpt', ['Ready', 'Failed'], 30_000);
      expect(pc.status?.phase).toBe('Failed');
      expect(pc.status?.message).toMatch(/Cedana has not seen pod unseen/);
      expect((await getCr(ns.name, CK, 'unseen-ckpt')).status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('CedanaRejected');
    } finally {
      await op.stop();
    }
  });

  it('within the sync window the same pod is retried, with a condition saying why', async () => {
    const op = await startInProcessOperator(sim, ns.name, { cedanaUrl: `${sim.url}/v1`, cedanaSyncWindow: 120_000 });
    try {
      await createPod(ns.name, 'young');
      await createCr(ns.name, CK, 'PodCheckpoint', 'young-ckpt', { podName: 'young' });
      const waiting = await waitFor(
        async () => {
          const c = (await getCr(ns.name, CK, 'young-ckpt')).status?.conditions?.find((x) => x.type === 'Submitted');
          return c?.reason === 'CedanaUnavailable' ? c : undefined;
        },
        { what: 'the Submitted condition to say why it waits' },
      );
      expect((waiting as { message?: string }).message).toMatch(/has not seen pod young yet/);
      expect((await getCr(ns.name, CK, 'young-ckpt')).status?.phase).toBe('Pending');
    } finally {
      await op.stop();
    }
  });
});
