import type { FieldProblem } from '#custodia/errors';

/** Deepest nesting of objects and arrays a request may carry (api.md, Errors). */
export const MAX_DEPTH = 32;

/** Keys that reach an object's prototype machinery: never data, always refused. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// C0 controls but tab, line feed and carriage return; DEL; C1 controls. NUL is among them.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// A lone UTF-16 surrogate (from a JSON \ud800 escape) is not text.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string is not acceptable text, or undefined when it is. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL';
  if (CONTROL.test(value)) return 'must not contain control characters (tab and line breaks are allowed)';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text';
  return undefined;
}

/**
 * How deeply the JSON text nests, read without parsing it, so a body nested 50,000 deep is
 * refused before a recursive parser or validator ever sees it. Stops counting past `limit`.
 */
export function jsonDepthExceeds(raw: Buffer, limit = MAX_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Every problem with a parsed request value (body or query): forbidden keys, text that is not
 * text, nesting deeper than MAX_DEPTH; each named by its path (`location.lat`, `tags[2]`).
 */
export function inputProblems(value: unknown, path = '', depth = 0, problems: FieldProblem[] = []): FieldProblem[] {
  if (problems.length >= 20) return problems;
  const field = path || 'body';
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem) problems.push({ field, message: problem });
  } else if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) problems.push({ field, message: `nests deeper than ${MAX_DEPTH} levels` });
    else value.forEach((item, i) => inputProblems(item, `${path}[${i}]`, depth + 1, problems));
  } else if (value !== null && typeof value === 'object') {
    if (depth >= MAX_DEPTH) {
      problems.push({ field, message: `nests deeper than ${MAX_DEPTH} levels` });
      return problems;
    }
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) problems.push({ field: at, message: 'is not an accepted field name' });
      else {
        const keyProblem = textProblem(key);
        if (keyProblem) problems.push({ field: path || 'body', message: `a field name ${keyProblem}` });
        else inputProblems((value as Record<string, unknown>)[key], at, depth + 1, problems);
      }
    }
  }
  return problems;
}
