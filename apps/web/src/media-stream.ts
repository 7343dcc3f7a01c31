import { API, fetchBlob, token } from './api.js';

/**
 * An address a <video> or <audio> element can play from: the API's ranged route itself, through
 * public/sw.js, which adds the token. Without service workers (a private window of some
 * browsers), the whole file is fetched into a blob instead.
 */
export async function streamUrl(path: string): Promise<string> {
  if ('serviceWorker' in navigator) {
    try {
      await navigator.serviceWorker.register('/sw.js', { scope: '/' });
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise<void>((resolve) => navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }));
      }
      // The worker keeps this tab's token before the video asks for its bytes: a message and a
      // fetch reach it in no set order, and a request it sees first goes without the token (401).
      const kept = new MessageChannel();
      const answered = new Promise<void>((resolve, reject) => {
        kept.port1.onmessage = () => resolve();
        setTimeout(() => reject(new Error('the service worker did not answer')), 5000);
      });
      navigator.serviceWorker.controller!.postMessage({ token: token.get() }, [kept.port2]);
      await answered;
      return API + path;
    } catch {
      // Fall through to a copy in memory.
    }
  }
  return URL.createObjectURL(await fetchBlob(path));
}
