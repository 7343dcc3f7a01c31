// Thumbnail, preview and perceptual hash from one decode of an image or of a video's poster
// frame (style.md, habit 7). sharp decodes what its prebuilt libvips can; HEVC HEIF and video
// frames are decoded by WebAssembly decoders in a time- and memory-limited sandbox (sandbox.ts)
// and their raw pixels go through the same sharp fan-out (converted to sRGB from the HEIF's own
// ICC profile first: the sandbox's decoder hands pixels over without it).
import { open } from 'node:fs/promises';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { MAX_RAW_PREVIEW_BYTES, readCameraRawLayout, type EmbeddedJpeg } from './camera-raw.js';
import { UndecodableMediaError, type UndecodableReason } from './errors.js';
import { MAX_ICC_BYTES, readHeifPrimaryItemOfFile } from './heif-items.js';
import { HASH_INPUT_SIDE, perceptualHashFromGreyscale } from './perceptual-hash.js';
import { decodeInSandbox, DEFAULT_DECODE_LIMITS, type DecodeLimits, type DecodedPixels } from './sandbox.js';
import { sniffMediaType } from './sniff.js';

/** Longest side of the thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 320;
/** Longest side of the preview, in pixels. */
export const PREVIEW_SIZE = 1600;

/** Limits for one derivative job. */
export interface DerivativeOptions {
  /** Largest width x height accepted before decoding: the decompression-bomb guard. */
  maxInputPixels: number;
  /** Time and memory of a sandboxed decode (HEVC HEIF, video frames); DEFAULT_DECODE_LIMITS if absent. */
  decodeLimits?: DecodeLimits;
  /**
   * The file's media type as intake sniffed it (in a thread with a time limit); sniffed here, on
   * this event loop, only when absent (tools and tests).
   */
  mediaType?: string;
}

/** Most pixels of a picture decoded whole in the WebAssembly sandbox (see createDerivatives). */
const SANDBOX_MAX_PIXELS = 100_000_000;

/**
 * Containers whose first video stream gives the poster frame (as sniffed by file-type);
 * `video/mp2t` is MPEG-TS, 188-byte packets (dashcams, broadcast) or AVCHD's 192 (camcorders' .MTS);
 * `video/vnd.avi` is AVI (compact cameras' Motion JPEG, dashcams' H.264, DV camcorders, Xvid and DivX);
 * `video/MP2P`, `video/MP1S` and `video/mpeg` are MPEG program streams (DVD camcorders' .VOB and .MOD, .MPG);
 * `video/x-ms-asf` is ASF (.WMV: Windows phones, DVRs' exports); `video/x-flv` is Flash video.
 */
const VIDEO_TYPES = new Set([
  'video/mp4', 'video/quicktime', 'video/3gpp', 'video/3gpp2', 'video/x-m4v', 'video/matroska', 'video/webm', 'video/mp2t', 'video/vnd.avi',
  'video/MP2P', 'video/MP1S', 'video/mpeg', 'video/x-ms-asf', 'video/x-flv',
]);

/**
 * Images by their sniffed media type: what sharp's libvips decodes, HEVC HEIF in the sandbox, and
 * camera raw files (DNG, Canon CR2 and CR3, Nikon NEF, Sony ARW, Panasonic RW2, Fujifilm RAF, Olympus ORF) by the JPEG they carry.
 */
const IMAGE_TYPES = new Set([
  'image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/heic', 'image/heif', 'image/avif', 'image/jp2', 'image/jxl',
  'image/x-adobe-dng', 'image/x-canon-cr2', 'image/x-canon-cr3', 'image/x-nikon-nef', 'image/x-sony-arw', 'image/x-panasonic-rw2', 'image/x-fujifilm-raf',
  'image/x-olympus-orf',
]);

/** Whether an item of this sniffed media type gets a thumbnail, preview and perceptual hash (a video from its poster frame); other files are stored opaque. */
export function makesPicture(mediaType: string): boolean {
  return IMAGE_TYPES.has(mediaType) || VIDEO_TYPES.has(mediaType);
}

/** Derived images (JPEG, sRGB, upright, no metadata of any kind) and the picture's fingerprint. */
export interface MediaDerivatives {
  thumbnail: Buffer;
  preview: Buffer;
  /** 64-bit DCT pHash as 16 hex digits, compare with hammingDistance; null for a picture with no detail to hash (a flat frame). */
  perceptualHash: string | null;
  /** Dimensions of the original once upright (after EXIF orientation, HEIF irot/imir or a video's display matrix). */
  width: number;
  height: number;
}

/** Settings for sharp/libvips, which are process-wide. */
export interface SharpSettings {
  /** libvips threads per image. */
  concurrency?: number;
}

let sharpConfigured = false;

/** Sets sharp's process-wide concurrency (default 1) and turns its operation cache off. */
export function configureSharp(settings: SharpSettings = {}): void {
  // One libvips thread per image: the worker runs several jobs at once, so parallelism comes
  // from jobs and memory per job stays predictable. No cache: each evidence file is decoded
  // once, and libvips' cache would only hold pixels and open files of hostile inputs.
  sharp.concurrency(settings.concurrency ?? 1);
  sharp.cache(false);
  sharpConfigured = true;
}

// Decoders worth their attack surface for evidence. SVG (librsvg may pull in local files),
// libvips' native .v, FITS, PPM and friends are refused before any pixel is decoded.
const DECODABLE_FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'heif', 'jp2k', 'jxl']);

/** Decodes an image or a video's poster frame once and fans out thumbnail, preview and perceptual hash; throws UndecodableMediaError. */
export async function createDerivatives(filePath: string, opts: DerivativeOptions): Promise<MediaDerivatives> {
  if (!Number.isSafeInteger(opts.maxInputPixels) || opts.maxInputPixels < 1) {
    throw new RangeError(`maxInputPixels must be a positive integer, got ${opts.maxInputPixels}`);
  }
  if (!sharpConfigured) configureSharp();

  const image = sharp(filePath, { failOn: 'error', limitInputPixels: opts.maxInputPixels });
  // The sandbox's decoders (HEVC HEIF, video frames) hold a whole picture in WebAssembly memory
  // (1 GiB at most), where libvips shrinks a JPEG on load: they take no more than 100 MP.
  const sandboxPixels = Math.min(opts.maxInputPixels, SANDBOX_MAX_PIXELS);
  let header: Metadata;
  try {
    // Header only; with limitInputPixels set this already refuses a bomb by its declared size.
    header = await image.metadata();
  } catch (error) {
    // Not an image libvips reads: a camera raw whose IFD0 it cannot read (an ARW's or NEF's
    // JPEG-only IFD0) gets its JPEG's picture, a video its poster frame.
    const raw = await fromCameraRaw(filePath, opts.maxInputPixels, null);
    if (raw) return raw;
    if (VIDEO_TYPES.has(opts.mediaType ?? (await sniffMediaType(filePath)))) {
      return fanOut(await decodeInSandbox('video', filePath, sandboxPixels, opts.decodeLimits ?? DEFAULT_DECODE_LIMITS));
    }
    throw undecodable(error);
  }
  if (!header.format || !DECODABLE_FORMATS.has(header.format)) {
    throw new UndecodableMediaError('unsupported_format', `not an image format we decode: ${header.format ?? 'unknown'}`);
  }
  // sharp's prebuilt libvips decodes AV1 (AVIF) but has no HEVC decoder (most phones' HEIC):
  // those go to libheif's own decoders in the sandbox, after the same check of the declared size.
  if (header.format === 'heif' && header.compression !== 'av1') {
    const declared = (header.width ?? 0) * (header.height ?? 0);
    if (declared > sandboxPixels) {
      throw new UndecodableMediaError('too_many_pixels', `HEIF declares ${header.width}x${header.height}, more than ${sandboxPixels} pixels`);
    }
    // An iPhone's HEIC is Display P3: its profile sits in the primary item's 'colr' property.
    const [pixels, item] = await Promise.all([
      decodeInSandbox('heif', filePath, sandboxPixels, opts.decodeLimits ?? DEFAULT_DECODE_LIMITS),
      readHeifPrimaryItemOfFile(filePath),
    ]);
    return fanOut(pixels, item?.icc ?? null);
  }

  if (header.format === 'tiff') {
    const raw = await fromCameraRaw(filePath, opts.maxInputPixels, image);
    if (raw) return raw;
  }
  const decoded = await decodeUpright(image.rotate());
  const upright = header.autoOrient ?? { width: header.width, height: header.height };
  return { ...(await derive(decoded)), width: upright.width, height: upright.height };
}

/**
 * The one decode: upright (`image` turned already), alpha on white, sRGB 8-bit, already at
 * preview size so JPEG shrink-on-load keeps memory low. Every output starts from these pixels,
 * which carry no EXIF, XMP, IPTC, ICC profile or comments.
 */
async function decodeUpright(image: Sharp): Promise<{ data: Buffer; info: OutputInfo }> {
  try {
    return await image
      .flatten({ background: '#ffffff' })
      .resize({ width: PREVIEW_SIZE, height: PREVIEW_SIZE, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw undecodable(error);
  }
}

/** EXIF orientations 2-8 as sharp's operations (a mirror always before the turn, as sharp applies them). */
function turned(image: Sharp, orientation: number | null): Sharp {
  if (orientation === 2 || orientation === 4) return orientation === 2 ? image.flop() : image.flip();
  if (orientation === 5 || orientation === 7) return image.flop().rotate(orientation === 5 ? 270 : 90);
  if (orientation === 3 || orientation === 6 || orientation === 8) return image.rotate({ 3: 180, 6: 90, 8: 270 }[orientation]);
  return image;
}

/**
 * A camera raw file's picture (camera-raw.ts): the smallest JPEG it carries that is at least the
 * preview's size (else its largest), turned as IFD0 says unless the JPEG has an orientation of its
 * own; with no JPEG, IFD0 as libvips reads it (`ifd0`; null when it cannot). The sizes reported
 * are the full-resolution image's. Null when the TIFF is not a camera raw.
 */
async function fromCameraRaw(filePath: string, maxInputPixels: number, ifd0: Sharp | null): Promise<MediaDerivatives | null> {
  const handle = await open(filePath, 'r');
  let jpeg: Buffer | null = null;
  let chosen: EmbeddedJpeg | undefined;
  let layout: Awaited<ReturnType<typeof readCameraRawLayout>>;
  try {
    layout = await readCameraRawLayout(handle, (await handle.stat()).size);
    if (!layout) return null;
    chosen = layout.jpegs.find((j) => Math.max(j.width, j.height) >= PREVIEW_SIZE) ?? layout.jpegs.at(-1);
    if (!chosen && !ifd0) throw new UndecodableMediaError('unsupported_format', 'a camera raw file that carries no JPEG picture: its raw sensor data is not decoded');
    if (chosen && chosen.width * chosen.height > maxInputPixels) {
      throw new UndecodableMediaError('too_many_pixels', `the camera raw's JPEG declares ${chosen.width}x${chosen.height}, more than ${maxInputPixels} pixels`);
    }
    if (chosen && chosen.length > MAX_RAW_PREVIEW_BYTES) {
      throw new UndecodableMediaError('unsupported_format', `the camera raw's JPEG is ${chosen.length} bytes, more than the ${MAX_RAW_PREVIEW_BYTES} read`);
    }
    if (chosen) {
      jpeg = Buffer.alloc(chosen.length);
      await handle.read(jpeg, 0, chosen.length, chosen.offset);
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
  // IFD0's orientation tag is libvips' own to apply; an embedded JPEG's, where it has one, too.
  let upright: Sharp;
  let orientation = layout.orientation;
  if (!jpeg) upright = ifd0!.rotate();
  else {
    const image = sharp(jpeg, { failOn: 'error', limitInputPixels: maxInputPixels });
    let own: number | undefined;
    try {
      own = (await image.metadata()).orientation;
    } catch (error) {
      throw undecodable(error);
    }
    orientation = own ?? orientation;
    upright = own ? image.rotate() : turned(image, orientation);
  }
  const decoded = await decodeUpright(upright);
  // Without a full-resolution size (a RAF or RW2 that does not give it), the JPEG's own is the nearest to it.
  const size = layout.fullSize ?? (chosen ? { width: chosen.width, height: chosen.height } : { width: decoded.info.width, height: decoded.info.height });
  const sideways = orientation !== null && orientation >= 5 && orientation <= 8;
  return { ...(await derive(decoded)), width: sideways ? size.height : size.width, height: sideways ? size.width : size.height };
}

/**
 * Pixels from the sandbox (upright already, no metadata attached) through the same fan-out.
 * `icc`: the colour profile the pixels are in (a HEIF's 'colr'); without one they are sRGB.
 */
async function fanOut(pixels: DecodedPixels, icc: Buffer | null = null): Promise<MediaDerivatives> {
  let decoded: { data: Buffer; info: OutputInfo };
  if (icc) {
    const converted = await toSrgbFromProfile(pixels, icc);
    if (converted) return { ...(await derive(converted)), width: pixels.declaredWidth, height: pixels.declaredHeight };
  }
  try {
    // Already decoded within maxInputPixels by the sandbox: sharp's own default limit must not
    // refuse what the configured limit allows.
    decoded = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels }, limitInputPixels: false })
      .flatten({ background: '#ffffff' })
      .resize({ width: PREVIEW_SIZE, height: PREVIEW_SIZE, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw undecodable(error);
  }
  return { ...(await derive(decoded)), width: pixels.declaredWidth, height: pixels.declaredHeight };
}

/**
 * Raw pixels in the colour space of `icc`, as preview-sized sRGB: sharp takes no input profile
 * for raw pixels, so they go (already shrunk, alpha on white) through an uncompressed PNG that
 * carries the profile in an iCCP chunk, which sharp decodes and converts to sRGB. Null when the
 * profile is unusable (too large, refused by lcms): the caller then treats the pixels as sRGB,
 * as it always did.
 */
async function toSrgbFromProfile(pixels: DecodedPixels, icc: Buffer): Promise<{ data: Buffer; info: OutputInfo } | null> {
  if (icc.length === 0 || icc.length > MAX_ICC_BYTES) return null;
  let png: Buffer;
  try {
    png = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels }, limitInputPixels: false })
      .flatten({ background: '#ffffff' })
      .resize({ width: PREVIEW_SIZE, height: PREVIEW_SIZE, fit: 'inside', withoutEnlargement: true })
      .png({ compressionLevel: 0, adaptiveFiltering: false })
      .toBuffer();
  } catch (error) {
    throw undecodable(error);
  }
  try {
    // A profile libpng or lcms cannot use either fails here (failOn 'warning') or is ignored by
    // libvips: either way the pixels are taken as sRGB, as before.
    return await sharp(withIccChunk(png, icc), { failOn: 'warning', limitInputPixels: false })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch {
    return null;
  }
}

/** A PNG with an iCCP chunk (profile name "icc", deflated profile) inserted right after IHDR. */
function withIccChunk(png: Buffer, icc: Buffer): Buffer {
  const afterIhdr = 8 + 8 + 13 + 4; // signature, then IHDR: length, type, 13 bytes, CRC
  const typeAndData = Buffer.concat([Buffer.from('iCCP', 'latin1'), Buffer.from('icc\0\0', 'latin1'), deflateSync(icc)]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(typeAndData.length - 4);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([png.subarray(0, afterIhdr), length, typeAndData, crc, png.subarray(afterIhdr)]);
}

/** Preview, thumbnail and hash from the decoded, preview-sized pixels. */
async function derive({ data, info }: { data: Buffer; info: OutputInfo }): Promise<Omit<MediaDerivatives, 'width' | 'height'>> {
  const pixels = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const [preview, thumbnail, hashInput] = await Promise.all([
    pixels().jpeg({ quality: 82 }).toBuffer(),
    pixels()
      .resize({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer(),
    pixels()
      .greyscale()
      .resize({ width: HASH_INPUT_SIDE, height: HASH_INPUT_SIDE, fit: 'fill' })
      .raw()
      .toBuffer(),
  ]);
  return { thumbnail, preview, perceptualHash: perceptualHashFromGreyscale(hashInput) };
}

function undecodable(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  // A missing or unreadable file is an I/O problem for the caller, not a property of the media.
  if (/Input file is missing|EACCES|permission denied/i.test(message)) return error as Error;
  return new UndecodableMediaError(classify(message), verdictLine(message), { cause: error });
}

function classify(message: string): UndecodableReason {
  if (/exceeds pixel limit/i.test(message)) return 'too_many_pixels';
  if (/unsupported image format|has not been built in|unsupported (codec|feature|compression)/i.test(message)) {
    return 'unsupported_format';
  }
  return 'corrupt';
}

function verdictLine(message: string): string {
  const lines = message.split('\n').filter((l) => l.trim() !== '');
  // libvips prefixes per-read noise ("bad seek to 1126"); the last line is the decoder's verdict.
  return (lines.at(-1) ?? 'undecodable image').slice(0, 300);
}
