import { afterAll, describe, expect, it } from 'vitest';
import { readProgramStreamMetadata } from './mpeg-ps.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

// Program streams built as ISO/IEC 13818-1 (MPEG-2) and 11172-1 (MPEG-1) lay them out: pack
// headers, video PES packets with or without a presentation time stamp, and in them the video's
// sequence header, group-of-pictures headers and picture headers with their temporal reference.
const CLOCK = 90_000;
const start = (code: number) => Buffer.from([0, 0, 1, code]);

/** A 33-bit time stamp in five bytes: 4-bit prefix, 3 + 15 + 15 bits, each followed by a marker bit. */
function stamp(prefix: number, ticks: number): Buffer {
  const high = Math.floor(ticks / 2 ** 30) & 7;
  const [mid, low] = [Math.floor(ticks / 2 ** 15) & 0x7fff, ticks & 0x7fff];
  return Buffer.from([(prefix << 4) | (high << 1) | 1, mid >> 7, ((mid & 0x7f) << 1) | 1, low >> 7, ((low & 0x7f) << 1) | 1]);
}

function pack(mpeg1: boolean): Buffer {
  return mpeg1
    ? Buffer.concat([start(0xba), Buffer.from([0x21, 0, 1, 0, 1, 0x80, 0, 1])])
    : Buffer.concat([start(0xba), Buffer.from([0x44, 0, 4, 0, 4, 1, 0x01, 0x89, 0xc3, 0xf8])]);
}

function pes(streamId: number, payload: Buffer, pts: number | null, mpeg1: boolean): Buffer {
  let header: Buffer;
  if (mpeg1) header = pts === null ? Buffer.from([0xff, 0x0f]) : Buffer.concat([Buffer.from([0xff, 0x40, 0x20]), stamp(2, pts)]);
  else header = pts === null ? Buffer.from([0x80, 0, 0]) : Buffer.concat([Buffer.from([0x80, 0x80, 5]), stamp(2, pts)]);
  const body = Buffer.concat([header, payload]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length);
  return Buffer.concat([start(streamId), length, body]);
}

/** Sequence header: 12-bit width and height, aspect 1:1, frame rate code, then bit rate and the rest. */
function sequenceHeader(width: number, height: number, rateCode: number): Buffer {
  return Buffer.concat([start(0xb3), Buffer.from([width >> 4, ((width & 0xf) << 4) | (height >> 8), height & 0xff, 0x10 | rateCode, 0xff, 0xff, 0xe0, 0x18])]);
}

/** MPEG-2 sequence extension carrying the size's two high bits and the frame rate's n and d. */
function sequenceExtension(widthHigh: number, heightHigh: number, n: number, d: number): Buffer {
  return Buffer.concat([start(0xb5), Buffer.from([0x14, 0x8a | (widthHigh >> 1), ((widthHigh & 1) << 7) | (heightHigh << 5), 0x01, 0, (n << 5) | d])]);
}

const group = () => Buffer.concat([start(0xb8), Buffer.from([0, 8, 0, 0])]);
/** A picture header: 10-bit temporal reference, 3-bit coding type, then a few bytes of "picture". */
const picture = (rank: number, type: 1 | 2 | 3) => Buffer.concat([start(0x00), Buffer.from([rank >> 2, ((rank & 3) << 6) | (type << 3), 0xff, 0xf8]), Buffer.alloc(40, 0x55)]);

interface Frame {
  rank: number;
  type: 1 | 2 | 3;
  /** The time stamp of the packet this picture starts, or none. */
  pts: number | null;
  newGroup?: boolean;
}

/** One pack and one PES packet per picture, in decode order; the first also carries the sequence header. */
function programStream(frames: Frame[], { mpeg1 = false, sequence = sequenceHeader(720, 576, 3), padding = 0 } = {}): Buffer {
  const parts: Buffer[] = [];
  frames.forEach((frame, k) => {
    const payload = Buffer.concat([k === 0 ? sequence : Buffer.alloc(0), frame.newGroup || k === 0 ? group() : Buffer.alloc(0), picture(frame.rank, frame.type)]);
    parts.push(pack(mpeg1), pes(0xe0, payload, frame.pts, mpeg1));
    // An audio packet between pictures, stamped too: not the video's clock.
    parts.push(pack(mpeg1), pes(0xc0, Buffer.alloc(30, 0xaa), 999 * CLOCK, mpeg1));
    if (k === 0 && padding > 0) {
      for (let left = padding; left > 0; left -= 2048) parts.push(pack(mpeg1), pes(0xbe, Buffer.alloc(Math.min(2000, left), 0xff), null, mpeg1));
    }
  });
  parts.push(Buffer.from([0, 0, 1, 0xb9]));
  return Buffer.concat(parts);
}

/** `count` groups of `size` (3k + 1) frames, I B B P B B P ... in decode order (I0 P3 B1 B2 P6 B4 B5 ...), `fps`, shown from `t0`. */
function gops(count: number, size: number, t0: number, stampEvery: (decodeIndex: number) => boolean, fps = 25): Frame[] {
  const period = CLOCK / fps;
  const frames: Frame[] = [];
  let shown = t0;
  for (let g = 0; g < count; g++) {
    // Display order ranks 0..size-1; decode order puts each anchor (I or P) before the two B before it.
    const order: { rank: number; type: 1 | 2 | 3 }[] = [{ rank: 0, type: 1 }];
    for (let anchor = 3; anchor < size; anchor += 3) order.push({ rank: anchor, type: 2 }, { rank: anchor - 2, type: 3 }, { rank: anchor - 1, type: 3 });
    for (const [k, frame] of order.entries()) {
      frames.push({ ...frame, newGroup: k === 0, pts: stampEvery(frames.length) ? shown + frame.rank * period : null });
    }
    shown += size * period;
  }
  return frames;
}

describe('MPEG program streams (.VOB, .MOD, .MPG): picture size and duration', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it('reads the fixtures as ffprobe does: 320x240, two frames at 30 fps (0.0667 s)', async () => {
    for (const name of ['camcorder-mpeg2.vob', 'clip-mpeg1.mpg']) {
      expect(await readProgramStreamMetadata(fixture(name)), name).toEqual({ width: 320, height: 240, durationS: 0.067, notes: [] });
    }
  });

  it('counts the last frames by their temporal reference where the muxer stamped only some pictures', async () => {
    // Four groups of 10 frames at 25 fps: 40 frames, 1.6 s; only every fifth picture stamped, so the
    // last stamp (decode index 35, display rank 4 of the last group) is five frames before the end.
    const frames = gops(4, 10, 0.5 * CLOCK, (k) => k % 5 === 0);
    for (const mpeg1 of [false, true]) {
      const file = scratch.write(`stamped-some-${mpeg1}.mpg`, programStream(frames, { mpeg1 }));
      expect(await readProgramStreamMetadata(file)).toEqual({ width: 720, height: 576, durationS: 1.6, notes: [] });
    }
    // Every picture stamped gives the same figure (the largest stamp alone would have given 1.4 above).
    const all = scratch.write('stamped-all.mpg', programStream(gops(4, 10, 0.5 * CLOCK, () => true)));
    expect(await readProgramStreamMetadata(all)).toMatchObject({ durationS: 1.6 });
  });

  it('reads the end of a long file from its last MiB, and across the 33-bit clock wrap', async () => {
    // Three groups of 10 frames (1.2 s), the clock turning over 0.4 s in; 3 MiB of padding after the first picture.
    const frames = gops(3, 10, 2 ** 33 - 0.4 * CLOCK, (k) => k % 4 === 0).map((f) => ({ ...f, pts: f.pts === null ? null : f.pts % 2 ** 33 }));
    const file = scratch.write('wrap.vob', programStream(frames, { padding: 3 * 1024 * 1024 }));
    expect(await readProgramStreamMetadata(file)).toEqual({ width: 720, height: 576, durationS: 1.2, notes: [] });
    const inHead = scratch.write('wrap-head.vob', programStream(frames));
    expect(await readProgramStreamMetadata(inHead)).toEqual({ width: 720, height: 576, durationS: 1.2, notes: [] });
    // The turn between two pictures shown out of their decode order: the second group's P3 (decode
    // index 11) after it, its B1 (index 12) before it; only those two are stamped in the tail.
    const across = gops(3, 10, 2 ** 33 - 12 * (CLOCK / 25), (k) => k === 0 || k === 11 || k === 12).map((f) => ({ ...f, pts: f.pts === null ? null : f.pts % 2 ** 33 }));
    expect(across[11]!.pts! < across[12]!.pts!).toBe(true);
    const acrossFile = scratch.write('wrap-across.vob', programStream(across, { padding: 3 * 1024 * 1024 }));
    expect(await readProgramStreamMetadata(acrossFile)).toEqual({ width: 720, height: 576, durationS: 1.2, notes: [] });
  });

  it('takes the size high bits and the frame rate extension of MPEG-2', async () => {
    const sequence = Buffer.concat([sequenceHeader(0, 0x38, 4), sequenceExtension(1, 1, 1, 0)]);
    const frames = gops(1, 7, 0, () => true, 60000 / 1001);
    // 0x1000 + 0 wide, 0x1000 + 0x38 high; 30000/1001 x (1+1)/(0+1) fps: 7 frames = 0.1168 s.
    expect(await readProgramStreamMetadata(scratch.write('ext.mpg', programStream(frames, { sequence })))).toEqual({ width: 4096, height: 4152, durationS: 0.117, notes: [] });
  });

  it('says what it could not read: no video, no sequence header, clocks that jump, an end without stamps; nothing for what is not a program stream', async () => {
    const audioOnly = Buffer.concat([pack(false), pes(0xc0, Buffer.alloc(100), 0, false)]);
    expect(await readProgramStreamMetadata(scratch.write('audio.mpg', audioOnly))).toEqual({ notes: [`MPEG-PS: no video stream in the first ${audioOnly.length} bytes`] });
    const noSequence = programStream(gops(1, 7, 0, () => true), { sequence: Buffer.alloc(0) });
    const read = await readProgramStreamMetadata(scratch.write('no-sequence.mpg', noSequence));
    expect(read).toMatchObject({ width: null, height: null, notes: [expect.stringMatching(/^MPEG-PS: no sequence header in the video's first \d+ bytes$/)] });
    // Without a frame rate the last frame is not counted: 6 periods from the first to the last stamp.
    expect(read!.durationS).toBe(0.24);
    // Two recordings joined, the second one's clock 12.5 hours on.
    const joined = [...gops(1, 7, 0, () => true), ...gops(1, 7, 12.5 * 3600 * CLOCK, () => true)];
    expect(await readProgramStreamMetadata(scratch.write('joined.vob', programStream(joined)))).toEqual({
      width: 720,
      height: 576,
      durationS: null,
      notes: ['MPEG-PS: the time stamps jump (recordings joined?); no duration'],
    });
    const stampedOnlyAtStart = programStream(gops(2, 7, 0, (k) => k === 0), { padding: 3 * 1024 * 1024 });
    expect(await readProgramStreamMetadata(scratch.write('end-unstamped.vob', stampedOnlyAtStart))).toMatchObject({
      durationS: null,
      notes: [`MPEG-PS: no time stamp of the video in the last ${1024 * 1024} bytes; no duration`],
    });
    expect(await readProgramStreamMetadata(fixture('dvr-wmv2.wmv'))).toBeNull();
  });

  it('walks damaged packets without reading past them: lengths beyond the file, garbage between packs', async () => {
    const good = programStream(gops(2, 7, 0, () => true));
    const damaged = Buffer.concat([good.subarray(0, 200), Buffer.from([0, 0, 1, 0xe0, 0xff, 0xff]), Buffer.alloc(500, 0x47), good.subarray(200)]);
    expect(await readProgramStreamMetadata(scratch.write('damaged.mpg', damaged))).toMatchObject({ width: 720, height: 576, durationS: expect.any(Number) });
    const cut = good.subarray(0, good.length - 150);
    expect(await readProgramStreamMetadata(scratch.write('cut.mpg', cut))).toMatchObject({ width: 720, height: 576, notes: [] });
  });
});
