import { describe, expect, it } from 'vitest';
import { partnerEvidenceView, partnerRemnantView, roundPositions } from './redact.js';

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
  it('names nobody: the submitter by id only, no document author; positions rounded', () => {
    const view = {
      submittedBy: { id: 'u1', displayName: 'Dasha' },
      declared: { location: { lat: 50.02684, lon: 36.34581 } },
      extracted: { location: { lat: 50.1234, lon: 30.5678, altitudeM: 12 }, document: { pages: 2, title: 'Statement', author: 'Оксана Коваленко' } },
    };
    expect(partnerEvidenceView(view)).toEqual({
      submittedBy: { id: 'u1' },
      declared: { location: { lat: 50.03, lon: 36.35 } },
      extracted: { location: { lat: 50.12, lon: 30.57, altitudeM: 12 }, document: { pages: 2, title: 'Statement', author: null } },
    });
    expect(partnerEvidenceView({ submittedBy: { id: 'u2' }, extracted: null })).toEqual({ submittedBy: { id: 'u2' }, extracted: null });
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
