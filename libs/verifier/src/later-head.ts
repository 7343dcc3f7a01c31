import { readFile } from 'node:fs/promises';
import type { KeyHandover, PublishedKey, SignedTreeHead } from '#custodia/custody-core';
import type { LaterHead } from './verify-package.js';

const TIMEOUT_MS = 20_000;
const MAX_BYTES = 4 * 1024 * 1024;

async function getJson(url: URL, fetchImpl: typeof fetch): Promise<unknown> {
  // A redirect is not followed: what is checked is the archive named, and each message names it.
  const response = await fetchImpl(url, { headers: { Accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (response.status >= 300 && response.status < 400) throw new Error(`${url.href} answered HTTP ${response.status}, a redirect (not followed): give the address it names, if you trust it`);
  if (!response.ok) throw new Error(`${url.href} answered HTTP ${response.status}`);
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
 * `{ treeHead, consistencyProof, keys? }` (a bare signed head of the same size needs no proof).
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
    return { head, consistencyProof: proof, keys, handovers, source: base.origin };
  }
  const parsed = JSON.parse(await readFile(against, 'utf8')) as Record<string, unknown>;
  const head = (parsed['treeHead'] ?? parsed) as SignedTreeHead;
  const proof = (parsed['consistencyProof'] ?? (parsed['consistency'] as { proof?: unknown } | undefined)?.proof ?? parsed['proof'] ?? []) as string[];
  const keys = (Array.isArray(parsed['keys']) ? parsed['keys'] : []) as PublishedKey[];
  const handovers = Array.isArray(parsed['handovers']) ? (parsed['handovers'] as unknown[]) : [];
  return { head, consistencyProof: proof, keys, handovers, source: against };
}
