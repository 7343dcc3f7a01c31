import { get, type CustodyEvent, type Receipt, type TreeHead } from './api.js';
import { failed, fromHex, verifyConsistency, verifyEventInHead, verifyReceipt, verifyTreeHead, type PublishedKey, type Reason, type Verdict } from './custody-verify.js';
import type { I18n } from './i18n.js';

/**
 * What the Verify buttons run: every fact is fetched from the archive's public log routes and
 * checked here with custody-verify.ts; the archive's own verdict is never consulted.
 */

export interface EvidenceCustody {
  events: { event: CustodyEvent; leafIndex: number; leafHash: string }[];
  treeHead: TreeHead;
  proofs: Record<string, string[]>;
  /** Where the next page starts; null on the last (an item's reads are events, so they are paged). */
  nextCursor: string | null;
}

/** One page of an item's custody (from the start when `cursor` is null). */
export function custodyPage(evidenceId: string, cursor: string | null): Promise<EvidenceCustody> {
  return get<EvidenceCustody>(`/evidence/${evidenceId}/custody${cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`}`);
}

export interface Check extends Verdict {
  events?: number;
  ms: number;
  leafIndex?: number;
  keyId?: string;
  /** Why the check could not be made (no connection, the archive's error): it says nothing of the evidence. */
  unchecked?: string;
}

/** A failed check's reason in the console's language, the part that failed first ("event 12: the leaf hash ..."). */
export function reasonText(reason: Reason | undefined, t: I18n['t']): string {
  if (!reason) return '';
  return t(`verify.why.${reason.code}`, { ...reason.values, r: reasonText(reason.cause, t) });
}

/** A check that could not be made, apart from one that failed. */
export const uncheckable = (reason: string): Check => ({ valid: false, unchecked: reason, ms: 0 });

/** The later head extends the earlier one: both signed, and the consistency proof between them holds. */
export async function checkLogGrewFrom(head: TreeHead, keys: PublishedKey[]): Promise<Verdict> {
  const latest = await get<TreeHead>('/log/tree-head');
  const signed = await verifyTreeHead(latest, keys);
  if (!signed.valid) return failed('latestHead', undefined, signed.reason);
  if (latest.treeSize < head.treeSize) return failed('headShrank', { latest: latest.treeSize, n: head.treeSize });
  if (latest.treeSize === head.treeSize) {
    return latest.rootHash === head.rootHash ? { valid: true } : failed('fork');
  }
  const { proof } = await get<{ proof: string[] }>(`/log/proofs/consistency?first=${head.treeSize}&second=${latest.treeSize}`);
  const ok = await verifyConsistency(head.treeSize, latest.treeSize, proof.map(fromHex), fromHex(head.rootHash), fromHex(latest.rootHash));
  return ok ? { valid: true } : failed('notConsistent', { latest: latest.treeSize, n: head.treeSize });
}

/**
 * An item's custody, page by page: each page's head signature, every event's inclusion, its hash,
 * and that the log grew from each head the pages came with to the latest one (the pages of one
 * answer may come under different heads; each must be part of today's log, or a forked view of
 * an earlier page would go unnoticed).
 */
export async function verifyItemCustody(evidenceId: string, sha256: string): Promise<Check> {
  const started = performance.now();
  const keys = await get<PublishedKey[]>('/log/keys');
  let events = 0;
  const done = (verdict: Verdict): Check => ({ ...verdict, events, ms: Math.round(performance.now() - started) });
  const heads = new Map<number, TreeHead>();
  let cursor: string | null = null;
  do {
    const custody: EvidenceCustody = await custodyPage(evidenceId, cursor);
    const head = await verifyTreeHead(custody.treeHead, keys);
    if (!head.valid) return done(failed('treeHead', undefined, head.reason));
    heads.set(custody.treeHead.treeSize, custody.treeHead);
    for (const { event, leafIndex, leafHash } of custody.events) {
      // Pages go forward: an event at or before the cursor asked with would be seen twice.
      if (cursor !== null && !(leafIndex > Number(cursor))) return done(failed('eventRepeated', { i: leafIndex, cursor }));
      const verdict = await verifyEventInHead(event, leafIndex, custody.proofs[String(leafIndex)] ?? [], custody.treeHead, leafHash);
      if (!verdict.valid) return done(failed('event', { i: leafIndex }, verdict.reason));
      if (event.subject.type === 'evidence' && event.subject.id === evidenceId && event.subject.sha256 !== undefined && event.subject.sha256 !== sha256) {
        return done(failed('wrongSha256', { i: leafIndex, named: event.subject.sha256, own: sha256 }));
      }
      events += 1;
    }
    const last = custody.events.at(-1)?.leafIndex;
    if (custody.nextCursor !== null && (last === undefined || !(Number(custody.nextCursor) >= last))) {
      return done(failed('pageGap', { next: custody.nextCursor, last: last ?? '—' }));
    }
    cursor = custody.nextCursor;
  } while (cursor !== null);
  for (const head of heads.values()) {
    const grew = await checkLogGrewFrom(head, keys);
    if (!grew.valid) return done(grew);
  }
  return done({ valid: true });
}

/** A receipt the submitter kept: valid under its own head, and that head is still part of today's log. */
export async function verifyKeptReceipt(receipt: Receipt): Promise<Check> {
  const started = performance.now();
  const keys = await get<PublishedKey[]>('/log/keys');
  const done = (verdict: Verdict): Check => ({ ...verdict, events: 1, ms: Math.round(performance.now() - started), leafIndex: receipt.leafIndex, keyId: receipt.treeHead?.keyId });
  const own = await verifyReceipt(receipt, keys);
  if (!own.valid) return done(own);
  return done(await checkLogGrewFrom(receipt.treeHead, keys));
}
