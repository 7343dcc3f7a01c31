import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readFlvMetadata } from './flv.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

// FLV files built as Adobe's FLV specification (v10.1, annex E) lays them out: a 9-byte header,
// then tags (type, 24-bit data size, 24-bit time stamp and its high byte, stream id 0, data), each
// followed by its size; the script tag's data is AMF0: the string "onMetaData" and an ECMA array.
const amfString = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
};
const amfNumber = (n: number) => {
  const bytes = Buffer.alloc(9);
  bytes[0] = 0;
  bytes.writeDoubleBE(n, 1);
  return bytes;
};
const END = Buffer.from([0, 0, 9]);

/** onMetaData with these properties (values already AMF0-encoded), as an ECMA array. */
function onMetaData(properties: [string, Buffer][], { endMarker = true } = {}): Buffer {
  const body = properties.flatMap(([name, value]) => [amfString(name), value]);
  return Buffer.concat([Buffer.from([2]), amfString('onMetaData'), Buffer.from([8, 0, 0, 0, properties.length]), ...body, endMarker ? END : Buffer.alloc(0)]);
}

function tag(type: number, data: Buffer, ms: number): Buffer {
  const header = Buffer.alloc(11);
  header[0] = type;
  header.writeUIntBE(data.length, 1, 3);
  header.writeUIntBE(ms & 0xffffff, 4, 3);
  header[7] = Math.floor(ms / 2 ** 24);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(11 + data.length);
  return Buffer.concat([header, data, size]);
}

function flv(...tags: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from('FLV'), Buffer.from([1, 1, 0, 0, 0, 9, 0, 0, 0, 0]), ...tags]);
}
/** A Sorenson H.263 key frame tag (codec 2, frame type 1) whose picture header is cut before its size. */
const video = (ms: number) => tag(9, Buffer.from([0x12, 0, 0, 0x84, 0, 0x50]), ms);

describe('Flash video (.FLV): duration and picture size', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it('reads the fixture as ffprobe and ExifTool do: 320x240, 0.066 s from onMetaData', async () => {
    expect(await readFlvMetadata(fixture('clip-flv1.flv'))).toEqual({ width: 320, height: 240, durationS: 0.066, notes: [] });
  });

  it('reads onMetaData past nested values (keyframe index, strings, dates) and without its end marker', async () => {
    const keyframes = Buffer.concat([Buffer.from([3]), amfString('times'), Buffer.from([10, 0, 0, 0, 2]), amfNumber(0), amfNumber(5), amfString('filepositions'), Buffer.from([10, 0, 0, 0, 2]), amfNumber(13), amfNumber(900), END]);
    const date = Buffer.from([11, 0x42, 0x77, 0x4c, 0x2b, 0x1c, 0x40, 0, 0, 0, 0]);
    const meta = onMetaData([
      ['__proto__', Buffer.concat([Buffer.from([3]), amfString('duration'), amfNumber(1), END])],
      ['encoder', Buffer.concat([Buffer.from([2]), amfString('Lavf58.76.100')])],
      ['keyframes', keyframes],
      ['creationdate', date],
      ['hasVideo', Buffer.from([1, 1])],
      ['duration', amfNumber(754.24)],
      ['width', amfNumber(1280)],
      ['height', amfNumber(720)],
    ]);
    expect(await readFlvMetadata(scratch.write('nested.flv', flv(tag(18, meta, 0), video(0))))).toEqual({ width: 1280, height: 720, durationS: 754.24, notes: [] });
    const unended = onMetaData([['duration', amfNumber(12.5)], ['width', amfNumber(640)], ['height', amfNumber(360)]], { endMarker: false });
    expect(await readFlvMetadata(scratch.write('unended.flv', flv(tag(18, unended, 0), video(0))))).toEqual({ width: 640, height: 360, durationS: 12.5, notes: [] });
  });

  it('falls back to the last tag\'s time stamp, its high byte included, as ffmpeg does', async () => {
    // No onMetaData at all; the last tag at 2^24 + 1000 ms (4 h 39 min): the high byte counts.
    const long = flv(video(0), video(40), video(2 ** 24 + 1000));
    expect(await readFlvMetadata(scratch.write('no-meta.flv', long))).toEqual({ width: null, height: null, durationS: 16778.216, notes: [] });
    // A duration of 0 or a nonsense one in onMetaData: the same.
    for (const bad of [0, -3, Number.NaN, 1e12]) {
      const file = scratch.write('bad-duration.flv', flv(tag(18, onMetaData([['duration', amfNumber(bad)]]), 0), video(0), video(2500)));
      expect(await readFlvMetadata(file), String(bad)).toMatchObject({ durationS: 2.5 });
    }
  });

  it("takes the picture size from the first video frame when onMetaData has none: Sorenson H.263's header, H.264's SPS", async () => {
    // H.263: start code (16 zeros, a one), version 0, temporal reference 0, size code 0, then 8-bit width and height.
    const bits = '0'.repeat(16) + '1' + '00000' + '00000000' + '000' + (200).toString(2).padStart(8, '0') + (150).toString(2).padStart(8, '0');
    const header = Buffer.from(bits.padEnd(Math.ceil(bits.length / 8) * 8, '0').match(/.{8}/g)!.map((b) => parseInt(b, 2)));
    const h263 = tag(9, Buffer.concat([Buffer.from([0x12]), header]), 0);
    expect(await readFlvMetadata(scratch.write('h263.flv', flv(h263, video(1000))))).toEqual({ width: 200, height: 150, durationS: 1, notes: [] });
    // Size code 5: 320x240. onMetaData's size, where it has one, wins.
    const qvga = tag(9, Buffer.from([0x12, 0x00, 0x00, 0x80, 0x02, 0x80, 0x00]), 0);
    expect(await readFlvMetadata(scratch.write('qvga.flv', flv(qvga, video(40))))).toMatchObject({ width: 320, height: 240 });
    const named = onMetaData([['width', amfNumber(640)], ['height', amfNumber(480)]]);
    expect(await readFlvMetadata(scratch.write('named.flv', flv(tag(18, named, 0), qvga)))).toMatchObject({ width: 640, height: 480 });
    // H.264: the sequence header carries video-a.mp4's own decoder configuration (its avcC box).
    const mp4 = readFileSync(fixture('video-a.mp4'));
    const avcC = mp4.indexOf('avcC');
    const record = mp4.subarray(avcC + 4, avcC - 4 + mp4.readUInt32BE(avcC - 4));
    const avc = tag(9, Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), record]), 0);
    expect(await readFlvMetadata(scratch.write('avc.flv', flv(avc, video(2000))))).toEqual({ width: 320, height: 240, durationS: 2, notes: [] });
  });

  it('refuses what it will not read with a note, never past the data, and nothing for what is not FLV', async () => {
    // Arrays nested beyond eight levels.
    let deep = Buffer.concat([Buffer.from([10, 0, 0, 0, 1]), amfNumber(1)]);
    for (let k = 0; k < 12; k++) deep = Buffer.concat([Buffer.from([10, 0, 0, 0, 1]), deep]);
    const nested = onMetaData([['deep', deep], ['duration', amfNumber(9)]]);
    expect(await readFlvMetadata(scratch.write('deep.flv', flv(tag(18, nested, 0), video(3000))))).toEqual({
      width: null,
      height: null,
      durationS: 3,
      notes: ['FLV: onMetaData: the script data nests or repeats beyond what is read'],
    });
    // A strict array claiming four billion values in a few bytes.
    const claims = onMetaData([['times', Buffer.from([10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0])]]);
    expect((await readFlvMetadata(scratch.write('claims.flv', flv(tag(18, claims, 0)))))!.notes).toEqual(['FLV: onMetaData: the script data ends inside a value']);
    // A script tag larger than what is read of the file's start.
    const huge = Buffer.concat([flv(), Buffer.from([18, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]), onMetaData([['duration', amfNumber(4)]])]);
    expect(await readFlvMetadata(scratch.write('huge.flv', huge))).toEqual({ width: null, height: null, durationS: null, notes: ['FLV: a script tag of 1048576 bytes is not read'] });
    expect(await readFlvMetadata(fixture('camcorder-mpeg2.vob'))).toBeNull();
  });
});
