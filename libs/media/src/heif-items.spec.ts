import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { orientationOfRotation, parseHeifMeta, readHeifPrimaryItemOfFile } from './heif-items.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const box = (type: string, ...payload: Buffer[]): Buffer => {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
};
const fullBox = (type: string, version: number, flags: number, ...payload: Buffer[]): Buffer =>
  box(type, Buffer.from([version, (flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff]), ...payload);
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const ispe = (w: number, h: number) => fullBox('ispe', 0, 0, u32(w), u32(h));

/** The children of a 'meta' box: pitm, then iprp holding ipco and ipma. */
function metaChildren(opts: { pitm: Buffer; properties: Buffer[]; ipma: Buffer[] }): Buffer {
  return Buffer.concat([fullBox('hdlr', 0, 0, Buffer.alloc(4), Buffer.from('pict'), Buffer.alloc(13)), opts.pitm, box('iprp', box('ipco', ...opts.properties), ...opts.ipma)]);
}

/** A whole HEIF-like file: ftyp, then meta (FullBox) around the given children. */
const heifFile = (children: Buffer): Buffer => Buffer.concat([box('ftyp', Buffer.from('heic\0\0\0\0mif1heic')), fullBox('meta', 0, 0, children)]);

describe('readHeifPrimaryItem', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it('reads the committed HEIF fixtures as heif-info and ExifTool describe them', async () => {
    expect(await readHeifPrimaryItemOfFile(fixture('hevc-irot.heic'))).toEqual({ itemId: 2, width: 48, height: 64, rotation: 3, mirrored: false, icc: null });
    expect(await readHeifPrimaryItemOfFile(fixture('avif-irot.avif'))).toMatchObject({ width: 48, height: 64, rotation: 3, mirrored: false });
    expect(await readHeifPrimaryItemOfFile(fixture('hevc-imir.heic'))).toMatchObject({ width: 64, height: 48, rotation: null, mirrored: true });
    expect(await readHeifPrimaryItemOfFile(fixture('grid.heic'))).toMatchObject({ width: 160, height: 120, rotation: null, icc: null });
    const p3 = await readHeifPrimaryItemOfFile(fixture('hevc-p3.heic'));
    expect(p3).toMatchObject({ width: 64, height: 48, rotation: null });
    // An ICC profile ('acsp' at byte 36), the very bytes libvips finds there.
    expect(p3!.icc!.toString('latin1', 36, 40)).toBe('acsp');
    expect(p3!.icc!.equals((await sharp(fixture('hevc-p3.heic')).metadata()).icc!)).toBe(true);
  });

  it('is null for what is not a HEIF: a movie, a JPEG, random bytes, an empty file', async () => {
    for (const name of ['android.mp4', 'apple.mov', 'orientation-1.jpg', 'random.bin']) {
      expect(await readHeifPrimaryItemOfFile(fixture(name)), name).toBeNull();
    }
    expect(await readHeifPrimaryItemOfFile(scratch.write('empty.heic', Buffer.alloc(0)))).toBeNull();
    expect(await readHeifPrimaryItemOfFile(scratch.path('missing.heic'))).toBeNull();
  });

  it('reads 32-bit item ids (pitm v1, ipma v1), 16-bit property indices (flags 1), several ipma boxes, rICC', () => {
    const rIcc = Buffer.from('not checked here: any bytes');
    const children = metaChildren({
      pitm: fullBox('pitm', 1, 0, u32(70000)),
      properties: [ispe(4000, 3000), box('irot', Buffer.from([0xfd])), box('colr', Buffer.from('nclx'), Buffer.alloc(7)), box('colr', Buffer.from('rICC'), rIcc), box('imir', Buffer.from([1])), ispe(1, 1)],
      ipma: [
        // another item first, then the primary with essential bits set, index 0 ("none") and an index past the end
        fullBox('ipma', 1, 1, u32(2), u32(5), Buffer.from([1]), u16(6), u32(70000), Buffer.from([4]), u16(0x8001), u16(0x8002), u16(0), u16(99)),
        fullBox('ipma', 1, 1, u32(1), u32(70000), Buffer.from([2]), u16(3), u16(4)),
      ],
    });
    expect(parseHeifMeta(children)).toEqual({ itemId: 70000, width: 4000, height: 3000, rotation: 1, mirrored: false, icc: rIcc });
  });

  it('reads 16-bit ids and 8-bit indices (pitm v0, ipma v0, flags 0); the first colr profile and ispe count', () => {
    const prof = Buffer.from('profile bytes');
    const children = metaChildren({
      pitm: fullBox('pitm', 0, 0, u16(1)),
      properties: [box('colr', Buffer.from('prof'), prof), ispe(10, 20), ispe(30, 40), box('colr', Buffer.from('prof'), Buffer.from('second')), box('imir', Buffer.from([0]))],
      ipma: [fullBox('ipma', 0, 0, u32(1), u16(1), Buffer.from([5, 0x81, 2, 3, 4, 5]))],
    });
    expect(parseHeifMeta(children)).toEqual({ itemId: 1, width: 10, height: 20, rotation: null, mirrored: true, icc: prof });
  });

  it('gives what it could read when the boxes are incomplete', () => {
    // No pitm: no primary item.
    expect(parseHeifMeta(metaChildren({ pitm: Buffer.alloc(0), properties: [ispe(1, 1)], ipma: [] }))).toBeNull();
    // No iprp, or no association: the id alone.
    expect(parseHeifMeta(fullBox('pitm', 0, 0, u16(7)))).toEqual({ itemId: 7, width: null, height: null, rotation: null, mirrored: false, icc: null });
    // An ipma claiming 4 billion entries in a few bytes, a zero-sized ispe, an empty profile.
    const claims = metaChildren({
      pitm: fullBox('pitm', 0, 0, u16(1)),
      properties: [ispe(0, 0), box('colr', Buffer.from('prof')), box('irot', Buffer.from([2]))],
      ipma: [fullBox('ipma', 0, 0, u32(0xffffffff), u16(1), Buffer.from([3, 1, 2, 3]), u16(1), Buffer.from([200]))],
    });
    const started = performance.now();
    expect(parseHeifMeta(claims)).toEqual({ itemId: 1, width: null, height: null, rotation: 2, mirrored: false, icc: null });
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('reads at most 1 MiB of the meta box: properties behind a large idat are not reached', async () => {
    const small = metaChildren({ pitm: fullBox('pitm', 0, 0, u16(1)), properties: [ispe(48, 64)], ipma: [fullBox('ipma', 0, 0, u32(1), u16(1), Buffer.from([1, 1]))] });
    expect(await readHeifPrimaryItemOfFile(scratch.write('small.heic', heifFile(small)))).toMatchObject({ width: 48, height: 64 });
    const behind = Buffer.concat([fullBox('pitm', 0, 0, u16(1)), box('idat', Buffer.alloc(2 * 1024 * 1024)), small.subarray(small.indexOf('iprp') - 4)]);
    expect(await readHeifPrimaryItemOfFile(scratch.write('behind.heic', heifFile(behind)))).toEqual({
      itemId: 1,
      width: null,
      height: null,
      rotation: null,
      mirrored: false,
      icc: null,
    });
  });

  it('never throws on any truncation or damage of a real HEIF', async () => {
    for (const name of ['hevc-irot.heic', 'hevc-p3.heic', 'grid.heic']) {
      const bytes = readFileSync(fixture(name));
      for (let cut = 0; cut <= Math.min(bytes.length, 1200); cut += 7) {
        const result = await readHeifPrimaryItemOfFile(scratch.write(`cut-${cut}-${name}`, bytes.subarray(0, cut)));
        expect(result === null || typeof result.itemId === 'number').toBe(true);
      }
    }
    const p3 = readFileSync(fixture('hevc-p3.heic'));
    const metaStart = p3.indexOf('meta') - 4;
    const children = p3.subarray(metaStart + 12, metaStart + p3.readUInt32BE(metaStart));
    expect(parseHeifMeta(children)?.icc).not.toBeNull();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 32 }), (edits) => {
        const bytes = Buffer.from(children);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        const item = parseHeifMeta(bytes);
        if (item?.rotation != null) expect(item.rotation).toBeLessThanOrEqual(3);
        if (item?.icc) expect(item.icc.length).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: 400, seed: 20240224 },
    );
  });

  it('maps irot to the EXIF orientation it amounts to', () => {
    expect([null, 0, 1, 2, 3].map(orientationOfRotation)).toEqual([1, 1, 8, 3, 6]);
  });
});
