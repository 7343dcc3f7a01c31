import { describe, expect, it } from 'vitest';
import type { ExtractedMetadata } from '#custodia/media';
import { captureInterval, contradictionFlags, declaredOffset, typeMismatch } from './flags.js';
import { parseWith } from '#custodia/schema';
import { EvidenceListQuery } from './evidence.schema.js';

const parseListQuery = (raw: Record<string, unknown>) => parseWith(EvidenceListQuery, raw, 'The query');

const extracted = (over: Partial<ExtractedMetadata>): ExtractedMetadata =>
  ({ capturedAt: null, capturedAtOffset: null, location: null, device: null, orientation: null, width: null, height: null, durationS: null, ...over }) as ExtractedMetadata;
const tolerance = { locationM: 1000, timeS: 3600 };

describe('contradictionFlags', () => {
  it('flags positions further apart than the tolerance, not those within it', () => {
    const file = extracted({ location: { lat: 49.9935, lon: 36.2304, altitudeM: null } });
    expect(contradictionFlags({ location: { lat: 49.9935, lon: 36.2404 } }, file, tolerance)).toEqual([]); // ~716 m
    expect(contradictionFlags({ location: { lat: 49.9935, lon: 36.2504 } }, file, tolerance)).toEqual(['location_mismatch']); // ~1.4 km
  });

  it('compares times after applying the embedded offset', () => {
    const file = extracted({ capturedAt: '2026-11-20T01:10:00.000Z', capturedAtOffset: '+02:00' });
    expect(contradictionFlags({ capturedAt: '2026-11-20T03:40:00+02:00' }, file, tolerance)).toEqual([]);
    expect(contradictionFlags({ capturedAt: '2026-11-20T05:20:00+02:00' }, file, tolerance)).toEqual(['time_mismatch']);
  });

  it('does not guess a zone for a wall-clock time: only a gap beyond any zone is a mismatch', () => {
    const file = extracted({ capturedAt: '2026-11-20T03:10:00', capturedAtOffset: null });
    expect(contradictionFlags({ capturedAt: '2026-11-20T01:10:00Z' }, file, tolerance)).toEqual([]);
    expect(contradictionFlags({ capturedAt: '2026-11-22T01:10:00Z' }, file, tolerance)).toEqual(['time_mismatch']);
  });

  it('uses the 26-hour window of a zone-less time, whose ends are UTC+14 and UTC-12', () => {
    const file = extracted({ capturedAt: '2026-11-20T12:00:00', capturedAtOffset: null });
    // Window [2026-11-19T22:00Z, 2026-11-21T00:00Z]; tolerance one hour beyond either end.
    expect(contradictionFlags({ capturedAt: '2026-11-19T21:00:00Z' }, file, tolerance)).toEqual([]);
    expect(contradictionFlags({ capturedAt: '2026-11-19T20:59:59Z' }, file, tolerance)).toEqual(['time_mismatch']);
    expect(contradictionFlags({ capturedAt: '2026-11-21T01:00:00Z' }, file, tolerance)).toEqual([]);
    expect(contradictionFlags({ capturedAt: '2026-11-21T01:00:01Z' }, file, tolerance)).toEqual(['time_mismatch']);
  });

  it('says nothing when either side is missing', () => {
    expect(contradictionFlags({}, extracted({ location: { lat: 1, lon: 1, altitudeM: null } }), tolerance)).toEqual([]);
    expect(contradictionFlags({ location: { lat: 1, lon: 1 } }, null, tolerance)).toEqual([]);
  });
});

describe('captureInterval: the time a search sees', () => {
  it('the file instant first, then the zone-less window, then the declared instant, else nothing', () => {
    const instant = extracted({ capturedAt: '2008-05-30T12:56:01.250Z', capturedAtOffset: '+03:00' });
    const zoneless = extracted({ capturedAt: '2008-05-30T15:56:01', capturedAtOffset: null });
    const declared = '2022-03-01T08:00:00+02:00';
    expect(captureInterval(declared, instant)).toEqual({
      from: new Date('2008-05-30T12:56:01.250Z'),
      to: new Date('2008-05-30T12:56:01.250Z'),
      approximate: false,
    });
    expect(captureInterval(declared, zoneless)).toEqual({
      from: new Date('2008-05-30T01:56:01.000Z'),
      to: new Date('2008-05-31T03:56:01.000Z'),
      approximate: true,
    });
    expect(captureInterval(declared, extracted({}))).toEqual({ from: new Date('2022-03-01T06:00:00Z'), to: new Date('2022-03-01T06:00:00Z'), approximate: false });
    expect(captureInterval(declared, null)!.approximate).toBe(false);
    expect(captureInterval(undefined, null)).toBeNull();
    expect(captureInterval(undefined, extracted({ capturedAt: 'garbage', capturedAtOffset: null }))).toBeNull();
  });
});

describe('declaredOffset', () => {
  it('keeps ±hh:mm; Z and -00:00 say the local offset is unknown (RFC 9557)', () => {
    expect(declaredOffset('2026-11-20T01:10:00+02:00')).toBe('+02:00');
    expect(declaredOffset('2026-11-20T01:10:00.5-03:30')).toBe('-03:30');
    expect(declaredOffset('2026-11-20T01:10:00+00:00')).toBe('+00:00');
    expect(declaredOffset('2026-11-20T01:10:00Z')).toBeNull();
    expect(declaredOffset('2026-11-20T01:10:00z')).toBeNull();
    expect(declaredOffset('2026-11-20T01:10:00-00:00')).toBeNull();
    expect(declaredOffset(undefined)).toBeNull();
  });
});

describe('typeMismatch', () => {
  it.each([
    // Nothing declared.
    [null, 'image/jpeg', false],
    ['', 'image/jpeg', false],
    ['application/octet-stream', 'image/jpeg', false],
    ['text/plain', 'image/png', false], // a part without Content-Type reaches us as text/plain
    ['not a type', 'image/png', false],
    // The same format, however named.
    ['image/jpeg', 'image/jpeg', false],
    ['IMAGE/JPEG', 'image/jpeg', false],
    ['image/jpg', 'image/jpeg', false],
    ['image/pjpeg', 'image/jpeg', false],
    ['image/jpeg; charset=binary', 'image/jpeg', false],
    ['image/x-png', 'image/png', false],
    ['video/mp4', 'video/quicktime', false],
    ['video/quicktime', 'video/mp4', false],
    ['audio/mp4', 'audio/x-m4a', false],
    ['audio/m4a', 'video/mp4', false],
    ['video/3gpp', 'video/mp4', false],
    ['image/heic', 'image/heif', false],
    ['video/webm', 'video/matroska', false],
    ['image/x-adobe-dng', 'image/tiff', false],
    ['audio/mp3', 'audio/mpeg', false],
    ['video/x-msvideo', 'video/vnd.avi', false],
    ['video/vnd.dlna.mpeg-tts', 'video/mp2t', false],
    ['model/vnd.mts', 'video/mp2t', false],
    ['video/MP2T', 'video/mp2t', false],
    ['text/rtf', 'application/rtf', false],
    ['application/x-rtf', 'application/rtf', false],
    ['message/rfc822', 'multipart/related', false],
    ['application/x-mimearchive', 'multipart/related', false],
    ['multipart/related', 'message/rfc822', false],
    // Containers and what they hold.
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/zip', false],
    ['application/zip', 'application/epub+zip', false],
    ['application/msword', 'application/x-cfb', false],
    ['application/vnd.ms-office', 'application/msword', false],
    ['application/vnd.ms-office', 'application/vnd.ms-outlook', false],
    ['application/x-cfb', 'application/vnd.ms-excel', false],
    ['application/msword', 'application/vnd.ms-excel', true],
    ['application/vnd.ms-outlook', 'application/msword', true],
    ['image/svg+xml', 'application/xml', false],
    ['application/gpx+xml', 'application/xml', false],
    // Bytes the sniffer cannot name: only formats with a signature are contradicted.
    ['text/csv', 'application/octet-stream', false],
    ['application/json', 'application/octet-stream', false],
    ['image/svg+xml', 'application/octet-stream', false],
    ['audio/mpeg', 'application/octet-stream', false],
    ['image/jpeg', 'application/octet-stream', true],
    ['video/mp4', 'application/octet-stream', true],
    ['application/pdf', 'application/octet-stream', true],
    // Contradictions.
    ['image/jpeg', 'image/png', true],
    ['image/png', 'image/webp', true],
    ['image/jpeg', 'video/mp4', true],
    ['video/mp4', 'video/webm', true],
    ['video/mp2t', 'video/mp4', true],
    ['image/heic', 'image/avif', true],
    ['application/pdf', 'image/jpeg', true],
    ['text/csv', 'application/zip', true],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', true],
    ['application/json', 'image/png', true],
    ['text/rtf', 'application/pdf', true],
    ['message/rfc822', 'application/pdf', true],
    ['application/pdf', 'message/rfc822', true],
  ] as const)('declared %s, sniffed %s → %s', (declared, sniffed, expected) => {
    expect(typeMismatch(declared, sniffed)).toBe(expected);
  });
});

describe('parseListQuery', () => {
  const fields = (raw: Record<string, unknown>): string[] => {
    try {
      parseListQuery(raw);
      return [];
    } catch (error) {
      return (error as { fields: { field: string }[] }).fields.map((f) => f.field);
    }
  };

  it('locationSource: any by default, declared or embedded; anything else names it; alone it has no effect', () => {
    expect(parseListQuery({}).locationSource).toBe('any');
    expect(parseListQuery({ near: '50,36', locationSource: 'declared' }).locationSource).toBe('declared');
    expect(parseListQuery({ bbox: '36,49,37,51', locationSource: 'embedded' }).locationSource).toBe('embedded');
    expect(fields({ near: '50,36', locationSource: 'gps' })).toEqual(['locationSource']);
    expect(fields({ near: '50,36', locationSource: ['any', 'declared'] })).toEqual(['locationSource']);
    expect(fields({ locationSource: 'any' })).toEqual([]);
    expect(parseListQuery({ locationSource: 'embedded' })).toMatchObject({ locationSource: 'embedded', near: null, bbox: null });
  });

  it('knows the type_mismatch flag', () => {
    expect(parseListQuery({ flag: 'type_mismatch' }).flag).toBe('type_mismatch');
  });
});
