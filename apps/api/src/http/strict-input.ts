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

/** What is wrong with a JSON text's shape, found before it is parsed. */
export interface JsonShapeProblem {
  kind: 'duplicate' | 'depth';
  /** The field it concerns (`location.lat`, `tags[2]`; for nesting, the value nested too deep). */
  field: string;
  message: string;
}

interface Container {
  object: boolean;
  path: string;
  /** Objects: the names given so far; the last one names the member being read. */
  names: Set<string>;
  name: string | null;
  /** Arrays: the index of the element being read. */
  index: number;
  /** Objects: whether the next string is a member's name. */
  expectName: boolean;
}

/** A problem's detail: `The body gives the field "title" more than once`, `The body nests deeper than 32 levels at "a[0]"`. */
export function shapeDetail(what: string, problem: JsonShapeProblem): string {
  return problem.kind === 'duplicate' ? `${what} gives the field "${problem.field}" more than once` : `${what} ${problem.message} at "${problem.field}"`;
}

/**
 * Reads a JSON text's shape without parsing it: nesting deeper than `limit` (so a body nested
 * 50,000 deep is refused before a recursive parser or validator sees it), and a name given twice
 * in one object, which RFC 8259 leaves to each parser (the last wins in JavaScript, the first in
 * others) and I-JSON (RFC 7493) forbids: a request whose meaning depends on the reader is refused.
 * A text that is not JSON at all is left to the parser to refuse.
 */
export function jsonShapeProblem(raw: Buffer, limit = MAX_DEPTH): JsonShapeProblem | null {
  const open: Container[] = [];
  let stringStart = -1;
  const childPath = (parent: Container | undefined): string =>
    !parent ? '' : parent.object ? (parent.path ? `${parent.path}.${parent.name}` : (parent.name ?? '')) : `${parent.path}[${parent.index}]`;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (stringStart >= 0) {
      if (c === 0x5c) i++; // a backslash escapes the next byte
      else if (c === 0x22) {
        const top = open.at(-1);
        if (top?.object && top.expectName) {
          // Escapes decoded (`"\u0061"` is `"a"`); a name without one is its bytes.
          const escaped = raw.subarray(stringStart, i).includes(0x5c);
          let name: string;
          try {
            name = escaped ? (JSON.parse(raw.subarray(stringStart, i + 1).toString('utf8')) as string) : raw.toString('utf8', stringStart + 1, i);
          } catch {
            return null; // not JSON: the parser says so
          }
          if (top.names.has(name)) {
            const field = top.path ? `${top.path}.${name}` : name;
            return { kind: 'duplicate', field, message: 'is given more than once' };
          }
          top.names.add(name);
          top.name = name;
          top.expectName = false;
        }
        stringStart = -1;
      }
    } else if (c === 0x22) stringStart = i;
    else if (c === 0x7b || c === 0x5b) {
      if (open.length >= limit) return { kind: 'depth', field: childPath(open.at(-1)), message: `nests deeper than ${limit} levels` };
      open.push({ object: c === 0x7b, path: childPath(open.at(-1)), names: new Set(), name: null, index: 0, expectName: c === 0x7b });
    } else if (c === 0x7d || c === 0x5d) open.pop();
    else if (c === 0x2c) {
      const top = open.at(-1);
      if (top?.object) top.expectName = true;
      else if (top) top.index++;
    }
  }
  return null;
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
