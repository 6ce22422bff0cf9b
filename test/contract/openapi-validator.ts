// Checks one HTTP exchange against openapi/cedana.json: the request (a documented operation, bearer
// auth, path and query parameters, body) and the answer (a documented status, content type, body
// and headers). Used for the simulator and for the client; ajv with the document's components as one
// schema resource, so every `#/components/...` ref resolves as it does in the document.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { loadOpenApi } from '../../src/cedana/openapi-files.ts';
import type { Exchange } from '../../src/simulator/index.ts';

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
}
interface MediaType {
  schema?: Json;
}
interface Response {
  content?: Record<string, MediaType>;
  headers?: Record<string, { required?: boolean; schema?: Json }>;
}
interface Operation {
  method: string;
  template: string;
  segments: string[];
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, Response | { $ref: string }>;
  secured: boolean;
}

/** The subset of an exchange the request check needs (the client's side can build it too). */
export type ExchangeRequest = Pick<Exchange, 'method' | 'path' | 'query' | 'requestHeaders' | 'requestBody'>;
export type ExchangeResponse = Pick<Exchange, 'method' | 'path' | 'status' | 'responseContentType' | 'responseBody'> & Pick<Partial<Exchange>, 'responseHeaders'>;

const BASE = 'https://cedana-operator.invalid/openapi.json';
const doc = loadOpenApi() as unknown as {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Json; responses?: Record<string, Response> };
  security?: unknown[];
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormatsModule.default(ajv);
// Rust's unsigned widths, as the v1 reference writes them.
ajv.addFormat('uint32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff });
ajv.addFormat('uint64', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
ajv.addSchema({ $id: BASE, components: { schemas: doc.components.schemas } });

/** Local refs of an operation's inline schema point into the components resource. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${BASE}${v}` : rebase(v)]));
}

const compiled = new Map<string, ValidateFunction>();
function validatorFor(schema: Json): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(rebase(schema) as Json);
    compiled.set(key, v);
  }
  return v;
}

const describeErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.keyword === 'enum' ? ` ${JSON.stringify(e.params)}` : ''}`).join('; ');

function check(schema: Json | undefined, value: unknown, what: string): string[] {
  if (!schema) return [];
  const validate = validatorFor(schema);
  return validate(value) ? [] : [`${what}: ${describeErrors(validate.errors)}`];
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const globalSecurity = Array.isArray(doc.security) && doc.security.length > 0;
const operations: Operation[] = Object.entries(doc.paths).flatMap(([template, item]) => {
  const shared = (item.parameters ?? []) as Parameter[];
  return METHODS.filter((m) => item[m] !== undefined).map((m) => {
    const op = item[m] as Json;
    const own = (op.parameters ?? []) as Parameter[];
    const security = op.security as unknown[] | undefined;
    return {
      method: m.toUpperCase(),
      template,
      segments: template.split('/'),
      // Operation parameters override path-item ones with the same name and location.
      parameters: [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own],
      ...(op.requestBody ? { requestBody: op.requestBody as NonNullable<Operation['requestBody']> } : {}),
      responses: op.responses as Operation['responses'],
      secured: security === undefined ? globalSecurity : security.length > 0,
    };
  });
});

/** Every documented operation, as "METHOD /template". */
export const documentedOperations = (): string[] => operations.map((o) => `${o.method} ${o.template}`);

/** The documented operation a request hits, with its decoded path parameters. Literal segments win over templated ones. */
export function findOperation(method: string, path: string): { op: Operation; params: Record<string, string> } | undefined {
  const segments = path.split('/');
  let best: { op: Operation; params: Record<string, string>; literal: number } | undefined;
  for (const op of operations) {
    if (op.method !== method.toUpperCase() || op.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; ok && i < segments.length; i++) {
      const t = op.segments[i] ?? '';
      const s = segments[i] ?? '';
      if (t.startsWith('{') && t.endsWith('}')) {
        try {
          params[t.slice(1, -1)] = decodeURIComponent(s);
        } catch {
          params[t.slice(1, -1)] = s;
        }
        ok = s !== '';
      } else ok = t === s;
    }
    if (!ok) continue;
    const literal = op.segments.filter((s) => !s.startsWith('{')).length;
    if (!best || literal > best.literal) best = { op, params, literal };
  }
  return best;
}

const mediaType = (contentType: string | undefined): string => (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** A parameter arrives as a string; a schema that wants a number or boolean gets it converted first. */
function coerce(value: string, schema: Json | undefined): unknown {
  const types = ([] as unknown[]).concat(schema?.type ?? []);
  if ((types.includes('integer') || types.includes('number')) && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

export function validateRequest(e: ExchangeRequest): string[] {
  const found = findOperation(e.method, e.path);
  if (!found) return [`no documented operation for ${e.method} ${e.path}`];
  const { op, params } = found;
  const errors: string[] = [];
  if (op.secured && !/^bearer \S+$/i.test(e.requestHeaders.authorization ?? '')) errors.push('no bearer token in Authorization (security: Token)');
  for (const p of op.parameters) {
    const value = p.in === 'path' ? params[p.name] : p.in === 'query' ? e.query[p.name] : p.in === 'header' ? e.requestHeaders[p.name.toLowerCase()] : undefined;
    if (value === undefined) {
      if (p.required) errors.push(`missing required ${p.in} parameter ${p.name}`);
      continue;
    }
    errors.push(...check(p.schema, coerce(value, p.schema), `${p.in} parameter ${p.name}`));
  }
  const body = e.requestBody;
  if (!op.requestBody) {
    if (body !== undefined && body !== '') errors.push('a body was sent, but the operation documents none');
    return errors;
  }
  if (body === undefined || body === '') {
    if (op.requestBody.required) errors.push('missing required request body');
    return errors;
  }
  const type = mediaType(e.requestHeaders['content-type']);
  const media = op.requestBody.content[type];
  if (!media) return [...errors, `request content type '${type}' is not documented (${Object.keys(op.requestBody.content).join(', ')})`];
  if (type === 'application/json' && typeof body === 'string') return [...errors, 'request body is not valid JSON'];
  return [...errors, ...check(media.schema, body, 'request body')];
}

function resolveResponse(r: Response | { $ref: string }): Response {
  if (!('$ref' in r)) return r;
  const name = r.$ref.replace('#/components/responses/', '');
  const resolved = doc.components.responses?.[name];
  if (!resolved) throw new Error(`unresolvable response ref ${r.$ref}`);
  return resolved;
}

export function validateResponse(e: ExchangeResponse): string[] {
  const found = findOperation(e.method, e.path);
  if (!found) return [`no documented operation for ${e.method} ${e.path}`];
  const { op } = found;
  const status = String(e.status);
  const documented = op.responses[status] ?? op.responses[`${status[0] ?? ''}XX`] ?? op.responses.default;
  if (!documented) return [`status ${status} is not documented for ${op.method} ${op.template} (${Object.keys(op.responses).join(', ')})`];
  const response = resolveResponse(documented);
  const errors: string[] = [];
  if (e.responseHeaders) {
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = e.responseHeaders[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) errors.push(`missing required header ${name}`);
        continue;
      }
      errors.push(...check(header.schema, coerce(value, header.schema), `header ${name}`));
    }
  }
  const content = response.content ?? {};
  if (Object.keys(content).length === 0) {
    if (e.responseBody !== undefined && e.responseBody !== '') errors.push(`status ${status} documents no body, but one was sent`);
    return errors;
  }
  const type = mediaType(e.responseContentType);
  const media = content[type];
  if (!media) return [...errors, `content type '${type}' is not documented for status ${status} (${Object.keys(content).join(', ')})`];
  return [...errors, ...check(media.schema, e.responseBody, `${status} ${type} body`)];
}

/** Every problem with the exchange, request and response; [] when it follows the document. */
export function validateExchange(e: Exchange, opts: { request?: boolean } = {}): string[] {
  const request = opts.request === false ? [] : validateRequest(e).map((p) => `request: ${p}`);
  if (request.some((p) => p.startsWith('request: no documented operation'))) return request;
  return [...request, ...validateResponse(e).map((p) => `response: ${p}`)];
}
