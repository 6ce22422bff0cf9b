// 400 and 404 answers: what is malformed, what does not exist, and what does not fit the state.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/cedana/schemas.ts';
import { harness, podBody } from './helpers.ts';

const error = (json: unknown) => ApiError.parse(json);

describe('request validation (400)', () => {
  it('rejects malformed JSON', async () => {
    const h = await harness();
    const res = await h.api.call('POST', '/v2/checkpoint/pod', '{"pod_name":', { raw: true });
    expect(res.status).toBe(400);
    expect(error(res.json)).toMatchObject({ code: '400', message: expect.stringMatching(/^malformed JSON body/) as unknown });
  });

  it('rejects a missing body where one is required', async () => {
    const h = await harness();
    const res = await h.api.post('/v2/restore/pod');
    expect(res).toMatchObject({ status: 400, json: { message: 'request body is required (application/json)' } });
  });

  it.each([
    ['an unknown enum value', '/v2/checkpoint/pod', podBody({ kind: 'full' }), 'kind'],
    ['a wrong type', '/v2/checkpoint/pod', podBody({ overrides: { streams: 'four' } }), 'overrides.streams'],
    ['a missing required field', '/v2/restore/pod', { action_id: randomUUID() }, 'reason'],
    ['a non-integer int32', '/v2/checkpoint/pod', podBody({ overrides: { streams: 1.5 } }), 'overrides.streams'],
    ['a missing status', '/v2/actions/upload', { action_id: randomUUID() }, 'status'],
    ['a wrong cluster_id type', '/v2/slurm/restore/job', { action_id: randomUUID(), cluster_id: 5, reason: 'manual' }, 'cluster_id'],
  ])('rejects %s and names the field', async (_what, path, body, field) => {
    const h = await harness();
    const res = await h.api.post(path, body);
    expect(res.status).toBe(400);
    const e = error(res.json);
    expect(e.message).toMatch(new RegExp(`^invalid request body: ${field.replace('.', '\\.')}: `));
    expect(e.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: field })]));
  });

  it('needs pod_id or pod_name to checkpoint a pod, job_id or job_name for a slurm job', async () => {
    const h = await harness();
    expect((await h.api.post('/v2/checkpoint/pod', { namespace: 'ml', pod_name: '' })).json).toMatchObject({ code: '400', message: 'invalid request body: pod_id or pod_name is required' });
    expect((await h.api.post('/v2/slurm/checkpoint/job', { kind: 'simple' })).json).toMatchObject({ code: '400', message: 'invalid request body: job_id or job_name is required' });
    expect(h.sim.stats().actions).toBe(0);
  });

  it('rejects malformed UUIDs where the id must be one', async () => {
    const h = await harness();
    expect((await h.api.put('/v2/checkpoints/info/not-a-uuid', { gpu: '', platform: 'linux/amd64' })).json).toEqual({ code: '400', message: "invalid id: 'not-a-uuid' is not a UUID" });
    expect((await h.api.patch('/v2/checkpoints/deprecate/123')).json).toEqual({ code: '400', message: 'Invalid UUID provided' });
    expect((await h.api.post('/v2/checkpoints/uploaded/123', {})).status).toBe(400);
    expect((await h.api.get(`/v2/checkpoints?ids=${randomUUID()},nope`)).json).toEqual({ code: '400', message: "invalid ids: 'nope' is not a UUID" });
    expect((await h.api.post('/v2/restore/pod', { action_id: 'x', reason: 'manual' })).json).toEqual({ code: '400', message: "Invalid action_id 'x': not a UUID" });
  });

  it('answers 400 for GET /v2/checkpoint/path without a name, or when nothing is ready under it', async () => {
    const h = await harness();
    expect((await h.api.get('/v2/checkpoint/path')).json).toMatchObject({ code: '400', message: expect.stringContaining('name is required') as unknown });
    expect((await h.api.get('/v2/checkpoint/path?name=ml/none')).json).toMatchObject({ code: '400', message: expect.stringContaining("no ready checkpoint named 'ml/none'") as unknown });
  });

  it('refuses to restore what is not a ready pod checkpoint action, saying why', async () => {
    const h = await harness();
    const pending = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    const slurm = (await h.api.post('/v2/slurm/checkpoint/job', { job_id: '1' })).text;
    const why = async (action_id: string) => error((await h.api.post('/v2/restore/pod', { action_id, reason: 'manual' })).json).message;
    expect(await why(pending)).toBe(`Invalid action_id '${pending}': its checkpoint is initialized, not ready`);
    expect(await why(randomUUID())).toMatch(/no such action/);
    h.clock.advance(3000);
    expect(await why(slurm)).toMatch(/it is a slurm_checkpoint action, not a pod checkpoint action/);
    const restore = (await h.api.post('/v2/restore/pod', { action_id: pending, reason: 'manual' })).text;
    expect(await why(restore)).toMatch(/it is a restore action/);
  });

  it('needs a ready slurm checkpoint to restore a job: 404 when there is none, 400 while it runs', async () => {
    const h = await harness();
    const job = (await h.api.post('/v2/slurm/checkpoint/job', { job_name: 'train' })).text;
    expect((await h.api.post('/v2/slurm/restore/job', { action_id: job, cluster_id: 's', reason: 'manual' })).status).toBe(400);
    expect((await h.api.post('/v2/slurm/restore/job', { action_id: randomUUID(), cluster_id: 's', reason: 'manual' })).status).toBe(404);
    h.clock.advance(3000);
    const restore = await h.api.post('/v2/slurm/restore/job', { action_id: job, cluster_id: 's', reason: 'manual' });
    expect(restore.status).toBe(200);
    expect((await h.api.get('/v2/actions?type=slurm_restore')).json).toMatchObject([{ action_id: restore.text, type: 'slurm_restore' }]);
  });
});

describe('unknown things (404) and wrong methods (405)', () => {
  it('answers 404 ApiError for unknown ids', async () => {
    const h = await harness();
    const id = randomUUID();
    expect((await h.api.get(`/v2/checkpoint/status/${id}`)).json).toEqual({ code: '404', message: `Action ID not found: ${id}` });
    expect((await h.api.get('/v2/checkpoint/status/not-a-uuid')).status).toBe(404);
    expect((await h.api.put(`/v2/checkpoints/info/${id}`, { gpu: '', platform: '' })).status).toBe(404);
    expect((await h.api.patch(`/v2/checkpoints/deprecate/${id}`)).status).toBe(404);
    expect((await h.api.post(`/v2/checkpoints/uploaded/${id}`, {})).status).toBe(404);
    expect((await h.api.post('/v2/actions/upload', { action_id: id, status: 'x' })).status).toBe(404);
    expect((await h.api.get('/v2/actions/from_pod/never-seen')).status).toBe(404);
    expect((await h.api.get(`/v1/checkpoints/${id}`)).json).toEqual({ error: { code: 'not_found', message: `checkpoint '${id}' not found` } });
  });

  it('answers 404 when the podExists hook says the pod is not there', async () => {
    const h = await harness({ hooks: { podExists: ({ podName }) => Promise.resolve(podName !== 'ghost') } });
    const res = await h.api.post('/v2/checkpoint/pod', podBody({ pod_name: 'ghost' }));
    expect(res.status).toBe(404);
    expect(error(res.json).message).toMatch(/^Failed to find checkpointable resource/);
    expect((await h.api.post('/v2/checkpoint/pod', podBody())).status).toBe(200);
    expect(h.sim.stats().actions).toBe(1);
  });

  it('answers 404 for an unknown route and 405 with Allow for a wrong method', async () => {
    const h = await harness();
    expect((await h.api.get('/v2/nothing/here')).json).toEqual({ code: '404', message: 'no such endpoint: GET /v2/nothing/here' });
    const wrong = await h.api.call('DELETE', '/v2/checkpoints');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    expect(wrong.json).toMatchObject({ code: '405' });
    expect((await h.api.get('/v1/nothing')).json).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('v1 checkpoints', () => {
  it('finds a checkpoint by id or by display name (its name, or its id when unnamed), newest first', async () => {
    const h = await harness();
    await h.api.post('/v2/checkpoint/pod', podBody());
    h.clock.advance(3000);
    await h.api.post('/v2/checkpoint/pod', podBody());
    const byName = await h.api.get(`/v1/checkpoints/${encodeURIComponent('ml/trainer-0')}`);
    expect(byName.status).toBe(200);
    const checkpoints = (await h.api.get('/v2/checkpoints')).json as { id: string }[];
    expect(byName.json).toEqual({
      data: { display_name: 'ml/trainer-0', id: checkpoints[1]?.id, state: 'creating', resources: { limits: { memory_mib: 0 }, requests: { memory_mib: 0, vcpus: 0 } } },
    });
    const unnamed = (await h.api.post('/v2/checkpoints')).text;
    await h.api.put(`/v2/checkpoints/info/${unnamed}`, { gpu: '', platform: 'linux/amd64', info: { resources: { limits: { memory_mib: 512 }, requests: { memory_mib: 256, vcpus: 2 } } } });
    expect((await h.api.get(`/v1/checkpoints/${unnamed.toUpperCase()}`)).json).toEqual({
      data: { display_name: unnamed, id: unnamed, state: 'creating', resources: { limits: { memory_mib: 512 }, requests: { memory_mib: 256, vcpus: 2 } } },
    });
  });
});
