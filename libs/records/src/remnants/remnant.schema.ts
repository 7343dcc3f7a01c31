import { GeoPoint, inCalendarMicros, reason, requiredInDocument, timestamp, uuid, wrong, z } from '#custodia/schema';
import { freeText, instant, requiredLine, SourceLinkView, sources, type SourceLink } from '../record-fields.js';
import { code } from '../vocabularies/vocabulary-codes.js';
import { parseSerial, type SerialParts } from './serial-schemes.js';

/** Text as written on the part, in any script: kept as given (NFC), never folded. */
const markingText = z
  .string()
  .max(1000)
  .transform((value) => value.normalize('NFC').trim())
  .refine((value) => value.length > 0, wrong('must not be blank'));

const Marking = z.strictObject({
  text: markingText.describe('As written, in any script (Ш136.02.345, 中国制造, ...)'),
  location: freeText(500).describe('Where on the part (tail boom, left side)'),
  method: code('marking_method').nullish(),
});

/** A finding about the component with what it rests on and how sure it is. */
const withBasis = <S extends z.ZodRawShape>(shape: S) =>
  z.strictObject({
    ...shape,
    basis: code('remnant_identification_basis').nullish(),
    basisNote: freeText(2000).describe('What exactly was read or compared (part number, catalogue entry)'),
    confidence: code('confidence').nullish(),
  });

/** ISO 3166-1 alpha-2, upper case. */
const country = () =>
  z
    .string()
    .refine((value) => /^[A-Z]{2}$/.test(value), wrong('must be an ISO 3166-1 alpha-2 country code (US, CN, RU, IR)'))
    .meta({ description: 'ISO 3166-1 alpha-2 country code' });

/** The fields of a remnant record (data-model.md, MunitionRemnant), as a body gives them. */
const REMNANT_FIELDS = {
  weaponType: code('weapon_type').nullish(),
  component: code('munition_component').nullish(),
  description: freeText(5000),
  markings: z.array(Marking).max(100).nullish(),
  serialNumber: freeText(200).describe('As read off the part; parsed into serialParts where a known scheme applies'),
  manufacturer: withBasis({ name: requiredLine(300) }).nullish().describe('Who made the component'),
  countryOfOrigin: withBasis({ country: country() }).nullish().describe('Where the component was made (a US-made chip in a Russian airframe is a finding)'),
  attribution: withBasis({ producer: requiredLine(300).describe('The production site or producer, e.g. Alabuga SEZ, Yelabuga') })
    .nullish()
    .describe('Who built the weapon'),
  condition: code('remnant_condition').nullish(),
  measurements: z
    .strictObject({
      description: freeText(2000),
      values: z
        .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,60}$/, 'is not a usable name'), z.number().refine((n) => n >= 0 && n < 1e9, wrong('must be between 0 and 1e9')))
        .refine((values) => Object.keys(values).length <= 50, 'must have at most 50 entries')
        .nullish()
        .describe('Named measurements in the unit their name says, e.g. lengthMm, massG'),
    })
    .nullish(),
  recoveredAt: instant().nullish(),
  recoveredBy: freeText(300).describe('Who recovered it (a unit or organisation)'),
  location: GeoPoint.nullish().describe('Where it was recovered'),
  sources: sources().nullish().describe('Evidence showing it: photos of the markings with a scale'),
  status: code('remnant_status').nullish().describe('reported when not given'),
};

export const RemnantFields = z.strictObject(REMNANT_FIELDS);
type RemnantInput = z.output<typeof RemnantFields>;

interface Finding {
  basis: string | null;
  basisNote: string | null;
  confidence: string | null;
}

/** A remnant record as stored (`remnants.record`): what was entered, and the serial's parts as parsed then. */
export interface RemnantRecord {
  weaponType: string | null;
  component: string | null;
  description: string | null;
  markings: { text: string; location: string | null; method: string | null }[];
  serialNumber: string | null;
  serialParts: SerialParts | null;
  manufacturer: ({ name: string } & Finding) | null;
  countryOfOrigin: ({ country: string } & Finding) | null;
  attribution: ({ producer: string } & Finding) | null;
  condition: string | null;
  measurements: { description: string | null; values: Record<string, number> } | null;
  recoveredAt: string | null;
  recoveredBy: string | null;
  location: { lat: number; lon: number } | null;
  sources: SourceLink[];
  status: string;
}

const finding = (f: { basis?: string | null; basisNote?: string | null; confidence?: string | null }): Finding => ({
  basis: f.basis ?? null,
  basisNote: f.basisNote ?? null,
  confidence: f.confidence ?? null,
});

function toRecord(input: RemnantInput): RemnantRecord {
  const weaponType = input.weaponType ?? null;
  const component = input.component ?? null;
  const serialNumber = input.serialNumber ?? null;
  return {
    weaponType,
    component,
    description: input.description ?? null,
    markings: (input.markings ?? []).map((m) => ({ text: m.text, location: m.location ?? null, method: m.method ?? null })),
    serialNumber,
    serialParts: parseSerial(serialNumber, { weaponType, component }),
    manufacturer: input.manufacturer ? { name: input.manufacturer.name, ...finding(input.manufacturer) } : null,
    countryOfOrigin: input.countryOfOrigin ? { country: input.countryOfOrigin.country, ...finding(input.countryOfOrigin) } : null,
    attribution: input.attribution ? { producer: input.attribution.producer, ...finding(input.attribution) } : null,
    condition: input.condition ?? null,
    measurements: input.measurements ? { description: input.measurements.description ?? null, values: input.measurements.values ?? {} } : null,
    recoveredAt: input.recoveredAt ?? null,
    recoveredBy: input.recoveredBy ?? null,
    location: input.location ?? null,
    sources: (input.sources ?? []).map((s) => ({ evidenceId: s.evidenceId, reliability: s.reliability ?? null })),
    status: input.status ?? 'reported',
  };
}

/** A whole remnant record, read again after a PATCH is applied over the stored one (`serialParts` is recomputed). */
export const RemnantRecordSchema = z.preprocess((value) => {
  if (value === null || typeof value !== 'object') return value;
  const { serialParts: _parsed, ...fields } = value as Record<string, unknown>;
  return fields;
}, RemnantFields.transform(toRecord));

export const CreateRemnantBody = z
  .strictObject({ ...REMNANT_FIELDS, reason: reason().nullish() })
  .transform(({ reason: why, ...fields }) => ({ record: toRecord(fields), reason: why ?? null }))
  .meta({ id: 'CreateRemnantBody' });
export type CreateRemnantBody = z.output<typeof CreateRemnantBody>;

export const PatchRemnantBody = z
  .strictObject({ ...RemnantFields.partial().shape, reason: requiredInDocument(reason().optional().describe('Required: why the record changes, recorded in its custody event (missing: 422)')) })
  .superRefine((body, context) => {
    if (!body.reason) context.addIssue({ code: 'custom', path: ['reason'], ...wrong('say why the record changes') });
  })
  .meta({ id: 'PatchRemnantBody' });
export type PatchRemnantBody = z.output<typeof PatchRemnantBody>;

/** A hand-over of the object: from `from` on, `holder` keeps it at `place`. */
export const TransferRemnantBody = z
  .strictObject({
    holder: requiredLine(300).describe('Who holds it from now on (an organisation, a unit, a named custodian)'),
    place: requiredLine(500).describe('Where it is kept (an evidence store, a laboratory)'),
    from: instant().describe('When the holder took it (RFC 3339 with an offset)'),
    note: freeText(2000).describe('Seal numbers, packaging, the hand-over document'),
    reason: reason().nullish(),
  })
  .meta({ id: 'TransferRemnantBody' });
export type TransferRemnantBody = z.output<typeof TransferRemnantBody>;

const FindingView = { basis: z.string().nullable(), basisNote: z.string().nullable(), confidence: z.string().nullable() };

export const PhysicalCustody = z
  .strictObject({
    transferId: uuid(),
    holder: z.string(),
    place: z.string(),
    from: timestamp(),
    to: timestamp().nullable().describe('When the next holder took it; null for the current holder'),
    note: z.string().nullable(),
    recordedBy: uuid(),
    recordedAt: timestamp(),
  })
  .meta({ id: 'RemnantCustodyPeriod' });
export type PhysicalCustodyView = z.output<typeof PhysicalCustody>;

export const SerialPartsView = z
  .strictObject({ scheme: z.string(), prefix: z.string(), series: z.string(), number: z.number().int() })
  .meta({ id: 'SerialParts', description: 'The serial read under a known scheme (GET /cases/:caseId/remnants/serials names them)' });

export const Remnant = z
  .strictObject({
    id: uuid(),
    incidentId: uuid(),
    caseId: uuid(),
    weaponType: z.string().nullable(),
    component: z.string().nullable(),
    description: z.string().nullable(),
    markings: z.array(z.strictObject({ text: z.string(), location: z.string().nullable(), method: z.string().nullable() })),
    serialNumber: z.string().nullable(),
    serialParts: SerialPartsView.nullable(),
    manufacturer: z.strictObject({ name: z.string(), ...FindingView }).nullable(),
    countryOfOrigin: z.strictObject({ country: z.string(), ...FindingView }).nullable(),
    attribution: z.strictObject({ producer: z.string(), ...FindingView }).nullable(),
    condition: z.string().nullable(),
    measurements: z.strictObject({ description: z.string().nullable(), values: z.record(z.string(), z.number()) }).nullable(),
    recoveredAt: timestamp().nullable(),
    recoveredBy: z.string().nullable(),
    location: GeoPoint.nullable(),
    sources: z.array(SourceLinkView),
    status: z.string(),
    unsourced: z.boolean().describe('No source is cited'),
    physicalCustody: z
      .array(PhysicalCustody)
      .nullable()
      .describe('Where the object itself has been kept, oldest first; null for a caller who may not read that chain (a documenter)'),
    createdBy: uuid(),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: 'MunitionRemnant' });
export type RemnantView = z.output<typeof Remnant>;
/** A remnant as those who may read its physical chain of custody see it (exports, investigators). */
export type FullRemnantView = RemnantView & { physicalCustody: PhysicalCustodyView[] };

export const RemnantList = z.strictObject({ items: z.array(Remnant) }).meta({ id: 'RemnantList' });
export const RemnantPage = z.strictObject({ items: z.array(Remnant), nextCursor: z.string().nullable() }).meta({ id: 'RemnantPage' });
export type RemnantPage = z.output<typeof RemnantPage>;

export const RemnantCustody = z
  .strictObject({
    remnantId: uuid(),
    caseId: uuid(),
    physicalCustody: z.array(PhysicalCustody),
    events: z
      .array(z.strictObject({ leafIndex: z.number().int(), leafHash: z.string(), action: z.string(), at: timestamp(), transferId: uuid().nullable() }))
      .describe('The remnant’s custody events in the log (recorded, updated, transferred), oldest first'),
  })
  .meta({ id: 'RemnantCustody' });
export type RemnantCustody = z.output<typeof RemnantCustody>;

const filter = (description: string) => z.string({ message: 'must be given once' }).max(200, 'must be at most 200 characters').describe(description).optional();

export const RemnantQuery = z
  .strictObject({
    weaponType: filter('A weapon_type code; its narrower types match too'),
    component: filter('A munition_component code; its narrower components match too (navigation finds navigation.gnss_receiver)'),
    serialPrefix: filter('The start of the serial number; look-alike Latin and Cyrillic letters, case and separators do not matter. The page is then in serial order'),
    q: filter('Text anywhere in a marking or the serial number, as read or mis-read (Ш136 finds Ш136.02.345, so does W136 or ш 136)'),
    incidentId: uuid().optional().describe('Only the remnants of this incident'),
    limit: z.string({ message: 'must be given once' }).regex(/^\d{1,3}$/, 'must be a whole number from 1 to 200').optional().describe('1 to 200 (default 50)'),
    cursor: z.string({ message: 'must be given once' }).max(200).optional().describe("The previous page's nextCursor"),
  })
  .transform((raw, context) => {
    const limit = raw.limit === undefined ? 50 : Number(raw.limit);
    if (!(limit >= 1 && limit <= 200)) context.addIssue({ code: 'custom', path: ['limit'], message: 'must be a whole number from 1 to 200' });
    let cursor: { us: string; id: string } | { serial: string; id: string } | null = null;
    if (raw.cursor !== undefined) {
      try {
        const read = JSON.parse(Buffer.from(raw.cursor, 'base64url').toString('utf8')) as unknown[];
        const id = read[read.length - 1];
        if (!Array.isArray(read) || typeof id !== 'string' || !uuid().safeParse(id).success) throw new Error('not a cursor');
        if (read.length === 3 && read[0] === 'serial' && typeof read[1] === 'string') cursor = { serial: read[1], id };
        else if (read.length === 2 && typeof read[0] === 'string' && inCalendarMicros(read[0])) cursor = { us: read[0], id };
        else throw new Error('not a cursor');
        if (('serial' in cursor) !== Boolean(raw.serialPrefix?.trim())) throw new Error('a cursor of another search');
      } catch {
        context.addIssue({ code: 'custom', path: ['cursor'], message: 'is not a cursor this API gave out' });
      }
    }
    const blank = (value: string | undefined) => value?.trim() || null;
    // Separators and punctuation are not searched (the skeleton drops them): a search of only
    // those would match every remnant, where the searcher meant some.
    for (const key of ['serialPrefix', 'q'] as const) {
      const value = blank(raw[key]);
      if (value !== null && !/[\p{L}\p{N}]/u.test(value)) {
        context.addIssue({ code: 'custom', path: [key], message: 'must hold a letter or a digit (separators and punctuation are not searched)' });
      }
    }
    return {
      weaponType: blank(raw.weaponType),
      component: blank(raw.component),
      serialPrefix: blank(raw.serialPrefix),
      q: blank(raw.q),
      incidentId: raw.incidentId?.toLowerCase() ?? null,
      limit,
      cursor,
    };
  });
export type RemnantQuery = z.output<typeof RemnantQuery>;

export const SerialsQuery = z
  .strictObject({
    weaponType: filter('A weapon_type code; its narrower types match too'),
    scheme: filter('A serial scheme id (geran2_airframe, ...)'),
    confidence: z
      .string({ message: 'must be given once' })
      .regex(/^0?\.\d{1,4}$/, 'must be a decimal between 0.5 and 0.999')
      .optional()
      .describe('One-sided confidence of the interval: a decimal from 0.5 to 0.999 (default 0.95)'),
  })
  .transform((raw, context) => {
    const confidence = raw.confidence === undefined ? 0.95 : Number(raw.confidence);
    if (!(confidence >= 0.5 && confidence <= 0.999)) context.addIssue({ code: 'custom', path: ['confidence'], message: 'must be a decimal between 0.5 and 0.999' });
    return { weaponType: raw.weaponType?.trim() || null, scheme: raw.scheme?.trim() || null, confidence };
  });
export type SerialsQuery = z.output<typeof SerialsQuery>;

const Estimate = z
  .strictObject({
    k: z.number().int().describe('Distinct sequence numbers seen'),
    m: z.number().int().describe('The largest seen'),
    estimate: z.number().describe('m + m/k - 1'),
    lower: z.number().int(),
    upper: z.number().int(),
    confidence: z.number(),
  })
  .meta({ id: 'ProductionEstimate' });

export const SerialAnalysis = z
  .strictObject({
    method: z.string().describe('How every estimate here is computed, and what it assumes'),
    confidence: z.number(),
    series: z.array(
      z.strictObject({
        weaponType: z.string(),
        scheme: z.string(),
        schemeLabel: z.string(),
        schemeBasis: z.string().describe('Where the scheme is known from, and what is assumed about it'),
        prefix: z.string(),
        series: z.string(),
        serials: z.array(
          z.strictObject({
            number: z.number().int(),
            serialNumber: z.string().describe('As read'),
            remnantId: uuid(),
            incidentId: uuid(),
            seenAt: timestamp().describe('Recovered at, else the incident’s start'),
          }),
        ),
        estimate: Estimate,
        months: z.array(z.strictObject({ month: z.string().describe('YYYY-MM (UTC)'), seen: z.number().int(), estimate: Estimate })),
      }),
    ),
  })
  .meta({ id: 'SerialAnalysis' });
export type SerialAnalysis = z.output<typeof SerialAnalysis>;
