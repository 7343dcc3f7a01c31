import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { hevcSpsPictureSize, mdpmDateTime, mdpmEntries, mdpmLocation, rbsp, readMpegTsMetadata, spsPictureSize, transportLayout } from './mpeg-ts.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

const MDPM_UUID = '17ee8c60f84d11d98cd60800200c9a66';
/** An SEI message's bytes: payload type 5 (unregistered user data) of `uuid` + "MDPM" + the entries. */
const mdpmSei = (entries: number[][], uuid = MDPM_UUID): Buffer => {
  const payload = Buffer.concat([Buffer.from(uuid, 'hex'), Buffer.from('MDPM'), Buffer.from([entries.length, ...entries.flat()])]);
  return Buffer.concat([Buffer.from([5, payload.length]), payload, Buffer.from([0x80])]);
};

describe('mdpmDateTime', () => {
  const at = (zone: number) => mdpmDateTime(mdpmEntries(mdpmSei([[0x18, zone, 0x20, 0x25, 0x03], [0x19, 0x14, 0x02, 0x10, 0x33]]))!);

  it("reads the BCD date and the zone as ExifTool's H264.pm does (sign 0x20, hours 0x1e, half an hour 0x01)", () => {
    expect(at(0x04)).toEqual({ dateTime: '2025:03:14 02:10:33', offset: '+02:00' });
    expect(at(0x27)).toEqual({ dateTime: '2025:03:14 02:10:33', offset: '-03:30' });
    // The DST flag (0x40) says summer time was on; the zone stored is the one to use.
    expect(at(0x46)).toEqual({ dateTime: '2025:03:14 02:10:33', offset: '+03:00' });
    expect(at(0x0b)).toEqual({ dateTime: '2025:03:14 02:10:33', offset: '+05:30' });
  });

  it('takes no date from digits that are not BCD, or from half of it', () => {
    expect(mdpmDateTime(mdpmEntries(mdpmSei([[0x18, 0x04, 0x20, 0x2a, 0x03], [0x19, 0x14, 0x02, 0x10, 0x33]]))!)).toBeNull();
    expect(mdpmDateTime(mdpmEntries(mdpmSei([[0x18, 0x04, 0x20, 0x25, 0x03]]))!)).toBeNull();
  });
});

describe('mdpmLocation', () => {
  const gps = (lat: string, lon: string, altitudeRef: number, extra: number[][] = []) =>
    mdpmLocation(
      new Map(
        [
          [0xb1, lat.charCodeAt(0), 0, 0, 0],
          [0xb2, 0, 33, 0, 1],
          [0xb3, 0, 51, 0, 1],
          [0xb4, 0x0d, 0x05, 0, 100], // 33.33"
          [0xb5, lon.charCodeAt(0), 0, 0, 0],
          [0xb6, 0, 70, 0, 1],
          [0xb7, 0, 39, 0, 1],
          [0xb8, 0, 0, 0, 1],
          [0xb9, 0, 0, 0, altitudeRef],
          [0xba, 0, 12, 0, 1],
          ...extra,
        ].map(([tag, ...bytes]) => [tag!, Buffer.from(bytes)]),
      ),
    );

  it('signs the degrees by hemisphere and the altitude by its reference', () => {
    expect(gps('S', 'W', 1)).toEqual({ lat: -33.85925833, lon: -70.65, altitudeM: -12 }); // 8 decimals, as every reader rounds
    expect(gps('N', 'E', 0)?.altitudeM).toBe(12);
  });

  it('gives no position without a hemisphere, or with a fraction over zero', () => {
    expect(gps('X', 'E', 0)).toBeNull();
    expect(gps('N', 'E', 0, [[0xb3, 0, 51, 0, 0]])).toBeNull();
  });
});

describe('mdpmEntries', () => {
  it('finds the MDPM message after other SEI messages, and only under its UUID', () => {
    const timing = Buffer.from([1, 2, 0xaa, 0xbb]);
    const entries = mdpmEntries(Buffer.concat([timing, mdpmSei([[0xe0, 0x01, 0x08, 0x30, 0x01]])]));
    expect(entries?.get(0xe0)).toEqual(Buffer.from([0x01, 0x08, 0x30, 0x01]));
    expect(mdpmEntries(mdpmSei([[0xe0, 0x01, 0x08, 0x30, 0x01]], '00'.repeat(16)))).toBeNull();
  });

  it('reads no further than the message: a size past its end, or more entries than it holds', () => {
    const sei = mdpmSei([[0x18, 0x04, 0x20, 0x25, 0x03]]);
    expect(mdpmEntries(sei.subarray(0, 10))).toBeNull();
    const overstated = Buffer.from(sei);
    overstated[2 + 20] = 200; // the entry count
    expect([...mdpmEntries(overstated)!.keys()]).toEqual([0x18]);
  });
});

describe('spsPictureSize', () => {
  // Sequence parameter sets written by x264 (Debian ffmpeg 5.1.9), each size checked with ffprobe;
  // the NAL header byte (0x67) and emulation prevention bytes taken out.
  const sps = (hex: string) => rbsp(Buffer.from(hex, 'hex').subarray(1));

  it('gives the cropped size of High, High 4:2:2, interlaced and Baseline streams', () => {
    expect(spsPictureSize(sps('67640028acd940780227e5c044000003000400000300c83c60c658'))).toEqual({ width: 1920, height: 1080 });
    expect(spsPictureSize(sps('677a0028bcd940780227e27011000003000100000300320f183196'))).toEqual({ width: 1920, height: 1080 });
    // 1440x1080 interlaced, as HDV and AVCHD camcorders record: 34 pairs of fields' macroblock rows.
    expect(spsPictureSize(sps('67640028acd9405a044fde0220000003002000000643e2c5b2c0'))).toEqual({ width: 1440, height: 1080 });
    expect(spsPictureSize(sps('6742c01fd9005005bb011000000300100000030320f1832480'))).toEqual({ width: 1280, height: 720 });
  });

  it('refuses a set that ends early', () => {
    expect(() => spsPictureSize(sps('67640028acd94078'))).toThrow(/ends early/);
  });
});

describe('hevcSpsPictureSize', () => {
  // Sequence parameter sets written by x265 3.5 (Debian ffmpeg 5.1.9), each size checked with
  // ffprobe; the 2-byte NAL header (0x4201) and emulation prevention bytes taken out.
  const sps = (hex: string) => rbsp(Buffer.from(hex, 'hex').subarray(2));

  it('gives the size inside the conformance window for 4:2:0, 4:2:2, 4:4:4 and monochrome streams', () => {
    expect(hevcSpsPictureSize(sps('420101016000000300900000030000030078a003c08010e596566924caf0168080000003008000000c84'))).toEqual({ width: 1920, height: 1080 });
    expect(hevcSpsPictureSize(sps('4201010408000003009d08000003000078b003c08010e596566924caf0168080000003008000000c84'))).toEqual({ width: 1920, height: 1080 });
    expect(hevcSpsPictureSize(sps('4201010408000003009e0800000300007890007810021ceef2cacd24995e02d0100000030010000003019080'))).toEqual({ width: 1918, height: 1078 });
    expect(hevcSpsPictureSize(sps('4201010408000003009fc800000300005dc00a0200b4596566924caf016c08000003000800000300c840'))).toEqual({ width: 1280, height: 720 });
  });

  it('steps over the sub-layers of a stream with temporal layers', () => {
    expect(hevcSpsPictureSize(sps('42010201600000030090000003000003005d0000a00280802d1659598acd24995e02d0100000030010000003019080'))).toEqual({ width: 1280, height: 720 });
  });

  it('refuses a set that ends early', () => {
    expect(() => hevcSpsPictureSize(sps('420101016000000300900000'))).toThrow(/ends early/);
  });
});

describe('readMpegTsMetadata', () => {
  it('reads the picture size of H.265 and MPEG-2 video as of H.264', async () => {
    // ffprobe: hevc 240x180 (coded 240x184), mpeg2video 176x144 (ExifTool 12.57: 176x144, and no size for the H.265 one).
    expect(await readMpegTsMetadata(fixture('video-a-hevc.m2t'))).toMatchObject({ width: 240, height: 180, durationS: 1.9, notes: [] });
    expect(await readMpegTsMetadata(fixture('video-a-mpeg2.m2t'))).toMatchObject({ width: 176, height: 144, durationS: 0.9, notes: [] });
  });

  it('tells 188- and 192-byte packets apart, and a GIF or a lone packet from a stream', () => {
    expect(transportLayout(readFileSync(fixture('video-a.m2t')))).toEqual({ stride: 188, offset: 0 });
    expect(transportLayout(readFileSync(fixture('video-a.m2ts')))).toEqual({ stride: 192, offset: 4 });
    expect(transportLayout(Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(300)]))).toBeNull();
    expect(transportLayout(readFileSync(fixture('video-a.m2t')).subarray(0, 188))).toBeNull();
  });

  /** A packet of PID 0x1fff (null) carrying only an adaptation field with this PCR base (90 kHz). */
  const pcrPacket = (base: number): Buffer => {
    const packet = Buffer.alloc(188, 0xff);
    packet.set([0x47, 0x1f, 0xff, 0x20, 183, 0x10]);
    packet.writeUInt32BE(Math.floor(base / 2), 6);
    packet[10] = ((base % 2) << 7) | 0x7e;
    packet[11] = 0;
    return packet;
  };
  const nullPackets = (count: number): Buffer => {
    const packet = Buffer.alloc(188, 0xff);
    packet.set([0x47, 0x1f, 0xff, 0x10]);
    return Buffer.concat(Array.from({ length: count }, () => packet));
  };
  const longRecording = (firstBase: number, lastBase: number): Buffer =>
    Buffer.concat([pcrPacket(firstBase), readFileSync(fixture('video-a.m2t')), nullPackets(Math.ceil((3 * 1024 * 1024) / 188)), pcrPacket(lastBase)]);

  it('reads a recording longer than its first 2 MiB to its last clock reference, across the 33-bit wrap', async () => {
    const read = await readMpegTsMetadata(scratch.write('long.m2t', longRecording(90_000, 90_000 * 101)));
    expect(read?.width).toBe(320);
    expect(read?.durationS).toBe(100);
    // 10 s before the clock base wraps (2^33 ticks of 90 kHz, 26.5 hours) to 5 s after it.
    expect((await readMpegTsMetadata(scratch.write('wrapped.m2t', longRecording(2 ** 33 - 90_000 * 10, 90_000 * 5))))?.durationS).toBe(15);
  });

  it('gives a note, not an exception, for hostile packets', async () => {
    const junk = Buffer.alloc(188 * 40, 0xff);
    for (let k = 0; k < 40; k++) {
      junk[k * 188] = 0x47;
      junk[k * 188 + 1] = k % 2 ? 0x40 : 0x00; // PAT, starting a section
      junk[k * 188 + 2] = 0x00;
      junk[k * 188 + 3] = 0x30; // an adaptation field and a payload
    }
    const read = await readMpegTsMetadata(scratch.write('junk.ts', junk));
    expect(read).toMatchObject({ notes: expect.any(Array) });
    expect(read?.width).toBeUndefined();
    expect(await readMpegTsMetadata(scratch.write('not-ts.bin', Buffer.from('not a transport stream')))).toBeNull();
  });
});
