// openapi/cedana.json is what the reference says: merging the reference again gives the same bytes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadReference, OPENAPI_PATH } from '../../src/cedana/openapi-files.ts';
import { fragmentsOf, mergeReference } from '../../src/cedana/openapi-merge.ts';

describe('the merged OpenAPI document', () => {
  const doc = loadReference();

  it('is up to date with the reference (run `npm run openapi` if not)', () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });

  it('has the 15 operations of the reference and the 4 of the service, with unique operationIds', () => {
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((item) => Object.values(item));
    expect(ops).toHaveLength(19);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(19);
  });

  it("marks every operation that is not in the reference pages as this project's choice", () => {
    const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
    const marked = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => op['x-cedana-operator-choice'] === true)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(marked.sort()).toEqual(['DELETE /v2/cluster/{id}', 'GET /v2/cluster', 'GET /v2/user', 'POST /v2/cluster']);
  });

  it('refuses a schema defined twice with different content', () => {
    const page = (schema: object): string => '```json\n' + JSON.stringify({ paths: {}, components: { schemas: { ApiError: schema } } }) + '\n```';
    const files = [
      { name: 'a', text: page({ type: 'object' }) },
      { name: 'b', text: page({ type: 'string' }) },
    ];
    expect(() => mergeReference(files, { paths: {}, schemas: {}, responses: {} })).toThrow(/ApiError' is defined twice/);
  });

  it('names the page and block of a fragment that does not parse', () => {
    expect(() => fragmentsOf({ name: '000.txt', text: '```json\n{oops\n```' })).toThrow(/000.txt: JSON block 1/);
  });
});
