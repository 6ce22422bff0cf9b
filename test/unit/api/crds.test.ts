// crds/ is generated from the zod schemas: the files on disk must be what the generator writes now.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { crdFiles } from '../../../src/api/crd-files.ts';
import { crdFor, crdSources, structural } from '../../../src/api/crds.ts';

describe('generated CRDs', () => {
  for (const { path, text } of crdFiles()) {
    it(`${path.split('/').pop() ?? path} is up to date (run npm run crds if not)`, () => {
      expect(readFileSync(path, 'utf8')).toBe(text);
    });
  }

  it('follow the conventions: status subresource, category, short names, Age and a Phase or Ready column', () => {
    for (const src of crdSources) {
      const crd = parse(JSON.stringify(crdFor(src))) as {
        spec: { names: { categories: string[]; shortNames: string[] }; versions: { subresources: object; additionalPrinterColumns: { name: string }[] }[] };
      };
      const version = crd.spec.versions[0];
      expect(version?.subresources).toEqual({ status: {} });
      expect(crd.spec.names.categories).toEqual(['cedana']);
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
      const columns = version?.additionalPrinterColumns.map((c) => c.name) ?? [];
      expect(columns).toContain('Age');
      expect(columns.includes('Phase') || columns.includes('Ready')).toBe(true);
    }
  });

  it('strips what a structural schema may not carry', () => {
    expect(structural({ $schema: 'x', type: 'object', additionalProperties: false, properties: { n: { type: 'integer', maximum: Number.MAX_SAFE_INTEGER, minimum: 1 } } })).toEqual({
      type: 'object',
      properties: { n: { type: 'integer', minimum: 1 } },
    });
  });
});
