// The JPEG segments exifr does not give us, found by walking the markers before the image data:
// APP13 (Photoshop resources holding IPTC), APP12 "Picture Info" (old Olympus, Agfa, Polaroid
// cameras' text block with the capture time) and APP0 CIFF (old Canon PowerShots' Canon Raw
// heap instead of EXIF). It also notes which APP1 blocks exist, so a block exifr could not read
// is reported, and the frame header's size, so libvips' slower header read is not needed. Segment headers come through one 64 KiB window; only the wanted payloads are
// read. Nothing here throws for any content.
import type { FileHandle } from 'node:fs/promises';
import { PHOTOSHOP_HEADERS } from './iptc.js';
import { ReadWindow } from './read-window.js';

export interface JpegBlocks {
  /** The Photoshop resources of every "Photoshop 3.0" APP13, joined (the header removed). */
  photoshop: Buffer | null;
  /** APP12 "[picture info]" text. */
  pictureInfo: Buffer | null;
  /** APP0 CIFF: a Canon Raw heap ("II"/"MM", header length, "HEAPJPGM", records). */
  ciff: Buffer | null;
  /** The byte order of the APP1 EXIF block (true: "II"); null when there is none. */
  exifLittleEndian: boolean | null;
  /** An APP1 XMP packet is present (whether or not it reads). */
  hasXmp: boolean;
  /** The frame header's (SOFn) size: the codec's own; null when there is none before the scan. */
  width: number | null;
  height: number | null;
  notes: string[];
}

const LABEL = 'JPEG';
const MAX_SEGMENTS = 1024;
const XMP_ID = 'http://ns.adobe.com/xap/1.0/\0';
/** Start-of-frame markers (not DHT 0xC4, JPG 0xC8, DAC 0xCC). */
const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Walks the segments of the JPEG open at `handle` up to the start of scan. */
export async function readJpegSegments(handle: FileHandle, size: number, head?: Buffer): Promise<JpegBlocks> {
  const found: JpegBlocks = { photoshop: null, pictureInfo: null, ciff: null, exifLittleEndian: null, hasXmp: false, width: null, height: null, notes: [] };
  const note = (text: string) => {
    const line = `${LABEL}: ${text}`;
    if (found.notes.length < 16 && !found.notes.includes(line)) found.notes.push(line);
  };
  const window = new ReadWindow(handle, size, 64 * 1024, head);
  const photoshop: Buffer[] = [];
  try {
    const soi = await window.read(0, 3);
    if (soi.length < 3 || soi[0] !== 0xff || soi[1] !== 0xd8 || soi[2] !== 0xff) return found;
    let pos = 2;
    for (let count = 0; ; count++) {
      if (count >= MAX_SEGMENTS) {
        note(`more than ${MAX_SEGMENTS} segments before the image data; the rest was not read`);
        break;
      }
      const header = await window.read(pos, 4);
      if (header.length < 2) {
        note(`the file ends at byte ${pos}, before the image data (truncated?)`);
        break;
      }
      if (header[0] !== 0xff) {
        note(`no segment marker at byte ${pos}; the rest of the header was not read`);
        break;
      }
      const marker = header[1];
      if (marker === 0xff) {
        pos += 1; // fill byte
        continue;
      }
      if (marker === 0xda || marker === 0xd9) break; // start of scan / end of image
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        pos += 2;
        continue;
      }
      if (header.length < 4) {
        note(`the file ends inside a segment header at byte ${pos} (truncated?)`);
        break;
      }
      const length = header.readUInt16BE(2);
      const name = `0xFF${marker.toString(16).toUpperCase()}`;
      if (length < 2) {
        note(`segment ${name} at byte ${pos} has an impossible length (${length}); the rest of the header was not read`);
        break;
      }
      const start = pos + 4;
      const payloadLength = length - 2;
      if (start + payloadLength > size) {
        note(`segment ${name} at byte ${pos} claims ${payloadLength} bytes, past the end of the file; not read`);
        break;
      }
      if (SOF_MARKERS.has(marker) && found.width === null && payloadLength >= 5) {
        const frame = await window.read(start, 5);
        if (frame.length === 5 && frame.readUInt16BE(1) > 0 && frame.readUInt16BE(3) > 0) {
          found.height = frame.readUInt16BE(1);
          found.width = frame.readUInt16BE(3);
        }
      } else if (marker === 0xe1) {
        const id = (await window.read(start, XMP_ID.length)).toString('latin1');
        if (id.startsWith('Exif\0') && found.exifLittleEndian === null) found.exifLittleEndian = id.slice(6, 8) === 'II';
        else if (id === XMP_ID) found.hasXmp = true;
      } else if (marker === 0xed || marker === 0xec || marker === 0xe0) {
        const payload = Buffer.from(await window.read(start, payloadLength));
        if (marker === 0xed) {
          const id = PHOTOSHOP_HEADERS.find((h) => payload.toString('latin1', 0, h.length) === h);
          if (id) photoshop.push(payload.subarray(id.length));
        } else if (marker === 0xec) {
          // JPEG.pm: APP12 "Picture Info" when it holds "[picture info]" or "Type=".
          if (!found.pictureInfo && /\[picture info\]|Type=/.test(payload.toString('latin1'))) found.pictureInfo = payload;
        } else if (!found.ciff && /^(II|MM)[\s\S]{4}HEAPJPGM/.test(payload.toString('latin1', 0, 14))) {
          found.ciff = payload;
        }
      }
      pos = start + payloadLength;
    }
  } catch (error) {
    note(`reading stopped: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (photoshop.length > 0) found.photoshop = photoshop.length === 1 ? photoshop[0] : Buffer.concat(photoshop);
  return found;
}
