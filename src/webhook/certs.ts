// The webhook's serving certificate, managed by the operator itself (as open-policy-agent's
// cert-controller does for Gatekeeper), so that one `helm install` needs no cert-manager: a CA and a
// serving certificate signed by it live in one Secret of the operator's namespace; the CA bundle is
// patched into the operator's own ValidatingWebhookConfiguration; both are renewed at 2/3 of their
// life. Every replica reads the Secret and serves what it holds: the first to find it missing creates
// it (a second create loses with 409 and reads the winner's), a renewal is an update conditional on
// the resourceVersion read, and the others pick it up at their next look. A CA renewal keeps the old
// CA in the bundle until it expires, so a replica still serving the old certificate stays trusted.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import forge from 'node-forge';
import type { Logger } from 'pino';
import { z } from 'zod';
import { paths, type KubeClient } from '../kube/client.ts';
import { statusCodeOf } from '../kube/errors.ts';

const DAY = 86_400_000;
export const DEFAULT_CA_LIFETIME_MS = 10 * 365 * DAY;
export const DEFAULT_CERT_LIFETIME_MS = 365 * DAY;
/** Renew once this share of a certificate's life has passed. */
export const RENEW_AT = 2 / 3;

export interface KeyPair {
  cert: string;
  key: string;
}

/** What the Secret holds. `caBundle` is what clients trust: the current CA, plus the previous one while it is valid. */
export interface CertBundle {
  caCert: string;
  caKey: string;
  tlsCert: string;
  tlsKey: string;
  caBundle: string;
}

export interface CertSpec {
  dnsNames: string[];
  ipAddresses: string[];
  now: number;
  caLifetimeMs?: number;
  certLifetimeMs?: number;
}

/** The names the apiserver dials a Service by, plus loopback (tests, port-forwards). */
export function serviceSans(service: string, namespace: string): { dnsNames: string[]; ipAddresses: string[] } {
  return {
    dnsNames: [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, 'localhost'],
    ipAddresses: ['127.0.0.1'],
  };
}

function rsaKeys(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

// forge writes CRLF; one line ending everywhere keeps a re-assembled bundle byte-identical (no needless patch).
const pemOf = (cert: Parameters<typeof forge.pki.certificateToPem>[0]): string => forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');

// A positive serial number of 16 random bytes (RFC 5280: at most 20 octets, positive).
const serial = (): string => `01${randomBytes(15).toString('hex')}`;

function certificate(subjectCn: string, publicPem: string, notBefore: number, lifetimeMs: number) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = serial();
  // A minute back: a replica or an apiserver whose clock is a little behind still accepts it.
  cert.validity.notBefore = new Date(notBefore - 60_000);
  cert.validity.notAfter = new Date(notBefore + lifetimeMs);
  cert.setSubject([{ name: 'commonName', value: subjectCn }]);
  return cert;
}

export function generateCa(now: number, lifetimeMs = DEFAULT_CA_LIFETIME_MS): KeyPair {
  const { privatePem, publicPem } = rsaKeys();
  // forge writes names as PrintableString, which Go's x509 (the apiserver) holds to: no '@' or '_'.
  const cn = `cedana-operator-webhook-ca-${String(Math.floor(now / 1000))}`;
  const cert = certificate(cn, publicPem, now, lifetimeMs);
  cert.setIssuer([{ name: 'commonName', value: cn }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privatePem), forge.md.sha256.create());
  return { cert: pemOf(cert), key: privatePem };
}

export function issueServing(ca: KeyPair, dnsNames: string[], ipAddresses: string[], now: number, lifetimeMs = DEFAULT_CERT_LIFETIME_MS): KeyPair {
  const { privatePem, publicPem } = rsaKeys();
  const caX509 = new X509Certificate(ca.cert);
  const cert = certificate(dnsNames[0] ?? ipAddresses[0] ?? 'cedana-operator-webhook', publicPem, now, lifetimeMs);
  // The issuer is the CA's subject, copied as forge reads it.
  const issuerCn = /CN=([^\n,]+)/.exec(caX509.subject)?.[1] ?? 'cedana-operator-webhook-ca';
  cert.setIssuer([{ name: 'commonName', value: issuerCn }]);
  // A serving certificate must not outlive its CA.
  const caEnd = Date.parse(caX509.validTo);
  if (cert.validity.notAfter.getTime() > caEnd) cert.validity.notAfter = new Date(caEnd);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ipAddresses.map((ip) => ({ type: 7, ip }))] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.key), forge.md.sha256.create());
  return { cert: pemOf(cert), key: privatePem };
}

/** The certificates of a PEM bundle, in order; what does not parse is left out. */
export function splitPem(bundle: string): string[] {
  return [...bundle.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

const parse = (pem: string): X509Certificate | undefined => {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
};

/** Expired, not yet valid, or past RENEW_AT of its life. */
export function dueForRenewal(cert: X509Certificate, now: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  // Not yet valid by more than the minute a certificate is backdated: a replica's clock was wrong.
  if (!Number.isFinite(from) || !Number.isFinite(to) || now >= to || now < from) return true;
  return now >= from + (to - from) * RENEW_AT;
}

export type Plan = { action: 'keep' } | { action: 'serving'; why: string } | { action: 'all'; why: string };

/** What to do with the certificates found (pure: the clock is the spec's). */
export function planRenewal(current: CertBundle | undefined, spec: CertSpec): Plan {
  if (!current) return { action: 'all', why: 'no certificates yet' };
  const ca = parse(current.caCert);
  if (!ca?.ca) return { action: 'all', why: 'the CA certificate does not parse' };
  try {
    if (!ca.checkPrivateKey(createPrivateKey(current.caKey))) return { action: 'all', why: 'the CA key does not match its certificate' };
  } catch {
    return { action: 'all', why: 'the CA key does not parse' };
  }
  if (dueForRenewal(ca, spec.now)) return { action: 'all', why: `the CA expires ${ca.validTo}` };
  const tls = parse(current.tlsCert);
  if (!tls) return { action: 'serving', why: 'the serving certificate does not parse' };
  if (!tls.verify(ca.publicKey)) return { action: 'serving', why: 'the serving certificate is not signed by the CA' };
  try {
    if (!tls.checkPrivateKey(createPrivateKey(current.tlsKey))) return { action: 'serving', why: 'the serving key does not match its certificate' };
  } catch {
    return { action: 'serving', why: 'the serving key does not parse' };
  }
  if (dueForRenewal(tls, spec.now)) return { action: 'serving', why: `the serving certificate expires ${tls.validTo}` };
  const missing = [...spec.dnsNames.filter((n) => tls.checkHost(n, { wildcards: false }) !== n), ...spec.ipAddresses.filter((ip) => tls.checkIP(ip) !== ip)];
  if (missing.length > 0) return { action: 'serving', why: `the serving certificate does not name ${missing.join(', ')}` };
  if (!splitPem(current.caBundle).some((pem) => parse(pem)?.fingerprint256 === ca.fingerprint256)) return { action: 'serving', why: 'the CA bundle lacks the CA' };
  return { action: 'keep' };
}

/** The certificates to serve: the current ones, or renewed as the plan says. */
export function ensureBundle(current: CertBundle | undefined, spec: CertSpec): { bundle: CertBundle; plan: Plan } {
  const plan = planRenewal(current, spec);
  if (plan.action === 'keep' && current) return { bundle: current, plan };
  let ca: KeyPair;
  let caBundle: string;
  if (plan.action === 'all' || !current) {
    ca = generateCa(spec.now, spec.caLifetimeMs);
    // The old CA stays trusted while it is valid: replicas serving its certificate keep working.
    const old = current ? parse(current.caCert) : undefined;
    caBundle = ca.cert + (old?.ca && Date.parse(old.validTo) > spec.now ? old.toString() : '');
  } else {
    ca = { cert: current.caCert, key: current.caKey };
    const trusted = splitPem(current.caBundle).filter((pem) => {
      const c = parse(pem);
      return c !== undefined && Date.parse(c.validTo) > spec.now;
    });
    caBundle = trusted.some((pem) => parse(pem)?.fingerprint256 === parse(ca.cert)?.fingerprint256) ? trusted.join('') : ca.cert + trusted.join('');
  }
  const tls = issueServing(ca, spec.dnsNames, spec.ipAddresses, spec.now, spec.certLifetimeMs);
  return { bundle: { caCert: ca.cert, caKey: ca.key, tlsCert: tls.cert, tlsKey: tls.key, caBundle }, plan };
}

const SECRET_KEYS = { caCert: 'ca.crt', caKey: 'ca.key', tlsCert: 'tls.crt', tlsKey: 'tls.key', caBundle: 'ca-bundle.crt' } as const;
const SecretData = z.object(Object.fromEntries(Object.values(SECRET_KEYS).map((k) => [k, z.string().min(1)])) as Record<(typeof SECRET_KEYS)[keyof typeof SECRET_KEYS], z.ZodString>);

const Meta = z.looseObject({ resourceVersion: z.string().optional() });
/** The parts of the Secret and of the ValidatingWebhookConfiguration read here. */
const TlsSecret = z.looseObject({ metadata: Meta.optional(), data: z.record(z.string(), z.string()).nullish() });
const WebhookConfiguration = z.looseObject({
  metadata: Meta.optional(),
  webhooks: z.array(z.looseObject({ clientConfig: z.looseObject({ caBundle: z.string().optional() }) })).nullish(),
});

/** The bundle a Secret holds, or undefined when it holds none (or a damaged one). */
export function bundleFromSecret(secret: { data?: Record<string, string> | null | undefined } | undefined): CertBundle | undefined {
  const data = SecretData.safeParse(secret?.data ?? {});
  if (!data.success) return undefined;
  const d = (k: keyof typeof SECRET_KEYS): string => Buffer.from(data.data[SECRET_KEYS[k]], 'base64').toString('utf8');
  return { caCert: d('caCert'), caKey: d('caKey'), tlsCert: d('tlsCert'), tlsKey: d('tlsKey'), caBundle: d('caBundle') };
}

export function secretData(b: CertBundle): Record<string, string> {
  return Object.fromEntries(Object.entries(SECRET_KEYS).map(([field, key]) => [key, Buffer.from(b[field as keyof CertBundle], 'utf8').toString('base64')]));
}

export interface SelfManagedCertsOptions {
  kube: KubeClient;
  /** The operator's own namespace: the Secret lives there, and the Service it is named for. */
  namespace: string;
  secretName: string;
  serviceName: string;
  /** The ValidatingWebhookConfiguration whose caBundle is kept current. */
  webhookConfigName: string;
  /** Called with the certificate to serve, at start and whenever the Secret's content changes. */
  onCertificate: (pair: KeyPair) => void;
  log: Logger;
  /** How often every replica reads the Secret (renewals by another replica arrive this late at most). */
  checkIntervalMs?: number;
  now?: () => number;
  caLifetimeMs?: number;
  certLifetimeMs?: number;
}

export class SelfManagedCerts {
  private readonly o: SelfManagedCertsOptions;
  private readonly kube: KubeClient;
  private timer: NodeJS.Timeout | undefined;
  private served: string | undefined;
  private running: Promise<CertBundle> | undefined;

  constructor(o: SelfManagedCertsOptions) {
    this.o = o;
    this.kube = o.kube;
  }

  /** One sync (it must succeed: without a certificate there is nothing to serve), then one every checkIntervalMs. */
  async start(): Promise<CertBundle> {
    const bundle = await this.sync();
    this.timer = setInterval(() => {
      this.sync().catch((err: unknown) => {
        this.o.log.warn({ err, secret: `${this.o.namespace}/${this.o.secretName}` }, 'webhook certificate check failed; retrying at the next interval');
      });
    }, this.o.checkIntervalMs ?? 60_000);
    this.timer.unref();
    return bundle;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the Secret, renews or creates what is due, serves its content, patches the CA bundle. */
  sync(): Promise<CertBundle> {
    this.running ??= this.syncOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async syncOnce(): Promise<CertBundle> {
    const { namespace, secretName: name, log } = this.o;
    const now = this.o.now ?? Date.now;
    const sans = serviceSans(this.o.serviceName, namespace);
    const spec = (): CertSpec => ({
      ...sans,
      now: now(),
      ...(this.o.caLifetimeMs !== undefined ? { caLifetimeMs: this.o.caLifetimeMs } : {}),
      ...(this.o.certLifetimeMs !== undefined ? { certLifetimeMs: this.o.certLifetimeMs } : {}),
    });
    for (let attempt = 0; ; attempt++) {
      let secret: z.infer<typeof TlsSecret> | undefined;
      try {
        secret = TlsSecret.parse(await this.kube.get(paths.secret(namespace, name)));
      } catch (err) {
        if (statusCodeOf(err) !== 404) throw err;
      }
      const { bundle, plan } = ensureBundle(bundleFromSecret(secret), spec());
      try {
        if (plan.action !== 'keep') {
          const body: V1Secret = {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'kubernetes.io/tls',
            metadata: {
              name,
              namespace,
              labels: { 'app.kubernetes.io/managed-by': 'cedana-operator' },
              ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
            },
            data: secretData(bundle),
          };
          // Create, or update conditional on what was read: of two replicas, one wins and the other reads its result.
          if (secret) await this.kube.replace(paths.secret(namespace, name), body);
          else await this.kube.create(paths.secrets(namespace), body);
          log.info({ secret: `${namespace}/${name}`, renewed: plan.action, why: plan.why }, 'webhook certificate written');
        }
      } catch (err) {
        if (statusCodeOf(err) === 409 && attempt < 5) continue; // another replica wrote first: use its certificates
        throw err;
      }
      this.serve(bundle);
      await this.patchCaBundle(bundle.caBundle);
      return bundle;
    }
  }

  private serve(bundle: CertBundle): void {
    if (this.served === bundle.tlsCert) return;
    this.served = bundle.tlsCert;
    this.o.onCertificate({ cert: bundle.tlsCert, key: bundle.tlsKey });
  }

  /** Every webhook of our configuration trusts the bundle; a configuration not installed (yet) is skipped. */
  private async patchCaBundle(caBundle: string): Promise<void> {
    const name = this.o.webhookConfigName;
    let vwc;
    try {
      vwc = WebhookConfiguration.parse(await this.kube.get(paths.validatingWebhookConfiguration(name)));
    } catch (err) {
      if (statusCodeOf(err) === 404) {
        this.o.log.debug({ webhookConfiguration: name }, 'ValidatingWebhookConfiguration not found; no CA bundle to patch');
        return;
      }
      throw err;
    }
    const want = Buffer.from(caBundle, 'utf8').toString('base64');
    const ops: object[] = (vwc.webhooks ?? []).flatMap((w, i) => ((w.clientConfig.caBundle ?? '') === want ? [] : [{ op: 'add', path: `/webhooks/${String(i)}/clientConfig/caBundle`, value: want }]));
    if (ops.length === 0) return;
    // The test keeps the indexes honest: a configuration changed since the read fails the patch, and the next sync redoes it.
    const body = [{ op: 'test', path: '/metadata/resourceVersion', value: vwc.metadata?.resourceVersion ?? '' }, ...ops];
    await this.kube.jsonPatch(paths.validatingWebhookConfiguration(name), body);
    this.o.log.info({ webhookConfiguration: name, webhooks: ops.length }, 'CA bundle patched into the ValidatingWebhookConfiguration');
  }
}
