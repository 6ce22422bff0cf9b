// The streamed list page (kube/http.ts ListSplitter): the items one by one and the rest of the object,
// exactly what JSON.parse of the whole text gives, however the bytes are cut into chunks.
import { describe, expect, it } from 'vitest';
import { ListSplitter } from '../../../src/kube/list-splitter.ts';

function split(text: string, cuts: (bytes: Uint8Array) => number[]): { items: unknown[]; rest: unknown } {
  const bytes = new TextEncoder().encode(text);
  const items: unknown[] = [];
  const s = new ListSplitter((item) => items.push(item));
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

describe('ListSplitter', () => {
  for (const [name, text] of pages) {
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
