// The in-memory cache behind an informer: objects by key, and the indexes controllers register.
// An index is a typed handle (defineIndex) of one kind: a Store accepts only handles of its own kind,
// so an index of pods cannot be asked of checkpoints, and a misspelt index does not compile.
import type { Keyed } from './keys.ts';
import { keyOf } from './keys.ts';

/** A kind the operator caches: where its collection lives and how an object of it is parsed. */
export interface Kind<K extends string, T extends Keyed> {
  readonly kind: K;
  /** For logs and metrics, e.g. "pods". */
  readonly plural: string;
  readonly namespaced: boolean;
  /** The collection path, cluster-wide or in one namespace. */
  collectionPath(namespace: string | undefined): string;
  parse(raw: unknown): T;
}

export type ObjectOf<C> = C extends Kind<string, infer T> ? T : never;

/** A named index of one kind: the values an object is found under. */
export interface Index<K extends string, T> {
  readonly kind: K;
  readonly name: string;
  readonly values: (obj: T) => readonly string[];
}

export const defineIndex = <K extends string, T extends Keyed>(kind: Kind<K, T>, name: string, values: (obj: T) => readonly string[]): Index<K, T> => ({ kind: kind.kind, name, values });

/** The read side of a cache, which is all a reconciler needs. */
export interface Store<K extends string, T> {
  readonly kind: K;
  get(key: string): T | undefined;
  list(): T[];
  byIndex(index: Index<K, T>, value: string): T[];
}

/**
 * The keys under one index value: most values (a pod's uid, its node with few pods) name one object,
 * so one key is kept as itself and a Set only from the second on (a Set per value was 6 MiB of
 * 10,000 pods' indexes).
 */
type Keys = string | Set<string>;
interface IndexEntry<K extends string, T> {
  index: Index<K, T>;
  entries: Map<string, Keys>;
}

export class Cache<K extends string, T extends Keyed> implements Store<K, T> {
  readonly kind: K;
  private readonly objects = new Map<string, T>();
  private readonly indexes = new Map<string, IndexEntry<K, T>>();

  constructor(kind: Kind<K, T> | K) {
    this.kind = typeof kind === 'string' ? kind : kind.kind;
  }

  /** Registers an index; registering one handle twice is harmless. Objects already cached are indexed. */
  addIndex(index: Index<K, T>): void {
    const known = this.indexes.get(index.name);
    if (known) {
      if (known.index !== index) throw new Error(`two different ${this.kind} indexes are named ${index.name}`);
      return;
    }
    const entry: IndexEntry<K, T> = { index, entries: new Map() };
    this.indexes.set(index.name, entry);
    for (const [key, obj] of this.objects) this.indexInto(entry, key, obj);
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  get size(): number {
    return this.objects.size;
  }

  byIndex(index: Index<K, T>, value: string): T[] {
    const entry = this.indexes.get(index.name);
    if (!entry) throw new Error(`index ${index.name} of ${this.kind} was never registered`);
    const keys = entry.entries.get(value);
    if (keys === undefined) return [];
    if (typeof keys === 'string') {
      const obj = this.objects.get(keys);
      return obj ? [obj] : [];
    }
    return [...keys].flatMap((k) => {
      const obj = this.objects.get(k);
      return obj ? [obj] : [];
    });
  }

  /** Stores an object (replacing the one of its key); returns the one it replaced. */
  set(obj: T): T | undefined {
    const key = keyOf(obj);
    const previous = this.objects.get(key);
    if (previous) this.unindex(key, previous);
    this.objects.set(key, obj);
    for (const entry of this.indexes.values()) this.indexInto(entry, key, obj);
    return previous;
  }

  delete(key: string): T | undefined {
    const previous = this.objects.get(key);
    if (!previous) return undefined;
    this.unindex(key, previous);
    this.objects.delete(key);
    return previous;
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  private indexInto(entry: IndexEntry<K, T>, key: string, obj: T): void {
    for (const value of entry.index.values(obj)) {
      const keys = entry.entries.get(value);
      if (keys === undefined || keys === key) entry.entries.set(value, key);
      else if (typeof keys === 'string') entry.entries.set(value, new Set([keys, key]));
      else keys.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const { index, entries } of this.indexes.values()) {
      for (const value of index.values(obj)) {
        const keys = entries.get(value);
        if (keys === key) entries.delete(value);
        else if (typeof keys === 'object') {
          keys.delete(key);
          if (keys.size === 1) entries.set(value, keys.values().next().value as string);
        }
      }
    }
  }
}

/** A cache holding the given objects, for tests and for callers that have a list in hand. */
export function cacheOf<K extends string, T extends Keyed>(kind: Kind<K, T> | K, objects: readonly T[], indexes: readonly Index<K, T>[] = []): Cache<K, T> {
  const cache = new Cache<K, T>(kind);
  for (const index of indexes) cache.addIndex(index);
  for (const obj of objects) cache.set(obj);
  return cache;
}
