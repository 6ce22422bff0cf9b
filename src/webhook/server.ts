// The webhook's HTTPS server: POST /validate-eviction and GET /healthz. Its certificate changes
// without a restart, like controller-runtime's certwatcher: from files (a mounted Secret, e.g.
// cert-manager's; checked on every change of the directory and on an interval, since a Secret
// volume swaps a symlink) or in memory (the operator's own certificates). A new pair that does not
// load is logged and the old one kept. Any failure while answering becomes "allowed, with a
// warning": a webhook fault never holds an eviction.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { allow, classifyReview, reviewResponse, type AdmissionResponse, type EvictionRequest } from './admission.ts';
import type { KeyPair } from './certs.ts';

export const VALIDATE_EVICTION_PATH = '/validate-eviction';
const MAX_BODY_BYTES = 3 * 1024 * 1024; // the apiserver's own request limit is 3 MiB

export interface WebhookServerOptions {
  /** HOST:PORT; an empty host means all interfaces (in a pod, the Service must reach it). */
  bindAddress: string;
  /** The first certificate; later ones through setCertificate() or from certDir. */
  certificate?: KeyPair;
  /** Serve tls.crt and tls.key from this directory, reloaded when they change. */
  certDir?: string;
  /** How often certDir is re-read besides on change events (default 10 s, as certwatcher). */
  certPollMs?: number;
  decide: (ev: EvictionRequest) => Promise<AdmissionResponse>;
  log: Logger;
}

export interface RunningWebhookServer {
  url: string;
  port: number;
  /** Serves this certificate from the next TLS handshake on; throws (keeping the old one) when it does not load. */
  setCertificate(pair: KeyPair): void;
  /** The PEM certificate served now. */
  currentCertificate(): string | undefined;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

export async function handleReview(raw: string, decide: WebhookServerOptions['decide'], log: Logger): Promise<{ status: number; body: unknown }> {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    return { status: 400, body: { message: `cedana-operator: the request body is not JSON (${(err as Error).message})` } };
  }
  const c = classifyReview(body);
  if (c.kind === 'answer') {
    log.debug({ uid: c.response.uid, why: c.response.warnings?.[0] }, 'admission review answered without a decision');
    return { status: 200, body: reviewResponse(c.response) };
  }
  const ev = c.eviction;
  try {
    const response = await decide(ev);
    log.debug({ pod: `${ev.namespace}/${ev.name}`, allowed: response.allowed, dryRun: ev.dryRun }, 'eviction decided');
    return { status: 200, body: reviewResponse(response) };
  } catch (err) {
    log.error({ err, pod: `${ev.namespace}/${ev.name}` }, 'eviction decision failed; allowed');
    return {
      status: 200,
      body: reviewResponse(allow(ev.uid, `cedana-operator: could not decide on the eviction of pod ${ev.namespace}/${ev.name} (${err instanceof Error ? err.message : String(err)}); not held`)),
    };
  }
}

export async function startWebhookServer(o: WebhookServerOptions): Promise<RunningWebhookServer> {
  const log = o.log;
  let current: KeyPair | undefined = o.certificate;
  if (!current && o.certDir) current = await readPair(o.certDir);
  if (!current) throw new Error('webhook server: no certificate (give one, or a certDir with tls.crt and tls.key)');

  const server: Server = createServer({ cert: current.cert, key: current.key, minVersion: 'TLSv1.2' }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== VALIDATE_EVICTION_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'POST' }).end('POST an admission.k8s.io/v1 AdmissionReview\n');
      return;
    }
    void (async () => {
      const raw = await readBody(req);
      if (raw === undefined) {
        sendJson(res, 413, { message: `cedana-operator: the request body is larger than ${String(MAX_BODY_BYTES)} bytes` });
        return;
      }
      const { status, body } = await handleReview(raw, o.decide, log);
      sendJson(res, status, body);
    })().catch((err: unknown) => {
      log.warn({ err }, 'webhook request failed');
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', (err) => {
    log.debug({ err }, 'webhook TLS handshake failed');
  });

  const setCertificate = (pair: KeyPair): void => {
    // createSecureContext throws on a key that does not match or a PEM that does not parse.
    createSecureContext({ cert: pair.cert, key: pair.key });
    server.setSecureContext({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' });
    current = pair;
  };

  const i = o.bindAddress.lastIndexOf(':');
  const host = o.bindAddress.slice(0, i).replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(o.bindAddress.slice(i + 1)), host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  let watcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;
  if (o.certDir) {
    const dir = o.certDir;
    let reloading = false;
    const reload = (): void => {
      if (reloading) return;
      reloading = true;
      readPair(dir)
        .then((pair) => {
          if (!pair || (pair.cert === current?.cert && pair.key === current.key)) return;
          try {
            setCertificate(pair);
            log.info({ certDir: dir }, 'webhook serving certificate reloaded');
          } catch (err) {
            log.warn({ err, certDir: dir }, 'new webhook certificate does not load; keeping the old one');
          }
        })
        .catch((err: unknown) => {
          log.warn({ err, certDir: dir }, 'could not read the webhook certificate files');
        })
        .finally(() => (reloading = false));
    };
    try {
      watcher = watch(dir, reload);
      watcher.on('error', (err) => {
        log.warn({ err, certDir: dir }, 'watching the certificate directory failed; polling only');
      });
    } catch (err) {
      log.warn({ err, certDir: dir }, 'cannot watch the certificate directory; polling only');
    }
    poll = setInterval(reload, o.certPollMs ?? 10_000);
    poll.unref();
  }

  log.info({ url: `https://${shownHost}:${String(addr.port)}`, certDir: o.certDir }, 'webhook server listening');
  return {
    url: `https://${shownHost}:${String(addr.port)}`,
    port: addr.port,
    setCertificate,
    currentCertificate: () => current?.cert,
    close: () =>
      new Promise<void>((resolve) => {
        watcher?.close();
        clearInterval(poll);
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}

async function readPair(dir: string): Promise<KeyPair | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(join(dir, 'tls.crt'), 'utf8'), readFile(join(dir, 'tls.key'), 'utf8')]);
    return { cert, key };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
