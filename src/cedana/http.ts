// The transport: one pooled undici Agent, bearer auth, a per-request deadline, retries for
// idempotent calls, and a zod check of every answer. It knows HTTP and the contract's shapes, not
// the meaning of any operation (that is client.ts).
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Agent } from 'undici';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CedanaApiError, detailsText, formatIssues, redactSecret, type CedanaApiErrorInit } from './errors.ts';
import { isIdempotent, retryDelay, sleep as defaultSleep, parseRetryAfter, type RetryPolicy, type Sleep } from './retry.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One HTTP exchange, for metrics. `status` is the HTTP status, or why there was none. */
export interface CallInfo {
  operation: string;
  method: HttpMethod;
  pathTemplate: string;
  status: number | 'network' | 'timeout';
  durationMs: number;
  /** 1 for the first attempt. */
  attempt: number;
}

export interface TransportOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  retry: RetryPolicy;
  userAgent: string;
  caBundle?: string | undefined;
  logger?: Logger | undefined;
  onCall?: ((info: CallInfo) => void) | undefined;
  sleep?: Sleep | undefined;
  random?: (() => number) | undefined;
}

/**
 * How a 200 body is read: JSON checked by a schema, or a text/plain body (trimmed, one pair of
 * JSON quotes taken off) checked by one; `none` takes any 200 or 204 and ignores the body.
 */
export type ResponseSpec<T> = { type: 'json'; schema: z.ZodType<T> } | { type: 'text'; schema: z.ZodType<T> } | { type: 'none' };

export interface Request<T> {
  /** The client method's name: the label in errors, logs and metrics. */
  operation: string;
  method: HttpMethod;
  pathTemplate: string;
  /** Concrete path, segments already encoded; no query string. */
  path: string;
  query?: Record<string, string> | undefined;
  /** Already validated against the request schema. */
  body?: unknown;
  response: ResponseSpec<T>;
  /** The style the reference gives the operation's errors (v2 ApiError, v1 `{error}`); every shape the service has used is read either way. */
  errorStyle: 'v2' | 'v1';
  signal?: AbortSignal | undefined;
}

/** The zod messages say UUID where the OpenAPI document says `format: uuid`. */
const contractErrorMap: z.core.$ZodErrorMap = (iss) => (iss.code === 'invalid_format' && (iss.format === 'guid' || iss.format === 'uuid') ? 'Invalid UUID' : undefined);

/** `root` names the value in messages: `body` for bodies, the parameter's name for parameters. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, root = 'body'): { ok: true; value: T } | { ok: false; issues: string } {
  const r = schema.safeParse(value, { error: contractErrorMap });
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: formatIssues(r.error.issues, root) };
}

const mediaType = (header: string | string[] | undefined): string | undefined => (Array.isArray(header) ? header[0] : header)?.split(';')[0]?.trim().toLowerCase() || undefined;

/** undici's own timeouts (connect, headers, body inactivity) count as timeouts too. */
const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Raised by our deadline timer; told apart from the caller's own abort. */
class DeadlineExceeded extends Error {}

const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class Transport {
  readonly #agent: Agent;
  readonly #origin: string;
  readonly #prefix: string;
  readonly #opts: TransportOptions;
  readonly #sleep: Sleep;
  #closed = false;

  constructor(opts: TransportOptions) {
    const url = new URL(opts.baseUrl);
    this.#origin = url.origin;
    // A base URL may carry a path prefix (https://host/api); the operations' paths go under it.
    this.#prefix = url.pathname.replace(/\/+$/, '');
    this.#opts = opts;
    this.#sleep = opts.sleep ?? defaultSleep;
    this.#agent = new Agent({
      connectTimeout: opts.timeoutMs,
      // Our own deadline covers the whole exchange; these are backstops of the same length.
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      maxResponseSize: MAX_RESPONSE_BYTES,
      ...(opts.caBundle === undefined ? {} : { connect: { ca: opts.caBundle } }),
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#agent.close();
  }

  /** Sends the request, retrying idempotent methods on retryable failures; returns the parsed 200 body. */
  async send<T>(req: Request<T>): Promise<T> {
    if (this.#closed) throw new Error('the Cedana client is closed');
    const maxAttempts = isIdempotent(req.method) ? Math.max(1, this.#opts.retry.maxAttempts) : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#attempt(req, attempt);
      } catch (err) {
        if (!(err instanceof CedanaApiError) || !err.retryable || attempt >= maxAttempts || req.signal?.aborted === true) throw err;
        const delayMs = retryDelay(err, attempt, this.#opts.retry, this.#opts.random);
        this.#opts.logger?.debug({ operation: req.operation, method: req.method, pathTemplate: req.pathTemplate, attempt, delayMs, kind: err.kind, status: err.status }, 'cedana call will be retried');
        await this.#sleep(delayMs, req.signal);
      }
    }
  }

  async #attempt<T>(req: Request<T>, attempt: number): Promise<T> {
    const started = performance.now();
    let status: CallInfo['status'] = 'network';
    try {
      const raw = await this.#exchange(req);
      status = raw.status;
      return this.#interpret(req, raw);
    } catch (err) {
      if (err instanceof CedanaApiError && err.kind === 'timeout') status = 'timeout';
      throw err;
    } finally {
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      // A call the caller aborted is not the server's doing: neither counted nor logged as one.
      if (req.signal?.aborted !== true || typeof status === 'number') this.#report(req, attempt, status, durationMs);
    }
  }

  #report(req: Request<unknown>, attempt: number, status: CallInfo['status'], durationMs: number): void {
    const info: CallInfo = { operation: req.operation, method: req.method, pathTemplate: req.pathTemplate, status, durationMs, attempt };
    this.#opts.logger?.debug(info, 'cedana call');
    try {
      this.#opts.onCall?.(info);
    } catch (err) {
      // A broken metrics hook must not fail the call it observes.
      this.#opts.logger?.warn({ err }, 'cedana onCall hook threw');
    }
  }

  /** One request on the wire, body read to the end, under one deadline for all of it. */
  async #exchange(req: Request<unknown>): Promise<RawResponse> {
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      deadline.abort(new DeadlineExceeded());
    }, this.#opts.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal;
    const hasBody = req.body !== undefined;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#opts.token}`,
      'user-agent': this.#opts.userAgent,
      accept: req.response.type === 'json' ? 'application/json' : 'text/plain, application/json',
    };
    if (hasBody) headers['content-type'] = 'application/json';
    const query = req.query && Object.keys(req.query).length > 0 ? `?${new URLSearchParams(req.query).toString()}` : '';
    try {
      const res = await this.#agent.request({
        origin: this.#origin,
        path: this.#prefix + req.path + query,
        method: req.method,
        headers,
        body: hasBody ? JSON.stringify(req.body) : null,
        signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      if (req.signal?.aborted === true && !deadline.signal.aborted) throw req.signal.reason;
      throw this.#transportError(req, err, deadline.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }

  #transportError(req: Request<unknown>, err: unknown, deadlineHit: boolean): CedanaApiError {
    const code = (err as { code?: unknown }).code;
    const codeStr = typeof code === 'string' ? code : undefined;
    const base = { operation: req.operation, method: req.method, path: req.path, cause: err };
    if (deadlineHit || (codeStr !== undefined && UNDICI_TIMEOUTS.has(codeStr))) {
      return new CedanaApiError({ ...base, kind: 'timeout', code: codeStr, description: `timed out after ${this.#opts.timeoutMs} ms` });
    }
    const message = this.#redact(err instanceof Error ? err.message : String(err));
    if (codeStr === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
      return new CedanaApiError({ ...base, kind: 'malformed', code: codeStr, description: `response body larger than ${MAX_RESPONSE_BYTES} bytes` });
    }
    // The socket's own cause (ECONNREFUSED, ECONNRESET) says more than undici's wrapper.
    const causeCode = (err as { cause?: { code?: unknown } }).cause?.code;
    const shown = typeof causeCode === 'string' ? causeCode : codeStr;
    const label = shown !== undefined && !message.includes(shown) ? `network error ${shown}` : 'network error';
    return new CedanaApiError({ ...base, kind: 'network', code: shown, description: `${label}: ${message}` });
  }

  #interpret<T>(req: Request<T>, raw: RawResponse): T {
    const base = { operation: req.operation, method: req.method, path: req.path, status: raw.status };
    const type = mediaType(raw.headers['content-type']);
    // A malformed answer is the server's (or a proxy's) fault and may pass: retryable, never a value.
    const malformed = (what: string): CedanaApiError => new CedanaApiError({ ...base, kind: 'malformed', description: `${this.#redact(what)} (${raw.status} response does not match the contract)` });

    if (raw.status < 200 || raw.status > 299) throw this.#httpError(req, raw, type);
    const spec = req.response;
    if (spec.type === 'none') {
      if (raw.status === 200 || raw.status === 204) return undefined as T;
      throw malformed(`unexpected status ${raw.status}`);
    }
    if (raw.status !== 200) throw malformed(`unexpected status ${raw.status}`);

    let value: unknown;
    if (spec.type === 'json') {
      if (type !== 'application/json') throw malformed(`content-type is ${type ?? 'missing'}, expected application/json`);
      try {
        value = JSON.parse(raw.text);
      } catch (err) {
        throw malformed(`body is not JSON: ${(err as Error).message}`);
      }
    } else {
      // Ids have come as text/plain, and JSON-quoted ("abc"), also as application/json strings.
      if (type !== 'text/plain' && type !== 'application/json') throw malformed(`content-type is ${type ?? 'missing'}, expected text/plain`);
      const unquoted = unquote(raw.text.trim());
      if (unquoted === undefined) throw malformed(`body is not a JSON string although the content-type is ${type}`);
      if (type === 'application/json' && unquoted === raw.text.trim()) throw malformed('body is not a JSON string although the content-type is application/json');
      // An empty id is no id: say so rather than "Invalid UUID".
      if (unquoted === '' && !spec.schema.safeParse('').success) throw malformed('empty body where a value was expected');
      value = unquoted;
    }
    const parsed = parseWith(spec.schema, value);
    if (!parsed.ok) throw malformed(parsed.issues);
    return parsed.value;
  }

  /** A non-2xx answer. Its body is read as any error shape Cedana has used; otherwise only the status speaks. */
  #httpError(req: Request<unknown>, raw: RawResponse, type: string | undefined): CedanaApiError {
    const init: CedanaApiErrorInit = {
      kind: 'http',
      operation: req.operation,
      method: req.method,
      path: req.path,
      status: raw.status,
      retryAfterMs: parseRetryAfter(raw.headers['retry-after']),
      description: '',
    };
    const body = this.#redact(readErrorBody(raw.text, type));
    init.code = body.code;
    init.apiMessage = body.message;
    init.details = body.details;
    const rejected = raw.status === 401 ? ' (the Cedana token was rejected: check CEDANA_AUTH_TOKEN)' : '';
    if (init.apiMessage !== undefined) {
      const extra = detailsText(init.details);
      init.description = `${raw.status} ${init.apiMessage}${extra === undefined ? '' : `: ${extra}`}${rejected}`;
    } else {
      init.description = `${raw.status} ${STATUS_CODES[raw.status] ?? 'Unknown status'}${rejected} (body is not a Cedana error; content-type ${type ?? 'missing'})`;
    }
    return new CedanaApiError(init);
  }

  #redact<V>(value: V): V {
    return redactSecret(value, this.#opts.token);
  }
}

/**
 * The text of a text/plain answer: as is, or without one pair of JSON quotes (Cedana has answered
 * ids as `"abc"`; its CI strips the quotes). undefined when it starts with a quote but is no JSON string.
 */
export function unquote(text: string): string | undefined {
  if (!text.startsWith('"')) return text;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'string' ? v.trim() : undefined;
  } catch {
    return undefined;
  }
}

export interface ErrorBody {
  code: string | undefined;
  message: string | undefined;
  details: unknown;
}

/** Go's net/http default answers for unknown routes and methods: a wrong base URL, not an API answer. */
const GO_MUX_TEXT = /^(404 page not found|405 method not allowed|method not allowed)$/i;
const MAX_TEXT_MESSAGE = 500;

const scalarText = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/**
 * Every error body the Cedana service has used: `{message, code?, details?}` (the reference),
 * `{message}` (the /v1 generation), `{cedana_error_code, message}` (2025), `{error: {code, message}}`
 * (v1 reference), a JSON string, and plain text. An HTML page (a proxy) or Go's default
 * "404 page not found" carries no API message, so callers can tell a wrong URL from an API answer.
 */
export function readErrorBody(text: string, type: string | undefined): ErrorBody {
  const none: ErrorBody = { code: undefined, message: undefined, details: undefined };
  const trimmed = text.trim();
  if (trimmed === '') return none;
  let json: unknown;
  let isJson = false;
  if (type === 'application/json' || type === undefined || type === 'text/plain' || /^[{"]/.test(trimmed)) {
    try {
      json = JSON.parse(trimmed);
      isJson = true;
    } catch {
      isJson = false;
    }
  }
  if (isJson) {
    if (typeof json === 'string') return plainMessage(json);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return none;
    const o = json as Record<string, unknown>;
    const nested = o.error;
    if (nested !== null && typeof nested === 'object' && !Array.isArray(nested)) {
      const e = nested as Record<string, unknown>;
      const message = scalarText(e.message);
      if (message !== undefined) return { code: scalarText(e.code), message, details: e.details };
    }
    const message = scalarText(o.message) ?? scalarText(o.error);
    if (message === undefined) return none;
    return { code: scalarText(o.code) ?? scalarText(o.cedana_error_code), message, details: o.details };
  }
  if (type !== undefined && type !== 'text/plain') return none; // HTML from a proxy, or anything else
  return plainMessage(trimmed);
}

function plainMessage(text: string): ErrorBody {
  const t = text.trim();
  if (t === '' || t.startsWith('<') || GO_MUX_TEXT.test(t)) return { code: undefined, message: undefined, details: undefined };
  const oneLine = t.replace(/\s*\n\s*/g, ' ');
  return { code: undefined, message: oneLine.length > MAX_TEXT_MESSAGE ? `${oneLine.slice(0, MAX_TEXT_MESSAGE)}…` : oneLine, details: undefined };
}
