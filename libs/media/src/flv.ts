// Flash video (.FLV) as older phones, webcams and video sites' downloads wrote it: the duration and
// picture size from the `onMetaData` script tag (AMF0), as ffprobe and ExifTool read them; with no
// duration there, the last tag's time stamp, as ffmpeg falls back to; with no size there, the
// first video frame's (Sorenson H.263's picture header, H.264's sequence parameter set). Its `creationdate`, where an
// encoder wrote one, is the encoder's time, not a capture time, and is not taken. Bounded: the
// first 64 KiB and the last tag's header are read; a failure gives nulls and a note.
import { open } from 'node:fs/promises';
import type { MovieMetadata } from './movie-metadata.js';
import { rbsp, spsPictureSize } from './mpeg-ts.js';

const LABEL = 'FLV';
const HEAD_BYTES = 64 * 1024;
const SCRIPT_TAG = 18;
const VIDEO_TAG = 9;
/** Sorenson H.263's picture size codes 2-6 (0 and 1: the size follows in 8 or 16 bits). */
const H263_SIZES: Record<number, [number, number]> = { 2: [352, 288], 3: [176, 144], 4: [128, 96], 5: [320, 240], 6: [160, 120] };
/** Tags looked at for the script tag, which encoders write first. */
const MAX_TAGS = 16;
/** AMF0 values decoded in all; nesting depth followed. */
const MAX_VALUES = 10_000;
const MAX_DEPTH = 8;
/** Longer than any recording; a larger figure is a broken header. */
const MAX_DURATION_S = 7 * 24 * 3600;

/** Whether bytes start as a Flash video file (signature and version 1). */
export const isFlv = (head: Buffer): boolean => head.length >= 9 && head.toString('latin1', 0, 3) === 'FLV' && head[3] === 1;

/** An AMF0 reader over the script data: the top-level values it names, nested values skipped. */
class Amf0 {
  private at = 0;
  private values = 0;
  constructor(private readonly bytes: Buffer) {}

  private need(n: number): void {
    if (this.at + n > this.bytes.length) throw new Error('the script data ends inside a value');
  }

  string(long = false): string {
    this.need(long ? 4 : 2);
    const length = long ? this.bytes.readUInt32BE(this.at) : this.bytes.readUInt16BE(this.at);
    this.at += long ? 4 : 2;
    this.need(length);
    const text = this.bytes.toString('utf8', this.at, this.at + length);
    this.at += length;
    return text;
  }

  /** The next value: numbers, booleans, strings and objects as such; anything else skipped (undefined). */
  value(depth = 0): unknown {
    if (++this.values > MAX_VALUES || depth > MAX_DEPTH) throw new Error('the script data nests or repeats beyond what is read');
    this.need(1);
    const type = this.bytes[this.at++]!;
    switch (type) {
      case 0: {
        this.need(8);
        const number = this.bytes.readDoubleBE(this.at);
        this.at += 8;
        return number;
      }
      case 1:
        this.need(1);
        return this.bytes[this.at++] !== 0;
      case 2:
        return this.string();
      case 12:
        return this.string(true);
      case 3:
        return this.properties(depth);
      case 8:
        this.need(4);
        this.at += 4; // the array's count, which writers do not keep reliably: its end marker counts
        return this.properties(depth);
      case 10: {
        this.need(4);
        const count = this.bytes.readUInt32BE(this.at);
        this.at += 4;
        for (let k = 0; k < count; k++) this.value(depth + 1);
        return undefined;
      }
      case 11:
        this.need(10);
        this.at += 10;
        return undefined;
      case 5:
      case 6:
        return null;
      default:
        throw new Error(`AMF0 type ${type} is not read`);
    }
  }

  /** Name/value pairs up to the object end marker (an empty name, then 9). */
  private properties(depth: number): Record<string, unknown> {
    // No prototype: a name such as "__proto__" is just a name.
    const result: Record<string, unknown> = Object.create(null);
    for (;;) {
      // Some writers end the tag without the end marker: what was read stands.
      if (this.at + 2 > this.bytes.length) return result;
      const name = this.string();
      if (name === '' && this.bytes[this.at] === 9) {
        this.at++;
        return result;
      }
      const value = this.value(depth + 1);
      if (depth === 0 && !(name in result)) result[name] = value;
    }
  }
}

/**
 * The picture size a video tag's own bytes give: Sorenson H.263's picture header (codec 2) or an
 * H.264 sequence header's SPS (codec 7, AVC packet type 0); null for other codecs or damage.
 */
function videoPictureSize(data: Buffer): { width: number; height: number } | null {
  const codec = data[0] !== undefined ? data[0] & 0x0f : -1;
  try {
    if (codec === 2) {
      // 17-bit start code, 5-bit version, 8-bit temporal reference, 3-bit size code, then the size.
      const bits = (from: number, count: number) => {
        if (1 + ((from + count + 7) >> 3) > data.length) throw new RangeError('the picture header is cut short');
        let value = 0;
        for (let k = from; k < from + count; k++) value = value * 2 + ((data[1 + (k >> 3)]! >> (7 - (k & 7))) & 1);
        return value;
      };
      if (bits(0, 17) !== 1) return null;
      const code = bits(30, 3);
      const [width, height] = code === 0 ? [bits(33, 8), bits(41, 8)] : code === 1 ? [bits(33, 16), bits(49, 16)] : (H263_SIZES[code] ?? [0, 0]);
      return width > 0 && height > 0 ? { width, height } : null;
    }
    if (codec === 7 && data[1] === 0 && data.length >= 5 + 8) {
      // AVCDecoderConfigurationRecord: 5 bytes, the SPS count, its length, the SPS NAL unit.
      const record = data.subarray(5);
      if ((record[5]! & 0x1f) < 1) return null;
      const length = record.readUInt16BE(6);
      const nal = record.subarray(8, 8 + length);
      return nal.length === length && length > 1 ? spsPictureSize(rbsp(nal.subarray(1))) : null;
    }
  } catch {
    // A damaged header: no size from it.
  }
  return null;
}

const positive = (value: unknown, max: number): number | null => (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= max ? value : null);

/** The duration and picture size of a Flash video file; null when it is not one. */
export async function readFlvMetadata(filePath: string): Promise<Partial<MovieMetadata> | null> {
  const handle = await open(filePath, 'r');
  try {
    const size = (await handle.stat()).size;
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await handle.read(head, 0, head.length, 0);
    if (!isFlv(head)) return null;
    const notes: string[] = [];
    let meta: Record<string, unknown> | null = null;
    let picture: { width: number; height: number } | null = null;
    // Tags follow the header and each one's previous-tag-size field: type, 24-bit size, time stamp,
    // stream id, data. Read until onMetaData and the first video tag's picture size are both known.
    for (let at = head.readUInt32BE(5) + 4, n = 0; at + 11 <= head.length && n < MAX_TAGS && !(meta && picture); n++) {
      const length = head.readUIntBE(at + 1, 3);
      const data = head.subarray(at + 11, Math.min(head.length, at + 11 + length));
      if (head[at] === SCRIPT_TAG && !meta) {
        if (data.length < length) {
          notes.push(`${LABEL}: a script tag of ${length} bytes is not read`);
          break;
        }
        try {
          const amf = new Amf0(data);
          if (amf.value() === 'onMetaData') {
            const value = amf.value();
            meta = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
          }
        } catch (error) {
          notes.push(`${LABEL}: onMetaData: ${(error as Error).message}`);
          meta = {};
        }
      } else if (head[at] === VIDEO_TAG && !picture) {
        picture = videoPictureSize(data);
      }
      at += 11 + length + 4;
    }
    meta ??= {};
    let durationS = positive(meta.duration, MAX_DURATION_S);
    if (durationS === null && size >= 13 + 11 + 4) {
      // The last tag: the file's last four bytes give its size, its header gives its time stamp (ms).
      const end = Buffer.alloc(4);
      await handle.read(end, 0, 4, size - 4);
      const lastTag = size - 4 - end.readUInt32BE(0);
      if (lastTag >= 13 && lastTag + 11 <= size - 4) {
        const header = Buffer.alloc(11);
        await handle.read(header, 0, 11, lastTag);
        durationS = positive(((header[7]! << 24) >>> 0) + header.readUIntBE(4, 3), MAX_DURATION_S * 1000);
        if (durationS !== null) durationS /= 1000;
      }
    }
    let [width, height] = [positive(meta.width, 65535), positive(meta.height, 65535)].map((n) => (n === null ? null : Math.round(n)));
    // Without them in onMetaData, the first video frame's own header says them.
    if ((width == null || height == null) && picture) [width, height] = [picture.width, picture.height];
    return { width: width ?? null, height: height ?? null, durationS: durationS === null ? null : Math.round(durationS * 1000) / 1000, notes };
  } catch (error) {
    return { notes: [`${LABEL}: reading failed: ${error instanceof Error ? error.message : String(error)}`] };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
