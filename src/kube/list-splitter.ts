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
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const METADATA_KEY = ascii('"metadata');
const MANAGED_FIELDS_KEY = ascii('"managedFields');
/** The bytes that change the structure outside strings. */
const STRUCTURAL = new Uint8Array(256);
for (const b of [QUOTE, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET]) STRUCTURAL[b] = 1;

/**
 * Splits the bytes of a JSON object `{..., "items": [ {...}, {...} ], ...}` into its items (each parsed
 * on its own, as soon as its last byte arrives) and the rest (parsed at the end). Only the structure
 * is scanned: quotes, backslashes in strings, brackets, and commas between elements; UTF-8 never puts a quote,
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
  /** dropManagedFields: what the scan knows on the way to an element's metadata.managedFields. */
  private readonly dropManagedFields: boolean;
  /** The last key of the element was "metadata" / the object open at depth 4 is the element's metadata. */
  private metadataKey = false;
  private inMetadata = false;
  /** The last key in the metadata was "managedFields": an array next is left out. */
  private managedFieldsKey = false;
  /** Inside that array: its bytes are not kept (the element gets `"managedFields":[]`). */
  private skipping = false;
  /** Everything outside the elements of `items`. */
  private readonly rest: Uint8Array[] = [];

  /**
   * `dropManagedFields`: each element's `metadata.managedFields` arrives as `[]`. Up to half of a
   * pod's bytes, which nothing here reads; left out before JSON.parse, they cost neither the parse
   * nor the garbage.
   */
  constructor(onItem: (item: unknown) => void, opts: { dropManagedFields?: boolean } = {}) {
    this.onItem = onItem;
    this.dropManagedFields = opts.dropManagedFields ?? false;
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
        // To the closing quote; a backslash takes the byte after it along (in the next chunk, maybe).
        let c = 0;
        while (i < n) {
          c = chunk[i] as number;
          if (c === QUOTE || c === BACKSLASH) break;
          i++;
        }
        if (i >= n) break;
        if (c === BACKSLASH) {
          this.escape = true;
          i++;
          continue;
        }
        if (this.dropManagedFields && this.itemOpen && !this.skipping) {
          // A key of the element, or of its metadata? (A string that is a value is followed by no `{` or `[`.)
          if (this.depth === 3) this.metadataKey = this.endsWith(chunk, i, itemStart, METADATA_KEY);
          else if (this.depth === 4 && this.inMetadata) this.managedFieldsKey = this.endsWith(chunk, i, itemStart, MANAGED_FIELDS_KEY);
        }
        i++;
        this.inString = false;
        if (this.itemOpen && this.depth === 2) {
          // A string element of items.
          this.emit(chunk.subarray(itemStart, i));
          itemStart = -1;
        }
        continue;
      }
      // Deeper than the elements of items only quotes and brackets matter: skip the rest in bulk.
      if (this.depth > 2) {
        while (i < n && STRUCTURAL[chunk[i] as number] === 0) i++;
        if (i >= n) break;
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
      if (this.managedFieldsKey) {
        this.managedFieldsKey = false;
        if (b === OPEN_BRACKET && this.depth === 4) {
          // Keep `[`, leave out everything up to its `]`.
          this.item.push(chunk.slice(itemStart, i + 1));
          itemStart = -1;
          this.skipping = true;
          this.depth++;
          i++;
          continue;
        }
      }
      if (b === QUOTE) {
        this.inString = true;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        if (this.depth === 3 && this.metadataKey) this.inMetadata = b === OPEN_BRACE;
        if (this.depth === 1 && b === OPEN_BRACKET && !this.inItems && this.endsWithItemsKey(chunk.subarray(restStart, i))) {
          // `"items": [`: the bracket stays in the rest, the elements go to onItem.
          this.rest.push(chunk.slice(restStart, i + 1));
          restStart = -1;
          this.inItems = true;
        }
        this.depth++;
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 4 && this.skipping) {
          this.skipping = false;
          itemStart = i; // from the closing bracket on
        } else if (this.depth === 3) this.inMetadata = false;
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
    if (this.itemOpen && !this.skipping) this.item.push(chunk.slice(itemStart));
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

  /**
   * Whether the element's bytes before `end` in this chunk (from `start`, or 0 when the element began
   * in an earlier chunk) and before them its earlier pieces end with `tail`.
   */
  private endsWith(chunk: Uint8Array, end: number, start: number, tail: Uint8Array): boolean {
    let k = tail.length - 1;
    for (let j = end - 1; j >= Math.max(start, 0) && k >= 0; j--, k--) if (chunk[j] !== tail[k]) return false;
    for (let p = this.item.length - 1; p >= 0 && k >= 0; p--) {
      const piece = this.item[p] as Uint8Array;
      for (let j = piece.length - 1; j >= 0 && k >= 0; j--, k--) if (piece[j] !== tail[k]) return false;
    }
    return k < 0;
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
