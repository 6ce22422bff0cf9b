// Merges the Cedana API reference (one OpenAPI 3.1 fragment per endpoint, in markdown files) into one
// document. Pure: the script in scripts/merge-openapi.ts does the file I/O, and a contract test
// re-runs the merge to prove openapi/cedana.json is what the reference says.
import { isDeepStrictEqual } from 'node:util';

type Json = Record<string, unknown>;

export interface ReferenceFile {
  name: string;
  text: string;
}

/** The fenced ```json blocks of a reference page, each an OpenAPI fragment. */
export function fragmentsOf(file: ReferenceFile): Json[] {
  const blocks = [...file.text.matchAll(/```json\n([\s\S]*?)\n```/g)];
  return blocks.map((m, i) => {
    try {
      return JSON.parse(m[1] ?? '') as Json;
    } catch (err) {
      throw new Error(`${file.name}: JSON block ${i + 1} does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
}

const firstTag = (op: unknown): string => (obj(op).tags as string[] | undefined)?.[0] ?? '';
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});

/** Tag → short prefix used when two operations share an operationId (the reference has two `list`). */
const tagPrefix = (tag: string): string =>
  tag
    .toLowerCase()
    .replace(/\(([^)]*)\)/g, '$1')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

function mergeInto(target: Json, source: Json, what: string): void {
  for (const [key, value] of Object.entries(source)) {
    if (key in target && !isDeepStrictEqual(target[key], value)) {
      throw new Error(`${what} '${key}' is defined twice, differently`);
    }
    target[key] = value;
  }
}

const apiErrorResponse = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
  'x-cedana-operator-choice': true,
});

/**
 * The v2 fragments document neither authentication failures nor rate limits, and some operations
 * that take an id or a body document no 404 or 400. Every real server answers those, and so does
 * the simulator: add them (marked `x-cedana-operator-choice`) so that its answers stay inside the
 * document. Documented responses are never replaced.
 */
function addProjectResponses(paths: Json): void {
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/v2/')) continue;
    for (const op of Object.values(obj(item)).map(obj)) {
      const responses = obj(op.responses);
      const add = (code: string, description: string): void => {
        responses[code] ??= apiErrorResponse(description);
      };
      add('400', 'Malformed request: invalid JSON, a missing required field, an unknown enum value or a malformed UUID');
      add('401', 'Missing or invalid bearer token');
      if (path.includes('{')) add('404', 'No object with that id');
      const rateLimited = apiErrorResponse('Rate limit exceeded; retry after the number of seconds in Retry-After');
      rateLimited.headers = { 'Retry-After': { schema: { type: 'integer', minimum: 0 }, description: 'Seconds to wait before retrying' } };
      responses['429'] ??= rateLimited;
      add('500', 'Internal error');
      add('503', 'Service unavailable');
      op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
}

export interface MergeExtras {
  /** Hand-transcribed parts (the v1 page has no JSON fragment): paths, schemas, responses. */
  paths: Json;
  schemas: Json;
  responses: Json;
  /** Tags of the extra operations. */
  tags?: Json[];
}

export function mergeReference(files: ReferenceFile[], extras: MergeExtras): Json {
  const paths: Json = {};
  const schemas: Json = {};
  const tags = new Map<string, Json>();
  const operations: { op: Json; tag: string }[] = [];

  for (const file of files) {
    for (const fragment of fragmentsOf(file)) {
      for (const tag of (fragment.tags as Json[] | undefined) ?? []) tags.set(String(tag.name), tag);
      mergeInto(schemas, obj(obj(fragment.components).schemas), `${file.name}: schema`);
      for (const [path, item] of Object.entries(obj(fragment.paths))) {
        const existing = obj(paths[path]);
        for (const [method, op] of Object.entries(obj(item))) {
          if (method in existing) throw new Error(`${file.name}: ${method.toUpperCase()} ${path} is defined twice`);
          existing[method] = op;
          operations.push({ op: obj(op), tag: firstTag(op) });
        }
        paths[path] = existing;
      }
    }
  }
  for (const [path, item] of Object.entries(extras.paths)) {
    for (const op of Object.values(obj(item))) operations.push({ op: obj(op), tag: firstTag(op) });
    paths[path] = item;
  }
  mergeInto(schemas, extras.schemas, 'extra schema');

  // operationIds must be unique in one document: prefix the colliding ones with their tag.
  const counts = new Map<string, number>();
  for (const { op } of operations) counts.set(String(op.operationId), (counts.get(String(op.operationId)) ?? 0) + 1);
  for (const { op, tag } of operations) {
    const id = String(op.operationId);
    if ((counts.get(id) ?? 0) > 1) op.operationId = `${tagPrefix(tag)}_${id}`;
  }

  // The reference documents no parameter for GET /v2/checkpoint/path; this project chooses one.
  const pathOp = obj(obj(paths['/v2/checkpoint/path']).get);
  if (Object.keys(pathOp).length > 0) {
    pathOp.parameters = [
      {
        name: 'name',
        in: 'query',
        required: true,
        description:
          'Checkpoint name whose latest successful checkpoint path is returned. Not in the Cedana reference: chosen by cedana-operator; its simulator names pod checkpoints "<namespace>/<pod_name>".',
        schema: { type: 'string' },
        'x-cedana-operator-choice': true,
      },
    ];
  }

  addProjectResponses(paths);

  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  const sortedSchemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cedana API',
      version: '0.0.0-staging',
      description:
        'Merged by cedana-operator (scripts/merge-openapi.ts) from the published Cedana API reference: every v2 endpoint, plus GET /v1/checkpoints/{checkpoint_id}, plus the token and cluster operations the service has and the reference pages lack (openapi/project-additions.json, each marked x-cedana-operator-choice). Do not edit by hand.',
    },
    tags: [...tags.values(), { name: 'Checkpoints (v1)', description: 'Cedana API v1 (envelope style)' }, ...(extras.tags ?? [])],
    security: [{ Token: [] }],
    paths: sortedPaths,
    components: {
      securitySchemes: { Token: { type: 'http', scheme: 'bearer' } },
      schemas: sortedSchemas,
      responses: extras.responses,
    },
  };
}
