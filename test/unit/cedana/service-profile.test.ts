// The client against the simulator's service profile, with the CEDANA_URL Cedana's docs give
// (<host>/v1): a checkpoint and a restore end to end, and each difference from the reference read
// the way docs/simulator.md says.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CedanaClient, actionKind, actionOutcome } from '../../../src/cedana/index.ts';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/index.ts';
import { failure } from './failure.ts';

const TOKEN = 'service-profile-token';
let clock = Date.UTC(2026, 0, 1);
const created = new Map<string, number>();
let sim: RunningSimulator;
let client: CedanaClient;

beforeAll(async () => {
  sim = await startSimulator({
    token: TOKEN,
    profile: 'service',
    stepMs: 1000,
    syncLagMs: 5000,
    now: () => clock,
    logger: pino({ level: 'silent' }),
    hooks: { podCreatedAt: ({ podName }) => Promise.resolve(created.get(podName ?? '') ?? null) },
  });
  client = new CedanaClient({ baseUrl: `${sim.url}/v1/`, token: TOKEN, retry: { maxAttempts: 1 } });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

describe('the client against the service profile', () => {
  it('checkpoints and restores a pod; the restore has no status, the listing says how it went', async () => {
    expect(client.baseUrl).toBe(sim.url);
    await expect(client.getUser()).resolves.toMatch(/\S/);
    const clusterId = await client.registerCluster('svc');

    // A pod Cedana's sync has not seen yet.
    created.set('trainer-0', clock - 1000);
    const early = await failure(client.checkpointPod({ pod_name: 'trainer-0', pod_id: 'uid-0', namespace: 'ml', cluster_id: clusterId }));
    expect(early).toMatchObject({ isUnsyncedPod: true, retryable: false, status: 404, apiMessage: 'Failed to find checkpointable resource: pod ml/trainer-0' });
    clock += 5000;

    const action = await client.checkpointPod({ pod_name: 'trainer-0', pod_id: 'uid-0', namespace: 'ml', cluster_id: clusterId });
    await expect(client.uploadPodSpec({ action_id: action, status: 'initialized', pod_id: 'uid-0', pod_spec: { containers: [] } })).resolves.toBe('Success');
    clock += 3000;
    expect((await client.getCheckpointStatus(action)).status).toBe('ready');
    const restore = await client.restorePod({ action_id: action, reason: 'manual', cluster_id: clusterId });

    const status = await failure(client.getCheckpointStatus(restore));
    expect(status).toMatchObject({ status: 404, isApiNotFound: true, isUnsyncedPod: false, retryable: false });
    // from_pod answers the pod's latest action, which is now the restore.
    await expect(client.latestPodAction('uid-0')).resolves.toBe(restore);

    clock += 3000;
    const actions = await client.listActions();
    expect(actions.map((a) => [actionKind(a.type), a.type, actionOutcome(a.status)])).toEqual([
      ['checkpoint', 'checkpoint_pod', 'done'],
      ['restore', 'restore_pod', 'done'],
    ]);
    expect(actions[0]?.total_duration).toBe(3000 * 1_000_000);
    expect((await client.listActions({ kind: 'restore' })).map((a) => a.action_id)).toEqual([restore]);
    // The reference's type name filters nothing in: the service knows only its own.
    expect(await client.listActions({ type: 'checkpoint' })).toEqual([]);
    // Checkpoints are not named by pod here.
    expect((await failure(client.getCheckpointPath('ml/trainer-0'))).status).toBe(400);
  });

  it('reads the {message} errors and tells a wrong URL from an API 404', async () => {
    const err = await failure(client.restorePod({ action_id: 'not-a-uuid', reason: 'manual' }));
    expect(err).toMatchObject({ status: 400, apiMessage: "Invalid action_id 'not-a-uuid': not a UUID", code: undefined });
    const wrongUrl = new CedanaClient({ baseUrl: `${sim.url}/v1/v1`, token: TOKEN, retry: { maxAttempts: 1 } });
    try {
      const lost = await failure(wrongUrl.latestPodAction('uid-0'));
      expect(lost).toMatchObject({ status: 404, isApiNotFound: false, apiMessage: undefined });
    } finally {
      await wrongUrl.close();
    }
  });
});
