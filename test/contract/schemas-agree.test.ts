// The zod schemas in src/cedana/schemas.ts and the components of openapi/cedana.json must say the
// same thing, so neither can drift from the other.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cedanaSchemas } from '../../src/cedana/schemas.ts';
import { loadOpenApi } from '../../src/cedana/openapi-files.ts';
import { shapeOf } from './json-schema-shape.ts';

const doc = loadOpenApi();
const documented = doc.components.schemas;
const rendered = z.toJSONSchema(cedanaSchemas, {
  target: 'draft-2020-12',
  unrepresentable: 'any',
  io: 'input',
  uri: (id) => `#/components/schemas/${id}`,
}).schemas;

describe('zod schemas agree with the OpenAPI document', () => {
  it('covers exactly the documented components', () => {
    expect(Object.keys(rendered).sort()).toEqual(Object.keys(documented).sort());
  });

  for (const name of Object.keys(documented)) {
    it(`${name} has the same shape`, () => {
      expect(shapeOf(rendered[name])).toEqual(shapeOf(documented[name]));
    });
  }

  it('notices a difference (the check can fail)', () => {
    const drifted = z.object({ action_id: z.string(), reason: z.enum(['manual']) });
    expect(shapeOf(z.toJSONSchema(drifted))).not.toEqual(shapeOf(documented.RestorePod));
  });
});
