// List-then-watch informer: lists (paginated), watches from the list's resourceVersion, relists on
// 410 Gone, re-watches with backoff and jitter after errors, restarts a watch that goes silent
// (watchdog), and keeps a cache with the indexes the controllers ask for. Every object is parsed
// with zod at the boundary; one that does not parse is logged and left out, never fatal.
// Why by hand: client-node's informer stops on any error but 410 and has no watchdog (STYLE.md);
// this one restarts itself from one place, with a capped backoff, so it resumes promptly after an
// apiserver outage.
import type { KubeAccess } from './access.ts';
import type { Logger } from 'pino';
import { exponentialDelay, jittered, sleep, type BackoffPolicy } from '../util/backoff.ts';
import { Cache, type Index, type Kind, type Store } from './cache.ts';
import { getList, KubeHttpError, streamWatch, type ListMeta } from './http.ts';
import { keyOf, type Keyed } from './keys.ts';

export { keyOf, type Keyed } from './keys.ts';

export type InformerEvent<T> = { type: 'add'; obj: T } | { type: 'update'; obj: T; old: T } | { type: 'delete'; obj: T };

/** What happened to the watch itself, for logs and metrics. */
export type WatchState = 'listed' | 'watching' | 'closed' | 'expired' | 'error' | 'silent';

/** A list page once its items are consumed: what comes with them. */
export interface ListPage {
  metadata?: ListMeta | undefined;
}

export interface InformerOptions<K extends string, T extends Keyed> {
  kind: Kind<K, T>;
  /** One namespace, or undefined for the whole cluster. */
  namespace?: string | undefined;
  access: KubeAccess;
  labelSelector?: string;
  /** Server-side watch timeout; the watch is renewed from the last resourceVersion after it. */
  watchTimeoutSeconds?: number;
  /** No event (bookmarks count) for this long: the stream is deemed dead and restarted. */
  watchdogMs?: number;
  backoff?: BackoffPolicy;
  pageSize?: number;
  logger: Logger;
  onWatchState?: (state: WatchState) => void;
}

class Gone extends Error {}

/** After an outage the apiserver is retried at least this often, so the operator resumes within seconds. */
export const DEFAULT_INFORMER_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 4_000 };

export class Informer<K extends string, T extends Keyed> implements Store<K, T> {
  readonly kind: K;
  private readonly cache: Cache<K, T>;
  private readonly handlers: ((e: InformerEvent<T>) => void)[] = [];
  private readonly opts: InformerOptions<K, T>;
  private readonly name: string;
  private readonly path: string;
  private readonly stopped = new AbortController();
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;

  constructor(opts: InformerOptions<K, T>) {
    this.opts = opts;
    this.kind = opts.kind.kind;
    this.cache = new Cache<K, T>(opts.kind);
    this.name = opts.kind.plural;
    this.path = opts.kind.collectionPath(opts.kind.namespaced ? opts.namespace : undefined);
  }

  onEvent(handler: (e: InformerEvent<T>) => void): void {
    this.handlers.push(handler);
  }

  addIndex(index: Index<K, T>): void {
    this.cache.addIndex(index);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return this.cache.list();
  }

  byIndex(index: Index<K, T>, value: string): T[] {
    return this.cache.byIndex(index, value);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    await this.loop;
  }

  private isStopped(): boolean {
    return this.stopped.signal.aborted;
  }

  private async run(): Promise<void> {
    const log = this.opts.logger;
    const backoff = this.opts.backoff ?? DEFAULT_INFORMER_BACKOFF;
    let failures = 0;
    let needList = true;
    while (!this.isStopped()) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        await this.watchOnce();
        failures = 0; // a clean close: renew the watch at once from the last resourceVersion
      } catch (err) {
        if (this.isStopped()) break;
        if (err instanceof Gone || (err instanceof KubeHttpError && err.statusCode === 410)) {
          this.opts.onWatchState?.('expired');
          log.info({ informer: this.name }, 'watch expired (410 Gone); relisting');
          needList = true;
          continue;
        }
        this.opts.onWatchState?.('error');
        const delay = jittered(exponentialDelay(backoff, failures++));
        log.warn({ err, informer: this.name, retryInMs: Math.round(delay) }, 'list/watch failed; retrying');
        await sleep(delay, this.stopped.signal);
      }
    }
  }

  /** A full, paginated list; the cache becomes exactly what it returned, with events for the differences. */
  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      // Each item is parsed (and compacted) as it arrives: a page is never whole in memory.
      const page = await this.listPage(continueToken, (raw) => {
        const obj = this.parse(raw);
        if (obj) fresh.set(keyOf(obj), obj);
      });
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (continueToken);

    for (const key of [...this.cache.keys()]) {
      const old = this.cache.get(key);
      if (old && !fresh.has(key)) this.apply({ type: 'delete', obj: old });
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      if (!old) this.apply({ type: 'add', obj });
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.apply({ type: 'update', obj, old });
    }
    this.resourceVersion = resourceVersion;
    this.opts.onWatchState?.('listed');
    if (!this.synced) {
      this.synced = true;
      for (const wake of this.syncWaiters.splice(0)) wake();
    }
  }

  private async listPage(continueToken: string | undefined, onItem: (raw: unknown) => void): Promise<ListPage> {
    const query: Record<string, string> = { limit: String(this.opts.pageSize ?? 500) };
    if (continueToken) query.continue = continueToken;
    if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
    return await getList(this.opts.access, this.path, query, this.stopped.signal, onItem, { dropManagedFields: true });
  }

  /** One watch stream, until it closes (resolve), fails (reject) or goes silent (watchdog: resolve). */
  private async watchOnce(): Promise<void> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? Math.round(240 + Math.random() * 120);
    const watchdogMs = this.opts.watchdogMs ?? (timeoutSeconds + 60) * 1000;
    const stream = new AbortController();
    const stopStream = (): void => {
      stream.abort();
    };
    this.stopped.signal.addEventListener('abort', stopStream, { once: true });
    let watchdog: NodeJS.Timeout | undefined;
    const pet = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        this.opts.onWatchState?.('silent');
        this.opts.logger.warn({ informer: this.name, silentMs: watchdogMs }, 'watch went silent; restarting it');
        stream.abort();
      }, watchdogMs);
      watchdog.unref();
    };
    const query: Record<string, string> = { allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) };
    if (this.resourceVersion) query.resourceVersion = this.resourceVersion;
    if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
    try {
      pet();
      this.opts.onWatchState?.('watching');
      await streamWatch(this.opts.access, this.path, query, stream.signal, (type, raw) => {
        pet();
        this.onWatchEvent(type, raw);
      });
      this.opts.onWatchState?.('closed');
    } catch (err) {
      // A stream we aborted ourselves (watchdog, stop) is a clean end, not an error.
      if (!stream.signal.aborted) throw err;
    } finally {
      clearTimeout(watchdog);
      this.stopped.signal.removeEventListener('abort', stopStream);
    }
  }

  private onWatchEvent(phase: string, raw: unknown): void {
    const rv = (raw as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
    switch (phase) {
      case 'BOOKMARK':
        if (rv) this.resourceVersion = rv;
        return;
      case 'ERROR': {
        const code = (raw as { code?: number } | null)?.code;
        throw code === 410 ? new Gone() : new Error(`watch ${this.path}: ${JSON.stringify(raw).slice(0, 300)}`);
      }
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        if (rv) this.resourceVersion = rv;
        const obj = this.parse(raw);
        if (!obj) return;
        const key = keyOf(obj);
        const old = this.cache.get(key);
        if (phase === 'DELETED') {
          if (old) this.apply({ type: 'delete', obj });
        } else if (old) this.apply({ type: 'update', obj, old });
        else this.apply({ type: 'add', obj });
        return;
      }
      default:
        this.opts.logger.debug({ informer: this.name, phase }, 'ignoring unknown watch event type');
    }
  }

  private parse(raw: unknown): T | undefined {
    // No cached object keeps its managedFields (controller-runtime's TransformStripManagedFields):
    // nothing reads them, and they are up to half of an object. A list leaves them out before the parse.
    const meta = (raw as { metadata?: { managedFields?: unknown } } | null)?.metadata;
    if (meta && typeof meta === 'object' && 'managedFields' in meta) delete meta.managedFields;
    try {
      return this.opts.kind.parse(raw);
    } catch (err) {
      const meta = (raw as { metadata?: { namespace?: string; name?: string } } | null)?.metadata;
      this.opts.logger.warn({ err, informer: this.name, namespace: meta?.namespace, name: meta?.name }, 'object does not match its schema; ignored');
      return undefined;
    }
  }

  private apply(e: InformerEvent<T>): void {
    const key = keyOf(e.obj);
    if (e.type === 'delete') this.cache.delete(key);
    else this.cache.set(e.obj);
    for (const handler of this.handlers) {
      try {
        handler(e);
      } catch (err) {
        this.opts.logger.error({ err, informer: this.name, key }, 'event handler threw');
      }
    }
  }
}

/** Several informers of one kind (one per watched namespace) behind one Store. */
export class InformerGroup<K extends string, T extends Keyed> implements Store<K, T> {
  readonly kind: K;
  readonly members: Informer<K, T>[];
  constructor(kind: Kind<K, T>, members: Informer<K, T>[]) {
    this.kind = kind.kind;
    this.members = members;
  }
  addIndex(index: Index<K, T>): void {
    for (const m of this.members) m.addIndex(index);
  }
  get(key: string): T | undefined {
    for (const m of this.members) {
      const obj = m.get(key);
      if (obj) return obj;
    }
    return undefined;
  }
  list(): T[] {
    return this.members.flatMap((m) => m.list());
  }
  byIndex(index: Index<K, T>, value: string): T[] {
    return this.members.flatMap((m) => m.byIndex(index, value));
  }
  onEvent(handler: (e: InformerEvent<T>) => void): void {
    for (const m of this.members) m.onEvent(handler);
  }
  start(): void {
    for (const m of this.members) m.start();
  }
  hasSynced(): boolean {
    return this.members.every((m) => m.hasSynced());
  }
  async waitForSync(): Promise<void> {
    await Promise.all(this.members.map((m) => m.waitForSync()));
  }
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}
