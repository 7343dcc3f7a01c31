// What a file says about itself (EXIF, XMP, PNG header, movie header), as api.md's `extracted`.
// Every reader here treats the file as hostile: a failure in one source yields nulls, not errors.
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as Exifr from 'exifr';
import sharp from 'sharp';
import {
  captureTimeFromTags,
  cleanText,
  locationFromExifGps,
  locationFromXmpGps,
  orientationFrom,
  type ExtractedLocation,
} from './exif-values.js';
import { readMovieDurationS } from './iso-bmff.js';

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
}

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
}

interface ImageHeader {
  width?: number;
  height?: number;
  exif?: Buffer;
  xmp?: Buffer;
}

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
  makerNote: false,
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

// XMP is regex-parsed by exifr; cap what we feed it. Real packets are a few KiB.
const MAX_XMP_CHARS = 1_000_000;
const MAX_DIMENSION = 2 ** 31 - 1;

const NS_EXIF = 'http://ns.adobe.com/exif/1.0/';
const NS_TIFF = 'http://ns.adobe.com/tiff/1.0/';
const NS_XMP = 'http://ns.adobe.com/xap/1.0/';
const NS_PHOTOSHOP = 'http://ns.adobe.com/photoshop/1.0/';

/** Reads capture time, position, device, orientation, dimensions and duration embedded in a file; null if it holds none. */
export async function extractEmbeddedMetadata(filePath: string): Promise<ExtractedMetadata | null> {
  // exifr reads a string containing "://" as a URL to fetch and a very long one as base64.
  if (filePath.includes('://') || filePath.length > 4096) {
    throw new TypeError(`extractEmbeddedMetadata needs a plain file-system path, got ${JSON.stringify(filePath.slice(0, 80))}`);
  }
  // A missing file is the caller's bug, not hostile content: let that error through.
  const info = await stat(filePath);
  if (!info.isFile()) throw new TypeError(`extractEmbeddedMetadata: not a regular file: ${filePath}`);

  const [fileTags, header, durationS] = await Promise.all([
    readFileTags(filePath),
    readImageHeader(filePath),
    readMovieDurationS(filePath),
  ]);

  // Containers exifr cannot walk (WebP) still reach EXIF/XMP through libvips' header read.
  let tiff = fileTags.tiff;
  if (!tiff && header?.exif) tiff = await readTiffBuffer(header.exif);
  const xmpText = fileTags.xmpText ?? (header?.xmp ? header.xmp.toString('utf8') : null);
  const xmp = xmpText ? await parseXmp(xmpText) : null;

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
    xmpDates: [
      xmpExif.DateTimeOriginal,
      xmpPhotoshop.DateCreated,
      xmpBasic.CreateDate,
      xmpExif.DateTimeDigitized,
    ],
  });

  const make = cleanText(ifd0.Make) ?? cleanText(xmpTiff.Make);
  const model = cleanText(ifd0.Model) ?? cleanText(xmpTiff.Model);
  const software = cleanText(ifd0.Software) ?? cleanText(xmpBasic.CreatorTool);

  const dimensions = pickDimensions(header, fileTags.ihdr, exif, ifd0);
  const result: ExtractedMetadata = {
    capturedAt: captured?.capturedAt ?? null,
    capturedAtOffset: captured?.capturedAtOffset ?? null,
    location: locationFromExifGps(tiff?.gps) ?? locationFromXmpGps(xmpExif),
    device: make || model || software ? { make, model, software } : null,
    orientation: orientationFrom(ifd0.Orientation) ?? orientationFrom(xmpTiff.Orientation),
    width: dimensions?.width ?? null,
    height: dimensions?.height ?? null,
    durationS,
  };
  return Object.values(result).every((v) => v === null) ? null : result;
}

/** True when the metadata names no capture time, no location and no device (the `no_embedded_metadata` flag). */
export function hasNoEmbeddedMetadata(meta: ExtractedMetadata | null | undefined): boolean {
  return !meta || (meta.capturedAt === null && meta.location === null && meta.device === null);
}

async function readFileTags(filePath: string): Promise<FileTags> {
  const none: FileTags = { tiff: null, xmpText: null, ihdr: null };
  try {
    // Given a path, exifr reads the file in chunks (first 512 B, then 64 KiB as needed), never whole.
    const output: unknown = await exifr.parse(filePath, EXIFR_OPTIONS);
    if (!isRecord(output)) return none;
    const ihdr = isRecord(output.ihdr) ? output.ihdr : null;
    // PNG tEXt chunks land in exifr's ihdr block under their keyword.
    const xmpRaw = output.xmp ?? ihdr?.['XML:com.adobe.xmp'];
    return { tiff: tiffBlocks(output), xmpText: xmpPacket(xmpRaw), ihdr };
  } catch {
    // Unknown formats (videos, PDFs, random bytes) and broken structures: nothing from exifr.
    return none;
  }
}

async function readTiffBuffer(exifBlob: Buffer): Promise<TiffBlocks | null> {
  // libvips hands EXIF over as the JPEG APP1 payload, "Exif\0\0" then the TIFF structure.
  const start = exifBlob.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? 6 : 0;
  try {
    const output: unknown = await exifr.parse(exifBlob.subarray(start), EXIFR_OPTIONS);
    return isRecord(output) ? tiffBlocks(output) : null;
  } catch {
    return null;
  }
}

async function readImageHeader(filePath: string): Promise<ImageHeader | null> {
  try {
    // Header only, no pixel decode, so the pixel limit is not needed (and would hide a bomb's size).
    const meta = await sharp(filePath, { limitInputPixels: false }).metadata();
    return { width: meta.width, height: meta.height, exif: meta.exif, xmp: meta.xmp };
  } catch {
    return null;
  }
}

interface ParsedXmp {
  ns(uri: string, usualPrefix: string): TagBlock | undefined;
}

async function parseXmp(text: string): Promise<ParsedXmp | null> {
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
  header: ImageHeader | null,
  ihdr: TagBlock | null,
  exif: TagBlock,
  ifd0: TagBlock,
): { width: number; height: number } | null {
  // The codec header is the truth; EXIF's PixelX/YDimension is a claim editors often leave stale.
  const candidates: Array<[unknown, unknown]> = [
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
