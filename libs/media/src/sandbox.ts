// Runs a WebAssembly decoder on one stored file in a worker thread of its own, with a hard time
// limit (the worker is terminated, even mid-loop) and a memory cap, and gives back raw pixels.
// Used for what sharp's prebuilt libvips cannot decode: HEVC HEIF (libheif-js) and video
// frames (@ffmpeg/core). Nothing is passed to a shell and no program is started: the decoders
// are WebAssembly inside this process, reading the stored file by path.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { UndecodableMediaError } from './errors.js';
import {
  sandboxWorkerMain,
  type CompiledWasm,
  type SandboxAnswer,
  type SandboxPixels,
  type SandboxRequest,
  type WebAssemblyApi,
} from './sandbox-worker.js';

/** Time and memory allowed to one decode. */
export interface DecodeLimits {
  /** Wall-clock time from the decoder's start; past it the worker is terminated. */
  timeLimitMs: number;
  /** Cap on the decoder's WebAssembly memory. */
  memoryLimitBytes: number;
}

/**
 * Defaults: a 12 MP HEVC HEIC decodes in about 2 s here and a 4K HEVC video's first frame in
 * about 2.5 s, so 60 s leaves room for 100 MP images and slow machines while a stuck decoder
 * still frees its slot within a minute. 1 GiB holds a 100 MP RGBA picture and its decoder.
 */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = { timeLimitMs: 60_000, memoryLimitBytes: 1024 * 1024 * 1024 };

/** Raw pixels from a sandboxed decode. */
export type DecodedPixels = Omit<SandboxPixels, 'ok' | 'data'> & { data: Buffer };

const require = createRequire(import.meta.url);
const WORKER_SOURCE = `(${sandboxWorkerMain.toString()})()`;

// HEIF has to be read whole into the decoder; real HEIC photos are a few MB, a 100 MP one well
// under 100 MB. Anything larger is refused before it is read.
const MAX_HEIF_BYTES = 256 * 1024 * 1024;
const POSTER_SCAN_FRAMES = 90;
const POSTER_CANDIDATE_SIDE = 1600;

interface Decoder {
  gluePath: string;
  wasmPath: string;
}

const DECODERS: Record<SandboxRequest['kind'], () => Decoder> = {
  heif: () => ({
    gluePath: require.resolve('libheif-js/libheif-wasm/libheif.js'),
    wasmPath: require.resolve('libheif-js/libheif-wasm/libheif.wasm'),
  }),
  video: () => ({ gluePath: require.resolve('@ffmpeg/core'), wasmPath: require.resolve('@ffmpeg/core/wasm') }),
};

// Compiled once per process and shared by every sandbox (V8 shares the machine code between
// workers); each decode still gets a fresh instance and fresh memory.
const compiled = new Map<SandboxRequest['kind'], Promise<{ decoder: Decoder; module: CompiledWasm }>>();
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

function compiledDecoder(kind: SandboxRequest['kind']) {
  let entry = compiled.get(kind);
  if (!entry) {
    entry = (async () => {
      const decoder = DECODERS[kind]();
      return { decoder, module: await wasm.compile(await readFile(decoder.wasmPath)) };
    })();
    entry.catch(() => compiled.delete(kind));
    compiled.set(kind, entry);
  }
  return entry;
}

// Decoders are CPU-bound and each may hold up to its memory cap: at most one per CPU at a time,
// whatever the number of jobs. Time spent waiting for a slot does not count against the limit.
let running = 0;
const waiting: Array<() => void> = [];
const slots = () => Math.max(1, os.availableParallelism());

async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= slots()) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** Decodes a HEIF's primary image or a video's poster frame in a sandbox; throws UndecodableMediaError. */
export async function decodeInSandbox(
  kind: SandboxRequest['kind'],
  filePath: string,
  maxInputPixels: number,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): Promise<DecodedPixels> {
  const { decoder, module } = await compiledDecoder(kind);
  const request: SandboxRequest = {
    kind,
    filePath,
    maxInputPixels,
    memoryBytes: limits.memoryLimitBytes,
    gluePath: decoder.gluePath,
    wasmModule: module,
    maxHeifBytes: MAX_HEIF_BYTES,
    posterScanFrames: POSTER_SCAN_FRAMES,
    posterCandidateSide: POSTER_CANDIDATE_SIDE,
  };
  const answer = await withSlot(() => runWorker(request, limits));
  if (!answer.ok) throw new UndecodableMediaError(answer.reason, answer.message);
  const { ok: _ok, data, ...image } = answer;
  return { ...image, data: Buffer.from(data) };
}

function runWorker(request: SandboxRequest, limits: DecodeLimits): Promise<SandboxAnswer> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: request,
      env: {},
      // The decoder's JavaScript side (logs, file slices, the output picture) stays small; its
      // pixels live in WebAssembly memory, capped inside the worker.
      resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
      stdout: true,
      stderr: true,
    });
    // Decoder chatter is not the archive's log; drop it without letting it pile up.
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const settle = (answer: SandboxAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(answer);
    };
    const timer = setTimeout(
      () => settle({ ok: false, reason: 'limit_exceeded', message: `decoding took longer than ${limits.timeLimitMs / 1000} s and was stopped` }),
      limits.timeLimitMs,
    );
    worker.on('message', (answer: SandboxAnswer) => settle(answer));
    worker.on('error', (error: Error & { code?: string }) =>
      settle(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? { ok: false, reason: 'limit_exceeded', message: 'the decoder ran out of memory' }
          : { ok: false, reason: 'corrupt', message: `the decoder stopped: ${error.message}`.slice(0, 300) },
      ),
    );
    worker.on('exit', (code) => settle({ ok: false, reason: 'corrupt', message: `the decoder exited (${code}) without a picture` }));
  });
}
