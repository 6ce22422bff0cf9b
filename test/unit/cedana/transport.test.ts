// The client's HTTP behaviour against hand-written loopback servers: what it sends, how it reads
// answers that break the contract, deadlines, retries, Retry-After, TLS, and that the token never leaks.
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CedanaClient, type CallInfo, type CedanaClientOptions } from '../../../src/cedana/index.ts';
import { LOOPBACK_CERT, UUID_A, UUID_B, captureLogger, recordingSleep, send, startStub, type Handler, type StubServer } from './stub-server.ts';
import { failure } from './failure.ts';

const TOKEN = 'tok-7f3a9c-very-secret';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function stub(handler: Handler, opts: { tls?: boolean } = {}): Promise<StubServer> {
  const s = await startStub(handler, opts);
  cleanup.push(() => s.close());
  return s;
}

/** A client with instant waits between attempts, unless `realSleep`. */
function client(url: string, over: Partial<CedanaClientOptions> = {}, realSleep = false): CedanaClient {
  const c = new CedanaClient({
    baseUrl: url,
    token: TOKEN,
    timeoutMs: 2000,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 1000 },
    ...(realSleep ? {} : { sleep: () => Promise.resolve() }),
    ...over,
  });
  cleanup.push(() => c.close());
  return c;
}

function expectNoToken(err: unknown): void {
  const e = err as Error;
  for (const text of [e.message, e.stack ?? '', JSON.stringify(e), String(e), inspect(e, { depth: 10 })]) {
    expect(text).not.toContain(TOKEN);
  }
}

describe('what the client sends', () => {
  it('bearer token, user agent, JSON body and content type; no body, no content type on a GET', async () => {
    const s = await stub((_req, res, n) => {
      send(res, 200, n === 1 ? `${UUID_A}\n` : { status: 'processing' });
    });
    const c = client(s.url, { userAgent: 'cedana-operator/test' });
    await expect(c.checkpointPod({ pod_name: 'trainer-0', namespace: 'ml', kind: 'simple', reason: 'manual' })).resolves.toBe(UUID_A);
    await c.getCheckpointStatus(UUID_A);
    const [post, get] = s.seen;
    expect(post).toMatchObject({ method: 'POST', url: '/v2/checkpoint/pod' });
    expect(post?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'user-agent': 'cedana-operator/test', 'content-type': 'application/json' });
    expect(JSON.parse(post?.body ?? '')).toEqual({ pod_name: 'trainer-0', namespace: 'ml', kind: 'simple', reason: 'manual' });
    expect(get).toMatchObject({ method: 'GET', url: `/v2/checkpoint/status/${UUID_A}`, body: '' });
    expect(get?.headers['content-type']).toBeUndefined();
  });

  it('encodes path segments and queries, and keeps a base URL path prefix', async () => {
    const s = await stub((req, res) => {
      if (req.url.startsWith('/api/v2/checkpoints?')) send(res, 200, []);
      else if (req.url.startsWith('/api/v2/checkpoint/path')) send(res, 200, '/ckpt/ml/trainer-0.tar');
      else send(res, 200, { data: { display_name: 'a b', id: UUID_A, resources: { limits: { memory_mib: 1 }, requests: { memory_mib: 1, vcpus: 1 } }, state: 'ready' } });
    });
    const c = client(`${s.url}/api/`);
    await c.listCheckpoints({ ids: [UUID_A, UUID_B] });
    await expect(c.getCheckpointPath('ml/trainer-0')).resolves.toBe('/ckpt/ml/trainer-0.tar');
    await c.getCheckpointV1('a b/c');
    expect(s.seen.map((r) => r.url)).toEqual([`/api/v2/checkpoints?ids=${UUID_A}%2C${UUID_B}`, '/api/v2/checkpoint/path?name=ml%2Ftrainer-0', '/api/v1/checkpoints/a%20b%2Fc']);
  });

  it('an empty ids filter matches nothing, without a call', async () => {
    const s = await stub((_req, res) => {
      send(res, 200, []);
    });
    await expect(client(s.url).listCheckpoints({ ids: [] })).resolves.toEqual([]);
    expect(s.seen).toHaveLength(0);
  });

  it('a request that breaks the contract never reaches the wire', async () => {
    const s = await stub((_req, res) => {
      send(res, 200, UUID_A);
    });
    const calls: CallInfo[] = [];
    const c = client(s.url, { onCall: (i) => calls.push(i) });
    const bad = await failure(c.checkpointPod({ overrides: { streams: 1.5 } }));
    expect(bad).toMatchObject({ kind: 'contract', retryable: false, status: undefined, operation: 'checkpointPod' });
    expect(bad.message).toBe('Cedana POST /v2/checkpoint/pod: overrides.streams: Invalid input: expected int, received number (request does not match the contract)');
    // @ts-expect-error: reason is required; a JavaScript caller could still forget it
    expect((await failure(c.restorePod({ action_id: UUID_A }))).message).toContain('reason: ');
    expect((await failure(c.putCheckpointInfo('not-a-uuid', { gpu: '', platform: 'linux' }))).message).toContain('id: Invalid UUID');
    expect((await failure(c.listCheckpoints({ ids: [UUID_A, 'x'] }))).message).toContain('ids[1]: Invalid UUID');
    expect((await failure(c.getCheckpointStatus(''))).message).toContain('action_id: empty, expected a value');
    expect((await failure(c.getCheckpointPath(''))).message).toContain('name: empty');
    expect(s.seen).toHaveLength(0);
    expect(calls).toHaveLength(0);
  });
});

// A malformed answer is the server's (or a proxy's) doing and may pass: kind `malformed`, retryable.
describe('answers that break the contract', () => {
  const route =
    (status: number, body: string, type: string | undefined): Handler =>
    (_req, res) => {
      res.writeHead(status, type === undefined ? {} : { 'content-type': type });
      res.end(body);
    };

  it('names the field that is wrong', async () => {
    const action = { action_id: UUID_A, checkpoint_id: 'nope', details: null, gpu: '', platform: 'linux', status: 'ready', type: 'checkpoint' };
    const s = await stub(route(200, JSON.stringify([action]), 'application/json'));
    const err = await failure(client(s.url).listActions());
    expect(err).toMatchObject({ kind: 'malformed', status: 200, retryable: true, path: '/v2/actions' });
    expect(err.message).toBe('Cedana GET /v2/actions: [0].checkpoint_id: Invalid UUID (200 response does not match the contract)');
    expect(s.seen).toHaveLength(3); // a GET is retried, up to maxAttempts
  });

  it('rejects a garbage JSON body', async () => {
    const s = await stub(route(200, '{"status": "ready"', 'application/json'));
    const err = await failure(client(s.url).getCheckpointStatus(UUID_A));
    expect(err).toMatchObject({ kind: 'malformed', retryable: true });
    expect(err.message).toMatch(/^Cedana GET \/v2\/checkpoint\/status\/[-0-9a-f]+: body is not JSON: /);
  });

  it('rejects a wrong or missing content type', async () => {
    const html = await stub(route(200, '<html></html>', 'text/html'));
    expect((await failure(client(html.url).listCheckpoints())).message).toContain('content-type is text/html, expected application/json');
    // A JSON string is an id too (the service has answered them so); a JSON object is not.
    const json = await stub(route(200, JSON.stringify(UUID_A), 'application/json'));
    await expect(client(json.url).createCheckpoint()).resolves.toBe(UUID_A);
    const object = await stub(route(200, JSON.stringify({ id: UUID_A }), 'application/json'));
    expect((await failure(client(object.url).createCheckpoint())).message).toContain('body is not a JSON string although the content-type is application/json');
    const octet = await stub(route(200, UUID_A, 'application/octet-stream'));
    expect((await failure(client(octet.url).createCheckpoint())).message).toContain('content-type is application/octet-stream, expected text/plain');
    const none = await stub(route(200, UUID_A, undefined));
    expect((await failure(client(none.url).createCheckpoint())).message).toContain('content-type is missing');
  });

  it('trims text ids, and rejects an empty one or one that is not a UUID where an id is promised', async () => {
    const bodies = [`  ${UUID_A}\r\n`, '', 'action-17', 'restore path is not a uuid', ' \n'];
    const s = await stub((_req, res, n) => {
      send(res, 200, bodies[n - 1] ?? '');
    });
    const c = client(s.url);
    await expect(c.restorePod({ action_id: UUID_B, reason: 'manual' })).resolves.toBe(UUID_A);
    expect((await failure(c.createCheckpoint())).message).toBe('Cedana POST /v2/checkpoints: empty body where a value was expected (200 response does not match the contract)');
    expect((await failure(c.checkpointPod({ pod_name: 'p' }))).message).toContain('body: Invalid UUID');
    await expect(c.getCheckpointPath('ml/p')).resolves.toBe('restore path is not a uuid');
    expect((await failure(c.getCheckpointPath('ml/p'))).message).toContain('empty body where a value was expected');
  });

  it('rejects a 2xx other than the documented 200', async () => {
    const s = await stub(route(204, '', undefined));
    const err = await failure(client(s.url).deprecateCheckpoint(UUID_A));
    expect(err).toMatchObject({ kind: 'malformed', status: 204, retryable: true });
    expect(err.message).toContain('unexpected status 204');
  });
});

describe('errors', () => {
  it('surfaces ApiError message, code and details in one line', async () => {
    const s = await stub((_req, res) => {
      send(res, 400, { code: '400', message: 'Invalid request parameters', details: 'pod_name is required' });
    });
    const err = await failure(client(s.url).checkpointPod({ namespace: 'ml' }));
    expect(err).toMatchObject({
      kind: 'http',
      status: 400,
      code: '400',
      apiMessage: 'Invalid request parameters',
      details: 'pod_name is required',
      method: 'POST',
      path: '/v2/checkpoint/pod',
      operation: 'checkpointPod',
      retryable: false,
    });
    expect(err.message).toBe('Cedana POST /v2/checkpoint/pod: 400 Invalid request parameters: pod_name is required');
    expect(err.name).toBe('CedanaApiError');
    expect(err.stack?.split('\n')[0]).toBe(`CedanaApiError: ${err.message}`);
  });

  it('keeps the status when the error body is not an ApiError', async () => {
    const s = await stub((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<h1>bad gateway</h1>');
    });
    const err = await failure(client(s.url, { retry: { maxAttempts: 1 } }).listActions());
    expect(err).toMatchObject({ kind: 'http', status: 502, retryable: true, apiMessage: undefined });
    expect(err.message).toBe('Cedana GET /v2/actions: 502 Bad Gateway (body is not a Cedana error; content-type text/html)');
  });

  it('reads v1 errors and unwraps the v1 envelope', async () => {
    const data = { display_name: 'nightly', id: UUID_A, resources: { limits: { memory_mib: 2048 }, requests: { memory_mib: 1024, vcpus: 2 } }, state: 'ready' };
    const s = await stub((req, res) => {
      if (req.url.endsWith('/nightly')) send(res, 200, { data });
      else send(res, 404, { error: { code: 'not_found', message: 'no checkpoint named missing' } });
    });
    const c = client(s.url);
    await expect(c.getCheckpointV1('nightly')).resolves.toEqual(data);
    const err = await failure(c.getCheckpointV1('missing'));
    expect(err).toMatchObject({ kind: 'http', status: 404, code: 'not_found', apiMessage: 'no checkpoint named missing', retryable: false });
    expect(err.message).toBe('Cedana GET /v1/checkpoints/missing: 404 no checkpoint named missing');
  });

  it('latestPodAction: the API 404 is "no action"; a 404 from anything else is an error', async () => {
    const s = await stub((req, res) => {
      if (req.url.endsWith('/known')) send(res, 200, UUID_A);
      else if (req.url.endsWith('/unknown')) send(res, 404, { message: 'Failed to get action_id for the given pod_id' });
      else {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('not here');
      }
    });
    const c = client(s.url);
    await expect(c.latestPodAction('known')).resolves.toBe(UUID_A);
    await expect(c.latestPodAction('unknown')).resolves.toBeUndefined();
    expect(await failure(c.latestPodAction('proxy'))).toMatchObject({ kind: 'http', status: 404 });
  });
});

describe('deadlines', () => {
  it('a body that trickles past timeoutMs is a retryable timeout', async () => {
    const s = await stub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      // Headers arrived at once; the rest of the body never comes in time.
      setTimeout(() => res.end(']'), 5000).unref();
    });
    const calls: CallInfo[] = [];
    const started = Date.now();
    const err = await failure(client(s.url, { timeoutMs: 150, retry: { maxAttempts: 1 }, onCall: (i) => calls.push(i) }).listActions());
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toMatchObject({ kind: 'timeout', retryable: true, status: undefined });
    expect(err.message).toBe('Cedana GET /v2/actions: timed out after 150 ms');
    expect(calls.map((c) => c.status)).toEqual(['timeout']);
  });

  it('a server that never answers times out on every attempt', async () => {
    const s = await stub(() => undefined);
    const err = await failure(client(s.url, { timeoutMs: 100, retry: { maxAttempts: 2 } }).getCheckpointStatus(UUID_A));
    expect(err.kind).toBe('timeout');
    expect(s.seen).toHaveLength(2);
  });

  it("the caller's abort rejects with its reason and stops retries", async () => {
    const s = await stub(() => undefined);
    const ac = new AbortController();
    const reason = new Error('reconcile cancelled');
    setTimeout(() => {
      ac.abort(reason);
    }, 50);
    await expect(client(s.url, { timeoutMs: 5000 }).listActions({}, { signal: ac.signal })).rejects.toBe(reason);
    expect(s.seen).toHaveLength(1);

    // Aborted during the backoff wait (the real sleep here), not only during a request.
    const failing = await stub((_req, res) => {
      send(res, 503, { message: 'down' }, { 'retry-after': '30' });
    });
    const ac2 = new AbortController();
    setTimeout(() => {
      ac2.abort(reason);
    }, 100);
    const started = Date.now();
    await expect(client(failing.url, { retry: { maxAttempts: 5, maxDelayMs: 60_000 } }, true).listActions({}, { signal: ac2.signal })).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(failing.seen).toHaveLength(1);
  });
});

describe('retries', () => {
  it('retries a GET on 5xx up to maxAttempts, with full-jitter exponential backoff', async () => {
    const s = await stub((_req, res) => {
      send(res, 500, { message: 'Failed to connect/fetch from database' });
    });
    const { sleep, waits } = recordingSleep();
    const calls: CallInfo[] = [];
    const c = client(s.url, { sleep, random: () => 0.5, retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300 }, onCall: (i) => calls.push(i) });
    const err = await failure(c.listCheckpoints());
    expect(err).toMatchObject({ status: 500, retryable: true });
    expect(s.seen).toHaveLength(4);
    expect(waits).toEqual([50, 100, 150]);
    expect(calls.map((i) => [i.attempt, i.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 500],
    ]);
  });

  it('succeeds when a retry does; PUT and PATCH are retried too', async () => {
    const s = await stub((_req, res, n) => {
      if (n % 2 === 1) send(res, 503, { message: 'Service unavailable' });
      else send(res, 200, UUID_A);
    });
    const c = client(s.url);
    await expect(c.putCheckpointInfo(UUID_A, { gpu: 'none', platform: 'linux/amd64' })).resolves.toBe(UUID_A);
    await expect(c.deprecateCheckpoint(UUID_A)).resolves.toBe(UUID_A);
    expect(s.seen.map((r) => r.method)).toEqual(['PUT', 'PUT', 'PATCH', 'PATCH']);
  });

  it('retries a GET whose connection dropped', async () => {
    const s = await stub((req, res, n) => {
      if (n === 1) res.socket?.destroy();
      else send(res, 200, []);
    });
    await expect(client(s.url).listActions({ type: 'checkpoint' })).resolves.toEqual([]);
    expect(s.seen).toHaveLength(2);
  });

  it('never retries a POST: not on 500, 429, a dropped connection or a timeout', async () => {
    const answers: Handler[] = [
      (_q, res) => {
        send(res, 500, { message: 'Failed to create checkpoint or connect to eventstream' });
      },
      (_q, res) => {
        send(res, 429, { message: 'slow down' }, { 'retry-after': '1' });
      },
      (_q, res) => res.socket?.destroy(),
      () => undefined,
    ];
    const kinds: string[] = [];
    for (const answer of answers) {
      const s = await stub(answer);
      const err = await failure(client(s.url, { timeoutMs: 150 }).checkpointPod({ pod_name: 'p', pod_id: UUID_B }));
      expect(err.retryable).toBe(true); // transient, yet not resent: the caller looks the action up first
      expect(s.seen).toHaveLength(1);
      kinds.push(`${err.kind}:${err.status ?? '-'}`);
    }
    expect(kinds).toEqual(['http:500', 'http:429', 'network:-', 'timeout:-']);
  });

  it('does not retry other 4xx', async () => {
    const s = await stub((_req, res) => {
      send(res, 404, { message: 'Action ID not found' });
    });
    const err = await failure(client(s.url).getCheckpointStatus(UUID_A));
    expect(err).toMatchObject({ status: 404, retryable: false });
    expect(s.seen).toHaveLength(1);
  });

  it('honours Retry-After in seconds and as an HTTP date, capped at maxDelayMs', async () => {
    const retryAfter = ['3', new Date(Date.now() + 5000).toUTCString(), '3600'];
    const s = await stub((_req, res, n) => {
      const value = retryAfter[n - 1];
      if (value === undefined) send(res, 200, []);
      else send(res, 429, { message: 'Rate limit exceeded' }, { 'retry-after': value });
    });
    const { sleep, waits } = recordingSleep();
    await client(s.url, { sleep, random: () => 0, retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 20_000 } }).listActions();
    expect(waits).toHaveLength(3);
    expect(waits[0]).toBe(3000);
    expect(waits[1]).toBeGreaterThan(3000); // an HTTP date has one-second resolution
    expect(waits[1]).toBeLessThanOrEqual(5000);
    expect(waits[2]).toBe(20_000);
  });

  it('exposes Retry-After on the error when attempts run out', async () => {
    const s = await stub((_req, res) => {
      send(res, 429, { message: 'Rate limit exceeded' }, { 'retry-after': '2' });
    });
    const err = await failure(client(s.url, { retry: { maxAttempts: 1 } }).listActions());
    expect(err).toMatchObject({ status: 429, retryable: true, retryAfterMs: 2000 });
  });

  it('reports a network error when nothing listens', async () => {
    const s = await stub(() => undefined);
    const url = s.url;
    await s.close();
    const calls: CallInfo[] = [];
    const err = await failure(client(url, { retry: { maxAttempts: 2 }, onCall: (i) => calls.push(i) }).listActions());
    expect(err).toMatchObject({ kind: 'network', retryable: true, code: 'ECONNREFUSED', status: undefined });
    expect(err.message).toMatch(/^Cedana GET \/v2\/actions: network error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(calls.map((c) => c.status)).toEqual(['network', 'network']);
  });
});

describe('the token', () => {
  it('never appears in errors or logs, even when the server echoes it', async () => {
    const s = await stub((req, res) => {
      const auth = req.headers.authorization ?? '';
      if (req.url === '/v2/actions') send(res, 401, { message: `bad token: ${auth}`, code: auth, details: { header: auth, nested: [auth] } });
      else if (req.url === '/v2/checkpoints') send(res, 200, [{ id: auth }]);
      else if (req.url.startsWith('/v1/')) send(res, 403, { error: { code: auth, message: auth } });
      else if (req.method === 'POST') send(res, 200, `id ${auth}`);
      else res.socket?.destroy();
    });
    const { logger, lines } = captureLogger();
    const c = client(s.url, { logger, timeoutMs: 300, retry: { maxAttempts: 2 } });
    const errors = [
      await failure(c.listActions()),
      await failure(c.listCheckpoints()),
      await failure(c.getCheckpointV1('x')),
      await failure(c.createCheckpoint()),
      await failure(c.getCheckpointStatus(UUID_A)),
      await failure(client('http://127.0.0.1:9', { logger, retry: { maxAttempts: 1 } }).listActions()),
    ];
    expect(errors.map((e) => e.kind)).toEqual(['http', 'malformed', 'http', 'malformed', 'network', 'network']);
    expect(errors[0]).toMatchObject({ code: 'Bearer [REDACTED]', details: { header: 'Bearer [REDACTED]', nested: ['Bearer [REDACTED]'] } });
    expect(errors[0]?.message).toBe('Cedana GET /v2/actions: 401 bad token: Bearer [REDACTED] (the Cedana token was rejected: check CEDANA_AUTH_TOKEN)');
    for (const e of errors) expectNoToken(e);
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(line).not.toContain(TOKEN);
  });

  it('is not echoed by a rejected option', () => {
    expect(() => new CedanaClient({ baseUrl: 'http://127.0.0.1:1', token: `${TOKEN} x` })).toThrow(/^invalid Cedana client options: token: /);
    try {
      new CedanaClient({ baseUrl: 'http://127.0.0.1:1', token: `${TOKEN}\n` });
    } catch (err) {
      expectNoToken(err);
    }
  });
});

describe('observability', () => {
  it('logs one debug line per attempt: operation, method, path template, status, duration, attempt', async () => {
    const s = await stub((_req, res, n) => {
      if (n === 1) send(res, 500, { message: 'x' });
      else send(res, 200, { status: 'ready' });
    });
    const { logger, lines } = captureLogger();
    await client(s.url, { logger }).getCheckpointStatus(UUID_A);
    const calls = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'cedana call');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ level: 20, operation: 'getCheckpointStatus', method: 'GET', pathTemplate: '/v2/checkpoint/status/{action_id}', status: 500, attempt: 1 });
    expect(calls[1]).toMatchObject({ status: 200, attempt: 2 });
    expect(typeof calls[1]?.durationMs).toBe('number');
  });

  it('a throwing onCall hook does not fail the call', async () => {
    const s = await stub((_req, res) => {
      send(res, 200, []);
    });
    const c = client(s.url, {
      onCall: () => {
        throw new Error('metrics broke');
      },
    });
    await expect(c.listActions()).resolves.toEqual([]);
  });
});

describe('TLS and lifecycle', () => {
  it('trusts a private CA given as caBundle, and only then', async () => {
    const s = await stub(
      (_req, res) => {
        send(res, 200, []);
      },
      { tls: true },
    );
    const untrusted = await failure(client(s.url, { retry: { maxAttempts: 1 } }).listActions());
    expect(untrusted.kind).toBe('network');
    await expect(client(s.url, { caBundle: LOOPBACK_CERT }).listActions()).resolves.toEqual([]);
  });

  it('close() closes the pool; later calls throw', async () => {
    const s = await stub((_req, res) => {
      send(res, 200, []);
    });
    const c = client(s.url);
    await c.listActions();
    await c.close();
    await c.close();
    await expect(c.listActions()).rejects.toThrow('the Cedana client is closed');
  });

  it('rejects options that cannot work', () => {
    expect(() => new CedanaClient({ baseUrl: 'ftp://x', token: 't' })).toThrow('baseUrl');
    expect(() => new CedanaClient({ baseUrl: 'http://x', token: '' })).toThrow('token');
    expect(() => new CedanaClient({ baseUrl: 'http://x', token: 't', timeoutMs: 0 })).toThrow('timeoutMs');
    expect(() => new CedanaClient({ baseUrl: 'http://x', token: 't', caBundle: 'not pem' })).toThrow('caBundle');
    expect(() => new CedanaClient({ baseUrl: 'http://x', token: 't', retry: { maxAttempts: 0 } })).toThrow('retry.maxAttempts');
  });
});
