// The webhook's own certificates: what they name, when they are renewed (2/3 of their life), that a
// CA renewal keeps the old CA trusted, that a damaged Secret is replaced; and the server serving a
// new certificate without a restart, from memory and from files.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleFromSecret, ensureBundle, generateCa, issueServing, planRenewal, secretData, serviceSans, splitPem, type CertBundle, type CertSpec } from '../../../src/webhook/certs.ts';
import { startWebhookServer, type RunningWebhookServer } from '../../../src/webhook/server.ts';
import { waitFor } from '../../integration/harness/wait.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const sans = serviceSans('cedana-operator-webhook', 'cedana-system');
const spec = (now: number, extra: Partial<CertSpec> = {}): CertSpec => ({ ...sans, now, caLifetimeMs: 300 * DAY, certLifetimeMs: 30 * DAY, ...extra });

describe('certificates', () => {
  const first = ensureBundle(undefined, spec(T0));

  it('a fresh bundle: a CA, and a serving certificate it signed naming the Service and loopback', () => {
    expect(first.plan).toEqual({ action: 'all', why: 'no certificates yet' });
    const ca = new X509Certificate(first.bundle.caCert);
    const tls = new X509Certificate(first.bundle.tlsCert);
    expect(ca.ca).toBe(true);
    expect(tls.ca).toBe(false);
    expect(tls.verify(ca.publicKey)).toBe(true);
    expect(tls.issuer).toBe(ca.subject);
    // names as PrintableString: Go's x509, in the apiserver, refuses anything else in one
    for (const name of [ca.subject, tls.subject]) expect(name).toMatch(/^CN=[A-Za-z0-9 '()+,\-./:=?]+$/);
    for (const n of ['cedana-operator-webhook.cedana-system.svc', 'cedana-operator-webhook.cedana-system.svc.cluster.local', 'localhost']) expect(tls.checkHost(n)).toBe(n);
    expect(tls.checkHost('other.cedana-system.svc')).toBeUndefined();
    expect(tls.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(splitPem(first.bundle.caBundle).map((p) => new X509Certificate(p).fingerprint256)).toEqual([ca.fingerprint256]);
  });

  it('kept while young; the serving certificate renewed at 2/3 of its life, under the same CA', () => {
    expect(planRenewal(first.bundle, spec(T0 + 19 * DAY))).toEqual({ action: 'keep' });
    const due = planRenewal(first.bundle, spec(T0 + 21 * DAY));
    expect(due.action).toBe('serving');
    const renewed = ensureBundle(first.bundle, spec(T0 + 21 * DAY)).bundle;
    expect(renewed.caCert).toBe(first.bundle.caCert);
    expect(renewed.caBundle).toBe(first.bundle.caBundle);
    expect(renewed.tlsCert).not.toBe(first.bundle.tlsCert);
    expect(new X509Certificate(renewed.tlsCert).verify(new X509Certificate(first.bundle.caCert).publicKey)).toBe(true);
    expect(planRenewal(renewed, spec(T0 + 22 * DAY))).toEqual({ action: 'keep' });
  });

  it('the CA renewed at 2/3 of its life; the old CA stays in the bundle while valid', () => {
    const when = T0 + 201 * DAY;
    expect(planRenewal(first.bundle, spec(when)).action).toBe('all');
    const next = ensureBundle(first.bundle, spec(when)).bundle;
    expect(next.caCert).not.toBe(first.bundle.caCert);
    const trusted = splitPem(next.caBundle).map((p) => new X509Certificate(p).fingerprint256);
    expect(trusted).toEqual([new X509Certificate(next.caCert).fingerprint256, new X509Certificate(first.bundle.caCert).fingerprint256]);
    // once the old CA has expired, a serving renewal drops it from the bundle
    const later = ensureBundle(next, spec(T0 + 301 * DAY, { certLifetimeMs: 30 * DAY })).bundle;
    expect(splitPem(later.caBundle).map((p) => new X509Certificate(p).fingerprint256)).toEqual([new X509Certificate(next.caCert).fingerprint256]);
  });

  it('a serving certificate not valid yet (issued by a replica whose clock ran ahead) is renewed', () => {
    const ahead = ensureBundle(first.bundle, spec(T0 + 25 * DAY)).bundle; // issued 25 days "later"
    expect(planRenewal(ahead, spec(T0 + DAY)).action).toBe('serving');
  });

  it('a serving certificate never outlives its CA', () => {
    const ca = generateCa(T0, 10 * DAY);
    const tls = new X509Certificate(issueServing(ca, ['a.svc'], [], T0, 365 * DAY).cert);
    expect(Date.parse(tls.validTo)).toBeLessThanOrEqual(Date.parse(new X509Certificate(ca.cert).validTo));
  });

  it.each<{ name: string; damage: (b: CertBundle) => CertBundle; action: 'all' | 'serving' }>([
    { name: 'a CA that does not parse', damage: (b) => ({ ...b, caCert: 'garbage' }), action: 'all' },
    { name: 'a CA key of another CA', damage: (b) => ({ ...b, caKey: generateCa(T0).key }), action: 'all' },
    { name: 'a serving certificate of another CA', damage: (b) => ({ ...b, tlsCert: ensureBundle(undefined, spec(T0)).bundle.tlsCert }), action: 'serving' },
    { name: 'a serving key that does not match', damage: (b) => ({ ...b, tlsKey: generateCa(T0).key }), action: 'serving' },
    { name: 'a bundle without the CA', damage: (b) => ({ ...b, caBundle: generateCa(T0).cert }), action: 'serving' },
  ])('$name: renewed ($action)', ({ damage, action }) => {
    const damaged = damage(first.bundle);
    expect(planRenewal(damaged, spec(T0 + DAY)).action).toBe(action);
    expect(planRenewal(ensureBundle(damaged, spec(T0 + DAY)).bundle, spec(T0 + DAY))).toEqual({ action: 'keep' });
  });

  it('a Service renamed: the serving certificate is reissued for the new names', () => {
    const other = serviceSans('renamed', 'cedana-system');
    const plan = planRenewal(first.bundle, { ...other, now: T0 + DAY });
    expect(plan.action).toBe('serving');
    expect(plan.action === 'serving' ? plan.why : '').toContain('renamed.cedana-system.svc');
  });

  it('Secret data round-trips; a Secret missing a key holds no bundle', () => {
    const data = secretData(first.bundle);
    expect(Object.keys(data).sort()).toEqual(['ca-bundle.crt', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(bundleFromSecret({ data })).toEqual(first.bundle);
    const { ['ca.key']: _dropped, ...partial } = data;
    expect(bundleFromSecret({ data: partial })).toBeUndefined();
    expect(bundleFromSecret(undefined)).toBeUndefined();
  });
});

/** The serving certificate's fingerprint as seen by a client trusting `ca`, or the TLS error. */
function handshake(port: number, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, agent: false }, (res) => {
      const peer = res.socket as unknown as { getPeerX509Certificate(): X509Certificate | undefined };
      const fp = peer.getPeerX509Certificate()?.fingerprint256 ?? 'none';
      res.resume();
      res.on('end', () => {
        resolve(`${String(res.statusCode)} ${fp}`);
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      resolve(`error ${err.code ?? err.message}`);
    });
    req.end();
  });
}

describe('the webhook server reloads its certificate without a restart', () => {
  const log = pino({ level: 'silent' });
  const decide = () => Promise.reject(new Error('unused'));
  const servers: RunningWebhookServer[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const a = ensureBundle(undefined, spec(Date.now())).bundle;
  const b = ensureBundle(undefined, spec(Date.now())).bundle;
  const fp = (pem: string) => new X509Certificate(pem).fingerprint256;

  it('in memory: setCertificate serves the new pair from the next handshake; a bad pair is refused and the old one kept', async () => {
    const s = await startWebhookServer({ bindAddress: '127.0.0.1:0', certificate: { cert: a.tlsCert, key: a.tlsKey }, decide, log });
    servers.push(s);
    expect(await handshake(s.port, a.caBundle)).toBe(`200 ${fp(a.tlsCert)}`);
    s.setCertificate({ cert: b.tlsCert, key: b.tlsKey });
    expect(await handshake(s.port, b.caBundle)).toBe(`200 ${fp(b.tlsCert)}`);
    expect(await handshake(s.port, a.caBundle)).toMatch(/^error /);
    expect(() => {
      s.setCertificate({ cert: a.tlsCert, key: b.tlsKey });
    }).toThrow();
    expect(await handshake(s.port, b.caBundle)).toBe(`200 ${fp(b.tlsCert)}`);
  });

  it('from files: a swapped pair is picked up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webhook-certs-'));
    dirs.push(dir);
    await writeFile(join(dir, 'tls.crt'), a.tlsCert);
    await writeFile(join(dir, 'tls.key'), a.tlsKey);
    const s = await startWebhookServer({ bindAddress: '127.0.0.1:0', certDir: dir, certPollMs: 50, decide, log });
    servers.push(s);
    expect(await handshake(s.port, a.caBundle)).toBe(`200 ${fp(a.tlsCert)}`);
    // as a Secret volume does it: new files put in place by rename
    await writeFile(join(dir, 'tls.key.new'), b.tlsKey);
    await writeFile(join(dir, 'tls.crt.new'), b.tlsCert);
    await rename(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
    await rename(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
    expect(await waitFor(async () => (await handshake(s.port, b.caBundle)) === `200 ${fp(b.tlsCert)}`, { what: 'the new certificate served', timeoutMs: 10_000, intervalMs: 50 })).toBe(true);
  });

  it('answers 404 off its paths and 405 for a GET of the webhook path', async () => {
    const s = await startWebhookServer({ bindAddress: '127.0.0.1:0', certificate: { cert: a.tlsCert, key: a.tlsKey }, decide, log });
    servers.push(s);
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: s.port, path, ca: a.caBundle, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await status('/nope')).toBe(404);
    expect(await status('/validate-eviction')).toBe(405);
  });
});
