import http from 'node:http';
import https from 'node:https';
import { open, stat } from 'node:fs/promises';
import type * as tus from 'tus-js-client';

/**
 * How tus-js-client reads files and sends chunks here, through its two documented extension points
 * (`fileReader`, `httpStack`); the protocol (offsets, retries, resuming) stays tus-js-client's.
 * Its own Node reader opens a stream per chunk and pipes it through a transform in 64 KiB pieces:
 * 2.2 to 2.8 s of CPU per GiB, on the same cores as the documenter's other work (or, in the bench,
 * the archive). Here each chunk is read whole into one buffer, the same one for every chunk of a
 * file (a fresh 8 MiB buffer per chunk cost another 1.9 s of the kernel's CPU per GiB: its pages
 * faulted in, zeroed and unmapped each time), and written in 1 MiB views of it. tus-js-client asks
 * for a file's next chunk only once the last one's request has ended (it sends one at a time;
 * `parallelUploads` is not used with this reader).
 */

type UploadInput = ConstructorParameters<typeof tus.Upload>[0];

/** A file on disk as tus-js-client's input: only `TUS_FILE_OPTIONS.fileReader` can open it. */
export function fileOnDisk(file: string): UploadInput {
  return { path: file } as unknown as UploadInput;
}

/** One chunk's bytes; `size` is what tus-js-client reads of a slice. */
class Chunk {
  constructor(readonly bytes: Buffer) {}
  get size(): number {
    return this.bytes.length;
  }
}

/** Progress is reported per piece written, so a slow network still shows it moving. */
const PIECE = 1024 * 1024;

/** A tus answer's body is a few words at most; more than this is not one. */
const ANSWER_LIMIT_BYTES = 64 * 1024;

/** A request with no byte sent or received for this long is given up (tus-js-client then retries). */
const IDLE_TIMEOUT_MS = 60_000;

/** `length` bytes of `file` from `start` into the front of `into`. */
async function readPart(file: string, into: Buffer, start: number, length: number): Promise<Buffer> {
  const bytes = into.subarray(0, length);
  // Opened per read, so a source tus-js-client closed (abort, then start again) still reads.
  const handle = await open(file, 'r');
  try {
    for (let read = 0; read < length; ) {
      const { bytesRead } = await handle.read(bytes, read, length - read, start + read);
      if (bytesRead === 0) throw new Error(`${file} became shorter while it was being sent`);
      read += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return bytes;
}

const fileReader: tus.FileReader = {
  async openFile(input: { path: string }) {
    const file = input.path;
    const { size } = await stat(file);
    // Two buffers in turn: one chunk is sent from one while the next is read into the other, so
    // the disk (a slow USB stick, a phone's card) is read while the network is busy, not between
    // chunks. tus-js-client asks for the next slice only once the last request was answered,
    // so the buffer a chunk went out from is free again by then.
    let sending: Buffer | undefined;
    let spare: Buffer | undefined;
    let ahead: { start: number; length: number; bytes: Promise<Buffer> } | null = null;
    const room = (buffer: Buffer | undefined, length: number) => (buffer && buffer.length >= length ? buffer : Buffer.allocUnsafe(length));
    return {
      size,
      async slice(start: number, end: number) {
        // The offset comes from the server: a negative or impossible one is refused, not read from.
        if (!Number.isSafeInteger(start) || start < 0 || start > size) throw new Error(`the archive asked for bytes from offset ${start} of a file of ${size}`);
        end = Math.min(end, size);
        const length = Math.max(0, end - start);
        let bytes: Buffer;
        const read = ahead;
        ahead = null;
        if (read && read.start === start && read.length === length) {
          bytes = await read.bytes;
          [sending, spare] = [spare, sending];
        } else {
          // Another offset (the server had less, or a retry): the read ahead is not used, and
          // its buffer is written only once that read is over.
          await read?.bytes.catch(() => undefined);
          sending = room(sending, length);
          bytes = await readPart(file, sending, start, length);
        }
        if (end < size) {
          const next = Math.min(length, size - end);
          spare = room(spare, next);
          const reading = readPart(file, spare, end, next);
          // A failure is met when that slice is asked for (or never, if it is not).
          reading.catch(() => undefined);
          ahead = { start: end, length: next, bytes: reading };
        }
        return { value: new Chunk(bytes), done: end >= size };
      },
      close: () => undefined,
    };
  },
};

class Response implements tus.HttpResponse {
  constructor(
    private readonly res: http.IncomingMessage,
    private readonly body: string,
  ) {}
  getStatus(): number {
    return this.res.statusCode ?? 0;
  }
  getHeader(header: string): string | undefined {
    const value = this.res.headers[header.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  getBody(): string {
    return this.body;
  }
  getUnderlyingObject(): http.IncomingMessage {
    return this.res;
  }
}

class Request implements tus.HttpRequest {
  private readonly headers: Record<string, string> = {};
  private progress: (bytesSent: number) => void = () => undefined;
  private request: http.ClientRequest | null = null;

  constructor(
    private readonly method: string,
    private readonly url: string,
    private readonly idleTimeoutMs: number,
  ) {}

  getMethod(): string {
    return this.method;
  }
  getURL(): string {
    return this.url;
  }
  setHeader(header: string, value: string): void {
    this.headers[header] = value;
  }
  getHeader(header: string): string | undefined {
    return this.headers[header];
  }
  setProgressHandler(handler: (bytesSent: number) => void): void {
    this.progress = handler;
  }
  getUnderlyingObject(): http.ClientRequest | null {
    return this.request;
  }
  abort(): Promise<void> {
    this.request?.destroy();
    return Promise.resolve();
  }

  send(body?: Chunk | null): Promise<tus.HttpResponse> {
    return new Promise((resolve, reject) => {
      const target = new URL(this.url);
      const headers = { ...this.headers, ...(body ? { 'Content-Length': String(body.size) } : {}) };
      // The global agents keep connections alive (Node 19 and later), so chunks share one.
      const req = (target.protocol === 'https:' ? https : http).request(target, { method: this.method, headers });
      this.request = req;
      req.on('error', reject);
      req.setTimeout(this.idleTimeoutMs, () => req.destroy(new Error(`the archive sent nothing for ${this.idleTimeoutMs / 1000} s`)));
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (part: Buffer) => {
          size += part.length;
          if (size > ANSWER_LIMIT_BYTES) req.destroy(new Error(`the archive's answer to a tus request is larger than ${ANSWER_LIMIT_BYTES} bytes`));
          else parts.push(part);
        });
        res.on('error', reject);
        res.on('end', () => resolve(new Response(res, Buffer.concat(parts).toString('utf8'))));
      });
      if (!body) {
        req.end();
        return;
      }
      let sent = 0;
      const writeOn = () => {
        while (sent < body.size) {
          const piece = body.bytes.subarray(sent, sent + PIECE);
          sent += piece.length;
          const upTo = sent;
          const more = req.write(piece, (error) => error || this.progress(upTo));
          if (!more) {
            req.once('drain', writeOn);
            return;
          }
        }
        req.end();
      };
      writeOn();
    });
  }
}

/** Spread into tus-js-client's options with an input from `fileOnDisk`; `idleTimeoutMs` is for tests. */
export function tusFileOptions(idleTimeoutMs = IDLE_TIMEOUT_MS) {
  const httpStack: tus.HttpStack = {
    createRequest: (method, url) => new Request(method, url, idleTimeoutMs),
    getName: () => 'custodia-node',
  };
  return { fileReader, httpStack } satisfies tus.UploadOptions;
}

export const TUS_FILE_OPTIONS = tusFileOptions();
