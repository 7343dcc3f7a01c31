import canonicalize from 'canonicalize';

/**
 * The custody log's checks (custody.md), run in the investigator's browser with Web Crypto
 * (SHA-256, Ed25519) so the verdict is their machine's, not the archive's word. A port of
 * libs/custody-core's verify.ts, receipt.ts and tree-head.ts, which use node:crypto: the same
 * RFC 9162 algorithms, asynchronous because Web Crypto is. Inputs are untrusted: every check
 * answers false or a reason instead of throwing. Tested against the same vectors
 * (test/fixtures/rfc9162) and against receipts signed by custody-core.
 */

export interface TreeHead {
  treeSize: number;
  rootHash: string;
  timestamp: string;
  keyId: string;
  signature: string;
}

export interface PublishedKey {
  keyId: string;
  publicKeyPem: string;
}

/**
 * Why a check failed: a message of the console (`verify.why.<code>` in i18n.tsx, in both
 * languages) with its values, and, for a part that failed (a tree head, an event), what failed in it.
 */
export interface Reason {
  code: ReasonCode;
  values?: Record<string, string | number>;
  cause?: Reason;
}

export type ReasonCode =
  | 'headNotObject' | 'badTreeSize' | 'badRootHash' | 'badTimestamp' | 'badKeyId' | 'signatureNotBase64' | 'unknownKey'
  | 'keyIdMismatch' | 'signatureLength' | 'signatureFails' | 'keyUnusable' | 'notCanonical' | 'wrongIndex' | 'leafHashMismatch'
  | 'badProof' | 'notIncluded' | 'receiptNotObject' | 'badLeafHash' | 'treeHead' | 'latestHead' | 'headShrank' | 'fork'
  | 'notConsistent' | 'event' | 'eventRepeated' | 'wrongSha256' | 'pageGap';

export interface Verdict {
  valid: boolean;
  reason?: Reason;
}

/** A failed verdict; `cause`, the failed part's own reason. */
export const failed = (code: ReasonCode, values?: Reason['values'], cause?: Reason): Verdict => ({
  valid: false,
  reason: { code, ...(values && { values }), ...(cause && { cause }) },
});

export interface ReceiptLike {
  event: unknown;
  leafHash: string;
  leafIndex: number;
  treeHead: TreeHead;
  inclusionProof: string[];
}

const HASH_SIZE = 32;
const HEX = /^(?:[0-9a-f]{2})*$/;

export const isHashHex = (value: unknown): value is string => typeof value === 'string' && value.length === HASH_SIZE * 2 && HEX.test(value);

export function fromHex(hex: string): Uint8Array {
  if (!HEX.test(hex)) throw new Error('expected lowercase hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(bytes)));
}

/** RFC 9162 §2.1.1: SHA-256(0x00 || leaf). */
export const leafHash = (leaf: Uint8Array) => sha256(concat(new Uint8Array([0]), leaf));
/** RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array) => sha256(concat(new Uint8Array([1]), left, right));

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const isOdd = (n: number) => n % 2 !== 0;
const half = (n: number) => Math.floor(n / 2);
const isSize = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === HASH_SIZE;

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** RFC 8785 bytes of a JSON value (the event as the log hashed it). */
export function canonicalBytes(value: unknown): Uint8Array {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value has no JSON form');
  return new TextEncoder().encode(text);
}

/** RFC 9162 §2.1.3.2 steps 1–4: the root an inclusion proof leads to, or null when malformed. */
export async function rootFromInclusionProof(leafIndex: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Promise<Uint8Array | null> {
  if (!isSize(leafIndex) || !isSize(treeSize) || leafIndex >= treeSize) return null;
  if (!isHash(leaf) || !Array.isArray(proof) || !proof.every(isHash)) return null;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (isOdd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : null;
}

/** RFC 9162 §2.1.3.2. */
export async function verifyInclusion(leafIndex: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): Promise<boolean> {
  if (!isHash(root)) return false;
  const computed = await rootFromInclusionProof(leafIndex, treeSize, leaf, proof);
  return computed !== null && sameBytes(computed, root);
}

/** RFC 9162 §2.1.4.2 (an empty old tree proves nothing and is refused, as custody-core does by default). */
export async function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): Promise<boolean> {
  if (!isSize(size1) || !isSize(size2) || size1 > size2 || size1 === 0) return false;
  if (!isHash(root1) || !isHash(root2) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (size1 === size2) return proof.length === 0 && sameBytes(root1, root2);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && sameBytes(fr, root1) && sameBytes(sr, root2);
}

function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A signed tree head: well formed, signed with Ed25519 by the published key whose SPKI hashes to its keyId. */
export async function verifyTreeHead(head: TreeHead, keys: readonly PublishedKey[]): Promise<Verdict> {
  if (typeof head !== 'object' || head === null) return failed('headNotObject');
  const { treeSize, rootHash, timestamp, keyId, signature } = head;
  if (!isSize(treeSize)) return failed('badTreeSize');
  if (!isHashHex(rootHash)) return failed('badRootHash');
  if (typeof timestamp !== 'string' || !TIMESTAMP.test(timestamp)) return failed('badTimestamp');
  if (!isHashHex(keyId)) return failed('badKeyId');
  if (typeof signature !== 'string' || !BASE64.test(signature)) return failed('signatureNotBase64');
  const key = keys.find((k) => k.keyId === keyId);
  if (!key) return failed('unknownKey', { k: keyId });
  try {
    const der = pemToDer(key.publicKeyPem);
    if (toHex(await sha256(der)) !== keyId) return failed('keyIdMismatch');
    const publicKey = await crypto.subtle.importKey('spki', der, { name: 'Ed25519' }, false, ['verify']);
    const sig = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
    if (sig.length !== 64) return failed('signatureLength');
    const signed = concat(canonicalBytes({ treeSize, rootHash, timestamp, keyId }));
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, sig, signed);
    return ok ? { valid: true } : failed('signatureFails');
  } catch (error) {
    return failed('keyUnusable', { m: (error as Error).message });
  }
}

/** One event of the log against a head: its recomputed leaf hash, index and inclusion proof. */
export async function verifyEventInHead(
  event: unknown,
  leafIndex: number,
  proofHex: readonly string[],
  head: Pick<TreeHead, 'treeSize' | 'rootHash'>,
  claimedLeafHash?: string,
): Promise<Verdict> {
  let computed: Uint8Array;
  try {
    computed = await leafHash(canonicalBytes(event));
  } catch (error) {
    return failed('notCanonical', { m: (error as Error).message });
  }
  if (typeof event !== 'object' || event === null || (event as { index?: unknown }).index !== leafIndex) return failed('wrongIndex', { i: leafIndex });
  if (claimedLeafHash !== undefined && claimedLeafHash !== toHex(computed)) return failed('leafHashMismatch');
  if (!Array.isArray(proofHex) || !proofHex.every(isHashHex)) return failed('badProof');
  if (!isHashHex(head.rootHash)) return failed('badRootHash');
  const included = await verifyInclusion(leafIndex, head.treeSize, computed, proofHex.map(fromHex), fromHex(head.rootHash));
  return included ? { valid: true } : failed('notIncluded', { n: head.treeSize });
}

/** A receipt: the head's signature, then the event's hash, index and inclusion under that head. */
export async function verifyReceipt(receipt: ReceiptLike, keys: readonly PublishedKey[]): Promise<Verdict> {
  if (typeof receipt !== 'object' || receipt === null) return failed('receiptNotObject');
  if (!isHashHex(receipt.leafHash)) return failed('badLeafHash');
  const head = await verifyTreeHead(receipt.treeHead, keys);
  if (!head.valid) return failed('treeHead', undefined, head.reason);
  return verifyEventInHead(receipt.event, receipt.leafIndex, receipt.inclusionProof, receipt.treeHead, receipt.leafHash);
}
