// The client against the Cedana API simulator over loopback: every operation's happy path, the
// documented error answers, and how retries, timeouts and Retry-After behave under injected faults.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CedanaClient, type CedanaClientOptions } from '../../../src/cedana/index.ts';
import { pino } from 'pino';
import { NO_FAULTS, startSimulator } from '../../../src/simulator/index.ts';
import { captureLogger, recordingSleep } from './stub-server.ts';
import { failure } from './failure.ts';

const TOKEN = 'sim-token-4c1d-do-not-leak';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// The simulator's clock is ours: actions move one status per step, and time moves when we say so.
let clock = 1_750_000_000_000;
const STEP_MS = 1000;
let sim: Awaited<ReturnType<typeof startSimulator>>;
const clients: CedanaClient[] = [];

beforeAll(async () => {
  sim = await startSimulator({ token: TOKEN, stepMs: STEP_MS, now: () => clock, logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  sim.setFaults({ ...NO_FAULTS, seed: 1 });
  sim.reset();
});

function client(over: Partial<CedanaClientOptions> = {}): CedanaClient {
  const c = new CedanaClient({
    baseUrl: sim.url,
    token: TOKEN,
    timeoutMs: 2000,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 5000 },
    sleep: () => Promise.resolve(),
    ...over,
  });
  clients.push(c);
  return c;
}

const calls = (key: string): number => sim.stats().calls[key] ?? 0;

describe('happy paths, one per operation', () => {
  it('checkpoints a pod, uploads its spec, follows the action to ready, restores it', async () => {
    const c = client();
    const podId = randomUUID();
    const actionId = await c.checkpointPod({
      pod_name: 'trainer-0',
      pod_id: podId,
      namespace: 'ml',
      cluster_id: 'cluster-1',
      kind: 'simple',
      reason: 'manual',
      overrides: { compression: 'zstd', streams: 2 },
    });
    expect(actionId).toMatch(UUID);
    await expect(c.latestPodAction(podId)).resolves.toBe(actionId);
    await expect(c.latestPodAction(randomUUID())).resolves.toBeUndefined();

    await expect(
      c.uploadPodSpec({
        action_id: actionId,
        status: 'initialized',
        pod_id: podId,
        pod_spec: { containers: [{ name: 'main', image: 'busybox' }], nodeName: 'node-a' },
        pod_metadata_spec: { name: 'trainer-0', namespace: 'ml', labels: { app: 'trainer' } },
        persistent_volume_claim: null,
      }),
    ).resolves.toBeTypeOf('string');

    await expect(c.getCheckpointStatus(actionId)).resolves.toMatchObject({ status: 'initialized' });
    clock += STEP_MS;
    await expect(c.getCheckpointStatus(actionId)).resolves.toMatchObject({ status: 'processing' });
    clock += 10 * STEP_MS;
    await expect(c.getCheckpointStatus(actionId)).resolves.toMatchObject({ status: 'ready' });

    const actions = await c.listActions({ type: 'checkpoint' });
    const action = actions.find((a) => a.action_id === actionId);
    expect(action).toMatchObject({ status: 'ready', type: 'checkpoint', node_name: 'node-a' });
    const checkpointId = action?.checkpoint_id ?? '';
    const [checkpoint] = await c.listCheckpoints({ ids: [checkpointId] });
    expect(checkpoint).toMatchObject({ id: checkpointId, name: 'ml/trainer-0', status: 'ready' });
    await expect(c.getCheckpointPath('ml/trainer-0')).resolves.toContain(checkpointId);

    const restoreId = await c.restorePod({ action_id: actionId, reason: 'nodeTermination', cluster_id: 'cluster-1', overrides: { pod_name: 'trainer-0-restored' } });
    expect(restoreId).toMatch(UUID);
    expect(restoreId).not.toBe(actionId);
    await expect(c.listActions({ type: 'restore' })).resolves.toEqual([expect.objectContaining({ action_id: restoreId, reason: 'nodeTermination' })]);
  });

  it('manages a checkpoint by id: create, info, uploaded, v1 view, deprecate', async () => {
    const c = client();
    const id = await c.createCheckpoint();
    expect(id).toMatch(UUID);
    await expect(c.putCheckpointInfo(id, { gpu: 'none', platform: 'linux/amd64', info: { resources: { limits: { memory_mib: 512 }, requests: { memory_mib: 256, vcpus: 1 } } } })).resolves.toBe(id);
    await expect(c.markCheckpointUploaded(id, { restore_path: `s3://bucket/${id}.tar` })).resolves.toBe(id);
    await expect(c.listCheckpoints({ ids: [id] })).resolves.toEqual([expect.objectContaining({ id, status: 'ready', gpu: 'none', platform: 'linux/amd64' })]);
    await expect(c.getCheckpointV1(id)).resolves.toMatchObject({
      id,
      state: 'ready',
      resources: { limits: { memory_mib: 512 }, requests: { memory_mib: 256, vcpus: 1 } },
    });
    await expect(c.deprecateCheckpoint(id)).resolves.toBe(id);
    await expect(c.listCheckpoints({ ids: [id] })).resolves.toEqual([expect.objectContaining({ status: 'deprecated' })]);
    expect((await c.listCheckpoints()).map((cp) => cp.id)).toContain(id);
  });

  it('checkpoints and restores a Slurm job', async () => {
    const c = client();
    const actionId = await c.checkpointSlurmJob({ job_id: '4242', job_name: 'train', kind: 'simple', reason: 'heartbeat' });
    expect(actionId).toMatch(UUID);
    clock += 10 * STEP_MS;
    await expect(c.restoreSlurmJob({ action_id: actionId, cluster_id: 'slurm-1', reason: 'manual' })).resolves.toMatch(UUID);
  });
});

describe('error answers', () => {
  it('400 surfaces the API message', async () => {
    const err = await failure(client().checkpointPod({ namespace: 'ml' }));
    expect(err).toMatchObject({ kind: 'http', status: 400, retryable: false, method: 'POST', path: '/v2/checkpoint/pod', operation: 'checkpointPod' });
    expect(err.apiMessage).toMatch(/pod_id or pod_name is required/);
    expect(err.message).toBe(`Cedana POST /v2/checkpoint/pod: 400 ${err.apiMessage ?? ''}`);

    const bad = await failure(client().deprecateCheckpoint('not-a-uuid'));
    expect(bad).toMatchObject({ status: 400, apiMessage: 'Invalid UUID provided', path: '/v2/checkpoints/deprecate/not-a-uuid' });
    expect(calls('PATCH /v2/checkpoints/deprecate/{id}')).toBe(1);
  });

  it('401 with a wrong token, and neither token appears anywhere', async () => {
    const wrong = 'wrong-token-9e8d7c';
    const { logger, lines } = captureLogger();
    const err = await failure(client({ token: wrong, logger }).listActions());
    expect(err).toMatchObject({ kind: 'http', status: 401, retryable: false });
    expect(err.apiMessage).toBeTypeOf('string');
    const v1 = await failure(client({ token: wrong, logger }).getCheckpointV1('anything'));
    expect(v1).toMatchObject({ status: 401, code: 'unauthenticated' });
    for (const e of [err, v1]) {
      for (const text of [e.message, e.stack ?? '', JSON.stringify(e), String(e)]) {
        expect(text).not.toContain(wrong);
        expect(text).not.toContain(TOKEN);
      }
    }
    for (const line of lines) expect(line).not.toContain(wrong);
  });

  it('404 for an unknown action, checkpoint and v1 name', async () => {
    const c = client();
    const missing = randomUUID();
    expect(await failure(c.getCheckpointStatus(missing))).toMatchObject({ status: 404, retryable: false });
    expect(await failure(c.putCheckpointInfo(missing, { gpu: '', platform: 'linux' }))).toMatchObject({ status: 404 });
    expect(await failure(c.uploadPodSpec({ action_id: missing, status: 'ready' }))).toMatchObject({ status: 404 });
    const v1 = await failure(c.getCheckpointV1('no-such-checkpoint'));
    expect(v1).toMatchObject({ status: 404, code: 'not_found' });
    expect(v1.message).toMatch(/^Cedana GET \/v1\/checkpoints\/no-such-checkpoint: 404 /);
    // Each asked once: a 404 is an answer, not a transient failure.
    expect(calls('GET /v2/checkpoint/status/{action_id}')).toBe(1);
  });
});

describe('retries under injected faults', () => {
  it('retries a GET on 5xx up to maxAttempts, then gives up with the last error', async () => {
    sim.setFaults({ errorRate: 1, paths: ['GET /v2/actions'] });
    const err = await failure(client({ retry: { maxAttempts: 4 } }).listActions());
    expect(err.status === 500 || err.status === 503).toBe(true);
    expect(err.retryable).toBe(true);
    expect(calls('GET /v2/actions')).toBe(4);
  });

  it('never retries a POST: not on a 5xx, not on a dropped connection', async () => {
    const c = client({ retry: { maxAttempts: 5 } });
    sim.setFaults({ errorRate: 1, paths: ['POST /v2/checkpoint/pod'] });
    expect((await failure(c.checkpointPod({ pod_name: 'p', namespace: 'ml', pod_id: randomUUID() }))).kind).toBe('http');
    expect(calls('POST /v2/checkpoint/pod')).toBe(1);

    sim.setFaults({ errorRate: 0, dropRate: 1 });
    expect(await failure(c.checkpointPod({ pod_name: 'p', namespace: 'ml', pod_id: randomUUID() }))).toMatchObject({ kind: 'network', retryable: true });
    expect(calls('POST /v2/checkpoint/pod')).toBe(2);
  });

  it('a POST whose answer was lost is found again through latestPodAction, not resent', async () => {
    const c = client();
    const podId = randomUUID();
    sim.setFaults({ dropAfterCommitRate: 1, paths: ['POST /v2/checkpoint/pod'] });
    const lost = await failure(c.checkpointPod({ pod_name: 'trainer-1', namespace: 'ml', pod_id: podId }));
    expect(lost.kind).toBe('network');
    // What the operator does before any retry: ask whether the action exists.
    const found = await c.latestPodAction(podId);
    expect(found).toMatch(UUID);
    expect(sim.stats().checkpointActionsByPod[podId]).toEqual([found]);
    expect(calls('POST /v2/checkpoint/pod')).toBe(1);
  });

  it('times out a hung request (retryable), and retries it if idempotent', async () => {
    sim.setFaults({ hangRate: 1 });
    const c = client({ timeoutMs: 150, retry: { maxAttempts: 2 } });
    const started = Date.now();
    const err = await failure(c.getCheckpointStatus(randomUUID()));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true, status: undefined });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(calls('GET /v2/checkpoint/status/{action_id}')).toBe(2);

    const post = await failure(c.restorePod({ action_id: randomUUID(), reason: 'manual' }));
    expect(post.kind).toBe('timeout');
    expect(calls('POST /v2/restore/pod')).toBe(1);
  });

  it('honours Retry-After on 429: the next attempt waits at least that long', async () => {
    sim.setFaults({ rateLimitRate: 1, retryAfterSeconds: 1, paths: ['GET /v2/checkpoints'] });
    const { sleep, waits } = recordingSleep();
    const err = await failure(client({ sleep, random: () => 0, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5000 } }).listCheckpoints());
    expect(err).toMatchObject({ status: 429, retryable: true, retryAfterMs: 1000 });
    expect(waits).toHaveLength(2);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(1000);
    expect(calls('GET /v2/checkpoints')).toBe(3);
  });

  it('recovers when a retry succeeds', async () => {
    sim.setFaults({ errorRate: 0.5, seed: 7, paths: ['GET /v2/actions'] });
    const c = client({ retry: { maxAttempts: 10 } });
    for (let i = 0; i < 5; i++) await expect(c.listActions()).resolves.toBeInstanceOf(Array);
    expect(calls('GET /v2/actions')).toBeGreaterThanOrEqual(5);
  });
});
