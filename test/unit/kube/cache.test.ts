// The cache's indexes: what byIndex finds after each sequence of sets and deletes, including the
// moves between one key (kept as itself) and several (a Set) under one value.
import { describe, expect, it } from 'vitest';
import { Cache, cacheOf, defineIndex, type Kind } from '../../../src/kube/cache.ts';

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  tags: string[];
}
const Things: Kind<'Thing', Obj> = { kind: 'Thing', plural: 'things', namespaced: true, collectionPath: () => '/things', parse: (raw) => raw as Obj };
const byTag = defineIndex(Things, 'tag', (o) => o.tags);
const thing = (name: string, ...tags: string[]): Obj => ({ metadata: { name, namespace: 'ns' }, tags });
const names = (objs: Obj[]): string[] => objs.map((o) => o.metadata.name).sort();

type Step = { set: Obj } | { delete: string };

describe('Cache indexes', () => {
  const cases: { name: string; steps: Step[]; expect: Record<string, string[]> }[] = [
    { name: 'one object under a value', steps: [{ set: thing('a', 'x') }], expect: { x: ['a'], y: [] } },
    { name: 'two objects under one value', steps: [{ set: thing('a', 'x') }, { set: thing('b', 'x') }], expect: { x: ['a', 'b'] } },
    { name: 'three, then one deleted', steps: [{ set: thing('a', 'x') }, { set: thing('b', 'x') }, { set: thing('c', 'x') }, { delete: 'ns/b' }], expect: { x: ['a', 'c'] } },
    { name: 'two, then one deleted: back to one key', steps: [{ set: thing('a', 'x') }, { set: thing('b', 'x') }, { delete: 'ns/a' }], expect: { x: ['b'] } },
    { name: 'two, both deleted', steps: [{ set: thing('a', 'x') }, { set: thing('b', 'x') }, { delete: 'ns/a' }, { delete: 'ns/b' }], expect: { x: [] } },
    { name: 'two, one deleted, another added', steps: [{ set: thing('a', 'x') }, { set: thing('b', 'x') }, { delete: 'ns/a' }, { set: thing('c', 'x') }], expect: { x: ['b', 'c'] } },
    { name: 'the same object set twice is there once', steps: [{ set: thing('a', 'x') }, { set: thing('a', 'x') }], expect: { x: ['a'] } },
    { name: 'an update moves the object to its new values', steps: [{ set: thing('a', 'x', 'y') }, { set: thing('a', 'y', 'z') }], expect: { x: [], y: ['a'], z: ['a'] } },
    { name: 'an update of one of two under a value', steps: [{ set: thing('a', 'x') }, { set: thing('b', 'x') }, { set: thing('a', 'y') }], expect: { x: ['b'], y: ['a'] } },
    { name: 'deleting what is not there changes nothing', steps: [{ set: thing('a', 'x') }, { delete: 'ns/zz' }], expect: { x: ['a'] } },
    { name: 'an object with no values is under none', steps: [{ set: thing('a') }], expect: { x: [] } },
  ];
  it.each(cases)('$name', ({ steps, expect: want }) => {
    const cache = cacheOf(Things, [], [byTag]);
    for (const step of steps) {
      if ('set' in step) cache.set(step.set);
      else cache.delete(step.delete);
    }
    for (const [value, found] of Object.entries(want)) expect(names(cache.byIndex(byTag, value)), `under ${value}`).toEqual(found);
  });

  it('indexes the objects already cached when an index is added', () => {
    const cache = new Cache(Things);
    cache.set(thing('a', 'x'));
    cache.set(thing('b', 'x'));
    cache.addIndex(byTag);
    expect(names(cache.byIndex(byTag, 'x'))).toEqual(['a', 'b']);
  });

  it('refuses a second index of the same name, and an index never added', () => {
    const cache = cacheOf(Things, [], [byTag]);
    cache.addIndex(byTag); // the same handle again: harmless
    expect(() => {
      cache.addIndex(defineIndex(Things, 'tag', () => []));
    }).toThrow(/two different Thing indexes are named tag/);
    expect(() =>
      cache.byIndex(
        defineIndex(Things, 'other', () => []),
        'x',
      ),
    ).toThrow(/never registered/);
  });
});
