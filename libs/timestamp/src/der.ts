import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { MAX_RESPONSE_BYTES } from './errors.js';

/**
 * Strict DER decoding on top of asn1js, which itself reads the laxer BER. Signatures and hashes
 * are computed over exact bytes, so a second encoding of the same value must be refused rather
 * than read: otherwise two different byte strings could claim to be one token.
 */

/** Raises the caller's own error (with its own prefix), so every failure keeps one error type. */
export type Fail = (message: string) => never;

/**
 * Resource caps for hostile input (real tokens nest about a dozen levels and hold a few hundred
 * nodes). parseEmbedded is off: pkijs decodes the nested encodings it needs (extension values,
 * keys) itself, and asn1js guessing inside every OCTET STRING only costs time.
 */
const PARSE_LIMITS: asn1js.FromBerOptions = { maxDepth: 48, maxNodes: 20_000, maxContentLength: MAX_RESPONSE_BYTES, parseEmbedded: false };

/** asn1js notes these for values DER allows too (large numbers, high tag numbers, empty SEQUENCEs). */
const HARMLESS_WARNINGS = new Set([
  'Too big Integer for decoding, hex only',
  'Too big SID for decoding, hex only',
  'Tag too long, represented as hex-coded',
  'Zero buffer length',
]);

/** asn1js's words for the usual ways hostile or cut-off input fails, in plainer ones. */
const PLAIN_ERRORS: Record<string, string> = {
  'Zero buffer length': 'it ends inside an element (truncated)',
  'End of input reached before message was fully decoded': 'an element claims more bytes than remain (truncated)',
  'End of input reached before message was fully decoded (inconsistent offset and length values)': 'an element claims more bytes than remain (truncated)',
  'Maximum ASN.1 content length exceeded': `an element claims a length beyond the ${MAX_RESPONSE_BYTES}-byte limit`,
  'Too big integer': 'an element declares an impossibly large length',
  'Too big length': 'an element declares an impossibly large length',
};

/** Universal types that DER requires in primitive form (strings, times, BIT and OCTET STRING). */
const PRIMITIVE_ONLY = new Set([1, 2, 3, 4, 5, 6, 10, 12, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);

/** INTEGER, OBJECT IDENTIFIER and ENUMERATED: asn1js only warns when they are empty, DER forbids it. */
const NEVER_EMPTY = new Set([2, 6, 10]);

interface Diagnostics {
  error?: string;
  warnings?: string[];
}

const partsOf = (block: asn1js.BaseBlock) => [block, block.idBlock, block.lenBlock, block.valueBlock] as Diagnostics[];

/** The first hard error anywhere in what asn1js read, in plain words. */
function firstError(block: asn1js.BaseBlock): string | undefined {
  for (const part of partsOf(block)) if (part?.error) return PLAIN_ERRORS[part.error] ?? part.error;
  for (const child of children(block)) {
    const error = firstError(child);
    if (error) return error;
  }
  return undefined;
}

function firstWarning(block: asn1js.BaseBlock): string | undefined {
  for (const part of partsOf(block)) for (const warning of part?.warnings ?? []) if (!HARMLESS_WARNINGS.has(warning)) return warning;
  return undefined;
}

/** Walks what asn1js read and refuses every BER liberty that DER forbids. */
function assertDer(block: asn1js.BaseBlock, what: string, fail: Fail, depth = 0): void {
  const where = () => `${what} (${describeBlock(block)} at depth ${depth})`;
  const problem = firstWarning(block);
  if (problem) fail(`${where()} is not valid DER: ${problem}`);
  if (block.lenBlock.isIndefiniteForm) fail(`${where()} has an indefinite length, which DER forbids`);
  const universal = block.idBlock.tagClass === 1;
  const tag = block.idBlock.tagNumber;
  if (block.idBlock.isConstructed) {
    if (universal && PRIMITIVE_ONLY.has(tag)) fail(`${where()} uses the constructed (chunked) form, which DER forbids`);
    // Only a constructed block's children are structure; we never ask asn1js to guess inside primitives.
    for (const child of children(block)) assertDer(child, what, fail, depth + 1);
  } else if (universal) {
    const encoded = block.valueBeforeDecodeView;
    const view = encoded.subarray(encoded.length - block.lenBlock.length);
    if (NEVER_EMPTY.has(tag) && view.length === 0) fail(`${where()} is empty`);
    if (tag === 1 && (view.length !== 1 || (view[0] !== 0x00 && view[0] !== 0xff))) fail(`${where()} is a BOOLEAN not encoded as 00 or FF`);
  }
}

/** Decodes exactly one DER element filling all of `bytes`; anything else goes to `fail`. */
export function decodeDer(bytes: Uint8Array, what: string, fail: Fail): asn1js.BaseBlock {
  if (bytes.length === 0) fail(`${what} is empty`);
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(bytes, PARSE_LIMITS);
  } catch (error) {
    return fail(`${what} could not be decoded: ${(error as Error)?.message ?? String(error)}`);
  }
  const root = parsed.result as asn1js.BaseBlock;
  if (parsed.offset === -1) fail(`${what} could not be decoded: ${firstError(root) ?? 'unreadable'}`);
  assertDer(root, what, fail);
  if (parsed.offset !== bytes.length) fail(`${bytes.length - parsed.offset} unexpected byte(s) after ${what} at offset ${parsed.offset}`);
  return root;
}

/** A short name for a block in messages: its ASN.1 type, or its tag when it has none. */
export function describeBlock(block: asn1js.BaseBlock): string {
  const { tagClass, tagNumber } = block.idBlock;
  if (tagClass === 1) return (block.constructor as { NAME?: string }).NAME ?? `UNIVERSAL ${tagNumber}`;
  return `[${tagClass === 3 ? '' : tagClass === 2 ? 'APPLICATION ' : 'PRIVATE '}${tagNumber}]`;
}

/** The block's name with its article, for "is an INTEGER, expected a SEQUENCE". */
export function aBlock(block: asn1js.BaseBlock | undefined): string {
  if (!block) return 'missing';
  const name = describeBlock(block);
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
}

/** The block's content bytes; from its encoding when asn1js keeps no hex view, so an unexpected type cannot make it throw. */
export function contentBytes(block: asn1js.BaseBlock): Buffer {
  const view = (block.valueBlock as unknown as { valueHexView?: unknown }).valueHexView;
  if (view instanceof Uint8Array) return Buffer.from(view);
  const encoded = block.valueBeforeDecodeView;
  return Buffer.from(encoded.subarray(Math.max(0, encoded.length - block.lenBlock.length)));
}

/** The block's own encoding, exactly as it arrived. */
export function encodedBytes(block: asn1js.BaseBlock): Buffer {
  return Buffer.from(block.valueBeforeDecodeView);
}

/** Children of a constructed block. */
export function children(block: asn1js.BaseBlock): asn1js.BaseBlock[] {
  return block.idBlock.isConstructed ? ((block.valueBlock as { value?: asn1js.BaseBlock[] }).value ?? []) : [];
}

/** Big-endian hex of a positive INTEGER without DER's sign-padding zero, e.g. a serial number. */
export function integerHex(integer: asn1js.Integer): string {
  const bytes = contentBytes(integer);
  const start = bytes.length > 1 && bytes[0] === 0 && bytes[1] & 0x80 ? 1 : 0;
  return bytes.subarray(start).toString('hex');
}

/** Attribute short names as OpenSSL and RFC 4514 print them. */
const NAME_KEYS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** A distinguished name as text ("CN=…, O=…", in certificate order), for reports a person reads. */
export function nameText(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((pair) => {
      const value = (pair.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
      const text = typeof value === 'string' ? value : '#' + encodedBytes(pair.value as asn1js.BaseBlock).toString('hex');
      return `${NAME_KEYS[pair.type] ?? pair.type}=${text}`;
    })
    .join(', ');
}

/** A GeneralName as text: directory names as DNs, the string forms as themselves. */
export function generalNameText(name: pkijs.GeneralName): string {
  const value = name.value as unknown;
  if (name.type === 4 && value instanceof pkijs.RelativeDistinguishedNames) return nameText(value);
  if (typeof value === 'string') return value;
  if (value instanceof asn1js.BaseBlock) {
    const inner = (value.valueBlock as { value?: unknown }).value;
    if (typeof inner === 'string') return inner;
    return `GeneralName [${name.type}] #${contentBytes(value).toString('hex')}`;
  }
  return `GeneralName [${name.type}]`;
}
