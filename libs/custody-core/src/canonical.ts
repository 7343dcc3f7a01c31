import canonicalizeModule from 'canonicalize';
import { canonicalJson } from './replay-page.js';

type Serialize = (input: unknown) => string | undefined;
// The package is CommonJS with typings that claim an ES default export: Node hands ESM the function
// itself, while the typings (and some bundlers) see a namespace holding `default`.
const canonicalize: Serialize =
  typeof canonicalizeModule === 'function'
    ? (canonicalizeModule as Serialize)
    : (canonicalizeModule as { default: Serialize }).default;

/** A value JSON represents exactly, hence one RFC 8785 serialisation. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

// A lone surrogate has no UTF-8 encoding; I-JSON (RFC 7493), which RFC 8785 requires, forbids it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** RFC 8785 (JCS) UTF-8 bytes of a plain JSON value; throws on anything JSON cannot represent exactly. */
export function canonicalBytes(value: unknown): Buffer {
  // These bytes are hashed and signed: refuse rather than let JSON.stringify quietly change a value.
  assertExactJson(value, '$', new Set());
  const text = canonicalize(value);
  if (text === undefined) throw new Error('canonicalBytes: value has no JSON form');
  return Buffer.from(text, 'utf8');
}

const parsedJson = canonicalJson(canonicalize);

/**
 * Whether `text` (an event's stored bytes, decoded) is the RFC 8785 form of `parsed`, the value
 * JSON.parse made of it: a replay's check of every stored event (see `canonicalJson`).
 */
export const isCanonicalEncoding: (text: string, parsed: unknown) => boolean = parsedJson.isCanonical;

/**
 * RFC 8785 (JCS) UTF-8 bytes of a value JSON.parse made, with members added that are JSON values
 * (an event from its queue entry and its index): the same bytes as `canonicalBytes`, without its
 * walk of the value, mostly by JSON.stringify (see `canonicalJson`). Throws on a lone surrogate.
 */
export function canonicalBytesOfParsed(value: JsonValue): Buffer {
  const text = parsedJson.text(value);
  if (text === null) throw new Error('canonicalBytes: string with a lone UTF-16 surrogate; pass plain JSON only');
  return Buffer.from(text, 'utf8');
}

/** Why `value` is not plain JSON that `canonicalBytes` serialises exactly (its message), or undefined. */
export function exactJsonProblem(value: unknown): string | undefined {
  try {
    assertExactJson(value, '$', new Set());
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

function assertExactJson(value: unknown, path: string, ancestors: Set<object>): void {
  const fail = (why: string): never => {
    throw new Error(`canonicalBytes: ${why} at ${path}; pass plain JSON only`);
  };
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) fail('string with a lone UTF-16 surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(`${value} is not a JSON number`);
      return;
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      return fail(`${typeof value} is not JSON`);
  }
  if (value === null) return;
  const object = value as object;
  if (ancestors.has(object)) fail('circular reference');
  ancestors.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      // Holes and undefined elements would become null.
      if (!(i in object) || object[i] === undefined) fail(`undefined array element ${i}`);
      assertExactJson(object[i], `${path}[${i}]`, ancestors);
    }
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      fail(`${proto?.constructor?.name ?? 'non-plain'} object`);
    }
    if (Object.getOwnPropertySymbols(object).length > 0) fail('symbol-keyed property');
    for (const [key, member] of Object.entries(object)) {
      if (LONE_SURROGATE.test(key)) fail(`key with a lone UTF-16 surrogate`);
      // An undefined member means "absent", as in JSON.stringify, so optional fields can be left undefined.
      if (member !== undefined) assertExactJson(member, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(object);
}
