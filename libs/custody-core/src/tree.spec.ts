import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash, nodeHash, toHex } from './hash.js';
import {
  MemoryTree,
  appendNodes,
  consistencyProof,
  inclusionProof,
  nodeKey,
  nodesCompletedByAppend,
  nodesForAppend,
  nodesForConsistencyProof,
  nodesForInclusionProof,
  nodesForRoot,
  proofFromHex,
  proofToHex,
  treeRoot,
  type NodeKey,
  type PerfectNodeReader,
} from './tree.js';
import { verifyConsistency, verifyInclusion } from './verify.js';

// RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 written literally, over leaf data, with no shortcuts.
function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}
function MTH(D: Buffer[]): Buffer {
  const n = D.length;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leafHash(D[0]);
  return nodeHash(MTH(D.slice(0, k(n))), MTH(D.slice(k(n))));
}
function PATH(m: number, D: Buffer[]): Buffer[] {
  const n = D.length;
  if (n === 1) return [];
  return m < k(n) ? [...PATH(m, D.slice(0, k(n))), MTH(D.slice(k(n)))] : [...PATH(m - k(n), D.slice(k(n))), MTH(D.slice(0, k(n)))];
}
function SUBPROOF(m: number, D: Buffer[], b: boolean): Buffer[] {
  const n = D.length;
  if (m === n) return b ? [] : [MTH(D)];
  return m <= k(n)
    ? [...SUBPROOF(m, D.slice(0, k(n)), b), MTH(D.slice(k(n)))]
    : [...SUBPROOF(m - k(n), D.slice(k(n)), false), MTH(D.slice(0, k(n)))];
}
const PROOF = (m: number, D: Buffer[]) => SUBPROOF(m, D, true);

const leafData = (i: number) => Buffer.from(`custody event ${i}`);
const MAX = 64;
const D = Array.from({ length: MAX }, (_, i) => leafData(i));

/** A database stand-in: perfect nodes in a Map, filled through nodesCompletedByAppend, counting reads. */
class CountingStore implements PerfectNodeReader {
  readonly nodes = new Map<string, Buffer>();
  calls = 0;
  lastKeys: NodeKey[] = [];

  append(index: number, data: Buffer): void {
    const completed = nodesCompletedByAppend(index, leafHash(data), (level, i) => this.nodes.get(nodeKey(level, i)));
    for (const node of completed) this.nodes.set(nodeKey(node.level, node.index), node.hash);
  }

  async getNodes(keys: NodeKey[]): Promise<Map<string, Buffer>> {
    this.calls++;
    this.lastKeys = keys;
    return new Map(keys.filter((key) => this.nodes.has(nodeKey(key.level, key.index))).map((key) => [nodeKey(key.level, key.index), this.nodes.get(nodeKey(key.level, key.index))!]));
  }

  /** Reads made by one operation, checked to be one call for O(log n) nodes, all inside the first n leaves. */
  async measure<T>(n: number, operation: () => Promise<T>): Promise<T> {
    this.calls = 0;
    this.lastKeys = [];
    const result = await operation();
    expect(this.calls).toBeLessThanOrEqual(1);
    expect(this.lastKeys.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(Math.max(n, 1))) + 2);
    expect(new Set(this.lastKeys.map((key) => nodeKey(key.level, key.index))).size).toBe(this.lastKeys.length);
    for (const { level, index } of this.lastKeys) expect((index + 1) * 2 ** level).toBeLessThanOrEqual(n);
    return result;
  }
}

// The store is filled to MAX leaves, like a database that has grown past the sizes asked about.
const store = new CountingStore();
D.forEach((data, i) => store.append(i, data));
const memory = new MemoryTree();
D.forEach((data) => memory.append(data));
const roots = Array.from({ length: MAX + 1 }, (_, n) => MTH(D.slice(0, n)));
// The literal definitions are slow; both implementations are compared against the same answers.
const cache = new Map<string, string[]>();
const expectedPath = (m: number, n: number) => cached(`path ${m} ${n}`, () => PATH(m, D.slice(0, n)));
const expectedProof = (m: number, n: number) => cached(`proof ${m} ${n}`, () => PROOF(m, D.slice(0, n)));
function cached(key: string, compute: () => Buffer[]): string[] {
  if (!cache.has(key)) cache.set(key, proofToHex(compute()));
  return cache.get(key)!;
}

describe('stored perfect nodes against the literal RFC 9162 definitions', () => {
  it('gives every root for sizes 0..64 from one read of O(log n) nodes', async () => {
    for (let n = 0; n <= MAX; n++) {
      expect(toHex(await store.measure(n, () => treeRoot(n, store))), `size ${n}`).toBe(toHex(roots[n]));
      expect(nodesForRoot(n)).toHaveLength(n.toString(2).replace(/0/g, '').length);
    }
  });

  it('gives the RFC inclusion proof of every leaf for sizes 1..64, and it verifies', async () => {
    for (let n = 1; n <= MAX; n++) {
      for (let m = 0; m < n; m++) {
        const proof = await store.measure(n, () => inclusionProof(m, n, store));
        expect(proofToHex(proof), `${m} in ${n}`).toEqual(expectedPath(m, n));
        expect(verifyInclusion(m, n, leafHash(D[m]), proof, roots[n]), `${m} in ${n}`).toBe(true);
      }
    }
  });

  it('gives the RFC consistency proof for every 1 <= m <= n <= 64, and it verifies', async () => {
    for (let n = 1; n <= MAX; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = await store.measure(n, () => consistencyProof(m, n, store));
        expect(proofToHex(proof), `${m} to ${n}`).toEqual(expectedProof(m, n));
        expect(verifyConsistency(m, n, proof, roots[m], roots[n]), `${m} to ${n}`).toBe(true);
      }
    }
  });

  it('plans only nodes that exist in the tree of that size', () => {
    for (let n = 1; n <= MAX; n++) {
      for (let m = 0; m < n; m++) {
        for (const { level, index } of [...nodesForInclusionProof(m, n), ...(m > 0 ? nodesForConsistencyProof(m, n) : [])]) {
          expect((index + 1) * 2 ** level).toBeLessThanOrEqual(n);
        }
      }
    }
  });

  it('refuses proofs that do not exist', async () => {
    await expect(inclusionProof(3, 3, store)).rejects.toThrow(RangeError);
    await expect(inclusionProof(-1, 3, store)).rejects.toThrow(RangeError);
    await expect(consistencyProof(0, 3, store)).rejects.toThrow(RangeError);
    await expect(consistencyProof(4, 3, store)).rejects.toThrow(RangeError);
    await expect(treeRoot(1.5, store)).rejects.toThrow(RangeError);
  });

  it('throws rather than guessing when the store lacks a planned node', async () => {
    const empty: PerfectNodeReader = { getNodes: async () => new Map() };
    await expect(treeRoot(5, empty)).rejects.toThrow(/missing/);
    await expect(inclusionProof(1, 5, empty)).rejects.toThrow(/missing/);
  });
});

describe('appending to stored perfect nodes', () => {
  it('reads one left sibling per trailing one bit of the index and stores the nodes it completes', async () => {
    expect(nodesForAppend(0)).toEqual([]);
    expect(nodesForAppend(6)).toEqual([]);
    expect(nodesForAppend(7)).toEqual([
      { level: 0, index: 6 },
      { level: 1, index: 2 },
      { level: 2, index: 0 },
    ]);
    const completed = await appendNodes(7, leafHash(D[7]), store);
    expect(completed.map(({ level, index }) => nodeKey(level, index))).toEqual(['0/7', '1/3', '2/1', '3/0']);
    for (const node of completed) expect(toHex(node.hash)).toBe(toHex(store.nodes.get(nodeKey(node.level, node.index))!));
    expect(toHex(completed[3].hash)).toBe(toHex(roots[8]));
  });

  it('costs under one sibling read per append on average (amortised), log2(n) at most', () => {
    let reads = 0;
    for (let i = 0; i < 4096; i++) {
      const needed = nodesForAppend(i).length;
      expect(needed).toBeLessThanOrEqual(Math.log2(i + 1));
      reads += needed;
    }
    expect(reads).toBeLessThan(4096);
  });

  it('refuses to append without the left siblings', () => {
    expect(() => nodesCompletedByAppend(1, leafHash(D[1]), () => undefined)).toThrow(/missing/);
    expect(() => nodesCompletedByAppend(0, Buffer.alloc(31), () => undefined)).toThrow(/32 bytes/);
  });
});

describe('MemoryTree', () => {
  it('matches the literal definitions for every size, leaf and pair up to 64', () => {
    expect(memory.size).toBe(MAX);
    for (let n = 0; n <= MAX; n++) {
      expect(toHex(memory.root(n))).toBe(toHex(roots[n]));
      for (let m = 0; m < n; m++) {
        const proof = memory.inclusionProof(m, n);
        expect(proofToHex(proof)).toEqual(expectedPath(m, n));
        expect(verifyInclusion(m, n, leafHash(D[m]), proof, roots[n])).toBe(true);
      }
      for (let m = 1; m <= n; m++) {
        const proof = memory.consistencyProof(m, n);
        expect(proofToHex(proof)).toEqual(expectedProof(m, n));
        expect(verifyConsistency(m, n, proof, roots[m], roots[n])).toBe(true);
      }
    }
  });

  it('appends a perfect subtree whole exactly as its leaves one by one (nodes, roots)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 12 }), (heights) => {
        const oneByOne = new MemoryTree();
        const whole = new MemoryTree();
        let n = 0;
        const leaf = () => leafHash(Buffer.from(`leaf ${n++}`));
        for (const k of heights) {
          // Single leaves until the size is a multiple of 2^k, then a subtree of 2^k leaves.
          while (whole.size % 2 ** k !== 0) {
            const hash = leaf();
            oneByOne.appendLeafHash(hash);
            whole.appendLeafHash(hash);
          }
          const subtree = new MemoryTree();
          for (let i = 0; i < 2 ** k; i++) subtree.appendLeafHash(leaf());
          for (let i = 0; i < 2 ** k; i++) oneByOne.appendLeafHash(subtree.node(0, i)!);
          const levels = Array.from({ length: k + 1 }, (_, level) => Buffer.concat(Array.from({ length: 2 ** (k - level) }, (_, i) => subtree.node(level, i)!)));
          whole.appendPerfectSubtree(levels);
          expect(whole.size).toBe(oneByOne.size);
          for (let size = 1; size <= whole.size; size++) expect(toHex(whole.root(size))).toBe(toHex(oneByOne.root(size)));
          for (let level = 0; 2 ** level <= whole.size; level++) {
            for (let i = 0; i < whole.size / 2 ** level - 1; i++) expect(whole.node(level, i)?.toString('hex')).toBe(oneByOne.node(level, i)?.toString('hex'));
          }
        }
      }),
      { numRuns: 60 },
    );
    const tree = new MemoryTree();
    tree.appendLeafHash(leafHash(Buffer.from('x')));
    expect(() => tree.appendPerfectSubtree([Buffer.alloc(64), Buffer.alloc(32)])).toThrow(/cannot be appended at size 1/);
  });

  it('serves the stored-node reader interface with one read of O(log n) nodes', async () => {
    const reads: number[] = [];
    const counting: PerfectNodeReader = {
      getNodes: async (keys) => {
        reads.push(keys.length);
        return memory.getNodes(keys);
      },
    };
    expect(proofToHex(await inclusionProof(37, 61, counting))).toEqual(expectedPath(37, 61));
    expect(proofToHex(await consistencyProof(13, 61, counting))).toEqual(expectedProof(13, 61));
    expect(reads).toHaveLength(2);
    expect(reads.every((count) => count <= 2 * Math.ceil(Math.log2(61)) + 2)).toBe(true);
  });

  it('matches the literal definitions at random sizes up to 1500', () => {
    const big = new MemoryTree();
    const data = Array.from({ length: 1500 }, (_, i) => leafData(i));
    data.forEach((d) => big.append(d));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1500 }), fc.nat(), fc.nat(), (n, a, b) => {
        const m = a % n;
        const old = (b % n) + 1;
        const D = data.slice(0, n);
        expect(toHex(big.root(n))).toBe(toHex(MTH(D)));
        expect(proofToHex(big.inclusionProof(m, n))).toEqual(proofToHex(PATH(m, D)));
        expect(proofToHex(big.consistencyProof(old, n))).toEqual(proofToHex(PROOF(old, D)));
      }),
      { numRuns: 60 },
    );
  });

  it('appends by leaf hash exactly as by leaf data', () => {
    const byHash = new MemoryTree();
    D.slice(0, 21).forEach((d) => byHash.appendLeafHash(leafHash(d)));
    expect(toHex(byHash.root())).toBe(toHex(roots[21]));
  });

  it('round-trips proofs through strict hex', () => {
    const proof = memory.inclusionProof(5, 40);
    expect(proofFromHex(proofToHex(proof))).toEqual(proof);
    expect(() => proofFromHex([proofToHex(proof)[0].toUpperCase()])).toThrow();
    expect(() => proofFromHex([proofToHex(proof)[0].slice(2)])).toThrow();
  });

  it('refuses sizes beyond its leaves', () => {
    expect(() => memory.root(MAX + 1)).toThrow(RangeError);
    expect(() => memory.inclusionProof(0, MAX + 1)).toThrow(RangeError);
    expect(() => memory.consistencyProof(1, MAX + 1)).toThrow(RangeError);
  });

  it('replays 2^17 appends with every level stored', () => {
    const tree = new MemoryTree();
    const n = 2 ** 17;
    const leaf = leafHash(Buffer.from('same'));
    for (let i = 0; i < n; i++) tree.appendLeafHash(leaf);
    // A perfect tree of identical leaves: the root is the leaf hashed up 17 times.
    let expected = leaf;
    for (let level = 0; level < 17; level++) expected = nodeHash(expected, expected);
    expect(toHex(tree.root())).toBe(toHex(expected));
    expect(tree.node(17, 0)).toEqual(expected);
    expect(tree.node(17, 1)).toBeUndefined();
  });
});
