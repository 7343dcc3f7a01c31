import { readFile } from 'node:fs/promises';
import type { KeyHandover, PublishedKey, SignedTreeHead } from '#custodia/custody-core';
import type { ExportEventLookup, LaterHead } from './verify-package.js';

const TIMEOUT_MS = 20_000;
const MAX_BYTES = 4 * 1024 * 1024;

/** An answer of the archive that is not a success, with its status. */
class HttpRefusal extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function getJson(url: URL, fetchImpl: typeof fetch): Promise<unknown> {
  // A redirect is not followed: what is checked is the archive named, and each message names it.
  const response = await fetchImpl(url, { headers: { Accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (response.status >= 300 && response.status < 400) throw new Error(`${url.href} answered HTTP ${response.status}, a redirect (not followed): give the address it names, if you trust it`);
  if (!response.ok) throw new HttpRefusal(`${url.href} answered HTTP ${response.status}`, response.status);
  // Read no further than the cap: an endless answer is refused as it arrives, not after.
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of response.body ?? []) {
    size += (part as Uint8Array).byteLength;
    if (size > MAX_BYTES) throw new Error(`${url.href} sent more than ${MAX_BYTES} bytes`);
    parts.push(part as Uint8Array);
  }
  return JSON.parse(Buffer.concat(parts).toString('utf8'));
}

/** The archive's API base from what a person types: `https://archive.example.org` or `.../api/v1`. */
export function apiBase(address: string): URL {
  const url = new URL(address);
  if (!/\/api\/v1\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/$/, '')}/api/v1`;
  url.pathname = url.pathname.replace(/\/$/, '');
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * `--against`: a later signed head and the consistency proof from the package's head to it,
 * from an archive's public log API (its newest head) or from a JSON file holding
 * `{ treeHead, consistencyProof, keys?, handovers? }` as the README describes (a bare signed head of the same size needs no proof).
 */
export async function loadLaterHead(against: string, packageHead: SignedTreeHead, fetchImpl: typeof fetch = fetch): Promise<LaterHead> {
  if (/^https?:\/\//i.test(against)) {
    const base = apiBase(against);
    const at = (path: string) => new URL(`${base.pathname}${path}`, base);
    const head = (await getJson(at('/log/tree-head'), fetchImpl)) as SignedTreeHead;
    const answer = await getJson(at('/log/keys'), fetchImpl);
    const keys = (Array.isArray(answer) ? answer : []) as (PublishedKey & { handover?: KeyHandover | null })[];
    const consistency = async (first: number): Promise<string[]> =>
      first >= head.treeSize ? [] : ((await getJson(at(`/log/proofs/consistency?first=${first}&second=${head.treeSize}`), fetchImpl)) as { proof: string[] }).proof;
    const proof = await consistency(packageHead.treeSize);
    // Handovers of keys rotated after the package's head: a pinned key leads through them to the later head's.
    const handovers: unknown[] = [];
    for (const key of keys) {
      const handover = key.handover;
      const size = handover?.head?.treeSize;
      if (!Number.isSafeInteger(size) || size! <= packageHead.treeSize || size! > head.treeSize) continue;
      handovers.push({ ...handover, consistencyProof: await consistency(size!) });
    }
    return { head, consistencyProof: proof, keys, handovers, source: base.origin, exportEvent: (exportId, from) => findExportEvent(at, fetchImpl, exportId, from, head.treeSize) };
  }
  const parsed = JSON.parse(await readFile(against, 'utf8')) as Record<string, unknown>;
  const head = (parsed['treeHead'] ?? parsed) as SignedTreeHead;
  const proof = (parsed['consistencyProof'] ?? (parsed['consistency'] as { proof?: unknown } | undefined)?.proof ?? parsed['proof'] ?? []) as string[];
  const keys = (Array.isArray(parsed['keys']) ? parsed['keys'] : []) as PublishedKey[];
  const handovers = Array.isArray(parsed['handovers']) ? (parsed['handovers'] as unknown[]) : [];
  return { head, consistencyProof: proof, keys, handovers, source: against };
}

/** Entries asked for at a time (the API's page), and how far past the package's head the event is looked for. */
const ENTRIES_PAGE = 1000;
const MAX_ENTRIES_SCANNED = 200_000;

/**
 * The package's `export.created` event in the archive's log, from leaf `from` (the package's head
 * size: the event is appended once the package is written) to the later head, with its inclusion
 * proof under the later head. Reading events needs the right to (`log.events`, the case's): an
 * archive that refuses, or hides the case's events from this reader, leaves the question open.
 */
async function findExportEvent(
  at: (path: string) => URL,
  fetchImpl: typeof fetch,
  exportId: string,
  from: number,
  treeSize: number,
): Promise<ExportEventLookup> {
  let hidden = false;
  const last = Math.min(treeSize, from + MAX_ENTRIES_SCANNED);
  for (let start = from; start < last; start += ENTRIES_PAGE) {
    const end = Math.min(start + ENTRIES_PAGE, last) - 1;
    let entries: unknown;
    try {
      entries = await getJson(at(`/log/entries?start=${start}&end=${end}`), fetchImpl);
    } catch (error) {
      // A fetch that says how to be let in (the CLI's) keeps its words; the API's own refusal gets these.
      const status = (error as { status?: unknown }).status;
      if (status === 401 || status === 403) {
        return {
          unavailable:
            error instanceof HttpRefusal
              ? `the archive does not show its log's events to this reader (HTTP ${status}): the token of an auditor, or of someone who may read the case's log, lets the package be compared with its export.created event`
              : (error as Error).message,
        };
      }
      throw error;
    }
    if (!Array.isArray(entries)) throw new Error(`${at('/log/entries').href} did not answer a list of entries`);
    for (const entry of entries as { leafIndex?: unknown; leafHash?: unknown; event?: { action?: unknown; subject?: { id?: unknown } } | null }[]) {
      if (entry?.event === null) hidden = true;
      if (entry?.event?.action !== 'export.created' || entry.event.subject?.id !== exportId) continue;
      const proof = (await getJson(at(`/log/proofs/inclusion?leafIndex=${Number(entry.leafIndex)}&treeSize=${treeSize}`), fetchImpl)) as { auditPath?: unknown };
      return { found: { leafIndex: entry.leafIndex, leafHash: entry.leafHash, event: entry.event, inclusionProof: proof.auditPath } };
    }
  }
  if (last < treeSize) return { unavailable: `no export.created event for this package in the ${MAX_ENTRIES_SCANNED} events after its head` };
  return hidden
    ? { unavailable: 'some of the events after the package\'s head are hidden from this reader: give the token of someone who may read the case\'s log' }
    : { missing: true };
}
