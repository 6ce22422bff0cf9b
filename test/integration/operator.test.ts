// The operator against a real kube-apiserver, with the simulator as Cedana and as Cedana's
// in-cluster side (it creates restored pods). No part of the Kubernetes API is mocked.
import { setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOperator } from '../../src/operator.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { apiError, createTestNamespace, refusal, waitFor, type TestNamespace } from './harness/cluster.ts';
import { api, createCr, createPod, eventsFor, getCr, startInProcessOperator, startTestSimulator, waitForPhase } from './harness/stack.ts';

const CK = 'podcheckpoints';
const RS = 'podrestores';

describe('operator: checkpoint and restore', () => {
  let ns: TestNamespace;
  let sim: RunningSimulator;
  let op: RunningOperator;

  beforeAll(async () => {
    ns = await createTestNamespace('op');
    sim = await startTestSimulator();
    op = await startInProcessOperator(sim, ns.name);
  });
  afterAll(async () => {
    await op.stop();
    await sim.close();
    await ns.cleanup();
  });

  it('checkpoints a pod: action id, spec upload, Ready, events, one Cedana action', async () => {
    const { uid } = await createPod(ns.name, 'trainer-0');
    await createCr(ns.name, CK, 'PodCheckpoint', 'trainer-0-ckpt', { podName: 'trainer-0', overrides: { compression: 'lz4' } });
    const pc = await waitForPhase(ns.name, CK, 'trainer-0-ckpt', ['Ready', 'Failed']);
    expect(pc.status?.phase).toBe('Ready');
    expect(pc.status).toMatchObject({ podUID: uid, cedanaStatus: 'ready' });
    expect(pc.status?.actionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(pc.status?.checkpointId).toMatch(/^[0-9a-f-]{36}$/);
    const conditions = Object.fromEntries((pc.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).toEqual({ Submitted: 'True', SpecUploaded: 'True', Ready: 'True' });
    expect(pc.metadata.finalizers).toEqual(['cedana.ai/deprecate-checkpoint']);
    expect(sim.stats().checkpointActionsByPod[uid]).toEqual([pc.status?.actionId]);
    expect(sim.stats().calls['POST /v2/actions/upload']).toBeGreaterThanOrEqual(1);
    const reasons = await waitFor(
      async () => {
        const r = (await eventsFor(ns.name, 'trainer-0-ckpt')).map((e) => e.reason);
        return r.includes('Ready') ? r : undefined;
      },
      { what: 'a Ready event' },
    );
    expect(reasons).toContain('Submitted');
  });

  it('restores a Ready checkpoint into a new pod that gets scheduled', async () => {
    await createCr(ns.name, RS, 'PodRestore', 'trainer-0-restore', { checkpointRef: { name: 'trainer-0-ckpt' } });
    const pr = await waitForPhase(ns.name, RS, 'trainer-0-restore', ['Succeeded', 'Failed']);
    expect(pr.status?.phase).toBe('Succeeded');
    const restored = pr.status?.restoredPod as { name: string; uid: string };
    // A name unique to this restore (Cedana's default <pod>-restored would be every restore's).
    expect(restored.name).toMatch(/^trainer-0-restored-[0-9a-f]{5}$/);
    expect(pr.status?.message).toContain(restored.name);
    const pod = await api().core.readNamespacedPod({ namespace: ns.name, name: restored.name });
    expect(pod.metadata?.uid).toBe(restored.uid);
    // the scheduler places it on a kwok node, where it turns Running
    await waitFor(async () => (await api().core.readNamespacedPod({ namespace: ns.name, name: restored.name })).status?.phase === 'Running', { what: 'the restored pod to run' });
  });

  it('a restore that waits for its checkpoint starts as soon as the checkpoint is Ready', async () => {
    await createPod(ns.name, 'trainer-1');
    await createCr(ns.name, RS, 'PodRestore', 'early-restore', { checkpointRef: { name: 'trainer-1-ckpt' }, podName: 'trainer-1-back' });
    await waitFor(async () => (await getCr(ns.name, RS, 'early-restore')).status?.conditions?.find((c) => c.reason === 'CheckpointNotFound'), { what: 'CheckpointNotFound' });
    await createCr(ns.name, CK, 'PodCheckpoint', 'trainer-1-ckpt', { podName: 'trainer-1' });
    const pr = await waitForPhase(ns.name, RS, 'early-restore', ['Succeeded', 'Failed']);
    expect(pr.status?.phase).toBe('Succeeded');
    expect((pr.status?.restoredPod as { name: string }).name).toBe('trainer-1-back');
  });

  it('fails a checkpoint of a missing pod with PodNotFound, naming the pod', async () => {
    await createCr(ns.name, CK, 'PodCheckpoint', 'ghost-ckpt', { podName: 'no-such-pod' });
    const pc = await waitForPhase(ns.name, CK, 'ghost-ckpt', ['Failed', 'Ready']);
    expect(pc.status?.phase).toBe('Failed');
    expect(pc.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('PodNotFound');
    expect(pc.status?.message).toContain(`${ns.name}/no-such-pod`);
  });

  it('fails a checkpoint that Cedana reports as error', async () => {
    await createPod(ns.name, 'doomed');
    sim.setFaults({ failNextActions: 1 });
    await createCr(ns.name, CK, 'PodCheckpoint', 'doomed-ckpt', { podName: 'doomed' });
    const pc = await waitForPhase(ns.name, CK, 'doomed-ckpt', ['Failed', 'Ready']);
    expect(pc.status).toMatchObject({ phase: 'Failed', cedanaStatus: 'error' });
    expect(pc.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('CheckpointFailed');
    sim.setFaults({ failNextActions: 0 });
  });

  it('rides out Cedana 5xx and timeouts, with a condition saying why, and takes exactly one checkpoint', async () => {
    const { uid } = await createPod(ns.name, 'flaky');
    sim.setFaults({ errorRate: 1, paths: ['POST /v2/checkpoint/pod'] });
    await createCr(ns.name, CK, 'PodCheckpoint', 'flaky-ckpt', { podName: 'flaky' });
    const waiting = await waitFor(async () => (await getCr(ns.name, CK, 'flaky-ckpt')).status?.conditions?.find((c) => c.type === 'Submitted' && c.reason === 'CedanaUnavailable'), {
      what: 'a Submitted=Unknown CedanaUnavailable condition',
    });
    expect(waiting.status).toBe('Unknown');
    // then the status calls hang past the client's timeout, and the POST answers again
    sim.setFaults({ errorRate: 0, hangRate: 1, paths: ['GET /v2/checkpoint/status/{action_id}'] });
    await waitFor(() => (sim.stats().checkpointActionsByPod[uid]?.length ?? 0) > 0, { what: 'the checkpoint POST to get through', timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await getCr(ns.name, CK, 'flaky-ckpt')).status?.phase).not.toBe('Ready');
    sim.setFaults({ hangRate: 0, paths: [] });
    const pc = await waitForPhase(ns.name, CK, 'flaky-ckpt', ['Ready', 'Failed'], 60_000);
    expect(pc.status?.phase).toBe('Ready');
    expect(sim.stats().checkpointActionsByPod[uid]).toHaveLength(1);
  });

  it('survives lost answers to the checkpoint POST without a duplicate', async () => {
    const { uid } = await createPod(ns.name, 'lossy');
    sim.setFaults({ dropAfterCommitRate: 1, paths: ['POST /v2/checkpoint/pod'] });
    await createCr(ns.name, CK, 'PodCheckpoint', 'lossy-ckpt', { podName: 'lossy' });
    await waitFor(() => (sim.stats().calls['POST /v2/checkpoint/pod'] ?? 0) > 0 && (sim.stats().checkpointActionsByPod[uid]?.length ?? 0) > 0, { what: 'a committed POST whose answer was lost' });
    const pc = await waitForPhase(ns.name, CK, 'lossy-ckpt', ['Ready', 'Failed'], 60_000);
    sim.setFaults({ dropAfterCommitRate: 0, paths: [] });
    expect(pc.status?.phase).toBe('Ready');
    expect(sim.stats().checkpointActionsByPod[uid]).toEqual([pc.status?.actionId]);
  });

  it('fails a restore that Cedana rejects (4xx) with the API message, and does not retry it', async () => {
    await createCr(ns.name, RS, 'PodRestore', 'bad-action', { actionId: '3f6c1f4e-8d2b-4c47-9a55-2f0e6f1b7c21' });
    const pr = await waitForPhase(ns.name, RS, 'bad-action', ['Failed', 'Succeeded']);
    expect(pr.status?.phase).toBe('Failed');
    expect(pr.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('CedanaRejected');
    expect(pr.status?.message).toMatch(/Cedana rejected the restore: .*action/i);
    const calls = sim.stats().calls['POST /v2/restore/pod'] ?? 0;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(sim.stats().calls['POST /v2/restore/pod'] ?? 0).toBe(calls);
  });

  it('deprecates the Cedana checkpoint when a PodCheckpoint is deleted', async () => {
    const pc = await getCr(ns.name, CK, 'trainer-1-ckpt');
    const checkpointId = String(pc.status?.checkpointId);
    await api().custom.deleteNamespacedCustomObject({ group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: CK, name: 'trainer-1-ckpt' });
    await waitFor(
      async () => {
        try {
          await getCr(ns.name, CK, 'trainer-1-ckpt');
          return false;
        } catch (err) {
          return apiError(err)?.code === 404;
        }
      },
      { what: 'the PodCheckpoint to be gone' },
    );
    const res = await fetch(`${sim.url}/v2/checkpoints?ids=${checkpointId}`, { headers: { authorization: 'Bearer integration-test-token-0123456789' } });
    const [checkpoint] = (await res.json()) as { status: string }[];
    expect(checkpoint?.status).toBe('deprecated');
  });

  it('serves /metrics, /healthz and /readyz', async () => {
    expect((await fetch(`${op.httpUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${op.httpUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${op.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/cedana_operator_reconcile_total\{controller="podcheckpoint",result="success"\} \d+/);
    expect(metrics).toMatch(/cedana_operator_cedana_requests_total\{operation="checkpointPod",method="POST",status="200"\} \d+/);
    expect(metrics).toMatch(/cedana_operator_action_duration_seconds_count\{type="checkpoint",result="ready"\} \d+/);
    expect(metrics).not.toContain('integration-test-token');
  });
});

describe('apiserver validation of our CRDs', () => {
  let ns: TestNamespace;
  beforeAll(async () => {
    ns = await createTestNamespace('crd', { waitForServiceAccount: false });
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  it('refuses a PodRestore with both or neither of checkpointRef and actionId (CEL)', async () => {
    const both = await refusal(() => createCr(ns.name, RS, 'PodRestore', 'both', { checkpointRef: { name: 'x' }, actionId: '3f6c1f4e-8d2b-4c47-9a55-2f0e6f1b7c21' }));
    expect(both).toContain('exactly one of checkpointRef and actionId must be set');
    const neither = await refusal(() => createCr(ns.name, RS, 'PodRestore', 'neither', {}));
    expect(neither).toContain('exactly one of checkpointRef and actionId must be set');
  });

  it('refuses a change of podName (CEL transition rule) but allows deletionPolicy', async () => {
    await createCr(ns.name, CK, 'PodCheckpoint', 'immutable', { podName: 'a' });
    const patch = (spec: object) =>
      api().custom.patchNamespacedCustomObject(
        { group: 'cedana.ai', version: 'v1alpha1', namespace: ns.name, plural: CK, name: 'immutable', body: { spec } },
        setHeaderOptions('Content-Type', 'application/merge-patch+json'),
      );
    expect(await refusal(() => patch({ podName: 'b' }))).toContain('spec is immutable except for deletionPolicy');
    await patch({ deletionPolicy: 'Retain' });
    expect((await getCr(ns.name, CK, 'immutable')).spec.deletionPolicy).toBe('Retain');
  });

  it('refuses unknown enum values and malformed ids (schema)', async () => {
    expect(await refusal(() => createCr(ns.name, CK, 'PodCheckpoint', 'badkind', { podName: 'a', kind: 'full' }))).toMatch(/spec.kind: Unsupported value: "full"/);
    expect(await refusal(() => createCr(ns.name, RS, 'PodRestore', 'badid', { actionId: 'not-a-uuid' }))).toMatch(/spec.actionId/);
    expect(await refusal(() => createCr(ns.name, CK, 'PodCheckpoint', 'badcomp', { podName: 'a', overrides: { compression: 'brotli' } }))).toMatch(/compression/);
  });

  it('fills in defaults', async () => {
    await createCr(ns.name, CK, 'PodCheckpoint', 'defaults', { podName: 'a' });
    expect((await getCr(ns.name, CK, 'defaults')).spec).toMatchObject({ kind: 'simple', reason: 'manual', deletionPolicy: 'Deprecate' });
  });
});
