import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { crc32, deflateSync } from 'node:zlib';
import type * as Exifr from 'exifr';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { extractEmbeddedMetadata } from './metadata.js';
import { readPngMetadata } from './png-chunks.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const exifr = createRequire(import.meta.url)('exifr') as typeof Exifr;
const scratch = scratchDir();
afterAll(() => scratch.cleanup());
let counter = 0;
const write = (bytes: Buffer) => scratch.write(`png-${counter++}.png`, bytes);

async function read(bytes: Buffer) {
  const handle = await open(write(bytes), 'r');
  try {
    return await readPngMetadata(handle, bytes.length);
  } finally {
    await handle.close();
  }
}

// --- chunk builders ------------------------------------------------------------------------------
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A chunk header claiming `claimed` bytes, followed by whatever is given. */
function lyingChunk(type: string, claimed: number, ...rest: Buffer[]): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(claimed, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, ...rest]);
}

interface Chunk {
  type: string;
  start: number;
  end: number;
}

function chunksOf(png: Buffer): Chunk[] {
  const out: Chunk[] = [];
  for (let at = 8; at + 12 <= png.length; ) {
    const length = png.readUInt32BE(at);
    out.push({ type: png.toString('latin1', at + 4, at + 8), start: at, end: at + 12 + length });
    at += 12 + length;
  }
  return out;
}

const source = readFileSync(fixture('exif-after-idat.png'));
const sourceChunks = chunksOf(source);
const exifChunk = (() => {
  const c = sourceChunks.find((x) => x.type === 'eXIf')!;
  return source.subarray(c.start, c.end);
})();
const exifPayload = exifChunk.subarray(8, exifChunk.length - 4);
const xmpPacket = readFileSync(fixture('xmp-itxt.png'), 'latin1').match(/<\?xpacket begin[\s\S]*?<\?xpacket end=['"][rw]['"]\?>/)![0];

/** The card PNG with `extra` chunks spliced in after IHDR (`where: 'head'`) or before IEND. */
function withChunks(where: 'head' | 'tail', ...extra: Buffer[]): Buffer {
  const bare = Buffer.concat(sourceChunks.filter((c) => c.type !== 'eXIf' && c.type !== 'tEXt').map((c) => source.subarray(c.start, c.end)));
  const pngChunks = chunksOf(Buffer.concat([source.subarray(0, 8), bare]));
  const body = Buffer.concat([source.subarray(0, 8), bare]);
  const at = where === 'head' ? pngChunks[0].end : pngChunks[pngChunks.length - 1].start;
  return Buffer.concat([body.subarray(0, at), ...extra, body.subarray(at)]);
}

const iTXt = (keyword: string, text: Buffer, compressed = false) =>
  chunk('iTXt', Buffer.concat([Buffer.from(`${keyword}\0`, 'latin1'), Buffer.from([compressed ? 1 : 0, 0]), Buffer.from('\0\0'), compressed ? deflateSync(text) : text]));
const zTXt = (keyword: string, text: Buffer, method = 0) => chunk('zTXt', Buffer.concat([Buffer.from(`${keyword}\0`, 'latin1'), Buffer.from([method]), deflateSync(text)]));
const tEXt = (keyword: string, text: string) => chunk('tEXt', Buffer.from(`${keyword}\0${text}`, 'latin1'));
/** ImageMagick's raw profile text: "\n<name>\n<8-wide length>\n<hex, 72 per line>\n". */
function rawProfile(name: string, bytes: Buffer): Buffer {
  const hex = bytes.toString('hex').match(/.{1,72}/g)!.join('\n');
  return Buffer.from(`\n${name}\n${String(bytes.length).padStart(8)}\n${hex}\n`, 'latin1');
}

describe('readPngMetadata', () => {
  it('reads the EXIF of an eXIf chunk written after IDAT, as ImageMagick writes it', async () => {
    const found = await read(source);
    expect(found.exif?.toString('latin1', 0, 4)).toBe('MM\0*');
    expect(found).toMatchObject({ width: 64, height: 48, notes: [] });
  });

  it('finds eXIf after megabytes of image data, where exifr and libvips stop looking', async () => {
    const noise = Buffer.alloc(600 * 600 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const big = await sharp(noise, { raw: { width: 600, height: 600, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    const file = write(Buffer.concat([big.subarray(0, big.length - 12), exifChunk, big.subarray(big.length - 12)]));
    expect(big.length).toBeGreaterThan(1_000_000);
    const exifrOptions = { tiff: true, exif: true, gps: true, silentErrors: true, chunked: true, mergeOutput: false } as Parameters<typeof exifr.parse>[1];
    const exifrAlone = (await exifr.parse(file, exifrOptions)) as Record<string, unknown> | undefined;
    expect(exifrAlone?.ifd0).toBeUndefined();
    expect((await sharp(file).metadata()).exif).toBeUndefined();

    const started = performance.now();
    const meta = await extractEmbeddedMetadata(file);
    expect(performance.now() - started).toBeLessThan(500);
    expect(meta).toMatchObject({
      capturedAt: '2022-08-14T18:47:09.480Z',
      capturedAtOffset: '+03:00',
      location: { lat: 46.4825, lon: 30.7233, altitudeM: 38.5 },
      device: { make: 'FUJIFILM', model: 'X-T30', software: 'Digital Camera X-T30 Ver3.00' },
      width: 600,
      height: 600,
    });
    expect(meta?.notes).toBeUndefined();
  });

  it('accepts an eXIf payload that starts with the JPEG "Exif\\0\\0" header', async () => {
    const found = await read(withChunks('head', chunk('eXIf', Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exifPayload]))));
    expect(found.exif?.toString('latin1', 0, 4)).toBe('MM\0*');
  });

  it('reads XMP from iTXt (plain and compressed), zTXt and tEXt, and hex raw profiles', async () => {
    const xmp = Buffer.from(xmpPacket, 'utf8');
    for (const extra of [
      iTXt('XML:com.adobe.xmp', xmp),
      iTXt('XML:com.adobe.xmp', xmp, true),
      zTXt('XML:com.adobe.xmp', xmp),
      tEXt('XML:com.adobe.xmp', xmpPacket),
      zTXt('Raw profile type xmp', rawProfile('xmp', xmp)),
      tEXt('Raw profile type APP1', rawProfile('APP1', Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), xmp])).toString('latin1')),
    ]) {
      const found = await read(withChunks('tail', extra));
      expect(found.xmp).toContain('photoshop:DateCreated');
      expect(found.notes).toEqual([]);
    }
  });

  it('reads EXIF from an older ImageMagick\'s "Raw profile type exif" and IPTC from "8bim"/"iptc"', async () => {
    const exif = await read(withChunks('head', zTXt('Raw profile type exif', rawProfile('exif', Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exifPayload])))));
    expect(exif.exif?.equals(exifPayload)).toBe(true);
    const meta = await extractEmbeddedMetadata(write(withChunks('head', zTXt('Raw profile type exif', rawProfile('exif', exifPayload)))));
    expect(meta?.capturedAt).toBe('2022-08-14T18:47:09.480Z');
    // An eXIf chunk wins over the raw profile, whichever comes first.
    const both = await read(withChunks('tail', zTXt('Raw profile type exif', rawProfile('exif', Buffer.from('MM\0*\0\0\0\x08\0\0', 'latin1'))), exifChunk));
    expect(both.exif?.equals(exifPayload)).toBe(true);

    const iim = Buffer.from('1c0237000832303232303232341c023c000b3034353030302b30323030', 'hex');
    expect((await read(withChunks('head', tEXt('Raw profile type iptc', rawProfile('iptc', iim).toString('latin1'))))).iptc?.equals(iim)).toBe(true);
  });

  describe('hostile chunks: never throws, says what it could not read', () => {
    it('a chunk claiming 2^31 bytes (over PNG\'s limit) or 2^32-1', async () => {
      for (const claimed of [2 ** 31, 2 ** 32 - 1]) {
        const found = await read(withChunks('head', lyingChunk('eXIf', claimed, exifPayload)));
        expect(found.exif).toBeNull();
        expect(found.notes.join('\n')).toMatch(/'eXIf' chunk at byte 33 claims \d+ bytes, over PNG's limit of 2\^31-1/);
      }
    });

    it('a chunk claiming more bytes than the file holds, and a file cut inside a chunk', async () => {
      const lying = await read(withChunks('head', lyingChunk('eXIf', 2 ** 31 - 1, exifPayload)));
      expect(lying.notes.join('\n')).toMatch(/'eXIf' chunk at byte 33 claims 2147483647 bytes, past the end of the file; not read/);
      const eXIfAt = sourceChunks.find((c) => c.type === 'eXIf')!;
      for (const cut of [eXIfAt.start + 4, eXIfAt.start + 20, eXIfAt.end - 1]) {
        const found = await read(source.subarray(0, cut));
        expect(found.exif).toBeNull();
        expect(found.notes.length).toBeGreaterThan(0);
      }
      const meta = await extractEmbeddedMetadata(write(source.subarray(0, eXIfAt.end - 1)));
      expect(meta?.notes?.join('\n')).toMatch(/PNG: 'eXIf' chunk at byte \d+ claims 448 bytes, past the end of the file; not read/);
      expect(meta?.capturedAt).toBeNull();
    });

    it('a metadata chunk whose CRC fails is not used', async () => {
      const damaged = Buffer.from(exifChunk);
      damaged[damaged.length - 1] ^= 0xff;
      const meta = await extractEmbeddedMetadata(write(withChunks('tail', damaged)));
      expect(meta?.capturedAt).toBeNull();
      expect(meta?.device).toBeNull();
      expect(meta?.notes).toEqual([expect.stringMatching(/^PNG: 'eXIf' chunk at byte \d+ fails its CRC \(damaged\); not read$/)]);
    });

    it('an eXIf that is no TIFF, a keyword-less text chunk, a bad iTXt, an unknown compression', async () => {
      const found = await read(
        withChunks(
          'tail',
          chunk('eXIf', Buffer.from('not a tiff at all')),
          chunk('tEXt', Buffer.from('\0no keyword')),
          chunk('iTXt', Buffer.from('XML:com.adobe.xmp\0\0')),
          zTXt('XML:com.adobe.xmp', Buffer.from('x'), 7),
          chunk('zTXt', Buffer.from('XML:com.adobe.xmp\0\0not deflate data')),
        ),
      );
      expect(found.exif).toBeNull();
      expect(found.xmp).toBeNull();
      const notes = found.notes.join('\n');
      expect(notes).toMatch(/'eXIf' chunk at byte \d+ does not hold an EXIF \(TIFF\) structure/);
      expect(notes).toMatch(/'tEXt' chunk at byte \d+ has no valid keyword/);
      expect(notes).toMatch(/'iTXt' chunk at byte \d+ is malformed/);
      expect(notes).toMatch(/'zTXt' chunk at byte \d+ uses an unknown compression method/);
      expect(notes).toMatch(/'zTXt' chunk at byte \d+ does not decompress/);
    });

    it('a compressed chunk that inflates past 4 MiB (a zip bomb) is not inflated', async () => {
      const bomb = zTXt('XML:com.adobe.xmp', Buffer.alloc(8 * 1024 * 1024, 0x20));
      expect(bomb.length).toBeLessThan(100_000);
      const found = await read(withChunks('head', bomb));
      expect(found.xmp).toBeNull();
      expect(found.notes.join('\n')).toMatch(/inflates past 4194304 bytes; not read/);
    });

    it('a raw profile of megabytes of blanks is refused at once (its header is read from its first KiB only)', async () => {
      const found = await read(withChunks('head', zTXt('Raw profile type exif', Buffer.alloc(3 * 1024 * 1024, 0x20))));
      expect(found.exif).toBeNull();
      expect(found.notes.join('\n')).toMatch(/\("Raw profile type exif"\) is not a readable hex profile; not read/);
    }, 5000);

    it('an XMP packet of megabytes of nested elements is not given to the XMP parser, and says so', async () => {
      const packet = Buffer.from(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>${'<a:b>'.repeat(400_000)}`, 'utf8');
      const meta = await extractEmbeddedMetadata(write(withChunks('head', iTXt('XML:com.adobe.xmp', packet, true))));
      expect(meta?.notes).toContain('XMP: the packet could not be parsed (or is over 128 KiB)');
    }, 5000);

    it('raw profiles with a wrong length or hex that is not hex', async () => {
      const found = await read(
        withChunks('head', tEXt('Raw profile type exif', '\nexif\n     999\n4d4d002a\n'), tEXt('Raw profile type iptc', '\niptc\n       4\nzzzzzzzz\n')),
      );
      expect(found.exif).toBeNull();
      expect(found.iptc).toBeNull();
      expect(found.notes.filter((n) => /is not a readable hex profile/.test(n))).toHaveLength(2);
    });

    it('garbage in place of a chunk header stops the walk with a note', async () => {
      const found = await read(withChunks('head', Buffer.from('\0\0\0\x04\x01\x02\x03\x04abcdefgh')));
      expect(found.notes.join('\n')).toMatch(/unreadable chunk header at byte 33/);
    });

    it('thousands of tiny chunks cost a few reads, and the walk is bounded', async () => {
      const tiny = Buffer.concat(Array.from({ length: 20_000 }, () => chunk('tIME', Buffer.alloc(7))));
      const started = performance.now();
      const found = await read(withChunks('head', tiny, exifChunk));
      expect(performance.now() - started).toBeLessThan(1000);
      expect(found.exif?.equals(exifPayload)).toBe(true);
    });

    it('never throws on random damage to any PNG fixture', async () => {
      const originals = ['exif-after-idat.png', 'iptc-xmp-profiles.png', 'xmp-itxt.png', 'exif.png'].map((n) => readFileSync(fixture(n)));
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: originals.length - 1 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
          fc.option(fc.nat(), { nil: undefined }),
          async (which, edits, cut) => {
            const bytes = Buffer.from(originals[which]);
            for (const [at, value] of edits) bytes[at % bytes.length] = value;
            const damaged = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
            const found = await read(damaged);
            expect(Array.isArray(found.notes)).toBe(true);
            const meta = await extractEmbeddedMetadata(write(damaged));
            expect(meta === null || typeof meta === 'object').toBe(true);
          },
        ),
        { numRuns: 120, seed: 20220814 },
      );
    });
  });
});
