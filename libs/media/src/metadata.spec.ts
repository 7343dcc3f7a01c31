import { closeSync, copyFileSync, openSync, readdirSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { extractEmbeddedMetadata, hasNoEmbeddedMetadata, type ExtractedMetadata } from './metadata.js';
import { EXPECTED_METADATA, NO_METADATA } from '../../../test/fixtures/media/expected-metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';
import { buildTiff, canonCr3, flatJpeg, fujifilmRaf, panasonicRw2, phoneDng } from './test-support/tiff.js';

const none = NO_METADATA;
const expectations = EXPECTED_METADATA;
for (let n = 1; n <= 8; n++) {
  // Stored dimensions, before orientation: the turned cards (5..8) are stored 48x64.
  expectations[`orientation-${n}.jpg`] = {
    ...none,
    width: n >= 5 ? 48 : 64,
    height: n >= 5 ? 64 : 48,
    orientation: n,
  };
}

// Still images whose time, position or device sit outside EXIF (test/fixtures/media/README.md,
// "Time, position and device from every block"; generate-stills.mjs). Each is also compared with
// ExifTool field by field in exiftool-agreement.spec.ts. None may produce a note.
const card = { width: 64, height: 48 };
const STILL_BLOCKS: Record<string, ExtractedMetadata> = {
  'exif-after-idat.png': {
    ...none,
    ...card,
    capturedAt: '2022-08-14T18:47:09.480Z',
    capturedAtOffset: '+03:00',
    location: { lat: 46.4825, lon: 30.7233, altitudeM: 38.5 },
    device: { make: 'FUJIFILM', model: 'X-T30', software: 'Digital Camera X-T30 Ver3.00' },
  },
  'iptc-xmp-profiles.png': {
    ...none,
    ...card,
    capturedAt: '2022-02-24T02:50:00.000Z',
    capturedAtOffset: '+02:00',
    location: { lat: 50.005, lon: 36.2292, altitudeM: null },
    device: { make: 'Xiaomi', model: 'Redmi Note 8 Pro', software: null },
  },
  'iptc-offset.jpg': { ...none, ...card, capturedAt: '2024-02-24T03:12:33.000Z', capturedAtOffset: '+02:00' },
  'iptc-no-offset.jpg': { ...none, ...card, capturedAt: '2023-03-11T17:45:02' },
  'iptc-digital.jpg': { ...none, ...card, capturedAt: '2019-11-03T03:15:00.000Z', capturedAtOffset: '-04:00' },
  'xmp-offset.jpg': {
    ...none,
    ...card,
    capturedAt: '2023-10-07T03:30:00.500Z',
    capturedAtOffset: '+03:00',
    location: { lat: 31.7683, lon: 35.2137, altitudeM: 754 },
    device: { make: 'samsung', model: 'SM-S911B', software: 'S911BXXU3CXH1' },
  },
  'xmp-no-offset.jpg': { ...none, ...card, capturedAt: '2021-04-17T09:05:00', location: { lat: 31.559, lon: 35.4732, altitudeM: -430 } },
  'xmp-iptc-disagree.jpg': { ...none, ...card, capturedAt: '2024-02-24T03:12:33.000Z', capturedAtOffset: '+02:00' },
  'iptc-stale-digest.jpg': { ...none, ...card, capturedAt: '2024-02-24T04:00:00.000Z', capturedAtOffset: '+02:00' },
  'ciff-app0.jpg': { ...none, ...card, capturedAt: '2000-08-22T15:31:12', device: { make: 'Canon', model: 'Canon PowerShot S10', software: null } },
  'pictureinfo-app12.jpg': {
    ...none,
    ...card,
    capturedAt: '2000-08-22T15:31:12',
    device: { make: 'OLYMPUS OPTICAL CO.,LTD', model: 'C2000Z', software: null },
  },
  'pentax-makernote.jpg': { ...none, ...card, capturedAt: '2007-10-27T14:34:47', device: { make: 'PENTAX Corporation', model: 'PENTAX K10D', software: null } },
  'iptc.tif': {
    ...none,
    ...card,
    capturedAt: '2023-06-06T04:45:10.000Z',
    capturedAtOffset: '+03:00',
    device: { make: 'Canon', model: 'Canon EOS R6', software: null },
    orientation: 1,
  },
};

function expectSameMetadata(actual: ExtractedMetadata | null, expected: ExtractedMetadata): void {
  expect(actual).not.toBeNull();
  const { location, ...rest } = actual as ExtractedMetadata;
  const { location: expectedLocation, ...expectedRest } = expected;
  expect(rest).toEqual(expectedRest);
  if (expectedLocation === null) {
    expect(location).toBeNull();
  } else {
    expect(location).not.toBeNull();
    expect(location!.lat).toBeCloseTo(expectedLocation.lat, 6);
    expect(location!.lon).toBeCloseTo(expectedLocation.lon, 6);
    expect(location!.altitudeM).toBe(expectedLocation.altitudeM);
  }
}

describe('extractEmbeddedMetadata', () => {
  for (const [name, expected] of Object.entries(expectations)) {
    it(`reads ${name} field by field`, async () => {
      expectSameMetadata(await extractEmbeddedMetadata(fixture(name)), expected);
    });
  }

  for (const [name, expected] of Object.entries(STILL_BLOCKS)) {
    it(`reads ${name} (time, position or device outside EXIF) field by field, without notes`, async () => {
      expectSameMetadata(await extractEmbeddedMetadata(fixture(name)), expected);
    });
  }

  it('gives all four hemispheres their signs', async () => {
    const signs = await Promise.all(
      ['exif-ne-offset.jpg', 'exif-nw-no-offset.jpg', 'exif-se-digitized.jpg', 'exif-sw-offset.jpg'].map(
        async (name) => {
          const { lat, lon } = (await extractEmbeddedMetadata(fixture(name)))!.location!;
          return [Math.sign(lat), Math.sign(lon)];
        },
      ),
    );
    expect(signs).toEqual([
      [1, 1],
      [1, -1],
      [-1, 1],
      [-1, -1],
    ]);
  });

  describe('HEIF: the primary item\'s own properties', () => {
    it('gives the size as stored (ispe), before irot, as ExifTool does; a grid keeps its output size', async () => {
      const sizes = await Promise.all(
        ['hevc-irot.heic', 'avif-irot.avif', 'grid.heic', 'hevc-imir.heic', 'hevc-p3.heic'].map(async (name) => {
          const meta = await extractEmbeddedMetadata(fixture(name));
          return [name, meta?.width, meta?.height, meta?.orientation];
        }),
      );
      // libvips reports 64x48 for the turned card (after irot); ExifTool's ImageSize is 48 64.
      expect(sizes).toEqual([
        ['hevc-irot.heic', 48, 64, 6],
        ['avif-irot.avif', 48, 64, 6],
        ['grid.heic', 160, 120, 1],
        ['hevc-imir.heic', 64, 48, 2],
        ['hevc-p3.heic', 64, 48, null],
      ]);
    });

    it("notes an EXIF orientation that contradicts the image's own rotation, and keeps the EXIF value", async () => {
      const contradicted = await extractEmbeddedMetadata(fixture('hevc-exif-o6.heic'));
      expect(contradicted?.orientation).toBe(6);
      expect(contradicted?.notes).toEqual([
        "HEIF: EXIF Orientation 6 differs from the image's own rotation (irot: none); HEIF viewers, and the previews, follow the image's",
      ]);
      // irot angle 3 (270 degrees anticlockwise) is what EXIF 6 says: no note.
      for (const name of ['hevc-irot.heic', 'avif-irot.avif', 'grid.heic', 'exif.heic']) {
        expect((await extractEmbeddedMetadata(fixture(name)))?.notes, name).toBeUndefined();
      }
    });
  });

  it.each(['random.bin'])('returns null for %s, which holds nothing', async (name) => {
    expect(await extractEmbeddedMetadata(fixture(name))).toBeNull();
  });

  it("reads camera raws as ExifTool does: a DNG's full-resolution size (not its IFD0 thumbnail's), a CR3's EXIF in its boxes, a RAF's in its JPEG", async () => {
    const scratch = scratchDir();
    try {
      const dng = scratch.write('phone.dng', await phoneDng({ preview: await flatJpeg(1024, 768, '#c04020'), orientation: 6 }));
      expect(await extractEmbeddedMetadata(dng)).toEqual({ ...none, device: { make: 'Google', model: 'Pixel 8', software: null }, orientation: 6, width: 4032, height: 3024 });
      // A CR3 keeps its EXIF in CMT boxes: what ExifTool 12.57 reads of this file (its ImageSize
      // 6000 4000, DateTimeOriginal and OffsetTimeOriginal, GPSLatitude 49.9931666666667,
      // GPSLongitude 36.23, Orientation 8), and no duration (its tracks are pictures).
      const cr3 = scratch.write('IMG_0001.CR3', await canonCr3({ preview: await flatJpeg(1620, 1080, '#20a040'), orientation: 8 }));
      const read = await extractEmbeddedMetadata(cr3);
      expect(read).toMatchObject({
        capturedAt: '2024-02-24T03:12:33.000Z',
        capturedAtOffset: '+02:00',
        device: { make: 'Canon', model: 'Canon EOS R6', software: null },
        orientation: 8,
        width: 6000,
        height: 4000,
        durationS: null,
      });
      expect(read!.location!.lat).toBeCloseTo(49.9931666666667, 6);
      expect(read!.location!.lon).toBeCloseTo(36.23, 6);
      // A RAF's EXIF is the JPEG's it carries (here exif-ne-offset.jpg's: ExifTool reads the same).
      const raf = await extractEmbeddedMetadata(scratch.write('DSCF0001.RAF', fujifilmRaf(readFileSync(fixture('exif-ne-offset.jpg')))));
      const { capturedAt, capturedAtOffset, location, device } = EXPECTED_METADATA['exif-ne-offset.jpg']!;
      expect(raf).toMatchObject({ capturedAt, capturedAtOffset, device });
      expect(raf!.location!.lat).toBeCloseTo(location!.lat, 6);
      // Sizes as ExifTool's Composite:ImageSize gives them (checked with 12.57 on these layouts): a
      // RAF's RawImageCroppedSize from its own directory; a CR2's ExifImageWidth/Height, not IFD0's.
      const sized = await extractEmbeddedMetadata(scratch.write('DSCF0002.RAF', fujifilmRaf(readFileSync(fixture('exif-ne-offset.jpg')), { width: 6240, height: 4160 })));
      expect(sized).toMatchObject({ width: 6240, height: 4160 });
      const full = await flatJpeg(1536, 1024, '#20a040');
      const cr2 = buildTiff(
        {
          ifd0: [[256, 4, [1536]], [257, 4, [1024]], [259, 3, [6]], [271, 2, ['Canon']], [273, 4, ['@full']], [279, 4, [full.length]], [34665, 4, ['@exifIfd']]],
          exifIfd: [[0xa002, 4, [5760]], [0xa003, 4, [3840]]],
        },
        { full },
        { at8: Buffer.from('CR\x02\x00\x00\x00\x00\x00', 'latin1') },
      );
      expect(await extractEmbeddedMetadata(scratch.write('IMG_0001.CR2', cr2))).toMatchObject({ width: 5760, height: 3840 });
      // A Panasonic RW2: the sensor's area inside its borders, as ExifTool's ImageSize (5184x3888).
      const rw2 = panasonicRw2(await flatJpeg(1920, 1080, '#20a040'), { top: 0, left: 8, bottom: 3888, right: 5192 });
      expect(await extractEmbeddedMetadata(scratch.write('P1000001.RW2', rw2))).toMatchObject({ width: 5184, height: 3888, device: { make: 'Panasonic', model: 'DC-GH5' } });
    } finally {
      scratch.cleanup();
    }
  });

  it('does not depend on the host time zone (no Date revival in local time)', async () => {
    const saved = process.env.TZ;
    try {
      for (const zone of ['Pacific/Kiritimati', 'America/Sao_Paulo', 'UTC']) {
        process.env.TZ = zone;
        const noOffset = await extractEmbeddedMetadata(fixture('exif-nw-no-offset.jpg'));
        const withOffset = await extractEmbeddedMetadata(fixture('exif-sw-offset.jpg'));
        expect(noOffset?.capturedAt).toBe('2008-05-30T15:56:01');
        expect(withOffset?.capturedAt).toBe('2008-05-30T18:56:01.000Z');
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('lets a missing file fail loudly: that is a caller bug, not hostile content', async () => {
    await expect(extractEmbeddedMetadata(fixture('no-such-file.jpg'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses paths exifr would treat as a URL', async () => {
    await expect(extractEmbeddedMetadata('https://example.org/a.jpg')).rejects.toThrow(TypeError);
  });

  describe('open files', () => {
    const scratch = scratchDir();
    afterAll(() => scratch.cleanup());

    it('closes every file it opens, also those exifr cannot read (exifr issue #111)', async () => {
      const truncated = scratch.write('truncated.jpg', readFileSync(fixture('exif-ne-offset.jpg')).subarray(0, 300));
      const files = [
        scratch.write('random.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24))),
        scratch.write('one-byte.bin', Buffer.from([0xff])),
        truncated,
        fixture('document.pdf'),
        fixture('android.mp4'),
        fixture('exif-ne-offset.jpg'),
      ];
      // Linux lists a process's open descriptors here; CI and the servers run Linux.
      const openDescriptors = () => readdirSync('/proc/self/fd').length;
      await Promise.all(files.map((file) => extractEmbeddedMetadata(file)));
      const before = openDescriptors();
      for (let round = 0; round < 10; round++) await Promise.all(files.map((file) => extractEmbeddedMetadata(file)));
      expect(openDescriptors()).toBe(before);
    });
  });

  describe('large files', () => {
    const scratch = scratchDir();
    afterAll(() => scratch.cleanup());
    const GiB2 = 2 ** 31;

    it('reads a 2 GiB file in small chunks: fast, without buffering it', async () => {
      // Sparse files: 2 GiB long, a few KiB on disk.
      const jpeg = scratch.path('long.jpg');
      copyFileSync(fixture('exif-ne-offset.jpg'), jpeg);
      truncateSync(jpeg, GiB2);
      const movie = scratch.path('long.mp4');
      const header = readFileSync(fixture('movie-header.mp4'));
      const mdat = Buffer.alloc(16);
      mdat.writeUInt32BE(1, 0); // 64-bit size follows
      mdat.write('mdat', 4, 'latin1');
      mdat.writeBigUInt64BE(BigInt(GiB2), 8);
      const fd = openSync(movie, 'w');
      writeSync(fd, header.subarray(0, 24), 0, 24, 0); // ftyp
      writeSync(fd, mdat, 0, 16, 24);
      const moov = header.subarray(24 + 8 + 1024);
      writeSync(fd, moov, 0, moov.length, 24 + GiB2); // moov after 2 GiB of media data
      closeSync(fd);

      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      expect((await extractEmbeddedMetadata(jpeg))?.capturedAt).toBe('2008-05-30T12:56:01.250Z');
      expect((await extractEmbeddedMetadata(movie))?.durationS).toBe(12.5);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    });
  });

  describe('hostile input', () => {
    const scratch = scratchDir();
    afterAll(() => scratch.cleanup());

    const sources = [
      'exif-ne-offset.jpg',
      'exif.png',
      'exif.webp',
      'exif.tif',
      'exif.heic',
      'grid.heic',
      'hevc-irot.heic',
      'hevc-p3.heic',
      'movie-header.mp4',
      'apple.mov',
      'clip.webm',
      'document.pdf',
      'camera-idit.avi',
      'dvr-wmv2.wmv',
      'document-rc4-128.pdf',
      'document-aes256-objstm.pdf',
      'exif-after-idat.png',
      'iptc-xmp-profiles.png',
      'iptc-offset.jpg',
      'xmp-offset.jpg',
      'ciff-app0.jpg',
      'pictureinfo-app12.jpg',
      'pentax-makernote.jpg',
      'iptc.tif',
    ];

    it('never throws on any truncation of a metadata-bearing file', async () => {
      for (const name of sources) {
        const bytes = readFileSync(fixture(name));
        const cuts = new Set([0, 1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 200, 300, 400, 512, bytes.length >> 1, bytes.length - 1]);
        for (const cut of cuts) {
          const file = scratch.write(`cut-${cut}-${name}`, bytes.subarray(0, Math.min(cut, bytes.length)));
          const result = await extractEmbeddedMetadata(file);
          expect(result === null || typeof result === 'object').toBe(true);
        }
      }
    });

    it('never throws when metadata bytes are overwritten with garbage', async () => {
      const originals = sources.map((name) => readFileSync(fixture(name)));
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: originals.length - 1 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 24 }),
          async (which, edits) => {
            const bytes = Buffer.from(originals[which]);
            // Damage the first 600 bytes, where headers, IFDs and offsets live.
            for (const [at, value] of edits) bytes[at % Math.min(600, bytes.length)] = value;
            const file = scratch.write(`fuzz-${run++}`, bytes);
            const result = await extractEmbeddedMetadata(file);
            if (result?.location) {
              expect(Math.abs(result.location.lat)).toBeLessThanOrEqual(90);
              expect(Math.abs(result.location.lon)).toBeLessThanOrEqual(180);
            }
            if (result?.orientation != null) expect(result.orientation).toBeGreaterThanOrEqual(1);
          },
        ),
        { numRuns: 150, seed: 20080530 },
      );
    });
  });
});

describe('hasNoEmbeddedMetadata', () => {
  it.each([
    ['orientation-6.jpg', true],
    ['scene-a.jpg', true],
    ['bomb.png', true],
    ['movie-header.mp4', false],
    ['clip.mkv', true],
    ['not-an-image.pdf', true],
    ['android.mp4', false],
    ['apple.mov', false],
    ['voice.m4a', false],
    ['clip.webm', false],
    ['document.pdf', false],
    ['gps-below-sea-level.jpg', false],
    ['gps-empty-block.jpg', false],
    ['device-padded.jpg', false],
    ['exif.heic', false],
    ['iptc-no-offset.jpg', false],
    ['ciff-app0.jpg', false],
    ['xmp-no-offset.jpg', false],
  ])('%s -> %s', async (name, expected) => {
    expect(hasNoEmbeddedMetadata(await extractEmbeddedMetadata(fixture(name)))).toBe(expected);
  });

  it('is true for null and false as soon as one of time, location, device is present', () => {
    expect(hasNoEmbeddedMetadata(null)).toBe(true);
    expect(hasNoEmbeddedMetadata(none)).toBe(true);
    expect(hasNoEmbeddedMetadata({ ...none, width: 10, height: 10, orientation: 3, durationS: 4 })).toBe(true);
    expect(hasNoEmbeddedMetadata({ ...none, capturedAt: '2020-01-01T00:00:00' })).toBe(false);
    expect(hasNoEmbeddedMetadata({ ...none, location: { lat: 1, lon: 1, altitudeM: null } })).toBe(false);
    expect(hasNoEmbeddedMetadata({ ...none, device: { make: 'X', model: null, software: null } })).toBe(false);
  });
});
