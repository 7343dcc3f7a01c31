import { reason, requiredInDocument, timestamp, uuid, wrong, z } from '#custodia/schema';
import { count, countRange, CountRangeView, dateOrInstant, freeText, requiredLine, SourceLinkView, sources, type CountRange, type SourceLink } from '../record-fields.js';
import { code } from '../vocabularies/vocabulary-codes.js';

/** The fields of a casualty record (data-model.md), as a body gives them; no defaults (see incidents). */
const CASUALTY_FIELDS = {
  countingUnit: z.enum(['individual', 'group']).nullish().describe('individual (the default), or group with groupSize'),
  groupSize: countRange().nullish(),
  harmStatus: code('harm_status'),
  fullName: freeText(300).describe('Sealed at rest; written and shown by investigators of the case only (403 to others: when a record is made with a name, and on any change of it, null included)'),
  nameVariants: z.array(requiredLine(300)).max(20).nullish().describe('Sealed at rest with fullName; investigators of the case only, as fullName'),
  sex: code('sex').nullish(),
  age: count(130).nullish(),
  ageRange: countRange(130).nullish(),
  ageGroup: code('age_group').nullish(),
  civilianStatus: code('civilian_status').nullish(),
  civilianStatusBasis: freeText(2000),
  specialCategories: z.array(code('special_category')).max(50).nullish(),
  dateOfHarm: dateOrInstant().nullish(),
  dateOfHarmPrecision: code('date_precision').nullish().describe('How precise dateOfHarm is (date_precision: exact, approximate, day, month, year; "month": only its month is known); only with dateOfHarm'),
  dateOfDeath: dateOrInstant().nullish(),
  dateOfDeathPrecision: code('date_precision').nullish().describe('How precise dateOfDeath is, as dateOfHarmPrecision; only with dateOfDeath'),
  causeOfDeath: freeText(2000),
  identificationStatus: code('identification_status').nullish().describe('unidentified when not given'),
  status: code('casualty_status').nullish().describe('reported when not given'),
  sources: sources().nullish(),
  consentToPublishName: z.boolean().nullish(),
};

export const CasualtyFields = z.strictObject(CASUALTY_FIELDS);
type CasualtyInput = z.output<typeof CasualtyFields>;

/** A casualty record as stored (`casualties.record`): no personal names, they are sealed beside it. */
export interface CasualtyRecord {
  countingUnit: 'individual' | 'group';
  groupSize: CountRange | null;
  harmStatus: string;
  sex: string | null;
  age: number | null;
  ageRange: CountRange | null;
  ageGroup: string | null;
  civilianStatus: string | null;
  civilianStatusBasis: string | null;
  specialCategories: string[];
  dateOfHarm: string | null;
  /** Absent from records stored before it existed: read as null (CasualtiesService.viewOf). */
  dateOfHarmPrecision?: string | null;
  dateOfDeath: string | null;
  dateOfDeathPrecision?: string | null;
  causeOfDeath: string | null;
  identificationStatus: string;
  status: string;
  sources: SourceLink[];
  consentToPublishName: boolean;
}

/** Personal data of a casualty: sealed at rest, shown only where the policy allows. */
export interface CasualtyNames {
  fullName: string | null;
  nameVariants: string[];
}

export interface CasualtyVersion {
  record: CasualtyRecord;
  names: CasualtyNames;
}

function toVersion(input: CasualtyInput): CasualtyVersion {
  const countingUnit = input.countingUnit ?? 'individual';
  return {
    record: {
      countingUnit,
      groupSize: input.groupSize ?? null,
      harmStatus: input.harmStatus,
      sex: input.sex ?? null,
      age: input.age ?? null,
      ageRange: input.ageRange ?? null,
      ageGroup: input.ageGroup ?? null,
      civilianStatus: input.civilianStatus ?? null,
      civilianStatusBasis: input.civilianStatusBasis ?? null,
      specialCategories: [...new Set(input.specialCategories ?? [])],
      dateOfHarm: input.dateOfHarm ?? null,
      dateOfHarmPrecision: input.dateOfHarmPrecision ?? null,
      dateOfDeath: input.dateOfDeath ?? null,
      dateOfDeathPrecision: input.dateOfDeathPrecision ?? null,
      causeOfDeath: input.causeOfDeath ?? null,
      identificationStatus: input.identificationStatus ?? 'unidentified',
      status: input.status ?? 'reported',
      sources: (input.sources ?? []).map((s) => ({ evidenceId: s.evidenceId, reliability: s.reliability ?? null })),
      consentToPublishName: input.consentToPublishName ?? false,
    },
    names: { fullName: input.fullName ?? null, nameVariants: input.nameVariants ?? [] },
  };
}

function checkAcross({ record }: CasualtyVersion, context: z.core.$RefinementCtx): void {
  if (record.countingUnit === 'group' && !record.groupSize) context.addIssue({ code: 'custom', path: ['groupSize'], message: 'is required for a group ({ min, max })' });
  if (record.countingUnit === 'individual' && record.groupSize) context.addIssue({ code: 'custom', path: ['groupSize'], ...wrong('is only for countingUnit group') });
  if (record.groupSize && record.groupSize.max === 0) context.addIssue({ code: 'custom', path: ['groupSize'], ...wrong('a group has at least one person') });
  if (record.dateOfHarm && record.dateOfDeath && record.dateOfDeath.slice(0, 10) < record.dateOfHarm.slice(0, 10)) {
    context.addIssue({ code: 'custom', path: ['dateOfDeath'], ...wrong('must not be before dateOfHarm') });
  }
  for (const date of ['dateOfHarm', 'dateOfDeath'] as const) {
    if (record[`${date}Precision`] && !record[date]) context.addIssue({ code: 'custom', path: [`${date}Precision`], ...wrong('needs its date: give the date or clear both') });
  }
}

/** A whole casualty record with its names, read again after a PATCH is applied over the stored one. */
export const CasualtyVersionSchema = CasualtyFields.transform(toVersion).superRefine(checkAcross);

export const CreateCasualtyBody = z
  .strictObject({ ...CASUALTY_FIELDS, reason: reason().nullish() })
  .transform(({ reason: why, ...fields }) => ({ ...toVersion(fields), reason: why ?? null }))
  .superRefine(checkAcross)
  .meta({ id: 'CreateCasualtyBody' });
export type CreateCasualtyBody = z.output<typeof CreateCasualtyBody>;

export const PatchCasualtyBody = z
  .strictObject({ ...CasualtyFields.partial().shape, reason: requiredInDocument(reason().optional().describe('Required: why the record changes, recorded in its custody event (missing: 422)')) })
  .superRefine((body, context) => {
    if (!body.reason) context.addIssue({ code: 'custom', path: ['reason'], ...wrong('say why the record changes') });
  })
  .meta({ id: 'PatchCasualtyBody' });
export type PatchCasualtyBody = z.output<typeof PatchCasualtyBody>;

export const Casualty = z
  .strictObject({
    id: uuid(),
    incidentId: uuid(),
    caseId: uuid(),
    countingUnit: z.enum(['individual', 'group']),
    groupSize: CountRangeView.nullable(),
    harmStatus: z.string(),
    sex: z.string().nullable(),
    age: z.number().int().nullable(),
    ageRange: CountRangeView.nullable(),
    ageGroup: z.string().nullable(),
    civilianStatus: z.string().nullable(),
    civilianStatusBasis: z.string().nullable(),
    specialCategories: z.array(z.string()),
    dateOfHarm: z.string().nullable().describe('A date (YYYY-MM-DD) or a date-time'),
    dateOfHarmPrecision: z.string().nullable().describe('date_precision of dateOfHarm; null: not said'),
    dateOfDeath: z.string().nullable().describe('A date (YYYY-MM-DD) or a date-time'),
    dateOfDeathPrecision: z.string().nullable().describe('date_precision of dateOfDeath; null: not said'),
    causeOfDeath: z.string().nullable(),
    identificationStatus: z.string(),
    status: z.string(),
    sources: z.array(SourceLinkView),
    consentToPublishName: z.boolean(),
    unsourced: z.boolean().describe('No source is cited'),
    fullName: z.string().nullable().optional().describe('Only where the caller may see names (investigators of the case)'),
    nameVariants: z.array(z.string()).optional().describe('Only with fullName'),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  })
  .meta({ id: 'Casualty' });
export type CasualtyView = z.output<typeof Casualty>;

export const CasualtyList = z.strictObject({ items: z.array(Casualty) }).meta({ id: 'CasualtyList' });
