import { fetchReceipt, type Receipt } from './api.js';

/** How long the upload screen keeps asking for a late receipt before it says to fetch it later. */
export const RECEIPT_PATIENCE_MS = 2 * 60_000;

/**
 * Asks a receiptUrl until the receipt is there (custody.md: the log integrates after the commit,
 * and a submission waits only so long for it): each 202 says in Retry-After when to ask again.
 * Null when the patience runs out first; the item page fetches it later.
 */
export async function waitForReceipt(url: string, patienceMs = RECEIPT_PATIENCE_MS, signal?: AbortSignal): Promise<Receipt | null> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    if (signal?.aborted) return null;
    const answer = await fetchReceipt(url);
    if ('receipt' in answer) return answer.receipt;
    const wait = answer.retryAfterS * 1000;
    if (Date.now() + wait > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
