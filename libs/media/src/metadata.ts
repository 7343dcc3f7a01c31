// What a file says about itself (EXIF, XMP, IPTC, maker blocks, PNG chunks, QuickTime/MP4,
// Matroska, PDF), as api.md's `extracted`. Every reader here treats the file as hostile: a failure
// in one source yields nulls and, where a block exists but cannot be read, a line in `notes`;
// never an error. Still images: exifr reads EXIF and XMP (JPEG, TIFF, HEIC, WebP through libvips),
// jpeg-segments.ts the APP13 IPTC, APP12 Picture Info and APP0 CIFF blocks exifr skips,
// png-chunks.ts every PNG metadata chunk wherever it sits, iptc.ts and maker-blocks.ts their
// contents. Which source wins for the capture time: CaptureTimeTags in exif-values.ts. HEIF/AVIF:
// heif-items.ts reads the primary item's stored size ('ispe') and rotation ('irot').
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as Exifr from 'exifr';
import {
  captureTimeFromTags,
  cleanText,
  locationFromExifGps,
  locationFromXmpGps,
  orientationFrom,
  type ExtractedLocation,
} from './exif-values.js';
import { isAsf, readAsfMetadata } from './asf.js';
import { readCameraRawLayout, type CameraRawLayout } from './camera-raw.js';
import { CFB_SIGNATURE } from './compound-file.js';
import { messageKind, readEmailMetadata } from './email-metadata.js';
import { isFlv, readFlvMetadata } from './flv.js';
import { isAmr, readAmrMetadata, readAudioMetadata } from './audio-metadata.js';
import { orientationOfRotation, readHeifPrimaryItem, type HeifPrimaryItem } from './heif-items.js';
import type { ImageHeader } from './image-header.js';
import { readIptc, type IptcReading } from './iptc.js';
import { readAviMetadata } from './riff-avi.js';
import { readJpegSegments, type JpegBlocks } from './jpeg-segments.js';
import { readCiff, readPentaxMakerNote, readPictureInfo, type MakerBlockReading } from './maker-blocks.js';
import { readMatroskaMetadata } from './matroska.js';
import { isProgramStream, readProgramStreamMetadata } from './mpeg-ps.js';
import { readMpegTsMetadata, transportLayout } from './mpeg-ts.js';
import { readMovieMetadata, type MovieMetadata } from './movie-metadata.js';
import { readOfficeMetadata } from './office-metadata.js';
import { readArchiveFiles } from './zip-archive.js';
import { isMailbox, readMailboxMessages } from './mailbox.js';
import { readOleMetadata } from './ole-metadata.js';
import { readPdfMetadata, type PdfMetadata } from './pdf-metadata.js';
import { readPngMetadata, type PngMetadata } from './png-chunks.js';
import { isRtf, readRtfMetadata } from './rtf-metadata.js';

export type { ExtractedLocation } from './exif-values.js';

// exifr ships a UMD bundle flagged __esModule whose `default` export lacks sidecar(): a default
// import gives the full API under Node but the partial one under Vite. require() is the same in both.
const exifr = createRequire(import.meta.url)('exifr') as typeof Exifr;

/** The device the file names; each part null when absent. */
export interface ExtractedDevice {
  make: string | null;
  model: string | null;
  software: string | null;
}

/** Embedded metadata of one evidence file (api.md, "The evidence resource", `extracted`). */
export interface ExtractedMetadata {
  /** UTC instant with ms when the file gives an offset, else zone-less wall-clock time. */
  capturedAt: string | null;
  /** "±HH:MM" as the file states it; null when the file gives no offset. */
  capturedAtOffset: string | null;
  location: ExtractedLocation | null;
  device: ExtractedDevice | null;
  /** EXIF orientation 1..8. */
  orientation: number | null;
  /** Pixel dimensions as stored, before applying orientation. */
  width: number | null;
  height: number | null;
  durationS: number | null;
  /** What could not be read ("QuickTime/MP4: 'moov' ..."); absent when everything read cleanly. */
  notes?: string[];
  /** PDFs and office documents (OOXML, OpenDocument, Word 97-2003 and its kin, RTF) only: what the document says about itself. */
  document?: ExtractedDocument;
}

/**
 * A PDF's or an office document's own account of itself. Its creation date is NOT `capturedAt`: it is when some program
 * wrote the file (a scan, an export, a "print to PDF" of an older text), which converters rewrite
 * freely, not when something was seen; as `capturedAt` it would override the submitter's
 * declared time and raise time_mismatch flags against it. It stays here, beside the other
 * document fields, with the same instant/offset convention as `capturedAt`.
 */
export type ExtractedDocument = Omit<PdfMetadata, 'notes'>;

type TagBlock = Record<string, unknown>;

interface TiffBlocks {
  ifd0?: TagBlock;
  exif?: TagBlock;
  gps?: TagBlock;
}

interface FileTags {
  tiff: TiffBlocks | null;
  xmpText: string | null;
  ihdr: TagBlock | null;
  /** The EXIF MakerNote as stored, and the EXIF's byte order (for maker notes that omit theirs). */
  makerNote: Uint8Array | null;
}

/** Reads an image's header through libvips (image-header.ts); a metadata thread asks its parent instead. */
export type HeaderReader = (filePath: string) => Promise<ImageHeader | null>;

// Loaded when first needed, so that a metadata thread, which is given a reader, never loads sharp:
// a terminated thread holding a native addon can take its process down (seen with SWC's).
const readImageHeaderHere: HeaderReader = async (filePath) => (await import('./image-header.js')).readImageHeader(filePath);

// Raw values only: exifr's revivers turn EXIF dates into JS Dates in the *host's* time zone
// and its translated GPSAltitudeRef is prose. Segments stay separate (mergeOutput: false)
// because merged output lets XMP's exif: namespace overwrite real EXIF tags.
const EXIFR_OPTIONS = {
  tiff: true,
  exif: true,
  gps: true,
  ifd1: false,
  interop: false,
  xmp: { parse: false },
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: true,
  // Raw bytes only (exifr does not parse maker notes); maker-blocks.ts reads the Pentax dates.
  makerNote: true,
  userComment: false,
  translateKeys: true,
  translateValues: false,
  reviveValues: false,
  sanitize: true,
  mergeOutput: false,
  silentErrors: true,
  chunked: true,
};

const XMP_OPTIONS = { translateValues: false, reviveValues: false };

// XMP is regex-parsed by exifr, in time that grows with the square of a hostile packet's length
// (1 MB of nested elements: about 30 s of the event loop); cap what we feed it, whatever the packet
// came from. Camera and phone packets are a few KiB; JPEG's APP1 holds at most 64 KiB.
const MAX_XMP_CHARS = 128 * 1024;
const MAX_DIMENSION = 2 ** 31 - 1;

const NS_EXIF = 'http://ns.adobe.com/exif/1.0/';
const NS_TIFF = 'http://ns.adobe.com/tiff/1.0/';
const NS_XMP = 'http://ns.adobe.com/xap/1.0/';
const NS_PHOTOSHOP = 'http://ns.adobe.com/photoshop/1.0/';

/** Reads capture time, position, device, orientation, dimensions and duration embedded in a file; null if it holds none. */
export async function extractEmbeddedMetadata(filePath: string, readImageHeader: HeaderReader = readImageHeaderHere): Promise<ExtractedMetadata | null> {
  // exifr reads a string containing "://" as a URL to fetch and a very long one as base64.
  if (filePath.includes('://') || filePath.length > 4096) {
    throw new TypeError(`extractEmbeddedMetadata needs a plain file-system path, got ${JSON.stringify(filePath.slice(0, 80))}`);
  }
  // A missing file is the caller's bug, not hostile content: let that error through.
  const info = await stat(filePath);
  if (!info.isFile()) throw new TypeError(`extractEmbeddedMetadata: not a regular file: ${filePath}`);

  const probe = await probeFile(filePath, info.size);
  const { container } = probe;
  // libvips' header read is the slowest source. JPEG and PNG state their size in their own frame
  // header / IHDR, read by the walkers; for them libvips is asked only when that is missing or
  // exifr failed on a block the walker saw (libvips may still read it).
  const ownHeader = container === 'jpeg' || container === 'png';
  let results: [
    FileTags,
    ImageHeader | null,
    Partial<MovieMetadata> | null,
    PdfReading | null,
    JpegBlocks | null,
    PngMetadata | null,
    HeifPrimaryItem | null,
    CameraRawLayout | null,
  ];
  try {
    results = await Promise.all([
      // PNG chunks are all read by png-chunks.ts (exifr's chunked reader misses what follows IDAT).
      container === 'png' ? NO_FILE_TAGS : readFileTags(filePath),
      ownHeader ? null : readImageHeader(filePath),
      readAudioVideo(filePath, container),
      readDocument(filePath, probe),
      container === 'jpeg' ? readJpegSegments(probe.handle, probe.size, probe.head).catch(failedJpeg) : null,
      container === 'png' ? readPngMetadata(probe.handle, probe.size).catch(failedPng) : null,
      // A few small reads; used only when the movie reader finds an image rather than a movie.
      container === 'iso-bmff' ? readHeifPrimaryItem(probe.handle, probe.size).catch(() => null) : null,
      // A camera raw's IFD0 is a thumbnail (DNG, NEF): its full-resolution image is in another IFD;
      // a CR3 keeps its EXIF in boxes of its own, a RAF in the JPEG it carries.
      container === 'tiff' || container === 'iso-bmff' || container === null ? readCameraRawLayout(probe.handle, probe.size).catch(() => null) : null,
    ]);
  } finally {
    await probe.handle.close().catch(() => undefined);
  }
  const [fileTags, , av, pdf, jpeg, png] = results;
  // readMovieMetadata gives null for a HEIF/AVIF image (a movie's own 'meta' is not one).
  const heif = av === null ? results[6] : null;
  let header = results[1];
  const own = jpeg ?? png;
  if (ownHeader) {
    const missed = jpeg !== null && ((jpeg.exifLittleEndian !== null && !fileTags.tiff) || (jpeg.hasXmp && !fileTags.xmpText));
    if (!own?.width || !own.height || missed) header = await readImageHeader(filePath);
    else header = { width: own.width, height: own.height };
  }
  const notes: string[] = [...(av?.notes ?? []), ...(pdf?.notes ?? []), ...(jpeg?.notes ?? []), ...(png?.notes ?? [])];

  // Containers exifr cannot walk (WebP through libvips' header read; PNG through the chunk
  // reader) hand over the EXIF as a buffer.
  const cameraRaw = results[7];
  let { tiff, makerNote } = fileTags;
  if (!tiff && cameraRaw?.exifBlocks) tiff = await tiffOfCr3(cameraRaw.exifBlocks);
  if (!tiff && cameraRaw?.exifTiff) ({ tiff, makerNote } = await readTiffBuffer(cameraRaw.exifTiff));
  const exifBlob = png?.exif ?? (container === 'png' ? undefined : header?.exif);
  if (!tiff && exifBlob) ({ tiff, makerNote } = await readTiffBuffer(exifBlob));
  if (!tiff && png?.exif) notes.push('EXIF (PNG): the EXIF structure holds no readable IFD');
  if (!tiff && jpeg?.exifLittleEndian != null) notes.push('EXIF (JPEG APP1): the EXIF block holds no readable IFD');
  const xmpText = fileTags.xmpText ?? png?.xmp ?? (header?.xmp ? header.xmp.toString('utf8') : null);
  const xmp = xmpText ? await parseXmp(xmpText) : null;
  if (xmpText && !xmp) notes.push(`XMP: the packet could not be parsed (or is over ${MAX_XMP_CHARS / 1024} KiB)`);
  else if (!xmpText && jpeg?.hasXmp) notes.push('XMP (JPEG APP1): the packet could not be read');

  const iptc = readIptcBlock(jpeg, png, header, container);
  const exifLittleEndian = jpeg?.exifLittleEndian ?? littleEndianTiff(exifBlob ?? (container === 'tiff' ? probe.head : undefined));
  const maker = readMakerBlocks(jpeg, makerNote, exifLittleEndian, cleanText(tiff?.ifd0?.Model));
  for (const reading of [iptc, ...maker]) if (reading) notes.push(...reading.notes);

  const ifd0 = tiff?.ifd0 ?? {};
  const exif = tiff?.exif ?? {};
  const xmpExif = xmp?.ns(NS_EXIF, 'exif') ?? {};
  const xmpTiff = xmp?.ns(NS_TIFF, 'tiff') ?? {};
  const xmpBasic = xmp?.ns(NS_XMP, 'xmp') ?? {};
  const xmpPhotoshop = xmp?.ns(NS_PHOTOSHOP, 'photoshop') ?? {};

  const captured = captureTimeFromTags({
    dateTimeOriginal: exif.DateTimeOriginal,
    subSecTimeOriginal: exif.SubSecTimeOriginal,
    offsetTimeOriginal: exif.OffsetTimeOriginal,
    createDate: exif.CreateDate,
    subSecTimeDigitized: exif.SubSecTimeDigitized,
    offsetTimeDigitized: exif.OffsetTimeDigitized,
    modifyDate: ifd0.ModifyDate,
    offsetTime: exif.OffsetTime,
    xmpDateTimeOriginal: xmpExif.DateTimeOriginal,
    xmpDateCreated: xmpPhotoshop.DateCreated,
    iptcDateCreated: iptc?.dateCreated,
    iptcTimeCreated: iptc?.timeCreated,
    // MWG: an IPTCDigest that no longer matches means the IPTC was edited after the XMP.
    iptcNewerThanXmp: iptc?.digestMatches === false,
    makerDates: maker.map((m) => m.dateTimeOriginal),
    xmpDates: [xmpBasic.CreateDate, xmpExif.DateTimeDigitized],
    iptcDigitalCreationDate: iptc?.digitalCreationDate,
    iptcDigitalCreationTime: iptc?.digitalCreationTime,
  });

  const makerDevice = maker.find((m) => m.make || m.model);
  const make = cleanText(ifd0.Make) ?? cleanText(xmpTiff.Make) ?? makerDevice?.make ?? null;
  const model = cleanText(ifd0.Model) ?? cleanText(xmpTiff.Model) ?? makerDevice?.model ?? null;
  const software = cleanText(ifd0.Software) ?? cleanText(xmpBasic.CreatorTool);

  // ExifTool sizes a CR2 by its EXIF's ExifImageWidth/Height (Exif.pm, Composite:ImageSize), other raws by their full-resolution image.
  const cr2Size = cameraRaw?.format === 'cr2' && isDimension(exif.ExifImageWidth) && isDimension(exif.ExifImageHeight) ? { width: exif.ExifImageWidth, height: exif.ExifImageHeight } : null;
  const dimensions = cr2Size ?? cameraRaw?.fullSize ?? pickDimensions(heif, header, fileTags.ihdr, exif, ifd0) ?? (av?.width && av.height ? { width: av.width, height: av.height } : null);
  const exifOrientation = orientationFrom(ifd0.Orientation);
  if (heif && !heif.mirrored && exifOrientation !== null && exifOrientation !== orientationOfRotation(heif.rotation)) {
    // The image's own transformation is what HEIF viewers (and libheif, for the previews) apply;
    // the EXIF tag only describes, and here contradicts it. `orientation` stays the EXIF value.
    const irot = heif.rotation === null ? 'none' : `${heif.rotation * 90} degrees anticlockwise`;
    notes.push(`HEIF: EXIF Orientation ${exifOrientation} differs from the image's own rotation (irot: ${irot}); HEIF viewers, and the previews, follow the image's`);
  }
  const result: ExtractedMetadata = {
    capturedAt: captured?.capturedAt ?? av?.capturedAt ?? null,
    capturedAtOffset: captured ? captured.capturedAtOffset : (av?.capturedAtOffset ?? null),
    location: locationFromExifGps(tiff?.gps) ?? locationFromXmpGps(xmpExif) ?? av?.location ?? null,
    device: make || model || software ? { make, model, software } : (av?.device ?? null),
    orientation: exifOrientation ?? orientationFrom(xmpTiff.Orientation) ?? av?.orientation ?? null,
    width: dimensions?.width ?? null,
    height: dimensions?.height ?? null,
    // A CR3's tracks are its pictures, not a recording.
    durationS: cameraRaw ? null : (av?.durationS ?? null),
  };
  if (notes.length > 0) result.notes = [...new Set(notes)].slice(0, 32);
  if (pdf && 'pages' in pdf) {
    const { notes: _notes, ...document } = pdf;
    // A failed reader (null fields, a note) is not a document description.
    if (Object.values(document).some((v) => v !== null)) result.document = document;
  }
  return Object.values(result).every((v) => v === null) ? null : result;
}

const NO_FILE_TAGS: FileTags = { tiff: null, xmpText: null, ihdr: null, makerNote: null };

type PdfReading = Awaited<ReturnType<typeof readPdfMetadata>> | { notes: string[] };

/** The IPTC block: JPEG APP13, else a PNG raw profile, else what libvips found (TIFF tag 33723). */
function readIptcBlock(jpeg: JpegBlocks | null, png: PngMetadata | null, header: ImageHeader | null, container: Container): IptcReading | null {
  try {
    if (jpeg?.photoshop) return readIptc(jpeg.photoshop, 'JPEG APP13');
    if (png?.iptc) return readIptc(png.iptc, 'PNG raw profile');
    // For JPEG and PNG the walkers above are the whole truth; libvips' copy would be the same block.
    if (container !== 'jpeg' && container !== 'png' && header?.iptc && header.iptc.length > 0) return readIptc(header.iptc, 'TIFF');
  } catch (error) {
    return { ...EMPTY_IPTC, notes: [`IPTC: reading failed: ${error instanceof Error ? error.message : String(error)}`] };
  }
  return null;
}

const EMPTY_IPTC: IptcReading = { dateCreated: null, timeCreated: null, digitalCreationDate: null, digitalCreationTime: null, digestMatches: null, notes: [] };

/** Maker blocks that may state the capture time: Canon CIFF, APP12 Picture Info, Pentax maker note. */
function readMakerBlocks(jpeg: JpegBlocks | null, makerNote: Uint8Array | null, exifLittleEndian: boolean, model: string | null): MakerBlockReading[] {
  const readings: MakerBlockReading[] = [];
  const attempt = (label: string, block: Uint8Array, read: (block: Uint8Array) => MakerBlockReading) => {
    try {
      readings.push(read(block));
    } catch (error) {
      readings.push({ dateTimeOriginal: null, make: null, model: null, notes: [`${label}: reading failed: ${error instanceof Error ? error.message : String(error)}`] });
    }
  };
  if (jpeg?.ciff) attempt('Canon CIFF', jpeg.ciff, readCiff);
  if (jpeg?.pictureInfo) attempt('APP12 Picture Info', jpeg.pictureInfo, readPictureInfo);
  // MakerNotes.pm: the Optio 330RS/430RS write Casio-format notes behind the same "AOC\0".
  const casioInDisguise = model !== null && /^PENTAX Optio ?[34]30RS$/.test(model);
  if (makerNote && makerNote.length > 0 && !casioInDisguise) attempt('Pentax maker note', makerNote, (b) => readPentaxMakerNote(b, exifLittleEndian));
  return readings;
}

/** A TIFF structure's byte order ("II" little-endian); big-endian when unknown. */
function littleEndianTiff(bytes: Uint8Array | undefined): boolean {
  return bytes !== undefined && bytes[0] === 0x49 && bytes[1] === 0x49;
}

// The walkers never throw by design; should one do so anyway, the intake goes on and says so.
function failedJpeg(error: unknown): JpegBlocks {
  return { photoshop: null, pictureInfo: null, ciff: null, exifLittleEndian: null, hasXmp: false, width: null, height: null, notes: [`JPEG: reading failed: ${errorText(error)}`] };
}

function failedPng(error: unknown): PngMetadata {
  return { width: null, height: null, exif: null, xmp: null, iptc: null, notes: [`PNG: reading failed: ${errorText(error)}`] };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Container = 'iso-bmff' | 'matroska' | 'mpeg-ts' | 'mpeg-ps' | 'avi' | 'asf' | 'flv' | 'audio' | 'amr' | 'pdf' | 'zip' | 'cfb' | 'rtf' | 'email' | 'jpeg' | 'png' | 'tiff' | null;

/** HEAD bytes read once: enough for a JPEG's EXIF/XMP/IPTC segments in the usual case. */
const HEAD_BYTES = 64 * 1024;

interface Probe {
  container: Container;
  handle: FileHandle;
  size: number;
  head: Buffer;
}

/** Opens the file and tells which container reader applies from its first bytes (one read). */
async function probeFile(filePath: string, size: number): Promise<Probe> {
  const handle = await open(filePath, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(HEAD_BYTES, size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const head = buffer.subarray(0, bytesRead);
    return { container: containerOf(head), handle, size, head };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

function containerOf(head: Buffer): Container {
  const bytes = head.subarray(0, 1024);
  if (bytes.length >= 8 && /^(ftyp|moov|mdat|wide|free|skip|pnot)$/.test(bytes.toString('latin1', 4, 8))) return 'iso-bmff';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x1a45dfa3) return 'matroska';
  if (transportLayout(head) !== null) return 'mpeg-ts';
  if (isProgramStream(bytes)) return 'mpeg-ps';
  if (isAsf(bytes)) return 'asf';
  if (isFlv(bytes)) return 'flv';
  const start = bytes.toString('latin1', 0, 8);
  if (start.startsWith('\xff\xd8\xff')) return 'jpeg';
  if (start === '\x89PNG\r\n\x1a\n') return 'png';
  // A ZIP: an office document (OOXML, OpenDocument) says what it is in parts of its own.
  if (start.startsWith('PK\x03\x04')) return 'zip';
  // A compound file: Word 97-2003, Excel, PowerPoint, or a password-protected OOXML file.
  if (bytes.subarray(0, 8).equals(CFB_SIGNATURE)) return 'cfb';
  if (isRtf(bytes)) return 'rtf';
  // An e-mail (.eml) or a web page saved as one (MHTML): a header block of RFC 5322 fields.
  if (messageKind(head, head.length < HEAD_BYTES) !== null) return 'email';
  if (start.startsWith('II*\x00') || start.startsWith('MM\x00*')) return 'tiff';
  // Ogg, an ID3v2 tag (MP3), RIFF WAVE, FLAC, or an MPEG audio frame header: 11 sync bits,
  // a version and a layer that exist, a bitrate index neither free nor bad, a sample rate that exists.
  if (start.startsWith('RIFF') && bytes.toString('latin1', 8, 12) === 'AVI ') return 'avi';
  if (/^(OggS|ID3|fLaC)/.test(start) || (start.startsWith('RIFF') && bytes.toString('latin1', 8, 12) === 'WAVE')) return 'audio';
  if (isAmr(bytes)) return 'amr';
  if (bytes.length >= 3 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0) {
    const [version, layer, bitrate, rate] = [(bytes[1]! >> 3) & 3, (bytes[1]! >> 1) & 3, bytes[2]! >> 4, (bytes[2]! >> 2) & 3];
    if (version !== 1 && layer !== 0 && bitrate !== 0 && bitrate !== 15 && rate !== 3) return 'audio';
  }
  // PDF readers accept the header anywhere in the first KiB; an image quoting it does not count.
  const pdfAt = bytes.indexOf('%PDF-');
  if (pdfAt === 0 || (pdfAt > 0 && !/^(\xff\xd8\xff|\x89PNG|GIF8|II\*\x00|MM\x00\*|RIFF|BM)/.test(bytes.toString('latin1', 0, 4)))) return 'pdf';
  return null;
}

async function readAudioVideo(filePath: string, container: Container): Promise<Partial<MovieMetadata> | null> {
  if (container === 'iso-bmff') return readMovieMetadata(filePath).catch(failedReader('QuickTime/MP4'));
  if (container === 'matroska') return readMatroskaMetadata(filePath).catch(failedReader('Matroska'));
  if (container === 'mpeg-ts') return readMpegTsMetadata(filePath).catch(failedReader('MPEG-TS'));
  if (container === 'avi') return readAviMetadata(filePath).catch(failedReader('AVI'));
  if (container === 'mpeg-ps') return readProgramStreamMetadata(filePath).catch(failedReader('MPEG-PS'));
  if (container === 'asf') return readAsfMetadata(filePath).catch(failedReader('ASF'));
  if (container === 'flv') return readFlvMetadata(filePath).catch(failedReader('FLV'));
  if (container === 'audio') return readAudioMetadata(filePath);
  if (container === 'amr') return readAmrMetadata(filePath);
  return null;
}

/** The readers never throw by design; should one do so anyway, the intake still goes on. */
/** What a document says of itself: a PDF, an OOXML or OpenDocument file (another ZIP: the files it holds), a Word 97-2003 file or its kin (compound file), an RTF file, an e-mail or a saved web page. */
function readDocument(filePath: string, { container, handle, size, head }: Probe): Promise<PdfReading | null> | null {
  if (container === 'pdf') return readPdfMetadata(filePath).catch(failedReader('PDF'));
  if (container === 'zip') {
    return readOfficeMetadata(filePath)
      .then((office) => office ?? readArchiveFiles(filePath))
      .catch(failedReader('ZIP'));
  }
  if (container === 'cfb') return readOleMetadata(handle, size).catch(failedReader('Office document'));
  if (container === 'rtf') return readRtfMetadata(handle, size).catch(failedReader('RTF'));
  if (container === 'email') return readMessageOrMailbox(head, handle, size).catch(failedReader('E-mail'));
  return null;
}

/** An e-mail or saved page; or a mailbox (isMailbox): its messages listed, none read as the file's own. */
async function readMessageOrMailbox(head: Buffer, handle: FileHandle, size: number): Promise<PdfMetadata | null> {
  if (await isMailbox(handle, size)) return readMailboxMessages(handle, size);
  return readEmailMetadata(head, head.length === size, { handle, size });
}

function failedReader(label: string): (error: unknown) => { notes: string[] } {
  return (error) => ({ notes: [`${label}: reading failed: ${error instanceof Error ? error.message : String(error)}`] });
}

/**
 * True when the metadata names no capture time, no location and no device (the
 * `no_embedded_metadata` flag). A PDF that names its author or creation date is not bare either.
 */
export function hasNoEmbeddedMetadata(meta: ExtractedMetadata | null | undefined): boolean {
  if (!meta) return true;
  if (meta.document && (meta.document.createdAt !== null || meta.document.author !== null)) return false;
  return meta.capturedAt === null && meta.location === null && meta.device === null;
}

async function readFileTags(filePath: string): Promise<FileTags> {
  // Given a path, exifr reads the file in chunks (first 512 B, then 64 KiB as needed), never whole.
  // Its parse(path) leaves the file open when the bytes are not a format it reads or their
  // structure is broken (exifr issue #111): the descriptor waited for garbage collection, which
  // Node says will become an error, and a run of such files could exhaust the process's
  // descriptors. Its class API lets the file be closed here whatever happens.
  const reader = new exifr.Exifr(EXIFR_OPTIONS);
  try {
    await reader.read(filePath);
    const output: unknown = await reader.parse();
    if (!isRecord(output)) return NO_FILE_TAGS;
    const ihdr = isRecord(output.ihdr) ? output.ihdr : null;
    // PNG tEXt chunks land in exifr's ihdr block under their keyword.
    const xmpRaw = output.xmp ?? ihdr?.['XML:com.adobe.xmp'];
    return { tiff: tiffBlocks(output), xmpText: xmpPacket(xmpRaw), ihdr, makerNote: makerNoteOf(output) };
  } catch {
    // Unknown formats (videos, PDFs, random bytes) and broken structures: nothing from exifr.
    return NO_FILE_TAGS;
  } finally {
    await (reader as { file?: { close?: () => Promise<void> | void } }).file?.close?.()?.catch(() => undefined);
  }
}

async function readTiffBuffer(exifBlob: Buffer): Promise<{ tiff: TiffBlocks | null; makerNote: Uint8Array | null }> {
  // libvips hands EXIF over as the JPEG APP1 payload, "Exif\0\0" then the TIFF structure.
  const start = exifBlob.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? 6 : 0;
  try {
    const output: unknown = await exifr.parse(exifBlob.subarray(start), EXIFR_OPTIONS);
    return isRecord(output) ? { tiff: tiffBlocks(output), makerNote: makerNoteOf(output) } : { tiff: null, makerNote: null };
  } catch {
    return { tiff: null, makerNote: null };
  }
}

/**
 * A CR3's EXIF as exifr gives other files' (its CMT blocks are TIFF structures, each holding its
 * directory as IFD0, so exifr names the EXIF and GPS tags by number: named here by its dictionaries).
 */
async function tiffOfCr3(blocks: NonNullable<CameraRawLayout['exifBlocks']>): Promise<TiffBlocks | null> {
  const directory = async (block: Buffer | undefined, dictionary: 'exif' | 'gps' | null): Promise<TagBlock | undefined> => {
    const ifd0 = block ? (await readTiffBuffer(block)).tiff?.ifd0 : undefined;
    if (!ifd0 || !dictionary) return ifd0;
    const names = exifr.tagKeys.get(dictionary);
    return Object.fromEntries(Object.entries(ifd0).map(([key, value]) => [names?.get(Number(key)) ?? key, value]));
  };
  const [ifd0, exif, gps] = await Promise.all([directory(blocks.ifd0, null), directory(blocks.exif, 'exif'), directory(blocks.gps, 'gps')]);
  const result: TiffBlocks = { ...(ifd0 && { ifd0 }), ...(exif && { exif }), ...(gps && { gps }) };
  return Object.keys(result).length > 0 ? result : null;
}

function makerNoteOf(output: Record<string, unknown>): Uint8Array | null {
  const value = output.makerNote;
  return value instanceof Uint8Array ? value : null;
}

interface ParsedXmp {
  ns(uri: string, usualPrefix: string): TagBlock | undefined;
}

async function parseXmp(text: string): Promise<ParsedXmp | null> {
  if (text.length > MAX_XMP_CHARS) return null;
  try {
    const parsed: unknown = await exifr.sidecar(Buffer.from(text, 'utf8'), XMP_OPTIONS, 'xmp');
    if (!isRecord(parsed)) return null;
    const declared = isRecord(parsed.xmlns) ? parsed.xmlns : {};
    return {
      // exifr keys namespaces by the prefix the file chose; look them up by URI first.
      ns(uri, usualPrefix) {
        const prefix = Object.keys(declared).find((p) => declared[p] === uri) ?? usualPrefix;
        const block = parsed[prefix];
        return isRecord(block) ? block : undefined;
      },
    };
  } catch {
    return null;
  }
}

function xmpPacket(raw: unknown): string | null {
  let text: string | null = null;
  if (typeof raw === 'string') text = raw;
  else if (raw instanceof Uint8Array) text = Buffer.from(raw).toString('utf8');
  if (!text) return null;
  // exifr's unparsed PNG iTXt XMP still carries the chunk header ("XML:com.adobe.xmp\0\0\0\0\0").
  const start = text.indexOf('<');
  if (start < 0) return null;
  text = text.slice(start);
  return text.length > MAX_XMP_CHARS ? null : text;
}

function tiffBlocks(output: Record<string, unknown>): TiffBlocks | null {
  const blocks: TiffBlocks = {};
  if (isRecord(output.ifd0)) blocks.ifd0 = output.ifd0;
  if (isRecord(output.exif)) blocks.exif = output.exif;
  if (isRecord(output.gps)) blocks.gps = output.gps;
  return Object.keys(blocks).length > 0 ? blocks : null;
}

function pickDimensions(
  heif: HeifPrimaryItem | null,
  header: ImageHeader | null,
  ihdr: TagBlock | null,
  exif: TagBlock,
  ifd0: TagBlock,
): { width: number; height: number } | null {
  // The codec header is the truth; EXIF's PixelX/YDimension is a claim editors often leave stale.
  // HEIF's 'ispe' comes first: libvips reports the size after 'irot' (a turned iPhone photo), the
  // contract (and ExifTool) the size as stored.
  const candidates: Array<[unknown, unknown]> = [
    [heif?.width, heif?.height],
    [header?.width, header?.height],
    [ihdr?.ImageWidth, ihdr?.ImageHeight],
    [exif.ExifImageWidth, exif.ExifImageHeight],
    [ifd0.ImageWidth, ifd0.ImageHeight],
  ];
  for (const [w, h] of candidates) {
    if (isDimension(w) && isDimension(h)) return { width: w, height: h };
  }
  return null;
}

function isDimension(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_DIMENSION;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
