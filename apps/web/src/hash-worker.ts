// The streaming SHA-256 off the page's thread: a module worker bundled by Vite and served from the
// console's own origin (worker-src 'self'). It answers progress messages, then the hash or an error.
import { sha256OfBlob } from './sha256-stream.js';

export type HashMessage = { progress: number } | { sha256: string } | { error: string };

// Typed by hand: the console's program has the DOM's types, not the worker's.
const scope = self as unknown as { onmessage: ((event: MessageEvent<{ file: Blob }>) => void) | null; postMessage(message: HashMessage): void };
scope.onmessage = (event) => {
  sha256OfBlob(event.data.file, (progress) => scope.postMessage({ progress } satisfies HashMessage)).then(
    (sha256) => scope.postMessage({ sha256 } satisfies HashMessage),
    (error: unknown) => scope.postMessage({ error: (error as Error).message ?? String(error) } satisfies HashMessage),
  );
};
