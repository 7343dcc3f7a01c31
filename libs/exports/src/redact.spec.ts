import { describe, expect, it } from 'vitest';
import { partnerDamageView, partnerEvidenceView, partnerIncidentView, partnerRemnantView, roundPositions } from './redact.js';

describe('roundPositions', () => {
  it('rounds positions under their keys and in GeoJSON coordinates, at any depth, and nothing else', () => {
    const damage = {
      location: { lat: 50.02684, lon: 36.34581 },
      footprint: { type: 'Polygon', coordinates: [[[36.3459, 50.0269], [36.3462, 50.0269], [36.3462, 50.0271], [36.3459, 50.0269]]] },
      serviceImpact: { counts: { householdsWithoutHeat: 120.4 } },
      items: [{ latitude: -22.5071, longitude: -43.2549, altitudeM: 700.25 }],
    };
    expect(roundPositions(damage)).toEqual({
      location: { lat: 50.03, lon: 36.35 },
      footprint: { type: 'Polygon', coordinates: [[[36.35, 50.03], [36.35, 50.03], [36.35, 50.03], [36.35, 50.03]]] },
      serviceImpact: { counts: { householdsWithoutHeat: 120.4 } },
      items: [{ latitude: -22.51, longitude: -43.25, altitudeM: 700.25 }],
    });
    // The input is left as it was.
    expect(damage.footprint.coordinates[0]![0]).toEqual([36.3459, 50.0269]);
  });
});

describe('partnerEvidenceView', () => {
  it('names as copies of an item only the items in the same copy', () => {
    const view = {
      submittedBy: { id: 'u1' },
      originalFileName: null,
      flags: ['exact_duplicate', 'near_duplicate'],
      duplicateOf: 'e-outside',
      nearDuplicates: [
        { id: 'e-inside', distance: 2 },
        { id: 'e-outside', distance: 3 },
      ],
    };
    expect(partnerEvidenceView(view, new Set(['e-inside']))).toMatchObject({
      flags: ['exact_duplicate', 'near_duplicate'],
      duplicateOf: null,
      nearDuplicates: [{ id: 'e-inside', distance: 2 }],
    });
    expect(partnerEvidenceView(view, new Set(['e-inside', 'e-outside']))).toMatchObject({ duplicateOf: 'e-outside', nearDuplicates: view.nearDuplicates });
  });

  it('names nobody: the submitter by id only, no document author nor last saver; positions rounded', () => {
    const view = {
      submittedBy: { id: 'u1', displayName: 'Dasha' },
      originalFileName: 'IMG_0001.jpg',
      declared: { location: { lat: 50.02684, lon: 36.34581 } },
      extracted: { location: { lat: 50.1234, lon: 30.5678, altitudeM: 12 }, document: { pages: 2, title: 'Statement', author: 'Оксана Коваленко', lastModifiedBy: 'Слідчий Петренко' } },
    };
    expect(partnerEvidenceView(view, new Set())).toEqual({
      submittedBy: { id: 'u1' },
      originalFileName: null,
      declared: { location: { lat: 50.03, lon: 36.35 } },
      extracted: { location: { lat: 50.12, lon: 30.57, altitudeM: 12 }, device: null, document: { pages: 2, title: 'Statement', author: null, lastModifiedBy: null, creator: null, producer: null } },
    });
    expect(partnerEvidenceView({ submittedBy: { id: 'u2' }, originalFileName: null, extracted: null }, new Set())).toEqual({ submittedBy: { id: 'u2' }, originalFileName: null, extracted: null });
  });

  it('keeps nothing that names the file or the device: no original file name, no device, no creator tool or producer', () => {
    const view = {
      id: 'e1',
      originalFileName: 'D1-IMG_0001-kharkiv-home.jpg',
      submittedBy: { id: 'u1', displayName: 'Dasha' },
      title: 'Уламки на подвір’ї',
      extracted: {
        capturedAt: '2026-11-20T01:50:00.000Z',
        location: { lat: 50.1234, lon: 30.5678, altitudeM: 12 },
        device: { make: 'DJI', model: 'FC3411', software: '10.01.13.08' },
        width: 4000,
        document: { pages: 2, title: 'Statement', author: 'Оксана Коваленко', creator: 'HP Scan (Kharkiv office)', producer: 'HP LaserJet MFP M428 PDF', createdAt: null },
      },
    };
    const shown = partnerEvidenceView(view, new Set());
    expect(shown).toEqual({
      id: 'e1',
      originalFileName: null,
      submittedBy: { id: 'u1' },
      title: 'Уламки на подвір’ї',
      extracted: {
        capturedAt: '2026-11-20T01:50:00.000Z',
        location: { lat: 50.12, lon: 30.57, altitudeM: 12 },
        device: null,
        width: 4000,
        document: { pages: 2, title: 'Statement', author: null, lastModifiedBy: null, creator: null, producer: null, createdAt: null },
      },
    });
    // A saved web page's address goes too (its query can carry the viewing account's tokens).
    const page = { submittedBy: { id: 'u3' }, originalFileName: null, extracted: { document: { title: 'Нічна атака', savedFrom: 'https://example.org/p/1?__cft__=AZX' } } };
    expect(partnerEvidenceView(page, new Set()).extracted).toEqual({
      device: null,
      document: { title: 'Нічна атака', savedFrom: null, author: null, lastModifiedBy: null, creator: null, producer: null },
    });
    // An e-mail's recipients and its attachments' names go; what each attachment is stays (a partner can match a file they hold).
    const tip = {
      submittedBy: { id: 'u4' },
      originalFileName: null,
      extracted: {
        document: {
          title: 'Fwd: Фото',
          recipients: { to: ['Марко Ткач <marko@example.org>'], cc: [], bcc: ['archive@example.net'] },
          attachments: [{ name: 'Олена Коваль, паспорт.jpg', mediaType: 'image/jpeg', sizeBytes: 715, sha256: 'ab'.repeat(32), inline: true }],
        },
      },
    };
    expect(partnerEvidenceView(tip, new Set()).extracted.document).toEqual({
      title: 'Fwd: Фото',
      recipients: null,
      attachments: [{ name: null, mediaType: 'image/jpeg', sizeBytes: 715, sha256: 'ab'.repeat(32), inline: true }],
      author: null,
      lastModifiedBy: null,
      creator: null,
      producer: null,
    });
    expect(tip.extracted.document.attachments[0]!.name).toBe('Олена Коваль, паспорт.jpg');
    // A mailbox's message: its subject (the name) and its sender go; its date, size and SHA-256 stay.
    const message = { name: 'Свідчення Олени.eml', mediaType: 'message/rfc822', sizeBytes: 2168, sha256: 'cd'.repeat(32), inline: false, from: 'Олена Коваль <olena@example.org>', sentAt: '2025-11-04T01:12:07.000Z' };
    const box = { submittedBy: { id: 'u5' }, originalFileName: null, extracted: { document: { title: null, attachments: [message] } } };
    expect(partnerEvidenceView(box, new Set()).extracted.document.attachments).toEqual([{ ...message, name: null, from: null }]);
    // A file with no device and no document block gets none.
    expect(partnerEvidenceView({ submittedBy: { id: 'u2' }, originalFileName: 'IMG_1.jpg', extracted: { device: null, width: 1 } }, new Set())).toEqual({
      submittedBy: { id: 'u2' },
      originalFileName: null,
      extracted: { device: null, width: 1 },
    });
    // The input is left as it was.
    expect(view.originalFileName).toBe('D1-IMG_0001-kharkiv-home.jpg');
    expect(view.extracted.device.model).toBe('FC3411');
    expect(view.extracted.document.creator).toBe('HP Scan (Kharkiv office)');
  });
});

describe('partnerDamageView', () => {
  it('drops the street address (it would place the object more precisely than 0.01°); the rest kept, positions rounded', () => {
    const damage = {
      id: 'd1',
      objectName: 'Житловий будинок',
      address: 'вул. Академіка Павлова, 140, Харків',
      location: { lat: 50.02684, lon: 36.34581 },
      footprint: { type: 'Polygon', coordinates: [[[36.3459, 50.0269], [36.3462, 50.0269], [36.3459, 50.0269]]] },
      damageLevel: 'severe',
    };
    expect(partnerDamageView(damage)).toEqual({
      id: 'd1',
      objectName: 'Житловий будинок',
      address: null,
      location: { lat: 50.03, lon: 36.35 },
      footprint: { type: 'Polygon', coordinates: [[[36.35, 50.03], [36.35, 50.03], [36.35, 50.03]]] },
      damageLevel: 'severe',
    });
    expect(damage.address).toBe('вул. Академіка Павлова, 140, Харків');
  });
});

describe('partnerIncidentView', () => {
  it('drops the free-text place name (it may be a street and number); oblast, raion and hromada kept, positions rounded', () => {
    const incident = {
      id: 'i1',
      title: 'Удар по Салтівці',
      location: { lat: 50.02684, lon: 36.34581 },
      placeName: 'Харків, вул. Гвардійців-Широнінців, 12',
      admin1: 'Харківська',
      admin2: 'Харківський',
      admin3: 'Харківська',
    };
    expect(partnerIncidentView(incident)).toEqual({
      id: 'i1',
      title: 'Удар по Салтівці',
      location: { lat: 50.03, lon: 36.35 },
      placeName: null,
      admin1: 'Харківська',
      admin2: 'Харківський',
      admin3: 'Харківська',
    });
    expect(incident.placeName).toBe('Харків, вул. Гвардійців-Широнінців, 12');
  });
});

describe('partnerRemnantView', () => {
  it('names no one: who recovered the object, each hand-over\'s holder and note null; place and dates kept; positions rounded', () => {
    const remnant = {
      id: 'r1',
      recoveredBy: 'ДСНС, піротехнічна група Петренка',
      location: { lat: 50.02684, lon: 36.34581 },
      physicalCustody: [
        { transferId: 't1', holder: 'Сержант Іван Петренко', place: 'SES depot, Kharkiv', from: '2026-11-20T05:00:00.000Z', to: '2026-11-22T08:00:00.000Z', note: null, recordedBy: 'u1' },
        { transferId: 't2', holder: 'Kharkiv Research Institute', place: 'Laboratory 2', from: '2026-11-22T08:00:00.000Z', to: null, note: 'received from Sgt. Petrenko, seal 004512', recordedBy: 'u1' },
      ],
    };
    expect(partnerRemnantView(remnant)).toEqual({
      id: 'r1',
      recoveredBy: null,
      location: { lat: 50.03, lon: 36.35 },
      physicalCustody: [
        { transferId: 't1', holder: null, place: 'SES depot, Kharkiv', from: '2026-11-20T05:00:00.000Z', to: '2026-11-22T08:00:00.000Z', note: null, recordedBy: 'u1' },
        { transferId: 't2', holder: null, place: 'Laboratory 2', from: '2026-11-22T08:00:00.000Z', to: null, note: null, recordedBy: 'u1' },
      ],
    });
    // The input is left as it was.
    expect(remnant.physicalCustody[0]!.holder).toBe('Сержант Іван Петренко');
    expect(remnant.recoveredBy).toBe('ДСНС, піротехнічна група Петренка');
    expect(partnerRemnantView({ recoveredBy: null, physicalCustody: [] })).toEqual({ recoveredBy: null, physicalCustody: [] });
  });
});
