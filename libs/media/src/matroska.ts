// Duration, picture size and muxing date of a Matroska or WebM file, from the EBML structure:
// Segment > Info (TimecodeScale, Duration, DateUTC) and Segment > Tracks > TrackEntry > Video
// (PixelWidth, PixelHeight). Positioned reads of element headers up to the first Cluster (or
// through the SeekHead when Info/Tracks come later), so a long recording costs a few small reads.
// Everything is bounded; a failure gives nulls and a note, never an exception.
import { open, type FileHandle } from 'node:fs/promises';
import { BoundedReader, ReadBudgetExceeded } from './bounded-reader.js';

export interface MatroskaMetadata {
  /** DateUTC as an instant ("+00:00"), null when absent. */
  capturedAt: string | null;
  capturedAtOffset: string | null;
  width: number | null;
  height: number | null;
  durationS: number | null;
  notes: string[];
}

const LABEL = 'Matroska';
const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  DateUTC: 0x4461,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackType: 0x83,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Cluster: 0x1f43b675,
} as const;

const LIMITS = { maxReads: 512, maxBytes: 4 * 1024 * 1024 };
const MAX_SEGMENT_CHILDREN = 256;
/** Largest Info/Tracks/SeekHead element read into memory (real ones are a few KiB). */
const MAX_ELEMENT_BYTES = 1024 * 1024;
const MAX_ELEMENTS = 4096;
const MAX_TRACKS = 128;
const MAX_DIMENSION = 2 ** 31 - 1;
/** Matroska dates count nanoseconds from 2001-01-01T00:00:00 UTC. */
const EPOCH_2001_MS = Date.UTC(2001, 0, 1);

interface ElementHeader {
  id: number;
  /** Offset of the element's data (after ID and size). */
  dataStart: number;
  /** End of the data, clamped to the container; the container's end when the size is unknown. */
  end: number;
  unknownSize: boolean;
  overlong: boolean;
}

/** Decodes an element header at `at` of `bytes` (which sits at file offset `base`), inside `limit`. */
function decodeHeader(bytes: Buffer, at: number, base: number, limit: number): ElementHeader | null {
  const id = readVint(bytes, at, 4, true);
  if (!id) return null;
  const size = readVint(bytes, at + id.length, 8, false);
  if (!size) return null;
  const dataStart = base + at + id.length + size.length;
  if (dataStart > limit) return null;
  const unknownSize = size.value === -1;
  const claimedEnd = unknownSize ? limit : dataStart + size.value;
  const overlong = claimedEnd > limit;
  return { id: id.value, dataStart, end: overlong ? limit : claimedEnd, unknownSize, overlong };
}

/** An EBML variable-length integer: IDs keep their marker bit, sizes drop it (all ones = unknown, -1). */
function readVint(bytes: Buffer, at: number, maxLength: number, keepMarker: boolean): { value: number; length: number } | null {
  if (at >= bytes.length) return null;
  const first = bytes[at];
  if (first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (length > maxLength || at + length > bytes.length) return null;
  let value = BigInt(keepMarker ? first : first & (0xff >> length));
  let allOnes = (first & (0xff >> length)) === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = (value << 8n) | BigInt(bytes[at + i]);
    if (bytes[at + i] !== 0xff) allOnes = false;
  }
  if (!keepMarker && allOnes) return { value: -1, length };
  // An absurd size is "beyond the end" like any other overlong claim.
  const capped = value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  return { value: capped, length };
}

interface Element {
  id: number;
  data: Buffer;
}

/** Child elements of an in-memory element body. */
function children(data: Buffer, notes: Set<string>, where: string): Element[] {
  const out: Element[] = [];
  let at = 0;
  while (at < data.length) {
    if (out.length >= MAX_ELEMENTS) {
      notes.add(`more than ${MAX_ELEMENTS} elements in ${where}; the rest was not read`);
      break;
    }
    const header = decodeHeader(data, at, 0, data.length);
    if (!header) {
      notes.add(`unreadable element in ${where} at byte ${at} of it`);
      break;
    }
    if (header.overlong) notes.add(`an element in ${where} claims more bytes than ${where} holds`);
    out.push({ id: header.id, data: data.subarray(header.dataStart, header.end) });
    at = header.end;
  }
  return out;
}

function uint(data: Buffer): number | null {
  if (data.length === 0 || data.length > 8) return null;
  let value = 0n;
  for (const byte of data) value = (value << 8n) | BigInt(byte);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(value);
}

function float(data: Buffer): number | null {
  if (data.length === 4) return data.readFloatBE(0);
  if (data.length === 8) return data.readDoubleBE(0);
  return null;
}

/** Reads a Matroska/WebM file's Info and Tracks; null when the file is not EBML. */
export async function readMatroskaMetadata(filePath: string): Promise<MatroskaMetadata | null> {
  let handle: FileHandle | undefined;
  const notes = new Set<string>();
  const result: MatroskaMetadata = { capturedAt: null, capturedAtOffset: null, width: null, height: null, durationS: null, notes: [] };
  try {
    handle = await open(filePath, 'r');
    const { size } = await handle.stat();
    const reader = new BoundedReader(handle, size, LIMITS);
    const head = await reader.read(0, 64);
    if (head.length < 4 || head.readUInt32BE(0) !== ID.EBML) return null;
    try {
      await readFile(reader, head, result, notes);
    } catch (error) {
      notes.add(
        error instanceof ReadBudgetExceeded ? `reading stopped after ${error.message}` : `reading stopped: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
  result.notes = [...notes].slice(0, 32).map((n) => `${LABEL}: ${n}`);
  return result;
}

async function readFile(reader: BoundedReader, head: Buffer, result: MatroskaMetadata, notes: Set<string>): Promise<void> {
  const ebml = decodeHeader(head, 0, 0, reader.size);
  if (!ebml || ebml.end - ebml.dataStart > 4096) {
    notes.add('the EBML header is unreadable');
    return;
  }
  const ebmlBody = await reader.read(ebml.dataStart, ebml.end - ebml.dataStart);
  const docType = children(ebmlBody, notes, 'the EBML header').find((e) => e.id === ID.DocType)?.data.toString('latin1');
  if (docType !== undefined && docType !== 'matroska' && docType !== 'webm') {
    notes.add(`document type "${docType.replace(/[^\x20-\x7e]/g, '?').slice(0, 20)}" is not Matroska or WebM; not read`);
    return;
  }

  const segHead = await reader.read(ebml.end, 16);
  const segment = decodeHeader(segHead, 0, ebml.end, reader.size);
  if (!segment || segment.id !== ID.Segment) {
    notes.add(`no Segment after the EBML header (byte ${ebml.end}): nothing read`);
    return;
  }
  if (segment.overlong) notes.add('the Segment runs past the end of the file (truncated?)');

  // Walk the Segment's top-level elements until the media (Cluster) starts.
  const wanted = new Map<number, ElementHeader>();
  const seeks = new Map<number, number>();
  let at = segment.dataStart;
  for (let i = 0; at < segment.end; i++) {
    if (i >= MAX_SEGMENT_CHILDREN) {
      notes.add(`more than ${MAX_SEGMENT_CHILDREN} top-level elements before the first Cluster`);
      break;
    }
    const bytes = await reader.read(at, 16);
    const element = decodeHeader(bytes, 0, at, segment.end);
    if (!element) {
      notes.add(`unreadable element header at byte ${at}; the rest of the Segment was not read`);
      break;
    }
    if (element.overlong) notes.add(`element 0x${element.id.toString(16)} at byte ${at} claims more bytes than the file holds`);
    if (element.id === ID.Cluster) break;
    if ((element.id === ID.Info || element.id === ID.Tracks) && !wanted.has(element.id)) wanted.set(element.id, element);
    if (element.id === ID.SeekHead && seeks.size === 0) {
      const body = await readBody(reader, element, notes, 'SeekHead');
      if (body) readSeekHead(body, segment.dataStart, seeks, notes);
    }
    if (element.unknownSize) break; // cannot be skipped
    at = element.end;
  }
  // Info/Tracks after the media (rare): follow the SeekHead.
  for (const id of [ID.Info, ID.Tracks]) {
    const position = seeks.get(id);
    if (wanted.has(id) || position === undefined) continue;
    if (position >= reader.size) {
      notes.add(`the SeekHead points past the end of the file for ${id === ID.Info ? 'Info' : 'Tracks'}`);
      continue;
    }
    const element = decodeHeader(await reader.read(position, 16), 0, position, segment.end);
    if (element?.id === id) wanted.set(id, element);
  }

  const info = wanted.get(ID.Info);
  if (info) readInfo(await readBody(reader, info, notes, 'Info'), result, notes);
  else notes.add('no Segment Info: no duration or date');
  const tracks = wanted.get(ID.Tracks);
  if (tracks) readTracks(await readBody(reader, tracks, notes, 'Tracks'), result, notes);
  else notes.add('no Tracks element: no picture size');
}

async function readBody(reader: BoundedReader, element: ElementHeader, notes: Set<string>, name: string): Promise<Buffer | null> {
  const length = element.end - element.dataStart;
  if (length > MAX_ELEMENT_BYTES) {
    notes.add(`${name} is ${length} bytes, over the ${MAX_ELEMENT_BYTES}-byte limit; not read`);
    return null;
  }
  return reader.read(element.dataStart, length);
}

function readSeekHead(body: Buffer, segmentStart: number, seeks: Map<number, number>, notes: Set<string>): void {
  for (const seek of children(body, notes, 'the SeekHead')) {
    if (seek.id !== ID.Seek) continue;
    const parts = children(seek.data, notes, 'a Seek entry');
    const idBytes = parts.find((p) => p.id === ID.SeekID)?.data;
    const position = uint(parts.find((p) => p.id === ID.SeekPosition)?.data ?? Buffer.alloc(0));
    const id = idBytes && idBytes.length <= 4 ? uint(idBytes) : null;
    if (id !== null && position !== null && !seeks.has(id)) seeks.set(id, segmentStart + position);
  }
}

function readInfo(body: Buffer | null, result: MatroskaMetadata, notes: Set<string>): void {
  if (!body) return;
  const elements = children(body, notes, 'Info');
  const scaleData = elements.find((e) => e.id === ID.TimecodeScale)?.data;
  const scale = scaleData ? uint(scaleData) : 1_000_000; // default: milliseconds
  const durationData = elements.find((e) => e.id === ID.Duration)?.data;
  const duration = durationData ? float(durationData) : null;
  if (durationData === undefined) notes.add('Segment Info has no Duration (a live recording?)');
  else if (duration === null || !scale || !Number.isFinite(duration) || duration < 0) notes.add('Segment Info Duration or TimecodeScale is unreadable');
  else {
    const seconds = (duration * scale) / 1e9;
    if (Number.isFinite(seconds) && seconds > 0 && seconds < 1e10) result.durationS = Math.round(seconds * 1000) / 1000;
  }
  const date = elements.find((e) => e.id === ID.DateUTC)?.data;
  if (date) {
    if (date.length !== 8) notes.add('DateUTC is not 8 bytes; ignored');
    else {
      const ms = EPOCH_2001_MS + Number(date.readBigInt64BE(0) / 1_000_000n);
      if (ms >= Date.UTC(1800, 0, 1) && ms <= Date.UTC(9999, 11, 31)) {
        result.capturedAt = new Date(ms).toISOString();
        result.capturedAtOffset = '+00:00';
      } else notes.add('DateUTC is not a plausible date; ignored');
    }
  }
}

function readTracks(body: Buffer | null, result: MatroskaMetadata, notes: Set<string>): void {
  if (!body) return;
  const entries = children(body, notes, 'Tracks').filter((e) => e.id === ID.TrackEntry);
  for (const entry of entries.slice(0, MAX_TRACKS)) {
    const parts = children(entry.data, notes, 'a TrackEntry');
    const type = uint(parts.find((p) => p.id === ID.TrackType)?.data ?? Buffer.alloc(0));
    const video = parts.find((p) => p.id === ID.Video);
    if (type !== 1 || !video) continue;
    const fields = children(video.data, notes, 'a Video element');
    const width = uint(fields.find((f) => f.id === ID.PixelWidth)?.data ?? Buffer.alloc(0));
    const height = uint(fields.find((f) => f.id === ID.PixelHeight)?.data ?? Buffer.alloc(0));
    if (width && height && width <= MAX_DIMENSION && height <= MAX_DIMENSION) {
      result.width = width;
      result.height = height;
    } else notes.add('the video track has no readable PixelWidth/PixelHeight');
    return;
  }
}
