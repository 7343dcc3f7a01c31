// The body of one metadata thread (metadata-threads.ts starts it): sniffs the media type and reads
// the embedded metadata of one file per message, one at a time, and posts both back; or takes a
// file a message carries out of it. A file that stalls the readers stalls only this thread, which
// its parent terminates when the time is up.
// Image headers that need libvips are asked of the parent: no native code is loaded here.
import { parentPort } from 'node:worker_threads';
import type { ImageHeader } from './image-header.js';
import { messageAttachmentBytes } from './message-attachment.js';
import { extractEmbeddedMetadata } from './metadata.js';
import type { HeaderAnswer, ThreadAnswer, ThreadTask } from './metadata-threads.js';
import { sniffMediaType } from './sniff.js';

const port = parentPort!;
const headers = new Map<number, (header: ImageHeader | null) => void>();
let nextHeader = 0;

const askParentForHeader = (filePath: string): Promise<ImageHeader | null> =>
  new Promise((resolve) => {
    const header = nextHeader++;
    headers.set(header, resolve);
    port.postMessage({ header, filePath });
  });

port.on('message', (message: ThreadTask | HeaderAnswer) => {
  if ('header' in message) {
    headers.get(message.header)?.(message.value && revive(message.value));
    headers.delete(message.header);
    return;
  }
  const { id, filePath, carriedSha256 } = message;
  if (carriedSha256 !== undefined) {
    void messageAttachmentBytes(filePath, carriedSha256).then(
      (carried) => port.postMessage({ id, ok: true, carried } satisfies ThreadAnswer),
      (error: Error) => port.postMessage({ id, ok: false, name: error.name, message: error.message } satisfies ThreadAnswer),
    );
    return;
  }
  // The type first, on its own: if the metadata readers are then stopped, the type is kept.
  const read = async () => {
    port.postMessage({ id, mediaType: await sniffMediaType(filePath) } satisfies ThreadAnswer);
    return extractEmbeddedMetadata(filePath, askParentForHeader);
  };
  void read().then(
    (value) => port.postMessage({ id, ok: true, value } satisfies ThreadAnswer),
    (error: Error) => port.postMessage({ id, ok: false, name: error.name, message: error.message } satisfies ThreadAnswer),
  );
});
port.postMessage('ready');

/** Buffers arrive as plain byte arrays; the readers use Buffer's methods. */
function revive(header: ImageHeader): ImageHeader {
  const buffer = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined);
  return { width: header.width, height: header.height, exif: buffer(header.exif), xmp: buffer(header.xmp), iptc: buffer(header.iptc) };
}
