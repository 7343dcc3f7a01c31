import type { HashMessage } from './hash-worker.js';
import { sha256OfBlob } from './sha256-stream.js';

/**
 * SHA-256 of a file in the browser, before a byte is sent (the archive refuses bytes that
 * differ): in a worker so the page stays responsive, on the page's thread where workers fail.
 */
export function hashFile(file: File, onProgress: (hashed: number) => void): Promise<string> {
  let worker: Worker;
  try {
    worker = new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module' });
  } catch {
    return sha256OfBlob(file, onProgress);
  }
  return new Promise<string>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<HashMessage>) => {
      const message = event.data;
      if ('progress' in message) return onProgress(message.progress);
      worker.terminate();
      if ('sha256' in message) resolve(message.sha256);
      else reject(new Error(message.error));
    };
    worker.onerror = (event) => {
      // The worker could not start (or died): hash here instead.
      event.preventDefault();
      worker.terminate();
      sha256OfBlob(file, onProgress).then(resolve, reject);
    };
    worker.postMessage({ file });
  });
}
