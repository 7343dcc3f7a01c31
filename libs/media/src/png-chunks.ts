// What a PNG carries besides pixels, wherever its chunks sit: EXIF in an `eXIf` chunk (before or
// after the image data: ImageMagick writes it after IDAT, where libvips' and exifr's chunked
// readers never look), XMP in `iTXt`/`zTXt`/`tEXt` keyed "XML:com.adobe.xmp", and ImageMagick's
// hex-encoded "Raw profile type exif|APP1|xmp|iptc|8bim" text chunks (as ExifTool's PNG.pm reads
// them). Chunk headers are read through a small window and pixel data is skipped, so a large
// PNG costs a few reads. Every metadata chunk's CRC is checked (a chunk that fails it is damaged
// and not used, as libpng does with ancillary chunks); every problem becomes a note; nothing here
// throws for any content.
import type { FileHandle } from 'node:fs/promises';
import { crc32, inflateSync } from 'node:zlib';
import { ReadWindow } from './read-window.js';

export interface PngMetadata {
  width: number | null;
  height: number | null;
  /** The TIFF structure of the EXIF ("II*\0..." / "MM\0*..."). */
  exif: Buffer | null;
  xmp: string | null;
  /** Photoshop resources or bare IIM datasets (iptc.ts reads both). */
  iptc: Buffer | null;
  notes: string[];
}

const LABEL = 'PNG';
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG's own limit on a chunk length (2^31 - 1). */
const MAX_CHUNK_LENGTH = 0x7fffffff;
/** Largest metadata chunk read into memory; real EXIF/XMP chunks are a few KiB. */
const MAX_METADATA_CHUNK = 4 * 1024 * 1024;
/** Largest decompressed text; the intake feeds at most 1 MB of XMP to its parser anyway. */
const MAX_INFLATED = 4 * 1024 * 1024;
const MAX_CHUNKS = 200_000;
const METADATA_CHUNKS = new Set(['eXIf', 'tEXt', 'zTXt', 'iTXt']);
const XMP_KEYWORD = 'XML:com.adobe.xmp';

/** Reads the metadata chunks of the PNG open at `handle`; `size` is the file's length. */
export async function readPngMetadata(handle: FileHandle, size: number): Promise<PngMetadata> {
  const found: PngMetadata = { width: null, height: null, exif: null, xmp: null, iptc: null, notes: [] };
  const note = (text: string) => {
    const line = `${LABEL}: ${text}`;
    if (found.notes.length < 16 && !found.notes.includes(line)) found.notes.push(line);
  };
  const window = new ReadWindow(handle, size);
  try {
    if (!(await window.read(0, 8)).equals(SIGNATURE)) return found;
    const raw = { exif: null as Buffer | null, xmp: null as string | null };
    let offset = 8;
    let ended = false;
    for (let count = 0; offset < size; count++) {
      if (count >= MAX_CHUNKS) {
        note(`more than ${MAX_CHUNKS} chunks; the rest was not read`);
        break;
      }
      const header = await window.read(offset, 8);
      if (header.length < 8) {
        note(`the file ends inside a chunk header at byte ${offset} (truncated?)`);
        break;
      }
      const length = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (!/^[A-Za-z]{4}$/.test(type)) {
        note(`unreadable chunk header at byte ${offset}; the rest of the file was not read`);
        break;
      }
      if (length > MAX_CHUNK_LENGTH) {
        note(`'${type}' chunk at byte ${offset} claims ${length} bytes, over PNG's limit of 2^31-1; the rest of the file was not read`);
        break;
      }
      if (length + 12 > size - offset) {
        const what = METADATA_CHUNKS.has(type) ? 'not read' : 'the file is truncated';
        note(`'${type}' chunk at byte ${offset} claims ${length} bytes, past the end of the file; ${what}`);
        break;
      }
      if (count === 0 && type === 'IHDR' && length >= 8) {
        const ihdr = await window.read(offset + 8, 8);
        found.width = positive(ihdr.readUInt32BE(0));
        found.height = positive(ihdr.readUInt32BE(4));
      }
      if (type === 'IEND') {
        ended = true;
        break;
      }
      if (METADATA_CHUNKS.has(type)) {
        if (length > MAX_METADATA_CHUNK) {
          note(`'${type}' chunk at byte ${offset} is ${length} bytes, over the ${MAX_METADATA_CHUNK}-byte limit; not read`);
        } else {
          const body = Buffer.from(await window.read(offset + 4, length + 8));
          const data = body.subarray(4, 4 + length);
          if (body.length < length + 8 || crc32(body.subarray(0, 4 + length)) !== body.readUInt32BE(4 + length)) {
            note(`'${type}' chunk at byte ${offset} fails its CRC (damaged); not read`);
          } else {
            metadataChunk(type, data, offset, found, raw, note);
          }
        }
      }
      offset += 12 + length;
    }
    if (!ended && offset >= size && size > 8) note('no IEND chunk: the file is truncated');
    found.exif ??= raw.exif;
    found.xmp ??= raw.xmp;
  } catch (error) {
    note(`reading stopped: ${error instanceof Error ? error.message : String(error)}`);
  }
  return found;
}

/** Raw-profile values, used only when no eXIf / XMP chunk gives the same block. */
interface RawProfiles {
  exif: Buffer | null;
  xmp: string | null;
}

function metadataChunk(
  type: string,
  data: Buffer,
  offset: number,
  found: PngMetadata,
  raw: RawProfiles,
  note: (text: string) => void,
): void {
  const where = `'${type}' chunk at byte ${offset}`;
  if (type === 'eXIf') {
    if (found.exif) return;
    const tiff = tiffStructure(data);
    if (tiff) found.exif = tiff;
    else note(`${where} does not hold an EXIF (TIFF) structure; not read`);
    return;
  }
  const text = textChunk(type, data, where, note);
  if (!text) return;
  if (text.keyword === XMP_KEYWORD) {
    found.xmp ??= text.value.toString('utf8');
    return;
  }
  const profile = /^Raw profile type (exif|APP1|xmp|iptc|8bim)$/i.exec(text.keyword)?.[1].toLowerCase();
  if (!profile) return;
  const bytes = rawProfile(text.value);
  if (!bytes) {
    note(`${where} ("${text.keyword}") is not a readable hex profile; not read`);
    return;
  }
  if (profile === 'xmp' || (profile === 'app1' && bytes.toString('latin1', 0, 29) === 'http://ns.adobe.com/xap/1.0/\0')) {
    const packet = profile === 'xmp' ? bytes : bytes.subarray(29);
    raw.xmp ??= packet.toString('utf8');
  } else if (profile === 'exif' || profile === 'app1') {
    const tiff = tiffStructure(bytes);
    if (tiff) raw.exif ??= tiff;
    else note(`${where} ("${text.keyword}") does not hold an EXIF (TIFF) structure; not read`);
  } else {
    found.iptc ??= bytes;
  }
}

/** The TIFF structure, with the "Exif\0\0" prefix some writers (and raw profiles) put first. */
function tiffStructure(data: Buffer): Buffer | null {
  const body = data.toString('latin1', 0, 6) === 'Exif\0\0' ? data.subarray(6) : data;
  const order = body.toString('latin1', 0, 4);
  return order === 'II*\0' || order === 'MM\0*' ? body : null;
}

/** A tEXt/zTXt/iTXt chunk's keyword and (decompressed) text bytes; null with a note when unreadable. */
function textChunk(type: string, data: Buffer, where: string, note: (text: string) => void): { keyword: string; value: Buffer } | null {
  const nul = data.indexOf(0);
  // Keywords are 1-79 Latin-1 characters.
  if (nul < 1 || nul > 79) {
    note(`${where} has no valid keyword; not read`);
    return null;
  }
  const keyword = data.toString('latin1', 0, nul);
  // Only the chunks this reader uses are decoded (and decompressed).
  if (keyword !== XMP_KEYWORD && !/^Raw profile type /i.test(keyword)) return null;
  if (type === 'tEXt') return { keyword, value: data.subarray(nul + 1) };
  if (type === 'zTXt') {
    const value = inflate(data.subarray(nul + 2), data[nul + 1], where, note);
    return value && { keyword, value };
  }
  // iTXt: keyword\0 flag method language\0 translated-keyword\0 text
  const flag = data[nul + 1];
  const method = data[nul + 2];
  const languageEnd = data.indexOf(0, nul + 3);
  const translatedEnd = languageEnd < 0 ? -1 : data.indexOf(0, languageEnd + 1);
  if (flag === undefined || translatedEnd < 0) {
    note(`${where} is malformed; not read`);
    return null;
  }
  const text = data.subarray(translatedEnd + 1);
  if (flag === 0) return { keyword, value: text };
  const value = inflate(text, method, where, note);
  return value && { keyword, value };
}

function inflate(data: Buffer, method: number | undefined, where: string, note: (text: string) => void): Buffer | null {
  if (method !== 0) {
    note(`${where} uses an unknown compression method; not read`);
    return null;
  }
  try {
    return inflateSync(data, { maxOutputLength: MAX_INFLATED });
  } catch (error) {
    const reason = error instanceof RangeError ? `inflates past ${MAX_INFLATED} bytes` : 'does not decompress';
    note(`${where} ${reason}; not read`);
    return null;
  }
}

/** ImageMagick's raw profile text: "\n<name>\n<spaces><length>\n<hex digits, wrapped>". */
function rawProfile(text: Buffer): Buffer | null {
  const value = text.toString('latin1');
  // The name and length lines are short; the expression is given only the start of the text, as
  // its cost grows with the square of what it is given (megabytes of spaces would take hours).
  const match = /^\s*[^\n]*\n\s*(\d{1,9})\s*\n/.exec(value.slice(0, 1024));
  if (!match) return null;
  const declared = Number(match[1]);
  const hex = value.slice(match[0].length).replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(hex) || declared === 0 || hex.length < declared * 2) return null;
  return Buffer.from(hex.slice(0, declared * 2), 'hex');
}

function positive(value: number): number | null {
  return value > 0 && value <= MAX_CHUNK_LENGTH ? value : null;
}
