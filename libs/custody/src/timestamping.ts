import { createHash, randomBytes } from 'node:crypto';

/**
 * RFC 3161 time-stamping client: an outside authority countersigns the hash of each signed tree
 * head, so a head's age can be shown without trusting our own clock or keys.
 *
 * The DER here is hand-written and deliberately small: we only build one fixed request shape and
 * only read the handful of fields we check. The authority's CMS signature is not verified here;
 * whoever relies on a token verifies it later against the authority's certificate chain.
 */

export const SHA256_OID = '2.16.840.1.101.3.4.2.1';
const SIGNED_DATA_OID = '1.2.840.113549.1.7.2';
const TST_INFO_OID = '1.2.840.113549.1.9.16.1.4';

/** Big enough for a token with a certificate chain, small enough that a hostile server cannot flood us. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
/** Nonces are 64-bit in practice; the cap only stops absurd input to the encoder. */
const MAX_NONCE_BYTES = 1024;

/** Anything that went wrong building, fetching or reading a time-stamp. */
export class TimestampError extends Error {
  override name = 'TimestampError';
}

// --- DER writing -------------------------------------------------------------------------------

const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const value = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map((arc) => BigInt(arc));
  const out: number[] = [];
  const [first, second, ...rest] = arcs;
  for (const arc of [first * 40n + second, ...rest]) {
    const septets: number[] = [];
    for (let v = arc; ; v >>= 7n) {
      septets.unshift(Number(v & 0x7fn) | (septets.length ? 0x80 : 0));
      if (v < 0x80n) break;
    }
    out.push(...septets);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** A non-negative integer from big-endian magnitude bytes, in minimal DER. */
function encodeUnsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = magnitude.subarray(start);
  // A set top bit would read as negative, so such values get a leading zero byte.
  return tlv(TAG.INTEGER, body[0] & 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body);
}

function nonceMagnitude(nonce: bigint | Buffer): Buffer {
  let magnitude: Buffer;
  if (typeof nonce === 'bigint') {
    if (nonce <= 0n) throw new TimestampError('time-stamp nonce must be a positive integer');
    const hex = nonce.toString(16);
    magnitude = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  } else {
    magnitude = nonce;
    if (!magnitude.some((byte) => byte !== 0)) throw new TimestampError('time-stamp nonce must be a positive integer');
  }
  let significant = magnitude.length;
  for (let i = 0; i < magnitude.length && magnitude[i] === 0; i++) significant--;
  if (significant > MAX_NONCE_BYTES) throw new TimestampError(`time-stamp nonce is longer than ${MAX_NONCE_BYTES} bytes`);
  return magnitude;
}

/** Builds a DER TimeStampReq for a SHA-256 digest, asking for the authority's certificate in the token. */
export function buildTimeStampRequest(digest: Buffer, nonce: bigint | Buffer): Buffer {
  if (!Buffer.isBuffer(digest) || digest.length !== 32) {
    throw new TimestampError('time-stamp request needs a 32-byte SHA-256 digest');
  }
  const algorithm = tlv(TAG.SEQUENCE, encodeOid(SHA256_OID), tlv(TAG.NULL));
  const messageImprint = tlv(TAG.SEQUENCE, algorithm, tlv(TAG.OCTET_STRING, digest));
  return tlv(
    TAG.SEQUENCE,
    encodeUnsignedInteger(Buffer.from([1])), // version v1
    messageImprint,
    encodeUnsignedInteger(nonceMagnitude(nonce)),
    tlv(TAG.BOOLEAN, Buffer.from([0xff])), // certReq TRUE: the token then names its signer
  );
}

// --- DER reading -------------------------------------------------------------------------------

interface Element {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  valueStart: number;
  /** Offset just past the content. */
  end: number;
}

/**
 * Reads DER elements one after another between two offsets. Every element must fit inside its
 * parent, so a hostile length can never make us read outside the buffer or allocate for it.
 */
class DerCursor {
  constructor(
    private readonly buf: Buffer,
    private pos: number,
    private readonly limit: number,
    private readonly context: string,
  ) {}

  static over(buf: Buffer, context: string): DerCursor {
    return new DerCursor(buf, 0, buf.length, context);
  }

  private fail(message: string): never {
    throw new TimestampError(`${this.context}: ${message}`);
  }

  peekTag(): number | undefined {
    return this.pos < this.limit ? this.buf[this.pos] : undefined;
  }

  /** The next element, whatever its tag. */
  any(what: string): Element {
    const { buf, limit } = this;
    const start = this.pos;
    if (start >= limit) this.fail(`${what} is missing (ends at offset ${start})`);
    const tag = buf[start];
    if ((tag & 0x1f) === 0x1f) this.fail(`${what} at offset ${start} uses a multi-byte tag, which no field here has`);
    if (start + 1 >= limit) this.fail(`${what} at offset ${start} is truncated before its length`);
    const first = buf[start + 1];
    let length: number;
    let valueStart: number;
    if (first < 0x80) {
      length = first;
      valueStart = start + 2;
    } else {
      const count = first & 0x7f;
      if (count === 0) this.fail(`${what} at offset ${start} has an indefinite length, which DER forbids`);
      if (count > 4) this.fail(`${what} at offset ${start} declares a ${count}-byte length, far beyond any response`);
      if (start + 2 + count > limit) this.fail(`${what} at offset ${start} is truncated inside its length`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + buf[start + 2 + i];
      if (buf[start + 2] === 0 || length < 0x80) this.fail(`${what} at offset ${start} has a non-minimal length encoding`);
      valueStart = start + 2 + count;
    }
    const end = valueStart + length;
    if (end > limit) this.fail(`${what} at offset ${start} claims ${length} bytes but only ${limit - valueStart} remain`);
    this.pos = end;
    return { tag, start, valueStart, end };
  }

  /** The next element, which must carry `tag`. */
  next(tag: number, what: string): Element {
    const actual = this.peekTag();
    if (actual === undefined) this.fail(`${what} is missing (ends at offset ${this.pos})`);
    if (actual !== tag) this.fail(`${what} at offset ${this.pos} has tag 0x${hex2(actual)}, expected 0x${hex2(tag)}`);
    return this.any(what);
  }

  /** The next element if it carries `tag`, else nothing consumed. */
  optional(tag: number, what: string): Element | undefined {
    return this.peekTag() === tag ? this.any(what) : undefined;
  }

  /** A cursor over the content of `element`. */
  inside(element: Element, context = this.context): DerCursor {
    return new DerCursor(this.buf, element.valueStart, element.end, context);
  }

  /** Walks the remaining elements only to check they are well-formed. */
  skipRest(what: string): void {
    while (this.pos < this.limit) this.any(what);
  }

  /** Fails if anything is left; trailing bytes would mean we misread the structure. */
  finish(what: string): void {
    if (this.pos !== this.limit) this.fail(`${this.limit - this.pos} unexpected byte(s) after ${what} at offset ${this.pos}`);
  }

  bytes(element: Element): Buffer {
    return this.buf.subarray(element.valueStart, element.end);
  }

  integer(element: Element, what: string): bigint {
    const body = this.bytes(element);
    if (body.length === 0) this.fail(`${what} is an empty INTEGER`);
    if (body.length > 1 && ((body[0] === 0 && body[1] < 0x80) || (body[0] === 0xff && body[1] >= 0x80))) {
      this.fail(`${what} is a non-minimal INTEGER`);
    }
    let value = BigInt('0x' + body.toString('hex'));
    if (body[0] & 0x80) value -= 1n << BigInt(body.length * 8);
    return value;
  }

  oid(element: Element, what: string): string {
    const body = this.bytes(element);
    if (body.length === 0) this.fail(`${what} is an empty OBJECT IDENTIFIER`);
    if (body[body.length - 1] & 0x80) this.fail(`${what} is a truncated OBJECT IDENTIFIER`);
    const arcs: bigint[] = [];
    let value = 0n;
    let fresh = true;
    for (const byte of body) {
      if (fresh && byte === 0x80) this.fail(`${what} is a non-minimal OBJECT IDENTIFIER`);
      value = (value << 7n) | BigInt(byte & 0x7f);
      fresh = !(byte & 0x80);
      if (fresh) {
        arcs.push(value);
        value = 0n;
      }
    }
    const [head, ...rest] = arcs;
    const first = head < 80n ? head / 40n : 2n;
    return [first, head - first * 40n, ...rest].join('.');
  }
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** PKIStatus names (RFC 3161 2.4.2), for error messages. */
const STATUS_NAMES = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];

/** PKIFailureInfo bit names (RFC 3161 2.4.2); bit 0 is the first bit of the BIT STRING. */
const FAILURE_BITS: Record<number, string> = {
  0: 'badAlg',
  2: 'badRequest',
  5: 'badDataFormat',
  14: 'timeNotAvailable',
  15: 'unacceptedPolicy',
  16: 'unacceptedExtension',
  17: 'addInfoNotAvailable',
  25: 'systemFailure',
};

export interface TimeStampResponse {
  /** PKIStatus: 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4/5 revocation notices. */
  status: number;
  /** The authority's free text, lines joined with "; ". */
  statusText?: string;
  /** Named PKIFailureInfo bits (unknown bits as "bitN"). */
  failInfo?: string[];
  /** The TimeStampToken (a CMS ContentInfo), exactly as its DER bytes arrived. */
  token: Buffer | null;
}

/** Reads a DER TimeStampResp strictly; malformed input gives a TimestampError, never anything else. */
export function parseTimeStampResponse(der: Buffer): TimeStampResponse {
  const top = DerCursor.over(der, 'malformed time-stamp response');
  const resp = top.next(TAG.SEQUENCE, 'TimeStampResp');
  top.finish('TimeStampResp');
  const body = top.inside(resp);
  const statusInfo = body.next(TAG.SEQUENCE, 'PKIStatusInfo');

  const info = body.inside(statusInfo);
  const statusValue = info.integer(info.next(TAG.INTEGER, 'PKIStatus'), 'PKIStatus');
  if (statusValue < 0n || statusValue > 0xffffn) {
    throw new TimestampError(`malformed time-stamp response: PKIStatus ${statusValue} is out of range`);
  }
  const result: TimeStampResponse = { status: Number(statusValue), token: null };

  const freeText = info.optional(TAG.SEQUENCE, 'PKIFreeText');
  if (freeText) {
    const lines = info.inside(freeText);
    const texts: string[] = [];
    while (lines.peekTag() !== undefined) texts.push(lines.bytes(lines.next(TAG.UTF8_STRING, 'PKIFreeText line')).toString('utf8'));
    result.statusText = texts.join('; ');
  }
  const failInfo = info.optional(TAG.BIT_STRING, 'PKIFailureInfo');
  if (failInfo) result.failInfo = failureNames(info.bytes(failInfo));
  info.finish('PKIStatusInfo');

  const token = body.optional(TAG.SEQUENCE, 'TimeStampToken');
  if (token) result.token = Buffer.from(der.subarray(token.start, token.end));
  body.finish('TimeStampResp content');
  return result;
}

function failureNames(bits: Buffer): string[] {
  if (bits.length === 0 || bits[0] > 7 || (bits.length === 1 && bits[0] !== 0)) {
    throw new TimestampError('malformed time-stamp response: PKIFailureInfo is not a valid BIT STRING');
  }
  const names: string[] = [];
  const usable = (bits.length - 1) * 8 - bits[0];
  for (let bit = 0; bit < usable; bit++) {
    if (bits[1 + (bit >> 3)] & (0x80 >> (bit & 7))) names.push(FAILURE_BITS[bit] ?? `bit${bit}`);
  }
  return names;
}

export interface TokenImprint {
  /** Dotted OID of the hash the authority stamped. */
  hashOid: string;
  hashedMessage: Buffer;
  /** The nonce echoed from the request; absent if the authority sent none. */
  nonce?: bigint;
  /** TSTInfo genTime exactly as GeneralizedTime text, e.g. "20260127101500Z" or with fractions. */
  genTime?: string;
}

/** Reads what a TimeStampToken attests (imprint, nonce, time) from CMS SignedData → TSTInfo, without checking its signature. */
export function tokenImprint(token: Buffer): TokenImprint {
  const ctx = 'malformed time-stamp token';
  const fail = (message: string): never => {
    throw new TimestampError(`${ctx}: ${message}`);
  };
  const top = DerCursor.over(token, ctx);
  const contentInfo = top.next(TAG.SEQUENCE, 'ContentInfo');
  top.finish('ContentInfo');

  const ci = top.inside(contentInfo);
  const contentType = ci.oid(ci.next(TAG.OID, 'ContentInfo contentType'), 'contentType');
  if (contentType !== SIGNED_DATA_OID) fail(`content type is ${contentType}, not CMS SignedData`);
  const explicit = ci.next(TAG.CONTEXT_0, 'ContentInfo content');
  ci.finish('ContentInfo content');

  const wrapper = ci.inside(explicit);
  const signedData = wrapper.next(TAG.SEQUENCE, 'SignedData');
  wrapper.finish('SignedData');

  const sd = wrapper.inside(signedData);
  sd.next(TAG.INTEGER, 'SignedData version');
  sd.next(TAG.SET, 'SignedData digestAlgorithms');
  const encap = sd.next(TAG.SEQUENCE, 'encapContentInfo');
  // certificates, crls and signerInfos: not read here, only checked to be well-formed.
  sd.skipRest('SignedData field');

  const ec = sd.inside(encap);
  const eContentType = ec.oid(ec.next(TAG.OID, 'eContentType'), 'eContentType');
  if (eContentType !== TST_INFO_OID) fail(`encapsulated content is ${eContentType}, not TSTInfo`);
  const eContentWrapper = ec.next(TAG.CONTEXT_0, 'eContent');
  ec.finish('eContent');
  const ew = ec.inside(eContentWrapper);
  // A primitive OCTET STRING only: DER forbids the constructed (chunked) form.
  const eContent = ew.next(TAG.OCTET_STRING, 'eContent OCTET STRING');
  ew.finish('eContent OCTET STRING');

  const outer = ew.inside(eContent);
  const tstInfo = outer.next(TAG.SEQUENCE, 'TSTInfo');
  outer.finish('TSTInfo');

  const tst = outer.inside(tstInfo);
  const version = tst.integer(tst.next(TAG.INTEGER, 'TSTInfo version'), 'TSTInfo version');
  if (version !== 1n) fail(`TSTInfo version is ${version}, not 1`);
  tst.next(TAG.OID, 'TSTInfo policy');
  const imprint = tst.next(TAG.SEQUENCE, 'messageImprint');
  tst.next(TAG.INTEGER, 'TSTInfo serialNumber');
  const genTimeEl = tst.next(TAG.GENERALIZED_TIME, 'TSTInfo genTime');
  tst.optional(TAG.SEQUENCE, 'TSTInfo accuracy');
  tst.optional(TAG.BOOLEAN, 'TSTInfo ordering');
  const nonceEl = tst.optional(TAG.INTEGER, 'TSTInfo nonce');
  tst.optional(TAG.CONTEXT_0, 'TSTInfo tsa');
  tst.optional(TAG.CONTEXT_1, 'TSTInfo extensions');
  tst.finish('TSTInfo');

  const mi = tst.inside(imprint);
  const algorithm = mi.next(TAG.SEQUENCE, 'hashAlgorithm');
  const hashed = mi.next(TAG.OCTET_STRING, 'hashedMessage');
  mi.finish('messageImprint');
  const alg = mi.inside(algorithm);
  const hashOid = alg.oid(alg.next(TAG.OID, 'hashAlgorithm OID'), 'hashAlgorithm OID');
  alg.skipRest('hashAlgorithm parameters');

  const genTime = tst.bytes(genTimeEl).toString('latin1');
  if (!/^\d{14}(\.\d*[1-9])?Z$/.test(genTime)) fail(`genTime ${JSON.stringify(genTime)} is not a UTC GeneralizedTime`);

  const result: TokenImprint = { hashOid, hashedMessage: Buffer.from(mi.bytes(hashed)), genTime };
  if (nonceEl) result.nonce = tst.integer(nonceEl, 'TSTInfo nonce');
  return result;
}

// --- The client ---------------------------------------------------------------------------------

export interface TimestampAuthorityOptions {
  /** For the whole exchange, response body included; default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Default MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
}

/** An RFC 3161 authority reached over HTTP(S), e.g. the one CUSTODIA_TSA_URL names. */
export class TimestampAuthority {
  private readonly url: URL;
  /** The URL without credentials or query, safe for error messages and logs. */
  private readonly label: string;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly fetchImpl: typeof fetch;
  /** From user:password in the URL; fetch refuses URLs with credentials, and commercial authorities often want Basic auth. */
  private readonly authorization: string | undefined;

  constructor(url: string, opts: TimestampAuthorityOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TimestampError('time-stamp authority URL is not a valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TimestampError(`time-stamp authority URL must be http or https, not ${parsed.protocol}`);
    }
    if (parsed.username || parsed.password) {
      const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
      this.authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    this.url = parsed;
    this.label = `${parsed.origin}${parsed.pathname}`;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** Has the authority time-stamp SHA-256(data); returns the checked TimeStampToken DER. */
  async stamp(data: Buffer): Promise<Buffer> {
    const digest = createHash('sha256').update(data).digest();
    // Random per request, so a replayed or cached answer for the same digest is caught.
    const nonceBytes = randomBytes(8);
    const nonce = BigInt('0x' + nonceBytes.toString('hex')) || 1n;
    const request = buildTimeStampRequest(digest, nonce);

    const { body, contentType } = await this.post(request);
    let response: TimeStampResponse;
    try {
      response = parseTimeStampResponse(body);
    } catch (error) {
      throw this.error(`sent an unreadable reply (${body.length} bytes, Content-Type ${contentType ?? 'none'}): ${(error as Error).message}`, error);
    }
    if (response.status !== 0 && response.status !== 1) {
      const name = STATUS_NAMES[response.status] ?? 'unknown status';
      const text = response.statusText ? `: "${response.statusText}"` : '';
      const fail = response.failInfo?.length ? ` [${response.failInfo.join(', ')}]` : '';
      throw this.error(`refused the request with status ${response.status} (${name})${text}${fail}`);
    }
    if (!response.token) throw this.error(`granted the request (status ${response.status}) but sent no token`);

    let imprint: TokenImprint;
    try {
      imprint = tokenImprint(response.token);
    } catch (error) {
      throw this.error(`sent an unreadable token: ${(error as Error).message}`, error);
    }
    if (imprint.hashOid !== SHA256_OID) throw this.error(`stamped a ${imprint.hashOid} imprint, not the SHA-256 we asked for`);
    if (!imprint.hashedMessage.equals(digest)) {
      throw this.error(`stamped the wrong imprint: ${imprint.hashedMessage.toString('hex')} instead of our ${digest.toString('hex')}`);
    }
    if (imprint.nonce === undefined) throw this.error('sent a token without our nonce');
    if (imprint.nonce !== nonce) throw this.error(`sent a token with nonce ${imprint.nonce.toString(16)} instead of our ${nonce.toString(16)}`);
    return response.token;
  }

  private error(message: string, cause?: unknown): TimestampError {
    return new TimestampError(`time-stamp authority ${this.label} ${message}`, cause === undefined ? undefined : { cause });
  }

  private async post(request: Buffer): Promise<{ body: Buffer; contentType: string | null }> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const timedOut = () => this.error(`did not answer within ${this.timeoutMs} ms`);
    let response: Response;
    try {
      response = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/timestamp-query',
          Accept: 'application/timestamp-reply',
          ...(this.authorization ? { Authorization: this.authorization } : {}),
        },
        body: new Uint8Array(request),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw timedOut();
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw this.error(`could not be reached: ${cause?.code ?? cause?.message ?? (error as Error).message}`, error);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw this.error(`answered HTTP ${response.status}${response.statusText ? ' ' + response.statusText : ''}`);
    }
    const tooLarge = () => this.error(`sent a reply larger than ${this.maxResponseBytes} bytes`);
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > this.maxResponseBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.byteLength;
          // Counted as it streams: a missing or lying Content-Length must not let a reply grow unbounded.
          if (total > this.maxResponseBytes) {
            await reader.cancel().catch(() => undefined);
            throw tooLarge();
          }
          chunks.push(value);
        }
      } catch (error) {
        if (error instanceof TimestampError) throw error;
        if (signal.aborted) throw timedOut();
        throw this.error(`broke off its reply: ${(error as Error).message}`, error);
      }
    }
    return { body: Buffer.concat(chunks), contentType: response.headers.get('content-type') };
  }
}
