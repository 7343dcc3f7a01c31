// ISO base media / QuickTime box layer: positioned reads of box headers (a multi-GiB video costs
// a few small reads wherever 'moov' sits), and in-memory walking of the small metadata boxes.
// Everything is bounded: reads, bytes, boxes per container, nesting depth. The movie metadata
// reader (movie-metadata.ts) builds on it; nothing here throws on hostile bytes except
// ReadBudgetExceeded, which that reader turns into a note.
import type { FileHandle } from 'node:fs/promises';
import { BoundedReader } from './bounded-reader.js';

/** Boxes an ISO-BMFF/QuickTime file can start with; anything else is not one. */
export const FIRST_BOXES = new Set(['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

/** Most positioned reads one file may cost, and most bytes they may bring in. */
const LIMITS = { maxReads: 4096, maxBytes: 16 * 1024 * 1024 };

export { ReadBudgetExceeded } from './bounded-reader.js';

/** Positioned reads of one open file, within the box layer's budget. */
export class BoxReader extends BoundedReader {
  constructor(handle: FileHandle, size: number) {
    super(handle, size, LIMITS);
  }
}

export interface BoxHeader {
  type: string;
  /** Offset of the box's first byte. */
  start: number;
  /** 8, or 16 with a 64-bit size. */
  headerSize: number;
  /** End of the box, clamped to its container (or the file). */
  end: number;
  /** True when the box claims more bytes than its container or the file holds. */
  overlong: boolean;
}

/** 'moov', '©xyz': printable Latin-1 (QuickTime's © is 0xA9). */
export function isPlausibleType(type: string): boolean {
  return /^[\x20-\x7e\xa9]{4}$/.test(type);
}

/**
 * Decodes a box header from `bytes` (at least 8, 16 for a 64-bit size) found at file offset
 * `offset` inside a container ending at `limit`. Null when the header cannot be a box: too
 * small, or an implausible type unless `anyType` (ilst items of 'mdta' metadata are indices).
 */
export function decodeBoxHeader(bytes: Buffer, offset: number, limit: number, anyType = false): BoxHeader | null {
  if (bytes.length < 8) return null;
  const size32 = bytes.readUInt32BE(0);
  const type = bytes.toString('latin1', 4, 8);
  if (!anyType && !isPlausibleType(type)) return null;
  let headerSize = 8;
  let claimed: number;
  if (size32 === 1) {
    if (bytes.length < 16) return null;
    const large = bytes.readBigUInt64BE(8);
    headerSize = 16;
    // 2^63 bytes is "beyond the end" like any other overlong claim.
    claimed = large > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(large);
  } else if (size32 === 0) {
    claimed = limit - offset; // "extends to the end of the file"
  } else {
    claimed = size32;
  }
  if (claimed < headerSize) return null;
  const overlong = offset + claimed > limit;
  // A truncated upload still has readable boxes at its start: clamp, do not reject.
  return { type, start: offset, headerSize, end: overlong ? limit : offset + claimed, overlong };
}

/** Reads the box header at `offset` of a container ending at `limit`. */
export async function readBoxHeader(reader: BoxReader, offset: number, limit: number): Promise<BoxHeader | null> {
  if (offset + 8 > limit) return null;
  const head = await reader.read(offset, Math.min(16, limit - offset));
  return decodeBoxHeader(head, offset, limit);
}

export interface ChildWalk {
  boxes: BoxHeader[];
  /** Why the walk stopped early, if it did: a garbage header or too many boxes. */
  problem: string | null;
}

/** Headers of the boxes between `from` and `to` (positioned reads), at most `max`. */
export async function readChildren(reader: BoxReader, from: number, to: number, max: number): Promise<ChildWalk> {
  const boxes: BoxHeader[] = [];
  let offset = from;
  while (offset + 8 <= to) {
    if (boxes.length >= max) return { boxes, problem: `more than ${max} boxes` };
    const box = await readBoxHeader(reader, offset, to);
    if (!box) return { boxes, problem: `unreadable box header at byte ${offset}` };
    boxes.push(box);
    offset = box.end;
  }
  return { boxes, problem: null };
}

/** A box found in memory: `body` is its payload after the header. */
export interface MemoryBox {
  type: string;
  body: Buffer;
  overlong: boolean;
}

/** Boxes in an in-memory payload (a 'udta', 'meta', 'ilst'...), at most `max`. */
export function memoryChildren(buffer: Buffer, max: number, anyType = false): { boxes: MemoryBox[]; problem: string | null } {
  const boxes: MemoryBox[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    if (boxes.length >= max) return { boxes, problem: `more than ${max} boxes` };
    const header = decodeBoxHeader(buffer.subarray(offset, offset + 16), offset, buffer.length, anyType);
    if (!header) {
      // QuickTime lets a container end with a 32-bit zero terminator.
      if (buffer.readUInt32BE(offset) === 0 && offset + 4 >= buffer.length - 4) return { boxes, problem: null };
      return { boxes, problem: `unreadable box header at byte ${offset}` };
    }
    boxes.push({ type: header.type, body: buffer.subarray(offset + header.headerSize, header.end), overlong: header.overlong });
    offset = header.end;
  }
  return { boxes, problem: null };
}
