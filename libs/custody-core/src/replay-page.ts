// The per-event checks of a full-log replay, one page of stored events at a time: what the
// replay hands to worker threads while the main thread reads the next pages and keeps the tree.
//
// `checkReplayPage` and `canonicalChecker` run in workers started with `eval` (no file to find in
// dist/ or under the test runner), so they must stay self-contained: no imports and no reference
// to anything outside their bodies; what they need comes in as parameters.

/**
 * The columns of a replay page, in this order: what PostgreSQL's binary COPY of the stored events
 * sends for each event (`COPY (SELECT <these> ...) TO STDOUT (FORMAT binary)`). Binary, so the
 * stored bytes and leaf hash arrive as they are (no text conversion on either side) and a page
 * passes to a worker as one transferred buffer, not thousands of strings.
 */
export const REPLAY_PAGE_COLUMNS =
  'leaf_index, event_bytes, leaf_hash, action, case_id::text, subject_type, subject_id, actor_id::text, at';

/** One page of stored events: tuples of a binary COPY of `REPLAY_PAGE_COLUMNS`, in log order. */
export interface ReplayPage {
  /** The leaf index the page must start at: the size of the tree replayed before it. */
  expected: number;
  /** The COPY output, in a buffer of its own (it may be transferred to a worker). */
  bytes: Uint8Array<ArrayBuffer>;
  /** Where the first tuple starts in `bytes`. */
  start: number;
  /** Tuples in the page. */
  count: number;
}

/** PostgreSQL's binary COPY signature, the first 11 bytes of its output. */
const COPY_SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];

/**
 * Finds the tuples of a binary COPY output (a replay page as PostgreSQL sent it): where they
 * start, how many there are and the last one's leaf index (its first column), without decoding
 * anything else. Throws on output that is not a whole binary COPY.
 */
export function scanReplayCopy(bytes: Uint8Array): { start: number; count: number; lastLeafIndex: number | null } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 19 || COPY_SIGNATURE.some((byte, i) => bytes[i] !== byte)) throw new Error('replay page: not a binary COPY output');
  const start = 19 + view.getUint32(15);
  let at = start;
  let count = 0;
  let lastLeafIndex: number | null = null;
  for (;;) {
    const fields = view.getInt16(at);
    if (fields === -1) break;
    lastLeafIndex = Number(view.getBigInt64(at + 6));
    at += 2;
    for (let field = 0; field < fields; field++) at += 4 + Math.max(0, view.getInt32(at));
    count++;
  }
  if (at + 2 !== bytes.length) throw new Error('replay page: bytes after the end of the COPY output');
  return { start, count, lastLeafIndex };
}

/** What checking a page found. */
export interface ReplayPageVerdict {
  /** The recomputed leaf hashes of the events before the first divergent one (all when none), 32 bytes each. */
  hashes: Uint8Array;
  /**
   * When the page holds no divergence and is a perfect subtree of the log (2^k events starting
   * at a multiple of 2^k): its levels above the leaves, `levels[j - 1]` its nodes at height j.
   */
  levels?: Uint8Array[];
  /** The page's first divergent event, or null. */
  divergence: { leafIndex: number; problem: string } | null;
}

/** What the checks use, passed in (so the same function runs in a worker). */
export interface ReplayTools {
  hash: (algorithm: 'sha256', data: Uint8Array, encoding: 'buffer') => Buffer;
  Buffer: typeof Buffer;
  isUtf8: (input: Uint8Array) => boolean;
  isCanonical: (text: string, parsed: unknown) => boolean;
  /** The system actor's id, stored as a null `actor_id` column. */
  systemActorId: string;
}

/**
 * Checks each event of a page, in log order, as a replay must: its index follows the last one,
 * the stored leaf hash is SHA-256(0x00 || bytes), the bytes are UTF-8 JSON in RFC 8785 canonical
 * form, the event names its own index, and the indexed columns agree with the bytes. Stops at the
 * first divergence; returns the leaf hashes of the events before it.
 */
export function checkReplayPage(page: ReplayPage, tools: ReplayTools): ReplayPageVerdict {
  const { hash, Buffer: Bytes, isUtf8, isCanonical, systemActorId } = tools;
  const { count } = page;
  const bytes = Bytes.from(page.bytes.buffer, page.bytes.byteOffset, page.bytes.byteLength);
  const hashes = new Uint8Array(32 * count);
  let scratch = Bytes.allocUnsafe(4096);
  let at = page.start;
  // A binary COPY tuple: a 16-bit field count, then each field as a 32-bit length (-1: NULL) and its bytes.
  const starts = new Int32Array(9);
  const ends = new Int32Array(9);
  // Whether a text field holds `value` (NULL: null), without decoding it when both are ASCII.
  const holds = (field: number, value: unknown): boolean => {
    const start = starts[field]!;
    if (start < 0) return value === null;
    if (typeof value !== 'string') return false;
    const end = ends[field]!;
    if (end - start === value.length) {
      let i = 0;
      while (i < value.length && value.charCodeAt(i) < 0x80 && value.charCodeAt(i) === bytes[start + i]) i++;
      if (i === value.length) return true;
    }
    return bytes.toString('utf8', start, end) === value;
  };
  // A 64-bit integer field (int8, timestamptz) as a number: exact below 2^53, which leaf indexes and
  // microsecond timestamps until the year 2285 are.
  const int64 = (field: number): number => bytes.readInt32BE(starts[field]!) * 4_294_967_296 + bytes.readUInt32BE(starts[field]! + 4);
  const diverge = (i: number, leafIndex: number, problem: string): ReplayPageVerdict => ({ hashes: hashes.slice(0, 32 * i), divergence: { leafIndex, problem } });
  for (let i = 0; i < count; i++) {
    if (bytes.readInt16BE(at) !== 9) throw new Error(`replay page: tuple ${i} does not have the 9 replay columns`);
    at += 2;
    for (let field = 0; field < 9; field++) {
      const length = bytes.readInt32BE(at);
      at += 4;
      starts[field] = length < 0 ? -1 : at;
      ends[field] = length < 0 ? -1 : (at += length);
    }
    const leafIndex = int64(0);
    if (leafIndex !== page.expected + i) return diverge(i, leafIndex, `expected leaf ${page.expected + i} next, found ${leafIndex} (a gap)`);
    // SHA-256(0x00 || bytes), the stored bytes copied after the prefix in a scratch buffer.
    const from = starts[1]!;
    const to = ends[1]!;
    if (to - from + 1 > scratch.length) scratch = Bytes.allocUnsafe(Math.max(to - from + 1, 2 * scratch.length));
    scratch[0] = 0;
    bytes.copy(scratch, 1, from, to);
    const leaf = hash('sha256', scratch.subarray(0, to - from + 1), 'buffer');
    if (leaf.compare(bytes, starts[2], ends[2]) !== 0) return diverge(i, leafIndex, 'the stored leaf hash is not the hash of the stored event bytes');
    let event: {
      index?: unknown;
      action?: unknown;
      caseId?: unknown;
      at?: unknown;
      subject?: { type?: unknown; id?: unknown };
      actor?: { id?: unknown };
    };
    const json = bytes.toString('utf8', from, to);
    try {
      event = JSON.parse(json);
    } catch {
      return diverge(i, leafIndex, 'the event bytes are not JSON');
    }
    if (!isUtf8(bytes.subarray(from, to))) return diverge(i, leafIndex, 'the event bytes are not UTF-8');
    if (!isCanonical(json, event)) return diverge(i, leafIndex, 'the event bytes are not in RFC 8785 canonical form');
    if (event.index !== leafIndex) return diverge(i, leafIndex, `the event says index ${String(event.index)}`);
    const actorId = event.actor?.id;
    const columnsMatch =
      holds(3, event.action) &&
      holds(4, event.caseId) &&
      holds(5, event.subject?.type) &&
      holds(6, event.subject?.id) &&
      typeof actorId === 'string' &&
      holds(7, actorId === systemActorId ? null : actorId) &&
      // A binary timestamptz: microseconds since 2000-01-01T00:00:00Z.
      Date.parse(event.at as string) === int64(8) / 1000 + 946_684_800_000;
    if (!columnsMatch) return diverge(i, leafIndex, 'the indexed columns disagree with the event bytes');
    hashes.set(leaf, 32 * i);
  }
  if (count === 0 || (count & (count - 1)) !== 0 || page.expected % count !== 0) return { hashes, divergence: null };
  // A perfect subtree: its interior nodes are hashed here too, SHA-256(0x01 || left || right).
  const levels: Uint8Array[] = [];
  let below = hashes;
  const pair = Bytes.allocUnsafe(65);
  pair[0] = 1;
  while (below.byteLength > 32) {
    const above = new Uint8Array(below.byteLength / 2);
    for (let at = 0; at < above.byteLength; at += 32) {
      pair.set(below.subarray(2 * at, 2 * at + 64), 1);
      above.set(hash('sha256', pair, 'buffer'), at);
    }
    levels.push(above);
    below = above;
  }
  return { hashes, divergence: null, levels };
}

/** RFC 8785 for values JSON.parse made (see `canonicalJson`). */
export interface CanonicalJson {
  /** The RFC 8785 form of a parsed value; null when it holds a lone surrogate, which RFC 8785 refuses. */
  text(value: unknown): string | null;
  /** Whether `text` (an event's stored bytes, decoded) is the RFC 8785 form of `parsed`, the value JSON.parse made of it. */
  isCanonical(text: string, parsed: unknown): boolean;
}

/**
 * RFC 8785 for values JSON.parse made (plain, finite, acyclic; members added to them must be JSON
 * values too), given an RFC 8785 serialiser. RFC 8785 serialises as ECMAScript's JSON.stringify
 * does, with every object's keys in UTF-16 order; so where the objects' keys are in that order (or
 * a copy can put them so) JSON.stringify is the canonical form, and only otherwise (keys like "10"
 * and "9", which JavaScript always orders as integers) is the full serialiser needed. No
 * exactness walk: such a value is exact JSON except for lone surrogates, which JSON.stringify
 * writes escaped and are looked for in its output. Used by the replay (`isCanonical`) and by
 * integration, whose events come from queue entries (`text`).
 */
export function canonicalJson(canonicalize: (value: unknown) => string | undefined): CanonicalJson {
  // An escape is a backslash preceded by an even number of backslashes (\\\\ud800 is text, not an escape).
  const surrogateEscape = /(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F]/;
  const keysInOrder = (value: unknown): boolean => {
    if (typeof value !== 'object' || value === null) return true;
    if (Array.isArray(value)) return value.every(keysInOrder);
    let previous: string | undefined;
    for (const key in value) {
      if (previous !== undefined && !(previous < key)) return false;
      previous = key;
      if (!keysInOrder((value as Record<string, unknown>)[key])) return false;
    }
    return true;
  };
  // Objects without a prototype, so a "__proto__" key stays a key.
  const sortedCopy = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map(sortedCopy);
    const copy: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value).sort()) copy[key] = sortedCopy((value as Record<string, unknown>)[key]);
    return copy;
  };
  const text = (value: unknown): string | null => {
    let out: string | undefined;
    if (keysInOrder(value)) out = JSON.stringify(value);
    else {
      const sorted = sortedCopy(value);
      out = keysInOrder(sorted) ? JSON.stringify(sorted) : canonicalize(value);
    }
    // RFC 8785 writes a surrogate pair as its character and refuses a lone surrogate (I-JSON);
    // JSON.stringify writes a lone one escaped.
    return out === undefined || (out.includes('\\u') && surrogateEscape.test(out)) ? null : out;
  };
  // Stored text with an escaped surrogate pair is not canonical either: text() writes the character.
  return { text, isCanonical: (stored, parsed) => text(parsed) === stored };
}
