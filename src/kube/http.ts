// Requests to the apiserver over a KubeAccess (its credentials and connection pool), with undici's
// request() rather than its fetch(): the WHATWG layers of fetch (Headers, web streams) were the
// larger part of the operator's HTTP CPU at a 1,000-pod node's fan-out.
// Lists are streamed item by item (getList), watches line by line (streamWatch), so that the
// informer, not a fixed library timeout, decides when a quiet stream is dead.
//
// A list page is read as a stream: each item is parsed on its own as its bytes arrive and handed to
// the caller, who keeps what it needs (the compact form); neither the page's text nor its parsed
// tree is ever whole in memory. With 500 pods of 8 kB a page (managedFields included) that is the
// difference between 4 MB of text and 20 MB of objects per page, promoted to the old generation
// while the page is processed, and one pod's worth of garbage that dies young.
import { createInterface } from 'node:readline';
import { request as send, type Dispatcher } from 'undici';
import type { KubeAccess } from './access.ts';
import { KubeHttpError } from './errors.ts';
import { ListSplitter, type ListMeta } from './list-splitter.ts';

export { KubeHttpError } from './errors.ts';
export type { ListMeta } from './list-splitter.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  query?: Record<string, string> | undefined;
  body?: unknown;
  /** Of the body; JSON unless a patch says which kind it is. */
  contentType?: string | undefined;
  signal?: AbortSignal | undefined;
  headers?: Record<string, string> | undefined;
}

/** One request; a failure status is a KubeHttpError with the apiserver's Status message and reason. */
export async function request(access: KubeAccess, method: Method, path: string, o: RequestOptions = {}): Promise<Dispatcher.ResponseData> {
  const url = new URL(access.server + path);
  for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
  const { headers, dispatcher } = await access.prepare(url, method);
  const res = await send(url, {
    method,
    headers: {
      accept: 'application/json',
      ...headers,
      ...(o.body !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {}),
      ...o.headers,
    },
    body: o.body !== undefined ? JSON.stringify(o.body) : null,
    signal: o.signal ?? null,
    ...(dispatcher ? { dispatcher } : {}),
  });
  if (res.statusCode < 200 || res.statusCode > 299) {
    const text = await res.body.text().catch(() => '');
    let status: { message?: unknown; reason?: unknown } = {};
    try {
      status = JSON.parse(text) as typeof status;
    } catch {
      // not a Status: the text itself says what happened
    }
    const message = typeof status.message === 'string' ? status.message : text.slice(0, 300);
    throw new KubeHttpError(res.statusCode, `${method} ${url.pathname}: HTTP ${String(res.statusCode)}: ${message}`, typeof status.reason === 'string' ? status.reason : undefined);
  }
  return res;
}

/**
 * One page of a list, streamed: `onItem` gets each element of `items` as soon as it is complete; the
 * answer is the rest of the object (`metadata`, `kind`, ...) with `items` empty.
 *
 * Asked for uncompressed (client-go's DisableCompression): a page of 500 pods is 9 MB of JSON and
 * 0.75 MB gzipped, and inflating the 180 MB of a 10,000-pod list took the operator 1.2 CPU-seconds of
 * its 4 before /readyz (a CPU profile of bench:scale), the apiserver's deflate as much again. The
 * bytes are cheap on the connection to the apiserver; watch streams keep the default.
 */
export async function getList(
  access: KubeAccess,
  path: string,
  query: Record<string, string>,
  signal: AbortSignal,
  onItem: (item: unknown) => void,
  opts: { dropManagedFields?: boolean } = {},
): Promise<{ metadata?: ListMeta | undefined } & Record<string, unknown>> {
  const res = await request(access, 'GET', path, { query, signal, headers: { 'accept-encoding': 'identity' } });
  const splitter = new ListSplitter(onItem, opts);
  for await (const chunk of res.body) splitter.push(chunk as Uint8Array);
  return splitter.end();
}

export async function getJson(access: KubeAccess, path: string, query: Record<string, string>, signal: AbortSignal): Promise<unknown> {
  return (await request(access, 'GET', path, { query, signal })).body.json();
}

/** Streams watch events (one JSON object per line) until the server closes or `signal` aborts. */
export async function streamWatch(access: KubeAccess, path: string, query: Record<string, string>, signal: AbortSignal, onEvent: (type: string, object: unknown) => void): Promise<void> {
  const res = await request(access, 'GET', path, { query: { ...query, watch: 'true' }, signal });
  const lines = createInterface({ input: res.body, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as { type?: unknown; object?: unknown };
      onEvent(typeof event.type === 'string' ? event.type : '', event.object);
    }
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
}
