// ASF (.WMV, .WMA) as Windows phones, older cameras and DVRs' exports write it: the duration and
// the picture size from the header object (File Properties, Stream Properties), as ffprobe reads
// them. The File Properties' creation date is not taken for a capture time: DVR software writes
// the export's time there, not the recording's. Bounded: one read of a header of at most 1 MiB.
import { open } from 'node:fs/promises';
import type { MovieMetadata } from './movie-metadata.js';

/** A GUID as ASF stores it: the first three fields little-endian. */
function guid(text: string): Buffer {
  const b = Buffer.from(text.replace(/-/g, ''), 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}
const HEADER = guid('75B22630-668E-11CF-A6D9-00AA0062CE6C');
const FILE_PROPERTIES = guid('8CABDCA1-A947-11CF-8EE4-00C00C205365');
const STREAM_PROPERTIES = guid('B7DC0791-A9B7-11CF-8EE6-00C00C205365');
const VIDEO_MEDIA = guid('BC19EFC0-5B4D-11CF-A8FD-00805F5C442B');
const MAX_HEADER_BYTES = 1024 * 1024;
const MAX_OBJECTS = 1024;
const LABEL = 'ASF';

/** Whether bytes start as an ASF file (its Header Object's GUID). */
export const isAsf = (head: Buffer): boolean => head.length >= 16 && head.subarray(0, 16).equals(HEADER);

/** The duration and picture size of an ASF file; null when it is not ASF. */
export async function readAsfMetadata(filePath: string): Promise<Partial<MovieMetadata> | null> {
  const handle = await open(filePath, 'r');
  try {
    const size = (await handle.stat()).size;
    const top = Buffer.alloc(30);
    await handle.read(top, 0, 30, 0);
    if (!isAsf(top)) return null;
    const headerSize = Number(top.readBigUInt64LE(16));
    if (headerSize < 30 || headerSize > Math.min(size, MAX_HEADER_BYTES)) {
      return { notes: [`${LABEL}: a header object of ${headerSize} bytes in a file of ${size} is not read`] };
    }
    const header = Buffer.alloc(headerSize);
    await handle.read(header, 0, headerSize, 0);
    let durationS: number | null = null;
    let width: number | null = null;
    let height: number | null = null;
    const count = Math.min(header.readUInt32LE(24), MAX_OBJECTS);
    for (let at = 30, n = 0; at + 24 <= header.length && n < count; n++) {
      const length = Number(header.readBigUInt64LE(at + 16));
      if (length < 24 || at + length > header.length) break;
      const id = header.subarray(at, at + 16);
      const body = header.subarray(at + 24, at + length);
      if (id.equals(FILE_PROPERTIES) && body.length >= 80) {
        // Play duration (100 ns units) less the preroll (ms); both invalid in a live broadcast (flag bit 0).
        const [play, preroll, flags] = [Number(body.readBigUInt64LE(40)), Number(body.readBigUInt64LE(56)), body.readUInt32LE(64)];
        if (!(flags & 1) && play > 0) durationS = Math.max(0, Math.round(play / 1e4 - preroll)) / 1000;
      } else if (id.equals(STREAM_PROPERTIES) && body.length >= 62 && body.subarray(0, 16).equals(VIDEO_MEDIA) && width === null) {
        // The first video stream's type-specific data: encoded width and height.
        const [w, h] = [body.readUInt32LE(54), body.readUInt32LE(58)];
        if (w > 0 && h > 0 && w <= 65535 && h <= 65535) [width, height] = [w, h];
      }
      at += length;
    }
    return { width, height, durationS, notes: [] };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
