// Capture times that only a camera maker's own block states, read as ExifTool reads them:
//   Canon CIFF (APP0 "HEAPJPGM" of old PowerShots; CanonRaw.pm): TimeStamp record 0x180e, whose
//     first int32u ExifTool shows as DateTimeOriginal (Unix seconds rendered in UTC, no zone: the
//     camera's clock), and MakeModel record 0x080a ("Canon\0" + model) as Make and Model.
//   APP12 Picture Info (old Olympus, Agfa, Polaroid; APP12.pm): "TimeDate=<Unix seconds>" or a
//     date string, which ExifTool shows as DateTimeOriginal, rendered the same way.
//   Pentax maker note (Pentax.pm): Date 0x0006 (int16u year, always big-endian, month, day) and
//     Time 0x0007 (hour, minute, second), both stored inside their IFD entries.
// Each reader takes one block already in memory, is bounded, and never throws; times come back
// EXIF style ("2000:08:22 15:31:12") for captureTimeFromTags, always zone-less (ExifTool applies
// none of the time-zone fields these blocks may hold, and neither do we).
import { parseExifDateTime } from './exif-values.js';

export interface MakerBlockReading {
  dateTimeOriginal: string | null;
  make: string | null;
  model: string | null;
  notes: string[];
}

const MAX_CIFF_DEPTH = 8;
const MAX_CIFF_ENTRIES = 1024;
const MAX_IFD_ENTRIES = 1024;

function reading(): MakerBlockReading {
  return { dateTimeOriginal: null, make: null, model: null, notes: [] };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Unix seconds as ExifTool's ConvertUnixTime renders them (UTC, no zone); 0 is "no time". */
export function unixToExifDateTime(seconds: number): string | null {
  if (!Number.isFinite(seconds) || seconds <= 0) return null;
  const d = new Date(Math.trunc(seconds) * 1000);
  if (Number.isNaN(d.getTime())) return null;
  return `${pad(d.getUTCFullYear(), 4)}:${pad(d.getUTCMonth() + 1)}:${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function cString(bytes: Buffer, start: number, end: number): string | null {
  const slice = bytes.subarray(start, Math.max(start, end));
  const nul = slice.indexOf(0);
  const text = slice.toString('latin1', 0, nul < 0 ? slice.length : nul).trim();
  return text.length > 0 && text.length <= 256 && /^[\x20-\x7e]+$/.test(text) ? text : null;
}

/** Reads a CIFF heap (the APP0 payload of an old Canon PowerShot JPEG, or a whole CRW file). */
export function readCiff(block: Uint8Array): MakerBlockReading {
  const out = reading();
  const bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  const note = (text: string) => {
    if (out.notes.length < 8 && !out.notes.includes(`Canon CIFF: ${text}`)) out.notes.push(`Canon CIFF: ${text}`);
  };
  const order = bytes.toString('latin1', 0, 2);
  if ((order !== 'II' && order !== 'MM') || bytes.length < 14 || !/^HEAP(JPGM|CCDR)$/.test(bytes.toString('latin1', 6, 14))) {
    note('not a CIFF heap; not read');
    return out;
  }
  const le = order === 'II';
  const u16 = (at: number) => (le ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number) => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const headerLength = u32(2);
  if (headerLength < 14 || headerLength >= bytes.length) {
    note(`impossible header length ${headerLength}; not read`);
    return out;
  }
  const visited = new Set<number>();
  // CanonRaw.pm ProcessCanonRaw: the last 4 bytes of a block give its directory's offset in it;
  // the directory is a count and 10-byte entries (tag, size, offset from the block's start).
  const walk = (start: number, length: number, depth: number): void => {
    if (depth > MAX_CIFF_DEPTH) return note('directories nested too deep; the deeper ones were not read');
    if (length < 6 || start + length > bytes.length) return note(`a directory block at byte ${start} lies outside the heap; not read`);
    const dir = start + u32(start + length - 4);
    if (visited.has(dir)) return note('a directory is referenced twice; read once');
    visited.add(dir);
    if (dir < start || dir + 2 > start + length) return note(`a directory offset points outside its block (byte ${dir}); not read`);
    const entries = u16(dir);
    if (entries > MAX_CIFF_ENTRIES || dir + 2 + entries * 10 > start + length) {
      return note(`a directory claims ${entries} entries, more than its block holds; not read`);
    }
    for (let i = 0; i < entries; i++) {
      const at = dir + 2 + i * 10;
      const tag = u16(at);
      if (tag & 0x8000) return note('a bad directory entry; the rest of that directory was not read');
      const size = u32(at + 2);
      const pointer = start + u32(at + 6);
      const id = tag & 0x3fff;
      const kind = (tag >> 8) & 0x38;
      const inDirectory = (tag & 0x4000) !== 0;
      if (inDirectory) continue;
      if (pointer + size > start + length || pointer < start) {
        note(`record 0x${id.toString(16).padStart(4, '0')} points outside its block; not read`);
        continue;
      }
      if (kind === 0x28 || kind === 0x30) {
        walk(pointer, size, depth + 1);
      } else if (id === 0x180e && size >= 4 && out.dateTimeOriginal === null) {
        out.dateTimeOriginal = unixToExifDateTime(u32(pointer));
      } else if (id === 0x080a && size > 6 && out.make === null) {
        out.make = cString(bytes, pointer, pointer + Math.min(6, size));
        out.model = cString(bytes, pointer + 6, pointer + size);
      }
    }
  };
  walk(headerLength, bytes.length - headerLength, 0);
  return out;
}

const MAX_PICTURE_INFO_LINE = 1024;

/** Reads an APP12 "Picture Info" text block (APP12.pm ProcessAPP12). */
export function readPictureInfo(block: Uint8Array): MakerBlockReading {
  const out = reading();
  const text = Buffer.from(block.buffer, block.byteOffset, Math.min(block.byteLength, 64 * 1024)).toString('latin1');
  // "tag=value" pairs separated by CR/LF, NUL or spaces, as ExifTool's regular expression reads them,
  // one line at a time: the expression's cost grows with the square of what it is given, and real
  // lines ("TimeDate=966131147") are short.
  const pairs = /([\w#-]+)=([\x20-\x7e]+?)(?=\s*(?:[\n\r\0]|[\w#-]+=|\[|$))/g;
  for (const line of text.split(/[\n\r\0]/)) {
    if (line.length > MAX_PICTURE_INFO_LINE) {
      if (line.includes('TimeDate=')) out.notes.push(`APP12 Picture Info: a line of over ${MAX_PICTURE_INFO_LINE} characters; not read`);
      continue;
    }
    for (const [, key, value] of line.matchAll(pairs)) {
      if (key !== 'TimeDate') continue;
      const trimmed = value.trim();
      out.dateTimeOriginal = /^\d+$/.test(trimmed) ? unixToExifDateTime(Number(trimmed)) : parseExifDateTime(trimmed) ? trimmed : null;
      if (out.dateTimeOriginal === null) out.notes.push(`APP12 Picture Info: TimeDate "${trimmed.slice(0, 40)}" is not a date and time`);
      return out;
    }
  }
  return out;
}

/**
 * Reads Date and Time from a Pentax maker note (MakerNotes.pm: "AOC\0" + byte order + IFD, or
 * "PENTAX \0" + byte order + IFD). `exifLittleEndian` is the EXIF's byte order, used when the
 * maker note does not state its own. Only values stored inside the IFD entries are read, so the
 * maker note's notoriously variable offset base never matters.
 */
export function readPentaxMakerNote(block: Uint8Array, exifLittleEndian: boolean): MakerBlockReading {
  const out = reading();
  const bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  let ifd: number;
  if (bytes.toString('latin1', 0, 4) === 'AOC\0') ifd = 4;
  else if (bytes.toString('latin1', 0, 8) === 'PENTAX \0') ifd = 8;
  else return out;
  let le = exifLittleEndian;
  const order = bytes.toString('latin1', ifd, ifd + 2);
  if (order === 'II' || order === 'MM') {
    le = order === 'II';
    ifd += 2;
  } else if (order === '  ') {
    ifd += 2; // "AOC\0  ": the EXIF's byte order
  }
  if (ifd + 2 > bytes.length) {
    out.notes.push('Pentax maker note: truncated before its first entry; not read');
    return out;
  }
  const u16 = (at: number) => (le ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number) => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const entries = u16(ifd);
  if (entries === 0 || entries > MAX_IFD_ENTRIES || ifd + 2 + entries * 12 > bytes.length) {
    out.notes.push(`Pentax maker note: its directory claims ${entries} entries, more than it holds; not read`);
    return out;
  }
  let date: string | null = null;
  let time: string | null = null;
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + i * 12;
    const tag = u16(at);
    const type = u16(at + 2);
    const count = u32(at + 4);
    const value = at + 8;
    // undefined/byte values of at most 4 bytes sit in the entry itself.
    if (tag === 0x0006 && (type === 7 || type === 1) && count === 4) {
      date = `${pad(bytes.readUInt16BE(value), 4)}:${pad(bytes[value + 2])}:${pad(bytes[value + 3])}`;
    } else if (tag === 0x0007 && (type === 7 || type === 1) && (count === 3 || count === 4)) {
      time = `${pad(bytes[value])}:${pad(bytes[value + 1])}:${pad(bytes[value + 2])}`;
    }
  }
  if (date && time) out.dateTimeOriginal = `${date} ${time}`;
  return out;
}
