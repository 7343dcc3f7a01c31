// The body of a decoder sandbox: a worker thread that runs one WebAssembly decoder (libheif with
// libde265, or ffmpeg) on one stored file and posts back raw RGB(A) pixels, then is terminated.
//
// sandbox.ts starts it with `new Worker(\`(${sandboxWorkerMain})()\`, { eval: true })`, so this
// function must stay self-contained: no imports, no references to anything outside its body
// (Node's `require` of the eval'd worker reaches built-ins and the decoder glue by absolute
// path). The same source then runs from the compiled dist/ and from Vitest's transform.
//
// Why WebAssembly and a worker: a hostile file can at worst corrupt the decoder's own linear
// memory, which cannot reach the archive's files, network or process; the memory is capped
// here (every heap growth goes through WebAssembly.Memory.prototype.grow) and the parent
// terminates the worker when its time is up, even inside a decoder loop.

/** A compiled WebAssembly module, opaque here (the project's TypeScript libs carry no DOM/wasm types). */
export type CompiledWasm = object;

/** The parts of the WebAssembly JavaScript API the sandbox uses. */
export interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<CompiledWasm>;
  Instance: new (module: CompiledWasm, imports: object) => { exports: Record<string, unknown> };
  Memory: { new (descriptor: { initial: number }): WasmMemory; prototype: WasmMemory };
}

interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** What the parent asks of one sandbox. */
export interface SandboxRequest {
  kind: 'heif' | 'video';
  /** The stored file, read in place (never copied whole for videos). */
  filePath: string;
  /** Largest width x height the decoder may allocate a picture for. */
  maxInputPixels: number;
  /** Cap on the decoder's WebAssembly memory, in bytes. */
  memoryBytes: number;
  /** Absolute path of the decoder's JavaScript glue (CommonJS/UMD). */
  gluePath: string;
  /** The decoder, compiled once by the parent and shared with every sandbox. */
  wasmModule: CompiledWasm;
  /** Largest HEIF file read into the sandbox, in bytes (HEIF needs the whole file in memory). */
  maxHeifBytes: number;
  /** Videos: how many leading frames may be examined for a poster that is not a flat fade. */
  posterScanFrames: number;
  /** Videos: candidates are scaled to fit this square (only when the first frame is flat). */
  posterCandidateSide: number;
}

/** Raw pixels, row-major, no padding. */
export interface SandboxPixels {
  ok: true;
  width: number;
  height: number;
  channels: 3 | 4;
  data: ArrayBuffer;
  /** Dimensions declared by the file (HEIF: after irot/imir; video: after the display matrix). */
  declaredWidth: number;
  declaredHeight: number;
}

/** The decoder refused the file; reasons as in errors.ts. */
export interface SandboxRefusal {
  ok: false;
  reason: 'unsupported_format' | 'too_many_pixels' | 'corrupt' | 'limit_exceeded';
  message: string;
}

export type SandboxAnswer = SandboxPixels | SandboxRefusal;

/** Runs inside the worker thread. Self-contained: see the file comment. */
export function sandboxWorkerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- the eval'd worker has only require */
  const { workerData, parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const fs = require('node:fs') as typeof import('node:fs');
  const { pathToFileURL } = require('node:url') as typeof import('node:url');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const request = workerData as SandboxRequest;
  const port = parentPort!;

  // Every growth of a WebAssembly memory goes through here (both decoders grow their heap from
  // JavaScript): past the cap the decoder's malloc gets NULL and it fails like any C program.
  const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  let memoryCapHit = false;
  const grow = wasm.Memory.prototype.grow;
  wasm.Memory.prototype.grow = function (this: WasmMemory, pages: number): number {
    if (this.buffer.byteLength + pages * 65536 > request.memoryBytes) {
      memoryCapHit = true;
      throw new RangeError('decoder memory cap reached');
    }
    return grow.call(this, pages);
  };

  const refuse = (reason: SandboxRefusal['reason'], message: string): SandboxRefusal => ({
    ok: false,
    reason: memoryCapHit ? 'limit_exceeded' : reason,
    message: memoryCapHit ? `the decoder needed more than ${Math.round(request.memoryBytes / 1048576)} MiB (${message})` : message,
  });

  // Synchronous: the glue finishes setting itself up (libheif's enums and aliases) only when the
  // instance is there before its factory returns. The module is compiled already; this is cheap.
  const instantiate = (imports: object, receive: (instance: object, module: CompiledWasm) => unknown) => {
    const instance = new wasm.Instance(request.wasmModule, imports);
    // Its starting memory counts too: a cap below it is reached before the first byte is read.
    const memory = Object.values(instance.exports).find((value): value is WasmMemory => value instanceof wasm.Memory);
    if (memory && memory.buffer.byteLength > request.memoryBytes) {
      memoryCapHit = true;
      throw new RangeError(`the decoder starts with ${memory.buffer.byteLength} bytes of memory`);
    }
    return receive(instance, request.wasmModule);
  };

  /** Copies rows into a tight buffer when the decoder's stride has padding. */
  const tight = (data: Uint8Array, width: number, height: number, stride: number, channels: number): ArrayBuffer => {
    const row = width * channels;
    if (stride === row && data.byteOffset === 0 && data.byteLength === row * height) return data.buffer as ArrayBuffer;
    const out = new Uint8Array(row * height);
    for (let y = 0; y < height; y++) out.set(data.subarray(y * stride, y * stride + row), y * row);
    return out.buffer;
  };

  // ---- HEIF (HEVC HEIC and friends): libheif + libde265 ------------------------------------------
  type Heif = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- emscripten module
  const decodeHeif = async (): Promise<SandboxAnswer> => {
    const size = fs.statSync(request.filePath).size;
    if (size > request.maxHeifBytes) {
      return refuse('too_many_pixels', `HEIF file of ${size} bytes is larger than the ${request.maxHeifBytes} bytes decoded`);
    }
    const lib: Heif = await new Promise((resolve) => {
      const options: Heif = {
        instantiateWasm: instantiate,
        print: () => undefined,
        printErr: () => undefined,
        onRuntimeInitialized: () => resolve(options),
      };
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require(request.gluePath) as (o: Heif) => unknown)(options);
    });
    const context = lib['heif_context_alloc']();
    const read = lib['heif_context_read_from_memory'](context, fs.readFileSync(request.filePath));
    if (read.code !== lib['heif_error_Ok']) return refuse('corrupt', `HEIF container: ${read.message}`);
    // The primary image (a burst or a collection may hold several top-level images).
    const ids = lib['heif_js_context_get_list_of_top_level_image_IDs'](context);
    if (!ids || ids.code || !ids.length) return refuse('corrupt', 'HEIF holds no image');
    let handle: Heif | null = null;
    for (let i = 0; i < ids.length && !handle; i++) {
      const candidate = lib['heif_js_context_get_image_handle'](context, ids[i]);
      if (candidate && !candidate.code && (lib['heif_image_handle_is_primary_image'](candidate) || i === ids.length - 1)) handle = candidate;
    }
    if (!handle) return refuse('corrupt', 'HEIF has no readable primary image');
    // The declared size, read before a single pixel is decoded: the decompression-bomb guard.
    const width: number = lib['heif_image_handle_get_width'](handle);
    const height: number = lib['heif_image_handle_get_height'](handle);
    if (!(width > 0 && height > 0)) return refuse('corrupt', `HEIF declares ${width}x${height}`);
    if (width * height > request.maxInputPixels) {
      return refuse('too_many_pixels', `HEIF declares ${width}x${height}, more than ${request.maxInputPixels} pixels`);
    }
    // Default decoding options apply the irot/imir/clap transformations, so the pixels come out
    // upright; the EXIF orientation inside a HEIF only describes them and is not applied again.
    const image = await lib['heif_js_decode_image2'](handle, lib['heif_colorspace_RGB'], lib['heif_chroma_interleaved_RGBA']);
    if (!image || image.code) return refuse('corrupt', `HEIF decoding failed: ${image?.message ?? 'no image'}`);
    const plane = (image.channels as Heif[]).find((c) => c['id'] === lib['heif_channel_interleaved']);
    if (!plane) return refuse('corrupt', 'HEIF decoding gave no interleaved plane');
    return {
      ok: true,
      width: plane['width'],
      height: plane['height'],
      channels: 4,
      data: tight(plane['data'] as Uint8Array, plane['width'], plane['height'], plane['stride'], 4),
      declaredWidth: plane['width'],
      declaredHeight: plane['height'],
    };
  };

  // ---- video poster frame: ffmpeg -------------------------------------------------------------
  type Core = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- emscripten module
  const decodeVideo = async (): Promise<SandboxAnswer> => {
    // The ffmpeg.wasm glue is built for browser workers: it needs `self.location` (never
    // fetched from: the compiled module is handed over) and FileReaderSync for WORKERFS, which
    // here reads slices of the stored file on demand instead of copying a large video whole.
    const g = globalThis as Record<string, unknown>;
    // Emscripten's socket layer would use these; the decoder gets no way out of the worker.
    for (const name of ['WebSocket', 'fetch', 'XMLHttpRequest', 'EventSource']) delete g[name];
    g['self'] = { location: { href: pathToFileURL(request.gluePath).href } };
    g['FileReaderSync'] = class {
      readAsArrayBuffer(chunk: { read(): ArrayBuffer }): ArrayBuffer {
        return chunk.read();
      }
    };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const createCore = require(request.gluePath) as (o: Core) => Promise<Core>;
    const core = await createCore({ instantiateWasm: instantiate });
    const log: string[] = [];
    core['setLogger']((line: { message: string }) => {
      // A hostile stream can log endlessly: keep the last lines only.
      log.push(String(line.message).slice(0, 300));
      if (log.length > 30) log.shift();
    });

    const fd = fs.openSync(request.filePath, 'r');
    const size = fs.fstatSync(fd).size;
    const file = {
      size,
      slice(start: number, end: number) {
        const length = Math.max(0, Math.min(end, size) - start);
        return {
          size: length,
          read(): ArrayBuffer {
            const bytes = new Uint8Array(length);
            let done = 0;
            while (done < length) {
              const n = fs.readSync(fd, bytes, done, length - done, start + done);
              if (n === 0) break;
              done += n;
            }
            return bytes.buffer;
          },
        };
      },
    };
    const FS = core['FS'];
    FS.mkdir('/evidence');
    FS.mount(FS.filesystems.WORKERFS, { blobs: [{ name: 'video', data: file }] }, '/evidence');

    const input = [
      '-hide_banner', '-loglevel', 'error',
      // Only the file itself: no nested URLs, playlists or concat scripts, only the containers
      // the archive accepts as video.
      '-protocol_whitelist', 'file',
      '-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi,mpeg,asf,flv',
      // The decompression-bomb guard: no picture buffer larger than this is ever allocated.
      '-max_pixels', String(request.maxInputPixels),
      '-i', '/evidence/video',
    ];
    // 0:V:0 is the first real video stream (not cover art); ffmpeg turns it upright from the
    // container's display matrix (autorotate) before our filters see it.
    const output = (filter: string, frames: number, target: string) => [
      '-map', '[out]', '-filter_complex', `[0:V:0]${filter},format=rgb24[out]`,
      // passthrough: frames dropped by select stay dropped (image2 would otherwise duplicate
      // earlier frames to keep a constant rate).
      '-an', '-sn', '-dn', '-fps_mode', 'passthrough', '-frames:v', String(frames), '-c:v', 'pam', '-f', 'image2', target,
    ];
    const run = (args: string[]): string | null => {
      log.length = 0;
      core['reset']?.();
      core['exec'](...args);
      return log.filter((l) => !/^Aborted\(/.test(l)).join('\n') || null;
    };
    const readPam = (path: string): SandboxPixels | null => {
      let bytes: Uint8Array;
      try {
        bytes = FS.readFile(path);
      } catch {
        return null;
      }
      const headerEnd = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 200)).indexOf('ENDHDR\n');
      if (headerEnd < 0) return null;
      const header = Buffer.from(bytes.buffer, bytes.byteOffset, headerEnd).toString('latin1');
      const field = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(header)?.[1]);
      const width = field('WIDTH');
      const height = field('HEIGHT');
      const depth = field('DEPTH');
      const start = headerEnd + 7;
      if (!(width > 0 && height > 0) || depth !== 3 || bytes.length < start + width * height * 3) return null;
      const data = bytes.slice(start, start + width * height * 3).buffer;
      return { ok: true, width, height, channels: 3, data, declaredWidth: width, declaredHeight: height };
    };
    /** A flat frame (black, white, a fade) says nothing and hashes like every other flat frame. */
    const isFlat = (frame: SandboxPixels): boolean => {
      const px = new Uint8Array(frame.data);
      const samples: number[] = [];
      const step = Math.max(1, Math.floor(Math.sqrt((frame.width * frame.height) / 4096)));
      for (let y = 0; y < frame.height; y += step) {
        for (let x = 0; x < frame.width; x += step) {
          const i = (y * frame.width + x) * 3;
          samples.push(0.299 * px[i]! + 0.587 * px[i + 1]! + 0.114 * px[i + 2]!);
        }
      }
      samples.sort((a, b) => a - b);
      const p = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
      return p(0.95) - p(0.05) < 24;
    };

    // The usual case, one pass: the first frame at full size.
    const errors = run([...input, ...output('null', 1, '/first.pam')]);
    const first = readPam('/first.pam');
    if (!first) return classify(errors);
    if (!isFlat(first)) return first;

    // A fade-in or a black leader: look at a few frames spread over the start and take the
    // first that is not flat (the same frame for a re-encoded copy), else keep the first frame.
    const every = Math.max(1, Math.floor(request.posterScanFrames / 8));
    const side = request.posterCandidateSide;
    run([
      ...input,
      ...output(
        `trim=end_frame=${request.posterScanFrames},select=not(mod(n\\,${every})),` +
          `scale=w=min(iw\\,${side}):h=min(ih\\,${side}):force_original_aspect_ratio=decrease`,
        8,
        '/candidate-%d.pam',
      ),
    ]);
    for (let n = 2; n <= 8; n++) {
      const candidate = readPam(`/candidate-${n}.pam`);
      if (!candidate) break;
      if (!isFlat(candidate)) return { ...candidate, declaredWidth: first.width, declaredHeight: first.height };
    }
    return first;
  };

  const classify = (errors: string | null): SandboxRefusal => {
    const text = errors ?? 'no frame decoded';
    const line = text.split('\n').filter((l) => l.trim() !== '').at(-1) ?? text;
    if (/exceeds specified max pixel count|Picture size \d+x\d+ is invalid|dimensions .* too large/i.test(text)) {
      const size = /(\d+x\d+)/.exec(text.match(/Picture size \d+x\d+/)?.[0] ?? '')?.[1];
      return refuse('too_many_pixels', `video frames of ${size ?? 'the declared size'} are more than ${request.maxInputPixels} pixels`);
    }
    if (/Cannot allocate memory|out of memory/i.test(text)) {
      return refuse('limit_exceeded', `the decoder ran out of memory (${line.slice(0, 200)})`);
    }
    if (/matches no streams|does not contain any stream|Output file .* does not contain/i.test(text)) {
      return refuse('unsupported_format', 'no video stream');
    }
    if (/moov atom not found/i.test(text)) return refuse('corrupt', 'MP4/MOV without its index (moov atom not found): cut short?');
    // Opening the file failed: ffmpeg names it by its path inside the sandbox, which says nothing to a reader.
    const opening = /^\/evidence\/video: (.+)$/m.exec(text)?.[1];
    if (/not on whitelist|Unknown input format/i.test(text) || (opening && /Invalid data found when processing input/i.test(opening))) {
      return refuse('unsupported_format', `not readable as a video container (${(opening ?? line).slice(0, 200)})`);
    }
    if (/Decoder \(codec (\w+)\) not found|no decoder found|Decoding requested, but no decoder/i.test(text)) {
      return refuse('unsupported_format', `no decoder for this video codec (${line.slice(0, 200)})`);
    }
    // A frame that does not decode: the decoder's own complaint ("[mpeg4 @ 0x...] header damaged")
    // says more than ffmpeg's summary lines after it.
    const decoder = /^\[(\w+) @ 0x[0-9a-f]+\] (.+)$/m.exec(text);
    const decoding = /^Error while decoding stream #\d+:\d+: (.+)$/m.exec(text)?.[1];
    if (decoder || decoding) return refuse('corrupt', `its first frames do not decode (${decoder ? `${decoder[1]}: ${decoder[2]}` : decoding})`.slice(0, 300));
    // The container opened but gave the decoder no whole frame (a chunk that claims more than the file holds).
    if (/Cannot determine format of input stream \S+ after EOF/.test(text)) return refuse('corrupt', 'its video ends before a whole frame');
    return refuse('corrupt', line.slice(0, 300));
  };

  const work = request.kind === 'heif' ? decodeHeif() : decodeVideo();
  work.then(
    (answer) => port.postMessage(answer, answer.ok ? [answer.data] : []),
    (error: unknown) => port.postMessage(refuse('corrupt', error instanceof Error ? error.message : String(error))),
  );
}
