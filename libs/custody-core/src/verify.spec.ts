import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash, nodeHash } from './hash.js';
import { MemoryTree, nodesForInclusionProof, nodesForRoot } from './tree.js';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './verify.js';

const MAX = 300;
const events = Array.from({ length: MAX }, (_, i) => Buffer.from(JSON.stringify({ index: i, action: 'evidence.viewed' })));
const tree = treeOf(events);

function treeOf(data: Buffer[]): MemoryTree {
  const t = new MemoryTree();
  for (const d of data) t.append(d);
  return t;
}
function flip(bytes: Buffer, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[Math.floor(bit / 8) % copy.length] ^= 1 << bit % 8;
  return copy;
}

/** A tree size n >= min and a leaf index m < n. */
const sizeAndLeaf = (min = 1) =>
  fc.integer({ min, max: MAX }).chain((n) => fc.record({ n: fc.constant(n), m: fc.integer({ min: 0, max: n - 1 }) }));
/** Sizes 1 <= m <= n. */
const sizePair = (minGap = 0) =>
  fc.integer({ min: 1 + minGap, max: MAX }).chain((n) => fc.record({ n: fc.constant(n), m: fc.integer({ min: 1, max: n - minGap }) }));
const bit = fc.nat({ max: 255 });
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));

describe('inclusion proofs (properties)', () => {
  it('every proof verifies and leads to the root', () => {
    fc.assert(
      fc.property(sizeAndLeaf(), ({ n, m }) => {
        const proof = tree.inclusionProof(m, n);
        expect(verifyInclusion(m, n, leafHash(events[m]), proof, tree.root(n))).toBe(true);
        expect(rootFromInclusionProof(m, n, leafHash(events[m]), proof)).toEqual(tree.root(n));
      }),
    );
  });

  it('fails with any bit flipped in a proof element, the leaf hash or the root', () => {
    fc.assert(
      fc.property(sizeAndLeaf(2), fc.nat(), bit, ({ n, m }, element, b) => {
        const proof = tree.inclusionProof(m, n);
        const leaf = leafHash(events[m]);
        const i = element % proof.length;
        const tampered = proof.map((p, j) => (j === i ? flip(p, b) : p));
        expect(verifyInclusion(m, n, leaf, tampered, tree.root(n))).toBe(false);
        expect(verifyInclusion(m, n, flip(leaf, b), proof, tree.root(n))).toBe(false);
        expect(verifyInclusion(m, n, leaf, proof, flip(tree.root(n), b))).toBe(false);
      }),
    );
  });

  it('fails for a log with two events swapped', () => {
    fc.assert(
      fc.property(
        sizeAndLeaf(2),
        fc.nat(),
        fc.nat(),
        ({ n, m }, a, b) => {
          const [i, j] = [a % n, b % n].sort((x, y) => x - y);
          fc.pre(i !== j);
          const swapped = events.slice(0, n);
          [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
          const other = treeOf(swapped);
          // The honest proof does not fit the rewritten log's root...
          expect(verifyInclusion(m, n, leafHash(events[m]), tree.inclusionProof(m, n), other.root())).toBe(false);
          // ...and the rewritten log cannot prove its order against the honest root.
          expect(verifyInclusion(i, n, leafHash(events[j]), other.inclusionProof(i, n), tree.root(n))).toBe(false);
          expect(verifyInclusion(i, n, leafHash(events[i]), other.inclusionProof(i, n), other.root())).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('fails for a log with one event removed', () => {
    fc.assert(
      fc.property(sizeAndLeaf(2), fc.nat(), ({ n, m }, r) => {
        const removed = r % n;
        const other = treeOf(events.slice(0, n).filter((_, i) => i !== removed));
        const proof = tree.inclusionProof(m, n);
        expect(verifyInclusion(m, n, leafHash(events[m]), proof, other.root())).toBe(false);
        expect(verifyInclusion(m, n - 1, leafHash(events[m]), proof, other.root())).toBe(false);
        const shifted = m > removed ? m - 1 : m;
        if (m !== removed) {
          expect(verifyInclusion(shifted, n - 1, leafHash(events[m]), other.inclusionProof(shifted), tree.root(n))).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('fails with a truncated or extended proof', () => {
    fc.assert(
      fc.property(sizeAndLeaf(2), hash32, ({ n, m }, extra) => {
        const proof = tree.inclusionProof(m, n);
        const check = (p: Buffer[]) => verifyInclusion(m, n, leafHash(events[m]), p, tree.root(n));
        expect(check(proof.slice(0, -1))).toBe(false);
        expect(check(proof.slice(1))).toBe(false);
        expect(check([...proof, extra])).toBe(false);
        expect(check([extra, ...proof])).toBe(false);
        expect(check([...proof, tree.root(n)])).toBe(false);
      }),
    );
  });

  it('fails with a wrong index', () => {
    fc.assert(
      fc.property(sizeAndLeaf(), fc.nat({ max: MAX + 3 }), ({ n, m }, other) => {
        fc.pre(other !== m);
        expect(verifyInclusion(other, n, leafHash(events[m]), tree.inclusionProof(m, n), tree.root(n))).toBe(false);
      }),
    );
  });

  it('fails against the head of another size', () => {
    fc.assert(
      fc.property(sizeAndLeaf(), fc.integer({ min: 1, max: MAX }), ({ n, m }, other) => {
        fc.pre(other !== n && m < other);
        expect(verifyInclusion(m, other, leafHash(events[m]), tree.inclusionProof(m, n), tree.root(other))).toBe(false);
      }),
    );
  });

  it('does not bind the tree size by itself: the size must come from the signed head', () => {
    // Leaf 0 climbs three left-hand levels in every tree of 5..8 leaves, so the same proof fits them all.
    const proof = tree.inclusionProof(0, 6);
    for (const size of [5, 6, 7, 8]) expect(verifyInclusion(0, size, leafHash(events[0]), proof, tree.root(6))).toBe(true);
    expect(verifyInclusion(0, 4, leafHash(events[0]), proof, tree.root(6))).toBe(false);
    expect(verifyInclusion(0, 9, leafHash(events[0]), proof, tree.root(6))).toBe(false);
  });
});

describe('consistency proofs (properties)', () => {
  it('every proof verifies', () => {
    fc.assert(
      fc.property(sizePair(), ({ n, m }) => {
        expect(verifyConsistency(m, n, tree.consistencyProof(m, n), tree.root(m), tree.root(n))).toBe(true);
      }),
    );
  });

  it('fails with any bit flipped in a proof element or either root', () => {
    fc.assert(
      fc.property(sizePair(), fc.nat(), bit, ({ n, m }, element, b) => {
        const proof = tree.consistencyProof(m, n);
        const [root1, root2] = [tree.root(m), tree.root(n)];
        if (proof.length > 0) {
          const i = element % proof.length;
          expect(verifyConsistency(m, n, proof.map((p, j) => (j === i ? flip(p, b) : p)), root1, root2)).toBe(false);
        }
        expect(verifyConsistency(m, n, proof, flip(root1, b), root2)).toBe(false);
        expect(verifyConsistency(m, n, proof, root1, flip(root2, b))).toBe(false);
      }),
    );
  });

  it('fails with a truncated or extended proof, or other sizes', () => {
    fc.assert(
      fc.property(sizePair(1), hash32, fc.integer({ min: 1, max: MAX }), ({ n, m }, extra, other) => {
        const proof = tree.consistencyProof(m, n);
        const check = (p: Buffer[]) => verifyConsistency(m, n, p, tree.root(m), tree.root(n));
        expect(check(proof.slice(0, -1))).toBe(false);
        expect(check(proof.slice(1))).toBe(false);
        expect(check([...proof, extra])).toBe(false);
        expect(check([extra, ...proof])).toBe(false);
        if (other !== m && other <= n) expect(verifyConsistency(other, n, proof, tree.root(other), tree.root(n))).toBe(false);
        if (other !== n && other >= m) expect(verifyConsistency(m, other, proof, tree.root(m), tree.root(other))).toBe(false);
      }),
    );
  });

  it('fails when the new log rewrote an old event', () => {
    fc.assert(
      fc.property(sizePair(1), fc.nat(), ({ n, m }, r) => {
        const rewritten = events.slice(0, n);
        rewritten[r % m] = Buffer.from('rewritten');
        const other = treeOf(rewritten);
        expect(verifyConsistency(m, n, other.consistencyProof(m, n), tree.root(m), other.root())).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});

describe('verifier edge cases', () => {
  const leaf = leafHash(events[0]);

  it('rejects an index outside the tree and a tree of size 0', () => {
    expect(verifyInclusion(0, 1, leaf, [], leaf)).toBe(true);
    expect(verifyInclusion(1, 1, leaf, [], leaf)).toBe(false);
    expect(verifyInclusion(0, 0, leaf, [], leaf)).toBe(false);
    expect(rootFromInclusionProof(5, 5, leaf, [])).toBeNull();
  });

  it('rejects hashes that are not 32 bytes and sizes that are not safe integers', () => {
    expect(verifyInclusion(0, 1, leaf.subarray(0, 31), [], leaf.subarray(0, 31))).toBe(false);
    expect(verifyInclusion(0, 2, leaf, [Buffer.alloc(33)], leaf)).toBe(false);
    expect(verifyInclusion(0.5, 2, leaf, [leaf], leaf)).toBe(false);
    expect(verifyInclusion(0, Number.MAX_SAFE_INTEGER + 1, leaf, [leaf], leaf)).toBe(false);
    expect(verifyConsistency(1, 1, [], Buffer.alloc(12), Buffer.alloc(12))).toBe(false);
    expect(verifyConsistency(-1, 1, [], leaf, leaf)).toBe(false);
    expect(verifyConsistency(2, 1, [], leaf, leaf)).toBe(false);
  });

  it('treats equal sizes as consistent only with an empty proof and equal roots', () => {
    expect(verifyConsistency(7, 7, [], tree.root(7), tree.root(7))).toBe(true);
    expect(verifyConsistency(7, 7, [tree.root(7)], tree.root(7), tree.root(7))).toBe(false);
    expect(verifyConsistency(7, 7, [], tree.root(7), tree.root(6))).toBe(false);
  });

  it('rejects consistency from the empty tree unless asked, and then only the trivial empty proof', () => {
    const allow = { allowEmptyOldTree: true };
    expect(verifyConsistency(0, 5, [], EMPTY_ROOT, tree.root(5))).toBe(false);
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).toBe(false);
    expect(verifyConsistency(0, 5, [], EMPTY_ROOT, tree.root(5), allow)).toBe(true);
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT, allow)).toBe(true);
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, tree.root(5), allow)).toBe(false);
    expect(verifyConsistency(0, 5, [EMPTY_ROOT], EMPTY_ROOT, tree.root(5), allow)).toBe(false);
    expect(verifyConsistency(0, 5, [], tree.root(1), tree.root(5), allow)).toBe(false);
  });

  it('handles tree sizes beyond 32 bits (no bitwise truncation)', () => {
    // A perfect tree of 2^40 identical leaves: level-l subtrees all hash alike.
    const levels = [leaf];
    for (let l = 0; l < 40; l++) levels.push(nodeHash(levels[l], levels[l]));
    const n = 2 ** 40;
    const m = n - 5;
    expect(verifyInclusion(m, n, leaf, levels.slice(0, 40), levels[40])).toBe(true);
    expect(verifyInclusion(m, n, leaf, levels.slice(0, 39), levels[40])).toBe(false);
    expect(verifyConsistency(2 ** 39, n, [levels[39]], levels[39], levels[40])).toBe(true);
    const keys = nodesForInclusionProof(m, n);
    expect(keys).toHaveLength(40);
    keys.forEach(({ level, index }, l) => {
      const ancestor = Math.floor(m / 2 ** l);
      expect({ level, index }).toEqual({ level: l, index: ancestor % 2 === 0 ? ancestor + 1 : ancestor - 1 });
    });
    expect(nodesForRoot(n + 3)).toEqual([
      { level: 40, index: 0 },
      { level: 1, index: n / 2 },
      { level: 0, index: n + 2 },
    ]);
  });
});
