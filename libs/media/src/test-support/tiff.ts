// TIFF files built as TIFF 6.0 lays them out (little-endian): a header, the data blocks, then the
// IFDs, each entry's value inline when it fits in four bytes and after its IFD otherwise. Values
// written '@name' are the offset of the block or IFD of that name. Enough to build camera raw
// layouts (DNG, NEF, CR2, ARW) around real JPEGs, as their makers' specifications describe them.
import sharp from 'sharp';

/**
 * [tag, TIFF type (1 BYTE, 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL as numerator, denominator pairs,
 * 13 IFD), values]; type 7 (UNDEFINED) takes ['@block', its length]: the block's bytes as the value.
 */
export type TiffEntry = [number, number, (number | string)[]];

const unitOf = (type: number) => (type === 3 ? 2 : type === 4 || type === 5 || type === 13 ? 4 : 1);
const valueBytes = ([, type, values]: TiffEntry) => (type === 7 ? 0 : type === 2 ? String(values[0]).length + 1 : unitOf(type) * values.length);
const even = (n: number) => n + (n % 2);

/**
 * A TIFF whose first IFD is the first of `ifds`; `blobs` are data blocks (strips, JPEGs); `next`
 * chains an IFD to the one after it (IFD0 to IFD1); `at8`, bytes right after the header (CR2's 'CR').
 */
export function buildTiff(ifds: Record<string, TiffEntry[]>, blobs: Record<string, Buffer>, { at8, next = {}, magic = 42 }: { at8?: Buffer; next?: Record<string, string>; magic?: number } = {}): Buffer {
  const where = new Map<string, number>();
  const parts: Buffer[] = [Buffer.alloc(8)];
  let at = 8;
  if (at8) {
    parts.push(at8);
    at += even(at8.length);
    if (at8.length % 2) parts.push(Buffer.alloc(1));
  }
  for (const [name, data] of Object.entries(blobs)) {
    where.set(name, at);
    parts.push(data, Buffer.alloc(data.length % 2));
    at += even(data.length);
  }
  for (const [name, entries] of Object.entries(ifds)) {
    if (where.has(name)) throw new Error(`an IFD and a block are both named ${name}`);
    where.set(name, at);
    at += 2 + entries.length * 12 + 4 + entries.reduce((n, e) => n + (valueBytes(e) > 4 ? even(valueBytes(e)) : 0), 0);
  }
  for (const [name, entries] of Object.entries(ifds)) {
    const start = where.get(name)!;
    const sorted = [...entries].sort((a, b) => a[0] - b[0]);
    const head = Buffer.alloc(2 + sorted.length * 12 + 4);
    head.writeUInt16LE(sorted.length, 0);
    let extraAt = start + head.length;
    const extras: Buffer[] = [];
    sorted.forEach(([tag, type, values], k) => {
      const resolved = values.map((v) => (typeof v === 'string' && v.startsWith('@') ? where.get(v.slice(1))! : v));
      const e = 2 + k * 12;
      if (type === 7) {
        head.writeUInt16LE(tag, e);
        head.writeUInt16LE(7, e + 2);
        head.writeUInt32LE(Number(resolved[1]), e + 4);
        head.writeUInt32LE(Number(resolved[0]), e + 8);
        return;
      }
      let data: Buffer;
      if (type === 2) data = Buffer.from(`${resolved[0]}\0`, 'latin1');
      else {
        data = Buffer.alloc(unitOf(type) * resolved.length);
        resolved.forEach((v, i) => (unitOf(type) === 2 ? data.writeUInt16LE(Number(v), 2 * i) : unitOf(type) === 4 ? data.writeUInt32LE(Number(v), 4 * i) : data.writeUInt8(Number(v), i)));
      }
      head.writeUInt16LE(tag, e);
      head.writeUInt16LE(type, e + 2);
      head.writeUInt32LE(type === 2 ? data.length : type === 5 ? resolved.length / 2 : resolved.length, e + 4);
      if (data.length <= 4) data.copy(head, e + 8);
      else {
        head.writeUInt32LE(extraAt, e + 8);
        extras.push(data, Buffer.alloc(data.length % 2));
        extraAt += even(data.length);
      }
    });
    if (next[name]) head.writeUInt32LE(where.get(next[name])!, head.length - 4);
    parts.push(head, ...extras);
  }
  const out = Buffer.concat(parts);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(magic, 2);
  out.writeUInt32LE(where.get(Object.keys(ifds)[0]!)!, 4);
  return out;
}

/** A JPEG of one colour (no metadata unless `orientation` is given, then only that EXIF tag). */
export function flatJpeg(width: number, height: number, colour: string, orientation?: number): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: colour } }).jpeg({ quality: 80 });
  return (orientation ? image.withMetadata({ orientation }) : image).toBuffer();
}

/**
 * A phone's DNG (as Android's DngCreator and Apple's ProRAW write it): IFD0 a small RGB thumbnail
 * marked reduced-resolution, with Make, Model, Orientation, DNGVersion and SubIFDs to the raw CFA
 * image (its data a stub: never decoded) and to a JPEG preview (compression 7, YCbCr).
 */
export async function phoneDng({ preview, orientation = 1, raw = { width: 4032, height: 3024 } }: { preview: Buffer | null; orientation?: number; raw?: { width: number; height: number } }): Promise<Buffer> {
  const thumb = await sharp({ create: { width: 256, height: 192, channels: 3, background: '#2040c0' } }).raw().toBuffer();
  const previewSize = preview ? await sharp(preview, { limitInputPixels: false }).metadata() : null;
  const subIfds = preview ? ['@raw', '@preview'] : ['@raw'];
  return buildTiff(
    {
      ifd0: [
        [254, 4, [1]], [256, 4, [256]], [257, 4, [192]], [258, 3, [8, 8, 8]], [259, 3, [1]], [262, 3, [2]],
        [271, 2, ['Google']], [272, 2, ['Pixel 8']], [273, 4, ['@thumb']], [274, 3, [orientation]], [277, 3, [3]],
        [278, 4, [192]], [279, 4, [thumb.length]], [330, 4, subIfds], [50706, 1, [1, 4, 0, 0]],
      ],
      raw: [[254, 4, [0]], [256, 4, [raw.width]], [257, 4, [raw.height]], [258, 3, [16]], [259, 3, [1]], [262, 3, [32803]], [273, 4, ['@sensor']], [277, 3, [1]], [278, 4, [raw.height]], [279, 4, [4096]]],
      ...(preview && {
        preview: [[254, 4, [1]], [256, 4, [previewSize!.width!]], [257, 4, [previewSize!.height!]], [258, 3, [8, 8, 8]], [259, 3, [7]], [262, 3, [6]], [273, 4, ['@jpeg']], [277, 3, [3]], [278, 4, [previewSize!.height!]], [279, 4, [preview.length]]],
      }),
    },
    { thumb, sensor: Buffer.alloc(4096, 7), ...(preview && { jpeg: preview }) },
  );
}

/** An ISO-BMFF box; `uuid` makes it a uuid box with that extended type. */
function box(type: string, payload: Buffer, uuid?: string): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + (uuid ? 16 : 0) + payload.length);
  head.write(uuid ? 'uuid' : type, 4, 'latin1');
  return Buffer.concat([head, uuid ? Buffer.from(uuid, 'hex') : Buffer.alloc(0), payload]);
}

/**
 * A Canon CR3 as Laurent Clévy's canon_cr3 description and ExifTool's Canon uuid tags lay it out:
 * ftyp 'crx '; moov with the Canon uuid box (CNCV, CMT1 IFD0, CMT2 EXIF IFD, CMT4 GPS, THMB
 * 160x120 JPEG) and an mvhd; a top-level uuid box with PRVW (its JPEG); an mdat (the raw: a stub).
 */
export async function canonCr3({ preview, orientation = 1, when = '2024:02:24 05:12:33', offset = '+02:00' }: { preview: Buffer; orientation?: number; when?: string; offset?: string }): Promise<Buffer> {
  const thumb = await flatJpeg(160, 120, '#2040c0');
  const size = await sharp(preview).metadata();
  const cmt1 = buildTiff({ ifd0: [[256, 4, [6000]], [257, 4, [4000]], [271, 2, ['Canon']], [272, 2, ['Canon EOS R6']], [274, 3, [orientation]], [306, 2, [when]]] }, {});
  const cmt2 = buildTiff({ ifd0: [[0x9003, 2, [when]], [0x9004, 2, [when]], [0x9011, 2, [offset]]] }, {});
  const cmt4 = buildTiff({ ifd0: [[0, 1, [2, 3, 0, 0]], [1, 2, ['N']], [2, 5, [49, 1, 59, 1, 3540, 100]], [3, 2, ['E']], [4, 5, [36, 1, 13, 1, 4800, 100]]] }, {});
  const thmbHead = Buffer.alloc(16);
  thmbHead.writeUInt16BE(160, 4);
  thmbHead.writeUInt16BE(120, 6);
  thmbHead.writeUInt32BE(thumb.length, 8);
  const prvwHead = Buffer.alloc(16);
  prvwHead.writeUInt16BE(size.width!, 6);
  prvwHead.writeUInt16BE(size.height!, 8);
  prvwHead.writeUInt32BE(preview.length, 12);
  const mvhd = Buffer.alloc(100);
  mvhd.writeUInt32BE(1, 12);
  const canon = Buffer.concat([box('CNCV', Buffer.from('CanonCR3_001/00.09.00/00.00.00')), box('CMT1', cmt1), box('CMT2', cmt2), box('CMT4', cmt4), box('THMB', Buffer.concat([thmbHead, thumb]))]);
  const ftyp = box('ftyp', Buffer.concat([Buffer.from('crx '), Buffer.from([0, 0, 0, 1]), Buffer.from('crx isom')]));
  const moov = box('moov', Buffer.concat([box('uuid', canon, '85c0b687820f11e08111f4ce462b6a48'), box('mvhd', mvhd)]));
  const previewBox = box('uuid', Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), box('PRVW', Buffer.concat([prvwHead, preview]))]), 'eaf42b5e1c984b88b9fbb7dc406e4d16');
  return Buffer.concat([ftyp, moov, previewBox, box('mdat', Buffer.alloc(4096, 7))]);
}

/**
 * A Fujifilm RAF as ExifTool's FujiFilm.pm reads it: signature, version, camera id and model, at
 * byte 84 the JPEG's offset and length, the JPEG (with its EXIF), then, given `croppedSize`, a RAF
 * directory (pointed to from 0x5c) with RawImageFullSize and RawImageCroppedSize, and a CFA stub.
 */
export function fujifilmRaf(jpeg: Buffer, croppedSize?: { width: number; height: number }): Buffer {
  const header = Buffer.alloc(160);
  header.write('FUJIFILMCCD-RAW 0201FF383501X-T4', 0, 'latin1');
  header.writeUInt32BE(header.length, 84);
  header.writeUInt32BE(jpeg.length, 88);
  let directory = Buffer.alloc(0);
  if (croppedSize) {
    header.writeUInt32BE(header.length + jpeg.length, 0x5c);
    directory = Buffer.alloc(4 + 2 * 8);
    directory.writeUInt32BE(2, 0);
    // RawImageFullSize (with borders), then RawImageCroppedSize: height first, as Fujifilm writes them.
    for (const [k, [tag, height, width]] of ([[0x100, croppedSize.height + 16, croppedSize.width + 32], [0x111, croppedSize.height, croppedSize.width]] as const).entries()) {
      directory.writeUInt16BE(tag, 4 + k * 8);
      directory.writeUInt16BE(4, 6 + k * 8);
      directory.writeUInt16BE(height, 8 + k * 8);
      directory.writeUInt16BE(width, 10 + k * 8);
    }
  }
  return Buffer.concat([header, jpeg, directory, Buffer.alloc(4096, 7)]);
}

/**
 * A Panasonic RW2 as its cameras write it: 'IIU\0', IFD0 at 0x18 after a 16-byte signature, with
 * the sensor's size (tags 2 and 3), Make, Model, Orientation and the preview JPEG as tag 0x2e.
 */
export function panasonicRw2(jpeg: Buffer, borders?: { top: number; left: number; bottom: number; right: number }): Buffer {
  const strings = Buffer.from('Panasonic\0DC-GH5\0\0', 'latin1');
  const sensorBorders: [number, number, number, number][] = borders
    ? [
        [4, 3, 1, borders.top],
        [5, 3, 1, borders.left],
        [6, 3, 1, borders.bottom],
        [7, 3, 1, borders.right],
      ]
    : [];
  const entries: [number, number, number, number][] = [[2, 3, 1, 5200], [3, 3, 1, 3888], ...sensorBorders, [0x2e, 7, jpeg.length, 0], [271, 2, 10, 0], [272, 2, 7, 0], [274, 3, 1, 1]];
  const ifdAt = 24;
  const stringsAt = ifdAt + 2 + entries.length * 12 + 4;
  const jpegAt = stringsAt + strings.length;
  const ifd = Buffer.alloc(2 + entries.length * 12 + 4);
  ifd.writeUInt16LE(entries.length, 0);
  entries.forEach(([tag, type, count, value], k) => {
    const e = 2 + k * 12;
    ifd.writeUInt16LE(tag, e);
    ifd.writeUInt16LE(type, e + 2);
    ifd.writeUInt32LE(count, e + 4);
    const offset = tag === 0x2e ? jpegAt : tag === 271 ? stringsAt : tag === 272 ? stringsAt + 10 : null;
    if (offset === null) ifd.writeUInt16LE(value, e + 8);
    else ifd.writeUInt32LE(offset, e + 8);
  });
  const header = Buffer.from('4949550018000000' + '88e774d8f8251d4d947a6e77822b5d6a', 'hex');
  return Buffer.concat([header, ifd, strings, jpeg]);
}

/**
 * An Olympus ORF as its cameras write it (ExifTool's Olympus.pm): 'IIRO', IFD0 the raw image (its
 * data a stub) with Make, Model, Orientation and the EXIF IFD, IFD1 a small old-style JPEG
 * thumbnail; the EXIF IFD's maker note (`header`: "OLYMPUS\0II\3\0", IFD at 12, or "OM
 * SYSTEM\0\0\0II\4\0", IFD at 16; offsets counted from the note's start) holds CameraSettings
 * (0x2020, an IFD) with the preview JPEG's start and length (0x101, 0x102).
 */
export function olympusOrf({ preview, thumbnail, orientation = 1, header = 'olympus' }: { preview: Buffer; thumbnail: Buffer; orientation?: number; header?: 'olympus' | 'om-system' }): Buffer {
  const head = Buffer.from(header === 'olympus' ? 'OLYMPUS\0II\x03\x00' : 'OM SYSTEM\0\0\0II\x04\x00', 'latin1');
  const entry = (b: Buffer, at: number, tag: number, type: number, value: number) => {
    b.writeUInt16LE(tag, at);
    b.writeUInt16LE(type, at + 2);
    b.writeUInt32LE(1, at + 4);
    b.writeUInt32LE(value, at + 8);
  };
  const ifd = Buffer.alloc(2 + 12 + 4);
  const settings = Buffer.alloc(2 + 2 * 12 + 4);
  const settingsAt = head.length + ifd.length;
  const previewAt = settingsAt + settings.length;
  ifd.writeUInt16LE(1, 0);
  entry(ifd, 2, 0x2020, 13, settingsAt);
  settings.writeUInt16LE(2, 0);
  entry(settings, 2, 0x101, 4, previewAt);
  entry(settings, 14, 0x102, 4, preview.length);
  const makerNote = Buffer.concat([head, ifd, settings, preview]);
  const raw = Buffer.alloc(4096, 7);
  return buildTiff(
    {
      ifd0: [[254, 4, [0]], [256, 4, [4640]], [257, 4, [3472]], [259, 3, [1]], [262, 3, [32803]], [271, 2, ['OLYMPUS IMAGING CORP.  ']], [272, 2, ['E-M5']], [273, 4, ['@raw']], [274, 3, [orientation]], [279, 4, [raw.length]], [34665, 4, ['@exifIfd']]],
      exifIfd: [[0x9003, 2, ['2024:02:24 05:10:00']], [0x927c, 7, ['@makerNote', makerNote.length]]],
      ifd1: [[259, 3, [6]], [513, 4, ['@thumbnail']], [514, 4, [thumbnail.length]]],
    },
    { raw, makerNote, thumbnail },
    { magic: 0x4f52, next: { ifd0: 'ifd1' } },
  );
}
