import { afterAll, describe, expect, it } from 'vitest';
import { decodeBoxHeader, memoryChildren } from './iso-bmff.js';
import { readMovieDurationS } from './movie-metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function mvhdV1(timescale: number, duration: bigint): Buffer {
  const body = Buffer.alloc(112);
  body[0] = 1;
  body.writeUInt32BE(timescale, 20);
  body.writeBigUInt64BE(duration, 24);
  return box('mvhd', body);
}

const ftyp = box('ftyp', Buffer.from('qt  \0\0\0\0qt  ', 'latin1'));

describe('readMovieDurationS', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it('reads a version-0 movie header placed after the media data', async () => {
    expect(await readMovieDurationS(fixture('movie-header.mp4'))).toBe(12.5);
  });

  it('reads a version-1 header and skips a 64-bit-sized box', async () => {
    const large = Buffer.alloc(16 + 100);
    large.writeUInt32BE(1, 0);
    large.write('mdat', 4, 'latin1');
    large.writeBigUInt64BE(BigInt(large.length), 8);
    const file = scratch.write('v1.mov', Buffer.concat([ftyp, large, box('moov', box('udta'), mvhdV1(90000, 90000n * 3600n + 45000n))]));
    expect(await readMovieDurationS(file)).toBe(3600.5);
  });

  it('returns null for non-movies and movies without a usable header', async () => {
    expect(await readMovieDurationS(fixture('scene-a.jpg'))).toBeNull();
    expect(await readMovieDurationS(fixture('exif.heic'))).toBeNull();
    expect(await readMovieDurationS(fixture('random.bin'))).toBeNull();
    const unknownDuration = Buffer.alloc(100);
    unknownDuration.writeUInt32BE(600, 12);
    unknownDuration.writeUInt32BE(0xffffffff, 16);
    expect(await readMovieDurationS(scratch.write('unknown.mp4', Buffer.concat([ftyp, box('moov', box('mvhd', unknownDuration))])))).toBeNull();
    const zeroTimescale = Buffer.alloc(100);
    zeroTimescale.writeUInt32BE(600, 16);
    expect(await readMovieDurationS(scratch.write('zero.mp4', Buffer.concat([ftyp, box('moov', box('mvhd', zeroTimescale))])))).toBeNull();
  });

  it('survives lying box sizes without looping or reading past the end', async () => {
    const tooBig = Buffer.concat([ftyp, box('moov', mvhdV1(1000, 5000n))]);
    tooBig.writeUInt32BE(0x7fffffff, ftyp.length); // moov claims 2 GiB: a truncated upload
    expect(await readMovieDurationS(scratch.write('toobig.mp4', tooBig))).toBe(5);
    const tiny = Buffer.concat([ftyp, Buffer.from([0, 0, 0, 4]), Buffer.from('moov', 'latin1')]);
    expect(await readMovieDurationS(scratch.write('tiny.mp4', tiny))).toBeNull();
    const truncated = Buffer.concat([ftyp, box('moov', mvhdV1(1000, 5000n))]).subarray(0, ftyp.length + 30);
    expect(await readMovieDurationS(scratch.write('truncated.mp4', truncated))).toBeNull();
  });
});

describe('the box layer', () => {
  it('decodes 32-bit, 64-bit, to-the-end and overlong sizes; refuses garbage types', () => {
    const h32 = box('moov', Buffer.alloc(8));
    expect(decodeBoxHeader(h32, 100, 1000)).toEqual({ type: 'moov', start: 100, headerSize: 8, end: 116, overlong: false });
    const h64 = Buffer.alloc(16);
    h64.writeUInt32BE(1, 0);
    h64.write('mdat', 4, 'latin1');
    h64.writeBigUInt64BE(2n ** 40n, 8);
    expect(decodeBoxHeader(h64, 0, 5000)).toEqual({ type: 'mdat', start: 0, headerSize: 16, end: 5000, overlong: true });
    h64.writeBigUInt64BE(2n ** 64n - 1n, 8);
    expect(decodeBoxHeader(h64, 0, 5000)?.overlong).toBe(true);
    const toEnd = Buffer.from('\0\0\0\0mdat', 'latin1');
    expect(decodeBoxHeader(toEnd, 10, 90)).toMatchObject({ end: 90, overlong: false });
    expect(decodeBoxHeader(Buffer.from('\0\0\0\x10\x01\x02\x03\x04', 'latin1'), 0, 100)).toBeNull();
    expect(decodeBoxHeader(Buffer.from('\0\0\0\x10\0\0\0\x01', 'latin1'), 0, 100, true)?.type).toBe('\0\0\0\x01');
    expect(decodeBoxHeader(Buffer.from('\0\0\0\x04moov', 'latin1'), 0, 100)).toBeNull(); // smaller than its header
    // A QuickTime container may end with a 32-bit zero.
    expect(memoryChildren(Buffer.concat([box('free'), Buffer.alloc(4)]), 10)).toMatchObject({ problem: null });
    expect(memoryChildren(Buffer.concat([box('free'), Buffer.alloc(9, 0xff)]), 10).problem).toMatch(/unreadable box header at byte 8/);
    expect(memoryChildren(Buffer.concat(Array.from({ length: 5 }, () => box('free'))), 3).problem).toBe('more than 3 boxes');
  });
});
