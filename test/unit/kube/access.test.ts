// How the operator reaches the apiserver: kubeconfig files read by our own code (tokens, token files,
// basic auth, client certificates, CAs) over one connection pool, and what is handed to client-node
// (exec plugins, impersonation). Each kubeconfig is a file in a temporary directory, each apiserver a
// loopback HTTPS stub.
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import forge from 'node-forge';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { KubeConfigError, SERVICE_ACCOUNT_DIR, accessFromKubeConfig, loadKubeAccess, type KubeAccess } from '../../../src/kube/access.ts';
import { request } from '../../../src/kube/http.ts';
import { generateCa, issueServing, type KeyPair } from '../../../src/webhook/certs.ts';
import { LOOPBACK_CERT, send, startStub, type Seen, type StubServer } from '../cedana/stub-server.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const LOOPBACK_CA = { 'certificate-authority-data': b64(LOOPBACK_CERT) };

let dir: string;
let ca: KeyPair; // signs the mTLS server's certificate and the client certificates
let serving: KeyPair;
let client: KeyPair;

/** A client certificate (CN `cn`, extKeyUsage clientAuth) signed by `issuer`, as the apiserver's client CA would. */
function issueClient(issuer: KeyPair, cn: string): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: /CN=([^\n,]+)/.exec(new X509Certificate(issuer.cert).subject)?.[1] ?? '' }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(issuer.key), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-access-'));
  ca = generateCa(Date.now());
  serving = issueServing(ca, ['localhost'], ['127.0.0.1'], Date.now());
  client = issueClient(ca, 'jane');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** Writes `text` (an object is written as YAML) to `name` under the test directory; returns its path. */
let files = 0;
function write(name: string | undefined, content: unknown): string {
  const path = join(dir, name ?? `kubeconfig-${String(++files)}`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : stringify(content));
  return path;
}

/** One cluster `c`, one user `u`, one context `ctx` naming both, current. */
function kubeconfig(server: string, cluster: Record<string, unknown>, user: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
  };
}

function load(path?: string, context?: string): KubeAccess {
  const access = loadKubeAccess(path, context);
  cleanup.push(() => access.close());
  return access;
}

async function tlsStub(): Promise<StubServer> {
  const stub = await startStub(
    (_req, res) => {
      send(res, 200, { major: '1', minor: '34' });
    },
    { tls: true },
  );
  cleanup.push(() => stub.close());
  return stub;
}

/** One GET through `access`; the request the stub saw. */
async function get(access: KubeAccess, stub: StubServer, path = '/version'): Promise<Seen> {
  const before = stub.seen.length;
  const res = await request(access, 'GET', path);
  await res.body.text();
  expect(stub.seen).toHaveLength(before + 1);
  return stub.seen[before] as Seen;
}

/** The code of the TLS error a request failed with (undici's request() rejects with the socket's own error). */
async function tlsFailure(p: Promise<unknown>): Promise<string> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; cause?: { code?: string } } | undefined;
  expect(err).toBeInstanceOf(Error);
  return err?.code ?? err?.cause?.code ?? '';
}

/** A loopback HTTPS server that asks for a client certificate and records what each connection presented. */
async function mtlsServer(): Promise<{ url: string; peers: { cn: string | undefined; authorized: boolean }[] }> {
  const peers: { cn: string | undefined; authorized: boolean }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    // No certificate presented: an empty object.
    peers.push({ cn: Object.keys(peer).length === 0 ? undefined : String(peer.subject.CN), authorized: socket.authorized });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  );
  return { url: `https://127.0.0.1:${String((server.address() as AddressInfo).port)}`, peers };
}

async function loadError(path: string | undefined, context?: string): Promise<KubeConfigError> {
  try {
    const access = loadKubeAccess(path, context);
    await access.close();
  } catch (err) {
    expect(err).toBeInstanceOf(KubeConfigError);
    return err as KubeConfigError;
  }
  throw new Error('loadKubeAccess did not fail');
}

describe('static credentials', () => {
  it.each<[string, Record<string, unknown>, string | undefined]>([
    ['a token', { token: 'tok-123' }, 'Bearer tok-123'],
    ['basic auth', { username: 'admin', password: 's3cret:with-colon' }, `Basic ${b64('admin:s3cret:with-colon')}`],
    ['a username alone', { username: 'admin' }, `Basic ${b64('admin:')}`],
    ['no credentials', {}, undefined],
  ])('%s: the authorization header, over the verified CA', async (_what, user, authorization) => {
    const stub = await tlsStub();
    const access = load(write(undefined, kubeconfig(stub.url, LOOPBACK_CA, user)));
    const seen = await get(access, stub);
    expect(seen.headers.authorization).toBe(authorization);
    expect(seen.headers.accept).toBe('application/json');
    expect(access.server).toBe(stub.url);
    expect(access.source).toMatch(/^kubeconfig \//);
    // The source is for logs: never the credentials.
    for (const v of Object.values(user)) expect(access.source).not.toContain(String(v));
  });

  it.each<[string, (stubUrl: string) => Record<string, unknown>, string | undefined]>([
    ['the right CA (data)', () => LOOPBACK_CA, undefined],
    ['the right CA (a file relative to the kubeconfig)', () => ({ 'certificate-authority': write('ca-rel/pki/ca.crt', LOOPBACK_CERT).replace(`${dir}/ca-rel/`, '') }), undefined],
    ['a CA that did not sign the certificate', () => ({ 'certificate-authority-data': b64(generateCa(Date.now()).cert) }), 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['no CA (the system roots)', () => ({}), 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['insecure-skip-tls-verify, no CA', () => ({ 'insecure-skip-tls-verify': true }), undefined],
    ['insecure-skip-tls-verify with a wrong CA', () => ({ 'insecure-skip-tls-verify': true, 'certificate-authority-data': b64(generateCa(Date.now()).cert) }), undefined],
    ['insecure-skip-tls-verify: false', () => ({ 'insecure-skip-tls-verify': false }), 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['tls-server-name the certificate names', () => ({ ...LOOPBACK_CA, 'tls-server-name': 'localhost' }), undefined],
    ['tls-server-name the certificate does not name', () => ({ ...LOOPBACK_CA, 'tls-server-name': 'kubernetes.default.svc' }), 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ])('%s', async (_what, cluster, failure) => {
    const stub = await tlsStub();
    // A CA file named relatively lives next to the kubeconfig: write it there.
    const c = cluster(stub.url);
    const path = write(typeof c['certificate-authority'] === 'string' ? 'ca-rel/config' : undefined, kubeconfig(stub.url, c, { token: 't' }));
    const access = load(path);
    if (failure === undefined) {
      expect((await get(access, stub)).headers.authorization).toBe('Bearer t');
    } else {
      expect(await tlsFailure(request(access, 'GET', '/version'))).toBe(failure);
      // The handshake failed: no request reached the server, so no token left the process.
      expect(stub.seen).toHaveLength(0);
    }
  });

  it('a server with a path prefix (a proxying gateway) keeps it; a trailing slash is dropped', async () => {
    const stub = await tlsStub();
    const access = load(write(undefined, kubeconfig(`${stub.url}/k8s/clusters/c-1/`, LOOPBACK_CA, { token: 't' })));
    expect(access.server).toBe(`${stub.url}/k8s/clusters/c-1`);
    expect((await get(access, stub, '/api/v1/namespaces/default/pods?limit=1')).url).toBe('/k8s/clusters/c-1/api/v1/namespaces/default/pods?limit=1');
  });

  it.each<[string, Record<string, unknown>]>([
    ['a token', { token: 't' }],
    ['a token file', { tokenFile: 'reuse-token' }],
    ['basic auth', { username: 'a', password: 'b' }],
    ['insecure-skip-tls-verify', { token: 't' }],
  ])('%s: ten requests share the TLS connections', async (what, user) => {
    const stub = await tlsStub();
    write('reuse-token', 'from-file\n');
    const cluster = what === 'insecure-skip-tls-verify' ? { 'insecure-skip-tls-verify': true } : LOOPBACK_CA;
    const access = load(write(undefined, kubeconfig(stub.url, cluster, user)));
    for (let i = 0; i < 10; i++) await get(access, stub);
    // undici opens a second socket after the first TLS one (see client-node.test.ts); no more.
    expect(stub.connections()).toBeLessThanOrEqual(2);
  });

  it('ten requests with a client certificate share the TLS connections, each presenting it', async () => {
    const server = await mtlsServer();
    const access = load(write(undefined, kubeconfig(server.url, { 'certificate-authority-data': b64(ca.cert) }, { 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) })));
    for (let i = 0; i < 10; i++) await (await request(access, 'GET', '/version')).body.text();
    expect(server.peers).toHaveLength(10);
    for (const p of server.peers) expect(p).toEqual({ cn: 'jane', authorized: true });
  });
});

describe('token files', () => {
  it('a relative tokenFile is relative to the kubeconfig, not the working directory; whitespace is trimmed', async () => {
    const stub = await tlsStub();
    write('tf-rel/secrets/token', '  tok-from-file\n');
    const access = load(write('tf-rel/config', kubeconfig(stub.url, LOOPBACK_CA, { tokenFile: 'secrets/token' })));
    expect(process.cwd()).not.toBe(join(dir, 'tf-rel'));
    expect((await get(access, stub)).headers.authorization).toBe('Bearer tok-from-file');
  });

  it('is read again after a minute (a projected token rotates); a file gone keeps the last token', async () => {
    const stub = await tlsStub();
    const tokenPath = write('tf-rotate/token', 'first');
    const access = load(write('tf-rotate/config', kubeconfig(stub.url, LOOPBACK_CA, { tokenFile: 'token' })));
    const start = Date.now();
    const now = vi.spyOn(Date, 'now').mockReturnValue(start);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer first');
    writeFileSync(tokenPath, 'second');
    now.mockReturnValue(start + 30_000);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer first');
    now.mockReturnValue(start + 61_000);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer second');
    rmSync(tokenPath);
    now.mockReturnValue(start + 130_000);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer second');
  });

  it('a missing token file is a KubeConfigError when the kubeconfig is loaded, naming the file', async () => {
    const stub = await tlsStub();
    const err = await loadError(write('tf-missing/config', kubeconfig(stub.url, LOOPBACK_CA, { tokenFile: 'no-such-token' })));
    expect(err.message).toContain(join(dir, 'tf-missing', 'no-such-token'));
  });
});

describe('client certificates', () => {
  it.each<[string, (base: string) => Record<string, unknown>]>([
    ['inline (-data)', () => ({ 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) })],
    [
      'files relative to the kubeconfig',
      (base) => {
        write(`${base}/pki/client.crt`, client.cert);
        write(`${base}/pki/client.key`, client.key);
        return { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key' };
      },
    ],
    ['absolute file names', (base) => ({ 'client-certificate': write(`${base}/abs/client.crt`, client.cert), 'client-key': write(`${base}/abs/client.key`, client.key) })],
    ['a file and inline data mixed', (base) => ({ 'client-certificate': write(`${base}/mixed.crt`, client.cert), 'client-key-data': b64(client.key) })],
  ])('%s: the server sees the certificate', async (what, user) => {
    const server = await mtlsServer();
    const base = `cc-${what.replace(/\W+/g, '-')}`;
    const access = load(write(`${base}/config`, kubeconfig(server.url, { 'certificate-authority-data': b64(ca.cert) }, user(base))));
    await (await request(access, 'GET', '/version')).body.text();
    expect(server.peers).toEqual([{ cn: 'jane', authorized: true }]);
  });

  it('rotated files are read again after 5 minutes; a file missing mid-rotation keeps the connections it has', async () => {
    const server = await mtlsServer();
    const crt = write('rot/client.crt', client.cert);
    const keyFile = write('rot/client.key', client.key);
    const start = Date.now();
    const now = vi.spyOn(Date, 'now').mockReturnValue(start);
    const access = load(write('rot/config', kubeconfig(server.url, { 'certificate-authority-data': b64(ca.cert) }, { 'client-certificate': crt, 'client-key': keyFile })));
    const get = async (): Promise<void> => {
      await (await request(access, 'GET', '/version')).body.text();
    };
    await get();
    rmSync(crt);
    now.mockReturnValue(start + 6 * 60_000);
    await get(); // the certificate is away: the connection it has still serves
    const rotated = issueClient(ca, 'john');
    writeFileSync(crt, rotated.cert);
    writeFileSync(keyFile, rotated.key);
    now.mockReturnValue(start + 6 * 60_000 + 30_000);
    await get(); // read again only a minute after the failed read
    now.mockReturnValue(start + 7 * 60_000 + 1_000);
    await get();
    expect(server.peers.map((p) => p.cn)).toEqual(['jane', 'jane', 'jane', 'john']);
  });

  it('without one, the server sees none (what the cases above are told apart from)', async () => {
    const server = await mtlsServer();
    const access = load(write(undefined, kubeconfig(server.url, { 'certificate-authority-data': b64(ca.cert) }, { token: 't' })));
    await (await request(access, 'GET', '/version')).body.text();
    expect(server.peers).toEqual([{ cn: undefined, authorized: false }]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a certificate without its key', { 'client-certificate-data': 'AAAA' }, /a client certificate needs its key/],
    ['a key without its certificate', { 'client-key-data': 'AAAA' }, /a client certificate needs its key, and a key its certificate/],
    ['a certificate file that is not there', { 'client-certificate': 'nope.crt', 'client-key-data': 'AAAA' }, /cannot read the client certificate .*nope\.crt/],
    ['a key file that is not there', { 'client-certificate-data': 'AAAA', 'client-key': 'nope.key' }, /cannot read the client key .*nope\.key/],
  ])('%s: KubeConfigError at load', async (_what, user, message) => {
    const err = await loadError(write(undefined, kubeconfig('https://127.0.0.1:1', {}, user)));
    expect(err.message).toMatch(message);
  });

  it('a CA file that is not there: KubeConfigError at load, naming it relative to the kubeconfig', async () => {
    const err = await loadError(write('ca-missing/config', kubeconfig('https://127.0.0.1:1', { 'certificate-authority': 'ca.crt' }, { token: 't' })));
    expect(err.message).toContain(`cannot read the certificate authority ${join(dir, 'ca-missing', 'ca.crt')}`);
  });
});

describe('what is not a usable kubeconfig', () => {
  const base = kubeconfig('https://127.0.0.1:1', {}, { token: 't' });
  it.each<[string, unknown, string | undefined, RegExp]>([
    ['no current-context', { ...base, 'current-context': undefined }, undefined, /has no current-context$/],
    ['an empty current-context (as kubectl writes it)', { ...base, 'current-context': '' }, undefined, /has no current-context$/],
    ['a current-context it does not have', { ...base, 'current-context': 'elsewhere' }, undefined, /has no context 'elsewhere'$/],
    ['a context argument it does not have', base, 'staging', /has no context 'staging'$/],
    [
      'a context naming a cluster it does not have',
      { ...base, contexts: [{ name: 'ctx', context: { cluster: 'prod', user: 'u' } }] },
      undefined,
      /context 'ctx' names cluster 'prod', which it does not have/,
    ],
    [
      'a context naming a user it does not have',
      { ...base, contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'admin' } }] },
      undefined,
      /context 'ctx' names user 'admin', which it does not have/,
    ],
    ['a cluster without a server', { ...base, clusters: [{ name: 'c', cluster: { 'insecure-skip-tls-verify': true } }] }, undefined, /is not a kubeconfig: clusters\.0\.cluster\.server: /],
    ['an empty file', '', undefined, /has no current-context$/],
    ['not YAML', 'clusters: [unclosed\n  - {', undefined, /is not YAML: /],
    ['YAML that is not a kubeconfig (a string)', 'just some text\n', undefined, /is not a kubeconfig: /],
    ['YAML that is not a kubeconfig (clusters a map)', 'clusters:\n  c:\n    server: https://x\n', undefined, /is not a kubeconfig: clusters: /],
    ['YAML that is not a kubeconfig (a token that is a number)', { ...base, users: [{ name: 'u', user: { token: 12345 } }] }, undefined, /is not a kubeconfig: users\.0\.user\.token: /],
  ])('%s', async (_what, content, context, message) => {
    const path = write(undefined, content);
    const err = await loadError(path, context);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(path);
  });

  it('a file that is not there', async () => {
    const err = await loadError(join(dir, 'does-not-exist'));
    expect(err.message).toMatch(/^cannot read kubeconfig .*does-not-exist: ENOENT/);
  });
});

describe('several kubeconfig files, joined by ":"', () => {
  it('merge first-wins, as kubectl does: the current-context of the first that has one, each name from the first that has it', async () => {
    const stub = await tlsStub();
    const first = write(undefined, {
      clusters: [{ name: 'c', cluster: { server: stub.url, ...LOOPBACK_CA } }],
      users: [{ name: 'u', user: { token: 'from-first' } }],
    });
    const second = write(undefined, {
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [
        { name: 'u', user: { token: 'from-second' } },
        { name: 'other', user: { token: 'other-from-second' } },
      ],
      contexts: [
        { name: 'ctx', context: { cluster: 'c', user: 'u' } },
        { name: 'ctx-other', context: { cluster: 'c', user: 'other' } },
      ],
      'current-context': 'ctx',
    });
    const third = write(undefined, { contexts: [{ name: 'ctx', context: { cluster: 'nowhere', user: 'nobody' } }], 'current-context': 'ctx-other' });
    const access = load(`${first}:${second}:${third}`);
    expect(access.server).toBe(stub.url);
    expect(access.source).toBe(`kubeconfig ${first}:${second}:${third}`);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer from-first');
    // The context argument picks among the merged contexts.
    expect((await get(load(`${first}:${second}:${third}`, 'ctx-other'), stub)).headers.authorization).toBe('Bearer other-from-second');
  });

  it('empty entries are skipped; an error names every file', async () => {
    const stub = await tlsStub();
    const only = write(undefined, kubeconfig(stub.url, LOOPBACK_CA, { token: 'only' }));
    expect((await get(load(`:${only}::`), stub)).headers.authorization).toBe('Bearer only');
    const a = write(undefined, { clusters: [] });
    const b = write(undefined, { users: [] });
    expect((await loadError(`${a}:${b}`)).message).toBe(`kubeconfig ${a}:${b} has no current-context`);
  });

  it('a relative file name is relative to the file that names it', async () => {
    const stub = await tlsStub();
    write('merge-a/ca.crt', LOOPBACK_CERT);
    write('merge-b/token', 'tok-b');
    const a = write('merge-a/config', { clusters: [{ name: 'c', cluster: { server: stub.url, 'certificate-authority': 'ca.crt' } }], 'current-context': 'ctx' });
    const b = write('merge-b/config', { users: [{ name: 'u', user: { tokenFile: 'token' } }], contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }] });
    expect((await get(load(`${a}:${b}`), stub)).headers.authorization).toBe('Bearer tok-b');
  });
});

describe('which kubeconfig', () => {
  it('the context argument picks another context than the current one', async () => {
    const stub = await tlsStub();
    const path = write(undefined, {
      clusters: [
        { name: 'dead', cluster: { server: 'https://127.0.0.1:1' } },
        { name: 'live', cluster: { server: stub.url, ...LOOPBACK_CA } },
      ],
      users: [
        { name: 'a', user: { token: 'tok-a' } },
        { name: 'b', user: { token: 'tok-b' } },
      ],
      contexts: [
        { name: 'one', context: { cluster: 'dead', user: 'a' } },
        { name: 'two', context: { cluster: 'live', user: 'b', namespace: 'ns' } },
      ],
      'current-context': 'one',
    });
    expect(load(path).server).toBe('https://127.0.0.1:1');
    const access = load(path, 'two');
    expect(access.server).toBe(stub.url);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer tok-b');
  });

  it('$KUBECONFIG when no path is given, a list included', async () => {
    const stub = await tlsStub();
    const a = write(undefined, { users: [{ name: 'u', user: { token: 'from-env' } }] });
    const b = write(undefined, kubeconfig(stub.url, LOOPBACK_CA, { token: 'not-this' }));
    vi.stubEnv('KUBECONFIG', `${a}:${b}`);
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    const access = load();
    expect(access.source).toBe(`kubeconfig ${a}:${b}`);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer from-env');
    // A path given wins over $KUBECONFIG.
    const c = write(undefined, kubeconfig(stub.url, LOOPBACK_CA, { token: 'from-path' }));
    expect((await get(load(c), stub)).headers.authorization).toBe('Bearer from-path');
  });

  it.skipIf(existsSync(`${SERVICE_ACCOUNT_DIR}/token`))('~/.kube/config last; KUBERNETES_SERVICE_HOST without a service-account token is not a pod', async () => {
    const stub = await tlsStub();
    const home = join(dir, 'home');
    write('home/.kube/config', kubeconfig(stub.url, LOOPBACK_CA, { token: 'from-home' }));
    vi.stubEnv('HOME', home);
    vi.stubEnv('KUBECONFIG', '');
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '10.96.0.1');
    const access = load();
    expect(access.source).toBe(`kubeconfig ${home}/.kube/config`);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer from-home');
  });

  it('nothing at all: a KubeConfigError that says where it looked', async () => {
    vi.stubEnv('HOME', join(dir, 'empty-home'));
    vi.stubEnv('KUBECONFIG', '');
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    const err = await loadError(undefined);
    expect(err.message).toBe(`no kubeconfig: not in a pod (no KUBERNETES_SERVICE_HOST and ${SERVICE_ACCOUNT_DIR}/token), no $KUBECONFIG, no ${join(dir, 'empty-home')}/.kube/config`);
  });
});

describe('delegated to client-node', () => {
  const execUser = (token: string): Record<string, unknown> => ({
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: 'sh',
      args: ['-c', `printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${token}"}}'`],
      interactiveMode: 'Never',
    },
  });

  it('an exec plugin: its token arrives, and the source says who computes it', async () => {
    const stub = await tlsStub();
    const access = load(write(undefined, kubeconfig(stub.url, LOOPBACK_CA, execUser('from-exec'))));
    expect(access.source).toMatch(/ \(user\.exec through client-node\)$/);
    expect(access.server).toBe(stub.url);
    for (let i = 0; i < 2; i++) expect((await get(access, stub)).headers.authorization).toBe('Bearer from-exec');
  });

  it('the context argument reaches client-node too', async () => {
    const stub = await tlsStub();
    const path = write(undefined, {
      clusters: [{ name: 'c', cluster: { server: stub.url, ...LOOPBACK_CA } }],
      users: [
        { name: 'static', user: { token: 'static' } },
        { name: 'e', user: execUser('exec-of-ctx-two') },
      ],
      contexts: [
        { name: 'one', context: { cluster: 'c', user: 'static' } },
        { name: 'two', context: { cluster: 'c', user: 'e' } },
      ],
      'current-context': 'one',
    });
    expect(load(path).source).not.toMatch(/client-node/);
    const access = load(path, 'two');
    expect(access.source).toMatch(/user\.exec through client-node/);
    expect((await get(access, stub)).headers.authorization).toBe('Bearer exec-of-ctx-two');
  });

  it('impersonation: client-node sends Impersonate-User, over shared connections', async () => {
    const stub = await tlsStub();
    const access = load(write(undefined, kubeconfig(stub.url, LOOPBACK_CA, { token: 'admin-tok', as: 'jane' })));
    expect(access.source).toMatch(/user\.as through client-node/);
    for (let i = 0; i < 10; i++) {
      const seen = await get(access, stub);
      expect(seen.headers.authorization).toBe('Bearer admin-tok');
      expect(seen.headers['impersonate-user']).toBe('jane');
    }
    expect(stub.connections()).toBeLessThanOrEqual(2);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, string]>([
    ['an auth provider', {}, { 'auth-provider': { name: 'oidc', config: {} } }, 'user.auth-provider'],
    ['a proxy', { 'proxy-url': 'http://127.0.0.1:3128' }, { token: 't' }, 'cluster.proxy-url'],
    ['impersonated groups and an exec plugin', {}, { ...execUser('x'), 'as-groups': ['g'] }, 'user.exec, user.as-groups'],
  ])('%s is named in the source', (_what, cluster, user, named) => {
    const access = load(write(undefined, kubeconfig('https://127.0.0.1:1', cluster, user)));
    expect(access.source).toMatch(new RegExp(` \\(${named.replace(/\./g, '\\.')} through client-node\\)$`));
  });

  describe('a list of files with an exec user is merged as kubectl merges it, not as client-node does', () => {
    // client-node's loadFromDefault throws on a name two files share, and lets the last
    // current-context win: the credentials of another context would go to this server.
    const scenarios: [string, (stub: string) => unknown[]][] = [
      [
        'each file with its own current-context',
        (stub) => [
          {
            clusters: [{ name: 'cx', cluster: { server: stub, ...LOOPBACK_CA } }],
            users: [{ name: 'ux', user: execUser('exec-x') }],
            contexts: [{ name: 'x', context: { cluster: 'cx', user: 'ux' } }],
            'current-context': 'x',
          },
          {
            clusters: [{ name: 'cy', cluster: { server: stub, ...LOOPBACK_CA } }],
            users: [{ name: 'uy', user: { token: 'y-secret' } }],
            contexts: [{ name: 'y', context: { cluster: 'cy', user: 'uy' } }],
            'current-context': 'y',
          },
        ],
      ],
      ['names both files have', (stub) => [kubeconfig(stub, LOOPBACK_CA, execUser('exec-first')), kubeconfig('https://127.0.0.1:1', {}, { token: 'second-secret' })]],
    ];
    it.each(scenarios.flatMap(([what, files]) => (['as a path', 'from $KUBECONFIG'] as const).map((how) => [`${what}, ${how}`, files, how] as const)))('%s', async (_what, files, how) => {
      const stub = await tlsStub();
      const list = files(stub.url)
        .map((f) => write(undefined, f))
        .join(':');
      vi.stubEnv('KUBECONFIG', how === 'from $KUBECONFIG' ? list : '');
      const access = load(how === 'as a path' ? list : undefined);
      expect(access.source).toMatch(/user\.exec through client-node/);
      expect(access.server).toBe(stub.url);
      expect((await get(access, stub)).headers.authorization).toMatch(/^Bearer exec-/);
    });
  });

  it('accessFromKubeConfig wraps a KubeConfig the caller holds', async () => {
    const stub = await tlsStub();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `${stub.url}/`, caData: b64(LOOPBACK_CERT), skipTLSVerify: false }],
      users: [{ name: 'u', token: 'kc-tok' }],
      contexts: [{ name: 'kc-ctx', cluster: 'c', user: 'u' }],
      currentContext: 'kc-ctx',
    });
    const access = accessFromKubeConfig(kc);
    cleanup.push(() => access.close());
    expect(access.server).toBe(stub.url);
    expect(access.source).toBe('kubeconfig context kc-ctx');
    for (let i = 0; i < 5; i++) expect((await get(access, stub)).headers.authorization).toBe('Bearer kc-tok');
    expect(stub.connections()).toBeLessThanOrEqual(2);
    expect(() => accessFromKubeConfig(new KubeConfig())).toThrow(KubeConfigError);
  });
});
