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

interface PartnerDocument {
  author?: string | null;
  lastModifiedBy?: string | null;
  creator?: string | null;
  producer?: string | null;
  savedFrom?: string | null;
  recipients?: unknown;
  attachments?: readonly { name: string | null; from?: string | null }[];
}

interface PartnerShown {
  submittedBy: { id: string; displayName?: string | null };
  originalFileName: string | null;
  duplicateOf?: string | null;
  nearDuplicates?: readonly { id: string }[];
  extracted?: {
    device?: { make: string | null; model: string | null; software: string | null } | null;
    document?: PartnerDocument | null;
  } | null;
}

/**
 * The evidence resource as a partner gets it: positions rounded, no names (the submitter by id
 * only, and no author or last saver a document names, who may be the documenter or a witness), and nothing
 * that tells whose file it was: no original file name (a documenter's own naming, such as
 * "D1-IMG_0001-kharkiv-home.jpg", can name a place or a person; the packed preview has a name
 * of its own), no device (make, model and software single out a documenter's phone or drone),
 * and no program a document names as its creator or producer (an office's scanner or copy of
 * a word processor, the device of a document), nor the address a saved web page came from (its
 * query can carry the tokens of the account that viewed it), nor an e-mail's recipients (people
 * the sender wrote to) or its attached files' names (named as the original file is not); an
 * attachment's type, size and SHA-256 stay, so a partner can match it with a file they hold. The items it names as its copies
 * (`duplicateOf`, `nearDuplicates`) are only those in the same copy (`inCopy`): the ids of others
 * would tell a partner of material the archive did not share (its flags still say it has copies).
 */
export function partnerEvidenceView<V extends PartnerShown>(view: V, inCopy: ReadonlySet<string>): V {
  const rounded = roundPositions(view);
  const extracted = rounded.extracted;
  const document = extracted?.document;
  return {
    ...rounded,
    submittedBy: { id: view.submittedBy.id },
    originalFileName: null,
    ...(view.duplicateOf !== undefined ? { duplicateOf: view.duplicateOf !== null && inCopy.has(view.duplicateOf) ? view.duplicateOf : null } : {}),
    ...(view.nearDuplicates ? { nearDuplicates: view.nearDuplicates.filter((near) => inCopy.has(near.id)) } : {}),
    ...(extracted ? { extracted: { ...extracted, device: null, ...(document ? { document: partnerDocument(document) } : {}) } } : {}),
  };
}

function partnerDocument<D extends PartnerDocument>(document: D): D {
  return {
    ...document,
    author: null,
    lastModifiedBy: null,
    creator: null,
    producer: null,
    ...(document.savedFrom !== undefined ? { savedFrom: null } : {}),
    ...(document.recipients !== undefined ? { recipients: null } : {}),
    // A file's name and a mailbox message's sender can name a person; the type, size, time and SHA-256 stay, so a partner can match a file they hold.
    ...(document.attachments ? { attachments: document.attachments.map((file) => ({ ...file, name: null, ...(file.from === undefined ? {} : { from: null }) })) } : {}),
  };
}

/**
 * A damage record as a partner gets it: positions rounded and no street `address`, which would
 * place the object (and whoever lives there) to the doorstep the rounding takes away. What the
 * object is (`objectName`, its category) stays: it is the finding.
 */
export function partnerDamageView<D extends { address: string | null }>(damage: D): D {
  return { ...roundPositions(damage), address: null };
}

/**
 * An incident as a partner gets it: positions rounded and no free-text `placeName`, which may be
 * a street and number as precise as an address; the oblast, raion and hromada (`admin1..3`) say
 * where it happened to the district, as the rounded position does.
 */
export function partnerIncidentView<I extends { placeName: string | null }>(incident: I): I {
  return { ...roundPositions(incident), placeName: null };
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
 * holds the hash of its row instead, and those events travel as any other); the archive's
 * readings of a file's metadata recorded before they stopped naming the device it came from
 * (make, model, software), which the copy's records withhold; and events carrying the free text
 * an actor gave as their `reason`, which may name anyone (a witness, a source).
 */
export const EVENTS_PARTNERS_DO_NOT_GET: EventsWithheld = {
  naming: [
    { action: 'remnant.transferred', detailKeys: ['holder', 'previousHolder'] },
    { action: 'evidence.metadata_extracted', detailKeys: ['device'] },
  ],
  withReason: true,
};
