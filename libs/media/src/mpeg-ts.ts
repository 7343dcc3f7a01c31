// MPEG transport streams as camcorders and dashcams write them: AVCHD's .MTS (192-byte packets)
// and .TS/.M2T (188). What ExifTool reads from them, the same way (M2TS.pm, H264.pm):
// - the duration: the last Program Clock Reference less the first (27 MHz);
// - the picture size: the H.264 or H.265 sequence parameter set (with its cropping), or an MPEG-1
//   or MPEG-2 sequence header (HDV camcorders, broadcast recordings); ExifTool reads all but H.265's;
// - the capture time and maker: AVCHD's "MDPM" block (Modified DV Pack Meta) in an H.264 SEI
//   message of unregistered user data, UUID 17ee8c60-f84d-11d9-8cd6-0800200c9a66: tags 0x18 and
//   0x19 the recording date and time in BCD with the zone the camcorder was set to, 0xb1-0xba the
//   GPS position of camcorders that have a receiver, 0xe0 the maker, 0xe4-0xe6 a Sony's model name.
// Two reads (up to 2 MiB at the start, 1 MiB at the end); everything else is in memory and bounded.
// A failure gives nulls and a note, never an exception.
import { open } from 'node:fs/promises';
import { captureTimeFromTags, cleanText, locationFromExifGps, type ExtractedLocation } from './exif-values.js';
import type { MovieMetadata } from './movie-metadata.js';
import { sequenceOf } from './mpeg-ps.js';

const LABEL = 'MPEG-TS';
const HEAD_BYTES = 2 * 1024 * 1024;
const TAIL_BYTES = 1024 * 1024;
/** Video elementary stream bytes looked at for the SPS and the MDPM (AVCHD puts both in the first picture). */
const MAX_ES_BYTES = 1024 * 1024;
const SYNC = 0x47;
/** The video stream types whose picture size is read (ISO/IEC 13818-1 Table 2-34). */
const VIDEO_CODECS: Record<number, 'mpeg' | 'h264' | 'hevc'> = { 0x01: 'mpeg', 0x02: 'mpeg', 0x1b: 'h264', 0x24: 'hevc' };
const MDPM_UUID = Buffer.from('17ee8c60f84d11d98cd60800200c9a66', 'hex');
/** H264.pm's %convMake: the maker codes of MDPM tag 0xe0. */
const MAKERS: Record<number, string> = { 0x0103: 'Panasonic', 0x0108: 'Sony', 0x1011: 'Canon', 0x1104: 'JVC' };

interface Packet {
  pid: number;
  start: boolean;
  /** The 42-bit PCR in 27 MHz ticks, when the adaptation field carries one. */
  pcr: number | null;
  payload: Buffer;
}

/** The packet size (188, or 192 with a 4-byte timestamp first) and where the first packet starts; null when not a transport stream. */
export function transportLayout(head: Buffer): { stride: number; offset: number } | null {
  for (const layout of [{ stride: 188, offset: 0 }, { stride: 192, offset: 4 }]) {
    const packets = Math.min(5, Math.floor((head.length - layout.offset) / layout.stride));
    let synced = packets >= 2;
    for (let k = 0; k < packets && synced; k++) synced = head[layout.offset + k * layout.stride] === SYNC;
    if (synced) return layout;
  }
  return null;
}

/** The packets of `bytes` from `offset`, one every `stride` bytes, until a sync byte is missing. */
function* packetsOf(bytes: Buffer, stride: number, offset: number): Generator<Packet> {
  for (let at = offset; at + 188 <= bytes.length; at += stride) {
    if (bytes[at] !== SYNC) return;
    const pid = ((bytes[at + 1]! & 0x1f) << 8) | bytes[at + 2]!;
    const start = (bytes[at + 1]! & 0x40) !== 0;
    const control = (bytes[at + 3]! >> 4) & 3;
    let body = at + 4;
    let pcr: number | null = null;
    if (control & 2) {
      const length = bytes[body]!;
      if (length >= 7 && bytes[body + 1]! & 0x10) {
        const base = bytes.readUInt32BE(body + 2) * 2 + (bytes[body + 6]! >> 7);
        const extension = ((bytes[body + 6]! & 1) << 8) | bytes[body + 7]!;
        pcr = base * 300 + extension;
      }
      body += 1 + length;
    }
    yield { pid, start, pcr, payload: control & 1 && body < at + 188 ? bytes.subarray(body, at + 188) : Buffer.alloc(0) };
  }
}

/** The section a PSI packet starts (after its pointer field), or null. */
function sectionOf(packet: Packet): Buffer | null {
  if (!packet.start || packet.payload.length < 1) return null;
  const section = packet.payload.subarray(1 + packet.payload[0]!);
  if (section.length < 3) return null;
  const length = ((section[1]! & 0x0f) << 8) | section[2]!;
  return section.subarray(0, Math.min(section.length, 3 + length));
}

/** The PIDs of the programs' map tables, from the program association table (program 0 is the network's). */
function programMaps(section: Buffer): number[] {
  const pids: number[] = [];
  for (let at = 8; at + 4 <= section.length - 4; at += 4) {
    if (section.readUInt16BE(at) !== 0) pids.push(section.readUInt16BE(at + 2) & 0x1fff);
  }
  return pids;
}

/** Each elementary stream's type and PID, from a program map table. */
function streamsOf(section: Buffer): { type: number; pid: number }[] {
  const streams: { type: number; pid: number }[] = [];
  if (section.length < 12) return streams;
  let at = 12 + (section.readUInt16BE(10) & 0x0fff);
  while (at + 5 <= section.length - 4) {
    streams.push({ type: section[at]!, pid: section.readUInt16BE(at + 1) & 0x1fff });
    at += 5 + (section.readUInt16BE(at + 3) & 0x0fff);
  }
  return streams;
}

/** A NAL unit's payload without its emulation prevention bytes (00 00 03). */
export function rbsp(nal: Buffer): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let n = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

/** The NAL units of an Annex B byte stream (after each 00 00 01), their header byte first. */
function* nalUnits(stream: Buffer): Generator<Buffer> {
  let start = stream.indexOf(Buffer.from([0, 0, 1]));
  while (start >= 0) {
    const next = stream.indexOf(Buffer.from([0, 0, 1]), start + 3);
    let end = next < 0 ? stream.length : next;
    while (end > start + 3 && stream[end - 1] === 0) end--; // a 4-byte start code's leading zero
    yield stream.subarray(start + 3, end);
    start = next;
  }
}

class Bits {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}
  bit(): number {
    if (this.at >= this.bytes.length * 8) throw new Error('the sequence parameter set ends early');
    const value = (this.bytes[this.at >> 3]! >> (7 - (this.at & 7))) & 1;
    this.at++;
    return value;
  }
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }
  /** Exp-Golomb, unsigned (ue(v)); at most 31 leading zeros. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new Error('an Exp-Golomb code is too long');
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** The picture size an H.264 sequence parameter set gives (rbsp after the NAL header), cropping applied (H.264 7.3.2.1.1). */
export function spsPictureSize(sps: Buffer): { width: number; height: number } {
  const b = new Bits(sps);
  const profile = b.bits(8);
  b.bits(16); // constraint flags, level_idc
  b.ue(); // seq_parameter_set_id
  let chromaFormat = 1;
  let separateColourPlanes = 0;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    chromaFormat = b.ue();
    if (chromaFormat === 3) separateColourPlanes = b.bit();
    b.ue(); // bit_depth_luma_minus8
    b.ue(); // bit_depth_chroma_minus8
    b.bit(); // qpprime_y_zero_transform_bypass_flag
    if (b.bit()) {
      // seq_scaling_matrix_present_flag: each list's delta_scale values, skipped.
      for (let list = 0; list < (chromaFormat === 3 ? 12 : 8); list++) {
        if (!b.bit()) continue;
        let last = 8;
        let next = 8;
        for (let j = 0; j < (list < 6 ? 16 : 64) && next !== 0; j++) {
          next = (last + b.se() + 256) % 256;
          last = next === 0 ? last : next;
        }
      }
    }
  }
  b.ue(); // log2_max_frame_num_minus4
  const pocType = b.ue();
  if (pocType === 0) b.ue();
  else if (pocType === 1) {
    b.bit();
    b.se();
    b.se();
    const cycle = b.ue();
    if (cycle > 255) throw new Error('the sequence parameter set is not believable');
    for (let i = 0; i < cycle; i++) b.se();
  }
  b.ue(); // max_num_ref_frames
  b.bit(); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = b.ue() + 1;
  const heightInMapUnits = b.ue() + 1;
  const frameMbsOnly = b.bit();
  if (!frameMbsOnly) b.bit(); // mb_adaptive_frame_field_flag
  b.bit(); // direct_8x8_inference_flag
  let width = widthInMbs * 16;
  let height = (2 - frameMbsOnly) * heightInMapUnits * 16;
  if (b.bit()) {
    // frame_cropping_flag: offsets in chroma samples (Table 6-1).
    const monochrome = chromaFormat === 0 || separateColourPlanes === 1;
    const cropX = monochrome ? 1 : chromaFormat === 3 ? 1 : 2;
    const cropY = (monochrome ? 1 : chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
    width -= cropX * (b.ue() + b.ue());
    height -= cropY * (b.ue() + b.ue());
  }
  return believableSize(width, height);
}

function believableSize(width: number, height: number): { width: number; height: number } {
  if (width < 1 || height < 1 || width > 16384 || height > 16384) throw new Error(`the sequence parameter set gives ${width}x${height}`);
  return { width, height };
}

/** The picture size an H.265 sequence parameter set gives (rbsp after the 2-byte NAL header), its conformance window applied (H.265 7.3.2.2). */
export function hevcSpsPictureSize(sps: Buffer): { width: number; height: number } {
  const b = new Bits(sps);
  b.bits(4); // sps_video_parameter_set_id
  const subLayers = b.bits(3); // sps_max_sub_layers_minus1
  b.bit(); // sps_temporal_id_nesting_flag
  // profile_tier_level(1, subLayers): the general profile and level (96 bits), then each sub-layer's.
  b.bits(32);
  b.bits(32);
  b.bits(32);
  const present = Array.from({ length: subLayers }, () => [b.bit(), b.bit()] as const);
  if (subLayers > 0) for (let i = subLayers; i < 8; i++) b.bits(2); // reserved_zero_2bits
  for (const [profile, level] of present) {
    if (profile) for (let i = 0; i < 11; i++) b.bits(8); // 88 bits
    if (level) b.bits(8);
  }
  b.ue(); // sps_seq_parameter_set_id
  const chromaFormat = b.ue();
  const separateColourPlanes = chromaFormat === 3 ? b.bit() : 0;
  let width = b.ue();
  let height = b.ue();
  if (b.bit()) {
    // conformance_window_flag: offsets in chroma samples (Table 6-1).
    const single = chromaFormat === 0 || separateColourPlanes === 1;
    const unitX = single || chromaFormat === 3 ? 1 : 2;
    const unitY = single || chromaFormat !== 1 ? 1 : 2;
    width -= unitX * (b.ue() + b.ue());
    height -= unitY * (b.ue() + b.ue());
  }
  return believableSize(width, height);
}

/** The MDPM entries of an SEI message (rbsp after the NAL header), tag to its 4 bytes; null when it carries none. */
export function mdpmEntries(sei: Buffer): Map<number, Buffer> | null {
  let at = 0;
  while (at < sei.length) {
    let type = 0;
    let size = 0;
    for (let byte = 255; byte === 255 && at < sei.length; type += byte) byte = sei[at++]!;
    for (let byte = 255; byte === 255 && at < sei.length; size += byte) byte = sei[at++]!;
    if (at + size > sei.length) return null;
    const payload = sei.subarray(at, at + size);
    at += size;
    if (type !== 5 || size < 21 || !payload.subarray(0, 16).equals(MDPM_UUID) || payload.toString('latin1', 16, 20) !== 'MDPM') continue;
    const entries = new Map<number, Buffer>();
    const count = payload[20]!;
    for (let i = 0, p = 21; i < count && p + 5 <= payload.length; i++, p += 5) entries.set(payload[p]!, payload.subarray(p + 1, p + 5));
    return entries;
  }
  return null;
}

const bcd = (byte: number): string | null => ((byte >> 4) < 10 && (byte & 15) < 10 ? byte.toString(16).padStart(2, '0') : null);

/** MDPM tags 0x18 (zone, year, month) and 0x19 (day, hour, minute, second): EXIF's date form and the zone, or null. */
export function mdpmDateTime(entries: Map<number, Buffer>): { dateTime: string; offset: string } | null {
  const first = entries.get(0x18);
  const second = entries.get(0x19);
  if (!first || !second) return null;
  const digits = [...first.subarray(1), ...second].map(bcd);
  if (digits.some((d) => d === null)) return null;
  const [century, year, month, day, hour, minute, secondOfMinute] = digits as string[];
  const zone = first[0]!;
  const offset = `${zone & 0x20 ? '-' : '+'}${String((zone >> 1) & 0x0f).padStart(2, '0')}:${zone & 1 ? '30' : '00'}`;
  return { dateTime: `${century}${year}:${month}:${day} ${hour}:${minute}:${secondOfMinute}`, offset };
}

/**
 * MDPM's GPS entries as EXIF's (H264.pm): 0xb1/0xb5 the hemispheres ('N', 'E' in the first byte),
 * 0xb2-0xb4 and 0xb6-0xb8 degrees, minutes and seconds, 0xb9 below sea level when not 0, 0xba the
 * altitude; each number a big-endian int16u fraction. Null when any part is missing or nonsense.
 */
export function mdpmLocation(entries: Map<number, Buffer>): ExtractedLocation | null {
  const fraction = (tag: number): number | undefined => {
    const value = entries.get(tag);
    return value && value.readUInt16BE(2) !== 0 ? value.readUInt16BE(0) / value.readUInt16BE(2) : undefined;
  };
  const dms = (first: number): number[] | undefined => {
    const parts = [fraction(first), fraction(first + 1), fraction(first + 2)];
    return parts.every((p) => p !== undefined) ? (parts as number[]) : undefined;
  };
  const ref = (tag: number): string | undefined => entries.get(tag)?.toString('latin1', 0, 1);
  return locationFromExifGps({
    GPSLatitudeRef: ref(0xb1),
    GPSLatitude: dms(0xb2),
    GPSLongitudeRef: ref(0xb5),
    GPSLongitude: dms(0xb6),
    GPSAltitudeRef: entries.has(0xb9) ? Number(entries.get(0xb9)!.readUInt32BE(0) !== 0) : undefined,
    GPSAltitude: fraction(0xba),
  });
}

/** Reads a transport stream's duration, picture size and AVCHD metadata; null when the file is not one. */
export async function readMpegTsMetadata(filePath: string): Promise<Partial<MovieMetadata> | null> {
  const handle = await open(filePath, 'r');
  try {
    const size = (await handle.stat()).size;
    const read = async (position: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    };
    const head = await read(0, Math.min(size, HEAD_BYTES));
    const layout = transportLayout(head);
    if (!layout) return null;
    const notes: string[] = [];
    let firstPcr: number | null = null;
    let lastPcr: number | null = null;
    const maps = new Set<number>();
    let video: number | null = null;
    let codec: (typeof VIDEO_CODECS)[number] | null = null;
    let otherVideo: number | null = null;
    const pieces: Buffer[] = [];
    let pieceBytes = 0;
    for (const packet of packetsOf(head, layout.stride, layout.offset)) {
      if (packet.pcr !== null) {
        firstPcr ??= packet.pcr;
        lastPcr = packet.pcr;
      }
      if (packet.pid === 0 && maps.size === 0) {
        const section = sectionOf(packet);
        if (section?.[0] === 0x00) for (const pid of programMaps(section)) maps.add(pid);
      } else if (maps.has(packet.pid) && video === null) {
        const section = sectionOf(packet);
        if (section?.[0] === 0x02) {
          const streams = streamsOf(section);
          const read = streams.find((s) => VIDEO_CODECS[s.type] !== undefined);
          video = read?.pid ?? null;
          codec = read ? VIDEO_CODECS[read.type]! : null;
          otherVideo = streams.find((s) => s.type === 0x10 || s.type === 0xea)?.type ?? null;
        }
      } else if (packet.pid === video && pieceBytes < MAX_ES_BYTES) {
        let payload = packet.payload;
        // A PES header (00 00 01, stream id, length, flags, its own length) before the stream's bytes.
        if (packet.start && payload.length >= 9 && payload[0] === 0 && payload[1] === 0 && payload[2] === 1) payload = payload.subarray(9 + payload[8]!);
        pieces.push(payload);
        pieceBytes += payload.length;
      }
    }
    const stream = Buffer.concat(pieces);
    const result: Partial<MovieMetadata> = { notes };
    let mdpm: Map<number, Buffer> | null = null;
    const hevc = codec === 'hevc';
    if (codec === 'mpeg') {
      const sequence = sequenceOf(stream);
      if (sequence) Object.assign(result, { width: sequence.width, height: sequence.height });
    } else {
      // H.264's SPS (NAL type 7) and SEI (6) after a 1-byte header; H.265's SPS (33) after a 2-byte
      // one (none at all when no video stream was found: `stream` is empty).
      for (const nal of nalUnits(stream)) {
        const type = hevc ? (nal[0]! >> 1) & 0x3f : nal[0]! & 0x1f;
        const sps = type === (hevc ? 33 : 7);
        try {
          if (sps && result.width === undefined) Object.assign(result, hevc ? hevcSpsPictureSize(rbsp(nal.subarray(2))) : spsPictureSize(rbsp(nal.subarray(1))));
          if (!hevc && type === 6 && mdpm === null) mdpm = mdpmEntries(rbsp(nal.subarray(1)));
        } catch (error) {
          notes.push(`${LABEL}: ${hevc ? 'H.265' : 'H.264'} ${sps ? 'sequence parameter set' : 'SEI'}: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (result.width !== undefined && (hevc || mdpm !== null)) break;
      }
    }
    if (video === null && otherVideo !== null) notes.push(`${LABEL}: the picture size is read from H.264, H.265 and MPEG-1/2 video only (stream type 0x${otherVideo.toString(16)})`);

    if (mdpm) {
      const when = mdpmDateTime(mdpm);
      const captured = when && captureTimeFromTags({ dateTimeOriginal: when.dateTime, offsetTimeOriginal: when.offset });
      if (captured) Object.assign(result, captured);
      const location = mdpmLocation(mdpm);
      if (location) result.location = location;
      const maker = mdpm.get(0xe0);
      const make = maker ? (MAKERS[maker.readUInt16BE(0)] ?? null) : null;
      // Sony's model name: text over 0xe4-0xe6 (H264.pm, which reads it for Sony only).
      const modelParts = [0xe4, 0xe5, 0xe6].map((tag) => mdpm!.get(tag)).filter((part): part is Buffer => part !== undefined);
      const model = make === 'Sony' && mdpm.has(0xe4) ? cleanText(Buffer.concat(modelParts).toString('latin1').replace(/\0.*$/s, '')) : null;
      if (make) result.device = { make, model, software: null };
    }

    // The last PCR: in the last MiB, as ExifTool scans back for it.
    if (size > head.length) {
      const tailStart = Math.max(head.length, size - TAIL_BYTES);
      const tail = await read(tailStart, size - tailStart);
      const skip = (layout.stride - ((tailStart - layout.offset) % layout.stride)) % layout.stride;
      for (const packet of packetsOf(tail, layout.stride, skip)) if (packet.pcr !== null) lastPcr = packet.pcr;
    }
    if (firstPcr !== null && lastPcr !== null) {
      // The 33-bit base wraps after 26.5 hours.
      const ticks = lastPcr >= firstPcr ? lastPcr - firstPcr : lastPcr + 2 ** 33 * 300 - firstPcr;
      if (ticks > 0) result.durationS = Math.round((ticks / 27_000_000) * 1000) / 1000;
    }
    return result;
  } catch (error) {
    return { notes: [`${LABEL}: reading failed: ${error instanceof Error ? error.message : String(error)}`] };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
