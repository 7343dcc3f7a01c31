import { z } from 'zod';
import { DomainError, type FieldProblem } from '#custodia/errors';

/**
 * The mark of a check whose failure is well-formed but wrong (422: coordinates out of range, an
 * end before its start, min above max), as opposed to malformed (400: wrong type, missing,
 * unknown field). Pass it as a refinement's options: `.refine(ok, wrong('must be ...'))`.
 */
export const wrong = (message: string): { message: string; params: { unprocessable: true } } => ({ message, params: { unprocessable: true } });

const isWrong = (issue: z.core.$ZodIssue): boolean => issue.code === 'custom' && (issue.params as { unprocessable?: boolean } | undefined)?.unprocessable === true;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  date: 'a date',
};

/** A field's path as the API names fields: `location.lat`, `weapons[0].weaponType`. */
function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) out = typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part);
  return out;
}

/** One issue as the API names it: the field's path and what is wrong with it. */
function fieldProblems(issue: z.core.$ZodIssue, prefix: string): FieldProblem[] {
  const path = fieldPath(prefix, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ field: path ? `${path}.${key}` : key, message: 'is not a known field' }));
    case 'invalid_type': {
      // `input` is there because parseWith asks zod to report it; a schema's own message (a
      // query parameter "must be given once") says more than the type's name.
      const missing = (issue as { input?: unknown }).input === undefined;
      const own = !issue.message.startsWith('Invalid input');
      return [{ field: path, message: missing ? 'is required' : own ? issue.message : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}` }];
    }
    case 'invalid_value':
      return [{ field: path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    case 'too_big':
    case 'too_small': {
      const bound = issue.code === 'too_big' ? 'at most' : 'at least';
      const limit = Number(issue.code === 'too_big' ? issue.maximum : issue.minimum);
      const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' || issue.origin === 'set' ? ' items' : '';
      const message =
        issue.origin === 'string' && issue.code === 'too_small' && limit === 1 ? 'must not be empty' : `must be ${bound} ${limit}${unit}`;
      return [{ field: path, message: issue.message && !issue.message.startsWith('Too ') ? issue.message : message }];
    }
    default:
      return [{ field: path, message: issue.message }];
  }
}

/**
 * Reads `value` with `schema`: the parsed value, or a problem naming every failing field (400
 * when anything is malformed, else 422 for checks marked `wrong`). `prefix` places the fields
 * (a multipart part's name, for instance).
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'The request', prefix = ''): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issues = result.error.issues;
  const malformed = issues.filter((issue) => !isWrong(issue));
  if (malformed.length) throw new DomainError('bad_request', `${what} has invalid fields`, malformed.flatMap((issue) => fieldProblems(issue, prefix)));
  throw new DomainError('unprocessable', `${what} is well-formed but wrong`, issues.flatMap((issue) => fieldProblems(issue, prefix)));
}
