// The streamed list page (kube/http.ts ListSplitter): the items one by one and the rest of the object,
// exactly what JSON.parse of the whole text gives, however the bytes are cut into chunks.
import { describe, expect, it } from 'vitest';
import { ListSplitter } from '../../../src/kube/list-splitter.ts';

function split(text: string, cuts: (bytes: Uint8Array) => number[], opts: { dropManagedFields?: boolean } = {}): { items: unknown[]; rest: unknown } {
  const bytes = new TextEncoder().encode(text);
  const items: unknown[] = [];
  const s = new ListSplitter((item) => items.push(item), opts);
  let at = 0;
  for (const cut of [...cuts(bytes), bytes.length]) {
    s.push(bytes.subarray(at, cut));
    at = cut;
  }
  return { items, rest: s.end() };
}

const whole = (text: string): { items: unknown[]; rest: unknown } => {
  const parsed = JSON.parse(text) as { items: unknown[] };
  return { items: parsed.items, rest: { ...parsed, items: [] } };
};

/** Every way of cutting into two pieces, cuts at every byte, and random cuts. */
const cutters: [string, (b: Uint8Array) => number[]][] = [
  ['one chunk', () => []],
  ['every byte', (b) => Array.from({ length: b.length - 1 }, (_, i) => i + 1)],
  ['random', (b) => [...new Set(Array.from({ length: 12 }, (_, i) => Math.floor((((i * 7919 + 13) % 101) / 101) * b.length)))].filter((c) => c > 0).sort((x, y) => x - y)],
];

const pod = (i: number): unknown => ({
  metadata: {
    name: `pod-${String(i)}`,
    namespace: 'ns',
    labels: { app: 'x', 'tricky"}]': 'va\\"lue[{', items: '["not", "the list"]' },
    annotations: { unicode: 'żółw — 猫 🐈', backslashes: '\\\\', endsInBackslash: 'a\\' },
  },
  spec: { containers: [{ name: 'c', env: [{ name: 'E', value: '}' }] }], items: [{ nested: true }] },
  status: { phase: 'Running', conditions: [] },
});

const pages: [string, string][] = [
  ['a kube list', JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '123', continue: 'abc' }, items: [pod(1), pod(2), pod(3)] })],
  ['items first, metadata after', JSON.stringify({ items: [pod(1)], metadata: { resourceVersion: '9' }, kind: 'PodList' })],
  ['no items', JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '1' }, items: [] })],
  ['pretty-printed', JSON.stringify({ metadata: { resourceVersion: '5' }, items: [pod(1), pod(2)] }, null, 2)],
  ['a key ending in items, and items as a string before', JSON.stringify({ moreitems: [1, 2], note: '"items": [', items: [pod(7)] })],
  ['scalar elements', '{"items": [ null , 1, true ,{"a":1}, "s" ], "metadata": {}}'],
];

/** managedFields as the apiserver writes them: keys with escaped quotes, braces and brackets in them. */
const managedFields = [
  {
    manager: 'kubectl-client-side-apply',
    operation: 'Update',
    apiVersion: 'v1',
    time: '2026-12-01T10:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:env': { 'k:{"name":"A]}\\"}': {} } } } } },
  },
  { manager: 'kubelet', operation: 'Update', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:conditions': {} } } },
];
const withManagedFields = (i: number, extra: Record<string, unknown> = {}): Record<string, unknown> => {
  const p = pod(i) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  return { ...p, metadata: { ...p.metadata, managedFields, ...extra } };
};
const custom = {
  apiVersion: 'cedana.ai/v1alpha1',
  kind: 'PodCheckpoint',
  metadata: { managedFields, name: 'managedFields', namespace: 'ns' },
  spec: { podName: 'p', managedFields: ['kept'], template: { metadata: { managedFields: [{ kept: true }] } } },
};
const fieldPages: [string, string][] = [
  ['pods with managedFields last, as the apiserver orders them', JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '1' }, items: [withManagedFields(1), withManagedFields(2)] })],
  ['a custom resource: metadata after apiVersion and kind, managedFields first, a name "managedFields", managedFields elsewhere', JSON.stringify({ items: [custom, custom] })],
  ['pretty-printed', JSON.stringify({ items: [withManagedFields(3)] }, null, 2)],
  ['managedFields null, and elements with none', JSON.stringify({ items: [withManagedFields(4, { managedFields: null }), pod(5), 7, 'managedFields'] })],
];

/** What the splitter hands over with dropManagedFields: each element's metadata.managedFields array as []. */
const dropped = (text: string): { items: unknown[]; rest: unknown } => {
  const w = whole(text);
  const items = w.items.map((item) => {
    const meta = (item as { metadata?: { managedFields?: unknown } } | null)?.metadata;
    return meta && Array.isArray(meta.managedFields) ? { ...(item as object), metadata: { ...meta, managedFields: [] } } : item;
  });
  return { items, rest: w.rest };
};

describe('ListSplitter', () => {
  for (const [name, text] of [...pages, ...fieldPages]) {
    for (const [how, cuts] of cutters) {
      it(`dropManagedFields: ${name}, ${how}: the metadata's managedFields arrive as [], everything else is JSON.parse's`, () => {
        expect(split(text, cuts, { dropManagedFields: true })).toEqual(dropped(text));
      });
    }
  }

  it('dropManagedFields: a page of 500 pods as bench:scale makes them comes apart without their managedFields', () => {
    const text = JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '1' }, items: Array.from({ length: 500 }, (_, i) => withManagedFields(i)) });
    const bytes = new TextEncoder().encode(text);
    const cuts = Array.from({ length: Math.floor(bytes.length / 65536) }, (_, k) => (k + 1) * 65536);
    const got = split(text, () => cuts, { dropManagedFields: true });
    expect(got.items).toHaveLength(500);
    expect(got).toEqual(dropped(text));
    expect(JSON.stringify(got.items).length).toBeLessThan(text.length / 2);
  });

  for (const [name, text] of [...pages, ...fieldPages]) {
    for (const [how, cuts] of cutters) {
      it(`${name}, ${how}: the items and the rest are JSON.parse's`, () => {
        expect(split(text, cuts)).toEqual(whole(text));
      });
    }
  }

  it('a scalar element split across chunks is still whole', () => {
    expect(split('{"items":[12345,67890]}', () => [12, 13, 14]).items).toEqual([12345, 67890]);
  });

  it('hands items over as they complete, before the page ends', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ items: [pod(1), pod(2)], metadata: { resourceVersion: '1' } }));
    const seen: unknown[] = [];
    const s = new ListSplitter((item) => seen.push(item));
    const firstEnd = new TextEncoder().encode(JSON.stringify({ items: [pod(1)] })).length - 1; // just past the first element
    s.push(bytes.subarray(0, firstEnd));
    expect(seen).toHaveLength(1);
    s.push(bytes.subarray(firstEnd));
    expect(seen).toHaveLength(2);
    expect(s.end()).toEqual({ items: [], metadata: { resourceVersion: '1' } });
  });

  it('a truncated answer, or one that is not an object, is an error', () => {
    const cut = JSON.stringify({ items: [pod(1), pod(2)] });
    expect(() => split(cut.slice(0, cut.length - 30), () => [])).toThrow(SyntaxError);
    expect(() => split('{"items": [ {"a": 1} ], "metadata": {', () => [])).toThrow(SyntaxError);
    expect(() => split('[1, 2]', () => [])).toThrow(SyntaxError);
    expect(() => split('{"items": [ {"a": } ]}', () => [])).toThrow(SyntaxError);
  });
});
