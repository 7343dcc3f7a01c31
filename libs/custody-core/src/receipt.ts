import { eventLeafHash, type CustodyEvent } from './event.js';
import { isHashHex, parseHash, toHex } from './hash.js';
import { verifyTreeHead, type PublishedKey, type SignedTreeHead, type Verdict } from './tree-head.js';
import { verifyInclusion } from './verify.js';

/**
 * Offline verification of events against signed tree heads: what the verifier CLI and the API's
 * verify endpoint run. Only cryptographic facts are checked: an action name this version does not
 * know still verifies, because the vocabulary grows and old verifiers must keep working.
 */

/** What a submitter gets back: proof that the log holds exactly this event under a signed head. */
export interface Receipt {
  event: CustodyEvent;
  /** Hex leaf hash of the event's RFC 8785 bytes. */
  leafHash: string;
  leafIndex: number;
  treeHead: SignedTreeHead;
  /** Hex RFC 9162 inclusion proof of leafIndex in the head's tree. */
  inclusionProof: string[];
}

/** One event to check against a head; leafHash, when given, is the hash the archive claims for it. */
export interface EventToVerify {
  event: CustodyEvent;
  leafIndex: number;
  proof: string[];
  leafHash?: string;
}

/** Per-event outcome of `verifyEventsAgainstHead`. */
export interface EventVerification {
  leafIndex: number;
  /** The event says it sits at leafIndex. */
  indexMatches: boolean;
  /** The event's recomputed leaf hash equals the one supplied (true when none was supplied). */
  leafHashMatches: boolean;
  /** The recomputed leaf hash is proved to be leaf leafIndex of the head's tree. */
  included: boolean;
  reason?: string;
}

/** Report of `verifyEventsAgainstHead`. */
export interface EventsReport {
  valid: boolean;
  head: Verdict;
  items: EventVerification[];
  firstFailure?: string;
}

function verifyEvent(item: EventToVerify, head: SignedTreeHead): EventVerification {
  const { event, leafIndex, proof, leafHash } = item;
  const failed = (reason: string, partial: Partial<EventVerification> = {}): EventVerification => ({
    leafIndex,
    indexMatches: false,
    leafHashMatches: false,
    included: false,
    ...partial,
    reason,
  });
  let computed: Buffer;
  try {
    computed = eventLeafHash(event);
  } catch (error) {
    return failed(`event cannot be canonicalised: ${(error as Error).message}`);
  }
  const indexMatches = typeof event === 'object' && event !== null && event.index === leafIndex;
  const leafHashMatches = leafHash === undefined || leafHash === toHex(computed);
  const proofIsHex = Array.isArray(proof) && proof.every(isHashHex);
  const included =
    proofIsHex && isHashHex(head.rootHash) && verifyInclusion(leafIndex, head.treeSize, computed, proof.map(parseHash), parseHash(head.rootHash));
  const result: EventVerification = { leafIndex, indexMatches, leafHashMatches, included };
  if (!indexMatches) result.reason = `event.index is not ${leafIndex}`;
  else if (!leafHashMatches) result.reason = 'leaf hash does not match the event';
  else if (!proofIsHex) result.reason = 'inclusion proof is not a list of 32-byte lowercase hex hashes';
  else if (!included) result.reason = `inclusion proof does not lead to the head's root at tree size ${head.treeSize}`;
  return result;
}

const isGood = (r: EventVerification): boolean => r.indexMatches && r.leafHashMatches && r.included;

/** Checks a receipt: event hash, index, inclusion under the head, and the head's signature. */
export function verifyReceipt(receipt: Receipt, publicKeys: PublishedKey | readonly PublishedKey[]): Verdict {
  if (typeof receipt !== 'object' || receipt === null) return { valid: false, reason: 'receipt is not an object' };
  if (!isHashHex(receipt.leafHash)) return { valid: false, reason: 'leafHash is not 32 bytes of lowercase hex' };
  const head = verifyTreeHead(receipt.treeHead, publicKeys);
  if (!head.valid) return { valid: false, reason: `tree head: ${head.reason}` };
  const item = verifyEvent(
    { event: receipt.event, leafIndex: receipt.leafIndex, proof: receipt.inclusionProof, leafHash: receipt.leafHash },
    receipt.treeHead,
  );
  return isGood(item) ? { valid: true } : { valid: false, reason: item.reason };
}

/** Checks many events against one signed head and reports on each; `trustedKeyId` pins the signing key. */
export function verifyEventsAgainstHead(
  items: readonly EventToVerify[],
  signedHead: SignedTreeHead,
  publicKeys: PublishedKey | readonly PublishedKey[],
  options: { trustedKeyId?: string } = {},
): EventsReport {
  // Proofs are checked at the head's treeSize, never a size supplied alongside: a proof alone does not fix it.
  let head = verifyTreeHead(signedHead, publicKeys);
  if (head.valid && options.trustedKeyId !== undefined && signedHead.keyId !== options.trustedKeyId) {
    head = { valid: false, reason: `signed by key ${signedHead.keyId}, not the trusted key ${options.trustedKeyId}` };
  }
  const results = items.map((item) => verifyEvent(item, signedHead));
  const bad = results.find((r) => !isGood(r));
  const firstFailure = !head.valid ? `tree head: ${head.reason}` : bad ? `leaf ${bad.leafIndex}: ${bad.reason}` : undefined;
  return { valid: firstFailure === undefined, head, items: results, ...(firstFailure ? { firstFailure } : {}) };
}
