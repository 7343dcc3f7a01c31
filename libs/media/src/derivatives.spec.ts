import exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { configureSharp, createDerivatives, makesPicture, PREVIEW_SIZE, THUMBNAIL_SIZE } from './derivatives.js';
import { readFileSync } from 'node:fs';
import { UndecodableMediaError } from './errors.js';
import { hammingDistance } from './perceptual-hash.js';
import { decodeInSandbox } from './sandbox.js';
import { sniffMediaType } from './sniff.js';
import { buildAvi, withoutHuffmanTables } from './test-support/avi.js';
import { fixture, scratchDir } from './test-support/fixtures.js';
import { buildTiff, canonCr3, flatJpeg, fujifilmRaf, olympusOrf, panasonicRw2, phoneDng } from './test-support/tiff.js';

/** Bits between two pictures' hashes, both of which must have one. */
const distance = (a: string | null, b: string | null): number => {
  if (a === null || b === null) throw new Error('expected both pictures to have a perceptual hash');
  return hammingDistance(a, b);
};

const LIMIT = { maxInputPixels: 50_000_000 };

type Rgb = [number, number, number];

async function pixelsOf(jpeg: Buffer) {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    /** Colour at a point given as fractions of width and height. */
    at(fx: number, fy: number): Rgb {
      const x = Math.floor(fx * info.width);
      const y = Math.floor(fy * info.height);
      const i = (y * info.width + x) * info.channels;
      return [data[i], data[i + 1], data[i + 2]];
    },
  };
}

const isRed = ([r, g, b]: Rgb) => r > 200 && g < 70 && b < 70;
const isGreen = ([r, g, b]: Rgb) => r < 70 && g > 120 && b < 70;
const isWhite = ([r, g, b]: Rgb) => r > 220 && g > 220 && b > 220;

/** JPEG marker segments before the scan: which APPn/COM segments a file carries. */
function jpegSegments(jpeg: Buffer): number[] {
  const markers: number[] = [];
  let offset = 2;
  while (offset + 4 <= jpeg.length && jpeg[offset] === 0xff) {
    const marker = jpeg[offset + 1];
    if (marker === 0xda) break; // start of scan
    markers.push(marker);
    offset += 2 + jpeg.readUInt16BE(offset + 2);
  }
  return markers;
}

describe('createDerivatives', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  describe('orientation', () => {
    for (let n = 1; n <= 8; n++) {
      it(`turns orientation-${n}.jpg upright: red top-left, green top-right, white below`, async () => {
        const result = await createDerivatives(fixture(`orientation-${n}.jpg`), LIMIT);
        expect([result.width, result.height]).toEqual([64, 48]);
        for (const output of [result.thumbnail, result.preview]) {
          const image = await pixelsOf(output);
          expect([image.width, image.height]).toEqual([64, 48]);
          expect(isRed(image.at(0.12, 0.12))).toBe(true);
          expect(isGreen(image.at(0.88, 0.12))).toBe(true);
          expect(isWhite(image.at(0.12, 0.88))).toBe(true);
          expect(isWhite(image.at(0.88, 0.88))).toBe(true);
          expect(isWhite(image.at(0.5, 0.5))).toBe(true);
        }
      });
    }

    it('gives every orientation of the same card the same perceptual hash', async () => {
      const hashes = await Promise.all(
        [1, 2, 3, 4, 5, 6, 7, 8].map(async (n) => (await createDerivatives(fixture(`orientation-${n}.jpg`), LIMIT)).perceptualHash),
      );
      for (const hash of hashes) expect(distance(hash, hashes[0])).toBeLessThanOrEqual(2);
    });
  });

  describe('no metadata in derived images', () => {
    for (const name of ['metadata-rich.jpg', 'orientation-6.jpg', 'exif.png', 'xmp-itxt.png', 'exif.webp', 'exif.tif', 'exif.heic', 'grid.heic', 'hevc-irot.heic', 'avif-irot.avif', 'hevc-p3.heic']) {
      it(`strips everything from derivatives of ${name}`, async () => {
        const source = await sharp(fixture(name)).metadata();
        expect(Boolean(source.exif || source.xmp || source.icc || source.iptc || source.orientation)).toBe(true);

        const { thumbnail, preview } = await createDerivatives(fixture(name), LIMIT);
        for (const output of [thumbnail, preview]) {
          const meta = await sharp(output).metadata();
          expect(meta.format).toBe('jpeg');
          expect(meta.exif).toBeUndefined();
          expect(meta.xmp).toBeUndefined();
          expect(meta.icc).toBeUndefined();
          expect(meta.iptc).toBeUndefined();
          expect(meta.orientation).toBeUndefined();
          expect(meta.hasProfile).toBe(false);
          expect(meta.comments ?? []).toEqual([]);
          const tags = await exifr.parse(output, { tiff: true, exif: true, gps: true, xmp: true, iptc: true, icc: true, jfif: false });
          expect(tags).toBeUndefined();
          // Only SOI-adjacent JFIF (APP0), quantisation, Huffman and frame markers: no APP1-15, no COM.
          const markers = jpegSegments(output);
          expect(markers.filter((m) => (m >= 0xe1 && m <= 0xef) || m === 0xfe)).toEqual([]);
          expect(output.includes('Secret')).toBe(false);
        }
      });
    }

    it('converts a Display P3 original to sRGB instead of just dropping its profile', async () => {
      // metadata-rich.jpg holds sRGB red/green/blue/yellow bars re-expressed in Display P3.
      const storedValues = await sharp(fixture('metadata-rich.jpg'), { ignoreIcc: true }).raw().toBuffer();
      expect(Math.abs(storedValues[(60 * 160 + 20) * 3 + 1] - 0)).toBeGreaterThan(30); // P3 numbers differ
      const preview = await pixelsOf((await createDerivatives(fixture('metadata-rich.jpg'), LIMIT)).preview);
      const expected: Rgb[] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
      expected.forEach((colour, i) => {
        const actual = preview.at((i * 40 + 20) / 160, 0.5);
        for (let c = 0; c < 3; c++) expect(Math.abs(actual[c] - colour[c])).toBeLessThanOrEqual(16);
      });
    });
  });

  describe('sizes', () => {
    it('never upscales: a 64x48 original stays 64x48', async () => {
      const { thumbnail, preview } = await createDerivatives(fixture('orientation-1.jpg'), LIMIT);
      expect((await sharp(thumbnail).metadata()).width).toBe(64);
      expect((await sharp(preview).metadata()).width).toBe(64);
    });

    it(`fits a large original into ${PREVIEW_SIZE} and ${THUMBNAIL_SIZE} on the longest side`, async () => {
      const wide = scratch.path('wide.png');
      await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#336699' } }).png().toFile(wide);
      const tall = scratch.path('tall.jpg');
      await sharp({ create: { width: 900, height: 3000, channels: 3, background: '#993366' } }).jpeg().toFile(tall);

      const w = await createDerivatives(wide, LIMIT);
      expect([w.width, w.height]).toEqual([2000, 1000]);
      expect(await sharp(w.preview).metadata()).toMatchObject({ width: 1600, height: 800 });
      expect(await sharp(w.thumbnail).metadata()).toMatchObject({ width: 320, height: 160 });

      const t = await createDerivatives(tall, LIMIT);
      expect([t.width, t.height]).toEqual([900, 3000]);
      expect(await sharp(t.preview).metadata()).toMatchObject({ width: 480, height: 1600 });
      expect(await sharp(t.thumbnail).metadata()).toMatchObject({ width: 96, height: 320 });
    });

    it('flattens transparency onto white', async () => {
      const clear = scratch.path('clear.png');
      await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
        .png()
        .toFile(clear);
      const preview = await pixelsOf((await createDerivatives(clear, LIMIT)).preview);
      expect(isWhite(preview.at(0.5, 0.5))).toBe(true);
    });
  });

  describe('perceptual hash', () => {
    it('is none for a flat picture, which still gets its thumbnail and preview', async () => {
      const black = scratch.path('black.jpg');
      await sharp({ create: { width: 640, height: 480, channels: 3, background: '#000000' } }).jpeg().toFile(black);
      const grey = scratch.path('grey.png');
      await sharp({ create: { width: 300, height: 200, channels: 3, background: '#808080' } }).png().toFile(grey);
      for (const file of [black, grey]) {
        const made = await createDerivatives(file, LIMIT);
        expect(made.perceptualHash).toBeNull();
        expect((await sharp(made.thumbnail).metadata()).format).toBe('jpeg');
        expect((await sharp(made.preview).metadata()).format).toBe('jpeg');
      }
    });

    it('is 16 hex digits and stable for the same file', async () => {
      const a = await createDerivatives(fixture('scene-a.jpg'), LIMIT);
      const b = await createDerivatives(fixture('scene-a.jpg'), LIMIT);
      expect(a.perceptualHash).toMatch(/^[0-9a-f]{16}$/);
      expect(b.perceptualHash).toBe(a.perceptualHash);
    });

    it('stays within 6 bits for a resized, recompressed copy and for a PNG of the same scene', async () => {
      const original = (await createDerivatives(fixture('scene-a.jpg'), LIMIT)).perceptualHash;
      const copy = scratch.path('scene-a-small.jpg');
      await sharp(fixture('scene-a.jpg')).resize(100).jpeg({ quality: 40 }).toFile(copy);
      const copyHash = (await createDerivatives(copy, LIMIT)).perceptualHash;
      expect(distance(original, copyHash)).toBeLessThanOrEqual(6);
      const png = (await createDerivatives(fixture('png-named.jpg'), LIMIT)).perceptualHash;
      expect(distance(original, png)).toBeLessThanOrEqual(6);
    });

    it('is more than 10 bits away for a different picture', async () => {
      const a = (await createDerivatives(fixture('scene-a.jpg'), LIMIT)).perceptualHash;
      const b = (await createDerivatives(fixture('scene-b.jpg'), LIMIT)).perceptualHash;
      const card = (await createDerivatives(fixture('orientation-1.jpg'), LIMIT)).perceptualHash;
      expect(distance(a, b)).toBeGreaterThan(10);
      expect(distance(a, card)).toBeGreaterThan(10);
      expect(distance(b, card)).toBeGreaterThan(10);
    });
  });

  describe('failures', () => {
    async function failure(path: string, limit = LIMIT): Promise<UndecodableMediaError> {
      const error = await createDerivatives(path, limit).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UndecodableMediaError);
      return error as UndecodableMediaError;
    }

    it('refuses the decompression bomb by its declared size, fast and without allocating its pixels', async () => {
      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      const error = await failure(fixture('bomb.png'));
      const elapsed = performance.now() - started;
      expect(error.reason).toBe('too_many_pixels');
      expect(error.name).toBe('UndecodableMediaError');
      expect(elapsed).toBeLessThan(2000);
      // 20000x20000 would be 400 MB as grey, 1.2 GB as RGB.
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
    });

    it('applies maxInputPixels to ordinary images too', async () => {
      expect((await failure(fixture('scene-a.jpg'), { maxInputPixels: 160 * 120 - 1 })).reason).toBe('too_many_pixels');
      await expect(createDerivatives(fixture('scene-a.jpg'), { maxInputPixels: 160 * 120 })).resolves.toBeTruthy();
    });

    it('reports a truncated JPEG as corrupt (failOn error)', async () => {
      const error = await failure(fixture('truncated.jpg'));
      expect(error.reason).toBe('corrupt');
      expect(error.message).toMatch(/premature end/i);
    });

    it('reports a JPEG with a bogus Huffman table as corrupt', async () => {
      const bytes = Buffer.from(await sharp(fixture('scene-a.jpg')).jpeg({ quality: 95 }).toBuffer());
      const dht = bytes.indexOf(Buffer.from([0xff, 0xc4]));
      bytes.fill(0xff, dht + 5, dht + 21); // code-length counts summing far past 256
      const error = await failure(scratch.write('bogus-huffman.jpg', bytes));
      expect(error.reason).toBe('corrupt');
      expect(error.message).toMatch(/Huffman/);
    });

    it.each([
      ['not-an-image.pdf', 'PDF'],
      ['random.bin', 'random bytes'],
      ['movie-header.mp4', 'an MP4 without a video track'],
    ])('reports %s as unsupported_format (%s)', async (name) => {
      expect((await failure(fixture(name))).reason).toBe('unsupported_format');
    });

    it('refuses SVG even though libvips could render it', async () => {
      const svg = scratch.write('drawing.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
      const error = await failure(svg);
      expect(error.reason).toBe('unsupported_format');
      expect(error.message).toMatch(/svg/);
    });

    it('lets a missing file fail as an I/O error, not as undecodable media', async () => {
      const error = await createDerivatives(fixture('no-such-file.jpg'), LIMIT).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(UndecodableMediaError);
    });

    it('requires a positive integer pixel limit', async () => {
      for (const maxInputPixels of [0, -1, 1.5, Number.NaN, Infinity]) {
        await expect(createDerivatives(fixture('scene-a.jpg'), { maxInputPixels })).rejects.toThrow(RangeError);
      }
    });
  });
});

/** Asserts a derived JPEG carries nothing but pixels (the same checks as the still images above). */
async function expectNoMetadata(output: Buffer, label: string): Promise<void> {
  const meta = await sharp(output).metadata();
  expect(meta.format, label).toBe('jpeg');
  for (const key of ['exif', 'xmp', 'icc', 'iptc', 'orientation'] as const) expect(meta[key], `${label}: ${key}`).toBeUndefined();
  expect(meta.comments ?? [], label).toEqual([]);
  const tags = await exifr.parse(output, { tiff: true, exif: true, gps: true, xmp: true, iptc: true, icc: true, jfif: false });
  expect(tags, label).toBeUndefined();
  expect(jpegSegments(output).filter((m) => (m >= 0xe1 && m <= 0xef) || m === 0xfe), label).toEqual([]);
  expect(output.includes('Secret'), label).toBe(false);
}

/** The test card upright: red top-left, green top-right, white below, in thumbnail and preview. */
async function expectUprightCard(result: { thumbnail: Buffer; preview: Buffer }, size: [number, number], label: string): Promise<void> {
  for (const output of [result.thumbnail, result.preview]) {
    const image = await pixelsOf(output);
    expect([image.width, image.height], label).toEqual(size);
    expect(isRed(image.at(0.12, 0.12)), `${label} top-left ${image.at(0.12, 0.12)}`).toBe(true);
    expect(isGreen(image.at(0.88, 0.12)), `${label} top-right ${image.at(0.88, 0.12)}`).toBe(true);
    expect(isWhite(image.at(0.12, 0.88)), `${label} bottom-left`).toBe(true);
    expect(isWhite(image.at(0.88, 0.88)), `${label} bottom-right`).toBe(true);
  }
}

/** A copy of a HEIF with every `ispe` (declared image size) changed; nothing else touched. */
function withDeclaredSize(heif: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(heif);
  for (let at = copy.indexOf('ispe'); at >= 0; at = copy.indexOf('ispe', at + 4)) {
    copy.writeUInt32BE(width, at + 8);
    copy.writeUInt32BE(height, at + 12);
  }
  return copy;
}

describe('createDerivatives: camera raw files, by the JPEG they carry', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it('makes pictures of DNG, CR2, CR3, NEF, ARW, RW2, RAF and ORF items', () => {
    for (const type of ['image/x-adobe-dng', 'image/x-canon-cr2', 'image/x-canon-cr3', 'image/x-nikon-nef', 'image/x-sony-arw', 'image/x-panasonic-rw2', 'image/x-fujifilm-raf', 'image/x-olympus-orf']) {
      expect(makesPicture(type), type).toBe(true);
    }
  });

  it("draws a RAF from its JPEG, turned by the JPEG's own EXIF, and an RW2 from its JpgFromRaw", async () => {
    const raf = scratch.write('DSCF0001.RAF', fujifilmRaf(readFileSync(fixture('orientation-6.jpg'))));
    expect(await sniffMediaType(raf)).toBe('image/x-fujifilm-raf');
    const fuji = await createDerivatives(raf, LIMIT);
    expect([fuji.width, fuji.height]).toEqual([64, 48]);
    const image = await pixelsOf(fuji.preview);
    expect(isRed(image.at(0.12, 0.12))).toBe(true);
    expect(isGreen(image.at(0.88, 0.12))).toBe(true);
    const rw2 = scratch.write('P1000001.RW2', panasonicRw2(await flatJpeg(1920, 1080, '#20a040')));
    expect(await sniffMediaType(rw2)).toBe('image/x-panasonic-rw2');
    const panasonic = await createDerivatives(rw2, LIMIT);
    expect([panasonic.width, panasonic.height]).toEqual([1920, 1080]);
    expect(isGreen((await pixelsOf(panasonic.preview)).at(0.5, 0.5))).toBe(true);
  });

  it("draws an ORF from its maker note's preview, turned by IFD0's orientation, whatever IFD0's offset", async () => {
    // orientation-6.jpg's stored (turned) card at 25 times its size, larger than IFD1's thumbnail;
    // IFD0 after the data, not right after the header (the one layout file-type knows).
    const stored = await sharp(fixture('orientation-6.jpg')).resize(1200, 1600, { kernel: 'nearest' }).jpeg({ quality: 95 }).toBuffer();
    const file = scratch.write('P2240001.ORF', olympusOrf({ preview: stored, thumbnail: await flatJpeg(160, 120, '#2040c0'), orientation: 6, header: 'om-system' }));
    expect(await sniffMediaType(file)).toBe('image/x-olympus-orf');
    const result = await createDerivatives(file, LIMIT);
    expect([result.width, result.height]).toEqual([3472, 4640]);
    const image = await pixelsOf(result.preview);
    expect([image.width, image.height]).toEqual([1600, 1200]);
    expect(isRed(image.at(0.12, 0.12))).toBe(true);
    expect(isGreen(image.at(0.88, 0.12))).toBe(true);
  });

  it("draws a CR3 from its PRVW JPEG, turned by CMT1's orientation", async () => {
    // orientation-6.jpg's stored (turned) card at ten times its size, larger than the 160x120 THMB.
    const stored = await sharp(fixture('orientation-6.jpg')).resize(480, 640, { kernel: 'nearest' }).jpeg({ quality: 95 }).toBuffer();
    const file = scratch.write('IMG_0002.CR3', await canonCr3({ preview: stored, orientation: 6 }));
    expect(await sniffMediaType(file)).toBe('image/x-canon-cr3');
    const result = await createDerivatives(file, LIMIT);
    expect([result.width, result.height]).toEqual([4000, 6000]);
    const image = await pixelsOf(result.preview);
    expect([image.width, image.height]).toEqual([640, 480]);
    expect(isRed(image.at(0.12, 0.12))).toBe(true);
    expect(isGreen(image.at(0.88, 0.12))).toBe(true);
  });

  for (let n = 1; n <= 8; n++) {
    it(`turns a DNG's preview upright by IFD0's orientation ${n}, and reports the raw image's size upright`, async () => {
      // orientation-n.jpg's stored pixels, re-encoded without any metadata, as a DNG's preview.
      const stored = await sharp(fixture(`orientation-${n}.jpg`)).jpeg({ quality: 95 }).toBuffer();
      expect((await sharp(stored).metadata()).orientation).toBeUndefined();
      const size = await sharp(stored).metadata();
      const dng = await phoneDng({ preview: stored, orientation: n, raw: { width: size.width! * 10, height: size.height! * 10 } });
      const result = await createDerivatives(scratch.write(`o${n}.dng`, dng), LIMIT);
      expect([result.width, result.height]).toEqual([640, 480]);
      const image = await pixelsOf(result.preview);
      expect([image.width, image.height]).toEqual([64, 48]);
      expect(isRed(image.at(0.12, 0.12))).toBe(true);
      expect(isGreen(image.at(0.88, 0.12))).toBe(true);
      expect(isWhite(image.at(0.12, 0.88))).toBe(true);
    });
  }

  it("follows the JPEG's own orientation where it has one, and puts no metadata in what it derives", async () => {
    const dng = await phoneDng({ preview: readFileSync(fixture('orientation-6.jpg')), orientation: 1, raw: { width: 480, height: 640 } });
    const result = await createDerivatives(scratch.write('own.dng', dng), LIMIT);
    const image = await pixelsOf(result.preview);
    expect([image.width, image.height]).toEqual([64, 48]);
    expect(isRed(image.at(0.12, 0.12))).toBe(true);
    for (const output of [result.thumbnail, result.preview]) {
      const meta = await sharp(output).metadata();
      expect([meta.exif, meta.xmp, meta.icc, meta.orientation]).toEqual([undefined, undefined, undefined, undefined]);
    }
  });

  it('takes the smallest JPEG at least the preview size: a NEF with a thumbnail, a preview and a full-size JPEG', async () => {
    const [thumb, mid, full] = await Promise.all([flatJpeg(160, 120, '#2040c0'), flatJpeg(1620, 1080, '#20a040'), flatJpeg(6000, 4000, '#c02020')]);
    const nef = buildTiff(
      {
        ifd0: [[254, 4, [1]], [259, 3, [6]], [513, 4, ['@thumb']], [514, 4, [thumb.length]], [274, 3, [1]], [330, 4, ['@raw', '@fullIfd', '@midIfd']]],
        raw: [[254, 4, [0]], [256, 4, [6032]], [257, 4, [4032]], [259, 3, [34713]], [262, 3, [32803]]],
        fullIfd: [[254, 4, [1]], [259, 3, [6]], [513, 4, ['@full']], [514, 4, [full.length]]],
        midIfd: [[254, 4, [1]], [259, 3, [6]], [513, 4, ['@mid']], [514, 4, [mid.length]]],
      },
      { thumb, mid, full },
    );
    const result = await createDerivatives(scratch.write('camera.nef', nef), LIMIT);
    expect([result.width, result.height]).toEqual([6032, 4032]);
    const image = await pixelsOf(result.preview);
    expect([image.width, image.height]).toEqual([PREVIEW_SIZE, 1067]);
    expect(isGreen(image.at(0.5, 0.5))).toBe(true);
  });

  it("decodes a CR2's full-size JPEG, which libvips refuses as old-style JPEG in IFD0", async () => {
    const full = await flatJpeg(1536, 1024, '#20a040');
    const cr2 = buildTiff({ ifd0: [[256, 4, [1536]], [257, 4, [1024]], [258, 3, [8, 8, 8]], [259, 3, [6]], [271, 2, ['Canon']], [273, 4, ['@full']], [279, 4, [full.length]]] }, { full }, { at8: Buffer.from('CR\x02\x00\x00\x00\x00\x00', 'latin1') });
    const file = scratch.write('IMG_0001.CR2', cr2);
    expect(await sniffMediaType(file)).toBe('image/x-canon-cr2');
    await expect(sharp(file).raw().toBuffer()).rejects.toThrow(/compression/);
    const result = await createDerivatives(file, LIMIT);
    expect([result.width, result.height]).toEqual([1536, 1024]);
    expect(isGreen((await pixelsOf(result.preview)).at(0.5, 0.5))).toBe(true);
  });

  it("draws a raw without a JPEG from IFD0 where libvips reads it (a DNG's thumbnail), and refuses one it cannot", async () => {
    const bare = await createDerivatives(scratch.write('bare.dng', await phoneDng({ preview: null, orientation: 6 })), LIMIT);
    expect([bare.width, bare.height]).toEqual([3024, 4032]);
    const image = await pixelsOf(bare.preview);
    expect([image.width, image.height]).toEqual([192, 256]);
    expect(image.at(0.5, 0.5)[2]).toBeGreaterThan(150);
    // A NEF's IFD0 that is a JPEG pointer only (no size: libvips reads nothing), the JPEG missing.
    const nef = buildTiff({ ifd0: [[254, 4, [1]], [259, 3, [6]], [330, 4, ['@raw']]], raw: [[254, 4, [0]], [256, 4, [6032]], [257, 4, [4032]], [262, 3, [32803]]] }, {});
    await expect(createDerivatives(scratch.write('bare.nef', nef), LIMIT)).rejects.toMatchObject({ reason: 'unsupported_format', message: 'a camera raw file that carries no JPEG picture: its raw sensor data is not decoded' });
  });

  it('refuses a JPEG declaring more pixels than allowed before decoding it', async () => {
    const jpeg = Buffer.from(await flatJpeg(64, 48, '#ffffff'));
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(60000, sof + 5);
    jpeg.writeUInt16BE(60000, sof + 7);
    const bomb = scratch.write('bomb.dng', await phoneDng({ preview: jpeg }));
    await expect(createDerivatives(bomb, LIMIT)).rejects.toMatchObject({ reason: 'too_many_pixels', message: "the camera raw's JPEG declares 60000x60000, more than 50000000 pixels" });
  });
});

describe('createDerivatives: HEIF and AVIF', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it('decodes an HEVC HEIC whose pixels are stored turned: irot applied once, EXIF orientation 6 not applied again', async () => {
    // libvips hides the orientation of a HEIF (libheif applies irot itself); ExifTool shows
    // both: Rotation "Rotate 90 CW" (irot) and IFD0 Orientation "Rotate 90 CW" (the README).
    const source = await sharp(fixture('hevc-irot.heic')).metadata();
    expect(source).toMatchObject({ format: 'heif', compression: 'hevc' });
    expect(source.exif?.includes('iPhone 15')).toBe(true);
    const result = await createDerivatives(fixture('hevc-irot.heic'), LIMIT);
    expect([result.width, result.height]).toEqual([64, 48]);
    await expectUprightCard(result, [64, 48], 'hevc-irot.heic');
  });

  it('honours imir (a mirrored HEVC HEIC)', async () => {
    const result = await createDerivatives(fixture('hevc-imir.heic'), LIMIT);
    await expectUprightCard(result, [64, 48], 'hevc-imir.heic');
  });

  it('decodes the iPhone-like exif.heic that used to fail', async () => {
    const result = await createDerivatives(fixture('exif.heic'), LIMIT);
    await expectUprightCard(result, [64, 48], 'exif.heic');
  });

  it('decodes a HEIC laid out as iPhones write theirs: a grid of HEVC tiles cropped to its output size', async () => {
    // grid.heic: 3 x 2 tiles of 64 x 64 holding scene-a.jpg, cropped to 160 x 120 (generate-grid-heic.mjs).
    const grid = await createDerivatives(fixture('grid.heic'), LIMIT);
    expect([grid.width, grid.height]).toEqual([160, 120]);
    const jpeg = await createDerivatives(fixture('scene-a.jpg'), LIMIT);
    expect(distance(grid.perceptualHash, jpeg.perceptualHash)).toBeLessThanOrEqual(6);
    // The preview is the picture itself, not one tile or the tiles' uncropped mosaic.
    const [a, b] = await Promise.all([grid.preview, jpeg.preview].map((p) => sharp(p).resize(32, 24, { fit: 'fill' }).raw().toBuffer()));
    let difference = 0;
    for (let i = 0; i < a.length; i++) difference += Math.abs(a[i] - b[i]);
    expect(difference / a.length).toBeLessThan(8);
  });

  it('decodes AVIF with sharp, turned by irot once (EXIF orientation 6 beside it)', async () => {
    expect(await sharp(fixture('avif-irot.avif')).metadata()).toMatchObject({ format: 'heif', compression: 'av1' });
    const result = await createDerivatives(fixture('avif-irot.avif'), LIMIT);
    expect([result.width, result.height]).toEqual([64, 48]);
    await expectUprightCard(result, [64, 48], 'avif-irot.avif');
  });

  it('converts a Display P3 HEVC HEIC (decoded without its profile) to sRGB: pure red and green stay pure, no profile attached', async () => {
    // hevc-p3.heic: the card's sRGB red and green re-expressed in Display P3 (about 234,51,35 and
    // 117,251,76 as stored), with the profile in the primary item's 'colr' as iPhones store it.
    const stored = await sharp(fixture('hevc-p3.heic')).metadata();
    expect(stored).toMatchObject({ format: 'heif', compression: 'hevc' });
    expect(stored.icc?.length).toBeGreaterThan(0);
    const result = await createDerivatives(fixture('hevc-p3.heic'), LIMIT);
    expect([result.width, result.height]).toEqual([64, 48]);
    for (const [kind, output] of [['thumbnail', result.thumbnail], ['preview', result.preview]] as const) {
      const image = await pixelsOf(output);
      const red = image.at(0.12, 0.12);
      const green = image.at(0.88, 0.12);
      const expected: Array<[Rgb, Rgb, string]> = [
        [red, [255, 0, 0], 'red'],
        [green, [0, 255, 0], 'green'],
      ];
      for (const [actual, colour, name] of expected) {
        for (let c = 0; c < 3; c++) expect(Math.abs(actual[c] - colour[c]), `${kind} ${name} ${actual}`).toBeLessThanOrEqual(10);
      }
      expect(isWhite(image.at(0.5, 0.7))).toBe(true);
      const meta = await sharp(output).metadata();
      expect(meta.icc).toBeUndefined();
      expect(meta.hasProfile).toBe(false);
    }
  });

  it('still makes derivatives of a HEIC whose profile lcms cannot use, taking its pixels as sRGB (as before)', async () => {
    const bytes = Buffer.from(readFileSync(fixture('hevc-p3.heic')));
    const profile = bytes.indexOf('colrprof') + 8;
    const length = bytes.readUInt32BE(profile - 12) - 12;
    const variants: Record<string, (b: Buffer) => void> = {
      garbage: (b) => {
        for (let i = 0; i < length; i++) b[profile + i] = (i * 37 + 11) & 0xff;
      },
      'huge declared size': (b) => b.writeUInt32BE(0x7fffffff, profile),
      'tag offsets past the end': (b) => {
        for (let t = 0; t < 8; t++) b.writeUInt32BE(0xfffffff0, profile + 132 + t * 12 + 4);
      },
      'CMYK profile class': (b) => b.write('CMYK', profile + 16, 'latin1'),
    };
    for (const [name, damage] of Object.entries(variants)) {
      const copy = Buffer.from(bytes);
      damage(copy);
      const result = await createDerivatives(scratch.write(`bad-profile-${name.replace(/ /g, '-')}.heic`, copy), LIMIT);
      const red = (await pixelsOf(result.preview)).at(0.12, 0.12);
      // The stored Display P3 numbers, shown as sRGB: what every HEIC got before profiles were read.
      expect(red[0], `${name} ${red}`).toBeGreaterThan(200);
      expect(red[1], `${name} ${red}`).toBeGreaterThan(30);
      expect((await sharp(result.preview).metadata()).hasProfile).toBe(false);
    }
  });

  it('shows a HEIC with EXIF Orientation 6 but no irot as stored, as HEIF viewers do', async () => {
    // hevc-exif-o6.heic: orientation-6.jpg's turned pixels (48x64) by heif-enc, EXIF copied, no irot.
    const result = await createDerivatives(fixture('hevc-exif-o6.heic'), LIMIT);
    expect([result.width, result.height]).toEqual([48, 64]);
    expect(await sharp(result.preview).metadata()).toMatchObject({ width: 48, height: 64 });
  });

  it('carries no EXIF, GPS or XMP of the HEIC into its derivatives', async () => {
    const source = await sharp(fixture('hevc-irot.heic')).metadata();
    expect(source.exif?.includes('Apple')).toBe(true);
    expect(source.xmp?.includes('Secret source title')).toBe(true);
    const result = await createDerivatives(fixture('hevc-irot.heic'), LIMIT);
    for (const output of [result.thumbnail, result.preview]) await expectNoMetadata(output, 'hevc-irot.heic');
  });

  it('gives a stable perceptual hash, within 6 bits of the same scene as JPEG and far from another picture', async () => {
    const a = await createDerivatives(fixture('scene-a.heic'), LIMIT);
    const b = await createDerivatives(fixture('scene-a.heic'), LIMIT);
    expect(b.perceptualHash).toBe(a.perceptualHash);
    expect([a.width, a.height]).toEqual([160, 120]);
    const jpeg = (await createDerivatives(fixture('scene-a.jpg'), LIMIT)).perceptualHash;
    expect(distance(a.perceptualHash, jpeg)).toBeLessThanOrEqual(6);
    expect(distance(a.perceptualHash, (await createDerivatives(fixture('scene-b.jpg'), LIMIT)).perceptualHash)).toBeGreaterThan(10);
  });

  it('refuses a HEIC declaring 20000x20000 by its declared size, before decoding, fast and without allocating its pixels', async () => {
    const bomb = scratch.write('bomb.heic', withDeclaredSize(readFileSync(fixture('hevc-irot.heic')), 20000, 20000));
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const error = await createDerivatives(bomb, LIMIT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndecodableMediaError);
    expect((error as UndecodableMediaError).reason).toBe('too_many_pixels');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });

  it('applies maxInputPixels to HEIC at the pixel, in front of the sandbox and inside it', async () => {
    const error = await createDerivatives(fixture('hevc-irot.heic'), { maxInputPixels: 64 * 48 - 1 }).catch((e: unknown) => e);
    expect((error as UndecodableMediaError).reason).toBe('too_many_pixels');
    await expect(createDerivatives(fixture('hevc-irot.heic'), { maxInputPixels: 64 * 48 })).resolves.toBeTruthy();
    // The sandbox reads the declared size itself before decoding, whoever calls it.
    const inside = await decodeInSandbox('heif', fixture('hevc-irot.heic'), 64 * 48 - 1).catch((e: unknown) => e);
    expect((inside as UndecodableMediaError).reason).toBe('too_many_pixels');
  });

  it('reports a truncated HEIC as corrupt', async () => {
    const bytes = readFileSync(fixture('hevc-irot.heic'));
    const cut = scratch.write('cut.heic', bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const error = await createDerivatives(cut, LIMIT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndecodableMediaError);
    expect((error as UndecodableMediaError).reason).toBe('corrupt');
  });
});

describe('createDerivatives: video poster frames', () => {
  it('makes thumbnail and preview from the first frame of an H.264 MP4, at its size, without its metadata', async () => {
    const result = await createDerivatives(fixture('video-a.mp4'), LIMIT);
    expect([result.width, result.height]).toEqual([320, 240]);
    for (const output of [result.thumbnail, result.preview]) {
      expect(await sharp(output).metadata()).toMatchObject({ width: 320, height: 240 });
      await expectNoMetadata(output, 'video-a.mp4');
    }
    expect(result.perceptualHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('goes by the media type intake sniffed when given (no second sniff on this event loop)', async () => {
    expect((await createDerivatives(fixture('video-a.mp4'), { ...LIMIT, mediaType: 'video/mp4' })).width).toBe(320);
    const error = await createDerivatives(fixture('video-a.mp4'), { ...LIMIT, mediaType: 'application/octet-stream' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndecodableMediaError);
  });

  it('turns a video upright by its display matrix (a phone held upright)', async () => {
    const result = await createDerivatives(fixture('video-rotated.mp4'), LIMIT);
    expect([result.width, result.height]).toEqual([320, 240]);
    await expectUprightCard(result, [320, 240], 'video-rotated.mp4');
  });

  it('hashes a re-encoded copy (HEVC, smaller, lower bitrate) within 6 bits and another video more than 10 away', async () => {
    const a = await createDerivatives(fixture('video-a.mp4'), LIMIT);
    const again = await createDerivatives(fixture('video-a.mp4'), LIMIT);
    expect(again.perceptualHash).toBe(a.perceptualHash);
    const copy = await createDerivatives(fixture('video-a-reencoded.mp4'), LIMIT);
    expect([copy.width, copy.height]).toEqual([240, 180]);
    expect(distance(a.perceptualHash, copy.perceptualHash)).toBeLessThanOrEqual(6);
    const b = await createDerivatives(fixture('video-b.mp4'), LIMIT);
    expect(distance(a.perceptualHash, b.perceptualHash)).toBeGreaterThan(10);
  });

  it("makes the poster of MPEG-TS, as a camcorder's AVCHD .MTS (192-byte packets) and a dashcam's .TS (188) hold it: the MP4's picture and hash", async () => {
    const mp4 = await createDerivatives(fixture('video-a.mp4'), LIMIT);
    for (const name of ['video-a.m2ts', 'video-a.m2t']) {
      const result = await createDerivatives(fixture(name), { ...LIMIT, mediaType: await sniffMediaType(fixture(name)) });
      expect([result.width, result.height], name).toEqual([320, 240]);
      expect(result.perceptualHash, name).toBe(mp4.perceptualHash);
      await expectNoMetadata(result.preview, name);
    }
  });

  it("makes the poster of a compact camera's Motion JPEG AVI from its first frame, without its metadata", async () => {
    const result = await createDerivatives(fixture('camera-idit.avi'), { ...LIMIT, mediaType: 'video/vnd.avi' });
    expect([result.width, result.height]).toEqual([320, 240]);
    // The card of the fixtures' README: red top-left, green top-right, blue bottom-left.
    const image = await pixelsOf(result.preview);
    expect([isRed(image.at(0.12, 0.12)), isGreen(image.at(0.88, 0.12)), isWhite(image.at(0.88, 0.88))]).toEqual([true, true, true]);
    expect(image.at(0.12, 0.88)[2]).toBeGreaterThan(200);
    await expectNoMetadata(result.preview, 'camera-idit.avi');
  });

  it.each([
    ['dashcam-h264.avi', [320, 240]],
    ['camera-xvid.avi', [320, 240]],
    ['camcorder-dv.avi', [720, 576]],
    ['camcorder-mpeg2.vob', [320, 240]],
    ['clip-mpeg1.mpg', [320, 240]],
    ['dvr-wmv2.wmv', [320, 240]],
    ['clip-flv1.flv', [320, 240]],
  ])("makes the poster of AVI (H.264, Xvid, DV), MPEG program streams, WMV and Flash video: the MP4's picture (%s)", async (name, size) => {
    const mp4 = await createDerivatives(fixture('video-a.mp4'), LIMIT);
    const result = await createDerivatives(fixture(name), { ...LIMIT, mediaType: await sniffMediaType(fixture(name)) });
    expect([result.width, result.height]).toEqual(size);
    expect(distance(mp4.perceptualHash, result.perceptualHash)).toBeLessThanOrEqual(6);
    await expectNoMetadata(result.preview, name);
  });

  it('decodes a Motion JPEG frame stored without Huffman tables (the standard ones are meant), and says why an AVI gives no picture', async () => {
    const scratch = scratchDir();
    try {
      // Standard tables (no optimised coding), then taken out, as many cameras store MJPEG frames.
      const card = await sharp(fixture('orientation-1.jpg')).resize(320, 240, { kernel: 'nearest' }).jpeg({ quality: 90, optimiseCoding: false }).toBuffer();
      const frame = withoutHuffmanTables(card);
      expect(frame.includes(Buffer.from([0xff, 0xc4]))).toBe(false);
      const motionJpeg = (name: string, data: Buffer) => scratch.write(name, buildAvi([{ type: 'vids', codec: 'MJPG' }], [{ id: '00dc', data }]));
      const result = await createDerivatives(motionJpeg('mjpeg-no-dht.avi', frame), { ...LIMIT, mediaType: 'video/vnd.avi' });
      expect(result.perceptualHash).toBe((await createDerivatives(motionJpeg('mjpeg.avi', card), { ...LIMIT, mediaType: 'video/vnd.avi' })).perceptualHash);
      await expectUprightCard(result, [320, 240], 'mjpeg-no-dht.avi');

      const refusal = (file: string) => createDerivatives(file, { ...LIMIT, mediaType: 'video/vnd.avi' }).catch((e: unknown) => e);
      const audio = scratch.write('audio.avi', buildAvi([{ type: 'auds' }], [{ id: '00wb', data: Buffer.from('audio') }]));
      expect(await refusal(audio)).toMatchObject({ reason: 'unsupported_format', message: 'not readable as a video container (Invalid data found when processing input)' });
      const dv = scratch.write('dv.avi', buildAvi([{ type: 'vids', codec: 'dvsd' }], [{ id: '00dc', data: Buffer.alloc(64) }]));
      expect(await refusal(dv)).toMatchObject({ reason: 'corrupt', message: 'its first frames do not decode (dvvideo: could not find dv frame profile)' });
      const xvid = scratch.write('xvid.avi', buildAvi([{ type: 'vids', codec: 'XVID' }], [{ id: '00dc', data: Buffer.alloc(500, 7) }]));
      expect(await refusal(xvid)).toMatchObject({ reason: 'corrupt', message: 'its first frames do not decode (mpeg4: header damaged)' });
      const absurd = buildAvi([{ type: 'vids', codec: 'MJPG' }], [{ id: '00dc', data: card }]);
      absurd.writeUInt32LE(0xfffffff0, absurd.indexOf('00dc') + 4); // a frame of 4 GiB in a file of 10 KB
      expect(await refusal(scratch.write('absurd.avi', absurd))).toMatchObject({ reason: 'corrupt', message: 'its video ends before a whole frame' });
      for (const data of [card.subarray(0, 200), Buffer.from('not a picture')]) {
        expect(await refusal(motionJpeg('broken.avi', data))).toMatchObject({ reason: 'corrupt', message: expect.stringMatching(/^its first frames do not decode \(/) });
      }
    } finally {
      scratch.cleanup();
    }
  });

  it('skips a black leader: the poster of a fade-in is the first frame that is not flat', async () => {
    const result = await createDerivatives(fixture('video-fade.mp4'), LIMIT);
    const { data } = await sharp(result.preview).greyscale().raw().toBuffer({ resolveWithObject: true });
    const sorted = [...data].sort((x, y) => x - y);
    expect(sorted[Math.floor(sorted.length * 0.95)]! - sorted[Math.floor(sorted.length * 0.05)]!).toBeGreaterThan(24);
    expect(result.perceptualHash).not.toBe('0000000000000000');
  });

  describe('hostile videos fail cleanly, within their limits, and the next one is decoded', () => {
    it.each([
      ['video-truncated.mp4', 'corrupt', /^MP4\/MOV without its index \(moov atom not found\): cut short\?$/],
      ['video-absurd-dimensions.mp4', 'too_many_pixels', /16000x16000/],
      ['video-endless.mp4', 'limit_exceeded', /memory|MiB/],
      ['movie-header.mp4', 'unsupported_format', /no video stream/],
    ])('%s: %s', async (name, reason, message) => {
      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      const error = await createDerivatives(fixture(name), { maxInputPixels: 100_000_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UndecodableMediaError);
      expect((error as UndecodableMediaError).reason).toBe(reason);
      expect((error as UndecodableMediaError).message).toMatch(message);
      expect(performance.now() - started).toBeLessThan(15_000);
      // The decoder's memory went with its worker.
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024);
      await expect(createDerivatives(fixture('video-b.mp4'), LIMIT)).resolves.toMatchObject({ width: 320, height: 240 });
    });

    it('stops a decode that outlives its time limit, even inside the decoder, and goes on', async () => {
      const started = performance.now();
      // 20 ms: less than the decoder needs for this clip even warm (a whole warm run takes about 90 ms).
      const error = await createDerivatives(fixture('video-fade.mp4'), { ...LIMIT, decodeLimits: { timeLimitMs: 20, memoryLimitBytes: 1 << 30 } }).catch(
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect((error as UndecodableMediaError).reason).toBe('limit_exceeded');
      expect((error as UndecodableMediaError).message).toMatch(/longer than 0.02 s/);
      expect(elapsed).toBeLessThan(1500);
      await expect(createDerivatives(fixture('video-fade.mp4'), LIMIT)).resolves.toMatchObject({ width: 320, height: 240 });
    });

    it('stops a decoder that needs more memory than allowed', async () => {
      const error = await createDerivatives(fixture('video-a.mp4'), { ...LIMIT, decodeLimits: { timeLimitMs: 60_000, memoryLimitBytes: 8 * 1024 * 1024 } }).catch(
        (e: unknown) => e,
      );
      expect((error as UndecodableMediaError).reason).toBe('limit_exceeded');
      expect((error as UndecodableMediaError).message).toMatch(/more than 8 MiB/);
    });

    it('refuses a video whose frames are larger than maxInputPixels before decoding them', async () => {
      const error = await createDerivatives(fixture('video-a.mp4'), { maxInputPixels: 320 * 240 - 1 }).catch((e: unknown) => e);
      expect((error as UndecodableMediaError).reason).toBe('too_many_pixels');
      await expect(createDerivatives(fixture('video-a.mp4'), { maxInputPixels: 320 * 240 })).resolves.toBeTruthy();
    });
  });
});

describe('configureSharp', () => {
  it('sets libvips concurrency and disables the cache', () => {
    configureSharp({ concurrency: 2 });
    expect(sharp.concurrency()).toBe(2);
    expect(sharp.cache()).toMatchObject({ memory: { max: 0 }, files: { max: 0 }, items: { max: 0 } });
    configureSharp();
    expect(sharp.concurrency()).toBe(1);
  });
});
