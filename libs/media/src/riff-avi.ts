// AVI (RIFF) as compact cameras and older phones write it: the main header ('avih': frame time,
// frame count, width, height), the capture time in an 'IDIT' chunk of the header list (ExifTool's
// DateTimeOriginal; "Thu Oct 26 16:46:04 2006" and other spellings, local time without a zone)
// and the 'LIST INFO' strings (ICRD creation date, ISFT software). Bounded like the other walkers:
// a few positioned reads of small chunks, the media data ('movi') skipped, never a throw on
// hostile bytes but ReadBudgetExceeded, which the caller turns into a note.
import { open } from 'node:fs/promises';
import { BoundedReader } from './bounded-reader.js';
import { captureTimeFromTags, cleanText } from './exif-values.js';
import type { MovieMetadata } from './movie-metadata.js';

const LIMITS = { maxReads: 256, maxBytes: 4 * 1024 * 1024 };
/** Largest header or INFO list read into memory (cameras write a few KiB; OpenDML pads to 8 KiB or so). */
const MAX_LIST_BYTES = 1024 * 1024;
const MAX_CHUNKS = 4096;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

interface Chunk {
  id: string;
  /** For a LIST, its list type ('hdrl', 'INFO', 'movi'). */
  listType: string | null;
  body: Buffer;
}

/** The chunks of an in-memory RIFF payload (word-aligned), at most MAX_CHUNKS. */
function chunksOf(buffer: Buffer): Chunk[] {
  const chunks: Chunk[] = [];
  for (let at = 0; at + 8 <= buffer.length && chunks.length < MAX_CHUNKS; ) {
    const id = buffer.toString('latin1', at, at + 4);
    const size = buffer.readUInt32LE(at + 4);
    const body = buffer.subarray(at + 8, Math.min(buffer.length, at + 8 + size));
    const isList = id === 'LIST' && body.length >= 4;
    chunks.push({ id, listType: isList ? body.toString('latin1', 0, 4) : null, body: isList ? body.subarray(4) : body });
    at += 8 + size + (size & 1);
  }
  return chunks;
}

/** An IDIT or ICRD date as EXIF writes one ("2006:10:26 16:46:04"), or null when it is no date and time. */
export function riffDateTime(text: string): string | null {
  const pad = (n: string | number) => String(n).padStart(2, '0');
  const t = text.trim();
  // ctime: "Thu Oct 26 16:46:04 2006" (what most cameras write), the weekday optional.
  let m = /^(?:[a-z]{3}\s+)?([a-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})$/i.exec(t);
  if (m) {
    const month = MONTHS.indexOf(m[1]!.toLowerCase());
    return month < 0 ? null : `${m[6]}:${pad(month + 1)}:${pad(m[2]!)} ${pad(m[3]!)}:${m[4]}:${m[5]}`;
  }
  // "2006:10:26 16:46:04", "2006-10-26 16:46:04", "2006/10/26 16:46:04", "2006-10-26T16:46:04".
  m = /^(\d{4})[:/-](\d{1,2})[:/-](\d{1,2})[ T]+(\d{1,2}):(\d{2}):(\d{2})$/.exec(t);
  return m ? `${m[1]}:${pad(m[2]!)}:${pad(m[3]!)} ${pad(m[4]!)}:${m[5]}:${m[6]}` : null;
}

/** Reads an AVI's header and INFO lists; null when the file is not RIFF AVI. */
export async function readAviMetadata(filePath: string): Promise<Partial<MovieMetadata> | null> {
  const handle = await open(filePath, 'r');
  try {
    return await readAvi(new BoundedReader(handle, (await handle.stat()).size, LIMITS));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function readAvi(reader: BoundedReader): Promise<Partial<MovieMetadata> | null> {
  const size = reader.size;
  const head = await reader.read(0, 12);
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'AVI ') return null;
  const notes: string[] = [];
  const lists = new Map<string, Buffer>();
  // The top-level chunks of the first RIFF: 'LIST hdrl', 'LIST INFO', 'JUNK', 'LIST movi', 'idx1'.
  let at = 12;
  for (let n = 0; at + 12 <= size && n < 64; n++) {
    const header = await reader.read(at, 12);
    if (header.length < 8) break;
    const id = header.toString('latin1', 0, 4);
    const length = header.readUInt32LE(4);
    const listType = id === 'LIST' && header.length >= 12 ? header.toString('latin1', 8, 12) : null;
    if ((listType === 'hdrl' || listType === 'INFO') && !lists.has(listType)) {
      if (length > MAX_LIST_BYTES) notes.push(`AVI: the '${listType}' list is over ${MAX_LIST_BYTES} bytes; not read`);
      else lists.set(listType, await reader.read(at + 12, length - 4));
    }
    at += 8 + length + (length & 1);
  }
  const hdrl = chunksOf(lists.get('hdrl') ?? Buffer.alloc(0));
  const info = chunksOf(lists.get('INFO') ?? Buffer.alloc(0));
  const text = (chunks: Chunk[], id: string) => {
    const chunk = chunks.find((c) => c.id === id);
    return chunk ? cleanText(chunk.body.toString('latin1')) : null;
  };
  const avih = hdrl.find((c) => c.id === 'avih')?.body;
  let durationS: number | null = null;
  let width: number | null = null;
  let height: number | null = null;
  if (avih && avih.length >= 40) {
    const frameUs = avih.readUInt32LE(0);
    const frames = avih.readUInt32LE(16);
    if (frameUs > 0 && frames > 0) durationS = Math.round((frames * frameUs) / 1000) / 1000;
    const [w, h] = [avih.readUInt32LE(32), avih.readUInt32LE(36)];
    if (w > 0 && h > 0 && w <= 65535 && h <= 65535) [width, height] = [w, h];
  } else notes.push("AVI: no main header ('avih'): no duration or size");
  const idit = text(hdrl, 'IDIT');
  const icrd = text(info, 'ICRD');
  const dates = [idit, icrd].map((value) => (value === null ? null : riffDateTime(value)));
  if (idit !== null && dates[0] === null) notes.push(`AVI: IDIT ("${idit.slice(0, 40)}") is not a date and time`);
  const captured = captureTimeFromTags({ dateTimeOriginal: dates[0] ?? undefined, createDate: dates[1] ?? undefined });
  const software = text(info, 'ISFT');
  return {
    capturedAt: captured?.capturedAt ?? null,
    capturedAtOffset: captured?.capturedAtOffset ?? null,
    location: null,
    device: software ? { make: null, model: null, software } : null,
    orientation: null,
    width,
    height,
    durationS,
    notes,
  };
}
