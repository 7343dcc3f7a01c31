import { API, authHeaders } from '../api.js';

/**
 * Thumbnails need the bearer token, which an <img src> cannot send: each is fetched as a blob and
 * shown through an object URL (CSP img-src allows blob:). Every read is a custody event on the
 * server (one logged append each), so the grid asks only for cells that stay on screen a moment,
 * at most MAX_PARALLEL at once (the browser's six connections per host must leave room for the
 * listing's next page), newest request first (what the user scrolled to now), and forgets a
 * request whose cell scrolled away before its turn. Each item is read at most once per page load.
 */
const MAX_PARALLEL = 4;
const SETTLE_MS = 120;

const done = new Map<string, string | null>();
const waiting: { id: string; resolve(url: string | null): void; cancelled: boolean }[] = [];
let running = 0;

function pump(): void {
  while (running < MAX_PARALLEL && waiting.length > 0) {
    const job = waiting.pop()!;
    if (job.cancelled) continue;
    running++;
    fetch(`${API}/evidence/${job.id}/thumbnail`, { headers: authHeaders() })
      .then(async (res) => (res.ok ? URL.createObjectURL(await res.blob()) : null))
      .catch(() => null)
      .then((url) => {
        // A missing one (derivatives come in the background) is asked again next time.
        if (url) done.set(job.id, url);
        job.resolve(url);
      })
      .finally(() => {
        running--;
        pump();
      });
  }
}

/** Asks for an item's thumbnail; the returned cancel() drops the request if it has not started. */
export function requestThumbnail(id: string, onUrl: (url: string) => void): () => void {
  const known = done.get(id);
  if (known) {
    onUrl(known);
    return () => undefined;
  }
  let job: (typeof waiting)[number] | null = null;
  const timer = setTimeout(() => {
    job = { id, cancelled: false, resolve: (url) => url && !job!.cancelled && onUrl(url) };
    waiting.push(job);
    pump();
  }, SETTLE_MS);
  return () => {
    clearTimeout(timer);
    if (job) job.cancelled = true;
  };
}

/** One thumbnail now (the item screen's fallback when no preview exists). */
export function thumbnailUrl(id: string): Promise<string | null> {
  return new Promise((resolve) => {
    requestThumbnail(id, resolve);
    setTimeout(() => resolve(done.get(id) ?? null), 30_000);
  });
}
