// The operator's Kubernetes client against a hand-written apiserver: what each verb sends (method,
// query, content type, body), what it makes of the answer, and the KubeHttpError of a failure.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeAccess } from '../../../src/kube/access.ts';
import { FIELD_MANAGER, JSON_PATCH, KubeClient, MERGE_PATCH, paths } from '../../../src/kube/client.ts';
import { KubeHttpError, statusCodeOf } from '../../../src/kube/errors.ts';
import { send, startStub, type Handler, type Seen, type StubServer } from '../cedana/stub-server.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Plain HTTP, a fixed bearer token: what KubeClient does with the access is all that is tested here. */
function plainAccess(server: string): KubeAccess {
  return {
    server,
    source: 'test',
    prepare: () => Promise.resolve({ headers: { authorization: 'Bearer tok' }, dispatcher: undefined }),
    close: () => Promise.resolve(),
  };
}

async function clientFor(handler: Handler): Promise<{ client: KubeClient; stub: StubServer }> {
  const stub = await startStub(handler);
  const client = new KubeClient(plainAccess(stub.url));
  cleanup.push(
    () => stub.close(),
    () => client.close(),
  );
  return { client, stub };
}

const echo: Handler = (req, res) => {
  send(res, 200, { echoed: req.method });
};

const only = (stub: StubServer): Seen => {
  expect(stub.seen).toHaveLength(1);
  return stub.seen[0] as Seen;
};

async function failure(p: Promise<unknown>): Promise<KubeHttpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeHttpError);
  return err as KubeHttpError;
}

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } };
const lease = paths.lease('ns', 'cedana-operator');

describe('KubeClient: what each verb sends', () => {
  it.each<[string, (c: KubeClient) => Promise<unknown>, { method: string; url: string; contentType: string | undefined; body: unknown }]>([
    ['get', (c) => c.get(paths.pod('ns', 'p')), { method: 'GET', url: '/api/v1/namespaces/ns/pods/p', contentType: undefined, body: undefined }],
    [
      'create',
      (c) => c.create(paths.events('ns'), { reason: 'Checkpointed' }),
      { method: 'POST', url: `/api/v1/namespaces/ns/events?fieldManager=${FIELD_MANAGER}`, contentType: 'application/json', body: { reason: 'Checkpointed' } },
    ],
    [
      'replace',
      (c) => c.replace(lease, { metadata: { resourceVersion: '7' } }),
      { method: 'PUT', url: `${lease}?fieldManager=cedana-operator`, contentType: 'application/json', body: { metadata: { resourceVersion: '7' } } },
    ],
    [
      'mergePatch',
      (c) => c.mergePatch(paths.pod('ns', 'p'), { metadata: { labels: { a: null } } }),
      { method: 'PATCH', url: '/api/v1/namespaces/ns/pods/p?fieldManager=cedana-operator', contentType: 'application/merge-patch+json', body: { metadata: { labels: { a: null } } } },
    ],
    [
      'jsonPatch',
      (c) => c.jsonPatch(paths.node('n1'), [{ op: 'add', path: '/metadata/annotations/x', value: 'y' }]),
      { method: 'PATCH', url: '/api/v1/nodes/n1?fieldManager=cedana-operator', contentType: 'application/json-patch+json', body: [{ op: 'add', path: '/metadata/annotations/x', value: 'y' }] },
    ],
    ['delete', (c) => c.delete(paths.secret('ns', 's')), { method: 'DELETE', url: '/api/v1/namespaces/ns/secrets/s', contentType: undefined, body: undefined }],
  ])('%s', async (_verb, call, expected) => {
    const { client, stub } = await clientFor(echo);
    expect(await call(client)).toEqual({ echoed: expected.method });
    const seen = only(stub);
    expect(seen.method).toBe(expected.method);
    expect(seen.url).toBe(expected.url);
    expect(seen.headers['content-type']).toBe(expected.contentType);
    expect(seen.headers.accept).toBe('application/json');
    expect(seen.headers.authorization).toBe('Bearer tok');
    expect(seen.body === '' ? undefined : JSON.parse(seen.body)).toEqual(expected.body);
  });

  it('the patch content types are the apiserver’s', () => {
    expect(MERGE_PATCH).toBe('application/merge-patch+json');
    expect(JSON_PATCH).toBe('application/json-patch+json');
    expect(FIELD_MANAGER).toBe('cedana-operator');
  });

  it('a request already aborted is not sent', async () => {
    const { client, stub } = await clientFor(echo);
    const err = await client.create(paths.events('ns'), pod, AbortSignal.abort()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error | undefined)?.name).toBe('AbortError');
    expect(stub.seen).toHaveLength(0);
  });

  it('the caller’s signal ends a call the server does not answer', async () => {
    const { client, stub } = await clientFor(() => {
      // never answers
    });
    const ac = new AbortController();
    const call = client.get(paths.pod('ns', 'p'), ac.signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    while (stub.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    expect(((await call) as Error | undefined)?.name).toBe('AbortError');
  });
});

describe('KubeClient: answers', () => {
  it.each<[string, number, string, unknown]>([
    ['an object', 200, '{"kind":"Pod","metadata":{"name":"p","creationTimestamp":"2026-01-01T00:00:00Z"}}', { kind: 'Pod', metadata: { name: 'p', creationTimestamp: '2026-01-01T00:00:00Z' } }],
    ['201 Created', 201, '{"kind":"Event"}', { kind: 'Event' }],
    ['an empty 200 body', 200, '', {}],
    ['an empty 204', 204, '', {}],
    ['a delete’s Status', 200, '{"kind":"Status","status":"Success"}', { kind: 'Status', status: 'Success' }],
  ])('%s', async (_what, status, body, expected) => {
    const { client } = await clientFor((_req, res) => {
      res.writeHead(status, body === '' ? {} : { 'content-type': 'application/json' });
      res.end(body);
    });
    expect(await client.get(paths.pod('ns', 'p'))).toEqual(expected);
  });
});

const status = (code: number, reason: string, message: string): Record<string, unknown> => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

describe('KubeClient: failures are KubeHttpError', () => {
  const conflict = 'Operation cannot be fulfilled on leases.coordination.k8s.io "cedana-operator": the object has been modified; please apply your changes to the latest version and try again';
  it.each<[string, number, unknown, (c: KubeClient) => Promise<unknown>, { reason: string | undefined; message: string }]>([
    ['a 409 Status (a stale resourceVersion)', 409, status(409, 'Conflict', conflict), (c) => c.replace(lease, {}), { reason: 'Conflict', message: `PUT ${lease}: HTTP 409: ${conflict}` }],
    [
      'a 409 Status (already there)',
      409,
      status(409, 'AlreadyExists', 'secrets "webhook-tls" already exists'),
      (c) => c.create(paths.secrets('ns'), {}),
      { reason: 'AlreadyExists', message: 'POST /api/v1/namespaces/ns/secrets: HTTP 409: secrets "webhook-tls" already exists' },
    ],
    [
      'a 404 Status',
      404,
      status(404, 'NotFound', 'pods "p" not found'),
      (c) => c.get(paths.pod('ns', 'p')),
      { reason: 'NotFound', message: 'GET /api/v1/namespaces/ns/pods/p: HTTP 404: pods "p" not found' },
    ],
    [
      'a 422 Status',
      422,
      status(422, 'Invalid', 'Pod "p" is invalid: metadata.labels: Invalid value'),
      (c) => c.mergePatch(paths.pod('ns', 'p'), {}),
      { reason: 'Invalid', message: 'PATCH /api/v1/namespaces/ns/pods/p: HTTP 422: Pod "p" is invalid: metadata.labels: Invalid value' },
    ],
    ['a 500 with a text body', 500, 'etcdserver: request timed out\n', (c) => c.get(paths.node('n')), { reason: undefined, message: 'GET /api/v1/nodes/n: HTTP 500: etcdserver: request timed out\n' }],
    [
      'a 502 from a proxy (HTML)',
      502,
      '<html><body>Bad Gateway</body></html>',
      (c) => c.delete(paths.node('n')),
      { reason: undefined, message: 'DELETE /api/v1/nodes/n: HTTP 502: <html><body>Bad Gateway</body></html>' },
    ],
    [
      'a 403 JSON without a message',
      403,
      { kind: 'Status', reason: 'Forbidden' },
      (c) => c.get(paths.node('n')),
      { reason: 'Forbidden', message: 'GET /api/v1/nodes/n: HTTP 403: {"kind":"Status","reason":"Forbidden"}' },
    ],
    ['an empty 503', 503, '', (c) => c.get(paths.node('n')), { reason: undefined, message: 'GET /api/v1/nodes/n: HTTP 503: ' }],
  ])('%s', async (_what, code, body, call, expected) => {
    const { client } = await clientFor((_req, res) => {
      send(res, code, body);
    });
    const err = await failure(call(client));
    expect(err.name).toBe('KubeHttpError');
    expect(err.statusCode).toBe(code);
    expect(err.code).toBe(code);
    expect(statusCodeOf(err)).toBe(code);
    expect(err.reason).toBe(expected.reason);
    expect(err.message).toBe(expected.message);
  });

  it('a long text body is cut at 300 characters; the query is not in the message', async () => {
    const { client } = await clientFor((_req, res) => {
      send(res, 500, 'x'.repeat(5000));
    });
    const err = await failure(client.create(paths.events('ns'), {}));
    expect(err.message).toBe(`POST /api/v1/namespaces/ns/events: HTTP 500: ${'x'.repeat(300)}`);
  });

  it('an answer of 2xx that is not JSON is not taken for an object', async () => {
    const { client } = await clientFor((_req, res) => {
      send(res, 200, '<html>login</html>');
    });
    await expect(client.get(paths.pod('ns', 'p'))).rejects.toThrow(SyntaxError);
  });
});

describe('paths', () => {
  it.each<[string, string, string]>([
    ['pod', paths.pod('ns', 'p-1'), '/api/v1/namespaces/ns/pods/p-1'],
    ['pod with characters to encode', paths.pod('n s', 'a/b?c#d%'), '/api/v1/namespaces/n%20s/pods/a%2Fb%3Fc%23d%25'],
    ['node', paths.node('ip-10-0-0-1.ec2.internal'), '/api/v1/nodes/ip-10-0-0-1.ec2.internal'],
    ['node with a slash', paths.node('../../secrets'), '/api/v1/nodes/..%2F..%2Fsecrets'],
    ['events', paths.events('kube-system'), '/api/v1/namespaces/kube-system/events'],
    ['secrets', paths.secrets('ns'), '/api/v1/namespaces/ns/secrets'],
    ['secret', paths.secret('ns', 'tls cert'), '/api/v1/namespaces/ns/secrets/tls%20cert'],
    ['leases', paths.leases('ns'), '/apis/coordination.k8s.io/v1/namespaces/ns/leases'],
    ['lease', paths.lease('ns', 'a/b'), '/apis/coordination.k8s.io/v1/namespaces/ns/leases/a%2Fb'],
    ['validatingWebhookConfiguration', paths.validatingWebhookConfiguration('cedana operator'), '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/cedana%20operator'],
    ['custom collection', paths.custom('cedana.ai', 'v1alpha1', 'podcheckpoints', 'ns'), '/apis/cedana.ai/v1alpha1/namespaces/ns/podcheckpoints'],
    ['custom object', paths.custom('cedana.ai', 'v1alpha1', 'podcheckpoints', 'ns', 'c/1'), '/apis/cedana.ai/v1alpha1/namespaces/ns/podcheckpoints/c%2F1'],
    ['custom status', paths.custom('cedana.ai', 'v1alpha1', 'podcheckpoints', 'ns', 'c1', 'status'), '/apis/cedana.ai/v1alpha1/namespaces/ns/podcheckpoints/c1/status'],
  ])('%s', (_what, path, expected) => {
    expect(path).toBe(expected);
  });

  it('an encoded name reaches the server as one segment', async () => {
    const { client, stub } = await clientFor(echo);
    await client.get(paths.pod('ns', 'a/b c'));
    expect(only(stub).url).toBe('/api/v1/namespaces/ns/pods/a%2Fb%20c');
  });
});
