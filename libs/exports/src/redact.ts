/** Degrees kept in a partner's working copy: 0.01° is about 1.1 km, a district, not a doorstep. */
const PARTNER_PRECISION = 100;
const POSITION_KEYS = new Set(['lat', 'lon', 'latitude', 'longitude']);

/**
 * A copy of `value` with every latitude and longitude rounded to 0.01 degree, wherever it sits:
 * partner copies must not place a documenter or a witness more precisely than that.
 */
export function roundPositions<T>(value: T): T {
  if (Array.isArray(value)) return value.map(roundPositions) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = POSITION_KEYS.has(key) && typeof inner === 'number' ? Math.round(inner * PARTNER_PRECISION) / PARTNER_PRECISION : roundPositions(inner);
  }
  return out as T;
}

/** The evidence resource as a partner gets it: positions rounded, the submitter named by id only. */
export function partnerEvidenceView<V extends { submittedBy: { id: string; displayName?: string | null } }>(view: V): V {
  const rounded = roundPositions(view);
  return { ...rounded, submittedBy: { id: view.submittedBy.id } };
}
