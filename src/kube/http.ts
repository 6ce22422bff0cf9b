// Raw GETs against the apiserver with the kubeconfig's own authentication (client-node's
// RequestContext + dispatcher). The informer uses it for paginated lists and for watch streams,
// so that it, not a fixed library timeout, decides when a quiet stream is dead.
//
// A list page is read as a stream (getList): each item is parsed on its own as its bytes arrive and
// handed to the caller, who keeps what it needs (the compact form); neither the page's text nor its
// parsed tree is ever whole in memory. With 500 pods of 8 kB a page (managedFields included) that
// is the difference between 4 MB of text and 20 MB of objects per page, promoted to the old
// generation while the page is processed, and one pod's worth of garbage that dies young.
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch } from 'undici';

export class KubeHttpError extends Error {
  override name = 'KubeHttpError';
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

async function get(kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal, extraHeaders: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof fetch>>> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ctx = new RequestContext(url.toString(), HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const dispatcher = ctx.getDispatcher();
  const res = await fetch(url, { method: 'GET', headers: { ...ctx.getHeaders(), ...extraHeaders }, signal, ...(dispatcher ? { dispatcher } : {}) });
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new KubeHttpError(res.status, `GET ${url.pathname}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  return res;
}

export interface ListMeta {
  resourceVersion?: string | undefined;
  continue?: string | undefined;
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
  kc: KubeConfig,
  path: string,
  query: Record<string, string>,
  signal: AbortSignal,
  onItem: (item: unknown) => void,
): Promise<{ metadata?: ListMeta | undefined } & Record<string, unknown>> {
  const res = await get(kc, path, query, signal, { 'accept-encoding': 'identity' });
  const splitter = new ListSplitter(onItem);
  if (res.body) {
    for await (const chunk of res.body) splitter.push(chunk as Uint8Array);
  }
  return splitter.end();
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Splits the bytes of a JSON object `{..., "items": [ {...}, {...} ], ...}` into its items (each parsed
 * on its own, as soon as its last byte arrives) and the rest (parsed at the end). Only the structure
 * is scanned, byte by byte outside strings and with indexOf inside them; UTF-8 never puts a quote,
 * a backslash or a bracket inside a multi-byte character, so bytes are as good as characters.
 * An element of `items` that is not an object is handed over the same way; the JSON is checked by
 * JSON.parse, piece by piece (each element, then the rest).
 */
export class ListSplitter {
  private readonly onItem: (item: unknown) => void;
  private readonly decoder = new TextDecoder();
  private depth = 0;
  private inString = false;
  /** The last byte seen in a string was a backslash that escapes the next one (across chunks). */
  private escape = false;
  /** Inside the top-level `items` array (depth 2 and deeper). */
  private inItems = false;
  /** An element of `items` is open; its bytes from earlier chunks are in `item`. */
  private itemOpen = false;
  /** The open element is a number, true, false or null: it ends at a comma, a bracket or a space. */
  private scalar = false;
  private item: Uint8Array[] = [];
  /** Everything outside the elements of `items`. */
  private readonly rest: Uint8Array[] = [];

  constructor(onItem: (item: unknown) => void) {
    this.onItem = onItem;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let itemStart = this.itemOpen ? 0 : -1;
    let restStart = this.inItems ? -1 : 0;
    let i = 0;
    while (i < n) {
      if (this.inString) {
        if (this.escape) {
          this.escape = false;
          i++;
          continue;
        }
        const q = chunk.indexOf(QUOTE, i);
        const stop = q < 0 ? n : q;
        // An odd run of backslashes right before the quote (or the chunk's end) escapes it.
        let run = 0;
        for (let k = stop - 1; k >= i && chunk[k] === BACKSLASH; k--) run++;
        if (q < 0) {
          this.escape = run % 2 === 1;
          break;
        }
        i = q + 1;
        if (run % 2 === 1) continue;
        this.inString = false;
        if (this.itemOpen && this.depth === 2) {
          // A string element of items.
          this.emit(chunk.subarray(itemStart, i));
          itemStart = -1;
        }
        continue;
      }
      const b = chunk[i] as number;
      if (this.inItems && this.depth === 2) {
        if (this.itemOpen && this.scalar && (b <= 0x20 || b === COMMA || b === CLOSE_BRACKET)) {
          this.emit(chunk.subarray(itemStart, i));
          itemStart = -1;
        } else if (!this.itemOpen && b > 0x20 && b !== COMMA && b !== CLOSE_BRACKET) {
          itemStart = i;
          this.itemOpen = true;
          this.scalar = b !== QUOTE && b !== OPEN_BRACE && b !== OPEN_BRACKET;
        }
      }
      if (b === QUOTE) {
        this.inString = true;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        if (this.depth === 1 && b === OPEN_BRACKET && !this.inItems && this.endsWithItemsKey(chunk.subarray(restStart, i))) {
          // `"items": [`: the bracket stays in the rest, the elements go to onItem.
          this.rest.push(chunk.slice(restStart, i + 1));
          restStart = -1;
          this.inItems = true;
        }
        this.depth++;
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        this.depth--;
        if (this.inItems && this.depth === 2 && this.itemOpen) {
          this.emit(chunk.subarray(itemStart, i + 1));
          itemStart = -1;
        } else if (this.inItems && this.depth === 1) {
          this.inItems = false;
          restStart = i; // from the closing bracket on
        }
      }
      i++;
    }
    if (this.itemOpen) this.item.push(chunk.slice(itemStart));
    if (restStart >= 0) this.rest.push(chunk.slice(restStart));
  }

  /** The object without its items; throws if the bytes were not one whole JSON object. */
  end(): { metadata?: ListMeta | undefined } & Record<string, unknown> {
    if (this.depth !== 0 || this.inString || this.itemOpen) throw new SyntaxError('list answer ended in the middle of its JSON');
    const parsed: unknown = JSON.parse(this.decoder.decode(concat(this.rest)));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('list answer is not a JSON object');
    return parsed as { metadata?: ListMeta | undefined } & Record<string, unknown>;
  }

  private emit(last: Uint8Array): void {
    this.itemOpen = false;
    let bytes = last;
    if (this.item.length > 0) {
      this.item.push(last);
      bytes = concat(this.item);
      this.item = [];
    }
    this.onItem(JSON.parse(this.decoder.decode(bytes)));
  }

  /** Whether what precedes a `[` at depth 1 (this chunk's part, then the rest's earlier pieces) ends with the key `"items":`. */
  private endsWithItemsKey(here: Uint8Array): boolean {
    let tail = this.decoder.decode(here.subarray(Math.max(0, here.length - 64)));
    for (let k = this.rest.length - 1; k >= 0 && tail.length < 64; k--) tail = this.decoder.decode((this.rest[k] as Uint8Array).subarray(-64)) + tail;
    return /"items"\s*:\s*$/.test(tail);
  }
}

function concat(pieces: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of pieces) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export async function getJson(kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal): Promise<unknown> {
  return (await get(kc, path, query, signal)).json();
}

/** Streams watch events (one JSON object per line) until the server closes or `signal` aborts. */
export async function streamWatch(kc: KubeConfig, path: string, query: Record<string, string>, signal: AbortSignal, onEvent: (type: string, object: unknown) => void): Promise<void> {
  const res = await get(kc, path, { ...query, watch: 'true' }, signal);
  if (!res.body) return;
  const lines = createInterface({ input: Readable.fromWeb(res.body), crlfDelay: Infinity });
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
