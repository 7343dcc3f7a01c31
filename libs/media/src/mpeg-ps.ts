// MPEG program streams as DVD camcorders (.VOB, .MOD), capture cards and older cameras (.MPG)
// write them (ISO/IEC 13818-1 and 11172-1): the picture size from the video's sequence header,
// the duration from its presentation time stamps: the latest one near the end less the earliest
// near the start, plus one frame, which is the length a player shows (ffprobe estimates it the
// same way, from fewer packets). Neither container has a capture time or a place; ExifTool reads
// none either. Two reads (1 MiB at the start, 1 MiB at the end); a failure gives nulls and a note.
import { open } from 'node:fs/promises';
import type { MovieMetadata } from './movie-metadata.js';

const LABEL = 'MPEG-PS';
const HEAD_BYTES = 1024 * 1024;
const TAIL_BYTES = 1024 * 1024;
const PACK = 0xba;
const SEQUENCE_HEADER = 0xb3;
const PICTURE = 0x00;
const GROUP_OF_PICTURES = 0xb8;
const START = Buffer.from([0, 0, 1]);
/** Time after the last stamped frame that unstamped frames may add. */
const MAX_UNSTAMPED_S = 2;
const EXTENSION = 0xb5;
/** Video bytes of the first video stream searched for its sequence header. */
const MAX_SEQUENCE_SEARCH = 64 * 1024;
/** Time stamps count 90 kHz ticks in 33 bits. */
const CLOCK = 90_000;
const WRAP = 2 ** 33;
/** Longer than any recording; a span beyond it means joined recordings whose clocks restart. */
const MAX_DURATION_S = 12 * 3600;
/** MPEG-1/2 frame_rate_code 1-8 (code 0 and 9-15 are forbidden or reserved). */
const FRAME_RATES = [0, 24000 / 1001, 24, 25, 30000 / 1001, 30, 50, 60000 / 1001, 60];

/** `ticks` moved by a whole turn of the clock where it lies more than half a turn from `near`. */
const unwrapped = (ticks: number, near: number) => (ticks - near > WRAP / 2 ? ticks - WRAP : near - ticks > WRAP / 2 ? ticks + WRAP : ticks);

/** Whether bytes start with a pack header of MPEG-2 ('01' after the start code) or MPEG-1 ('0010'). */
export function isProgramStream(head: Buffer): boolean {
  return head.length >= 12 && head.readUInt32BE(0) === 0x100 + PACK && ((head[4]! & 0xc0) === 0x40 || (head[4]! & 0xf0) === 0x20);
}

interface Packet {
  streamId: number;
  /** Presentation time stamp in 90 kHz ticks, when the packet has one. */
  pts: number | null;
  payload: Buffer;
}

/** A 33-bit time stamp in five bytes with its marker bits, or null when the markers are wrong. */
function timeStamp(bytes: Buffer, at: number): number | null {
  if (at + 5 > bytes.length) return null;
  const [b0, b1, b2, b3, b4] = [bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!, bytes[at + 4]!];
  if (!(b0 & 1) || !(b2 & 1) || !(b4 & 1)) return null;
  return ((b0 >> 1) & 7) * 2 ** 30 + ((b1 << 7) | (b2 >> 1)) * 2 ** 15 + ((b3 << 7) | (b4 >> 1));
}

/** A PES packet's time stamp and payload, whether its header is MPEG-2's or MPEG-1's. */
function pesBody(packet: Buffer): { pts: number | null; payload: Buffer } {
  if (packet.length > 0 && (packet[0]! & 0xc0) === 0x80) {
    if (packet.length < 3) return { pts: null, payload: Buffer.alloc(0) };
    const pts = packet[1]! & 0x80 ? timeStamp(packet, 3) : null;
    return { pts, payload: packet.subarray(Math.min(packet.length, 3 + packet[2]!)) };
  }
  let at = 0;
  while (at < packet.length && at < 16 && packet[at] === 0xff) at++;
  if (at < packet.length && (packet[at]! & 0xc0) === 0x40) at += 2;
  const flags = at < packet.length ? packet[at]! & 0xf0 : 0;
  if (flags === 0x20) return { pts: timeStamp(packet, at), payload: packet.subarray(at + 5) };
  if (flags === 0x30) return { pts: timeStamp(packet, at), payload: packet.subarray(at + 10) };
  return { pts: null, payload: packet.subarray(Math.min(packet.length, at + 1)) };
}

/**
 * The PES packets of `bytes`, walking pack headers and packets by their lengths; where the walk
 * loses its footing (the cut start of the tail, damage) it resumes at the next pack header.
 */
function* packetsOf(bytes: Buffer): Generator<Packet> {
  const packStart = Buffer.from([0, 0, 1, PACK]);
  let at = bytes.indexOf(packStart);
  while (at >= 0 && at + 4 <= bytes.length) {
    const code = bytes.readUInt32BE(at);
    let next = -1;
    if (code === 0x100 + PACK && at + 14 <= bytes.length) {
      next = (bytes[at + 4]! & 0xc0) === 0x40 ? at + 14 + (bytes[at + 13]! & 7) : at + 12;
    } else if (code >= 0x1bb && code <= 0x1ff && at + 6 <= bytes.length) {
      const end = at + 6 + bytes.readUInt16BE(at + 4);
      if (end <= bytes.length && code >= 0x1bd) yield { streamId: code & 0xff, ...pesBody(bytes.subarray(at + 6, end)) };
      next = end;
    }
    at = next > at ? next : bytes.indexOf(packStart, at + 1);
  }
}

/** Width, height and frames per second from a sequence header (and MPEG-2's sequence extension). */
export function sequenceOf(video: Buffer): { width: number; height: number; frameRate: number } | null {
  const at = video.indexOf(Buffer.from([0, 0, 1, SEQUENCE_HEADER]));
  if (at < 0 || at + 8 > video.length) return null;
  let width = (video[at + 4]! << 4) | (video[at + 5]! >> 4);
  let height = ((video[at + 5]! & 0x0f) << 8) | video[at + 6]!;
  let frameRate = FRAME_RATES[video[at + 7]! & 0x0f] ?? 0;
  const ext = video.indexOf(Buffer.from([0, 0, 1, EXTENSION]), at + 12);
  if (ext >= 0 && ext + 10 <= video.length && video[ext + 4]! >> 4 === 1) {
    width |= (((video[ext + 5]! & 1) << 1) | (video[ext + 6]! >> 7)) << 12;
    height |= ((video[ext + 6]! >> 5) & 3) << 12;
    frameRate *= (((video[ext + 9]! >> 5) & 3) + 1) / ((video[ext + 9]! & 0x1f) + 1);
  }
  return width > 0 && height > 0 ? { width, height, frameRate } : null;
}

/**
 * When the last frame of `video` among `packets` is shown, in 90 kHz ticks. A muxer stamps only
 * the first picture that starts in a packet, so the last pictures may carry no time stamp: they
 * are placed by their temporal reference (their rank in display order within their group of
 * pictures, whose groups follow one another), counted from the last stamped picture.
 */
function lastShown(packets: Iterable<Packet>, video: number, period: number): number | null {
  const marks: { offset: number; pts: number }[] = [];
  const pieces: Buffer[] = [];
  let offset = 0;
  let stamped: number | null = null;
  for (const packet of packets) {
    if (packet.streamId !== video) continue;
    if (packet.pts !== null) {
      const pts = marks.length === 0 ? packet.pts : unwrapped(packet.pts, marks[0]!.pts);
      marks.push({ offset, pts });
      stamped = stamped === null ? pts : Math.max(stamped, pts);
    }
    pieces.push(packet.payload);
    offset += packet.payload.length;
  }
  if (stamped === null || period <= 0) return stamped;
  const es = Buffer.concat(pieces);
  // `base`: when temporal reference 0 of the current group is shown; `groupFrames`: how many of its frames were seen.
  let base: number | null = null;
  let groupFrames = 0;
  let shown = stamped;
  let mark = 0;
  for (let at = es.indexOf(START); at >= 0 && at + 6 <= es.length; at = es.indexOf(START, at + 3)) {
    const code = es[at + 3]!;
    if (code === GROUP_OF_PICTURES) {
      if (base !== null) base += groupFrames * period;
      groupFrames = 0;
    } else if (code === PICTURE) {
      const rank = (es[at + 4]! << 2) | (es[at + 5]! >> 6);
      // The stamp of a packet belongs to the first picture starting in it.
      let pts: number | null = null;
      while (mark < marks.length && marks[mark]!.offset <= at) pts = marks[mark++]!.pts;
      if (pts !== null) base = pts - rank * period;
      if (base === null) continue;
      groupFrames = Math.max(groupFrames, rank + 1);
      shown = Math.max(shown, base + rank * period);
    }
  }
  // Trusted only near the stamps: damaged or odd temporal references must not stretch a recording.
  return shown - stamped <= MAX_UNSTAMPED_S * CLOCK ? shown : stamped;
}

/** The picture size and duration of an MPEG program stream; null when it is not one. */
export async function readProgramStreamMetadata(filePath: string): Promise<Partial<MovieMetadata> | null> {
  const handle = await open(filePath, 'r');
  try {
    const size = (await handle.stat()).size;
    const read = async (position: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    };
    const head = await read(0, Math.min(size, HEAD_BYTES));
    if (!isProgramStream(head)) return null;
    // Walked once, looked at twice: for the start and, when the file is all head, for the end.
    const headPackets = [...packetsOf(head)];
    let video: number | null = null;
    let first: number | null = null;
    const videoBytes: Buffer[] = [];
    let searched = 0;
    for (const packet of headPackets) {
      if (video === null && packet.streamId >= 0xe0 && packet.streamId <= 0xef) video = packet.streamId;
      if (packet.streamId !== video) continue;
      if (packet.pts !== null) first = first === null ? packet.pts : Math.min(first, unwrapped(packet.pts, first));
      if (searched < MAX_SEQUENCE_SEARCH) {
        videoBytes.push(packet.payload);
        searched += packet.payload.length;
      }
    }
    if (video === null) return { notes: [`${LABEL}: no video stream in the first ${head.length} bytes`] };
    const sequence = sequenceOf(Buffer.concat(videoBytes));
    const notes = sequence ? [] : [`${LABEL}: no sequence header in the video's first ${searched} bytes`];
    const period = sequence?.frameRate ? CLOCK / sequence.frameRate : 0;
    // The last frame shown: near the end, after the head. Where the tail has no time stamp of the
    // video, the head's last frame counts only if the tail follows the head directly.
    let last = lastShown(headPackets, video, period);
    if (size > head.length) {
      const tailStart = Math.max(head.length, size - TAIL_BYTES);
      last = lastShown(packetsOf(await read(tailStart, size - tailStart)), video, period) ?? (tailStart === head.length ? last : null);
      if (last === null) notes.push(`${LABEL}: no time stamp of the video in the last ${size - tailStart} bytes; no duration`);
    }
    let durationS: number | null = null;
    if (first !== null && last !== null) {
      // The 33-bit clock wraps after 26.5 hours; a stream may start just before.
      const ticks = (((last - first) % WRAP) + WRAP) % WRAP;
      const seconds = (ticks + period) / CLOCK;
      if (seconds <= MAX_DURATION_S) durationS = Math.round(seconds * 1000) / 1000;
      else notes.push(`${LABEL}: the time stamps jump (recordings joined?); no duration`);
    }
    return { width: sequence?.width ?? null, height: sequence?.height ?? null, durationS, notes };
  } catch (error) {
    return { notes: [`${LABEL}: reading failed: ${error instanceof Error ? error.message : String(error)}`] };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
