import { describe, expect, it } from 'vitest';
import { parseWith } from '#custodia/schema';
import { CasualtyVersionSchema, CreateCasualtyBody } from './casualties/casualty.schema.js';
import { CreateDamageBody, PatchDamageBody } from './damage/damage.schema.js';
import { CreateIncidentBody, IncidentFields, PatchIncidentBody } from './incidents/incident.schema.js';
import { codesIn } from './vocabularies/vocabulary-codes.js';

const incident = { title: 'Strike', type: 'air_drone_strike', startAt: '2026-11-20T01:00:00Z' };
/** The fields of the problem a parse throws, and its kind. */
const refusal = (run: () => unknown): { kind: string; fields: string[] } => {
  try {
    run();
  } catch (error) {
    const e = error as { kind: string; fields: { field: string }[] };
    return { kind: e.kind, fields: e.fields.map((f) => f.field).sort() };
  }
  throw new Error('expected a refusal');
};

describe('record bodies', () => {
  it('reads a minimal incident with defaults, and names every vocabulary-bound field for checking', () => {
    const body = parseWith(CreateIncidentBody, { ...incident, weapons: [{ weaponType: 'uav.owa.shahed_136', confidence: 'high' }], grade: 'fair', injured: 3 });
    expect(body.record).toMatchObject({ verificationStatus: 'reported', injured: { min: 3, max: 3 }, killed: null, weapons: [{ identificationBasis: null }] });
    expect(body).toMatchObject({ evidence: null, reason: null });
    expect(codesIn(IncidentFields, body.record)).toEqual(expect.arrayContaining([
      { field: 'type', vocabulary: 'incident_type', code: 'air_drone_strike' },
      { field: 'weapons[0].weaponType', vocabulary: 'weapon_type', code: 'uav.owa.shahed_136' },
      { field: 'weapons[0].confidence', vocabulary: 'confidence', code: 'high' },
      { field: 'grade', vocabulary: 'grade', code: 'fair' },
      { field: 'verificationStatus', vocabulary: 'verification_status', code: 'reported' },
    ]));
  });

  it('separates malformed fields (400) from wrong values (422)', () => {
    expect(refusal(() => parseWith(CreateIncidentBody, { ...incident, startAt: 'tomorrow', killed: { min: 3, max: 1 }, extra: 1 }))).toEqual({ kind: 'bad_request', fields: ['extra', 'startAt'] });
    expect(refusal(() => parseWith(CreateIncidentBody, { ...incident, killed: { min: 3, max: 1 }, location: { lat: -95, lon: 10 }, injured: -2 }))).toEqual({
      kind: 'unprocessable',
      fields: ['injured', 'killed', 'location.lat'],
    });
    expect(refusal(() => parseWith(CreateIncidentBody, { ...incident, endAt: '2026-11-19T00:00:00Z' }))).toEqual({ kind: 'unprocessable', fields: ['endAt'] });
    expect(refusal(() => parseWith(CreateIncidentBody, { ...incident, type: 'Air Strike' }))).toEqual({ kind: 'unprocessable', fields: ['type'] });
    expect(refusal(() => parseWith(CreateIncidentBody, { ...incident, startAt: '2999-01-01T00:00:00Z' }))).toEqual({ kind: 'unprocessable', fields: ['startAt'] });
  });

  it('needs a group size for groups, and keeps names apart from the record', () => {
    expect(refusal(() => parseWith(CreateCasualtyBody, { harmStatus: 'killed', countingUnit: 'group' }))).toEqual({ kind: 'bad_request', fields: ['groupSize'] });
    const { record, names } = parseWith(CasualtyVersionSchema, { harmStatus: 'killed', fullName: '  Іван Франко ', nameVariants: ['Ivan Franko'] });
    expect(names).toEqual({ fullName: 'Іван Франко', nameVariants: ['Ivan Franko'] });
    expect(JSON.stringify(record)).not.toContain('Франко');
    expect(parseWith(CreateCasualtyBody, { harmStatus: 'injured', dateOfHarm: '2026-11-20' }).record.dateOfHarm).toBe('2026-11-20');
    expect(refusal(() => parseWith(CreateCasualtyBody, { harmStatus: 'killed', dateOfHarm: '2026-02-30' }))).toEqual({ kind: 'bad_request', fields: ['dateOfHarm'] });
  });

  it("keeps how precise a casualty's dates are, and refuses a precision without its date", () => {
    // Died of wounds some time in March 2022: the month is what is known.
    const { record } = parseWith(CreateCasualtyBody, { harmStatus: 'died_of_wounds', dateOfHarm: '2022-02-24', dateOfHarmPrecision: 'exact', dateOfDeath: '2022-03-01', dateOfDeathPrecision: 'month' });
    expect(record).toMatchObject({ dateOfHarm: '2022-02-24', dateOfHarmPrecision: 'exact', dateOfDeath: '2022-03-01', dateOfDeathPrecision: 'month' });
    expect(parseWith(CreateCasualtyBody, { harmStatus: 'injured' }).record).toMatchObject({ dateOfHarmPrecision: null, dateOfDeathPrecision: null });
    expect(refusal(() => parseWith(CreateCasualtyBody, { harmStatus: 'killed', dateOfHarmPrecision: 'month' }))).toEqual({ kind: 'unprocessable', fields: ['dateOfHarmPrecision'] });
    expect(refusal(() => parseWith(CreateCasualtyBody, { harmStatus: 'killed', dateOfHarm: '2022-02-24', dateOfDeathPrecision: 'year' }))).toEqual({ kind: 'unprocessable', fields: ['dateOfDeathPrecision'] });
    expect(refusal(() => parseWith(CreateCasualtyBody, { harmStatus: 'killed', dateOfHarm: '2022-02-24', dateOfHarmPrecision: 'Month!' }))).toEqual({ kind: 'unprocessable', fields: ['dateOfHarmPrecision'] });
  });

  it('checks a damage footprint is a closed GeoJSON polygon in [lon, lat]', () => {
    const ring = [[36.1, 50.0], [36.2, 50.0], [36.2, 50.1], [36.1, 50.0]];
    expect(parseWith(CreateDamageBody, { footprint: { type: 'Polygon', coordinates: [ring] } }).record.footprint).toEqual({ type: 'Polygon', coordinates: [ring] });
    expect(refusal(() => parseWith(CreateDamageBody, { footprint: { type: 'Polygon', coordinates: [ring.slice(0, 3).concat([[36.0, 50.0]])] } }))).toEqual({ kind: 'unprocessable', fields: ['footprint'] });
    expect(refusal(() => parseWith(CreateDamageBody, { footprint: { type: 'Point', coordinates: [1, 2] } })).kind).toBe('bad_request');
  });

  it('a PATCH needs a reason (422) and leaves out what it does not name', () => {
    expect(refusal(() => parseWith(PatchIncidentBody, { title: 'b' }))).toEqual({ kind: 'unprocessable', fields: ['reason'] });
    expect(parseWith(PatchIncidentBody, { grade: null, reason: ' why ' })).toEqual({ grade: null, reason: 'why' });
    expect(parseWith(PatchDamageBody, { damageLevel: 'destroyed', reason: 'collapsed' })).toEqual({ damageLevel: 'destroyed', reason: 'collapsed' });
  });
});
