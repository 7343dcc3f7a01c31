import type { EventsWithheld } from '#custodia/custody';

/** Degrees kept in a partner's working copy: 0.01° is about 1.1 km, a district, not a doorstep. */
const PARTNER_PRECISION = 100;
const POSITION_KEYS = new Set(['lat', 'lon', 'latitude', 'longitude']);

const roundDegrees = (degrees: number): number => Math.round(degrees * PARTNER_PRECISION) / PARTNER_PRECISION;

/** The numbers of a GeoJSON `coordinates` array (a damage footprint's rings of [lon, lat]), rounded. */
function roundCoordinates(value: unknown): unknown {
  if (typeof value === 'number') return roundDegrees(value);
  return Array.isArray(value) ? value.map(roundCoordinates) : value;
}

/**
 * A copy of `value` with every latitude and longitude rounded to 0.01 degree, wherever it sits
 * (under a position key, or in a GeoJSON `coordinates` array): partner copies must not place a
 * documenter, a witness or a building more precisely than that.
 */
export function roundPositions<T>(value: T): T {
  if (Array.isArray(value)) return value.map(roundPositions) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      POSITION_KEYS.has(key) && typeof inner === 'number' ? roundDegrees(inner)
      : key === 'coordinates' && Array.isArray(inner) ? roundCoordinates(inner)
      : roundPositions(inner);
  }
  return out as T;
}

interface PartnerShown {
  submittedBy: { id: string; displayName?: string | null };
  extracted?: { document?: { author?: string | null } | null } | null;
}

/**
 * The evidence resource as a partner gets it: positions rounded, no names (the submitter by id
 * only, and no author a document names, who may be the documenter or a witness).
 */
export function partnerEvidenceView<V extends PartnerShown>(view: V): V {
  const rounded = roundPositions(view);
  const document = rounded.extracted?.document;
  return {
    ...rounded,
    submittedBy: { id: view.submittedBy.id },
    ...(document ? { extracted: { ...rounded.extracted, document: { ...document, author: null } } } : {}),
  };
}

interface PartnerRemnant {
  recoveredBy: string | null;
  physicalCustody: readonly { holder: string | null; note: string | null }[];
}
type Period<R extends PartnerRemnant> = R['physicalCustody'][number];
type Unnamed<R extends PartnerRemnant> = Omit<R, 'physicalCustody' | 'recoveredBy'> & {
  recoveredBy: null;
  physicalCustody: (Omit<Period<R>, 'holder' | 'note'> & { holder: null; note: null })[];
};

/**
 * A munition remnant as a partner gets it: positions rounded; who recovered it and each
 * hand-over's `holder` and free-text `note` null (they may name a custodian, a unit or a
 * witness); where the object was kept (`place`) and when stay.
 */
export function partnerRemnantView<R extends PartnerRemnant>(remnant: R): Unnamed<R> {
  const rounded = roundPositions(remnant);
  const periods: readonly Period<R>[] = rounded.physicalCustody;
  return { ...rounded, recoveredBy: null, physicalCustody: periods.map((period) => ({ ...period, holder: null, note: null })) };
}

/**
 * Custody events a partner copy leaves out, as the log's signed bytes cannot be redacted:
 * hand-overs recorded before their events stopped naming the holder (a hand-over's event now
 * holds the hash of its row instead, and those events travel as any other), and events carrying
 * the free text an actor gave as their `reason`, which may name anyone (a witness, a source).
 */
export const EVENTS_PARTNERS_DO_NOT_GET: EventsWithheld = { action: 'remnant.transferred', detailKeys: ['holder', 'previousHolder'], withReason: true };
