import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalBytes } from './canonical.js';
import { isHashHex } from './hash.js';
import { isTimestamp } from './timestamp.js';

/** What the log commits to at one moment: its size and root, when, and under which key. */
export interface TreeHead {
  treeSize: number;
  /** Lowercase hex of the tree hash. */
  rootHash: string;
  /** RFC 3339, UTC, milliseconds: "2026-11-24T21:04:05.123Z". */
  timestamp: string;
  /** Lowercase hex SHA-256 of the signing key's SubjectPublicKeyInfo DER. */
  keyId: string;
}

/** A tree head with its Ed25519 signature (base64) over the head's RFC 8785 bytes. */
export type SignedTreeHead = TreeHead & { signature: string };

/** A published verification key; old keys stay published so old heads still verify. */
export interface PublishedKey {
  keyId: string;
  publicKeyPem: string;
  /**
   * When the archive marked the key compromised (it leaked, or may have): whoever holds it could
   * sign any head or handover, so nothing it signed is trusted on its own (handover.ts).
   */
  compromisedAt?: string | null;
}

/** Outcome of a check, with the first reason it failed. */
export interface Verdict {
  valid: boolean;
  reason?: string;
}

/** A fresh log signing key and its published form. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
  publicKeyPem: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ED25519_SIGNATURE_SIZE = 64;

/** keyId of a public key (or the public half of a private key): hex SHA-256 of its SPKI DER. */
export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** Generates an Ed25519 log signing key. */
export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKey,
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Why a value is not a well-formed tree head, or undefined if it is one. */
function treeHeadProblem(head: unknown): string | undefined {
  if (typeof head !== 'object' || head === null) return 'tree head is not an object';
  const { treeSize, rootHash, timestamp, keyId } = head as Partial<TreeHead>;
  if (!Number.isSafeInteger(treeSize) || (treeSize as number) < 0) return 'treeSize is not a non-negative integer';
  if (!isHashHex(rootHash)) return 'rootHash is not 32 bytes of lowercase hex';
  if (!isTimestamp(timestamp)) return 'timestamp is not RFC 3339 UTC with milliseconds';
  if (!isHashHex(keyId)) return 'keyId is not 32 bytes of lowercase hex';
  return undefined;
}

/** The signed bytes: RFC 8785 of exactly the four head fields, whatever else the object carries. */
export function treeHeadBytes(head: TreeHead): Buffer {
  const { treeSize, rootHash, timestamp, keyId } = head;
  return canonicalBytes({ treeSize, rootHash, timestamp, keyId });
}

/** Signs a tree head with the log's Ed25519 key; the head's keyId must be that key's. */
export function signTreeHead(head: TreeHead, privateKey: KeyObject): SignedTreeHead {
  const problem = treeHeadProblem(head);
  if (problem) throw new Error(`signTreeHead: ${problem}`);
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error('signTreeHead: the key must be an Ed25519 private key');
  }
  if (keyIdOf(privateKey) !== head.keyId) throw new Error('signTreeHead: keyId is not the signing key\'s id');
  const { treeSize, rootHash, timestamp, keyId } = head;
  const signature = sign(null, treeHeadBytes(head), privateKey).toString('base64');
  return { treeSize, rootHash, timestamp, keyId, signature };
}

/** Checks a signed tree head against the published keys: known key, honest keyId, valid signature. */
export function verifyTreeHead(signed: SignedTreeHead, publicKeys: PublishedKey | readonly PublishedKey[]): Verdict {
  const problem = treeHeadProblem(signed);
  if (problem) return { valid: false, reason: problem };
  const { signature } = signed;
  if (typeof signature !== 'string' || !BASE64.test(signature)) return { valid: false, reason: 'signature is not base64' };
  const signatureBytes = Buffer.from(signature, 'base64');
  if (signatureBytes.toString('base64') !== signature || signatureBytes.length !== ED25519_SIGNATURE_SIZE) {
    return { valid: false, reason: 'signature is not a canonical base64 Ed25519 signature' };
  }
  const keys = Array.isArray(publicKeys) ? (publicKeys as readonly PublishedKey[]) : [publicKeys as PublishedKey];
  const published = keys.find((k) => k.keyId === signed.keyId);
  if (!published) return { valid: false, reason: `no published key has keyId ${signed.keyId}` };
  let key: KeyObject;
  try {
    key = createPublicKey(published.publicKeyPem);
  } catch {
    return { valid: false, reason: `published key ${signed.keyId} is not a readable public key` };
  }
  // A key list is itself input: a key published under another key's id must not vouch for it.
  if (keyIdOf(key) !== signed.keyId) return { valid: false, reason: `published key ${signed.keyId} does not hash to its keyId` };
  if (key.asymmetricKeyType !== 'ed25519') return { valid: false, reason: `published key ${signed.keyId} is not Ed25519` };
  if (!verify(null, treeHeadBytes(signed), key, signatureBytes)) return { valid: false, reason: 'signature does not verify' };
  return { valid: true };
}
