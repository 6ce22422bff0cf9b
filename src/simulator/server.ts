// The HTTP side: node:http, one request at a time through auth → faults → route → answer, with an
// Exchange for every answered request and one log line each (never the token).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { statsOf, type SimulatorStats } from './admin.ts';
import { bearerMatches, redactAuthorization } from './auth.ts';
import type { RequestContext, SimulatorCore } from './context.ts';
import { createFaultInjector, malform, type Faults } from './faults.ts';
import { ApiFailure, errorReply, parseJsonBody, TEXT, type ErrorStyle, type Reply } from './http.ts';
import { declarativeRestore } from './declarative.ts';
import { createLifecycle, type SimulatorHooks } from './lifecycle.ts';
import { DEFAULT_SYNC_LAG_MS, Profile } from './profile.ts';
import { createRouter, routesFor, type Match, type Router } from './routes/index.ts';
import { Store } from './state.ts';

export type { SimulatorStats } from './admin.ts';
export type { Faults, Malformation } from './faults.ts';
export type { Profile } from './profile.ts';
export type { SimulatorHooks } from './lifecycle.ts';
export type { StoredUpload } from './state.ts';

export interface SimulatorOptions {
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Bearer token required on every endpoint, admin included. */
  token: string;
  /** Time each action status step takes (default 300 ms). */
  stepMs?: number;
  /** Injectable clock (ms); tests drive time with it. */
  now?: () => number;
  faults?: Partial<Faults>;
  /** Default: pino at LOG_LEVEL or 'info'. One line per request (method, path, status, ms), never the token. */
  logger?: Logger;
  /** Called for every answered request (used by contract tests). */
  onExchange?: (e: Exchange) => void;
  hooks?: SimulatorHooks;
  /** `reference` (default): the reference pages. `service`: the real service's ways (docs/simulator.md). */
  profile?: Profile;
  /**
   * Service profile: a pod created less than this long ago (by the podCreatedAt hook, on the
   * simulator's clock) gets 404 "Failed to find checkpointable resource". Default 2000; 0 turns it off.
   */
  syncLagMs?: number;
}

export interface RunningSimulator {
  url: string;
  port: number;
  profile: Profile;
  close(): Promise<void>;
  setFaults(f: Partial<Faults>): void;
  faults(): Faults;
  stats(): SimulatorStats;
  reset(): void;
}

export interface Exchange {
  method: string;
  path: string;
  /** The operation's path as the document writes it ("/v2/checkpoint/status/{action_id}"); the raw path when no route matched. */
  pathTemplate: string;
  query: Record<string, string>;
  /** Lower-case names; the Authorization value is redacted. */
  requestHeaders: Record<string, string | undefined>;
  /** Parsed JSON, or the raw string when it is not JSON, or undefined when empty. */
  requestBody: unknown;
  status: number;
  responseContentType: string;
  /** Parsed JSON or a string. */
  responseBody: unknown;
  /** Lower-case names (e.g. retry-after). */
  responseHeaders?: Record<string, string | undefined>;
  /** The answer was injected by fault injection (500/503/429), or a 200 malformed by it. */
  faulted: boolean;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export function defaultLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'cedana-simulator' }, redact: ['token', '*.authorization', 'headers.authorization'] });
}

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  if (opts.token === '') throw new Error('startSimulator: token must not be empty');
  const logger = opts.logger ?? defaultLogger();
  const now = opts.now ?? Date.now;
  const stepMs = opts.stepMs ?? 300;
  const hooks = opts.hooks ?? {};
  const profile = Profile.parse(opts.profile ?? 'reference');
  const syncLagMs = opts.syncLagMs ?? DEFAULT_SYNC_LAG_MS;
  if (!Number.isInteger(syncLagMs) || syncLagMs < 0) throw new Error('startSimulator: syncLagMs must be a whole number of ms, 0 or more');
  const store = new Store();
  const faults = createFaultInjector(opts.faults);
  const lifecycle = createLifecycle({ store, now, stepMs, hooks, logger });
  // One user per simulator: what GET /v2/user answers for its token.
  const userId = randomUUID();
  const core: SimulatorCore = { store, lifecycle, faults, hooks, now, stepMs, logger, profile, syncLagMs, userId };
  hooks.onPodCreated?.((pod) => {
    declarativeRestore(core, pod);
  });
  const router = createRouter(routesFor(profile));
  const sockets = new Set<Socket>();
  const closing = new AbortController();

  const server = createServer((req, res) => {
    handle(core, router, opts, closing.signal, req, res).catch((err: unknown) => {
      // A client that went away mid-request is not the simulator's failure.
      if (req.destroyed || res.destroyed) logger.debug({ err }, 'request aborted by the client');
      else logger.error({ err }, 'simulator: unexpected failure while answering');
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, seed: faults.current().seed, stepMs, profile }, 'cedana simulator listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    profile,
    close() {
      closed ??= new Promise<void>((resolve) => {
        lifecycle.stop();
        closing.abort();
        server.close(() => {
          resolve();
        });
        // Hanging requests and keep-alive connections would hold close() open: end them all.
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
    setFaults: (f) => {
      faults.update(f);
    },
    faults: () => faults.current(),
    stats: () => statsOf(core),
    reset: () => {
      store.clear();
    },
  };
}

async function readBody(req: IncomingMessage): Promise<{ raw: string; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { raw: '', tooLarge: true };
    chunks.push(chunk);
  }
  return { raw: Buffer.concat(chunks).toString('utf8'), tooLarge: false };
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    const value = Array.isArray(v) ? v.join(', ') : v;
    out[k] = k === 'authorization' && value !== undefined ? redactAuthorization(value) : value;
  }
  return out;
}

/** Go's net/http answers for what no route serves: what the real (Go) service says. */
const goMux = (status: 404 | 405, headers?: Record<string, string>): Reply => ({
  status,
  contentType: TEXT,
  body: status === 404 ? '404 page not found\n' : 'Method Not Allowed\n',
  ...(headers ? { headers } : {}),
});

async function handle(core: SimulatorCore, router: Router, opts: SimulatorOptions, closing: AbortSignal, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const method = req.method ?? 'GET';
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1))) if (!(k in query)) query[k] = v;
  const service = core.profile === 'service';
  // The service answers every error as {message}; the reference in the operation's own style.
  const styled = (own: ErrorStyle): ErrorStyle => (service ? 'service' : own);
  const style: ErrorStyle = styled(path.startsWith('/v1/') ? 'v1' : 'v2');
  const { raw, tooLarge } = await readBody(req);
  const body = parseJsonBody(raw);

  // Check-on-read: pending restores that reached their time start their hook now.
  core.lifecycle.sweep();

  let faulted = false;
  let key = `${method} (unknown route)`;
  let pathTemplate = path;
  const answer = (reply: Reply, after?: 'drop'): void => {
    const ms = Math.round(performance.now() - started);
    if (res.destroyed) return;
    if (after === 'drop') {
      core.logger.info({ method, path, status: reply.status, ms, fault: 'dropAfterCommit' }, 'request committed, answer dropped');
      res.socket?.destroy();
      return;
    }
    const payload = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    const headers: Record<string, string | number> = { ...(reply.headers ?? {}), 'content-length': Buffer.byteLength(payload) };
    if (reply.contentType !== '') headers['content-type'] = reply.contentType;
    if (tooLarge) headers.connection = 'close';
    res.writeHead(reply.status, headers);
    res.end(payload);
    core.logger.info({ method, path, status: reply.status, ms, ...(faulted ? { faulted } : {}) }, 'request');
    opts.onExchange?.({
      method,
      path,
      pathTemplate,
      query,
      requestHeaders: headersOf(req),
      requestBody: body.kind === 'json' ? body.value : body.kind === 'invalid' ? body.raw : undefined,
      status: reply.status,
      responseContentType: reply.contentType,
      responseBody: reply.body,
      responseHeaders: Object.fromEntries(Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      faulted,
    });
  };

  let match: Match;
  try {
    match = router(method, path);
  } catch (err) {
    if (!(err instanceof ApiFailure)) throw err;
    core.store.countCall(key);
    answer(errorReply(style, err.status, err.message));
    return;
  }
  if (match.kind === 'route') {
    key = match.key;
    pathTemplate = match.route.template;
  }
  if (match.kind !== 'route' || !match.route.admin) core.store.countCall(key);

  if (!bearerMatches(req.headers.authorization, opts.token)) {
    answer(errorReply(style, 401, service ? 'Invalid API key' : 'missing or invalid bearer token', undefined, { 'www-authenticate': 'Bearer' }));
    return;
  }
  if (match.kind === 'none') {
    answer(service ? goMux(404) : errorReply(style, 404, `no such endpoint: ${method} ${path}`));
    return;
  }
  if (match.kind === 'wrongMethod') {
    // No documented operation, so no documented answer either: say what HTTP (RFC 9110) says, 405 with Allow.
    const allow = { allow: match.allowed.join(', ') };
    answer(service ? goMux(405, allow) : errorReply(style, 405, `method ${method} not allowed on ${path}`, undefined, allow));
    return;
  }
  if (tooLarge) {
    answer(errorReply(style, 400, `request body larger than ${MAX_BODY_BYTES} bytes`));
    return;
  }

  const { route } = match;
  const ctx: RequestContext = { core, key, params: match.params, query, body };
  const run = async (): Promise<Reply> => {
    try {
      return await route.handle(ctx);
    } catch (err) {
      if (err instanceof ApiFailure) return errorReply(styled(route.style), err.status, err.message, err.details, err.headers);
      core.logger.error({ err, key }, 'handler failed');
      return errorReply(styled(route.style), 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (route.admin) {
    answer(await run());
    return;
  }

  const fault = core.faults.requestFault(key);
  const latency = core.faults.latencyFor(key);
  if (fault.kind !== 'none') core.store.countFault(fault.kind === 'error' ? `error${fault.status}` : fault.kind === 'malformed' ? `malformed:${fault.malformation}` : fault.kind);
  if (fault.kind === 'hang') {
    // Never answered: the client times out, or close() destroys the socket.
    core.logger.info({ method, path, fault: 'hang' }, 'request left hanging');
    return;
  }
  if (latency > 0) {
    try {
      await sleep(latency, undefined, { signal: closing });
    } catch {
      return; // the simulator is closing; its sockets are gone
    }
  }
  switch (fault.kind) {
    case 'drop':
      core.logger.info({ method, path, fault: 'drop' }, 'connection dropped');
      res.socket?.destroy();
      return;
    case 'rateLimit':
      faulted = true;
      answer(errorReply(styled(route.style), 429, 'rate limit exceeded (simulated)', undefined, { 'retry-after': String(fault.retryAfterSeconds) }));
      return;
    case 'error':
      faulted = true;
      answer(errorReply(styled(route.style), fault.status, fault.status === 503 ? 'service unavailable (simulated)' : 'internal server error (simulated)'));
      return;
    case 'dropAfterCommit':
      answer(await run(), 'drop');
      return;
    case 'malformed': {
      // It takes effect, like dropAfterCommit, but the answer arrives broken.
      const reply = await run();
      if (reply.status === 200) faulted = true;
      answer(reply.status === 200 ? malform(reply, fault.malformation) : reply);
      return;
    }
    case 'none':
      answer(await run());
      return;
  }
}
