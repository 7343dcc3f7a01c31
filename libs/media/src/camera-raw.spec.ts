import { open } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readCameraRawLayout } from './camera-raw.js';
import { fixture, scratchDir } from './test-support/fixtures.js';
import { readFileSync } from 'node:fs';
import { buildTiff, canonCr3, flatJpeg, fujifilmRaf, olympusOrf, panasonicRw2, phoneDng } from './test-support/tiff.js';

describe('camera raw layouts (TIFF-based: DNG, NEF, CR2, ARW)', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());
  const layoutOf = async (bytes: Buffer) => {
    const file = scratch.write('raw.bin', bytes);
    const handle = await open(file, 'r');
    try {
      return await readCameraRawLayout(handle, bytes.length);
    } finally {
      await handle.close();
    }
  };

  it("finds a phone DNG's full-resolution size in its raw SubIFD and its preview JPEG (ExifTool: ImageSize 4032x3024)", async () => {
    const preview = await flatJpeg(1024, 768, '#c04020');
    const layout = await layoutOf(await phoneDng({ preview, orientation: 6 }));
    expect(layout).toEqual({ format: 'tiff', fullSize: { width: 4032, height: 3024 }, orientation: 6, jpegs: [expect.objectContaining({ width: 1024, height: 768, length: preview.length })] });
  });

  it("finds a NEF's JpgFromRaw (JPEGInterchangeFormat in a SubIFD) and a CR2's full-size JPEG in IFD0's one strip, with its IFD1 thumbnail", async () => {
    const [full, small] = await Promise.all([flatJpeg(1536, 1024, '#20a040'), flatJpeg(160, 120, '#a0a040')]);
    const nef = buildTiff(
      {
        ifd0: [[254, 4, [1]], [256, 4, [160]], [257, 4, [120]], [259, 3, [1]], [262, 3, [2]], [271, 2, ['NIKON CORPORATION']], [274, 3, [8]], [330, 4, ['@jpg', '@raw']]],
        jpg: [[254, 4, [1]], [259, 3, [6]], [513, 4, ['@full']], [514, 4, [full.length]]],
        raw: [[254, 4, [0]], [256, 4, [6032]], [257, 4, [4032]], [259, 3, [34713]], [262, 3, [32803]]],
      },
      { full },
    );
    expect(await layoutOf(nef)).toEqual({ format: 'tiff', fullSize: { width: 6032, height: 4032 }, orientation: 8, jpegs: [expect.objectContaining({ width: 1536, height: 1024 })] });
    const cr2 = buildTiff(
      {
        ifd0: [[256, 4, [1536]], [257, 4, [1024]], [259, 3, [6]], [271, 2, ['Canon']], [273, 4, ['@full']], [279, 4, [full.length]], [274, 3, [1]]],
        ifd1: [[259, 3, [6]], [513, 4, ['@small']], [514, 4, [small.length]]],
      },
      { full, small },
      { at8: Buffer.from('CR\x02\x00\x00\x00\x00\x00', 'latin1'), next: { ifd0: 'ifd1' } },
    );
    const layout = await layoutOf(cr2);
    expect(layout).toMatchObject({ format: 'cr2', fullSize: { width: 1536, height: 1024 } });
    expect(layout!.jpegs.map((j) => [j.width, j.height])).toEqual([[160, 120], [1536, 1024]]);
  });

  it("finds a CR3's PRVW and THMB pictures, IFD0's size and orientation in CMT1, and its EXIF blocks", async () => {
    const preview = await flatJpeg(1620, 1080, '#20a040');
    const cr3 = await canonCr3({ preview, orientation: 8 });
    const layout = await layoutOf(cr3);
    expect(layout).toMatchObject({ format: 'cr3', fullSize: { width: 6000, height: 4000 }, orientation: 8 });
    expect(layout!.jpegs.map((j) => [j.width, j.height])).toEqual([[160, 120], [1620, 1080]]);
    const prvw = layout!.jpegs[1]!;
    expect(cr3.subarray(prvw.offset, prvw.offset + prvw.length).equals(preview)).toBe(true);
    expect(Object.keys(layout!.exifBlocks!).sort()).toEqual(['exif', 'gps', 'ifd0']);
    // Cut inside its preview box: the thumbnail is still found, nothing past the file is read.
    const cut = await layoutOf(cr3.subarray(0, prvw.offset + 100));
    expect(cut!.jpegs.map((j) => j.width)).toEqual([160]);
    // Another ISO-BMFF file (an MP4, a HEIC) is not a camera raw.
    const handle = await open(fixture('video-a.mp4'), 'r');
    try {
      expect(await readCameraRawLayout(handle, (await handle.stat()).size)).toBeNull();
    } finally {
      await handle.close();
    }
  });

  it("finds a RAF's JPEG and its EXIF through the header's pointer, and an RW2's JpgFromRaw (tag 0x2e)", async () => {
    const raf = await layoutOf(fujifilmRaf(readFileSync(fixture('exif-ne-offset.jpg'))));
    expect(raf).toMatchObject({ format: 'raf', fullSize: null, orientation: null, jpegs: [{ offset: 160, width: 64, height: 48 }] });
    const sized = await layoutOf(fujifilmRaf(readFileSync(fixture('exif-ne-offset.jpg')), { width: 6240, height: 4160 }));
    expect(sized!.fullSize).toEqual({ width: 6240, height: 4160 });
    expect(raf!.exifTiff!.toString('latin1', 0, 4)).toMatch(/^(II\*\0|MM\0\*)$/);
    const preview = await flatJpeg(1920, 1080, '#20a040');
    expect(await layoutOf(panasonicRw2(preview))).toEqual({ format: 'tiff', fullSize: null, orientation: 1, jpegs: [expect.objectContaining({ length: preview.length, width: 1920, height: 1080 })] });
    // Its size is the sensor's area inside the borders (ExifTool 12.57 on this file: 5184x3888).
    const bordered = await layoutOf(panasonicRw2(preview, { top: 0, left: 8, bottom: 3888, right: 5192 }));
    expect(bordered!.fullSize).toEqual({ width: 5184, height: 3888 });
    expect((await layoutOf(panasonicRw2(preview, { top: 0, left: 5192, bottom: 3888, right: 8 })))!.fullSize).toBeNull();
  });

  it("finds an Olympus or OM System ORF's preview in its maker note, beside IFD1's thumbnail", async () => {
    const [preview, thumbnail] = [await flatJpeg(1600, 1200, '#c04020'), await flatJpeg(160, 120, '#2040c0')];
    for (const header of ['olympus', 'om-system'] as const) {
      // ExifTool 12.57 on these files: PreviewImageStart 4164 and 4168, PreviewImageLength the JPEG's.
      const orf = olympusOrf({ preview, thumbnail, orientation: 8, header });
      expect(await layoutOf(orf), header).toEqual({
        format: 'tiff',
        fullSize: { width: 4640, height: 3472 },
        orientation: 8,
        jpegs: [expect.objectContaining({ length: thumbnail.length, width: 160, height: 120 }), expect.objectContaining({ offset: header === 'olympus' ? 4164 : 4168, length: preview.length, width: 1600, height: 1200 })],
      });
    }
    // A maker note of another make, or in the other byte order than the file's: IFD1's thumbnail only.
    const other = olympusOrf({ preview, thumbnail });
    other.write('NIKON', other.indexOf('OLYMPUS\0'), 'latin1');
    expect((await layoutOf(other))!.jpegs).toEqual([expect.objectContaining({ width: 160 })]);
    const swapped = olympusOrf({ preview, thumbnail });
    swapped.write('MM', swapped.indexOf('OLYMPUS\0') + 8, 'latin1');
    expect((await layoutOf(swapped))!.jpegs).toHaveLength(1);
  });

  it('is null for an ordinary TIFF (a scan, an export) and for what is not TIFF', async () => {
    const handle = await open(fixture('exif.tif'), 'r');
    try {
      expect(await readCameraRawLayout(handle, (await handle.stat()).size)).toBeNull();
    } finally {
      await handle.close();
    }
    expect(await layoutOf(Buffer.from('not a tiff at all'))).toBeNull();
  });

  it('never throws nor points past the file, whatever bytes of a DNG, CR3, RAF, RW2 or ORF are changed or cut', async () => {
    const preview = await flatJpeg(200, 150, '#c04020');
    const originals = [
      await phoneDng({ preview, orientation: 3 }),
      await canonCr3({ preview }),
      fujifilmRaf(readFileSync(fixture('exif-ne-offset.jpg')), { width: 6240, height: 4160 }),
      panasonicRw2(preview),
      olympusOrf({ preview, thumbnail: preview }),
    ];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: originals.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.nat(), async (which, changes, cutAt) => {
        const bytes = Buffer.from(originals[which]!);
        for (const [at, value] of changes) bytes[at % bytes.length] = value;
        const cut = bytes.subarray(0, 12 + (cutAt % bytes.length));
        const layout = await layoutOf(cut);
        for (const jpeg of layout?.jpegs ?? []) expect(jpeg.offset + jpeg.length).toBeLessThanOrEqual(cut.length);
      }),
      { numRuns: 300 },
    );
  });

  it('walks hostile IFDs without looping or reading past the file: cycles, offsets beyond it, lossless JPEG that is sensor data', async () => {
    const lossless = Buffer.from([0xff, 0xd8, 0xff, 0xc3, 0, 11, 8, 0x0b, 0xc0, 0x0f, 0xc0, 1, 1, 0x11, 0]);
    const hostile = buildTiff(
      {
        ifd0: [[254, 4, [1]], [256, 4, [16]], [257, 4, [16]], [330, 4, ['@ifd0', 0x7fffffff, '@raw']], [50706, 1, [1, 4, 0, 0]]],
        raw: [[254, 4, [0]], [256, 4, [4000]], [257, 4, [3000]], [259, 3, [7]], [262, 3, [32803]], [273, 4, ['@sensor']], [279, 4, [lossless.length]], [513, 4, [0x7ffffff0]], [514, 4, [64]]],
      },
      { sensor: lossless },
    );
    expect(await layoutOf(hostile)).toEqual({ format: 'tiff', fullSize: { width: 4000, height: 3000 }, orientation: null, jpegs: [] });
  });
});
