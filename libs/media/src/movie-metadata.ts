// What an MP4, MOV, 3GP or M4A says about itself: capture time, ISO 6709 position, device,
// duration, dimensions and rotation, read from the movie box ('moov') with positioned reads
// (iso-bmff.ts), wherever 'moov' sits. Sources, in order of preference:
//   time      Apple 'com.apple.quicktime.creationdate' (ISO 8601 with its offset: the local
//             time and zone the phone knew) > 'mvhd' creation_time (seconds since 1904-01-01
//             UTC: an instant; zero is no time) > udta/ilst '©day' holding a full date-time
//   position  'com.apple.quicktime.location.ISO6709' > 'location' key > udta '©xyz'
//             (QuickTime string, what Android's MPEG4Writer and ffmpeg's mov muxer write) >
//             ilst '©xyz' > 3GPP 'loci' (ffmpeg's mp4/3gp/m4a muxers)
//   device    com.apple.quicktime.make/model/software > udta '©mak'/'©mod'/'©swr' >
//             com.android.manufacturer/model/version
//   size      the first video track's 'tkhd' (width/height as stored; the matrix gives the
//             rotation, reported as the EXIF orientation a viewer would apply) > its 'stsd'
// A failure in any part leaves that field null and adds a note; nothing here throws.
import { open, type FileHandle } from 'node:fs/promises';
import { captureTimeFromTags, cleanText, type CaptureTime, type ExtractedLocation } from './exif-values.js';
import {
  BoxReader,
  FIRST_BOXES,
  isPlausibleType,
  ReadBudgetExceeded,
  memoryChildren,
  readBoxHeader,
  readChildren,
  type BoxHeader,
  type MemoryBox,
} from './iso-bmff.js';

/** What a movie or audio file in an ISO-BMFF/QuickTime container says; see metadata.ts. */
export interface MovieMetadata {
  capturedAt: string | null;
  capturedAtOffset: string | null;
  location: ExtractedLocation | null;
  device: { make: string | null; model: string | null; software: string | null } | null;
  orientation: number | null;
  width: number | null;
  height: number | null;
  durationS: number | null;
  /** What could not be read, for `extracted.notes`. */
  notes: string[];
}

const LABEL = 'QuickTime/MP4';
const MAX_TOP_BOXES = 10_000;
/** After 'moov' is found, top-level boxes still looked at (to notice a truncated 'mdat'). */
const BOXES_AFTER_MOOV = 16;
const MAX_CHILD_BOXES = 1024;
const MAX_TRACKS = 64;
/** Largest 'meta' (keys + ilst) read into memory, and largest single 'udta' child. */
const MAX_META_BYTES = 1024 * 1024;
const MAX_UDTA_ITEM_BYTES = 64 * 1024;
const MAX_KEYS = 1024;
/** Bytes of one metadata value decoded; ISO 6709 strings and device names are far shorter. */
const MAX_VALUE_BYTES = 4096;
const MAX_DIMENSION = 2 ** 31 - 1;
/** Seconds from 1904-01-01 (QuickTime's epoch) to 1970-01-01. */
const EPOCH_1904 = 2_082_844_800;

/** HEIF/AVIF images are ISO-BMFF without a movie: not ours to report on. */
const IMAGE_BRANDS = new Set(['mif1', 'msf1', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'avif', 'avis', 'avio', 'miaf', 'jpeg', 'crx ']);

interface Track {
  handler: string | null;
  width: number | null;
  height: number | null;
  orientation: number | null;
  matrixNote: string | null;
  sampleWidth: number | null;
  sampleHeight: number | null;
}

/** Everything found, before preferences are applied. */
class Found {
  notes: string[] = [];
  mvhdCreation: CaptureTime | null = null;
  durationS: number | null = null;
  fragmentDuration: bigint | null = null;
  fragmented = false;
  timescale: number | null = null;
  tracks: Track[] = [];
  /** 'mdta' keys ('com.apple.quicktime.make') and 4CC items ('©xyz', '©day') by where they were. */
  keys = new Map<string, string>();
  udta = new Map<string, string>();
  ilst = new Map<string, string>();
  loci: ExtractedLocation | null | 'zero' = null;

  note(text: string): void {
    if (this.notes.length < 32 && !this.notes.includes(`${LABEL}: ${text}`)) this.notes.push(`${LABEL}: ${text}`);
  }
}

/** Duration in seconds from an MP4/MOV movie header; null when the file is not one or says nothing. */
export async function readMovieDurationS(filePath: string): Promise<number | null> {
  return (await readMovieMetadata(filePath))?.durationS ?? null;
}

/** Reads an ISO-BMFF/QuickTime file's metadata; null when the file is not a movie (or is a HEIF image). */
export async function readMovieMetadata(filePath: string): Promise<MovieMetadata | null> {
  let handle: FileHandle | undefined;
  const found = new Found();
  let recognised = false;
  try {
    handle = await open(filePath, 'r');
    const { size } = await handle.stat();
    const reader = new BoxReader(handle, size);
    const first = await readBoxHeader(reader, 0, size);
    if (!first || !FIRST_BOXES.has(first.type)) return null;
    recognised = true;
    const isImage = await walkFile(reader, found, first);
    if (isImage) return null;
  } catch (error) {
    if (!recognised) return null;
    found.note(
      error instanceof ReadBudgetExceeded
        ? `reading stopped after ${error.message}; later boxes were not read`
        : `reading stopped: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    await handle?.close().catch(() => undefined);
  }
  return decide(found);
}

/** Walks the top level and the movie box; true when the file turns out to be a HEIF/AVIF image. */
async function walkFile(reader: BoxReader, found: Found, first: BoxHeader): Promise<boolean> {
  let moov: BoxHeader | null = null;
  let topMeta = false;
  let imageBrand = false;
  let offset = 0;
  let afterMoov = 0;
  for (let i = 0; offset + 8 <= reader.size; i++) {
    if (i >= MAX_TOP_BOXES) {
      found.note(`more than ${MAX_TOP_BOXES} top-level boxes; the rest was not read`);
      break;
    }
    if (moov && ++afterMoov > BOXES_AFTER_MOOV) break;
    const box = i === 0 ? first : await readBoxHeader(reader, offset, reader.size);
    if (!box) {
      found.note(`unreadable box header at byte ${offset}; the rest of the file was not read`);
      break;
    }
    if (box.overlong) found.note(`'${box.type}' at byte ${box.start} runs past the end of the file (truncated?)`);
    if (box.type === 'ftyp') imageBrand = await hasImageBrand(reader, box);
    else if (box.type === 'meta') topMeta = true;
    else if (box.type === 'moov' && !moov) moov = box;
    offset = box.end;
  }
  if (!moov) {
    if (topMeta || imageBrand) return true;
    found.note("no movie box ('moov'): no time, position, device or duration could be read");
    return false;
  }
  await readMoov(reader, found, moov);
  return false;
}

async function hasImageBrand(reader: BoxReader, ftyp: BoxHeader): Promise<boolean> {
  const body = await reader.read(ftyp.start + ftyp.headerSize, Math.min(256, ftyp.end - ftyp.start - ftyp.headerSize));
  const brands: string[] = [];
  if (body.length >= 4) brands.push(body.toString('latin1', 0, 4));
  for (let at = 8; at + 4 <= body.length; at += 4) brands.push(body.toString('latin1', at, at + 4));
  return brands.some((b) => IMAGE_BRANDS.has(b)) && !brands.some((b) => ['qt  ', 'isom', 'mp41', 'mp42', 'M4A ', 'M4V '].includes(b) || b.startsWith('3g'));
}

async function readMoov(reader: BoxReader, found: Found, moov: BoxHeader): Promise<void> {
  const { boxes, problem } = await readChildren(reader, moov.start + moov.headerSize, moov.end, MAX_CHILD_BOXES);
  if (problem) found.note(`'moov': ${problem}; the rest of the movie box was not read`);
  for (const box of boxes) {
    switch (box.type) {
      case 'mvhd':
        readMvhd(await body(reader, box, 32), found);
        break;
      case 'trak':
        if (found.tracks.length >= MAX_TRACKS) {
          found.note(`more than ${MAX_TRACKS} tracks; the others were not read`);
          break;
        }
        found.tracks.push(await readTrak(reader, found, box));
        break;
      case 'udta':
        await readUdta(reader, found, box);
        break;
      case 'meta':
        await readMetaBox(reader, found, box);
        break;
      case 'mvex':
        await readMvex(reader, found, box);
        break;
    }
  }
  if (!boxes.some((b) => b.type === 'mvhd')) found.note("no movie header ('mvhd'): no creation time or duration");
}

async function body(reader: BoxReader, box: BoxHeader, max: number): Promise<Buffer> {
  const start = box.start + box.headerSize;
  return reader.read(start, Math.min(max, box.end - start));
}

function readMvhd(mvhd: Buffer, found: Found): void {
  const version = mvhd[0];
  let created: number;
  let timescale: number;
  let duration: number | null;
  if (version === 0 && mvhd.length >= 20) {
    created = mvhd.readUInt32BE(4);
    timescale = mvhd.readUInt32BE(12);
    const raw = mvhd.readUInt32BE(16);
    duration = raw === 0xffffffff ? null : raw; // "duration unknown"
  } else if (version === 1 && mvhd.length >= 32) {
    const raw64 = mvhd.readBigUInt64BE(4);
    created = raw64 > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(raw64);
    timescale = mvhd.readUInt32BE(20);
    const raw = mvhd.readBigUInt64BE(24);
    duration = raw === 0xffffffffffffffffn || raw > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(raw);
  } else {
    found.note("the movie header ('mvhd') is truncated or of an unknown version");
    return;
  }
  found.timescale = timescale || null;
  if (timescale > 0 && duration) found.durationS = Math.round((duration / timescale) * 1000) / 1000;
  found.mvhdCreation = creationInstant(created, found);
}

/** 'mvhd' creation_time: seconds since 1904-01-01 UTC; 0 is "not set". */
function creationInstant(seconds: number, found: Found): CaptureTime | null {
  if (seconds === 0) return null;
  const unixS = seconds - EPOCH_1904;
  // Before 1970 is an unset clock (or a 1970-based value from buggy software): not a time.
  if (seconds < 0 || unixS < 0 || unixS > 253402300799) {
    found.note(`the movie header's creation time (${seconds} s after 1904) is not a plausible date; ignored`);
    return null;
  }
  return { capturedAt: new Date(unixS * 1000).toISOString(), capturedAtOffset: '+00:00' };
}

async function readMvex(reader: BoxReader, found: Found, mvex: BoxHeader): Promise<void> {
  found.fragmented = true;
  const { boxes } = await readChildren(reader, mvex.start + mvex.headerSize, mvex.end, MAX_CHILD_BOXES);
  const mehd = boxes.find((b) => b.type === 'mehd');
  if (!mehd) return;
  const b = await body(reader, mehd, 12);
  if (b[0] === 0 && b.length >= 8) found.fragmentDuration = BigInt(b.readUInt32BE(4));
  else if (b[0] === 1 && b.length >= 12) found.fragmentDuration = b.readBigUInt64BE(4);
}

async function readTrak(reader: BoxReader, found: Found, trak: BoxHeader): Promise<Track> {
  const track: Track = { handler: null, width: null, height: null, orientation: null, matrixNote: null, sampleWidth: null, sampleHeight: null };
  const children = await readChildren(reader, trak.start + trak.headerSize, trak.end, MAX_CHILD_BOXES);
  if (children.problem) found.note(`'trak': ${children.problem}`);
  for (const box of children.boxes) {
    if (box.type === 'tkhd') readTkhd(await body(reader, box, 96), track);
    else if (box.type === 'mdia') await readMdia(reader, box, track);
  }
  return track;
}

function readTkhd(tkhd: Buffer, track: Track): void {
  const version = tkhd[0];
  const matrixAt = version === 1 ? 52 : 40;
  if (tkhd.length < matrixAt + 44) return;
  const fixed = (at: number) => tkhd.readInt32BE(at) / 65536;
  const [a, b, c, d] = [fixed(matrixAt), fixed(matrixAt + 4), fixed(matrixAt + 12), fixed(matrixAt + 16)];
  track.orientation = orientationFromMatrix(a, b, c, d);
  if (track.orientation === null) track.matrixNote = `track matrix [${[a, b, c, d].map((v) => +v.toFixed(4)).join(' ')}] is not a multiple of 90 degrees; orientation not given`;
  track.width = dimension(tkhd.readUInt32BE(matrixAt + 36) / 65536);
  track.height = dimension(tkhd.readUInt32BE(matrixAt + 40) / 65536);
}

/**
 * The EXIF orientation (1..8) equivalent to a track matrix's linear part. QuickTime maps a
 * stored point (x, y) to (a·x + c·y, b·x + d·y) on screen: [0 1 -1 0] turns the picture 90°
 * clockwise (ExifTool's Rotation 90), which EXIF calls 6. Mirrored matrices give 2, 4, 5, 7.
 */
export function orientationFromMatrix(a: number, b: number, c: number, d: number): number | null {
  const scale = Math.hypot(a, b);
  if (!(scale > 0) || !Number.isFinite(scale)) return null;
  const unit = (v: number) => {
    const r = v / scale;
    if (Math.abs(r) < 1e-3) return 0;
    if (Math.abs(Math.abs(r) - 1) < 1e-3) return Math.sign(r);
    return NaN;
  };
  const key = [a, b, c, d].map(unit).join(',');
  const table: Record<string, number> = {
    '1,0,0,1': 1,
    '-1,0,0,1': 2,
    '-1,0,0,-1': 3,
    '1,0,0,-1': 4,
    '0,1,1,0': 5,
    '0,1,-1,0': 6,
    '0,-1,-1,0': 7,
    '0,-1,1,0': 8,
  };
  return table[key] ?? null;
}

async function readMdia(reader: BoxReader, mdia: BoxHeader, track: Track): Promise<void> {
  const { boxes } = await readChildren(reader, mdia.start + mdia.headerSize, mdia.end, MAX_CHILD_BOXES);
  const hdlr = boxes.find((b) => b.type === 'hdlr');
  if (hdlr) {
    const h = await body(reader, hdlr, 12);
    if (h.length >= 12) track.handler = h.toString('latin1', 8, 12);
  }
  if (track.handler !== 'vide') return;
  // Fallback size from the sample description: 'minf' > 'stbl' > 'stsd' > first entry.
  const minf = boxes.find((b) => b.type === 'minf');
  if (!minf) return;
  const stbl = (await readChildren(reader, minf.start + minf.headerSize, minf.end, MAX_CHILD_BOXES)).boxes.find((b) => b.type === 'stbl');
  if (!stbl) return;
  const stsd = (await readChildren(reader, stbl.start + stbl.headerSize, stbl.end, MAX_CHILD_BOXES)).boxes.find((b) => b.type === 'stsd');
  if (!stsd) return;
  const s = await body(reader, stsd, 44);
  if (s.length >= 44 && s.readUInt32BE(4) > 0) {
    track.sampleWidth = dimension(s.readUInt16BE(40));
    track.sampleHeight = dimension(s.readUInt16BE(42));
  }
}

function dimension(value: number): number | null {
  const rounded = Math.round(value);
  return rounded > 0 && rounded <= MAX_DIMENSION ? rounded : null;
}

/** 'udta': QuickTime '©xxx' strings, 3GPP 'loci', and an iTunes-style 'meta' > 'ilst'. */
async function readUdta(reader: BoxReader, found: Found, udta: BoxHeader): Promise<void> {
  const { boxes, problem } = await readChildren(reader, udta.start + udta.headerSize, udta.end, MAX_CHILD_BOXES);
  if (problem && !(await endsWithTerminator(reader, udta, boxes))) found.note(`'udta' (user data): ${problem}; the rest was not read`);
  for (const box of boxes) {
    const interesting = box.type === 'loci' || box.type === 'meta' || (box.type.startsWith('\xa9') && UDTA_STRINGS.has(box.type));
    if (!interesting) continue;
    const length = box.end - box.start - box.headerSize;
    const limit = box.type === 'meta' ? MAX_META_BYTES : MAX_UDTA_ITEM_BYTES;
    if (length > limit) {
      found.note(`'${box.type}' in 'udta' is ${length} bytes, over the ${limit}-byte limit; not read`);
      continue;
    }
    if (box.overlong) found.note(`'${box.type}' in 'udta' claims more bytes than its container holds`);
    const payload = await body(reader, box, limit);
    if (box.type === 'meta') parseMeta(payload, found, 'udta');
    else if (box.type === 'loci') found.loci = parseLoci(payload, found);
    else {
      const text = quickTimeString(payload, box.type, found);
      if (text !== null && !found.udta.has(box.type)) found.udta.set(box.type, text);
    }
  }
}

/** QuickTime allows zero padding (a 32-bit terminator) at the end of 'udta'; that is not a broken box. */
async function endsWithTerminator(reader: BoxReader, udta: BoxHeader, boxes: BoxHeader[]): Promise<boolean> {
  const last = boxes.length > 0 ? boxes[boxes.length - 1].end : udta.start + udta.headerSize;
  if (udta.end - last > 64) return false;
  const tail = await reader.read(last, udta.end - last);
  return tail.every((byte) => byte === 0);
}

const UDTA_STRINGS = new Set(['\xa9xyz', '\xa9mak', '\xa9mod', '\xa9swr', '\xa9day']);

async function readMetaBox(reader: BoxReader, found: Found, meta: BoxHeader): Promise<void> {
  const length = meta.end - meta.start - meta.headerSize;
  if (length > MAX_META_BYTES) {
    // The keys and ilst are small; a huge 'meta' holds something else (or lies). Walk it instead.
    const skip = (await reader.read(meta.start + meta.headerSize, 4)).readUInt32BE(0) === 0 ? 4 : 0;
    const { boxes } = await readChildren(reader, meta.start + meta.headerSize + skip, meta.end, MAX_CHILD_BOXES);
    const parts: Buffer[] = [];
    for (const box of boxes) {
      if (!['hdlr', 'keys', 'ilst'].includes(box.type)) continue;
      if (box.end - box.start > MAX_META_BYTES) {
        found.note(`'${box.type}' in 'meta' is over ${MAX_META_BYTES} bytes; not read`);
        continue;
      }
      parts.push(await reader.read(box.start, box.end - box.start));
    }
    parseMeta(Buffer.concat([Buffer.alloc(4), ...parts]), found, 'moov');
    return;
  }
  if (meta.overlong) found.note("'meta' claims more bytes than its container holds");
  parseMeta(await body(reader, meta, MAX_META_BYTES), found, 'moov');
}

/** A 'meta' payload: 'hdlr', then 'keys' + 'ilst' ('mdta') or 4CC items in 'ilst' ('mdir'). */
function parseMeta(payload: Buffer, found: Found, where: string): void {
  // ISO 'meta' is a full box (version and flags before its children); QuickTime's is not.
  const start = payload.length >= 4 && payload.readUInt32BE(0) === 0 ? 4 : 0;
  const { boxes, problem } = memoryChildren(payload.subarray(start), MAX_CHILD_BOXES);
  if (problem) found.note(`'meta' in '${where}': ${problem}`);
  const keysBox = boxes.find((b) => b.type === 'keys');
  const keys = keysBox ? parseKeys(keysBox.body, found) : null;
  for (const ilst of boxes.filter((b) => b.type === 'ilst')) parseIlst(ilst, keys, found);
}

function parseKeys(keysBody: Buffer, found: Found): string[] {
  const keys: string[] = [];
  if (keysBody.length < 8) return keys;
  const count = keysBody.readUInt32BE(4);
  let at = 8;
  for (let i = 0; i < count; i++) {
    if (i >= MAX_KEYS) {
      found.note(`'keys' lists ${count} keys; only the first ${MAX_KEYS} were read`);
      break;
    }
    if (at + 8 > keysBody.length) {
      found.note(`'keys' is truncated after ${i} of ${count} keys`);
      break;
    }
    const size = keysBody.readUInt32BE(at);
    if (size < 8 || at + size > keysBody.length) {
      found.note(`'keys' entry ${i + 1} has an impossible size (${size})`);
      break;
    }
    keys.push(keysBody.toString('utf8', at + 8, at + Math.min(size, 8 + 256)));
    at += size;
  }
  return keys;
}

function parseIlst(ilst: MemoryBox, keys: string[] | null, found: Found): void {
  const { boxes, problem } = memoryChildren(ilst.body, MAX_CHILD_BOXES, true);
  if (problem) found.note(`'ilst': ${problem}`);
  for (const item of boxes) {
    // With 'keys', an item's type is a 1-based index into them; otherwise a 4CC like '©xyz'.
    const index = Buffer.from(item.type, 'latin1').readUInt32BE(0);
    const keyed = keys !== null && index >= 1 && index <= keys.length;
    if (!keyed && !isPlausibleType(item.type)) continue;
    const name = keyed ? keys[index - 1] : item.type;
    const value = dataAtomText(item.body, name, found);
    if (value === null) continue;
    const map = keyed ? found.keys : found.ilst;
    if (!map.has(name)) map.set(name, value);
  }
}

/** The first 'data' atom of an ilst item as text: type 1 UTF-8, 2 UTF-16, numbers as digits. */
function dataAtomText(itemBody: Buffer, name: string, found: Found): string | null {
  const { boxes } = memoryChildren(itemBody, 16);
  const data = boxes.find((b) => b.type === 'data');
  if (!data || data.body.length < 8) return null;
  const type = data.body.readUInt32BE(0) & 0xffffff;
  const raw = data.body.subarray(8);
  if (raw.length > MAX_VALUE_BYTES && (type === 1 || type === 2 || type === 0)) {
    found.note(`metadata item '${printable(name)}' is ${raw.length} bytes long; not read`);
    return null;
  }
  switch (type) {
    case 0:
    case 1:
    case 4:
      return cleanText(raw.toString('utf8'));
    case 2:
    case 5:
      return cleanText(utf16be(raw));
    case 21:
    case 22:
      if (raw.length >= 1 && raw.length <= 8) {
        const padded = Buffer.concat([Buffer.alloc(8 - raw.length, type === 21 && raw[0] & 0x80 ? 0xff : 0), raw]);
        return String(type === 21 ? padded.readBigInt64BE(0) : padded.readBigUInt64BE(0));
      }
      return null;
    case 23:
      return raw.length === 4 ? String(raw.readFloatBE(0)) : null;
    case 24:
      return raw.length === 8 ? String(raw.readDoubleBE(0)) : null;
    default:
      return null;
  }
}

/**
 * A QuickTime user-data string: one or more entries of [16-bit length][16-bit language][text].
 * A language code below 0x400 is a Macintosh one (text in Mac Roman); above, packed ISO 639-2
 * with UTF-8 text (UTF-16 when it starts with a byte-order mark). Some writers put an
 * iTunes-style 'data' atom there instead.
 */
function quickTimeString(payload: Buffer, type: string, found: Found): string | null {
  if (payload.length >= 16 && payload.toString('latin1', 4, 8) === 'data') return dataAtomText(payload, type, found);
  if (payload.length < 4) return null;
  const length = payload.readUInt16BE(0);
  const language = payload.readUInt16BE(2);
  if (length > payload.length - 4) {
    found.note(`'${printable(type)}' claims a ${length}-byte string in ${payload.length - 4} bytes; not read`);
    return null;
  }
  if (length > MAX_VALUE_BYTES) {
    found.note(`'${printable(type)}' holds a ${length}-byte string; not read`);
    return null;
  }
  const text = payload.subarray(4, 4 + length);
  if (text.length >= 2 && text[0] === 0xfe && text[1] === 0xff) return cleanText(utf16be(text.subarray(2)));
  const utf8 = strictUtf8(text);
  // Macintosh language codes mean Mac Roman text, but modern writers put UTF-8 there anyway.
  if (language < 0x400 && utf8 === null) return cleanText(macRoman(text));
  return cleanText(utf8 ?? text.toString('latin1'));
}

/** 3GPP 'loci' (TS 26.244): name, role, then longitude, latitude, altitude as signed 16.16. */
function parseLoci(payload: Buffer, found: Found): ExtractedLocation | null | 'zero' {
  let at = 6; // version/flags, language
  if (payload.length < at) return null;
  const utf16 = payload.length >= at + 2 && payload[at] === 0xfe && payload[at + 1] === 0xff;
  if (utf16) {
    at += 2;
    while (at + 1 < payload.length && (payload[at] !== 0 || payload[at + 1] !== 0)) at += 2;
    at += 2;
  } else {
    while (at < payload.length && payload[at] !== 0) at++;
    at += 1;
  }
  at += 1; // role
  if (at + 12 > payload.length) {
    found.note("'loci' (3GPP location) is truncated");
    return null;
  }
  const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
  const lon = round6(payload.readInt32BE(at) / 65536);
  const lat = round6(payload.readInt32BE(at + 4) / 65536);
  const altitudeM = Math.round((payload.readInt32BE(at + 8) / 65536) * 100) / 100;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    // Never the values: a note is shown wherever `extracted` is (partner copies too), a position only where positions may be.
    found.note(`'loci' gives an impossible position (beyond 90 degrees of latitude or 180 of longitude)`);
    return null;
  }
  if (lat === 0 && lon === 0) return 'zero';
  return { lat, lon, altitudeM };
}

/**
 * Parses an ISO 6709 position ("+50.0268+036.3458+112.000/", "+5001.608+03620.748/",
 * "+500136.5+0362044.9/") into signed decimal degrees; 'zero' for 0,0 (an unfixed receiver);
 * null when the text is not one.
 */
export function parseIso6709(text: string): ExtractedLocation | 'zero' | null {
  const match = /^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS[A-Za-z0-9_:.-]{1,40})?\/?$/.exec(text.trim());
  if (!match) return null;
  const lat = sexagesimal(match[1], 2);
  const lon = sexagesimal(match[2], 3);
  if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  if (lat === 0 && lon === 0) return 'zero';
  const altitude = match[3] === undefined ? null : Number(match[3]);
  const altitudeM = altitude !== null && Number.isFinite(altitude) && Math.abs(altitude) < 1e6 ? altitude : null;
  return { lat, lon, altitudeM };
}

/** ±D[D[D]][.d], ±DDMM[.m] or ±DDMMSS[.s] (degrees take `degreeDigits` digits). */
function sexagesimal(token: string, degreeDigits: number): number | null {
  const sign = token[0] === '-' ? -1 : 1;
  const [whole, fraction = ''] = token.slice(1).split('.');
  const frac = fraction ? `.${fraction}` : '';
  let value: number;
  if (whole.length <= degreeDigits) {
    value = Number(whole + frac);
  } else if (whole.length === degreeDigits + 2) {
    const minutes = Number(whole.slice(degreeDigits) + frac);
    if (minutes >= 60) return null;
    value = Number(whole.slice(0, degreeDigits)) + minutes / 60;
  } else if (whole.length === degreeDigits + 4) {
    const minutes = Number(whole.slice(degreeDigits, degreeDigits + 2));
    const seconds = Number(whole.slice(degreeDigits + 2) + frac);
    if (minutes >= 60 || seconds >= 60) return null;
    value = Number(whole.slice(0, degreeDigits)) + minutes / 60 + seconds / 3600;
  } else {
    return null;
  }
  return Number.isFinite(value) ? sign * Math.round(value * 1e9) / 1e9 : null;
}

function decide(found: Found): MovieMetadata {
  const key = (name: string) => found.keys.get(name) ?? null;

  // Time: Apple's key carries the phone's own offset; 'mvhd' is UTC by definition (phones that
  // wrote local time there are contradicted by the key when they also wrote it).
  const appleDate = key('com.apple.quicktime.creationdate');
  const apple = appleDate === null ? null : captureTimeFromTags({ xmpDates: [appleDate] });
  if (appleDate !== null && !apple) found.note(`'com.apple.quicktime.creationdate' ("${printable(appleDate)}") is not a date and time`);
  const day = found.udta.get('\xa9day') ?? found.ilst.get('\xa9day') ?? null;
  const dayTime = day === null ? null : captureTimeFromTags({ xmpDates: [day] });
  const time =
    (apple?.capturedAtOffset ? apple : null) ?? found.mvhdCreation ?? apple ?? (dayTime?.capturedAtOffset ? dayTime : null) ?? dayTime;

  // Position.
  let location: ExtractedLocation | null = null;
  const positions: Array<[string, string | null]> = [
    ['com.apple.quicktime.location.ISO6709', key('com.apple.quicktime.location.ISO6709')],
    ['location', key('location')],
    ['©xyz', found.udta.get('\xa9xyz') ?? null],
    ['©xyz', found.ilst.get('\xa9xyz') ?? null],
  ];
  for (const [name, text] of positions) {
    if (text === null) continue;
    const parsed = parseIso6709(text);
    // Not the text itself: it may be a position written some other way (GET /metadata has it, where positions may be seen).
    if (parsed === null) found.note(`'${name}' (${text.length} characters) is not an ISO 6709 position`);
    if (parsed && parsed !== 'zero') {
      location = parsed;
      break;
    }
  }
  if (!location && found.loci && found.loci !== 'zero') location = found.loci;

  // Device.
  const make = key('com.apple.quicktime.make') ?? found.udta.get('\xa9mak') ?? key('com.android.manufacturer');
  const model = key('com.apple.quicktime.model') ?? found.udta.get('\xa9mod') ?? key('com.android.model');
  const software = key('com.apple.quicktime.software') ?? found.udta.get('\xa9swr') ?? key('com.android.version');

  // Picture: the first video track.
  const video = found.tracks.find((t) => t.handler === 'vide');
  if (video?.matrixNote) found.note(video.matrixNote);
  const fromTkhd = Boolean(video?.width && video.height);
  const width = (fromTkhd ? video?.width : video?.sampleWidth) ?? null;
  const height = (fromTkhd ? video?.height : video?.sampleHeight) ?? null;

  let durationS = found.durationS;
  if (durationS === null && found.fragmentDuration !== null && found.timescale) {
    const s = Number(found.fragmentDuration) / found.timescale;
    if (Number.isFinite(s) && s > 0) durationS = Math.round(s * 1000) / 1000;
  }
  if (durationS === null && found.fragmented) found.note("a fragmented movie without a total duration ('mehd'): duration not given");

  return {
    capturedAt: time?.capturedAt ?? null,
    capturedAtOffset: time?.capturedAtOffset ?? null,
    location,
    device: make || model || software ? { make: make ?? null, model: model ?? null, software: software ?? null } : null,
    orientation: video ? video.orientation : null,
    width,
    height,
    durationS,
    notes: found.notes,
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function strictUtf8(bytes: Buffer): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

function utf16be(bytes: Buffer): string {
  const even = bytes.subarray(0, bytes.length - (bytes.length % 2));
  const swapped = Buffer.from(even);
  swapped.swap16();
  return swapped.toString('utf16le');
}

// Mac OS Roman, 0x80..0xFF.
const MAC_ROMAN =
  'ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø¿¡¬√ƒ≈∆«»…\u00a0ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\uf8ffÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ';

export function macRoman(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes) text += byte < 0x80 ? String.fromCharCode(byte) : MAC_ROMAN[byte - 0x80];
  return text;
}

/** A value quoted in a note: short, printable. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
