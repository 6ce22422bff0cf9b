// Splits a streamed list answer into its items as their bytes arrive, so that neither a page's text
// nor its parsed tree is ever whole in memory (http.ts getList).

export interface ListMeta {
  resourceVersion?: string | undefined;
  continue?: string | undefined;
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
