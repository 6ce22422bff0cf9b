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

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
  maxItems?: number;
  maxProperties?: number;
  maxLength?: number;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
};

/** Every schema node with its path and the lists and maps it is inside of. */
function* walk(s: Schema, path: string, within: Schema[] = []): Generator<{ path: string; schema: Schema; within: Schema[] }> {
  yield { path, schema: s, within };
  for (const [k, v] of Object.entries(s.properties ?? {})) yield* walk(v, `${path}.${k}`, within);
  if (s.items) yield* walk(s.items, `${path}[]`, [...within, s]);
  if (s.additionalProperties) yield* walk(s.additionalProperties, `${path}{}`, [...within, s]);
}

describe('admission rules in the generated CRDs', () => {
  const nodes = crdSources.flatMap((src) => {
    const crd = crdFor(src) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
    return root ? [...walk(root, src.kind)] : [];
  });

  it('every object name carries the DNS-1123 subdomain rule, with a message that says what a valid name is', () => {
    const names = nodes.filter((n) => /\.spec\.(podName|checkpointRef\.name)$/.test(n.path));
    expect(names.map((n) => n.path).sort()).toEqual(['PodCheckpoint.spec.podName', 'PodRestore.spec.checkpointRef.name', 'PodRestore.spec.podName']);
    for (const { schema } of names) {
      expect(schema.maxLength).toBe(253);
      expect(schema['x-kubernetes-validations']?.[0]?.message).toMatch(/must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '\.'/);
    }
  });

  it('selector keys and values carry the label rules', () => {
    const rules = (p: string) => nodes.find((n) => n.path === p)?.schema['x-kubernetes-validations']?.map((r) => r.message) ?? [];
    expect(rules('CheckpointPolicy.spec.selector.matchLabels')).toEqual([expect.stringMatching(/^matchLabels keys must be label keys/)]);
    expect(rules('CheckpointPolicy.spec.selector.matchLabels{}')).toEqual([expect.stringMatching(/must be a label value/)]);
    expect(rules('CheckpointPolicy.spec.selector.matchExpressions[].key')).toEqual([expect.stringMatching(/must be a label key/)]);
    expect(rules('CheckpointPolicy.spec.selector.matchExpressions[].values[]')).toEqual([expect.stringMatching(/must be a label value/)]);
  });

  it('every CEL rule is bounded for the cost estimate: strings by maxLength, enclosing lists and maps by maxItems/maxProperties', () => {
    const ruled = nodes.filter((n) => n.schema['x-kubernetes-validations'] && !n.path.endsWith('.spec') && n.path.includes('.spec.'));
    expect(ruled.length).toBeGreaterThan(5);
    for (const n of ruled) {
      if (n.schema.type === 'string') expect(n.schema.maxLength, n.path).toBeGreaterThan(0);
      if (n.schema.additionalProperties) expect(n.schema.maxProperties, n.path).toBeGreaterThan(0);
      for (const w of n.within) expect(w.maxItems ?? w.maxProperties, `${n.path} inside an unbounded list or map`).toBeGreaterThan(0);
    }
  });
});
