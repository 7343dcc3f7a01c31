import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readJpegSegments } from './jpeg-segments.js';
import { readCiff, readPentaxMakerNote, readPictureInfo, unixToExifDateTime } from './maker-blocks.js';
import { extractEmbeddedMetadata } from './metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());
let counter = 0;
const write = (bytes: Buffer) => scratch.write(`jpeg-${counter++}.jpg`, bytes);

/** The payload of the first segment with this marker in a JPEG. */
function segmentOf(jpeg: Buffer, marker: number): { at: number; payload: Buffer } {
  for (let at = 2; at + 4 <= jpeg.length; at += 2 + jpeg.readUInt16BE(at + 2)) {
    if (jpeg[at + 1] === marker) return { at, payload: jpeg.subarray(at + 4, at + 2 + jpeg.readUInt16BE(at + 2)) };
  }
  throw new Error(`no 0xFF${marker.toString(16)} segment`);
}
function replaceSegment(jpeg: Buffer, marker: number, payload: Buffer, claimed?: number): Buffer {
  const { at } = segmentOf(jpeg, marker);
  const end = at + 2 + jpeg.readUInt16BE(at + 2);
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(claimed ?? payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, at), head, payload, jpeg.subarray(end)]);
}

const ciffJpeg = readFileSync(fixture('ciff-app0.jpg'));
const ciff = Buffer.from(segmentOf(ciffJpeg, 0xe0).payload);
const pictureInfoJpeg = readFileSync(fixture('pictureinfo-app12.jpg'));
const pictureInfo = Buffer.from(segmentOf(pictureInfoJpeg, 0xec).payload);
const pentaxJpeg = readFileSync(fixture('pentax-makernote.jpg'));
const makerNote = (() => {
  const app1 = segmentOf(pentaxJpeg, 0xe1).payload;
  const at = app1.indexOf('AOC\0', 0, 'latin1');
  return Buffer.from(app1.subarray(at, at + 6 + 2 + 3 * 12 + 4));
})();

// In ciff-app0.jpg's heap (from 26): ImageProps' values (38 bytes), its directory at 38 (2 entries),
// its directory offset; then the root directory and the root's directory offset (the last 4 bytes).
const heapStart = 26;

describe('readCiff (Canon CIFF heap)', () => {
  it('reads TimeStamp and MakeModel as ExifTool does', () => {
    expect(readCiff(ciff)).toEqual({ dateTimeOriginal: '2000:08:22 15:31:12', make: 'Canon', model: 'Canon PowerShot S10', notes: [] });
  });

  it('a root directory offset outside the heap, an absurd entry count, a record outside its block', () => {
    const outside = Buffer.from(ciff);
    outside.writeUInt32LE(0x7fffffff, outside.length - 4);
    expect(readCiff(outside).notes).toEqual([expect.stringMatching(/^Canon CIFF: a directory offset points outside its block/)]);

    const rootDir = heapStart + ciff.readUInt32LE(ciff.length - 4);
    const many = Buffer.from(ciff);
    many.writeUInt16LE(0xffff, rootDir);
    expect(readCiff(many).notes).toEqual(['Canon CIFF: a directory claims 65535 entries, more than its block holds; not read']);

    const far = Buffer.from(ciff);
    far.writeUInt32LE(0xfffffff0, rootDir + 2 + 6); // ImageProps' offset
    expect(readCiff(far)).toMatchObject({ dateTimeOriginal: null, notes: ['Canon CIFF: record 0x300a points outside its block; not read'] });
  });

  it('a directory that contains itself is read once; nesting is bounded', () => {
    // Make ImageProps' TimeStamp entry a subdirectory (0x300a) pointing at ImageProps itself.
    const loop = Buffer.from(ciff);
    const subDir = heapStart + 38;
    loop.writeUInt16LE(0x300a, subDir + 2);
    loop.writeUInt32LE(64, subDir + 4); // ImageProps' size: 38 bytes of values, 22 of directory, 4 of offset
    loop.writeUInt32LE(0, subDir + 8);
    const found = readCiff(loop);
    expect(found.notes).toContain('Canon CIFF: a directory is referenced twice; read once');
    expect(found.make).toBe('Canon');
  });

  it('not a heap, an impossible header length, never throws on damage', () => {
    expect(readCiff(Buffer.from('II\0\0\0\0HEAPxxxx')).notes).toEqual(['Canon CIFF: not a CIFF heap; not read']);
    const header = Buffer.from(ciff);
    header.writeUInt32LE(ciff.length + 10, 2);
    expect(readCiff(header).notes).toEqual([`Canon CIFF: impossible header length ${ciff.length + 10}; not read`]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), fc.nat(), (edits, cut) => {
        const damaged = Buffer.from(ciff);
        for (const [at, value] of edits) damaged[at % damaged.length] = value;
        const found = readCiff(damaged.subarray(0, Math.max(14, cut % (damaged.length + 1))));
        expect(found.notes.length).toBeLessThanOrEqual(8);
      }),
      { numRuns: 400, seed: 2000 },
    );
  });
});

describe('readPictureInfo (APP12)', () => {
  it('reads TimeDate in Unix seconds or as a date, as ExifTool does', () => {
    expect(readPictureInfo(pictureInfo)).toEqual({ dateTimeOriginal: '2000:08:22 15:31:12', make: null, model: null, notes: [] });
    expect(readPictureInfo(Buffer.from('[picture info] TimeDate=2001:02:03 04:05:06 Shutter=10')).dateTimeOriginal).toBe('2001:02:03 04:05:06');
    expect(readPictureInfo(Buffer.from('[picture info]\r\nShutter=10\r\n')).dateTimeOriginal).toBeNull();
  });

  it('reads TimeDate after a line of tens of KiB without scanning that line (its expression is quadratic)', () => {
    const hostile = Buffer.from(`[picture info]\r\nShutter=${'b'.repeat(60_000)}\r\nTimeDate=966131147\r\n`);
    expect(readPictureInfo(hostile)).toEqual({ dateTimeOriginal: '2000:08:13 01:45:47', make: null, model: null, notes: [] });
    expect(readPictureInfo(Buffer.from(`TimeDate=${'1'.repeat(60_000)}`)).notes).toEqual(['APP12 Picture Info: a line of over 1024 characters; not read']);
  }, 1500);

  it('says so when TimeDate is no time', () => {
    for (const value of ['0', 'yesterday', '99999999999999999999']) {
      expect(readPictureInfo(Buffer.from(`[picture info]\r\nTimeDate=${value}\r\n`)).notes).toEqual([
        `APP12 Picture Info: TimeDate "${value}" is not a date and time`,
      ]);
    }
    expect(unixToExifDateTime(0)).toBeNull();
  });
});

describe('readPentaxMakerNote', () => {
  it('reads Date and Time from their IFD entries, in either byte order', () => {
    expect(readPentaxMakerNote(makerNote, false)).toEqual({ dateTimeOriginal: '2007:10:27 14:34:47', make: null, model: null, notes: [] });
    const pentax5 = Buffer.concat([Buffer.from('PENTAX \0', 'latin1'), makerNote.subarray(4)]);
    expect(readPentaxMakerNote(pentax5, true).dateTimeOriginal).toBe('2007:10:27 14:34:47');
  });

  it('ignores other makers\' notes and says when a Pentax one is broken', () => {
    expect(readPentaxMakerNote(Buffer.from('Nikon\0\x02\x10\0\0MM\0*'), false)).toEqual({ dateTimeOriginal: null, make: null, model: null, notes: [] });
    const many = Buffer.from(makerNote);
    many.writeUInt16BE(0xffff, 6);
    expect(readPentaxMakerNote(many, false).notes).toEqual(['Pentax maker note: its directory claims 65535 entries, more than it holds; not read']);
    expect(readPentaxMakerNote(makerNote.subarray(0, 7), false).notes).toEqual(['Pentax maker note: truncated before its first entry; not read']);
  });
});

describe('readJpegSegments and the maker blocks in extracted', () => {
  async function segments(bytes: Buffer) {
    const handle = await open(write(bytes), 'r');
    try {
      return await readJpegSegments(handle, bytes.length);
    } finally {
      await handle.close();
    }
  }

  it('finds the frame size, APP0 CIFF, APP12 and APP13 without reading the image data', async () => {
    expect(await segments(ciffJpeg)).toMatchObject({ width: 64, height: 48, ciff: expect.any(Buffer), notes: [] });
    expect(await segments(pictureInfoJpeg)).toMatchObject({ pictureInfo: expect.any(Buffer), exifLittleEndian: false, notes: [] });
    expect((await segments(readFileSync(fixture('iptc-offset.jpg')))).photoshop?.toString('latin1', 0, 4)).toBe('8BIM');
  });

  it('a segment claiming more bytes than the file holds, an impossible length, no marker, a file cut short', async () => {
    const app13 = readFileSync(fixture('iptc-offset.jpg'));
    const { at } = segmentOf(app13, 0xed);
    const lying = await segments(app13.subarray(0, at + 40));
    expect(lying.notes).toEqual([expect.stringMatching(new RegExp(`^JPEG: segment 0xFFED at byte ${at} claims \\d+ bytes, past the end of the file; not read$`))]);
    expect((await segments(replaceSegment(ciffJpeg, 0xe0, Buffer.alloc(0), 1))).notes.join()).toMatch(/has an impossible length \(1\)/);
    expect((await segments(Buffer.concat([ciffJpeg.subarray(0, 2), Buffer.from([0xff, 0xfe, 0, 4, 0, 0]), Buffer.from('garbage')]))).notes.join()).toMatch(/no segment marker at byte 8/);
    expect((await segments(ciffJpeg.subarray(0, 3))).notes.join()).toMatch(/the file ends at byte 2, before the image data/);
  });

  it('a damaged CIFF or Picture Info block reaches extracted.notes; the rest of the file still reads', async () => {
    const damaged = Buffer.from(ciff);
    damaged.writeUInt32LE(0x7fffffff, damaged.length - 4);
    const meta = await extractEmbeddedMetadata(write(replaceSegment(ciffJpeg, 0xe0, damaged)));
    expect(meta).toMatchObject({ capturedAt: null, device: null, width: 64, height: 48 });
    expect(meta?.notes).toEqual([expect.stringMatching(/^Canon CIFF: a directory offset points outside its block/)]);

    const info = await extractEmbeddedMetadata(write(replaceSegment(pictureInfoJpeg, 0xec, Buffer.from('[picture info]\r\nTimeDate=soon\r\n'))));
    expect(info).toMatchObject({ capturedAt: null, device: { make: 'OLYMPUS OPTICAL CO.,LTD', model: 'C2000Z' } });
    expect(info?.notes).toEqual(['APP12 Picture Info: TimeDate "soon" is not a date and time']);
  });

  it('an EXIF block exifr cannot read is named in the notes', async () => {
    const jpeg = readFileSync(fixture('exif-ne-offset.jpg'));
    const { payload } = segmentOf(jpeg, 0xe1);
    const broken = Buffer.concat([payload.subarray(0, 6), Buffer.from('MM\0*\xff\xff\xff\xff', 'latin1'), payload.subarray(14)]);
    const meta = await extractEmbeddedMetadata(write(replaceSegment(jpeg, 0xe1, broken)));
    expect(meta?.capturedAt).toBeNull();
    expect(meta?.notes).toEqual(['EXIF (JPEG APP1): the EXIF block holds no readable IFD']);
    expect(meta).toMatchObject({ width: 64, height: 48 });
  });
});
