import { EMPTY_ROOT_HEX, HASH_SIZE, leafHash, nodeHash, parseHash, toHex } from './hash.js';

/**
 * The Merkle tree of RFC 9162 §2.1, computed from stored perfect subtrees.
 *
 * Node (level, index) is the hash of the perfect subtree over leaves [index·2^level, (index+1)·2^level);
 * level 0 holds the leaf hashes. Once complete, such a node never changes, so a store can keep it
 * forever. Every subtree in RFC 9162's recursion (split at the largest power of two below n) is
 * aligned to its own size, so any tree hash or proof element is a right fold of at most log2(n) stored
 * nodes: roots and proofs cost O(log n) node reads, and the reads are known in advance ("planned"),
 * so a database can fetch them in one query.
 */

/** Position of a stored perfect subtree. */
export interface NodeKey {
  level: number;
  index: number;
}

/** A perfect subtree hash to store. */
export interface StoredNode extends NodeKey {
  hash: Buffer;
}

/** Stored perfect-subtree hashes keyed by `nodeKey(level, index)`. */
export type NodeMap = ReadonlyMap<string, Buffer>;

/** Where the async API reads stored nodes from (a database table, or a MemoryTree). */
export interface PerfectNodeReader {
  /** Hashes of the given nodes, keyed by `nodeKey`; a missing node makes the caller throw. */
  getNodes(keys: NodeKey[]): Promise<Map<string, Buffer>>;
}

/** Map key of a node, "level/index". */
export function nodeKey(level: number, index: number): string {
  return `${level}/${index}`;
}

/** A run of leaves [start, start + size) that appears as a subtree in RFC 9162's recursion. */
interface Span {
  start: number;
  size: number;
}

function assertSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
}

// Arithmetic rather than bitwise operators: JavaScript's bitwise operators truncate to 32 bits.
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The perfect nodes whose right fold is the hash of an aligned span: its size's binary digits. */
function spanNodes({ start, size }: Span): NodeKey[] {
  const keys: NodeKey[] = [];
  let width = 1;
  let level = 0;
  while (width * 2 <= size) {
    width *= 2;
    level++;
  }
  let position = start;
  for (; level >= 0; level--, width /= 2) {
    if (size - (position - start) >= width) {
      if (position % width !== 0) throw new Error(`span ${start}+${size} is not aligned`);
      keys.push({ level, index: position / width });
      position += width;
    }
  }
  return keys;
}

function lookup(nodes: NodeMap, { level, index }: NodeKey): Buffer {
  const hash = nodes.get(nodeKey(level, index));
  if (!hash) throw new Error(`perfect node ${nodeKey(level, index)} is missing`);
  if (hash.length !== HASH_SIZE) throw new Error(`perfect node ${nodeKey(level, index)} is not ${HASH_SIZE} bytes`);
  return hash;
}

function spanHash(span: Span, nodes: NodeMap): Buffer {
  const keys = spanNodes(span);
  let hash = lookup(nodes, keys[keys.length - 1]);
  for (let i = keys.length - 2; i >= 0; i--) hash = nodeHash(lookup(nodes, keys[i]), hash);
  return hash;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) as subtree spans, leaf side first. */
function inclusionSpans(m: number, n: number): Span[] {
  assertSize('tree size', n);
  assertSize('leaf index', m);
  if (m >= n) throw new RangeError(`leaf index ${m} is not in a tree of size ${n}`);
  const spans: Span[] = [];
  let start = 0;
  let size = n;
  while (size > 1) {
    const k = largestPowerOfTwoBelow(size);
    if (m < start + k) {
      spans.push({ start: start + k, size: size - k });
      size = k;
    } else {
      spans.push({ start, size: k });
      start += k;
      size -= k;
    }
  }
  return spans.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as subtree spans, in proof order. */
function consistencySpans(m: number, n: number): Span[] {
  assertSize('new tree size', n);
  assertSize('old tree size', m);
  // Every tree extends the empty one, so a proof from size 0 would prove nothing (see verify.ts).
  if (m === 0 || m > n) throw new RangeError(`no consistency proof from size ${m} to size ${n}`);
  const spans: Span[] = [];
  let start = 0;
  let size = n;
  let oldSize = m;
  let oldTreeIsWholeSubtree = true;
  while (oldSize !== size) {
    const k = largestPowerOfTwoBelow(size);
    if (oldSize <= k) {
      spans.push({ start: start + k, size: size - k });
      size = k;
    } else {
      spans.push({ start, size: k });
      start += k;
      size -= k;
      oldSize -= k;
      oldTreeIsWholeSubtree = false;
    }
  }
  if (!oldTreeIsWholeSubtree) spans.push({ start, size });
  return spans.reverse();
}

function uniqueNodes(spans: Span[]): NodeKey[] {
  const byKey = new Map<string, NodeKey>();
  for (const span of spans) for (const key of spanNodes(span)) byKey.set(nodeKey(key.level, key.index), key);
  return [...byKey.values()];
}

/** The stored nodes needed for the tree hash of size n (one per binary digit of n). */
export function nodesForRoot(n: number): NodeKey[] {
  assertSize('tree size', n);
  return n === 0 ? [] : spanNodes({ start: 0, size: n });
}

/** The stored nodes needed for the inclusion proof of leaf m in the tree of size n. */
export function nodesForInclusionProof(m: number, n: number): NodeKey[] {
  return uniqueNodes(inclusionSpans(m, n));
}

/** The stored nodes needed for the consistency proof from size m to size n (0 < m <= n). */
export function nodesForConsistencyProof(m: number, n: number): NodeKey[] {
  return uniqueNodes(consistencySpans(m, n));
}

/** The left siblings that appending leaf `leafIndex` combines with: the existing right-edge peaks. */
export function nodesForAppend(leafIndex: number): NodeKey[] {
  assertSize('leaf index', leafIndex);
  const keys: NodeKey[] = [];
  for (let level = 0, index = leafIndex; index % 2 === 1; level++, index = (index - 1) / 2) {
    keys.push({ level, index: index - 1 });
  }
  return keys;
}

/** Tree hash of size n (RFC 9162 §2.1.1) from the nodes `nodesForRoot(n)` planned. */
export function rootFromNodes(n: number, nodes: NodeMap): Buffer {
  return n === 0 ? Buffer.from(EMPTY_ROOT_HEX, 'hex') : spanHash({ start: 0, size: n }, nodes);
}

/** Inclusion proof of leaf m in size n from the nodes `nodesForInclusionProof(m, n)` planned. */
export function inclusionProofFromNodes(m: number, n: number, nodes: NodeMap): Buffer[] {
  return inclusionSpans(m, n).map((span) => spanHash(span, nodes));
}

/** Consistency proof from size m to n from the nodes `nodesForConsistencyProof(m, n)` planned. */
export function consistencyProofFromNodes(m: number, n: number, nodes: NodeMap): Buffer[] {
  return consistencySpans(m, n).map((span) => spanHash(span, nodes));
}

/** Nodes to store when leaf `leafIndex` is appended: the leaf (level 0) and each perfect subtree it completes. */
export function nodesCompletedByAppend(
  leafIndex: number,
  leaf: Buffer,
  getNode: (level: number, index: number) => Buffer | undefined,
): StoredNode[] {
  // getNode is asked only for the left siblings nodesForAppend(leafIndex) names.
  if (leaf.length !== HASH_SIZE) throw new Error(`leaf hash must be ${HASH_SIZE} bytes`);
  const completed: StoredNode[] = [{ level: 0, index: leafIndex, hash: leaf }];
  let hash = leaf;
  for (const { level, index } of nodesForAppend(leafIndex)) {
    const left = getNode(level, index);
    if (!left || left.length !== HASH_SIZE) throw new Error(`perfect node ${nodeKey(level, index)} is missing`);
    hash = nodeHash(left, hash);
    completed.push({ level: level + 1, index: index / 2, hash });
  }
  return completed;
}

/** Async form of `nodesCompletedByAppend` reading the left siblings in one `getNodes` call. */
export async function appendNodes(leafIndex: number, leaf: Buffer, reader: PerfectNodeReader): Promise<StoredNode[]> {
  const nodes = await reader.getNodes(nodesForAppend(leafIndex));
  return nodesCompletedByAppend(leafIndex, leaf, (level, index) => nodes.get(nodeKey(level, index)));
}

/** Tree hash of size n, reading O(log n) stored nodes in one call. */
export async function treeRoot(n: number, reader: PerfectNodeReader): Promise<Buffer> {
  const keys = nodesForRoot(n);
  return rootFromNodes(n, keys.length ? await reader.getNodes(keys) : new Map());
}

/** RFC 9162 inclusion proof of leaf m in the tree of size n, reading O(log n) stored nodes in one call. */
export async function inclusionProof(m: number, n: number, reader: PerfectNodeReader): Promise<Buffer[]> {
  const keys = nodesForInclusionProof(m, n);
  return inclusionProofFromNodes(m, n, keys.length ? await reader.getNodes(keys) : new Map());
}

/** RFC 9162 consistency proof from size m to size n, reading O(log n) stored nodes in one call. */
export async function consistencyProof(m: number, n: number, reader: PerfectNodeReader): Promise<Buffer[]> {
  const keys = nodesForConsistencyProof(m, n);
  return consistencyProofFromNodes(m, n, keys.length ? await reader.getNodes(keys) : new Map());
}

/** Hex form of a proof, as it travels in receipts and API responses. */
export function proofToHex(proof: readonly Uint8Array[]): string[] {
  return proof.map(toHex);
}

/** Strict decoding of a hex proof; throws unless every element is 32 bytes of lowercase hex. */
export function proofFromHex(proof: readonly string[]): Buffer[] {
  if (!Array.isArray(proof)) throw new Error('a proof is a list of hex hashes');
  return proof.map(parseHash);
}

/** One level of a MemoryTree: 32-byte hashes packed in one growable buffer, not a Buffer each. */
class HashColumn {
  private bytes = Buffer.alloc(HASH_SIZE * 1024);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.bytes.length) {
      const grown = Buffer.alloc(this.bytes.length * 2);
      this.bytes.copy(grown);
      this.bytes = grown;
    }
    this.bytes.set(hash, this.length * HASH_SIZE);
    this.length++;
  }

  /** Appends hashes given end to end. */
  pushAll(hashes: Uint8Array): void {
    const needed = this.length * HASH_SIZE + hashes.byteLength;
    if (needed > this.bytes.length) {
      const grown = Buffer.alloc(Math.max(needed, this.bytes.length * 2));
      this.bytes.copy(grown);
      this.bytes = grown;
    }
    this.bytes.set(hashes, this.length * HASH_SIZE);
    this.length += hashes.byteLength / HASH_SIZE;
  }

  get(index: number): Buffer | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined;
    return Buffer.from(this.bytes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE));
  }

  /** The hashes [from, from + count) end to end (a view: valid until the next push). */
  span(from: number, count: number): Buffer {
    return this.bytes.subarray(from * HASH_SIZE, Math.min(this.length, from + count) * HASH_SIZE);
  }
}

/** The whole tree in memory (every perfect node by level), for replaying a log: O(log n) per append. */
export class MemoryTree implements PerfectNodeReader {
  private readonly levels: HashColumn[] = [];

  /** Number of leaves. */
  get size(): number {
    return this.levels.length ? this.levels[0].length : 0;
  }

  /** Appends a leaf by its data (the event's canonical bytes); returns its index. */
  append(eventBytes: Uint8Array): number {
    return this.appendLeafHash(leafHash(eventBytes));
  }

  /** Appends a leaf by its leaf hash; returns its index. */
  appendLeafHash(hash: Uint8Array): number {
    const index = this.size;
    const completed = nodesCompletedByAppend(index, Buffer.from(hash), (level, i) => this.node(level, i));
    for (const node of completed) {
      if (!this.levels[node.level]) this.levels[node.level] = new HashColumn();
      this.levels[node.level].push(node.hash);
    }
    return index;
  }

  /**
   * Appends a perfect subtree of 2^k leaves at a size that is a multiple of 2^k, given all its
   * levels already hashed: `levels[0]` the leaf hashes, `levels[j]` its nodes at height j (end to
   * end, 2^(k-j) each), `levels[k]` its root. Then completes the nodes above it, as appending its
   * leaves one by one would.
   */
  appendPerfectSubtree(levels: readonly Uint8Array[]): void {
    const k = levels.length - 1;
    const leaves = levels[0]!.byteLength / HASH_SIZE;
    if (leaves !== 2 ** k || this.size % leaves !== 0) throw new Error(`a perfect subtree of ${leaves} leaves cannot be appended at size ${this.size}`);
    levels.forEach((hashes, level) => {
      if (hashes.byteLength !== HASH_SIZE * 2 ** (k - level)) throw new Error(`level ${level} of a perfect subtree holds ${hashes.byteLength} bytes`);
      if (!this.levels[level]) this.levels[level] = new HashColumn();
      this.levels[level].pushAll(hashes);
    });
    let hash: Buffer = Buffer.from(levels[k]!);
    for (let level = k, index = this.levels[k]!.length - 1; index % 2 === 1; level++, index = (index - 1) / 2) {
      hash = nodeHash(this.node(level, index - 1)!, hash);
      if (!this.levels[level + 1]) this.levels[level + 1] = new HashColumn();
      this.levels[level + 1]!.push(hash);
    }
  }

  /** Stored perfect node, if complete. */
  node(level: number, index: number): Buffer | undefined {
    return this.levels[level]?.get(index);
  }

  /** The perfect nodes [from, from + count) of a level, their hashes end to end (for bulk comparison). */
  nodeSpan(level: number, from: number, count: number): Buffer {
    return this.levels[level]?.span(from, count) ?? Buffer.alloc(0);
  }

  /** Tree hash of the first n leaves (default: all). */
  root(n = this.size): Buffer {
    this.assertWithin(n);
    return rootFromNodes(n, this.nodeMap(nodesForRoot(n)));
  }

  /** Inclusion proof of leaf m in the tree of the first n leaves (default: all). */
  inclusionProof(m: number, n = this.size): Buffer[] {
    this.assertWithin(n);
    return inclusionProofFromNodes(m, n, this.nodeMap(nodesForInclusionProof(m, n)));
  }

  /** Consistency proof from the first m leaves to the first n (default: all). */
  consistencyProof(m: number, n = this.size): Buffer[] {
    this.assertWithin(n);
    return consistencyProofFromNodes(m, n, this.nodeMap(nodesForConsistencyProof(m, n)));
  }

  /** The stored-node reader view, so the async API runs unchanged over a replayed log. */
  async getNodes(keys: NodeKey[]): Promise<Map<string, Buffer>> {
    return this.nodeMap(keys);
  }

  private nodeMap(keys: NodeKey[]): Map<string, Buffer> {
    const nodes = new Map<string, Buffer>();
    for (const { level, index } of keys) {
      const hash = this.node(level, index);
      if (hash) nodes.set(nodeKey(level, index), hash);
    }
    return nodes;
  }

  private assertWithin(n: number): void {
    if (n > this.size) throw new RangeError(`tree has ${this.size} leaves, not ${n}`);
  }
}
