// Actions and their checkpoints move one status per step of the injected clock.
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { Action, Checkpoint, StatusResponse } from '../../../src/cedana/schemas.ts';
import { harness, podBody, readyCheckpoint, TOKEN } from './helpers.ts';

describe('simulator lifecycle', () => {
  it('moves a pod checkpoint action initialized → processing → checkpoint_created → ready, one step per stepMs', async () => {
    const h = await harness({ stepMs: 1000 });
    const actionId = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await h.api.get(`/v2/checkpoint/status/${actionId}`);
      seen.push(StatusResponse.parse(res.json).status);
      h.clock.advance(999);
      seen.push(StatusResponse.parse((await h.api.get(`/v2/checkpoint/status/${actionId}`)).json).status);
      h.clock.advance(1);
    }
    expect(seen).toEqual(['initialized', 'initialized', 'processing', 'processing', 'checkpoint_created', 'checkpoint_created', 'ready', 'ready', 'ready', 'ready']);
  });

  it('makes the checkpoint follow its action, named <namespace>/<pod_name>, ready with a restore path', async () => {
    const h = await harness();
    const actionId = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    const checkpoint = async () => {
      const [action] = Action.array().parse((await h.api.get('/v2/actions')).json);
      const list = Checkpoint.array().parse((await h.api.get(`/v2/checkpoints?ids=${action?.checkpoint_id ?? ''}`)).json);
      return list[0];
    };
    expect(await checkpoint()).toMatchObject({ name: 'ml/trainer-0', status: 'initializing', gpu: '', platform: 'linux/amd64' });
    h.clock.advance(2000);
    expect((await checkpoint())?.status).toBe('updated_info');
    expect((await h.api.get('/v2/checkpoint/path?name=ml/trainer-0')).status).toBe(400);
    h.clock.advance(1000);
    const cp = await checkpoint();
    expect(cp?.status).toBe('ready');
    const path = await h.api.get(`/v2/checkpoint/path?name=${encodeURIComponent('ml/trainer-0')}`);
    expect(path).toMatchObject({ status: 200, text: `cedana://checkpoints/${cp?.id ?? ''}` });
    expect(path.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(actionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lists actions with every Action field, timestamps from the injected clock', async () => {
    const h = await harness({ stepMs: 500 });
    const start = h.clock.t;
    const actionId = (await h.api.post('/v2/checkpoint/pod', podBody({ reason: 'heartbeat' }))).text;
    await h.api.post('/v2/actions/upload', { action_id: actionId, status: 'initialized', pod_id: 'pod-uid-1', pod_spec: { nodeName: 'node-a', containers: [] } });
    let [action] = Action.array().parse((await h.api.get('/v2/actions')).json);
    expect(action).toMatchObject({
      action_id: actionId,
      type: 'checkpoint',
      status: 'initialized',
      details: null,
      reason: 'heartbeat',
      node_name: 'node-a',
      action_timestamp: new Date(start).toISOString(),
      checkpoint_completed_timestamp: null,
      total_duration: null,
      total_io: null,
    });
    h.clock.advance(5000);
    [action] = Action.array().parse((await h.api.get('/v2/actions')).json);
    expect(action).toMatchObject({ status: 'ready', checkpoint_completed_timestamp: new Date(start + 1500).toISOString(), total_duration: 1500 });
    expect(Action.array().parse((await h.api.get('/v2/actions?type=restore')).json)).toEqual([]);
  });

  it('is ready at once with stepMs 0', async () => {
    const h = await harness({ stepMs: 0 });
    const actionId = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    expect((await h.api.get(`/v2/checkpoint/status/${actionId}`)).json).toEqual({ status: 'ready', details: null });
  });

  it('ends a doomed action in error with details, and its checkpoint never becomes ready', async () => {
    const h = await harness({ faults: { failNextActions: 1 } });
    const doomed = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    const fine = (await h.api.post('/v2/checkpoint/pod', podBody({ pod_id: 'pod-uid-2', pod_name: 'other' }))).text;
    h.clock.advance(2999);
    expect(StatusResponse.parse((await h.api.get(`/v2/checkpoint/status/${doomed}`)).json).status).toBe('checkpoint_created');
    h.clock.advance(1);
    const status = StatusResponse.parse((await h.api.get(`/v2/checkpoint/status/${doomed}`)).json);
    expect(status.status).toBe('error');
    expect(status.details).toMatch(/failNextActions/);
    expect(StatusResponse.parse((await h.api.get(`/v2/checkpoint/status/${fine}`)).json).status).toBe('ready');
    expect((await h.api.get('/v2/checkpoint/path?name=ml/trainer-0')).status).toBe(400);
    const restore = await h.api.post('/v2/restore/pod', { action_id: doomed, reason: 'manual' });
    expect(restore.status).toBe(400);
    expect(restore.json).toMatchObject({ code: '400', message: expect.stringMatching(/Invalid action_id.*error/) as unknown });
  });

  it('reports not_found for a checkpoint action whose checkpoint was deprecated, and refuses to restore it', async () => {
    const h = await harness();
    const actionId = await readyCheckpoint(h);
    const [action] = Action.array().parse((await h.api.get('/v2/actions')).json);
    expect((await h.api.patch(`/v2/checkpoints/deprecate/${action?.checkpoint_id ?? ''}`)).status).toBe(200);
    const status = StatusResponse.parse((await h.api.get(`/v2/checkpoint/status/${actionId}`)).json);
    expect(status).toEqual({ status: 'not_found', details: `checkpoint ${action?.checkpoint_id ?? ''} was deprecated` });
    expect((await h.api.post('/v2/restore/pod', { action_id: actionId, reason: 'manual' })).status).toBe(400);
    expect((await h.api.get('/v2/checkpoint/path?name=ml/trainer-0')).status).toBe(400);
  });

  it('creates a restore action of the same checkpoint that progresses the same way', async () => {
    const h = await harness();
    const actionId = await readyCheckpoint(h);
    const restoreId = (await h.api.post('/v2/restore/pod', { action_id: actionId, reason: 'nodeTermination', overrides: { pod_name: 'trainer-0-b' } })).text;
    expect(restoreId).not.toBe(actionId);
    const actions = Action.array().parse((await h.api.get('/v2/actions?type=restore')).json);
    const checkpointAction = Action.array().parse((await h.api.get('/v2/actions?type=checkpoint')).json)[0];
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ action_id: restoreId, type: 'restore', status: 'initialized', reason: 'nodeTermination', checkpoint_id: checkpointAction?.checkpoint_id });
    h.clock.advance(3000);
    expect((await h.api.get(`/v2/checkpoint/status/${restoreId}`)).json).toEqual({ status: 'ready', details: null });
    // from_pod names the latest CHECKPOINT action, never a restore.
    expect((await h.api.get('/v2/actions/from_pod/pod-uid-1')).text).toBe(actionId);
  });

  it('moves the checkpoints endpoints forward only: info → uploaded → deprecated', async () => {
    const h = await harness();
    const id = (await h.api.post('/v2/checkpoints')).text;
    const get = async () => Checkpoint.array().parse((await h.api.get(`/v2/checkpoints?ids=${id}`)).json)[0];
    expect(await get()).toEqual({ id, name: null, status: 'initializing', gpu: '', platform: 'linux/amd64', checksum: null });
    expect((await h.api.put(`/v2/checkpoints/info/${id}`, { gpu: 'nvidia-a100', platform: 'linux/arm64', info: { k: 1 } })).text).toBe(id);
    expect(await get()).toMatchObject({ status: 'updated_info', gpu: 'nvidia-a100', platform: 'linux/arm64', info: { k: 1 } });
    expect((await h.api.post(`/v2/checkpoints/uploaded/${id}`, {})).text).toBe(id);
    expect((await get())?.status).toBe('possibly_uploaded');
    await h.api.post(`/v2/checkpoints/uploaded/${id}`, { restore_path: 's3://bucket/ckpt.tar' });
    expect((await get())?.status).toBe('ready');
    await h.api.put(`/v2/checkpoints/info/${id}`, { gpu: '', platform: 'linux/amd64' });
    expect((await get())?.status).toBe('ready');
    await h.api.patch(`/v2/checkpoints/deprecate/${id}`);
    await h.api.post(`/v2/checkpoints/uploaded/${id}`, { restore_path: 's3://late' });
    expect((await get())?.status).toBe('deprecated');
  });

  it('keeps many actions without timers: 2000 checkpoints become ready by the clock alone', async () => {
    const h = await harness();
    const agent = new Agent({ connections: 16 });
    try {
      await Promise.all(
        Array.from({ length: 2000 }, async (_, i) => {
          const res = await request(`${h.sim.url}/v2/checkpoint/pod`, {
            method: 'POST',
            dispatcher: agent,
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify(podBody({ pod_id: `p-${i}`, pod_name: `p-${i}` })),
          });
          await res.body.text();
        }),
      );
    } finally {
      await agent.close();
    }
    expect(h.sim.stats().actionsByStatus).toEqual({ initialized: 2000 });
    h.clock.advance(3000);
    expect(h.sim.stats().actionsByStatus).toEqual({ ready: 2000 });
  }, 60_000); // 2000 HTTP round trips: a loaded machine needs more than the default 5 s; no timing is asserted
});
