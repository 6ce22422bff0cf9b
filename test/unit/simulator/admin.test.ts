// /_sim/*: faults, stats, reset — behind the same token, never faulted themselves.
import { describe, expect, it } from 'vitest';
import { apiFor, harness, podBody } from './helpers.ts';

describe('admin endpoints', () => {
  it('reads and merges faults with GET/PUT /_sim/faults, clears them with DELETE', async () => {
    const h = await harness({ faults: { seed: 42 } });
    expect((await h.api.get('/_sim/faults')).json).toMatchObject({ errorRate: 0, seed: 42, paths: null });
    const put = await h.api.put('/_sim/faults', { errorRate: 0.25, latencyMs: 5, paths: ['POST /v2/checkpoint/pod'] });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ errorRate: 0.25, latencyMs: 5, seed: 42, paths: ['POST /v2/checkpoint/pod'] });
    expect((await h.api.put('/_sim/faults', { rateLimitRate: 0.1 })).json).toMatchObject({ errorRate: 0.25, rateLimitRate: 0.1 });
    expect(h.sim.faults()).toMatchObject({ errorRate: 0.25, rateLimitRate: 0.1 });
    expect((await h.api.call('DELETE', '/_sim/faults')).json).toMatchObject({ errorRate: 0, rateLimitRate: 0, latencyMs: 0, paths: null, seed: 42 });
  });

  it('rejects a bad faults body with 400 naming the field', async () => {
    const h = await harness();
    const unknown = await h.api.put('/_sim/faults', { errorRat: 0.5 });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ code: '400', message: expect.stringContaining('errorRat') as unknown });
    const range = await h.api.put('/_sim/faults', { errorRate: 2 });
    expect(range.json).toMatchObject({ message: expect.stringContaining('errorRate') as unknown });
    const sum = await h.api.put('/_sim/faults', { errorRate: 0.7, hangRate: 0.7 });
    expect(sum).toMatchObject({ status: 400, json: { message: expect.stringContaining('must not exceed 1') as unknown } });
    expect((await h.api.call('PUT', '/_sim/faults', '{nope', { raw: true })).status).toBe(400);
  });

  it('counts calls per operation and maps pods to their checkpoint actions', async () => {
    const h = await harness();
    const a1 = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    const a2 = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    await h.api.get(`/v2/checkpoint/status/${a1}`);
    await h.api.get(`/v2/checkpoint/status/${a2}`);
    const stats = (await h.api.get('/_sim/stats')).json;
    expect(stats).toEqual({
      calls: { 'POST /v2/checkpoint/pod': 2, 'GET /v2/checkpoint/status/{action_id}': 2 },
      faults: {},
      checkpointActionsByPod: { 'pod-uid-1': [a1, a2] },
      actions: 2,
      checkpoints: 2,
      actionsByStatus: { initialized: 2 },
    });
    expect(h.sim.stats()).toMatchObject({ actions: 2 });
  });

  it('forgets everything on POST /_sim/reset, keeping the faults', async () => {
    const h = await harness({ faults: { latencyMs: 1 } });
    await h.api.post('/v2/checkpoint/pod', podBody());
    expect((await h.api.post('/_sim/reset')).status).toBe(204);
    expect(h.sim.stats()).toMatchObject({ calls: {}, actions: 0, checkpoints: 0, checkpointActionsByPod: {} });
    expect((await h.api.get('/v2/actions/from_pod/pod-uid-1')).status).toBe(404);
    expect(h.sim.faults().latencyMs).toBe(1);
    await h.api.post('/v2/checkpoint/pod', podBody());
    h.sim.reset();
    expect(h.sim.stats().actions).toBe(0);
  });

  it('needs the token, and is never faulted', async () => {
    const h = await harness({ faults: { errorRate: 0.5, hangRate: 0.5 } });
    expect((await apiFor(h.sim.url, 'wrong').get('/_sim/stats')).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await h.api.get('/_sim/faults')).status).toBe(200);
  });
});
