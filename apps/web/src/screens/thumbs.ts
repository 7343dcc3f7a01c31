import { fetchBlob } from '../api.js';

/**
 * Thumbnails need the bearer token, which an <img src> cannot send: each is fetched once as a
 * blob and shown through an object URL (CSP img-src allows blob:). Every read is a custody event
 * on the server, so only the cells on screen ask, and each item at most once per page load.
 */
const cache = new Map<string, Promise<string | null>>();

export function thumbnailUrl(id: string): Promise<string | null> {
  let url = cache.get(id);
  if (!url) {
    url = fetchBlob(`/evidence/${id}/thumbnail`).then(
      (blob) => URL.createObjectURL(blob),
      () => {
        // Not made yet (derivatives come in the background): ask again next time.
        cache.delete(id);
        return null;
      },
    );
    cache.set(id, url);
  }
  return url;
}
