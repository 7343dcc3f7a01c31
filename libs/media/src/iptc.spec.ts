import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readIptc } from './iptc.js';
import { extractEmbeddedMetadata } from './metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

// --- IIM and Photoshop resource builders ------------------------------------------------------------
function dataset(record: number, number: number, value: string | Buffer, claimed?: number): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  const head = Buffer.from([0x1c, record, number, 0, 0]);
  head.writeUInt16BE(claimed ?? bytes.length, 3);
  return Buffer.concat([head, bytes]);
}
/** An extended dataset: 0x8000 | n, then an n-byte length. */
function extendedDataset(record: number, number: number, lengthBytes: Buffer, value: Buffer): Buffer {
  const head = Buffer.from([0x1c, record, number, 0, 0]);
  head.writeUInt16BE(0x8000 | lengthBytes.length, 3);
  return Buffer.concat([head, lengthBytes, value]);
}
function resource(id: number, data: Buffer, claimed?: number, type = '8BIM'): Buffer {
  const head = Buffer.alloc(12);
  head.write(type, 0, 'latin1');
  head.writeUInt16BE(id, 4);
  head.writeUInt32BE(claimed ?? data.length, 8);
  return Buffer.concat([head, data, Buffer.alloc(data.length & 1)]);
}
const app13 = (...resources: Buffer[]) => Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), ...resources]);

const created = Buffer.concat([dataset(2, 0, '\0\x04'), dataset(2, 55, '20240224'), dataset(2, 60, '051233+0200')]);

/** A JPEG fixture with its APP13 replaced by (or given) this payload. */
function jpegWithApp13(payload: Buffer): string {
  const jpeg = readFileSync(fixture('iptc-no-offset.jpg'));
  const at = jpeg.indexOf(Buffer.from([0xff, 0xed]));
  const end = at + 2 + jpeg.readUInt16BE(at + 2);
  const head = Buffer.from([0xff, 0xed, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return scratch.write(`app13-${createHash('md5').update(payload).digest('hex')}.jpg`, Buffer.concat([jpeg.subarray(0, at), head, payload, jpeg.subarray(end)]));
}

describe('readIptc', () => {
  it('reads dates from an APP13 payload, bare resources and bare IIM alike', () => {
    const expected = { dateCreated: '20240224', timeCreated: '051233+0200', digitalCreationDate: null, digitalCreationTime: null, digestMatches: null, notes: [] };
    expect(readIptc(app13(resource(0x0404, created)), 'JPEG APP13')).toEqual(expected);
    expect(readIptc(resource(0x0404, created), 'PNG raw profile')).toEqual(expected);
    expect(readIptc(created, 'TIFF')).toEqual(expected);
  });

  it('skips named, odd-sized and other resources, keeps the first value of a repeated dataset', () => {
    const named = Buffer.concat([Buffer.from('8BIM', 'latin1'), Buffer.from([0x03, 0xed]), Buffer.from([3, 0x41, 0x42, 0x43]), Buffer.from([0, 0, 0, 3, 1, 2, 3, 0])]);
    const iim = Buffer.concat([created, dataset(2, 55, '19990101'), dataset(2, 62, '20240225'), dataset(2, 63, '101010')]);
    expect(readIptc(app13(named, resource(0x040c, Buffer.alloc(5)), resource(0x0404, iim)), 'JPEG APP13')).toMatchObject({
      dateCreated: '20240224',
      digitalCreationDate: '20240225',
      digitalCreationTime: '101010',
      notes: [],
    });
  });

  it("compares Photoshop's IPTCDigest with the block as it is (MWG)", () => {
    const md5 = createHash('md5').update(created).digest();
    expect(readIptc(app13(resource(0x0404, created), resource(0x0425, md5)), 'x').digestMatches).toBe(true);
    expect(readIptc(app13(resource(0x0404, created), resource(0x0425, Buffer.alloc(16, 7))), 'x').digestMatches).toBe(false);
    expect(readIptc(app13(resource(0x0404, created)), 'x').digestMatches).toBeNull();
  });

  it('reads an extended-length dataset', () => {
    const found = readIptc(Buffer.concat([extendedDataset(2, 120, Buffer.from([0, 0, 0, 3]), Buffer.from('abc')), dataset(2, 55, '20240224')]), 'x');
    expect(found).toMatchObject({ dateCreated: '20240224', notes: [] });
  });

  describe('hostile blocks: never throws, keeps what came before, says what it could not read', () => {
    it('a dataset claiming 32767 bytes, and one whose 0xFFFF length reads as a 32767-byte length field', () => {
      const long = readIptc(app13(resource(0x0404, Buffer.concat([dataset(2, 55, '20240224'), dataset(2, 60, '051233', 0x7fff)]))), 'JPEG APP13');
      expect(long.dateCreated).toBe('20240224');
      expect(long.timeCreated).toBeNull();
      expect(long.notes).toEqual(['IPTC (JPEG APP13): dataset 2:60 claims 32767 bytes, only 6 remain; the rest was not read']);
      const extended = readIptc(app13(resource(0x0404, Buffer.concat([dataset(2, 55, '20240224'), dataset(2, 60, '051233', 0xffff)]))), 'JPEG APP13');
      expect(extended.dateCreated).toBe('20240224');
      expect(extended.notes).toEqual(['IPTC (JPEG APP13): dataset 2:60 has an impossible extended length; the rest was not read']);
    });

    it('extended lengths of 2^64-1 bytes, of 9 length bytes, and cut short', () => {
      const huge = readIptc(Buffer.concat([dataset(2, 55, '20240224'), extendedDataset(2, 60, Buffer.alloc(8, 0xff), Buffer.from('051233'))]), 'x');
      expect(huge.dateCreated).toBe('20240224');
      expect(huge.notes.join()).toMatch(/dataset 2:60 claims \d+ bytes, only 6 remain/);
      const nine = readIptc(extendedDataset(2, 55, Buffer.alloc(9), Buffer.alloc(0)), 'x');
      expect(nine.notes.join()).toMatch(/dataset 2:55 has an impossible extended length/);
      const cut = readIptc(Buffer.concat([extendedDataset(2, 55, Buffer.from([0, 0, 0, 8]), Buffer.alloc(0))]).subarray(0, 7), 'x');
      expect(cut.notes.join()).toMatch(/impossible extended length/);
    });

    it('a date dataset too long to be a date', () => {
      const found = readIptc(dataset(2, 55, 'x'.repeat(5000)), 'x');
      expect(found.dateCreated).toBeNull();
      expect(found.notes.join()).toMatch(/dataset 2:55 is 5000 bytes long, not a date or time/);
    });

    it('a resource claiming 4 GiB, a truncated resource header, a bad resource type', () => {
      expect(readIptc(app13(resource(0x0404, created, 0xffffffff)), 'x').notes.join()).toMatch(/Photoshop resource 0x0404 claims 4294967295 bytes/);
      expect(readIptc(app13(Buffer.from('8BIM\x04\x04\x07abcdefg', 'latin1')), 'x').notes.join()).toMatch(/Photoshop resource 0x0404 is truncated/);
      expect(readIptc(app13(Buffer.from('XXXX\x04\x04\0\0\0\0\0\0', 'latin1')), 'x').notes.join()).toMatch(/bad Photoshop resource at byte 0/);
      // Zero padding after the last resource is normal.
      expect(readIptc(app13(resource(0x0404, created), Buffer.alloc(20)), 'x').notes).toEqual([]);
    });

    it('a bad dataset marker after good ones, and zero padding (no note)', () => {
      const bad = readIptc(Buffer.concat([created, Buffer.from([0x1d, 2, 55, 0, 1, 0x41])]), 'x');
      expect(bad).toMatchObject({ dateCreated: '20240224', timeCreated: '051233+0200' });
      expect(bad.notes.join()).toMatch(/bad dataset marker 0x1d at byte 36/);
      expect(readIptc(Buffer.concat([created, Buffer.alloc(12)]), 'x').notes).toEqual([]);
    });

    it('neither resources nor datasets', () => {
      expect(readIptc(Buffer.from('hello world'), 'x').notes).toEqual(['IPTC (x): neither Photoshop resources nor IIM datasets; not read']);
      expect(readIptc(Buffer.alloc(0), 'x').notes).toEqual([]);
    });

    it('reaches extracted.notes through a JPEG, and what was read before the damage still counts', async () => {
      const meta = await extractEmbeddedMetadata(
        jpegWithApp13(app13(resource(0x0404, Buffer.concat([dataset(2, 55, '20240224'), dataset(2, 60, '051233+0200'), dataset(2, 62, '20240224', 0x7fff)])))),
      );
      expect(meta).toMatchObject({ capturedAt: '2024-02-24T03:12:33.000Z', capturedAtOffset: '+02:00' });
      expect(meta?.notes).toEqual(['IPTC (JPEG APP13): dataset 2:62 claims 32767 bytes, only 8 remain; the rest was not read']);
    });

    it('never throws on random bytes or random damage', () => {
      const good = app13(resource(0x0404, created), resource(0x0425, Buffer.alloc(16)));
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), (random, edits) => {
          const damaged = Buffer.from(good);
          for (const [at, value] of edits) damaged[at % damaged.length] = value;
          for (const block of [Buffer.from(random), damaged, Buffer.concat([Buffer.from([0x1c]), Buffer.from(random)])]) {
            const found = readIptc(block, 'fuzz');
            expect(found.notes.length).toBeLessThanOrEqual(16);
          }
        }),
        { numRuns: 500, seed: 20240224 },
      );
    });
  });
});
