import { custodyEventShapeProblem, eventLeafHash, type CustodyEvent } from './event.js';
import { isHashHex, parseHash } from './hash.js';
import { verifyTreeHead, type PublishedKey, type SignedTreeHead } from './tree-head.js';
import { verifyConsistency, verifyInclusion } from './verify.js';

/**
 * A retired key's last word: the head that ends with the `key.rotated` event retiring it, signed
 * by that key. Someone who trusts the old key can follow it to the new one with nothing but the
 * old key: the head is the old key's, and the event under it names the next key.
 */
export interface KeyHandover {
  /** Signed by the retiring key; its last leaf is the event. */
  head: SignedTreeHead;
  /** `key.rotated`, with `details.previousKeyId` the head's key and `details.keyId` the next one. */
  event: CustodyEvent;
  /** The event's leaf index: `head.treeSize - 1`. */
  leafIndex: number;
  /** RFC 9162 inclusion proof (hex) of the event's leaf in the head's tree. */
  inclusionProof: string[];
}

/** A handover as carried beside a later head: with the proof that the later head extends it. */
export interface CarriedHandover extends KeyHandover {
  /** RFC 9162 consistency proof (hex) from the handover's head to the later head. */
  consistencyProof: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isHexList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isHashHex);

/**
 * Why a handover does not show that its head's key handed over to the key its event names, or
 * undefined if it does: the head verifies under its key, its last leaf is a `key.rotated` event
 * (proved by the inclusion proof) whose previous key is the head's key.
 */
export function handoverProblem(value: unknown, keys: readonly PublishedKey[]): string | undefined {
  if (!isObject(value) || !isObject(value['head']) || !isObject(value['event'])) return 'is not { head, event, leafIndex, inclusionProof }';
  const { head, event, leafIndex, inclusionProof } = value as unknown as KeyHandover;
  const signed = verifyTreeHead(head, keys);
  if (!signed.valid) return `its head does not verify: ${signed.reason}`;
  const shape = custodyEventShapeProblem(event);
  if (shape) return `its event is not a custody event (${shape})`;
  if (event.action !== 'key.rotated') return `its event is ${event.action}, not key.rotated`;
  if (event.details['previousKeyId'] !== head.keyId) return `its event retires ${String(event.details['previousKeyId'])}, not the key that signed its head (${head.keyId})`;
  if (!isHashHex(event.details['keyId'])) return 'its event names no next key';
  if (leafIndex !== head.treeSize - 1 || event.index !== leafIndex) return `its event is not the last leaf of its head (leaf ${String(leafIndex)}, size ${head.treeSize})`;
  if (!isHexList(inclusionProof) || !verifyInclusion(leafIndex, head.treeSize, eventLeafHash(event), inclusionProof.map(parseHash), parseHash(head.rootHash))) {
    return 'its inclusion proof does not lead from its event to its head';
  }
  return undefined;
}

/** What following handovers from the trusted keys gave. */
export interface HandoverChain {
  /** The keys trusted at the start and every key a trusted one handed over to, none of them compromised. */
  trusted: Set<string>;
  /** Handovers that do not verify, or do not lead to `head`. */
  problems: string[];
  /** Keys that would have been trusted but are marked compromised, with when: left out of `trusted`. */
  compromised: Map<string, string>;
}

/** The keys of `keys` marked compromised, with when (any entry's mark counts: keys may come from several sources). */
export function compromisedKeys(keys: readonly PublishedKey[]): Map<string, string> {
  const marked = new Map<string, string>();
  for (const key of keys) if (typeof key.compromisedAt === 'string') marked.set(key.keyId, key.compromisedAt);
  return marked;
}

/** Why keys marked compromised (a HandoverChain's `compromised`) cannot be trusted, and what to do: for verdicts. */
export function compromisedKeysNote(compromised: ReadonlyMap<string, string>): string {
  return [...compromised]
    .map(
      ([keyId, since]) =>
        `key ${keyId} was marked compromised by the archive at ${since}: whoever holds it could have signed any head or handover, ` +
        "so nothing it signed is trusted on its own; pin the archive's current key, learnt from its operator out of band",
    )
    .join('; ');
}

/**
 * Follows handovers from the keys trusted at the start: each one signed by a trusted key, proved
 * consistent with `head` (so the same log), makes its next key trusted too. Handovers are taken in
 * log order, so a chain of rotations is followed whatever order they are given in. Without a
 * head (a receipt's signer is all that is asked) the handovers' own signatures and proofs are
 * checked, not that they are of one log. A key `keys` marks compromised is not trusted, pinned
 * or reached, and no handover it signed is followed: a leaked key could sign one to anyone.
 */
export function followHandovers(
  trustedKeyIds: Iterable<string>,
  handovers: readonly unknown[],
  keys: readonly PublishedKey[],
  head?: SignedTreeHead,
): HandoverChain {
  const trusted = new Set(trustedKeyIds);
  const problems: string[] = [];
  const valid: CarriedHandover[] = [];
  handovers.forEach((h, k) => {
    const problem = handoverProblem(h, keys);
    const carried = h as CarriedHandover;
    if (problem) problems.push(`handover ${k} ${problem}`);
    else if (!head) valid.push(carried);
    else if (carried.head.treeSize > head.treeSize) problems.push(`handover ${k} is of a larger tree (${carried.head.treeSize}) than the head (${head.treeSize})`);
    else if (
      !isHexList(carried.consistencyProof) ||
      // Equal sizes need no proof but equal roots (verifyConsistency holds them to that).
      !verifyConsistency(carried.head.treeSize, head.treeSize, carried.consistencyProof.map(parseHash), parseHash(carried.head.rootHash), parseHash(head.rootHash))
    ) {
      problems.push(`handover ${k} (size ${carried.head.treeSize}) is not of the log the head (size ${head.treeSize}) is of: its consistency proof fails`);
    } else valid.push(carried);
  });
  const marked = compromisedKeys(keys);
  for (const h of valid.sort((a, b) => a.leafIndex - b.leafIndex)) {
    if (trusted.has(h.head.keyId) && !marked.has(h.head.keyId)) trusted.add(h.event.details['keyId'] as string);
  }
  const compromised = new Map([...trusted].flatMap((keyId) => (marked.has(keyId) ? [[keyId, marked.get(keyId)!] as const] : [])));
  for (const keyId of compromised.keys()) trusted.delete(keyId);
  return { trusted, problems, compromised };
}
