// The one error every client method throws. The operator branches on `kind`, `status`,
// `retryable` and the named conditions (`isUnsyncedPod`, `isTokenRejected`); people read
// `message`, which is one line naming the call and what went wrong.
import type { z } from 'zod';

/**
 * `contract`: our request broke the contract, and never left (a bug here, not retryable).
 * `malformed`: the answer broke it (wrong content type, truncated or non-JSON body, a schema
 * violation, an empty id): a proxy or a bad moment on the server's side, so retryable.
 */
export type CedanaErrorKind = 'http' | 'network' | 'timeout' | 'contract' | 'malformed';

/** What Cedana answers (404) for a pod its cluster sync has not seen yet. */
export const UNSYNCED_POD_MESSAGE = /failed to find checkpointable resource/i;

export interface CedanaApiErrorInit {
  kind: CedanaErrorKind;
  operation: string;
  method: string;
  /** The concrete path, without the query string. */
  path: string;
  /** What went wrong, after `Cedana <METHOD> <path>: `. */
  description: string;
  status?: number | undefined;
  code?: string | undefined;
  apiMessage?: string | undefined;
  details?: unknown;
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

/** 429 and 5xx say "not now"; every other status says "not like this". */
export const isRetryableStatus = (status: number): boolean => status === 429 || (status >= 500 && status <= 599);

export class CedanaApiError extends Error {
  override readonly name = 'CedanaApiError';
  readonly kind: CedanaErrorKind;
  /** HTTP status; undefined when no response arrived (network, timeout) or the request never left. */
  readonly status: number | undefined;
  /** ApiError.code (v2), error.code (v1), or the socket error code for network failures. */
  readonly code: string | undefined;
  /** ApiError.message (v2) or error.message (v1), as the server sent it. */
  readonly apiMessage: string | undefined;
  readonly details: unknown;
  readonly method: string;
  readonly path: string;
  readonly operation: string;
  /**
   * The condition may pass if the same request is sent again later: network errors, timeouts, 429,
   * 5xx. For a POST this does NOT mean resending is safe; the server may have acted on it.
   */
  readonly retryable: boolean;
  /** The server's Retry-After, in milliseconds, uncapped. */
  readonly retryAfterMs: number | undefined;

  constructor(init: CedanaApiErrorInit) {
    super(`Cedana ${init.method} ${init.path}: ${init.description}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code ?? undefined;
    this.apiMessage = init.apiMessage;
    this.details = init.details;
    this.method = init.method;
    this.path = init.path;
    this.operation = init.operation;
    this.retryable = init.kind === 'network' || init.kind === 'timeout' || init.kind === 'malformed' || (init.kind === 'http' && init.status !== undefined && isRetryableStatus(init.status));
    this.retryAfterMs = init.retryAfterMs;
  }

  /**
   * 404 "Failed to find checkpointable resource": Cedana has not seen the pod (yet). For a pod that
   * started moments ago it is the sync lag and heals; the caller decides how long to wait
   * (`retryable` stays false, as for every 404).
   */
  get isUnsyncedPod(): boolean {
    return this.kind === 'http' && this.status === 404 && UNSYNCED_POD_MESSAGE.test(this.apiMessage ?? '');
  }

  /**
   * 404 with an API error body: the API says there is no such object. A 404 without one (Go's
   * "404 page not found", a proxy's page) is a wrong URL, not an answer about the object.
   */
  get isApiNotFound(): boolean {
    return this.kind === 'http' && this.status === 404 && this.apiMessage !== undefined;
  }

  /** 401: the token is missing, wrong or revoked. Nothing but a new token helps. */
  get isTokenRejected(): boolean {
    return this.kind === 'http' && this.status === 401;
  }

  /** What a log line or an API answer should carry; `cause` stays out (it may be large). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      status: this.status,
      code: this.code,
      apiMessage: this.apiMessage,
      details: this.details,
      method: this.method,
      path: this.path,
      operation: this.operation,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      ...(this.isUnsyncedPod ? { isUnsyncedPod: true } : {}),
      ...(this.isTokenRejected ? { isTokenRejected: true } : {}),
    };
  }
}

export const isCedanaApiError = (err: unknown): err is CedanaApiError => err instanceof CedanaApiError;

/**
 * zod issue path → `[0].checkpoint_id`, `data.resources.limits`. A body's root shows as `body`
 * only when the issue is the root itself; a parameter's name always leads (`ids[1]`).
 */
export function formatIssuePath(path: readonly PropertyKey[], root = 'body'): string {
  if (path.length === 0) return root;
  let out = root === 'body' ? '' : root;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** Up to three zod issues, each as `path: message`, in one line. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root = 'body'): string {
  const shown = issues.slice(0, 3).map((i) => `${formatIssuePath(i.path, root)}: ${i.message}`);
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return shown.join('; ') + more;
}

/**
 * `details` for the one-line message: a string or a number, shortened. Structured details (often a
 * list of field issues that the message already sums up) stay on the error, not in the line.
 */
export function detailsText(details: unknown): string | undefined {
  if (typeof details !== 'string' && typeof details !== 'number') return undefined;
  const text = String(details).trim();
  if (text === '') return undefined;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Replaces every occurrence of the secret in strings, deeply. Server text is echoed into errors,
 * and a server that echoes the Authorization header must not put the token into our logs.
 */
export function redactSecret<T>(value: T, secret: string): T {
  if (secret === '') return value;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return v.split(secret).join('[REDACTED]');
    if (depth > 20 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [walk(k, depth + 1) as string, walk(x, depth + 1)]));
  };
  return walk(value, 0) as T;
}
