import { describe, expect, it } from 'vitest';
import {
  captureTimeFromTags,
  cleanText,
  locationFromExifGps,
  locationFromXmpGps,
  orientationFrom,
  parseExifDateTime,
  parseIptcDateTime,
  parseOffset,
  parseSubSeconds,
} from './exif-values.js';

describe('captureTimeFromTags', () => {
  it('gives the UTC instant and the offset when the file states one', () => {
    expect(captureTimeFromTags({ dateTimeOriginal: '2008:05:30 15:56:01', offsetTimeOriginal: '-03:00' })).toEqual({
      capturedAt: '2008-05-30T18:56:01.000Z',
      capturedAtOffset: '-03:00',
    });
  });

  it('gives wall-clock time with no zone when the file states none', () => {
    expect(captureTimeFromTags({ dateTimeOriginal: '2008:05:30 15:56:01' })).toEqual({
      capturedAt: '2008-05-30T15:56:01',
      capturedAtOffset: null,
    });
  });

  it('reads SubSecTime as a decimal fraction of a second', () => {
    const at = (subSec: string) =>
      captureTimeFromTags({ dateTimeOriginal: '2008:05:30 15:56:01', subSecTimeOriginal: subSec, offsetTimeOriginal: '+00:00' })
        ?.capturedAt;
    expect(at('25')).toBe('2008-05-30T15:56:01.250Z');
    expect(at('5')).toBe('2008-05-30T15:56:01.500Z');
    expect(at('123')).toBe('2008-05-30T15:56:01.123Z');
    expect(at('007')).toBe('2008-05-30T15:56:01.007Z');
    expect(at('999999')).toBe('2008-05-30T15:56:01.999Z');
    expect(at('  ')).toBe('2008-05-30T15:56:01.000Z');
    expect(captureTimeFromTags({ dateTimeOriginal: '2008:05:30 15:56:01', subSecTimeOriginal: '25' })?.capturedAt).toBe(
      '2008-05-30T15:56:01.250',
    );
  });

  it('crosses midnight and date lines when applying offsets, half hours included', () => {
    expect(captureTimeFromTags({ dateTimeOriginal: '2020:01:01 01:00:00', offsetTimeOriginal: '+05:30' })?.capturedAt).toBe(
      '2019-12-31T19:30:00.000Z',
    );
    expect(captureTimeFromTags({ dateTimeOriginal: '2020:12:31 20:00:00', offsetTimeOriginal: '-09:30' })?.capturedAt).toBe(
      '2021-01-01T05:30:00.000Z',
    );
  });

  it('falls back to CreateDate with its own offset when DateTimeOriginal is absent or blank', () => {
    const expected = { capturedAt: '2019-12-31T12:30:00.000Z', capturedAtOffset: '+11:00' };
    expect(captureTimeFromTags({ createDate: '2019:12:31 23:30:00', offsetTimeDigitized: '+11:00' })).toEqual(expected);
    expect(
      captureTimeFromTags({
        dateTimeOriginal: '    :  :     :  :  ',
        createDate: '2019:12:31 23:30:00',
        offsetTimeDigitized: '+11:00',
      }),
    ).toEqual(expected);
    expect(
      captureTimeFromTags({ dateTimeOriginal: '0000:00:00 00:00:00', createDate: '2019:12:31 23:30:00', offsetTimeDigitized: '+11:00' }),
    ).toEqual(expected);
  });

  it("borrows OffsetTime only when ModifyDate shows the file unchanged since capture", () => {
    const base = { dateTimeOriginal: '2021:07:04 09:15:00', offsetTime: '+02:00' };
    expect(captureTimeFromTags({ ...base, modifyDate: '2021:07:04 09:15:00' })).toEqual({
      capturedAt: '2021-07-04T07:15:00.000Z',
      capturedAtOffset: '+02:00',
    });
    expect(captureTimeFromTags({ ...base, modifyDate: '2021:07:09 18:00:00' })).toEqual({
      capturedAt: '2021-07-04T09:15:00',
      capturedAtOffset: null,
    });
    expect(captureTimeFromTags(base)).toEqual({ capturedAt: '2021-07-04T09:15:00', capturedAtOffset: null });
  });

  it('never takes a zone from the wrong tag: the digitized offset does not apply to DateTimeOriginal', () => {
    expect(captureTimeFromTags({ dateTimeOriginal: '2021:07:04 09:15:00', offsetTimeDigitized: '+02:00' })).toEqual({
      capturedAt: '2021-07-04T09:15:00',
      capturedAtOffset: null,
    });
  });

  it('ignores a malformed offset rather than guessing one', () => {
    for (const offset of ['+25:00', '3:00', 'EST', '+03:60', '   :  ']) {
      expect(captureTimeFromTags({ dateTimeOriginal: '2008:05:30 15:56:01', offsetTimeOriginal: offset })).toEqual({
        capturedAt: '2008-05-30T15:56:01',
        capturedAtOffset: null,
      });
    }
  });

  it('uses XMP dates last, keeping their own offsets, and rejects date-only values', () => {
    expect(captureTimeFromTags({ xmpDates: [undefined, '2023-10-07T06:30:00+03:00'] })).toEqual({
      capturedAt: '2023-10-07T03:30:00.000Z',
      capturedAtOffset: '+03:00',
    });
    expect(captureTimeFromTags({ xmpDates: ['2023-10-07T06:30:00.5Z'] })).toEqual({
      capturedAt: '2023-10-07T06:30:00.500Z',
      capturedAtOffset: '+00:00',
    });
    expect(captureTimeFromTags({ xmpDates: ['2023-10-07T06:30'] })).toEqual({
      capturedAt: '2023-10-07T06:30:00',
      capturedAtOffset: null,
    });
    expect(captureTimeFromTags({ xmpDates: ['2023-10-07', 2023, '2023:10:07 06:30:00-0400'] })).toEqual({
      capturedAt: '2023-10-07T10:30:00.000Z',
      capturedAtOffset: '-04:00',
    });
    expect(
      captureTimeFromTags({ dateTimeOriginal: '2001:01:01 00:00:00', xmpDates: ['2023-10-07T06:30:00+03:00'] })?.capturedAt,
    ).toBe('2001-01-01T00:00:00');
  });

  it('returns null when no source holds a real date', () => {
    expect(captureTimeFromTags({})).toBeNull();
    expect(
      captureTimeFromTags({ dateTimeOriginal: '2019:02:30 10:00:00', createDate: 12345, xmpDates: ['yesterday'] }),
    ).toBeNull();
  });
});

describe('captureTimeFromTags: which source wins (CaptureTimeTags)', () => {
  // One source per rank, each a different minute, so the winner is plain to see.
  const all = {
    dateTimeOriginal: '2024:02:24 05:01:00',
    offsetTimeOriginal: '+02:00',
    xmpDateTimeOriginal: '2024-02-24T05:02:00+02:00',
    xmpDateCreated: '2024-02-24T05:03:00+02:00',
    iptcDateCreated: '20240224',
    iptcTimeCreated: '050400+0200',
    makerDates: ['2024:02:24 05:05:00'],
    createDate: '2024:02:24 05:06:00',
    offsetTimeDigitized: '+02:00',
    xmpDates: ['2024-02-24T05:07:00+02:00'],
    iptcDigitalCreationDate: '20240224',
    iptcDigitalCreationTime: '050800+0200',
  };
  const order = ['dateTimeOriginal', 'xmpDateTimeOriginal', 'xmpDateCreated', 'iptcDateCreated', 'makerDates', 'createDate', 'xmpDates', 'iptcDigitalCreationDate'] as const;

  it('takes EXIF DateTimeOriginal > XMP exif:DateTimeOriginal > photoshop:DateCreated > IPTC > maker blocks > CreateDate > XMP > IPTC digital', () => {
    const tags: Record<string, unknown> = { ...all };
    const winners: string[] = [];
    for (const rank of order) {
      winners.push(captureTimeFromTags(tags)!.capturedAt);
      delete tags[rank];
    }
    expect(winners).toEqual(['03:01', '03:02', '03:03', '03:04', '05:05', '03:06', '03:07', '03:08'].map((hm) => (hm === '05:05' ? `2024-02-24T${hm}:00` : `2024-02-24T${hm}:00.000Z`)));
    expect(captureTimeFromTags(tags)).toBeNull();
  });

  it('puts IPTC before photoshop:DateCreated when the IPTC was edited after the XMP (MWG digest)', () => {
    const { dateTimeOriginal: _a, xmpDateTimeOriginal: _b, ...rest } = all;
    expect(captureTimeFromTags({ ...rest, iptcNewerThanXmp: true })?.capturedAt).toBe('2024-02-24T03:04:00.000Z');
    expect(captureTimeFromTags({ ...rest, iptcNewerThanXmp: false })?.capturedAt).toBe('2024-02-24T03:03:00.000Z');
  });

  it('passes over a date-only photoshop:DateCreated and never lends one source\'s zone to another', () => {
    expect(captureTimeFromTags({ xmpDateCreated: '2024-02-24', iptcDateCreated: '20240224', iptcTimeCreated: '050400' })).toEqual({
      capturedAt: '2024-02-24T05:04:00',
      capturedAtOffset: null,
    });
    expect(captureTimeFromTags({ xmpDateCreated: '2021-04-17T09:05:00', xmpDates: ['2021-04-17T09:06:00+03:00'] })).toEqual({
      capturedAt: '2021-04-17T09:05:00',
      capturedAtOffset: null,
    });
    expect(captureTimeFromTags({ makerDates: [null, 'garbage', '2000:08:22 15:31:12'] })).toEqual({ capturedAt: '2000-08-22T15:31:12', capturedAtOffset: null });
  });
});

describe('parseIptcDateTime', () => {
  it('reads IIM "CCYYMMDD" + "HHMMSS±HHMM", with or without the zone, and separator variants', () => {
    expect(parseIptcDateTime('20240224', '051233+0200')).toEqual({
      wall: { year: 2024, month: 2, day: 24, hour: 5, minute: 12, second: 33, millisecond: null },
      offset: { text: '+02:00', minutes: 120 },
    });
    expect(parseIptcDateTime('20240224', '051233')?.offset).toBeNull();
    expect(parseIptcDateTime('2024:02:24', '05:12:33-03:30')?.offset).toEqual({ text: '-03:30', minutes: -210 });
    expect(parseIptcDateTime('2024-02-24', '051233Z')?.offset).toEqual({ text: '+00:00', minutes: 0 });
  });

  it('refuses a date alone, impossible dates and times, and a malformed zone (rather than dropping it)', () => {
    for (const [date, time] of [
      ['20240224', undefined],
      ['20240230', '051233'],
      ['20240224', '251233'],
      ['20240224', '0512'],
      ['20240224', '051233+2500'],
      ['2024022', '051233'],
    ]) {
      expect(parseIptcDateTime(date, time)).toBeNull();
    }
  });
});

describe('date parts', () => {
  it('parses EXIF date-times and refuses impossible ones', () => {
    expect(parseExifDateTime('2008:05:30 15:56:01\0')).toMatchObject({ year: 2008, month: 5, day: 30, hour: 15, minute: 56, second: 1 });
    expect(parseExifDateTime('2024:02:29 23:59:59')).not.toBeNull();
    for (const bad of ['2023:02:29 10:00:00', '2008:13:01 00:00:00', '2008:05:30 24:00:00', '2008:05:30 15:60:00', '1700:01:01 00:00:00', '', null, 42]) {
      expect(parseExifDateTime(bad)).toBeNull();
    }
  });

  it('normalises offsets', () => {
    expect(parseOffset('+03:00')).toEqual({ text: '+03:00', minutes: 180 });
    expect(parseOffset('-0330')).toEqual({ text: '-03:30', minutes: -210 });
    expect(parseOffset('+14:00')).toEqual({ text: '+14:00', minutes: 840 });
    expect(parseOffset('+14:30')).toBeNull();
    expect(parseOffset(undefined)).toBeNull();
  });

  it('reads sub-seconds only from digits', () => {
    expect(parseSubSeconds('25\0')).toBe(250);
    expect(parseSubSeconds('1a')).toBeNull();
    expect(parseSubSeconds(25)).toBe(250);
  });
});

describe('locationFromExifGps', () => {
  const gps = (lat: number[], latRef: unknown, lon: number[], lonRef: unknown, extra: object = {}) => ({
    GPSLatitude: lat,
    GPSLatitudeRef: latRef,
    GPSLongitude: lon,
    GPSLongitudeRef: lonRef,
    ...extra,
  });

  it('signs each hemisphere from the refs, not from the numbers', () => {
    const dms = [22, 57, 6.8976];
    const dms2 = [43, 12, 37.7532];
    expect(locationFromExifGps(gps(dms, 'N', dms2, 'E'))).toEqual({ lat: 22.951916, lon: 43.210487, altitudeM: null });
    expect(locationFromExifGps(gps(dms, 'N', dms2, 'W'))).toEqual({ lat: 22.951916, lon: -43.210487, altitudeM: null });
    expect(locationFromExifGps(gps(dms, 'S', dms2, 'E'))).toEqual({ lat: -22.951916, lon: 43.210487, altitudeM: null });
    expect(locationFromExifGps(gps(dms, 'S', dms2, 'W'))).toEqual({ lat: -22.951916, lon: -43.210487, altitudeM: null });
  });

  it('accepts sloppy but unambiguous refs (lower case, NUL padding, bytes)', () => {
    expect(locationFromExifGps(gps([10, 30, 0], 's\0', [20, 0, 0], new Uint8Array([0x57, 0]))))
      .toEqual({ lat: -10.5, lon: -20, altitudeM: null });
  });

  it('accepts decimal degrees stored in the degrees slot alone', () => {
    expect(locationFromExifGps(gps([33.5], 'N', [44.25, 0, 0], 'E'))).toEqual({ lat: 33.5, lon: 44.25, altitudeM: null });
  });

  it('rejects nonsense: no refs, out of range, NaN, infinite, negative parts, 0,0, empty block', () => {
    expect(locationFromExifGps(gps([10, 0, 0], undefined, [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([10, 0, 0], 'E', [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([91, 0, 0], 'N', [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([90, 0, 1], 'N', [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([10, 0, 0], 'N', [181, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([NaN, 0, 0], 'N', [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([10, Infinity, 0], 'N', [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([-10, 0, 0], 'N', [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([10, 75, 0], 'N', [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([10, 0, 0, 0], 'N', [20, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([0, 0, 0], 'N', [0, 0, 0], 'E'))).toBeNull();
    expect(locationFromExifGps(gps([0, 0, 0], 'S', [0, 0, 0], 'W'))).toBeNull();
    expect(locationFromExifGps({ GPSVersionID: new Uint8Array([2, 3, 0, 0]) } as never)).toBeNull();
    expect(locationFromExifGps({})).toBeNull();
    expect(locationFromExifGps(undefined)).toBeNull();
    expect(locationFromExifGps({ GPSLatitude: 'x', GPSLatitudeRef: 'N', GPSLongitude: [1], GPSLongitudeRef: 'E' })).toBeNull();
  });

  it('keeps a real position near 0,0 that is not exactly 0,0', () => {
    expect(locationFromExifGps(gps([0, 0, 36], 'N', [0, 0, 0], 'E'))).toEqual({ lat: 0.01, lon: 0, altitudeM: null });
  });

  it('makes altitude negative below sea level and drops unknown datums', () => {
    const at = (alt: unknown, ref: unknown) =>
      locationFromExifGps(gps([1, 0, 0], 'N', [1, 0, 0], 'E', { GPSAltitude: alt, GPSAltitudeRef: ref }))?.altitudeM;
    expect(at(430, new Uint8Array([1]))).toBe(-430);
    expect(at(430, 1)).toBe(-430);
    expect(at(430, [1])).toBe(-430);
    expect(at(430, new Uint8Array([0]))).toBe(430);
    expect(at(430, undefined)).toBe(430);
    expect(at(430, 2)).toBeNull();
    expect(at(NaN, 0)).toBeNull();
    expect(at(-5, 0)).toBeNull();
    expect(at(1e9, 0)).toBeNull();
  });
});

describe('locationFromXmpGps', () => {
  it('reads "DDD,MM.mmk" and "DDD,MM,SSk" forms with their hemisphere letters', () => {
    expect(locationFromXmpGps({ GPSLatitude: '31,30.102N', GPSLongitude: '34,28.008E' })).toEqual({
      lat: 31.5017,
      lon: 34.4668,
      altitudeM: null,
    });
    expect(
      locationFromXmpGps({ GPSLatitude: '22,57,6.8976S', GPSLongitude: '43,12,37.7532W', GPSAltitude: '4300/10', GPSAltitudeRef: '1' }),
    ).toEqual({ lat: -22.951916, lon: -43.210487, altitudeM: -430 });
  });

  it('rejects malformed or swapped values', () => {
    expect(locationFromXmpGps({ GPSLatitude: '31,30.102E', GPSLongitude: '34,28.008E' })).toBeNull();
    expect(locationFromXmpGps({ GPSLatitude: '95,0N', GPSLongitude: '34,28.008E' })).toBeNull();
    expect(locationFromXmpGps({ GPSLatitude: '31.5', GPSLongitude: '34.4' })).toBeNull();
    expect(locationFromXmpGps({ GPSLatitude: '0,0N', GPSLongitude: '0,0E' })).toBeNull();
    expect(locationFromXmpGps(undefined)).toBeNull();
  });
});

describe('cleanText and orientationFrom', () => {
  it('cuts at NUL, trims padding and control characters, drops empties', () => {
    expect(cleanText('Canon\0\0\0\0')).toBe('Canon');
    expect(cleanText('  Canon EOS 40D   ')).toBe('Canon EOS 40D');
    expect(cleanText('Canon\0garbage')).toBe('Canon');
    expect(cleanText('Firm\u0001ware\t')).toBe('Firm ware');
    expect(cleanText('\0\0\0')).toBeNull();
    expect(cleanText('    ')).toBeNull();
    expect(cleanText(new Uint8Array([65]))).toBeNull();
    expect(cleanText(7)).toBe('7');
    expect(cleanText('x'.repeat(1000))).toHaveLength(256);
  });

  it('accepts orientation 1..8 only', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(orientationFrom)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(orientationFrom('6')).toBe(6);
    for (const bad of [0, 9, 1.5, -1, NaN, null, undefined, 'top-left']) expect(orientationFrom(bad)).toBeNull();
  });
});
