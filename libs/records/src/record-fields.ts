import { dateTime, inCalendarYears, line, NUMBER_OR_RANGE, uuid, wrong, z } from '#custodia/schema';
import { code } from './vocabularies/vocabulary-codes.js';

/**
 * The field types the three record kinds share (data-model.md). Checks a body can fail while
 * being well-formed (a count below zero, min above max, a start in the future) are marked
 * `wrong` (422); a wrong type, a missing or unknown field is malformed (400).
 */

/** A count that sources give as a range; `min === max` when they agree. */
export interface CountRange {
  min: number;
  max: number;
}

/** A whole number from 0 to `max`. */
export const count = (max = 10_000_000) =>
  z
    .number()
    .int({ message: 'must be a whole number' })
    .refine((n) => n >= 0 && n <= max, wrong(`must be between 0 and ${max}`))
    .meta({ minimum: 0, maximum: max });

/** `{ min, max }` with min <= max, or a number n for `{ min: n, max: n }`. */
export const countRange = (max = 10_000_000) =>
  z
    .preprocess(
      (value) => (typeof value === 'number' ? { min: value, max: value } : value),
      z
        .strictObject({ min: z.number().int({ message: 'must be a whole number' }), max: z.number().int({ message: 'must be a whole number' }) })
        .superRefine((range, context) => {
          // The range as a whole is what is wrong: the problem names the field, not min or max.
          if (range.min < 0 || range.max > max || range.max < 0) context.addIssue({ code: 'custom', ...wrong(`must be between 0 and ${max}`) });
          else if (range.min > range.max) context.addIssue({ code: 'custom', ...wrong('min must not be greater than max') });
        }),
    )
    .describe('{ min, max } (whole numbers, min <= max), or a number n meaning { min: n, max: n }')
    .meta({ [NUMBER_OR_RANGE]: max });

/** Optional free text: trimmed (NFC), blank is no value (null). */
export const freeText = (max: number) =>
  z
    .string()
    .max(max)
    .transform((value) => value.normalize('NFC').trim() || null)
    .nullish();

/** A required line of text (a title, a name), trimmed (NFC). */
export const requiredLine = (max: number) => line(max).transform((value) => value.normalize('NFC'));

/** An identifier another record or item is named by, in lower case as the database writes it. */
export const reference = () => uuid().transform((value) => value.toLowerCase());

const DAY_MS = 24 * 3600 * 1000;

/** An RFC 3339 instant with its offset, stored as UTC with milliseconds; more than a day ahead is wrong (422). */
export const instant = () =>
  dateTime()
    .transform((value) => new Date(value).toISOString())
    .refine((value) => Date.parse(value) <= Date.now() + DAY_MS, wrong('lies in the future'));

const DATE_ONLY = /^\d{4}-\d\d-\d\d$/;

/** A calendar date (`YYYY-MM-DD`, kept as given) or an instant (stored in UTC). */
export const dateOrInstant = () =>
  z
    .string()
    .transform((value, context) => {
      if (DATE_ONLY.test(value)) {
        const day = new Date(`${value}T00:00:00Z`);
        if (!Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === value) {
          if (inCalendarYears(day.getTime())) return value;
          context.addIssue({ code: 'custom', ...wrong('must lie in the years 0001 to 9999') });
          return z.NEVER;
        }
        context.addIssue({ code: 'custom', message: 'is not a calendar date' });
        return z.NEVER;
      }
      const parsed = dateTime().safeParse(value);
      if (!parsed.success) {
        // An instant outside the years 0001 to 9999 is well-formed but wrong: its issue says so.
        const [issue] = parsed.error.issues;
        if (issue?.code === 'custom') context.addIssue({ ...issue, code: 'custom', path: [] });
        else context.addIssue({ code: 'custom', message: 'must be a date (YYYY-MM-DD) or an RFC 3339 date-time with an offset' });
        return z.NEVER;
      }
      const at = new Date(value);
      if (at.getTime() > Date.now() + DAY_MS) {
        context.addIssue({ code: 'custom', ...wrong('lies in the future') });
        return z.NEVER;
      }
      return at.toISOString();
    })
    .describe('A date (YYYY-MM-DD) or an RFC 3339 date-time with an offset');

/** Evidence a casualty or damage record rests on. */
export const SourceInput = z.strictObject({
  evidenceId: reference(),
  reliability: code('source_reliability').nullish(),
});
export const sources = () => z.array(SourceInput).max(200);

export interface SourceLink {
  evidenceId: string;
  reliability: string | null;
}

/** What the API answers with. */
export const CountRangeView = z.strictObject({ min: z.number().int(), max: z.number().int() }).meta({ id: 'CountRange' });
export const SourceLinkView = z.strictObject({ evidenceId: uuid(), reliability: z.string().nullable() }).meta({ id: 'SourceLink' });
