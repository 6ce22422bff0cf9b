// The service profile: the real Cedana service's ways where they differ from the reference pages
// (REAL-SERVICE.md), and the reference profile unchanged beside it.
import { describe, expect, it } from 'vitest';
import { simulatorCommand } from '../../../src/simulator/cli.ts';
import { malform, MALFORMATIONS } from '../../../src/simulator/index.ts';
import { apiFor, harness, podBody, TOKEN, type Harness } from './helpers.ts';

const service = (opts: Parameters<typeof harness>[0] = {}): Promise<Harness> => harness({ profile: 'service', syncLagMs: 0, ...opts });

async function checkpoint(h: Harness, over: Record<string, unknown> = {}, prefix = '/v2'): Promise<string> {
  const res = await h.api.post(`${prefix}/checkpoint/pod`, podBody(over));
  expect(res.status, res.text).toBe(200);
  return res.text;
}

describe('service profile', () => {
  it('serves the pod, action and checkpoint operations under /v1 beside /v2', async () => {
    const h = await service();
    const id = await checkpoint(h, {}, '/v1');
    expect((await h.api.get(`/v1/checkpoint/status/${id}`)).json).toEqual({ status: 'initialized', details: null });
    expect((await h.api.get(`/v2/checkpoint/status/${id}`)).status).toBe(200);
    expect((await h.api.get('/v1/actions/from_pod/pod-uid-1')).text).toBe(id);
    expect((await h.api.post('/v1/actions/upload', { action_id: id, status: 'initialized', pod_spec: {} })).text).toBe('Success');
    expect(((await h.api.get('/v1/actions')).json as unknown[]).length).toBe(1);
    expect((await h.api.get('/v1/checkpoints')).status).toBe(200);
    h.clock.advance(3000);
    const restore = await h.api.post('/v1/restore/pod', { action_id: id, reason: 'manual' });
    expect(restore.status, restore.text).toBe(200);
    expect(h.sim.stats().calls).toMatchObject({ 'POST /v1/checkpoint/pod': 1, 'GET /v1/checkpoint/status/{action_id}': 1, 'POST /v1/restore/pod': 1 });
    // Slurm and cluster operations stay /v2 only.
    expect((await h.api.post('/v1/slurm/checkpoint/job', { job_id: '1' })).status).toBe(404);
  });

  it('reports the real action types, and applies ?type= to them', async () => {
    const h = await service();
    const id = await checkpoint(h);
    await checkpoint(h, { pod_id: 'pod-uid-2', pod_name: 'hb', reason: 'heartbeat' });
    h.clock.advance(3000);
    await h.api.post('/v2/restore/pod', { action_id: id, reason: 'manual' });
    const types = ((await h.api.get('/v2/actions')).json as { type: string }[]).map((a) => a.type);
    expect(types).toEqual(['checkpoint_pod', 'heartbeat', 'restore_pod']);
    expect((await h.api.get('/v2/actions?type=checkpoint')).json).toEqual([]);
    expect(((await h.api.get('/v2/actions?type=restore_pod')).json as unknown[]).length).toBe(1);
  });

  it('answers an upload with Success, text/plain', async () => {
    const h = await service();
    const id = await checkpoint(h);
    const res = await h.api.post('/v2/actions/upload', { action_id: id, status: 'initialized', pod_id: 'pod-uid-1', pod_spec: { containers: [] } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toBe('Success');
  });

  it('gives total_duration in nanoseconds (the reference profile: milliseconds)', async () => {
    for (const [profile, factor] of [
      ['service', 1_000_000],
      ['reference', 1],
    ] as const) {
      const h = await harness({ profile, syncLagMs: 0 });
      await checkpoint(h);
      h.clock.advance(5000);
      const [a] = (await h.api.get('/v2/actions')).json as { total_duration: number }[];
      expect(a?.total_duration, profile).toBe(3000 * factor);
    }
  });

  it('answers errors as {message}, on /v1 and /v2, 401 included', async () => {
    const h = await service();
    const missing = await h.api.get('/v2/checkpoint/status/6a1c0000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ message: 'Action ID not found: 6a1c0000-0000-4000-8000-000000000000' });
    expect((await h.api.get('/v1/checkpoints/no-such')).json).toEqual({ message: "checkpoint 'no-such' not found" });
    const bad = await h.api.post('/v2/checkpoint/pod', { namespace: 'ml' });
    expect(bad.json).toEqual({ message: 'invalid request body: pod_id or pod_name is required' });
    const denied = await apiFor(h.sim.url, 'wrong').get('/v2/user');
    expect(denied.status).toBe(401);
    expect(denied.json).toEqual({ message: 'Invalid API key' });
    h.sim.setFaults({ errorRate: 1, seed: 1 });
    expect(Object.keys((await h.api.get('/v2/actions')).json as object)).toEqual(['message']);
  });

  it('answers what no route serves as Go does: 404 page not found, 405 Method Not Allowed', async () => {
    const h = await service();
    const none = await h.api.get('/v1/v2/checkpoint/pod');
    expect([none.status, none.headers.get('content-type'), none.text]).toEqual([404, 'text/plain; charset=utf-8', '404 page not found\n']);
    const wrong = await h.api.call('DELETE', '/v2/actions');
    expect([wrong.status, wrong.text, wrong.headers.get('allow')]).toEqual([405, 'Method Not Allowed\n', 'GET']);
  });

  it('has no status for restore actions: 404, though the restore exists and runs', async () => {
    const h = await service();
    const id = await checkpoint(h);
    h.clock.advance(3000);
    const restore = (await h.api.post('/v2/restore/pod', { action_id: id, reason: 'manual' })).text;
    const status = await h.api.get(`/v2/checkpoint/status/${restore}`);
    expect(status.status).toBe(404);
    expect(status.json).toEqual({ message: `Action ID not found: ${restore}` });
    expect(((await h.api.get('/v2/actions')).json as { action_id: string }[]).map((a) => a.action_id)).toContain(restore);
    // The reference profile answers it.
    const ref = await harness();
    const refId = (await ref.api.post('/v2/checkpoint/pod', podBody())).text;
    ref.clock.advance(3000);
    const refRestore = (await ref.api.post('/v2/restore/pod', { action_id: refId, reason: 'manual' })).text;
    expect((await ref.api.get(`/v2/checkpoint/status/${refRestore}`)).status).toBe(200);
  });

  it("answers from_pod with the pod's latest action of any kind, its restore included", async () => {
    const h = await service();
    const id = await checkpoint(h);
    h.clock.advance(3000);
    const restore = (await h.api.post('/v2/restore/pod', { action_id: id, reason: 'manual' })).text;
    expect((await h.api.get('/v2/actions/from_pod/pod-uid-1')).text).toBe(restore);
  });

  it('names checkpoints by CEDANA_CHECKPOINT, not by pod: a lookup by <namespace>/<pod> finds nothing', async () => {
    const h = await service();
    const plain = await checkpoint(h);
    const named = await checkpoint(h, { pod_id: 'pod-uid-2', pod_name: 'named' });
    await h.api.post('/v2/actions/upload', { action_id: plain, status: 'initialized', pod_spec: { containers: [{ name: 'c' }] } });
    await h.api.post('/v2/actions/upload', { action_id: named, status: 'initialized', pod_spec: { containers: [{ name: 'c', env: [{ name: 'CEDANA_CHECKPOINT', value: 'trainer' }] }] } });
    h.clock.advance(3000);
    expect((await h.api.get(`/v2/checkpoint/path?name=${encodeURIComponent('ml/trainer-0')}`)).status).toBe(400);
    const path = await h.api.get('/v2/checkpoint/path?name=trainer');
    expect(path.status).toBe(200);
    expect(path.text).toMatch(/^cedana:\/\/checkpoints\//);
  });

  describe('the sync lag', () => {
    const createdAt = { t: 0 };
    const hooks = { podCreatedAt: () => Promise.resolve(createdAt.t) };

    it('answers 404 "Failed to find checkpointable resource" for a pod younger than syncLagMs, then takes it', async () => {
      const h = await service({ syncLagMs: 5000, hooks });
      createdAt.t = h.clock.t - 1000;
      const early = await h.api.post('/v2/checkpoint/pod', podBody());
      expect(early.status).toBe(404);
      expect(early.json).toEqual({ message: 'Failed to find checkpointable resource: pod ml/trainer-0' });
      expect(h.sim.stats().actions).toBe(0);
      h.clock.advance(4000);
      expect((await h.api.post('/v2/checkpoint/pod', podBody())).status).toBe(200);
    });

    it('is 2 s by default, off with syncLagMs 0, and never in the reference profile', async () => {
      const byDefault = await harness({ profile: 'service', hooks });
      createdAt.t = byDefault.clock.t - 1999;
      expect((await byDefault.api.post('/v2/checkpoint/pod', podBody())).status).toBe(404);
      byDefault.clock.advance(1);
      expect((await byDefault.api.post('/v2/checkpoint/pod', podBody())).status).toBe(200);
      const off = await service({ hooks });
      createdAt.t = off.clock.t;
      expect((await off.api.post('/v2/checkpoint/pod', podBody())).status).toBe(200);
      const reference = await harness({ syncLagMs: 60_000, hooks });
      createdAt.t = reference.clock.t;
      expect((await reference.api.post('/v2/checkpoint/pod', podBody())).status).toBe(200);
    });

    it('a pod of unknown age is taken', async () => {
      const h = await service({ syncLagMs: 5000, hooks: { podCreatedAt: () => Promise.resolve(null) } });
      expect((await h.api.post('/v2/checkpoint/pod', podBody())).status).toBe(200);
    });
  });

  it('refuses a bad syncLagMs and an unknown profile', async () => {
    await expect(harness({ syncLagMs: -1 })).rejects.toThrow(/syncLagMs/);
    // @ts-expect-error: not a profile
    await expect(harness({ profile: 'staging' })).rejects.toThrow();
  });
});

describe('reference profile stays the reference', () => {
  it('reference types, the action id from upload, ApiError errors', async () => {
    const h = await harness();
    expect(h.sim.profile).toBe('reference');
    const id = (await h.api.post('/v2/checkpoint/pod', podBody())).text;
    expect((await h.api.post('/v2/actions/upload', { action_id: id, status: 'initialized' })).text).toBe(id);
    expect(((await h.api.get('/v2/actions')).json as { type: string }[])[0]?.type).toBe('checkpoint');
    expect((await h.api.get('/v1/checkpoint/pod')).status).toBe(404);
    expect((await h.api.get('/v2/nothing')).json).toEqual({ code: '404', message: 'no such endpoint: GET /v2/nothing' });
  });
});

describe('malform', () => {
  const id = '6a1c0000-0000-4000-8000-000000000000';
  const textReply = { status: 200, contentType: 'text/plain; charset=utf-8', body: id };
  const jsonReply = { status: 200, contentType: 'application/json', body: [{ action_id: id, checkpoint_id: id, status: 'ready' }] };

  it('breaks every answer in the way it says', () => {
    expect(malform(textReply, 'contentType')).toEqual({ status: 200, contentType: 'text/html; charset=utf-8', body: id });
    expect(malform(textReply, 'truncated').body).toBe(id.slice(0, 18));
    expect(malform({ ...textReply, body: 'x' }, 'truncated').body).toBe('');
    expect(() => JSON.parse(malform(jsonReply, 'truncated').body) as unknown).toThrow();
    expect(malform(jsonReply, 'notJson').body).toMatch(/^<html>/);
    expect(malform(jsonReply, 'notJson').contentType).toBe('application/json');
    expect(JSON.parse(malform(jsonReply, 'schema').body)).toEqual([{ unexpected: true }]);
    expect(JSON.parse(malform(textReply, 'schema').body)).toEqual({ unexpected: true });
    expect(malform(textReply, 'emptyId').body).toBe('');
    expect(JSON.parse(malform(jsonReply, 'emptyId').body)).toEqual([{ action_id: '', checkpoint_id: '', status: 'ready' }]);
    expect(MALFORMATIONS).toEqual(['contentType', 'truncated', 'notJson', 'schema', 'emptyId']);
  });

  it('is settable at run time, and refuses unknown kinds', async () => {
    const h = await harness();
    const put = await h.api.put('/_sim/faults', { malformedRate: 0.5, malformedKinds: ['truncated'] });
    expect(put.json).toMatchObject({ malformedRate: 0.5, malformedKinds: ['truncated'] });
    expect((await h.api.put('/_sim/faults', { malformedKinds: ['garbled'] })).status).toBe(400);
    expect((await h.api.put('/_sim/faults', { malformedKinds: [] })).status).toBe(400);
    expect((await h.api.put('/_sim/faults', { malformedRate: 0.6, errorRate: 0.6 })).status).toBe(400);
  });
});

describe('simulator command', () => {
  function run(argv: string[]) {
    let out = '';
    let err = '';
    const stop = new AbortController();
    const done = simulatorCommand(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: { CEDANA_AUTH_TOKEN: TOKEN }, signal: stop.signal });
    return { done, stop, out: () => out, err: () => err };
  }

  it('takes --profile service and the malformed-answer flags', async () => {
    const r = run(['--listen', '127.0.0.1:0', '--profile', 'service', '--malformed-rate', '0.25', '--malformed-kinds', 'truncated,emptyId', '--log-level', 'silent']);
    for (let i = 0; i < 100 && r.out() === ''; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const url = /listening on (\S+)/.exec(r.out())?.[1] ?? '';
    const api = apiFor(url);
    expect((await api.get('/_sim/faults')).json).toMatchObject({ malformedRate: 0.25, malformedKinds: ['truncated', 'emptyId'] });
    expect((await api.get('/v2/nothing')).text).toBe('404 page not found\n');
    r.stop.abort();
    await expect(r.done).resolves.toBe(0);
  });

  it.each([
    [['--profile', 'staging'], /--profile must be reference or service \(got 'staging'\)/],
    [['--malformed-kinds', 'garbled'], /malformedKinds/],
    [['--malformed-rate', '2'], /--malformed-rate must be a number from 0 to 1/],
    [['--sync-lag-ms', 'soon'], /--sync-lag-ms must be a whole number/],
  ])('refuses %j', async (argv, message) => {
    const r = run(['--listen', '127.0.0.1:0', ...argv]);
    await expect(r.done).resolves.toBe(2);
    expect(r.err().split('\n')[0]).toMatch(message);
  });

  it('says so, in one line, when the kubeconfig for the in-cluster side cannot be used', async () => {
    const r = run(['--listen', '127.0.0.1:0', '--profile', 'service', '--kubeconfig', '/nonexistent/kubeconfig', '--log-level', 'silent']);
    await expect(r.done).resolves.toBe(1);
    expect(r.err()).toMatch(/^cedana-operator simulator: cannot use the kubeconfig \/nonexistent\/kubeconfig: .*ENOENT.*\n$/);
    expect(r.out()).toBe('');
  });
});
