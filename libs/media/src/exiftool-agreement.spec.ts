// Our reading of each video, audio, PDF, office document and still-image fixture against ExifTool's, field by
// field. ExifTool's output is committed beside each fixture (<name>.exiftool.json, made by
// test/fixtures/media/exiftool-reference.sh with `exiftool -json -G1:4 -a -n`), so this runs
// without ExifTool. The mapping below says which ExifTool tag stands for which of our fields.
//
// Still images: ExifTool reports every block separately; where it combines them itself
// (Composite:SubSecDateTimeOriginal = EXIF DateTimeOriginal + SubSecTimeOriginal +
// OffsetTimeOriginal; Composite:DateTimeOriginal = IPTC DateCreated + TimeCreated, made only when
// no DateTimeOriginal tag exists anywhere) our capture time must be that value. Between XMP
// photoshop:DateCreated and IPTC, which plain Composite:DateTimeOriginal ignores, we follow
// ExifTool's MWG module (`exiftool -use MWG -MWG:DateTimeOriginal`: XMP, unless Photoshop's
// IPTCDigest shows the IPTC was edited after the XMP). The full order is CaptureTimeTags in
// exif-values.ts; `stillTime` below restates it in ExifTool's tag names.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { captureTimeFromTags } from './exif-values.js';
import { extractEmbeddedMetadata, type ExtractedMetadata } from './metadata.js';
import { fixture } from './test-support/fixtures.js';

/** Every value of each tag, the main one first ("Track1:Copy1:HandlerType" is a second "Track1:HandlerType"). */
type Tags = Map<string, unknown[]>;

function parseExifToolJson(text: string): Tags {
  const tags: Tags = new Map();
  // ExifTool writes one "Group:Tag": value pair per line.
  for (const line of text.split('\n')) {
    const match = /^\s*("(?:[^"\\]|\\.)*"): (.*?),?$/.exec(line);
    if (!match) continue;
    const [raw, value] = Object.entries(JSON.parse(`{${match[1]}: ${match[2]}}`) as Record<string, unknown>)[0];
    const key = raw.replace(/:Copy\d+:/, ':');
    const values = tags.get(key) ?? [];
    if (raw === key) values.unshift(value);
    else values.push(value);
    tags.set(key, values);
  }
  return tags;
}

interface Fields {
  capturedAt: string | null;
  capturedAtOffset: string | null;
  lat: number | null;
  lon: number | null;
  altitudeM: number | null;
  make: string | null;
  model: string | null;
  software: string | null;
  durationS: number | null;
  width: number | null;
  height: number | null;
  orientation: number | null;
  pages: number | null;
  title: string | null;
  author: string | null;
  lastModifiedBy: string | null;
  documentCreatedAt: string | null;
  documentModifiedAt: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);

/** ExifTool's "YYYY:MM:DD HH:MM:SS[Z|±HH:MM]"; `utc` for QuickTime dates, which are UTC by definition. */
function exifToolDate(value: unknown, utc = false): { capturedAt: string; capturedAtOffset: string | null } | null {
  const text = str(value);
  if (!text || text.startsWith('0000')) return null;
  const iso = text.replace(/^(\d{4}):(\d{2}):(\d{2}) /, '$1-$2-$3T') + (utc && !/(Z|[+-]\d{2}:\d{2})$/.test(text) ? 'Z' : '');
  return captureTimeFromTags({ xmpDates: [iso] });
}

/** "lat lon [alt]" as ExifTool prints GPSCoordinates with -n. */
function coordinates(value: unknown): { lat: number; lon: number; altitudeM: number | null } | null {
  const parts = str(value)?.split(/\s+/).map(Number);
  if (!parts || parts.length < 2 || parts.some((p) => !Number.isFinite(p))) return null;
  return { lat: parts[0], lon: parts[1], altitudeM: parts[2] ?? null };
}

const ROTATION_TO_ORIENTATION: Record<number, number> = { 0: 1, 90: 6, 180: 3, 270: 8 };

type Time = { capturedAt: string; capturedAtOffset: string | null } | null;

/** A capture time from a still image's tags, in CaptureTimeTags' order, in ExifTool's names. */
function stillTime(t: Record<string, unknown>): Time {
  const iptcCreated = exifToolDate(t['Composite:DateTimeCreated']);
  const photoshopCreated = exifToolDate(t['XMP-photoshop:DateCreated']);
  // MWG: IPTC before XMP photoshop:DateCreated only when the stored digest is stale.
  const digest = str(t['Photoshop:IPTCDigest']);
  const iptcNewer = digest !== null && str(t['File:CurrentIPTCDigest']) !== null && digest !== str(t['File:CurrentIPTCDigest']);
  const pentax = str(t['Pentax:Date']) && str(t['Pentax:Time']) ? `${str(t['Pentax:Date'])} ${str(t['Pentax:Time'])}` : null;
  return (
    exifToolDate(t['Composite:SubSecDateTimeOriginal']) ??
    exifToolDate(t['ExifIFD:DateTimeOriginal']) ??
    exifToolDate(t['XMP-exif:DateTimeOriginal']) ??
    (iptcNewer ? (iptcCreated ?? photoshopCreated) : (photoshopCreated ?? iptcCreated)) ??
    exifToolDate(t['CIFF:DateTimeOriginal']) ??
    exifToolDate(t['PictureInfo:DateTimeOriginal']) ??
    exifToolDate(pentax) ??
    exifToolDate(t['Composite:SubSecCreateDate']) ??
    exifToolDate(t['ExifIFD:CreateDate']) ??
    exifToolDate(t['XMP-xmp:CreateDate']) ??
    exifToolDate(t['XMP-exif:DateTimeDigitized']) ??
    exifToolDate(t['Composite:DigitalCreationDateTime'])
  );
}

/** A still image's position: EXIF GPS (Composite, signed) or XMP exif:GPS*; 0,0 is no position (api.md). */
function stillPosition(t: Record<string, unknown>): { lat: number; lon: number; altitudeM: number | null } | null {
  const lat = num(t['Composite:GPSLatitude']) ?? num(t['XMP-exif:GPSLatitude']);
  const lon = num(t['Composite:GPSLongitude']) ?? num(t['XMP-exif:GPSLongitude']);
  if (lat === null || lon === null || (Math.abs(lat) < 1e-7 && Math.abs(lon) < 1e-7)) return null;
  const xmpAltitude = num(t['XMP-exif:GPSAltitude']);
  const altitudeM = num(t['Composite:GPSAltitude']) ?? (xmpAltitude === null ? null : xmpAltitude * (t['XMP-exif:GPSAltitudeRef'] === 1 ? -1 : 1));
  return { lat, lon, altitudeM };
}

type DocumentFields = Pick<Fields, 'pages' | 'title' | 'author' | 'lastModifiedBy' | 'documentCreatedAt' | 'documentModifiedAt'>;

/**
 * An office document's facts as ExifTool gives them: OOXML's core and app parts (XMP-dc, XML),
 * OpenDocument's meta.xml (XMP-meta, XMP-dc; dc:creator is who saved it last), and Word, Excel and
 * PowerPoint 97-2003 files' summaries (FlashPix, whose FILETIMEs are UTC by definition; MS-DOC for
 * Word's own page count), and RTF's information group (RTF). Null for anything else.
 */
function officeFields(t: Record<string, unknown>): DocumentFields | null {
  const type = str(t['File:FileType']) ?? '';
  const fields = (pages: unknown, title: unknown, author: unknown, lastModifiedBy: unknown, created: ReturnType<typeof exifToolDate>, modified: ReturnType<typeof exifToolDate>) => ({
    pages: num(pages),
    title: str(title),
    author: str(author),
    lastModifiedBy: str(lastModifiedBy),
    documentCreatedAt: created?.capturedAt ?? null,
    documentModifiedAt: modified?.capturedAt ?? null,
  });
  if (['DOC', 'XLS', 'PPT'].includes(type)) {
    return fields(t['FlashPix:Pages'] ?? t['MS-DOC:Pages'] ?? t['FlashPix:Slides'], t['FlashPix:Title'], t['FlashPix:Author'], t['FlashPix:LastModifiedBy'], exifToolDate(t['FlashPix:CreateDate'], true), exifToolDate(t['FlashPix:ModifyDate'], true));
  }
  if (['ODT', 'ODS', 'ODP'].includes(type)) {
    const creator = t['XMP-dc:Creator'];
    return fields(t['XMP-meta:Document-statisticPage-count'], t['XMP-dc:Title'], t['XMP-meta:Initial-creator'] ?? creator, creator, exifToolDate(t['XMP-meta:Creation-date']), exifToolDate(t['XMP-dc:Date']));
  }
  if (type === 'RTF') {
    return fields(t['RTF:Pages'], t['RTF:Title'], t['RTF:Author'], t['RTF:LastModifiedBy'], exifToolDate(t['RTF:CreateDate']), exifToolDate(t['RTF:ModifyDate']));
  }
  if (['DOCX', 'XLSX', 'PPTX'].includes(type)) {
    return fields(t['XML:Pages'] ?? t['XML:Slides'], t['XMP-dc:Title'], t['XMP-dc:Creator'], t['XML:LastModifiedBy'], exifToolDate(t['XML:CreateDate']), exifToolDate(t['XML:ModifyDate']));
  }
  return null;
}

/** What ExifTool says, in our fields. */
function fromExifTool(all: Tags): Fields {
  // The first value of each tag (a MOV's mdia 'hdlr' comes before its minf 'hdlr'; Matroska's
  // Segment Info Duration before the per-track DURATION tags).
  const t: Record<string, unknown> = Object.fromEntries([...all].map(([k, v]) => [k, v[0]]));
  const tracks = [...new Set([...all.keys()].map((k) => /^(Track\d+):/.exec(k)?.[1]).filter((g): g is string => Boolean(g)))];
  const video = tracks.find((g) => all.get(`${g}:HandlerType`)?.includes('vide') || t[`${g}:TrackType`] === 1);
  const still = str(t['File:MIMEType'])?.startsWith('image/') ?? false;
  const pdf = t['File:FileType'] === 'PDF';
  // AVI: the IDIT chunk (RIFF:DateTimeOriginal), else the INFO list's ICRD (RIFF:DateCreated), zone-less.
  const avi = t['File:FileType'] === 'AVI';
  // MPEG-TS: AVCHD's MDPM date in the H.264 stream (" DST" after the zone when the camcorder said
  // so), its maker as H264.pm's code (-n), the duration from the PCRs, the size from the SPS.
  const ts = t['File:FileType'] === 'M2TS' || t['File:FileType'] === 'M2T';
  const tsMake = ts ? ({ 0x0103: 'Panasonic', 0x0108: 'Sony', 0x1011: 'Canon', 0x1104: 'JVC' } as Record<number, string>)[num(t['H264:Make']) ?? -1] : undefined;
  const time = still
    ? stillTime(t)
    : avi
      ? (exifToolDate(t['RIFF:DateTimeOriginal']) ?? exifToolDate(t['RIFF:DateCreated']))
      : ts
        ? exifToolDate(str(t['H264:DateTimeOriginal'])?.replace(/ DST$/, ''))
      : (exifToolDate(t['Keys:CreationDate']) ?? exifToolDate(t['QuickTime:CreateDate'], true) ?? exifToolDate(t['Matroska:DateTimeOriginal'], true));
  // Keys, then udta '©xyz', then the 3GPP 'loci' ExifTool only shows through Composite tags.
  const position = still
    ? stillPosition(t)
    : (coordinates(t['Keys:GPSCoordinates']) ??
      coordinates(t['UserData:GPSCoordinates']) ??
      coordinates(t['ItemList:GPSCoordinates']) ??
      (num(t['Composite:GPSLatitude']) !== null
        ? {
            lat: num(t['Composite:GPSLatitude'])!,
            lon: num(t['Composite:GPSLongitude'])!,
            altitudeM: num(t['Composite:GPSAltitude']) === null ? null : num(t['Composite:GPSAltitude'])! * (t['Composite:GPSAltitudeRef'] === 1 ? -1 : 1),
          }
        : null));
  const imageSize = still || avi ? str(t['Composite:ImageSize'])?.split(' ').map(Number) : undefined;
  const matroskaDuration = all.get('Matroska:Duration')?.find((v) => typeof v === 'number');
  const rotation = num(t['Composite:Rotation']);
  const office = officeFields(t);
  return {
    capturedAt: time?.capturedAt ?? null,
    capturedAtOffset: time?.capturedAtOffset ?? null,
    lat: position?.lat ?? null,
    lon: position?.lon ?? null,
    altitudeM: position?.altitudeM ?? null,
    make: str(t['Keys:Make']) ?? str(t['UserData:Make']) ?? str(t['Keys:AndroidManufacturer']) ?? tsMake ?? (still ? (str(t['IFD0:Make']) ?? str(t['XMP-tiff:Make']) ?? str(t['CIFF:Make'])) : null),
    model: str(t['Keys:Model']) ?? str(t['UserData:Model']) ?? str(t['Keys:AndroidModel']) ?? (ts ? str(t['H264:Model']) : null) ?? (still ? (str(t['IFD0:Model']) ?? str(t['XMP-tiff:Model']) ?? str(t['CIFF:Model'])) : null),
    software:
      str(t['Keys:Software']) ??
      str(t['UserData:Software']) ??
      str(t['Keys:AndroidVersion']) ??
      (still ? (str(t['IFD0:Software']) ?? str(t['XMP-xmp:CreatorTool'])) : avi ? str(t['RIFF:Software']) : null),
    // A still has no duration: a CR3's movie header says 0 (its tracks are its pictures).
    durationS: still ? null : (num(t['QuickTime:Duration']) ?? num(matroskaDuration) ?? (avi ? num(t['Composite:Duration']) : ts ? num(t['M2TS:Duration']) : null)),
    width: imageSize ? (imageSize[0] ?? null) : video ? num(t[`${video}:ImageWidth`]) : ts ? num(t['H264:ImageWidth']) : null,
    height: imageSize ? (imageSize[1] ?? null) : video ? num(t[`${video}:ImageHeight`]) : ts ? num(t['H264:ImageHeight']) : null,
    orientation: still
      ? (num(t['IFD0:Orientation']) ?? num(t['XMP-tiff:Orientation']))
      : video && rotation !== null && t['File:FileType'] !== 'WEBM' && t['File:FileType'] !== 'MKV'
        ? (ROTATION_TO_ORIENTATION[rotation] ?? null)
        : null,
    ...(office ?? {
      pages: pdf ? num(t['PDF:PageCount']) : null,
      title: pdf ? (str(t['PDF:Title']) ?? str(t['XMP-dc:Title'])) : null,
      author: pdf ? (str(t['PDF:Author']) ?? str(t['XMP-dc:Creator'])) : null,
      // A PDF names no one who saved it last.
      lastModifiedBy: null,
      documentCreatedAt: pdf ? ((exifToolDate(t['PDF:CreateDate']) ?? exifToolDate(t['XMP-xmp:CreateDate']))?.capturedAt ?? null) : null,
      documentModifiedAt: pdf ? ((exifToolDate(t['PDF:ModifyDate']) ?? exifToolDate(t['XMP-xmp:ModifyDate']))?.capturedAt ?? null) : null,
    }),
  };
}

function fromUs(m: ExtractedMetadata | null): Fields {
  return {
    capturedAt: m?.capturedAt ?? null,
    capturedAtOffset: m?.capturedAtOffset ?? null,
    lat: m?.location?.lat ?? null,
    lon: m?.location?.lon ?? null,
    altitudeM: m?.location?.altitudeM ?? null,
    make: m?.device?.make ?? null,
    model: m?.device?.model ?? null,
    software: m?.device?.software ?? null,
    durationS: m?.durationS ?? null,
    width: m?.width ?? null,
    height: m?.height ?? null,
    orientation: m?.orientation ?? null,
    pages: m?.document?.pages ?? null,
    title: m?.document?.title ?? null,
    author: m?.document?.author ?? null,
    lastModifiedBy: m?.document?.lastModifiedBy ?? null,
    documentCreatedAt: m?.document?.createdAt ?? null,
    documentModifiedAt: m?.document?.modifiedAt ?? null,
  };
}

/** Coordinates: ExifTool prints 'loci' with 5 decimals; durations to the millisecond. */
function agrees(field: keyof Fields, ours: unknown, theirs: unknown): boolean {
  if (typeof ours === 'number' && typeof theirs === 'number') {
    const tolerance = field === 'lat' || field === 'lon' ? 1e-5 : field === 'altitudeM' ? 0.01 : field === 'durationS' ? 0.001 : 0;
    return Math.abs(ours - theirs) <= tolerance;
  }
  return ours === theirs;
}

const DIR = fixture('');
const references = readdirSync(DIR).filter((f) => f.endsWith('.exiftool.json')).sort();

describe('agreement with ExifTool (committed reference output)', () => {
  it('has a reference for every file exiftool-reference.sh lists, and the list has every container', () => {
    const listed = /for file in ([^;]+);/
      .exec(readFileSync(fixture('exiftool-reference.sh'), 'utf8'))![1]
      .split(/[\s\\]+/)
      .filter(Boolean);
    expect(references.map((r) => r.replace(/\.exiftool\.json$/, '')).sort()).toEqual(expect.arrayContaining(listed.sort()));
    expect(new Set(listed.map((f) => f.split('.').pop()))).toEqual(
      new Set(['mp4', 'mov', '3gp', 'm4a', 'webm', 'mkv', 'avi', 'm2ts', 'm2t', 'pdf', 'docx', 'odt', 'doc', 'xls', 'ppt', 'rtf', 'jpg', 'png', 'tif', 'webp', 'heic', 'dng', 'cr3']),
    );
  });

  it("gives ExifTool's own combined capture times where it makes them (MWG where it and plain ExifTool differ)", () => {
    const checked: string[] = [];
    const mwgOverrides: string[] = [];
    for (const reference of references) {
      const t = Object.fromEntries([...parseExifToolJson(readFileSync(fixture(reference), 'utf8'))].map(([k, v]) => [k, v[0]]));
      const own = exifToolDate(t['Composite:SubSecDateTimeOriginal']) ?? exifToolDate(t['Composite:DateTimeOriginal']);
      if (!own) continue;
      const name = reference.replace(/\.exiftool\.json$/, '');
      const ours = fromExifTool(parseExifToolJson(readFileSync(fixture(reference), 'utf8')));
      checked.push(name);
      if (ours.capturedAt !== own.capturedAt || ours.capturedAtOffset !== own.capturedAtOffset) mwgOverrides.push(name);
    }
    // XMP photoshop:DateCreated (05:12:33) against IPTC (05:12:00), no digest: plain ExifTool takes
    // IPTC, `exiftool -use MWG -MWG:DateTimeOriginal` takes XMP, and so do we.
    expect(mwgOverrides, `checked: ${checked.join(', ')}`).toEqual(['xmp-iptc-disagree.jpg']);
    expect(checked.length).toBeGreaterThanOrEqual(10);
  });

  const table: string[] = [];
  for (const reference of references) {
    const name = reference.replace(/\.exiftool\.json$/, '');
    it(`${name}: every field ExifTool gives, we give the same`, async () => {
      const tags = parseExifToolJson(readFileSync(fixture(reference), 'utf8'));
      const theirs = fromExifTool(tags);
      const ours = fromUs(await extractEmbeddedMetadata(fixture(name)));
      const cells: string[] = [];
      for (const field of Object.keys(theirs) as Array<keyof Fields>) {
        const same = agrees(field, ours[field], theirs[field]);
        cells.push(theirs[field] === null && ours[field] === null ? '-' : same ? 'ok' : 'DIFF');
        expect({ field, value: ours[field], same }, `${name} ${field}: ExifTool says ${JSON.stringify(theirs[field])}`).toEqual({
          field,
          value: ours[field],
          same: true,
        });
      }
      table.push(`| ${name} | ${cells.join(' | ')} |`);
      if (process.env.PRINT_AGREEMENT && table.length === references.length) {
        console.log(`| fixture | ${Object.keys(theirs).join(' | ')} |\n${table.join('\n')}`);
      }
    });
  }
});
