import { describe, expect, it } from 'vitest';
import { readCasualty, readDamage, readIncident } from './schemas.js';
import { applyPatch } from './validation.js';

const incident = { title: 'Strike', type: 'air_drone_strike', startAt: '2026-11-20T01:00:00Z' };

describe('record bodies', () => {
  it('reads a minimal incident with defaults, and names every vocabulary-bound field for checking', () => {
    const { reader, record } = readIncident({ ...incident, weapons: [{ weaponType: 'uav.owa.shahed_136', confidence: 'high' }], grade: 'fair' });
    expect(reader.malformed).toEqual([]);
    expect(reader.wrong).toEqual([]);
    expect(record.verificationStatus).toBe('reported');
    expect(reader.references).toEqual(expect.arrayContaining([
      { field: 'type', vocabulary: 'incident_type', code: 'air_drone_strike' },
      { field: 'weapons[0].weaponType', vocabulary: 'weapon_type', code: 'uav.owa.shahed_136' },
      { field: 'weapons[0].confidence', vocabulary: 'confidence', code: 'high' },
      { field: 'grade', vocabulary: 'grade', code: 'fair' },
    ]));
  });

  it('separates malformed fields (400) from wrong values (422)', () => {
    const { reader } = readIncident({ ...incident, startAt: 'tomorrow', killed: { min: 3, max: 1 }, location: { lat: -95, lon: 10 }, extra: 1 });
    expect(reader.malformed.map((p) => p.field).sort()).toEqual(['extra', 'startAt']);
    expect(reader.wrong.map((p) => p.field).sort()).toEqual(['killed', 'location.lat']);
    expect(readIncident({ ...incident, endAt: '2026-11-19T00:00:00Z' }).reader.wrong).toEqual([{ field: 'endAt', message: 'must not be before startAt' }]);
    expect(readIncident({ ...incident, injured: -2 }).reader.wrong.map((p) => p.field)).toEqual(['injured']);
  });

  it('needs a group size for groups, and keeps names apart from the record', () => {
    expect(readCasualty({ harmStatus: 'killed', countingUnit: 'group' }).reader.malformed.map((p) => p.field)).toEqual(['groupSize']);
    const { record, names } = readCasualty({ harmStatus: 'killed', fullName: '  Іван Франко ', nameVariants: ['Ivan Franko'] });
    expect(names).toEqual({ fullName: 'Іван Франко', nameVariants: ['Ivan Franko'] });
    expect(JSON.stringify(record)).not.toContain('Франко');
  });

  it('checks a damage footprint is a closed GeoJSON polygon in [lon, lat]', () => {
    const ring = [[36.1, 50.0], [36.2, 50.0], [36.2, 50.1], [36.1, 50.0]];
    expect(readDamage({ footprint: { type: 'Polygon', coordinates: [ring] } }).reader.wrong).toEqual([]);
    expect(readDamage({ footprint: { type: 'Polygon', coordinates: [ring.slice(0, 3).concat([[36.0, 50.0]])] } }).reader.wrong.map((p) => p.field)).toEqual(['footprint']);
    expect(readDamage({ footprint: { type: 'Point', coordinates: [1, 2] } }).reader.malformed.map((p) => p.field)).toEqual(['footprint']);
  });

  it('a PATCH needs a reason and is applied over the stored record', () => {
    expect(() => applyPatch({ title: 'a' }, { title: 'b' }, 'incident')).toThrow(/reason/);
    expect(applyPatch({ title: 'a', grade: 'weak' }, { grade: null, reason: ' why ' }, 'incident')).toEqual({ merged: { title: 'a', grade: null }, reason: 'why' });
  });
});
