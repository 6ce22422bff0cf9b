// Every request the client sends, and every answer it gets from the simulator, is checked against
// openapi/cedana.json: the exchanges are recorded on the simulator's side, as they crossed the wire.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CedanaApiError, CedanaClient } from '../../src/cedana/index.ts';
import { startSimulator, type Exchange } from '../../src/simulator/index.ts';
import { validateExchange } from './openapi-validator.ts';

const TOKEN = 'contract-token';
let clock = 1_750_000_000_000;
const exchanges: Exchange[] = [];
let sim: Awaited<ReturnType<typeof startSimulator>>;
let client: CedanaClient;

beforeAll(async () => {
  sim = await startSimulator({ token: TOKEN, stepMs: 1000, now: () => clock, logger: pino({ level: 'silent' }), onExchange: (e) => exchanges.push(e) });
  client = new CedanaClient({ baseUrl: sim.url, token: TOKEN, timeoutMs: 2000, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 }, sleep: () => Promise.resolve() });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

/** Runs a call that may fail with an API answer; anything else is a bug in the test. */
async function settle(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof CedanaApiError) || err.kind !== 'http') throw err;
  }
}

describe('the client speaks the OpenAPI document', () => {
  it('on every operation, successful or not', async () => {
    const podId = randomUUID();
    const actionId = await client.checkpointPod({
      pod_name: 'trainer-0',
      pod_id: podId,
      namespace: 'ml',
      cluster_id: 'c1',
      kind: 'rootfs',
      reason: 'heartbeat',
      overrides: { asynchronous: false, compression: 'lz4', criu_opts: '{"tcp_established":true}', directory: '/ckpt', streams: 4 },
    });
    await client.latestPodAction(podId);
    await client.latestPodAction(randomUUID());
    await client.uploadPodSpec({ action_id: actionId, status: 'initialized', pod_id: podId, pod_spec: { containers: [] }, pod_metadata_spec: { name: 'trainer-0' }, persistent_volume_claim: [] });
    await client.getCheckpointStatus(actionId);
    clock += 10_000;
    const actions = await client.listActions();
    await client.listActions({ type: 'checkpoint' });
    const checkpointId = actions[0]?.checkpoint_id ?? '';
    await client.listCheckpoints({ ids: [checkpointId] });
    await client.listCheckpoints();
    await client.getCheckpointPath('ml/trainer-0');
    await client.restorePod({ action_id: actionId, reason: 'nodeUnschedulable', cluster_id: 'c1', overrides: { criu_opts: null, pod_name: 'trainer-0-restored' } });
    const id = await client.createCheckpoint();
    await client.putCheckpointInfo(id, { gpu: 'none', platform: 'linux/arm64', info: { any: ['json'] } });
    await client.markCheckpointUploaded(id, { restore_path: null });
    await client.getCheckpointV1(id);
    await client.getCheckpointV1('ml/trainer-0');
    await client.deprecateCheckpoint(id);
    const jobAction = await client.checkpointSlurmJob({ job_id: '7', job_name: null, kind: 'simple', reason: 'manual' });
    clock += 10_000;
    await client.restoreSlurmJob({ action_id: jobAction, cluster_id: 's1', reason: 'manual' });

    await client.getUser();
    const clusterId = await client.registerCluster('contract-cluster');
    await client.listClusters();
    await client.deleteCluster(clusterId);

    // The documented error answers.
    await settle(client.checkpointPod({}));
    await settle(client.getCheckpointStatus(randomUUID()));
    await settle(client.getCheckpointStatus('not-a-uuid'));
    await settle(client.deprecateCheckpoint('not-a-uuid'));
    await settle(client.getCheckpointPath('no/such-pod'));
    await settle(client.restorePod({ action_id: randomUUID(), reason: 'manual' }));
    await settle(client.getCheckpointV1('missing'));
    await settle(client.deleteCluster(randomUUID()));
    sim.setFaults({ rateLimitRate: 0.5, errorRate: 0.5, seed: 1 });
    await settle(client.listActions());
    await settle(client.checkpointPod({ pod_name: 'p' }));
    sim.setFaults({ rateLimitRate: 0, errorRate: 0 });

    const wrong = new CedanaClient({ baseUrl: sim.url, token: 'wrong' });
    await settle(wrong.listCheckpoints());
    await settle(wrong.getCheckpointV1('x'));
    await settle(wrong.getUser());
    await wrong.close();

    const operations = new Set(exchanges.map((e) => `${e.method} ${e.pathTemplate}`));
    expect(operations.size).toBe(19);
    expect(exchanges.filter((e) => e.faulted).length).toBeGreaterThanOrEqual(3);
    const statuses = new Set(exchanges.map((e) => e.status));
    for (const s of [200, 400, 401, 404]) expect(statuses).toContain(s);
    const problems = exchanges.flatMap((e) => validateExchange(e).map((p) => `${e.method} ${e.path}: ${p}`));
    expect(problems).toEqual([]);

    // The check is not vacuous: a body the client would never send is caught.
    const sent = exchanges.find((e) => e.pathTemplate === '/v2/checkpoint/pod' && e.status === 200);
    expect(sent).toBeDefined();
    if (sent) expect(validateExchange({ ...sent, requestBody: { kind: 'bogus' } })).not.toEqual([]);
  });
});
