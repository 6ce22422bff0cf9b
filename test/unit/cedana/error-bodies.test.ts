// Every error body the Cedana service has used (REAL-SERVICE.md), ids that arrive JSON-quoted, and
// the conditions callers branch on: the sync-lag 404 and a rejected token.
import { afterEach, describe, expect, it } from 'vitest';
import { CedanaClient } from '../../../src/cedana/index.ts';
import { readErrorBody, unquote } from '../../../src/cedana/http.ts';
import { UUID_A, UUID_B, startStub, type Handler } from './stub-server.ts';
import { failure } from './failure.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function clientFor(handler: Handler): Promise<CedanaClient> {
  const s = await startStub(handler);
  const c = new CedanaClient({ baseUrl: s.url, token: 'tok', retry: { maxAttempts: 1 }, sleep: () => Promise.resolve() });
  cleanup.push(
    () => s.close(),
    () => c.close(),
  );
  return c;
}

const answer =
  (status: number, body: string, type?: string): Handler =>
  (_req, res) => {
    res.writeHead(status, type === undefined ? {} : { 'content-type': type });
    res.end(body);
  };

describe('error bodies', () => {
  it.each<[string, string, string | undefined, { apiMessage: string | undefined; code?: string | undefined; details?: unknown }]>([
    [
      'the reference: {message, code, details}',
      '{"message":"Invalid request parameters","code":"400","details":"pod_name is required"}',
      'application/json',
      { apiMessage: 'Invalid request parameters', code: '400', details: 'pod_name is required' },
    ],
    ['{message} (the /v1 generation)', '{"message":"Invalid request parameters"}', 'application/json', { apiMessage: 'Invalid request parameters', code: undefined }],
    ['{cedana_error_code, message} (2025)', '{"cedana_error_code":1003,"message":"Invalid request parameters"}', 'application/json', { apiMessage: 'Invalid request parameters', code: '1003' }],
    [
      '{error: {code, message}} (the v1 reference)',
      '{"error":{"code":"invalid_argument","message":"Invalid request parameters"}}',
      'application/json',
      { apiMessage: 'Invalid request parameters', code: 'invalid_argument' },
    ],
    ['plain text (late 2025)', 'Invalid request parameters\n', 'text/plain; charset=utf-8', { apiMessage: 'Invalid request parameters' }],
    ['plain text without a content type', 'Invalid request parameters', undefined, { apiMessage: 'Invalid request parameters' }],
    ['a JSON string', '"Invalid request parameters"', 'application/json', { apiMessage: 'Invalid request parameters' }],
    ['JSON under text/plain', '{"message":"Invalid request parameters"}', 'text/plain', { apiMessage: 'Invalid request parameters' }],
    ['a numeric code', '{"message":"Invalid request parameters","code":400}', 'application/json', { apiMessage: 'Invalid request parameters', code: '400' }],
  ])('%s', async (_what, body, type, expected) => {
    const c = await clientFor(answer(400, body, type));
    const err = await failure(c.checkpointPod({ pod_name: 'p' }));
    expect(err).toMatchObject({ kind: 'http', status: 400, retryable: false, ...expected });
    expect(err.message).toMatch(/^Cedana POST \/v2\/checkpoint\/pod: 400 Invalid request parameters/);
  });

  it.each<[string, string, string | undefined]>([
    ['an HTML page from a proxy', '<html><body>Bad Gateway</body></html>', 'text/html'],
    ['HTML labelled text/plain', '<!doctype html><p>Bad Gateway</p>', 'text/plain'],
    ["Go's default 404", '404 page not found\n', 'text/plain; charset=utf-8'],
    ['an empty body', '', undefined],
    ['JSON without a message', '{"status":"bad"}', 'application/json'],
    ['a JSON array', '["no"]', 'application/json'],
  ])('%s carries no API message: only the status speaks', async (_what, body, type) => {
    const c = await clientFor(answer(404, body, type));
    const err = await failure(c.getCheckpointStatus(UUID_A));
    expect(err.apiMessage).toBeUndefined();
    expect(err.message).toMatch(/^Cedana GET \/v2\/checkpoint\/status\/[-0-9a-f]+: 404 Not Found \(body is not a Cedana error; content-type /);
  });

  it("a wrong base URL (Go's 404 text) is not taken for 'no action for this pod'", async () => {
    const c = await clientFor(answer(404, '404 page not found\n', 'text/plain'));
    const wrongUrl = await failure(c.latestPodAction('pod-uid'));
    expect(wrongUrl).toMatchObject({ status: 404, isApiNotFound: false });
    const restore = await clientFor(answer(404, '{"message":"Action ID not found"}', 'application/json'));
    expect((await failure(restore.getCheckpointStatus(UUID_A))).isApiNotFound).toBe(true);
    const api = await clientFor(answer(404, 'Failed to get action_id for the given pod_id', 'text/plain'));
    await expect(api.latestPodAction('pod-uid')).resolves.toBeUndefined();
  });

  it('shortens a long text body to one line', async () => {
    const c = await clientFor(answer(500, `line one\nline two ${'x'.repeat(1000)}`, 'text/plain'));
    const err = await failure(c.listActions());
    expect(err.apiMessage?.startsWith('line one line two xxx')).toBe(true);
    expect(err.apiMessage?.length).toBeLessThanOrEqual(501);
    expect(err.message).not.toContain('\n');
  });

  it('keeps retryable semantics whatever the body: 5xx and 429 are, 4xx are not', async () => {
    for (const [status, retryable] of [
      [500, true],
      [503, true],
      [429, true],
      [400, false],
      [404, false],
      [401, false],
    ] as const) {
      const c = await clientFor(answer(status, 'plain words', 'text/plain'));
      expect((await failure(c.checkpointPod({ pod_name: 'p' }))).retryable, String(status)).toBe(retryable);
    }
  });

  it('readErrorBody and unquote are pure and total', () => {
    expect(readErrorBody('{"message":"  spaced  ","details":{"a":1}}', 'application/json')).toEqual({ code: undefined, message: 'spaced', details: { a: 1 } });
    expect(readErrorBody('{"error":"flat error"}', 'application/json').message).toBe('flat error');
    expect(readErrorBody('{oops', 'application/json').message).toBeUndefined();
    expect(unquote('"abc"')).toBe('abc');
    expect(unquote('abc')).toBe('abc');
    expect(unquote('"abc')).toBeUndefined();
    expect(unquote('"\\"nested\\""')).toBe('"nested"');
  });
});

describe('named conditions', () => {
  it('isUnsyncedPod: 404 "Failed to find checkpointable resource", in any body shape', async () => {
    for (const [body, type] of [
      ['{"message":"Failed to find checkpointable resource"}', 'application/json'],
      ['Failed to find checkpointable resource: pod ml/trainer-0', 'text/plain'],
      ['{"code":"404","message":"failed to find checkpointable resource"}', 'application/json'],
      ['{"cedana_error_code":7,"message":"Failed to find checkpointable resource"}', 'application/json'],
    ] as const) {
      const c = await clientFor(answer(404, body, type));
      const err = await failure(c.checkpointPod({ pod_name: 'trainer-0', namespace: 'ml' }));
      expect(err.isUnsyncedPod, body).toBe(true);
      expect(err.retryable).toBe(false); // the caller's sync window decides, not the transport
      expect(err.toJSON()).toMatchObject({ isUnsyncedPod: true });
    }
    const other = await clientFor(answer(404, '{"message":"Action ID not found"}', 'application/json'));
    expect((await failure(other.getCheckpointStatus(UUID_A))).isUnsyncedPod).toBe(false);
    const notFound = await clientFor(answer(400, '{"message":"Failed to find checkpointable resource"}', 'application/json'));
    expect((await failure(notFound.checkpointPod({ pod_name: 'p' }))).isUnsyncedPod).toBe(false);
  });

  it('isTokenRejected: a 401 says the token was rejected, in one line', async () => {
    const c = await clientFor(answer(401, 'Invalid API key', 'text/plain'));
    const err = await failure(c.getUser());
    expect(err).toMatchObject({ kind: 'http', status: 401, isTokenRejected: true, retryable: false, apiMessage: 'Invalid API key' });
    expect(err.message).toBe('Cedana GET /v2/user: 401 Invalid API key (the Cedana token was rejected: check CEDANA_AUTH_TOKEN)');
    const bare = await clientFor(answer(401, '', undefined));
    expect((await failure(bare.getUser())).message).toBe(
      'Cedana GET /v2/user: 401 Unauthorized (the Cedana token was rejected: check CEDANA_AUTH_TOKEN) (body is not a Cedana error; content-type missing)',
    );
    const ok = await clientFor(answer(500, '', undefined));
    expect((await failure(ok.getUser())).isTokenRejected).toBe(false);
  });
});

describe('ids that arrive JSON-quoted', () => {
  it.each<[string, string, string]>([
    ['text/plain with quotes', `"${UUID_A}"`, 'text/plain'],
    ['text/plain with quotes and a newline', `"${UUID_A}"\n`, 'text/plain; charset=utf-8'],
    ['an application/json string', JSON.stringify(UUID_A), 'application/json'],
    ['bare text', `${UUID_A}\n`, 'text/plain'],
  ])('%s', async (_what, body, type) => {
    const c = await clientFor(answer(200, body, type));
    await expect(c.checkpointPod({ pod_name: 'p' })).resolves.toBe(UUID_A);
    await expect(c.restorePod({ action_id: UUID_B, reason: 'manual' })).resolves.toBe(UUID_A);
    await expect(c.latestPodAction('pod-uid')).resolves.toBe(UUID_A);
    await expect(c.createCheckpoint()).resolves.toBe(UUID_A);
  });

  it('cluster and user ids too, and not an id with a quote left over', async () => {
    const c = await clientFor(answer(200, '"cluster-7f3a"', 'text/plain'));
    await expect(c.registerCluster('prod')).resolves.toBe('cluster-7f3a');
    await expect(c.getUser()).resolves.toBe('cluster-7f3a');
    const half = await clientFor(answer(200, `"${UUID_A}`, 'text/plain'));
    const err = await failure(half.checkpointPod({ pod_name: 'p' }));
    expect(err).toMatchObject({ kind: 'malformed', retryable: true });
    const empty = await clientFor(answer(200, '""', 'text/plain'));
    expect((await failure(empty.checkpointPod({ pod_name: 'p' }))).message).toContain('empty body where a value was expected');
  });

  it('the upload answer: the action id (reference) or Success (service), quoted or not; nothing else', async () => {
    for (const body of [UUID_B, `"${UUID_B}"`, 'Success', '"Success"', 'success\n']) {
      const c = await clientFor(answer(200, body, 'text/plain'));
      await expect(c.uploadPodSpec({ action_id: UUID_B, status: 'initialized' }), body).resolves.toBeTypeOf('string');
    }
    for (const body of ['Suc', UUID_A, 'OK']) {
      const c = await clientFor(answer(200, body, 'text/plain'));
      const err = await failure(c.uploadPodSpec({ action_id: UUID_B, status: 'initialized' }));
      expect(err, body).toMatchObject({ kind: 'malformed', retryable: true });
      expect(err.message).toContain('expected the action id or "Success"');
    }
  });
});
