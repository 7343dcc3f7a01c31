// Camera raw files built on TIFF (Adobe DNG, which phones write for "RAW"/"ProRAW"; Canon CR2;
// Nikon NEF and NRW; Sony ARW; Pentax PEF; Samsung SRW; Panasonic RW2; Olympus and OM System ORF,
// whose preview is in the maker note), Canon's CR3 (ISO-BMFF
// holding TIFF blocks) and Fujifilm's RAF (a header pointing to an EXIF JPEG): what they say of
// the full-resolution image, and which JPEG pictures they carry. The raw sensor data is never
// decoded: a picture of the scene comes from the camera's own JPEG inside the file, as ExifTool's
// PreviewImage / JpgFromRaw and every photo manager's thumbnails do. What libvips would decode,
// IFD0, is a thumbnail of 160 to 256 pixels in DNG and NEF, and old-style JPEG it cannot read in
// CR2. Bounded: at most 32 IFDs of at most 1,024 entries each, 64 boxes, a moov of at most 4 MiB,
// one 128 KiB read per JPEG's headers; the JPEG itself is read by the caller, at most 64 MiB.
import type { FileHandle } from 'node:fs/promises';

const MAX_IFDS = 32;
const MAX_ENTRIES = 1024;
/** Bytes of a JPEG read for its headers: its APP1 EXIF (at most 64 KiB) and frame header. */
const JPEG_HEADER_BYTES = 128 * 1024;
/** Largest embedded JPEG read into memory (a 60 MP camera's full-size JPEG is about 25 MB). */
export const MAX_RAW_PREVIEW_BYTES = 64 * 1024 * 1024;

const TAG = {
  newSubFileType: 254,
  width: 256,
  height: 257,
  compression: 259,
  photometric: 262,
  stripOffsets: 273,
  orientation: 274,
  stripByteCounts: 279,
  subIfds: 330,
  jpegOffset: 513,
  jpegLength: 514,
  exifIfd: 34665,
  makerNote: 0x927c,
  dngVersion: 50706,
  rw2JpgFromRaw: 0x2e,
  // RW2's IFD0: the sensor's borders around the image (ExifTool's ImageWidth and ImageHeight).
  rw2TopBorder: 4,
  rw2LeftBorder: 5,
  rw2BottomBorder: 6,
  rw2RightBorder: 7,
} as const;
const RW2_MAGIC = 0x55;
/** Olympus ORF's 'RO' ('IIRO', and 'MMOR' read big-endian) and 'RS' ('IIRS') in place of TIFF's 42. */
const ORF_MAGICS = new Set([0x4f52, 0x5352]);
/** Photometric interpretations of raw sensor data: colour filter array, linear raw. */
const RAW_DATA = new Set([32803, 34892]);
/** Compression 6: old-style JPEG (CR2's IFD0); 7: JPEG; 34892 and others are raw codecs. */
const JPEG_COMPRESSION = new Set([6, 7]);

export interface EmbeddedJpeg {
  offset: number;
  length: number;
  /** From the JPEG's own frame header. */
  width: number;
  height: number;
}

export interface CameraRawLayout {
  /** Which layout: CR2 is told apart (its 'CR' after the TIFF header) because ExifTool sizes it by its EXIF. */
  format: 'tiff' | 'cr2' | 'cr3' | 'raf';
  /** The full-resolution image as stored (the sensor's, or a CR2's full-size JPEG): the largest IFD not marked reduced-resolution. */
  fullSize: { width: number; height: number } | null;
  /** IFD0's orientation, which applies to every picture in the file. */
  orientation: number | null;
  /** Every embedded baseline or progressive JPEG, smallest first. */
  jpegs: EmbeddedJpeg[];
  /** CR3 only: its EXIF as TIFF structures, each with its directory as IFD0 (CMT1: IFD0, CMT2: the EXIF IFD, CMT4: GPS). */
  exifBlocks?: { ifd0?: Buffer; exif?: Buffer; gps?: Buffer };
  /** RAF only: the EXIF of the JPEG it carries, a whole TIFF structure (IFD0, EXIF IFD, GPS). */
  exifTiff?: Buffer;
}

interface Entry {
  type: number;
  count: number;
  /** Where the value is: inside the entry, or at its offset. */
  at: number;
}

/** Bytes at an offset, fewer at the end of what is read. */
type ByteSource = (offset: number, length: number) => Promise<Buffer>;

/** Positioned, bounded reads of a file. */
function fileBytes(handle: FileHandle, size: number): ByteSource {
  return async (offset, length) => {
    if (offset < 0 || offset >= size || length <= 0) return Buffer.alloc(0);
    const buffer = Buffer.alloc(Math.min(length, size - offset));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  };
}

/** A TIFF's IFDs read through a byte source; every read is bounded and positioned. */
class TiffReader {
  constructor(
    readonly bytes: ByteSource,
    readonly littleEndian: boolean,
  ) {}

  u16 = (b: Buffer, at: number) => (this.littleEndian ? b.readUInt16LE(at) : b.readUInt16BE(at));
  u32 = (b: Buffer, at: number) => (this.littleEndian ? b.readUInt32LE(at) : b.readUInt32BE(at));

  /** An IFD's entries by tag, and where the next IFD starts (0: none). */
  async ifd(offset: number): Promise<{ entries: Map<number, Entry>; next: number } | null> {
    const head = await this.bytes(offset, 2);
    if (head.length < 2) return null;
    const count = this.u16(head, 0);
    if (count === 0 || count > MAX_ENTRIES) return null;
    const body = await this.bytes(offset + 2, count * 12 + 4);
    if (body.length < count * 12) return null;
    const entries = new Map<number, Entry>();
    for (let k = 0; k < count; k++) {
      const at = k * 12;
      const type = this.u16(body, at + 2);
      const values = this.u32(body, at + 4);
      const unit = type === 3 ? 2 : type === 4 || type === 13 ? 4 : 1;
      entries.set(this.u16(body, at), { type, count: values, at: unit * values <= 4 ? offset + 2 + at + 8 : this.u32(body, at + 8) });
    }
    return { entries, next: body.length >= count * 12 + 4 ? this.u32(body, count * 12) : 0 };
  }

  /** The SHORT or LONG values of an entry (at most `max`). */
  async numbers(entry: Entry | undefined, max = 64): Promise<number[]> {
    if (!entry || ![3, 4, 13].includes(entry.type)) return [];
    const unit = entry.type === 3 ? 2 : 4;
    const count = Math.min(entry.count, max);
    const b = await this.bytes(entry.at, count * unit);
    const values: number[] = [];
    for (let k = 0; k + unit <= b.length && k < count * unit; k += unit) values.push(unit === 2 ? this.u16(b, k) : this.u32(b, k));
    return values;
  }
}

/**
 * A JPEG's width and height from its first baseline, extended or progressive frame header (null
 * otherwise: lossless JPEG is raw data), and its APP1 EXIF (a TIFF structure) when `b` holds it whole.
 */
function jpegHeader(b: Buffer): { width: number; height: number; exif: Buffer | null } | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let exif: Buffer | null = null;
  for (let at = 2; at + 4 <= b.length; ) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      if (![0xc0, 0xc1, 0xc2].includes(marker) || at + 9 > b.length) return null;
      const [height, width] = [b.readUInt16BE(at + 5), b.readUInt16BE(at + 7)];
      return width > 0 && height > 0 ? { width, height, exif } : null;
    }
    if (marker === 0xd9 || marker === 0xda) return null;
    const end = at + 2 + b.readUInt16BE(at + 2);
    if (marker === 0xe1 && exif === null && end <= b.length && b.toString('latin1', at + 4, at + 10) === 'Exif\0\0') exif = b.subarray(at + 10, end);
    at = end;
  }
  return null;
}

/**
 * The layout of a camera raw file; null when the file is not one: a TIFF whose IFD0 names a DNG
 * version, is old-style JPEG (CR2), is a reduced-resolution image, or that holds raw sensor data.
 */
export async function readCameraRawLayout(handle: FileHandle, size: number): Promise<CameraRawLayout | null> {
  const top = await fileBytes(handle, size)(0, 12);
  if (top.length < 8) return null;
  if (top.toString('latin1', 4, 12) === 'ftypcrx ') return readCr3Layout(fileBytes(handle, size), size);
  if (top.toString('latin1', 0, 12) === 'FUJIFILMCCD-') return readRafLayout(fileBytes(handle, size), size);
  const order = top.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const tiff = new TiffReader(fileBytes(handle, size), order === 'II');
  // TIFF's 42, Panasonic RW2's 0x55 (a TIFF with its preview in IFD0's tag 0x2e), or Olympus ORF's
  // (its preview in the maker note).
  const magic = tiff.u16(top, 2);
  const olympus = ORF_MAGICS.has(magic);
  if (magic !== 42 && magic !== RW2_MAGIC && !olympus) return null;

  const queue = [tiff.u32(top, 4)];
  const seen = new Set<number>();
  let raw = false;
  let orientation: number | null = null;
  let fullSize: CameraRawLayout['fullSize'] = null;
  const places: { offset: number; length: number }[] = [];
  for (let n = 0; queue.length > 0 && n < MAX_IFDS; n++) {
    const offset = queue.shift()!;
    if (offset < 8 || offset >= size || seen.has(offset)) continue;
    seen.add(offset);
    const ifd = await tiff.ifd(offset);
    if (!ifd) continue;
    const one = async (tag: number) => (await tiff.numbers(ifd.entries.get(tag), 1))[0] ?? null;
    const [subFileType, width, height, compression, photometric] = await Promise.all([TAG.newSubFileType, TAG.width, TAG.height, TAG.compression, TAG.photometric].map(one));
    if (n === 0) {
      orientation = await one(TAG.orientation);
      raw = magic === RW2_MAGIC || olympus || ifd.entries.has(TAG.dngVersion) || compression === 6 || ((subFileType ?? 0) & 1) === 1;
      if (olympus) places.push(...(await olympusPreview(tiff, await one(TAG.exifIfd))));
      if (magic === RW2_MAGIC) {
        const jpgFromRaw = ifd.entries.get(TAG.rw2JpgFromRaw);
        if (jpgFromRaw?.type === 7) places.push({ offset: jpgFromRaw.at, length: jpgFromRaw.count });
        const [top, left, bottom, right] = await Promise.all([TAG.rw2TopBorder, TAG.rw2LeftBorder, TAG.rw2BottomBorder, TAG.rw2RightBorder].map(one));
        if (top !== null && left !== null && bottom !== null && right !== null && right > left && bottom > top) fullSize = { width: right - left, height: bottom - top };
      }
      if (ifd.next) queue.push(ifd.next);
    } else if (seen.size <= 4 && ifd.next) {
      // CR2 chains IFD0 to IFD3; a SubIFD's own chain is not followed far.
      queue.push(ifd.next);
    }
    if (photometric !== null && RAW_DATA.has(photometric)) raw = true;
    if (((subFileType ?? 0) & 1) === 0 && width && height && (!fullSize || width * height > fullSize.width * fullSize.height)) fullSize = { width, height };
    queue.push(...(await tiff.numbers(ifd.entries.get(TAG.subIfds), 16)));
    const [jpegOffset, jpegLength] = [await one(TAG.jpegOffset), await one(TAG.jpegLength)];
    if (jpegOffset && jpegLength) places.push({ offset: jpegOffset, length: jpegLength });
    if (compression !== null && JPEG_COMPRESSION.has(compression) && !(photometric !== null && RAW_DATA.has(photometric))) {
      const [strips, counts] = [await tiff.numbers(ifd.entries.get(TAG.stripOffsets), 2), await tiff.numbers(ifd.entries.get(TAG.stripByteCounts), 2)];
      if (strips.length === 1 && counts.length === 1) places.push({ offset: strips[0]!, length: counts[0]! });
    }
  }
  if (!raw) return null;
  const format = (await tiff.bytes(8, 2)).toString('latin1') === 'CR' ? 'cr2' : 'tiff';
  return { format, fullSize, orientation, jpegs: await jpegsAt(places, tiff.bytes, size) };
}

/** The places that hold a baseline or progressive JPEG, with its size, smallest first. */
async function jpegsAt(places: { offset: number; length: number }[], bytes: ByteSource, size: number): Promise<EmbeddedJpeg[]> {
  const jpegs: EmbeddedJpeg[] = [];
  for (const place of places) {
    if (place.length <= 0 || place.offset + place.length > size || jpegs.some((j) => j.offset === place.offset)) continue;
    const header = jpegHeader(await bytes(place.offset, Math.min(place.length, JPEG_HEADER_BYTES)));
    if (header) jpegs.push({ ...place, width: header.width, height: header.height });
  }
  return jpegs.sort((a, b) => a.width * a.height - b.width * b.height);
}

const CR3_METADATA = Buffer.from('85c0b687820f11e08111f4ce462b6a48', 'hex');
const CR3_PREVIEW = Buffer.from('eaf42b5e1c984b88b9fbb7dc406e4d16', 'hex');
const MAX_BOXES = 64;
/** Largest moov read whole (a CR3's is about 100-300 KiB: its EXIF, maker note, thumbnail and track tables). */
const MAX_MOOV_BYTES = 4 * 1024 * 1024;
/** Bytes of a THMB or PRVW payload searched for the JPEG's start (its own header is 16 bytes). */
const JPEG_START_SEARCH = 64;

interface Box {
  type: string;
  uuid: Buffer | null;
  /** Where its payload starts (after size, type, large size and a uuid) and where it ends, in `b`. */
  start: number;
  end: number;
}

/** The box at `at` of `b` (ISO/IEC 14496-12), null when malformed or running past `limit`. */
function boxAt(b: Buffer, at: number, limit: number): Box | null {
  if (at + 8 > b.length) return null;
  let length = b.readUInt32BE(at);
  let header = 8;
  if (length === 1) {
    if (at + 16 > b.length) return null;
    length = Number(b.readBigUInt64BE(at + 8));
    header = 16;
  } else if (length === 0) length = limit - at;
  if (length < header || at + length > limit) return null;
  const type = b.toString('latin1', at + 4, at + 8);
  const uuid = type === 'uuid' && length >= header + 16 && at + header + 16 <= b.length ? b.subarray(at + header, at + header + 16) : null;
  return { type, uuid, start: at + header + (uuid ? 16 : 0), end: at + length };
}

function* boxesIn(b: Buffer, from: number, to: number): Generator<Box> {
  for (let at = from, n = 0; n < MAX_BOXES; n++) {
    const box = boxAt(b, at, to);
    if (!box) return;
    yield box;
    at = box.end;
  }
}

/** Where a JPEG starts near the front of a payload [start, end) of `b`: its offset in `b` and length to the payload's end. */
function jpegNear(b: Buffer, start: number, end: number): { offset: number; length: number } | null {
  const soi = b.subarray(start, Math.min(end, start + JPEG_START_SEARCH)).indexOf(Buffer.from([0xff, 0xd8, 0xff]));
  return soi < 0 ? null : { offset: start + soi, length: end - start - soi };
}

/**
 * An Olympus or OM System maker note's preview JPEG (ExifTool's Olympus.pm: CameraSettings, tag
 * 0x2020, an IFD holding PreviewImageStart 0x101 and PreviewImageLength 0x102). The maker note
 * starts "OLYMPUS\0" + byte order + version (its IFD at 12) or "OM SYSTEM\0\0\0" + byte order +
 * version (at 16), offsets counted from its start; an old "OLYMP\0" one has its IFD at 8 and
 * offsets counted as the TIFF's.
 */
async function olympusPreview(tiff: TiffReader, exifAt: number | null): Promise<{ offset: number; length: number }[]> {
  const note = exifAt ? (await tiff.ifd(exifAt))?.entries.get(TAG.makerNote) : undefined;
  if (!note || note.type !== 7 || note.count < 16) return [];
  const head = await tiff.bytes(note.at, 16);
  const order = tiff.littleEndian ? 'II' : 'MM';
  let base: number;
  let ifdAt: number;
  if (head.toString('latin1', 0, 8) === 'OLYMPUS\0' && head.toString('latin1', 8, 10) === order) [base, ifdAt] = [note.at, note.at + 12];
  else if (head.toString('latin1', 0, 12) === 'OM SYSTEM\0\0\0' && head.toString('latin1', 12, 14) === order) [base, ifdAt] = [note.at, note.at + 16];
  else if (head.toString('latin1', 0, 6) === 'OLYMP\0') [base, ifdAt] = [0, note.at + 8];
  else return [];
  const [settingsAt] = await tiff.numbers((await tiff.ifd(ifdAt))?.entries.get(0x2020), 1);
  const settings = settingsAt ? await tiff.ifd(base + settingsAt) : null;
  if (!settings) return [];
  const [[start], [length]] = await Promise.all([tiff.numbers(settings.entries.get(0x101), 1), tiff.numbers(settings.entries.get(0x102), 1)]);
  return start && length ? [{ offset: base + start, length }] : [];
}

/**
 * Canon CR3 (Laurent Clévy's canon_cr3 description; ExifTool's Canon uuid tags): in moov's Canon
 * uuid box, CMT1 (IFD0), CMT2 (the EXIF IFD), CMT4 (GPS), each a TIFF structure, and THMB (a
 * 160x120 JPEG); in a top-level uuid box, eight bytes and then PRVW (a 1620x1080 JPEG). The
 * first track's full-size JPEG is not needed for a picture.
 */
async function readCr3Layout(bytes: ByteSource, size: number): Promise<CameraRawLayout> {
  const exifBlocks: NonNullable<CameraRawLayout['exifBlocks']> = {};
  const places: { offset: number; length: number }[] = [];
  for (let at = 0, n = 0; at + 8 <= size && n < MAX_BOXES; n++) {
    const head = await bytes(at, 32);
    const box = boxAt(head, 0, size - at);
    if (!box) break;
    if (box.type === 'moov' && box.end <= MAX_MOOV_BYTES) {
      const moov = await bytes(at, box.end);
      for (const child of boxesIn(moov, box.start, moov.length)) {
        if (!child.uuid?.equals(CR3_METADATA)) continue;
        for (const item of boxesIn(moov, child.start, child.end)) {
          const payload = moov.subarray(item.start, item.end);
          if (item.type === 'CMT1') exifBlocks.ifd0 = payload;
          else if (item.type === 'CMT2') exifBlocks.exif = payload;
          else if (item.type === 'CMT4') exifBlocks.gps = payload;
          const jpeg = item.type === 'THMB' ? jpegNear(moov, item.start, item.end) : null;
          if (jpeg) places.push({ offset: at + jpeg.offset, length: jpeg.length });
        }
      }
    } else if (box.uuid?.equals(CR3_PREVIEW)) {
      const front = await bytes(at + box.start + 8, 8 + JPEG_START_SEARCH);
      const prvw = boxAt(front, 0, box.end - box.start - 8);
      const jpeg = prvw?.type === 'PRVW' ? jpegNear(front, prvw.start, prvw.end) : null;
      if (jpeg) places.push({ offset: at + box.start + 8 + jpeg.offset, length: jpeg.length });
    }
    at += box.end;
  }
  // IFD0's size and orientation, from CMT1.
  let fullSize: CameraRawLayout['fullSize'] = null;
  let orientation: number | null = null;
  const cmt1 = exifBlocks.ifd0;
  const order = cmt1?.toString('latin1', 0, 2);
  if (cmt1 && cmt1.length >= 8 && (order === 'II' || order === 'MM')) {
    const tiff = new TiffReader(async (offset, length) => cmt1.subarray(offset, offset + length), order === 'II');
    const ifd = await tiff.ifd(tiff.u32(cmt1, 4));
    const one = async (tag: number) => (ifd ? ((await tiff.numbers(ifd.entries.get(tag), 1))[0] ?? null) : null);
    const [width, height] = [await one(TAG.width), await one(TAG.height)];
    if (width && height) fullSize = { width, height };
    orientation = await one(TAG.orientation);
  }
  return { format: 'cr3', fullSize, orientation, jpegs: await jpegsAt(places, bytes, size), exifBlocks };
}

/** Where a RAF's header points to its own directories (the others, at 0x64 and 0x80, are TIFF-like). */
const RAF_DIRECTORIES = [0x5c, 0x78];
const RAF_CROPPED_SIZE = 0x111;

/**
 * Fujifilm RAF (ExifTool's FujiFilm.pm, LibRaw): a 16-byte signature, version, camera id and
 * model, then at byte 84 the offset and length of a JPEG (about 1920x1280) carrying the EXIF, and
 * at 0x5c and 0x78 Fujifilm's own directories (a count, then tag, length, value; big-endian),
 * whose RawImageCroppedSize (height, width) is ExifTool's ImageSize; the first directory wins.
 */
async function readRafLayout(bytes: ByteSource, size: number): Promise<CameraRawLayout> {
  const pointers = await bytes(84, 8);
  const place = pointers.length === 8 ? { offset: pointers.readUInt32BE(0), length: pointers.readUInt32BE(4) } : null;
  // One read of the JPEG's headers gives both its size and its EXIF.
  const header = place && place.length > 0 && place.offset + place.length <= size ? jpegHeader(await bytes(place.offset, Math.min(place.length, JPEG_HEADER_BYTES))) : null;
  const jpegs = header && place ? [{ ...place, width: header.width, height: header.height }] : [];
  const exif = header?.exif;
  let fullSize: CameraRawLayout['fullSize'] = null;
  for (const pointer of RAF_DIRECTORIES) {
    const where = await bytes(pointer, 4);
    const start = where.length === 4 ? where.readUInt32BE(0) : 0;
    const head = start > 0 ? await bytes(start, 4) : Buffer.alloc(0);
    const entries = head.length === 4 ? head.readUInt32BE(0) : 0;
    if (entries === 0 || entries >= 256) continue;
    // Entries of at most 64 KiB each, read as one directory of at most 256 x (4 + 64 KiB).
    const directory = await bytes(start + 4, Math.min(entries * (4 + 0xffff), 1024 * 1024));
    for (let at = 0, k = 0; k < entries && at + 4 <= directory.length; k++) {
      const [tag, length] = [directory.readUInt16BE(at), directory.readUInt16BE(at + 2)];
      if (tag === RAF_CROPPED_SIZE && length >= 4 && at + 8 <= directory.length) {
        const [height, width] = [directory.readUInt16BE(at + 4), directory.readUInt16BE(at + 6)];
        if (width > 0 && height > 0) fullSize = { width, height };
      }
      at += 4 + length;
    }
    if (fullSize) break;
  }
  return { format: 'raf', fullSize, orientation: null, jpegs, ...(exif && { exifTiff: exif }) };
}
