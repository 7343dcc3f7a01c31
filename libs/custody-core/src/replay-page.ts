// The per-event checks of a full-log replay, one page of stored events at a time: what the
// replay hands to worker threads while the main thread reads the next pages and keeps the tree.
//
// `checkReplayPage` and `canonicalChecker` run in workers started with `eval` (no file to find in
// dist/ or under the test runner), so they must stay self-contained: no imports and no reference
// to anything outside their bodies; what they need comes in as parameters.

/** One page of stored events, column by column (cheap to pass to a worker). */
export interface ReplayPage {
  /** The leaf index the page must start at: the size of the tree replayed before it. */
  expected: number;
  leafIndexes: number[];
  /** The stored bytes as text. */
  texts: string[];
  /** The stored bytes themselves where they are not UTF-8 (null elsewhere); null when every event is. */
  raws: (Uint8Array | null)[] | null;
  /** The stored leaf hashes, lowercase hex. */
  leafHashes: string[];
  actions: string[];
  caseIds: (string | null)[];
  subjectTypes: string[];
  subjectIds: string[];
  actorIds: (string | null)[];
  /** `at` in epoch milliseconds. */
  atMs: number[];
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
  const { hash, Buffer: Bytes, isCanonical, systemActorId } = tools;
  const count = page.texts.length;
  const hashes = new Uint8Array(32 * count);
  let scratch = Bytes.allocUnsafe(4096);
  for (let i = 0; i < count; i++) {
    const leafIndex = page.leafIndexes[i]!;
    const text = page.texts[i]!;
    const raw = page.raws ? page.raws[i] : null;
    const diverge = (problem: string): ReplayPageVerdict => ({ hashes: hashes.slice(0, 32 * i), divergence: { leafIndex, problem } });
    if (leafIndex !== page.expected + i) return diverge(`expected leaf ${page.expected + i} next, found ${leafIndex} (a gap)`);
    // SHA-256(0x00 || bytes), the text encoded straight after the prefix in a scratch buffer.
    const room = 1 + (raw ? raw.byteLength : 3 * text.length);
    if (room > scratch.length) scratch = Bytes.allocUnsafe(Math.max(room, 2 * scratch.length));
    scratch[0] = 0;
    let length: number;
    if (raw) {
      scratch.set(raw, 1);
      length = 1 + raw.byteLength;
    } else length = 1 + scratch.write(text, 1, 'utf8');
    const leaf = hash('sha256', scratch.subarray(0, length), 'buffer');
    if (leaf.toString('hex') !== page.leafHashes[i]) return diverge('the stored leaf hash is not the hash of the stored event bytes');
    let event: {
      index?: unknown;
      action?: unknown;
      caseId?: unknown;
      at?: unknown;
      subject?: { type?: unknown; id?: unknown };
      actor?: { id?: unknown };
    };
    try {
      event = JSON.parse(text);
    } catch {
      return diverge('the event bytes are not JSON');
    }
    if (raw && !Bytes.from(text, 'utf8').equals(raw)) return diverge('the event bytes are not UTF-8');
    if (!isCanonical(text, event)) return diverge('the event bytes are not in RFC 8785 canonical form');
    if (event.index !== leafIndex) return diverge(`the event says index ${String(event.index)}`);
    const actorId = event.actor?.id;
    const columnsMatch =
      event.action === page.actions[i] &&
      event.caseId === page.caseIds[i] &&
      event.subject?.type === page.subjectTypes[i] &&
      event.subject?.id === page.subjectIds[i] &&
      typeof actorId === 'string' &&
      (actorId === systemActorId ? null : actorId) === page.actorIds[i] &&
      Date.parse(event.at as string) === page.atMs[i];
    if (!columnsMatch) return diverge('the indexed columns disagree with the event bytes');
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

/**
 * Whether `text` (an event's stored bytes, decoded) is the RFC 8785 form of `parsed`, the value
 * JSON.parse made of it, given an RFC 8785 serialiser. RFC 8785 serialises as ECMAScript's
 * JSON.stringify does, with every object's keys in UTF-16 order; so where the parsed objects'
 * keys are in that order, JSON.stringify is the canonical form, and only otherwise (keys like
 * "10" and "9", which JavaScript orders as integers) is the full serialiser needed. A parsed
 * value is plain, finite and acyclic, so no exactness walk is needed.
 */
export function canonicalChecker(canonicalize: (value: unknown) => string | undefined): (text: string, parsed: unknown) => boolean {
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
  return (text, parsed) => {
    // RFC 8785 writes a surrogate pair as its character and refuses a lone surrogate (I-JSON), so
    // an escaped surrogate is never canonical; JSON.stringify would write a lone one escaped.
    if (text.includes('\\u') && surrogateEscape.test(text)) return false;
    if (keysInOrder(parsed) && JSON.stringify(parsed) === text) return true;
    return canonicalize(parsed) === text;
  };
}
