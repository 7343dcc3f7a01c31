// Reads a video's duration from the ISO base media / QuickTime movie header ('moov' > 'mvhd').
// exifr does not read MP4/MOV; this walks box headers with positioned reads, so a multi-GiB
// video costs a few small reads whether 'moov' sits before or after the media data.
import { open, type FileHandle } from 'node:fs/promises';

// Boxes a movie file can start with; anything else is not ISO-BMFF/QuickTime.
const FIRST_BOXES = new Set(['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);
const MAX_BOXES = 10_000;

interface BoxHeader {
  type: string;
  start: number;
  headerSize: number;
  end: number;
}

/** Duration in seconds from an MP4/MOV movie header; null when the file is not one or says nothing. */
export async function readMovieDurationS(filePath: string): Promise<number | null> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(filePath, 'r');
    const { size } = await handle.stat();
    const first = await readBoxHeader(handle, 0, size);
    if (!first || !FIRST_BOXES.has(first.type)) return null;
    const moov = await findBox(handle, 0, size, 'moov');
    if (!moov) return null;
    const mvhd = await findBox(handle, moov.start + moov.headerSize, moov.end, 'mvhd');
    if (!mvhd) return null;
    return await readMvhdDuration(handle, mvhd);
  } catch {
    // Hostile or truncated input: no duration rather than a failed intake.
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function findBox(handle: FileHandle, from: number, to: number, type: string): Promise<BoxHeader | null> {
  let offset = from;
  for (let i = 0; i < MAX_BOXES && offset + 8 <= to; i++) {
    const box = await readBoxHeader(handle, offset, to);
    if (!box) return null;
    if (box.type === type) return box;
    offset = box.end;
  }
  return null;
}

async function readBoxHeader(handle: FileHandle, offset: number, limit: number): Promise<BoxHeader | null> {
  const head = Buffer.alloc(16);
  const { bytesRead } = await handle.read(head, 0, 16, offset);
  if (bytesRead < 8) return null;
  const size32 = head.readUInt32BE(0);
  const type = head.toString('latin1', 4, 8);
  let headerSize = 8;
  let size: number;
  if (size32 === 1) {
    if (bytesRead < 16) return null;
    const large = head.readBigUInt64BE(8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    size = Number(large);
    headerSize = 16;
  } else if (size32 === 0) {
    size = limit - offset; // "extends to the end of the enclosing box/file"
  } else {
    size = size32;
  }
  if (size < headerSize) return null;
  // A truncated upload still has a readable 'mvhd' (it comes first in 'moov'): clamp, do not reject.
  return { type, start: offset, headerSize, end: Math.min(offset + size, limit) };
}

async function readMvhdDuration(handle: FileHandle, mvhd: BoxHeader): Promise<number | null> {
  const body = Buffer.alloc(32);
  const bodyStart = mvhd.start + mvhd.headerSize;
  const { bytesRead } = await handle.read(body, 0, Math.min(32, mvhd.end - bodyStart), bodyStart);
  const version = body[0];
  let timescale: number;
  let duration: number;
  if (version === 0 && bytesRead >= 20) {
    timescale = body.readUInt32BE(12);
    const raw = body.readUInt32BE(16);
    if (raw === 0xffffffff) return null; // "duration unknown"
    duration = raw;
  } else if (version === 1 && bytesRead >= 32) {
    timescale = body.readUInt32BE(20);
    const raw = body.readBigUInt64BE(24);
    if (raw === 0xffffffffffffffffn || raw > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    duration = Number(raw);
  } else {
    return null;
  }
  if (timescale === 0 || duration === 0) return null;
  return Math.round((duration / timescale) * 1000) / 1000;
}
