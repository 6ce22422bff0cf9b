// Every answer the simulator gives, on every operation, happy or not, validates against
// openapi/cedana.json; requests the document allows are the ones it accepts. Exchanges are
// recorded on the simulator's side (onExchange), as they crossed the wire.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Exchange, type RunningSimulator } from '../../src/simulator/index.ts';
import { documentedOperations, validateExchange, validateRequest, validateResponse } from './openapi-validator.ts';

const TOKEN = 'contract-sim-token';
let clock = Date.UTC(2026, 0, 1);
const exchanges: Exchange[] = [];
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({
    token: TOKEN,
    stepMs: 1000,
    now: () => clock,
    logger: pino({ level: 'silent' }),
    onExchange: (e) => exchanges.push(e),
    hooks: { onRestoreReady: () => Promise.resolve() },
  });
});
afterAll(async () => {
  await sim.close();
});

interface Sent {
  status: number;
  text: string;
  exchange: Exchange;
}

async function send(method: string, path: string, body?: unknown, opts: { token?: string | null; raw?: boolean } = {}): Promise<Sent> {
  const before = exchanges.length;
  const token = opts.token === undefined ? TOKEN : opts.token;
  const headers: Record<string, string> = { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  const res = await fetch(`${sim.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: opts.raw && typeof body === 'string' ? body : JSON.stringify(body) }) });
  const text = await res.text();
  const exchange = exchanges[before];
  if (!exchange || exchanges.length !== before + 1) throw new Error(`expected one exchange for ${method} ${path}`);
  return { status: res.status, text, exchange };
}

const where = (e: Exchange) => `${e.method} ${e.path} → ${e.status}`;

/** A request the document allows: request and answer must both validate. */
async function valid(method: string, path: string, body?: unknown, status = 200): Promise<string> {
  const sent = await send(method, path, body);
  expect(sent.status, `${where(sent.exchange)}: ${sent.text}`).toBe(status);
  expect(validateExchange(sent.exchange), where(sent.exchange)).toEqual([]);
  return sent.text;
}

/** A request the simulator must reject: whatever the request was, the answer must be documented. */
async function rejected(status: number, method: string, path: string, body?: unknown, opts: { token?: string | null; raw?: boolean; requestInvalid?: boolean } = {}): Promise<Exchange> {
  const sent = await send(method, path, body, opts);
  expect(sent.status, `${where(sent.exchange)}: ${sent.text}`).toBe(status);
  expect(validateResponse(sent.exchange), where(sent.exchange)).toEqual([]);
  // The document agrees the request was wrong (or, when it could not say so, it was still well-formed).
  if (opts.requestInvalid !== undefined) expect(validateRequest(sent.exchange).length > 0, `${where(sent.exchange)} request problems`).toBe(opts.requestInvalid);
  return sent.exchange;
}

describe('the simulator follows the OpenAPI document', () => {
  it('on every operation, on the happy path', async () => {
    const podId = randomUUID();
    const action = await valid('POST', '/v2/checkpoint/pod', {
      pod_name: 'trainer-0',
      pod_id: podId,
      namespace: 'ml',
      cluster_id: 'c1',
      kind: 'rootfs',
      reason: 'heartbeat',
      overrides: { asynchronous: true, compression: 'zstd', criu_opts: '{"tcp_established":true}', directory: '/ckpt', streams: 4 },
    });
    await valid('POST', '/v2/checkpoint/pod', { pod_id: randomUUID(), overrides: null });
    await valid('GET', `/v2/actions/from_pod/${podId}`);
    await valid('POST', '/v2/actions/upload', {
      action_id: action,
      status: 'initialized',
      pod_id: podId,
      pod_spec: { nodeName: 'n1', containers: [] },
      pod_metadata_spec: { name: 'trainer-0' },
      persistent_volume_claim: null,
    });
    for (let step = 0; step < 4; step++) {
      await valid('GET', `/v2/checkpoint/status/${action}`);
      await valid('GET', '/v2/actions');
      await valid('GET', '/v2/checkpoints');
      clock += 1000;
    }
    await valid('GET', '/v2/actions?type=checkpoint');
    await valid('GET', `/v2/checkpoint/path?name=${encodeURIComponent('ml/trainer-0')}`);
    await valid('GET', `/v1/checkpoints/${encodeURIComponent('ml/trainer-0')}`);
    const restore = await valid('POST', '/v2/restore/pod', { action_id: action, reason: 'nodeTermination', cluster_id: 'c1', overrides: { criu_opts: null, pod_name: 'trainer-0-b' } });
    clock += 3000;
    await valid('GET', `/v2/checkpoint/status/${restore}`);
    await valid('GET', '/v2/actions?type=restore');

    const id = await valid('POST', '/v2/checkpoints');
    await valid('PUT', `/v2/checkpoints/info/${id}`, { gpu: 'nvidia-a100', platform: 'linux/amd64', info: { resources: { limits: { memory_mib: 1024 }, requests: { memory_mib: 512, vcpus: 2 } } } });
    await valid('POST', `/v2/checkpoints/uploaded/${id}`, { restore_path: null });
    await valid('POST', `/v2/checkpoints/uploaded/${id}`, { restore_path: 's3://bucket/x.tar' });
    await valid('GET', `/v2/checkpoints?ids=${id}`);
    await valid('GET', `/v1/checkpoints/${id}`);
    await valid('PATCH', `/v2/checkpoints/deprecate/${id}`);
    await valid('GET', `/v1/checkpoints/${id}`);

    const job = await valid('POST', '/v2/slurm/checkpoint/job', { job_id: '4242', job_name: 'train', kind: 'simple', reason: 'manual' });
    clock += 3000;
    await valid('POST', '/v2/slurm/restore/job', { action_id: job, cluster_id: 's1', reason: 'manual' });
    await valid('GET', '/v2/actions');

    // Token and cluster (openapi/project-additions.json).
    await valid('GET', '/v2/user');
    const cluster = await valid('POST', '/v2/cluster', { cluster_name: 'prod-eu' });
    await valid('POST', '/v2/checkpoint/pod', { pod_name: 'synced', namespace: 'ml', cluster_id: cluster });
    await valid('GET', '/v2/cluster');
    await valid('DELETE', `/v2/cluster/${cluster}`);

    // An action's checkpoint deprecated: not_found is a documented status.
    const [, second] = (JSON.parse(await valid('GET', '/v2/checkpoints')) as { id: string }[]).filter((c) => c.id !== id);
    await valid('PATCH', `/v2/checkpoints/deprecate/${second?.id ?? ''}`);
    await valid('GET', '/v2/actions');
  });

  it('on every documented error answer', async () => {
    const unknown = randomUUID();
    await rejected(400, 'POST', '/v2/checkpoint/pod', '{"pod_name":', { raw: true, requestInvalid: true });
    await rejected(400, 'POST', '/v2/checkpoint/pod', { pod_name: 'p', kind: 'everything' }, { requestInvalid: true });
    await rejected(400, 'POST', '/v2/checkpoint/pod', { namespace: 'ml' }, { requestInvalid: false });
    await rejected(400, 'POST', '/v2/restore/pod', { action_id: unknown }, { requestInvalid: true });
    await rejected(400, 'POST', '/v2/restore/pod', { action_id: unknown, reason: 'manual' }, { requestInvalid: false });
    await rejected(400, 'POST', '/v2/restore/pod', { action_id: 'nope', reason: 'manual' });
    await rejected(400, 'PUT', '/v2/checkpoints/info/not-a-uuid', { gpu: '', platform: '' }, { requestInvalid: true });
    await rejected(400, 'PUT', `/v2/checkpoints/info/${unknown}`, { gpu: 1 }, { requestInvalid: true });
    await rejected(404, 'PUT', `/v2/checkpoints/info/${unknown}`, { gpu: '', platform: '' }, { requestInvalid: false });
    await rejected(400, 'PATCH', '/v2/checkpoints/deprecate/not-a-uuid');
    await rejected(404, 'PATCH', `/v2/checkpoints/deprecate/${unknown}`);
    await rejected(400, 'POST', '/v2/checkpoints/uploaded/not-a-uuid', {});
    await rejected(404, 'POST', `/v2/checkpoints/uploaded/${unknown}`, {});
    await rejected(400, 'POST', `/v2/checkpoints/uploaded/${unknown}`, { restore_path: 5 }, { requestInvalid: true });
    await rejected(400, 'GET', '/v2/checkpoints?ids=not-a-uuid');
    await rejected(404, 'GET', `/v2/checkpoint/status/${unknown}`);
    await rejected(404, 'GET', '/v2/checkpoint/status/not-a-uuid');
    await rejected(404, 'GET', `/v2/actions/from_pod/${unknown}`);
    await rejected(404, 'POST', '/v2/actions/upload', { action_id: unknown, status: 'ready' });
    await rejected(400, 'POST', '/v2/actions/upload', { status: 'ready' }, { requestInvalid: true });
    await rejected(400, 'GET', '/v2/checkpoint/path', undefined, { requestInvalid: true });
    await rejected(400, 'GET', '/v2/checkpoint/path?name=none/such');
    await rejected(400, 'POST', '/v2/slurm/checkpoint/job', {});
    await rejected(404, 'POST', '/v2/slurm/restore/job', { action_id: unknown, cluster_id: 's', reason: 'manual' });
    await rejected(400, 'POST', '/v2/slurm/restore/job', { action_id: unknown }, { requestInvalid: true });
    const pending = await valid('POST', '/v2/slurm/checkpoint/job', { job_name: 'pending' });
    await rejected(400, 'POST', '/v2/slurm/restore/job', { action_id: pending, cluster_id: 's', reason: 'manual' });
    await rejected(404, 'GET', '/v1/checkpoints/no-such-name');
    await rejected(400, 'POST', '/v2/cluster', {}, { requestInvalid: true });
    await rejected(400, 'POST', '/v2/cluster', { cluster_name: '' }, { requestInvalid: true });
    await rejected(404, 'DELETE', `/v2/cluster/${unknown}`);
  });

  it('on 401 for every operation, v1 in its own envelope', async () => {
    for (const op of documentedOperations()) {
      const [method = '', template = ''] = op.split(' ');
      const path = template.replace(/\{[^}]+\}/g, randomUUID()) + (template === '/v2/checkpoint/path' ? '?name=x' : '');
      const e = await rejected(401, method, path, undefined, { token: null, requestInvalid: true });
      expect(validateRequest(e)).toContain('no bearer token in Authorization (security: Token)');
      await rejected(401, method, path, undefined, { token: 'wrong' });
    }
  });

  it('on injected 429, 500 and 503 answers, Retry-After included', async () => {
    const statuses = new Set<number>();
    try {
      sim.setFaults({ seed: 3, errorRate: 0.5, rateLimitRate: 0.5, retryAfterSeconds: 2 });
      for (const op of documentedOperations()) {
        const [method = '', template = ''] = op.split(' ');
        const path = template.replace(/\{[^}]+\}/g, randomUUID()) + (template === '/v2/checkpoint/path' ? '?name=x' : '');
        for (let i = 0; i < 4; i++) {
          const sent = await send(method, path);
          statuses.add(sent.status);
          expect(sent.exchange.faulted).toBe(true);
          expect(validateResponse(sent.exchange), where(sent.exchange)).toEqual([]);
        }
      }
    } finally {
      sim.setFaults({ errorRate: 0, rateLimitRate: 0 });
    }
    expect([...statuses].sort()).toEqual([429, 500, 503]);
  });

  it('covers every documented operation with a successful exchange', () => {
    const ok = new Set(exchanges.filter((e) => e.status === 200).map((e) => `${e.method} ${e.pathTemplate}`));
    expect([...ok].sort()).toEqual(documentedOperations().sort());
  });

  it('answers what is outside the document (unknown routes, wrong methods) with an ApiError', async () => {
    const none = await send('GET', '/v2/not/documented');
    expect(none.status).toBe(404);
    expect(validateExchange(none.exchange)).toEqual(['request: no documented operation for GET /v2/not/documented']);
    const wrong = await send('DELETE', '/v2/actions');
    expect(wrong.status).toBe(405);
    expect(JSON.parse(wrong.text)).toMatchObject({ code: '405' });
  });
});

describe('the validator can fail', () => {
  const base: Exchange = {
    method: 'GET',
    path: '/v2/actions',
    pathTemplate: '/v2/actions',
    query: {},
    requestHeaders: { authorization: 'Bearer x' },
    requestBody: undefined,
    status: 200,
    responseContentType: 'application/json',
    responseBody: [],
    faulted: false,
  };
  const action = { action_id: randomUUID(), checkpoint_id: randomUUID(), status: 'ready', type: 'checkpoint', details: null, gpu: '', platform: 'linux/amd64' };

  it('accepts a good exchange', () => {
    expect(validateExchange({ ...base, responseBody: [action] })).toEqual([]);
  });

  it.each<[string, Partial<Exchange>, RegExp]>([
    ['a body missing a required field', { responseBody: [{ ...action, gpu: undefined }] }, /must have required property 'gpu'/],
    ['a malformed uuid in a body', { responseBody: [{ ...action, action_id: 'x' }] }, /must match format "uuid"/],
    ['a bad date-time', { responseBody: [{ ...action, action_timestamp: 'yesterday' }] }, /must match format "date-time"/],
    ['an undocumented status', { status: 418 }, /status 418 is not documented/],
    ['an undocumented content type', { responseContentType: 'text/plain', responseBody: '[]' }, /content type 'text\/plain' is not documented/],
    ['a wrong Retry-After', { status: 429, responseBody: { code: '429', message: 'slow down' }, responseHeaders: { 'retry-after': 'soon' } }, /header Retry-After/],
    ['an ApiError without message', { status: 500, responseBody: { code: '500' } }, /must have required property 'message'/],
    ['a StatusResponse with an unknown status', { path: `/v2/checkpoint/status/${randomUUID()}`, responseBody: { status: 'done' } }, /must be equal to one of the allowed values/],
    ['a v1 error in the v2 shape', { path: '/v1/checkpoints/x', status: 404, responseBody: { code: '404', message: 'no' } }, /must have required property 'error'/],
    ['no bearer token', { requestHeaders: {} }, /no bearer token/],
    [
      'a path parameter that is not a uuid',
      {
        method: 'PUT',
        path: '/v2/checkpoints/info/x',
        requestHeaders: { authorization: 'Bearer x', 'content-type': 'application/json' },
        requestBody: { gpu: '', platform: '' },
        responseContentType: 'text/plain',
        responseBody: 'x',
      },
      /path parameter id: .*format "uuid"/,
    ],
    [
      'a request body against its schema',
      {
        method: 'POST',
        path: '/v2/restore/pod',
        requestHeaders: { authorization: 'Bearer x', 'content-type': 'application/json' },
        requestBody: { action_id: 'a', reason: 'whenever' },
        responseContentType: 'text/plain',
        responseBody: 'x',
      },
      /request body: \/reason/,
    ],
    ['a missing required query parameter', { path: '/v2/checkpoint/path', responseContentType: 'text/plain', responseBody: 'x' }, /missing required query parameter name/],
    ['a body where none is documented', { method: 'POST', path: '/v2/checkpoints', requestBody: { x: 1 }, responseContentType: 'text/plain', responseBody: 'x' }, /the operation documents none/],
  ])('rejects %s', (_what, change, problem) => {
    const problems = validateExchange({ ...base, responseBody: [action], ...change });
    expect(problems.join('\n')).toMatch(problem);
  });
});
