import { GeoPoint, reason, requiredInDocument, timestamp, uuid, wrong, z } from '#custodia/schema';
import { count, dateOrInstant, freeText, instant, SourceLinkView, sources, type SourceLink } from '../record-fields.js';
import { code } from '../vocabularies/vocabulary-codes.js';

/** A GeoJSON Polygon (RFC 7946): closed linear rings of [lon, lat] positions. */
const Footprint = z
  .strictObject({
    type: z.literal('Polygon'),
    coordinates: z
      .array(z.array(z.tuple([z.number(), z.number()])).min(4).max(10_000))
      .min(1)
      .max(50),
  })
  .superRefine((polygon, context) => {
    const positions = polygon.coordinates.flat();
    if (positions.some(([lon, lat]) => Math.abs(lon) > 180 || Math.abs(lat) > 90)) {
      context.addIssue({ code: 'custom', ...wrong('positions are [lon, lat] within -180..180, -90..90') });
    } else if (polygon.coordinates.some((ring) => ring[0]![0] !== ring[ring.length - 1]![0] || ring[0]![1] !== ring[ring.length - 1]![1])) {
      context.addIssue({ code: 'custom', ...wrong('each ring must end where it starts (RFC 7946 §3.1.6)') });
    }
  })
  .describe('A GeoJSON Polygon: linear rings of [lon, lat] positions, each ending where it starts');

/** The fields of a damage record (data-model.md), as a body gives them; no defaults (see incidents). */
const DAMAGE_FIELDS = {
  objectName: freeText(500),
  address: freeText(500),
  location: GeoPoint.nullish(),
  footprint: Footprint.nullish(),
  objectCategory: code('object_category').nullish(),
  ihlProtection: z.array(code('ihl_protection')).max(50).nullish(),
  damageLevel: code('damage_level').nullish(),
  assessmentMethod: code('assessment_method').nullish(),
  assessedAt: instant().nullish(),
  imageryDate: dateOrInstant().nullish(),
  fieldValidated: z.boolean().nullish(),
  functionality: code('functionality').nullish(),
  serviceImpact: z
    .strictObject({
      description: freeText(5000),
      counts: z
        .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,60}$/, 'is not a usable name'), count(1_000_000_000))
        .refine((counts) => Object.keys(counts).length <= 50, 'must have at most 50 entries')
        .nullish()
        .describe('Named counts, e.g. householdsWithoutHeat'),
    })
    .nullish(),
  occupancyAtTime: freeText(2000),
  militaryUseIndicators: freeText(5000).describe('What was checked, even when nothing was found'),
  status: code('damage_status').nullish().describe('reported when not given'),
  sources: sources().nullish(),
};

export const DamageFields = z.strictObject(DAMAGE_FIELDS);
type DamageInput = z.output<typeof DamageFields>;

/** A damage record as stored (`damage_records.record`). */
export interface DamageRecord {
  objectName: string | null;
  address: string | null;
  location: { lat: number; lon: number } | null;
  footprint: { type: 'Polygon'; coordinates: number[][][] } | null;
  objectCategory: string | null;
  ihlProtection: string[];
  damageLevel: string | null;
  assessmentMethod: string | null;
  assessedAt: string | null;
  imageryDate: string | null;
  fieldValidated: boolean;
  functionality: string | null;
  serviceImpact: { description: string | null; counts: Record<string, number> } | null;
  occupancyAtTime: string | null;
  militaryUseIndicators: string | null;
  status: string;
  sources: SourceLink[];
}

function toRecord(input: DamageInput): DamageRecord {
  return {
    objectName: input.objectName ?? null,
    address: input.address ?? null,
    location: input.location ?? null,
    footprint: input.footprint ?? null,
    objectCategory: input.objectCategory ?? null,
    ihlProtection: [...new Set(input.ihlProtection ?? [])],
    damageLevel: input.damageLevel ?? null,
    assessmentMethod: input.assessmentMethod ?? null,
    assessedAt: input.assessedAt ?? null,
    imageryDate: input.imageryDate ?? null,
    fieldValidated: input.fieldValidated ?? false,
    functionality: input.functionality ?? null,
    serviceImpact: input.serviceImpact ? { description: input.serviceImpact.description ?? null, counts: input.serviceImpact.counts ?? {} } : null,
    occupancyAtTime: input.occupancyAtTime ?? null,
    militaryUseIndicators: input.militaryUseIndicators ?? null,
    status: input.status ?? 'reported',
    sources: (input.sources ?? []).map((s) => ({ evidenceId: s.evidenceId, reliability: s.reliability ?? null })),
  };
}

/** A whole damage record, read again after a PATCH is applied over the stored one. */
export const DamageRecordSchema = DamageFields.transform(toRecord);

export const CreateDamageBody = z
  .strictObject({ ...DAMAGE_FIELDS, reason: reason().nullish() })
  .transform(({ reason: why, ...fields }) => ({ record: toRecord(fields), reason: why ?? null }))
  .meta({ id: 'CreateDamageBody' });
export type CreateDamageBody = z.output<typeof CreateDamageBody>;

export const PatchDamageBody = z
  .strictObject({ ...DamageFields.partial().shape, reason: requiredInDocument(reason().optional().describe('Required: why the record changes, recorded in its custody event (missing: 422)')) })
  .superRefine((body, context) => {
    if (!body.reason) context.addIssue({ code: 'custom', path: ['reason'], ...wrong('say why the record changes') });
  })
  .meta({ id: 'PatchDamageBody' });
export type PatchDamageBody = z.output<typeof PatchDamageBody>;

export const Damage = z
  .strictObject({
    id: uuid(),
    incidentId: uuid(),
    caseId: uuid(),
    objectName: z.string().nullable(),
    address: z.string().nullable(),
    location: GeoPoint.nullable(),
    footprint: z.strictObject({ type: z.literal('Polygon'), coordinates: z.array(z.array(z.array(z.number()))) }).nullable(),
    objectCategory: z.string().nullable(),
    ihlProtection: z.array(z.string()),
    damageLevel: z.string().nullable(),
    assessmentMethod: z.string().nullable(),
    assessedAt: timestamp().nullable(),
    imageryDate: z.string().nullable().describe('A date (YYYY-MM-DD) or a date-time'),
    fieldValidated: z.boolean(),
    functionality: z.string().nullable(),
    serviceImpact: z.strictObject({ description: z.string().nullable(), counts: z.record(z.string(), z.number().int()) }).nullable(),
    occupancyAtTime: z.string().nullable(),
    militaryUseIndicators: z.string().nullable(),
    status: z.string(),
    sources: z.array(SourceLinkView),
    unsourced: z.boolean().describe('No source is cited'),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: 'DamageRecord' });
export type DamageView = z.output<typeof Damage>;

export const DamageList = z.strictObject({ items: z.array(Damage) }).meta({ id: 'DamageList' });
