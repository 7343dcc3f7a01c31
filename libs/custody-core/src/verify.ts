import { EMPTY_ROOT_HEX, HASH_SIZE, nodeHash } from './hash.js';

/**
 * Proof verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 write it. Inputs are untrusted, so
 * every function answers false (or null) instead of throwing. Sizes are not limited to 32 bits, hence
 * arithmetic instead of JavaScript's 32-bit bitwise operators.
 */

const isOdd = (n: number): boolean => n % 2 !== 0;
const half = (n: number): number => Math.floor(n / 2);
const isSize = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === HASH_SIZE;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** Options of `verifyConsistency`. */
export interface ConsistencyOptions {
  /**
   * Accept size1 == 0 when root1 is the empty tree's hash and the proof is empty (the c2sp/CCTV rule).
   * Off by default, as in transparency-dev: every tree extends the empty tree, so such a "proof" shows
   * nothing about root2, and a monitor that accepts it may believe it checked a head it never checked.
   */
  allowEmptyOldTree?: boolean;
}

/** The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–4), or null if the proof is malformed. */
export function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Buffer | null {
  if (!isSize(leafIndex) || !isSize(treeSize) || leafIndex >= treeSize) return null;
  if (!isHash(leaf) || !Array.isArray(proof) || !proof.every(isHash)) return null;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return null;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      // Step 4.b.ii: skip the levels where this node has no right sibling in the (unbalanced) tree.
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5: a proof that stops early (or runs past the root) leaves sn non-zero.
  return sn === 0 ? r : null;
}

/** RFC 9162 §2.1.3.2: whether `proof` shows leaf `leafIndex` with hash `leaf` in the tree of `treeSize` with `root`. */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(root)) return false;
  const computed = rootFromInclusionProof(leafIndex, treeSize, leaf, proof);
  return computed !== null && sameBytes(computed, root);
}

/** RFC 9162 §2.1.4.2: whether `proof` shows the tree (size2, root2) extends the tree (size1, root1). */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
  options: ConsistencyOptions = {},
): boolean {
  if (!isSize(size1) || !isSize(size2) || size1 > size2) return false;
  if (!isHash(root1) || !isHash(root2) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (size1 === 0) {
    if (!options.allowEmptyOldTree) return false;
    const isEmptyRoot = (r: Uint8Array) => Buffer.from(r).toString('hex') === EMPTY_ROOT_HEX;
    return proof.length === 0 && isEmptyRoot(root1) && (size2 > 0 || isEmptyRoot(root2));
  }
  // The RFC's algorithm presumes size1 < size2; equal sizes prove consistency only by equal roots.
  if (size1 === size2) return proof.length === 0 && sameBytes(root1, root2);
  // Step 1.
  if (proof.length === 0) return false;
  // Step 2: when the old tree is a perfect subtree, the proof leaves out its root, which the verifier has.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  // Steps 3–4.
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Steps 5–6.
  let fr: Buffer = Buffer.from(path[0]);
  let sr: Buffer = Buffer.from(path[0]);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  return sn === 0 && sameBytes(fr, root1) && sameBytes(sr, root2);
}
