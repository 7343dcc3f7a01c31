import { describe, expect, it } from 'vitest';
import { partnerEvidenceView, roundPositions } from './redact.js';

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
