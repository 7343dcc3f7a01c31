import { EvidenceLink } from '#custodia/evidence';
import { GeoPoint, reason, requiredInDocument, timestamp, uuid, wrong, z } from '#custodia/schema';
import { codeFilter, LISTING_FIELDS, readListingFilters } from '#custodia/search';
import { count, countRange, CountRangeView, freeText, instant, reference, requiredLine, type CountRange } from '../record-fields.js';
import { code } from '../vocabularies/vocabulary-codes.js';

const BREAKDOWN_KEYS = ['men', 'women', 'boys', 'girls', 'childrenUnknownSex', 'adultsUnknownSex'] as const;

/** OHCHR's breakdown of people harmed. */
export type HarmBreakdown = Record<(typeof BREAKDOWN_KEYS)[number], number | null>;

const BreakdownInput = z.strictObject({
  men: count().nullish(),
  women: count().nullish(),
  boys: count().nullish(),
  girls: count().nullish(),
  childrenUnknownSex: count().nullish(),
  adultsUnknownSex: count().nullish(),
});

/**
 * The fields of an incident (data-model.md), as a body gives them: no defaults here, so a PATCH
 * can tell a field it leaves alone from one it clears (null).
 */
const INCIDENT_FIELDS = {
  code: z
    .string()
    .trim()
    .max(50)
    .regex(/^[\p{L}\p{N}._/-]+$/u, 'may hold letters, digits and . _ / - only')
    .nullish()
    .describe('Readable, unique in the case; INC-0001, INC-0002, ... when not given'),
  title: requiredLine(500),
  description: freeText(20_000),
  type: code('incident_type'),
  startAt: instant(),
  endAt: instant().nullish(),
  datePrecision: code('date_precision').nullish(),
  location: GeoPoint.nullish(),
  geoPrecision: code('geo_precision').nullish(),
  placeName: freeText(500),
  admin1: freeText(200).describe('Oblast'),
  admin2: freeText(200).describe('Raion'),
  admin3: freeText(200).describe('Hromada'),
  weapons: z
    .array(
      z.strictObject({
        weaponType: code('weapon_type'),
        identificationBasis: code('weapon_identification_basis').nullish(),
        confidence: code('confidence').nullish(),
      }),
    )
    .max(20)
    .nullish(),
  attributions: z
    .array(z.strictObject({ actor: requiredLine(200), basis: freeText(2000), confidence: code('confidence').nullish() }))
    .max(20)
    .nullish(),
  grade: code('grade').nullish(),
  verificationStatus: code('verification_status').nullish().describe('reported when not given'),
  killed: countRange().nullish(),
  injured: countRange().nullish(),
  civilianKilled: countRange().nullish(),
  breakdown: z.strictObject({ killed: BreakdownInput.nullish(), injured: BreakdownInput.nullish() }).nullish(),
  relatedIncidents: z
    .array(z.strictObject({ incidentId: reference(), relation: code('related_incident_relation') }))
    .max(50)
    .nullish(),
};

/** The fields, for finding the vocabulary codes a record uses. */
export const IncidentFields = z.strictObject(INCIDENT_FIELDS);
type IncidentInput = z.output<typeof IncidentFields>;

/** An incident as stored (`incidents.record`); killed and injured here are the entered figures. */
export interface IncidentRecord {
  code: string | null;
  title: string;
  description: string | null;
  type: string;
  startAt: string;
  endAt: string | null;
  datePrecision: string | null;
  location: { lat: number; lon: number } | null;
  geoPrecision: string | null;
  placeName: string | null;
  admin1: string | null;
  admin2: string | null;
  admin3: string | null;
  weapons: { weaponType: string; identificationBasis: string | null; confidence: string | null }[];
  attributions: { actor: string; basis: string | null; confidence: string | null }[];
  grade: string | null;
  verificationStatus: string;
  killed: CountRange | null;
  injured: CountRange | null;
  civilianKilled: CountRange | null;
  breakdown: { killed: HarmBreakdown | null; injured: HarmBreakdown | null };
  relatedIncidents: { incidentId: string; relation: string }[];
}

const breakdownOf = (input: Partial<HarmBreakdown> | null | undefined): HarmBreakdown | null =>
  input ? (Object.fromEntries(BREAKDOWN_KEYS.map((key) => [key, input[key] ?? null])) as HarmBreakdown) : null;

/** The stored record of a read body: every field present, absent ones null or empty. */
function toRecord(input: IncidentInput): IncidentRecord {
  return {
    code: input.code ?? null,
    title: input.title,
    description: input.description ?? null,
    type: input.type,
    startAt: input.startAt,
    endAt: input.endAt ?? null,
    datePrecision: input.datePrecision ?? null,
    location: input.location ?? null,
    geoPrecision: input.geoPrecision ?? null,
    placeName: input.placeName ?? null,
    admin1: input.admin1 ?? null,
    admin2: input.admin2 ?? null,
    admin3: input.admin3 ?? null,
    weapons: (input.weapons ?? []).map((w) => ({ weaponType: w.weaponType, identificationBasis: w.identificationBasis ?? null, confidence: w.confidence ?? null })),
    attributions: (input.attributions ?? []).map((a) => ({ actor: a.actor, basis: a.basis ?? null, confidence: a.confidence ?? null })),
    grade: input.grade ?? null,
    verificationStatus: input.verificationStatus ?? 'reported',
    killed: input.killed ?? null,
    injured: input.injured ?? null,
    civilianKilled: input.civilianKilled ?? null,
    breakdown: { killed: breakdownOf(input.breakdown?.killed), injured: breakdownOf(input.breakdown?.injured) },
    relatedIncidents: input.relatedIncidents ?? [],
  };
}

/** Rules across fields, which hold after every change. */
function checkAcross(record: IncidentRecord, context: z.core.$RefinementCtx, at: string[] = []): void {
  if (record.endAt && record.endAt < record.startAt) context.addIssue({ code: 'custom', path: [...at, 'endAt'], ...wrong('must not be before startAt') });
  if (record.civilianKilled && record.killed && record.civilianKilled.min > record.killed.max) {
    context.addIssue({ code: 'custom', path: [...at, 'civilianKilled'], ...wrong('must not exceed killed') });
  }
}

/** A whole incident record, read again after a PATCH is applied over the stored one. */
export const IncidentRecordSchema = IncidentFields.transform(toRecord).superRefine((record, context) => checkAcross(record, context));

const evidenceLinks = () =>
  z.array(EvidenceLink).max(500).describe("The evidence items that show the incident, each with its role (the items' incidentId)");

export const CreateIncidentBody = z
  .strictObject({ ...INCIDENT_FIELDS, evidence: evidenceLinks().optional(), reason: reason().nullish() })
  .transform(({ evidence, reason: why, ...fields }) => ({ record: toRecord(fields), evidence: evidence ?? null, reason: why ?? null }))
  .superRefine((body, context) => checkAcross(body.record, context))
  .meta({ id: 'CreateIncidentBody' });
export type CreateIncidentBody = z.output<typeof CreateIncidentBody>;

/** Fields present replace (null clears); `evidence`, when present, becomes the incident's links. */
export const PatchIncidentBody = z
  .strictObject({ ...IncidentFields.partial().shape, evidence: evidenceLinks().optional(), reason: requiredInDocument(reason().optional().describe('Required: why the record changes, recorded in its custody event (missing: 422)')) })
  .superRefine((body, context) => {
    if (!body.reason) context.addIssue({ code: 'custom', path: ['reason'], ...wrong('say why the record changes') });
  })
  .meta({ id: 'PatchIncidentBody' });
export type PatchIncidentBody = z.output<typeof PatchIncidentBody>;

const HarmBreakdownView = z
  .strictObject({
    men: z.number().int().nullable(),
    women: z.number().int().nullable(),
    boys: z.number().int().nullable(),
    girls: z.number().int().nullable(),
    childrenUnknownSex: z.number().int().nullable(),
    adultsUnknownSex: z.number().int().nullable(),
  })
  .meta({ id: 'HarmBreakdown' });

export const Incident = z
  .strictObject({
    id: uuid(),
    caseId: uuid(),
    code: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    type: z.string(),
    startAt: timestamp(),
    endAt: timestamp().nullable(),
    datePrecision: z.string().nullable(),
    location: GeoPoint.nullable(),
    geoPrecision: z.string().nullable(),
    placeName: z.string().nullable(),
    admin1: z.string().nullable(),
    admin2: z.string().nullable(),
    admin3: z.string().nullable(),
    weapons: z.array(z.strictObject({ weaponType: z.string(), identificationBasis: z.string().nullable(), confidence: z.string().nullable() })),
    attributions: z.array(z.strictObject({ actor: z.string(), basis: z.string().nullable(), confidence: z.string().nullable() })),
    grade: z.string().nullable(),
    verificationStatus: z.string(),
    killed: CountRangeView.nullable().describe('From the casualty records when any exist (figuresSource), else as entered; as entered for a caller who may not read casualty records (a documenter)'),
    injured: CountRangeView.nullable(),
    civilianKilled: CountRangeView.nullable(),
    breakdown: z
      .strictObject({ killed: HarmBreakdownView.nullable(), injured: HarmBreakdownView.nullable() })
      .describe('From the casualty records when any exist (identified individuals by sex and by age group, else age), else as entered'),
    relatedIncidents: z.array(z.strictObject({ incidentId: uuid(), relation: z.string() })),
    evidence: z.array(EvidenceLink).describe('The linked evidence items with their roles (the same links as the items\' incidentId); a documenter sees the links to their own items only'),
    evidenceIds: z.array(uuid()),
    figuresSource: z.enum(['casualty_records', 'entered']),
    entered: z
      .strictObject({
        killed: CountRangeView.nullable(),
        injured: CountRangeView.nullable(),
        civilianKilled: CountRangeView.nullable(),
        breakdown: z.strictObject({ killed: HarmBreakdownView.nullable(), injured: HarmBreakdownView.nullable() }),
      })
      .describe('The figures as entered, whether or not those shown come from casualty records (what a form edits)'),
    unsourced: z.boolean().describe('No evidence the caller may see is linked'),
    createdBy: uuid(),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: 'Incident' });
export type IncidentView = z.output<typeof Incident>;

export const IncidentPage = z.strictObject({ items: z.array(Incident), nextCursor: z.string().nullable() }).meta({ id: 'IncidentPage' });
export type IncidentPage = z.output<typeof IncidentPage>;

/** `GET /cases/:caseId/incidents`: the shared listing parameters and the incident's own codes. */
export const IncidentQuery = z
  .strictObject({
    ...LISTING_FIELDS,
    q: LISTING_FIELDS.q.describe("Words to find in the title, description or place (Ukrainian and Russian word forms match), or the incident's code (INC-0012, or 0012)"),
    type: codeFilter('An incident_type code'),
    weaponType: codeFilter('A weapon_type code; its narrower types match too (uav finds uav.owa.shahed_136)'),
    grade: codeFilter('A grade code'),
    verificationStatus: codeFilter('A verification_status code'),
  })
  .transform((raw, context) => ({
    ...readListingFilters(raw, context),
    type: raw.type ?? null,
    weaponType: raw.weaponType ?? null,
    grade: raw.grade ?? null,
    verificationStatus: raw.verificationStatus ?? null,
  }));
export type IncidentQuery = z.output<typeof IncidentQuery>;
