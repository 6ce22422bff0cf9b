// CEDANA_URL as users have it (Cedana's docs and chart say https://<org>.cedana.ai/v1): the client
// calls /v2/... under scheme, host and any prefix, never /v1/v2/...
import { afterEach, describe, expect, it } from 'vitest';
import { CedanaClient, normaliseBaseUrl } from '../../../src/cedana/index.ts';
import { UUID_A, send, startStub, type StubServer } from './stub-server.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('normaliseBaseUrl', () => {
  it.each([
    ['https://acme.cedana.ai', 'https://acme.cedana.ai'],
    ['https://acme.cedana.ai/', 'https://acme.cedana.ai'],
    ['https://acme.cedana.ai/v1', 'https://acme.cedana.ai'],
    ['https://acme.cedana.ai/v1/', 'https://acme.cedana.ai'],
    ['https://acme.cedana.ai/v2', 'https://acme.cedana.ai'],
    ['https://acme.cedana.ai/V1//', 'https://acme.cedana.ai'],
    ['https://sandbox.cedana.ai/v1', 'https://sandbox.cedana.ai'],
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080'],
    ['https://gw.example.com/cedana/v1', 'https://gw.example.com/cedana'],
    ['https://gw.example.com/cedana/', 'https://gw.example.com/cedana'],
    ['https://gw.example.com/v1/cedana', 'https://gw.example.com/v1/cedana'],
    ['https://gw.example.com/api/v10', 'https://gw.example.com/api/v10'],
    ['  https://acme.cedana.ai:443/v1  ', 'https://acme.cedana.ai'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseBaseUrl(input)).toBe(expected);
  });

  it.each([
    ['ftp://acme.cedana.ai', /http\(s\)/],
    ['https://acme.cedana.ai/v1?org=x', /query string/],
    ['https://acme.cedana.ai/#v1', /fragment/],
    ['acme.cedana.ai', /Invalid URL/],
  ])('refuses %s', (input, problem) => {
    expect(() => normaliseBaseUrl(input)).toThrow(problem);
  });
});

describe('the client with the URL Cedana tells users to set', () => {
  async function stub(): Promise<StubServer> {
    const s = await startStub((req, res) => {
      if (req.url.endsWith('/v2/checkpoint/pod')) send(res, 200, UUID_A);
      else send(res, 404, '404 page not found\n');
    });
    cleanup.push(() => s.close());
    return s;
  }

  it.each(['/v1', '/v1/', '/v2', '', '/'])('calls /v2/... under the host for CEDANA_URL=<host>%s', async (suffix) => {
    const s = await stub();
    const c = new CedanaClient({ baseUrl: `${s.url}${suffix}`, token: 't' });
    cleanup.push(() => c.close());
    expect(c.baseUrl).toBe(s.url);
    await expect(c.checkpointPod({ pod_name: 'p', namespace: 'ns' })).resolves.toBe(UUID_A);
    expect(s.seen.map((r) => r.url)).toEqual(['/v2/checkpoint/pod']);
  });

  it('keeps a path prefix before /v1', async () => {
    const s = await stub();
    const c = new CedanaClient({ baseUrl: `${s.url}/gateway/cedana/v1/`, token: 't' });
    cleanup.push(() => c.close());
    expect(c.baseUrl).toBe(`${s.url}/gateway/cedana`);
    await c.checkpointPod({ pod_name: 'p' });
    expect(s.seen.map((r) => r.url)).toEqual(['/gateway/cedana/v2/checkpoint/pod']);
  });

  it('says which option is wrong, never the token', () => {
    expect(() => new CedanaClient({ baseUrl: 'https://acme.cedana.ai/v1?x=1', token: 'secret-token' })).toThrow('invalid Cedana client options: baseUrl: must not have a query string or fragment');
  });
});
