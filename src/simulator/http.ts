// Answers and errors in the two styles of the reference: v2 answers errors with ApiError
// ({code, message, details}, code = the HTTP status as a string); v1 with {error: {code, message}}.
// The service profile answers every error as {message}, as the service's /v1 generation does.
import type { z } from 'zod';

export type ErrorStyle = 'v2' | 'v1' | 'service';

export interface Reply {
  status: number;
  contentType: string;
  /** A string for text/plain, anything JSON-serialisable for application/json. */
  body: unknown;
  headers?: Record<string, string>;
}

export const TEXT = 'text/plain; charset=utf-8';
export const JSON_TYPE = 'application/json';

export const text = (body: string): Reply => ({ status: 200, contentType: TEXT, body });
export const json = (body: unknown, status = 200): Reply => ({ status, contentType: JSON_TYPE, body });
export const noContent = (): Reply => ({ status: 204, contentType: '', body: undefined });

/** Thrown by handlers; rendered as an error answer in the route's style. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly details: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, details?: unknown, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.details = details;
    this.headers = headers;
  }
}

// v1's error codes are snake_case words (the reference's example: "already_exists").
const V1_CODES: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'already_exists',
  422: 'invalid_argument',
  429: 'rate_limited',
  500: 'internal',
  503: 'unavailable',
  504: 'deadline_exceeded',
};

export function errorReply(style: ErrorStyle, status: number, message: string, details?: unknown, headers?: Record<string, string>): Reply {
  const body =
    style === 'v1'
      ? { error: { code: V1_CODES[status] ?? 'internal', message } }
      : style === 'service'
        ? { message }
        : { code: String(status), message, ...(details === undefined ? {} : { details }) };
  return { status, contentType: JSON_TYPE, body, ...(headers ? { headers } : {}) };
}

export type ParsedBody = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'invalid'; raw: string; error: string };

export function parseJsonBody(raw: string): ParsedBody {
  if (raw.trim() === '') return { kind: 'none' };
  try {
    return { kind: 'json', value: JSON.parse(raw) as unknown };
  } catch (err) {
    return { kind: 'invalid', raw, error: err instanceof Error ? err.message : String(err) };
  }
}

/** The request body through a zod schema; 400 naming the field when it does not fit. */
export function bodyAs<S extends z.ZodType>(body: ParsedBody, schema: S): z.infer<S> {
  if (body.kind === 'none') throw new ApiFailure(400, 'request body is required (application/json)');
  if (body.kind === 'invalid') throw new ApiFailure(400, `malformed JSON body: ${body.error}`);
  const parsed = schema.safeParse(body.value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
  throw new ApiFailure(400, `invalid request body: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);

/** A UUID, lower-cased (ids are stored lower-case), or 400 with the given message. */
export function uuidOr400(value: string, message: string): string {
  if (!isUuid(value)) throw new ApiFailure(400, message);
  return value.toLowerCase();
}
