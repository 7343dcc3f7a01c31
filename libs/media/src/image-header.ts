// An image's header as libvips reads it: dimensions and the raw EXIF, XMP and IPTC blocks of the
// formats our own walkers do not read. Kept apart from metadata.ts so that sharp (a native addon)
// is loaded only where this is called: the API's main thread, never a metadata thread.
import sharp from 'sharp';

export interface ImageHeader {
  width?: number;
  height?: number;
  exif?: Buffer;
  xmp?: Buffer;
  iptc?: Buffer;
}

/** The header, without decoding a pixel; null when libvips cannot read the file. */
export async function readImageHeader(filePath: string): Promise<ImageHeader | null> {
  try {
    // Header only, no pixel decode, so the pixel limit is not needed (and would hide a bomb's size).
    const meta = await sharp(filePath, { limitInputPixels: false }).metadata();
    return { width: meta.width, height: meta.height, exif: meta.exif, xmp: meta.xmp, iptc: meta.iptc };
  } catch {
    return null;
  }
}
