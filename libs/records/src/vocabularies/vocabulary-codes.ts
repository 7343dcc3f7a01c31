import { wrong, z } from '#custodia/schema';

/** A code a record uses, to be checked against its vocabulary (unknown or deprecated: 422). */
export interface VocabularyReference {
  field: string;
  vocabulary: string;
  code: string;
}

const CODE = /^[a-z0-9_.]{1,100}$/;
/** The metadata key that marks a field as a code of a vocabulary (also shown in the OpenAPI document). */
const VOCABULARY = 'x-vocabulary';

/**
 * A code of `vocabulary`. Whether it exists and is current needs the database, so the schema
 * only marks the field; `codesIn` finds every such field of a parsed record for the service to
 * check. Something that cannot be a code at all is wrong the same way (422), not malformed.
 */
export const code = (vocabulary: string) =>
  z
    .string()
    .refine((value) => CODE.test(value), wrong(`is not a code of the ${vocabulary} vocabulary`))
    .meta({ [VOCABULARY]: vocabulary, description: `A code of the ${vocabulary} vocabulary (GET /vocabularies/${vocabulary})` });

/** The vocabulary a schema marks, if it is a `code(...)`. */
function vocabularyOf(schema: z.ZodType): string | undefined {
  return (z.globalRegistry.get(schema) as Record<string, unknown> | undefined)?.[VOCABULARY] as string | undefined;
}

/**
 * Every code a parsed value uses, with the field it stands in (`weapons[0].weaponType`): the
 * schema is walked beside the value, so each vocabulary is named once, where the field is declared.
 */
export function codesIn(schema: z.ZodType, value: unknown, field = ''): VocabularyReference[] {
  const vocabulary = vocabularyOf(schema);
  if (vocabulary) return typeof value === 'string' ? [{ field, vocabulary, code: value }] : [];
  if (value === null || value === undefined) return [];
  const def = (schema as z.ZodType & { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
      return codesIn(def['innerType'] as z.ZodType, value, field);
    case 'pipe': {
      // A transform keeps the shape of what it reads (records fill defaults, ranges widen a number).
      const input = def['in'] as z.ZodType;
      const side = (input as unknown as { _zod: { def: { type: string } } })._zod.def.type === 'transform' ? (def['out'] as z.ZodType) : input;
      return codesIn(side, value, field);
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [];
      const shape = def['shape'] as Record<string, z.ZodType>;
      return Object.entries(shape).flatMap(([key, inner]) => codesIn(inner, (value as Record<string, unknown>)[key], field ? `${field}.${key}` : key));
    }
    case 'array':
      return Array.isArray(value) ? value.flatMap((item, i) => codesIn(def['element'] as z.ZodType, item, `${field}[${i}]`)) : [];
    default:
      return [];
  }
}
