import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { children, aBlock, decodeDer, encodedBytes, type Fail } from './der.js';
import { SHA256_OID, TimestampError } from './errors.js';

/** Nonces are 64-bit in practice; the cap only stops absurd input to the encoder. */
const MAX_NONCE_BYTES = 1024;

/** PKIStatus names (RFC 3161 2.4.2), for error messages. */
export const STATUS_NAMES = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];

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

/** The DER content of a positive INTEGER from its big-endian magnitude: minimal, with a sign pad only when needed. */
function positiveIntegerContent(nonce: bigint | Buffer): Buffer {
  let magnitude: Buffer;
  if (typeof nonce === 'bigint') {
    if (nonce <= 0n) throw new TimestampError('time-stamp nonce must be a positive integer');
    const hex = nonce.toString(16);
    magnitude = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  } else {
    if (!Buffer.isBuffer(nonce) || !nonce.some((byte) => byte !== 0)) throw new TimestampError('time-stamp nonce must be a positive integer');
    let start = 0;
    while (nonce[start] === 0) start++;
    magnitude = nonce.subarray(start);
  }
  if (magnitude.length > MAX_NONCE_BYTES) throw new TimestampError(`time-stamp nonce is longer than ${MAX_NONCE_BYTES} bytes`);
  // A set top bit would read as negative, so such values get a leading zero byte.
  return magnitude[0] & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : Buffer.from(magnitude);
}

/** Builds a DER TimeStampReq for a SHA-256 digest, asking for the authority's certificate in the token so it can be verified. */
export function buildTimeStampRequest(digest: Buffer, nonce: bigint | Buffer): Buffer {
  if (!Buffer.isBuffer(digest) || digest.length !== 32) {
    throw new TimestampError('time-stamp request needs a 32-byte SHA-256 digest');
  }
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      // With the explicit NULL parameters, as OpenSSL and most authorities write them.
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256_OID, algorithmParams: new asn1js.Null() }),
      hashedMessage: new asn1js.OctetString({ valueHex: new Uint8Array(digest) }),
    }),
    nonce: new asn1js.Integer({ valueHex: new Uint8Array(positiveIntegerContent(nonce)) }),
    certReq: true,
  });
  return Buffer.from(request.toSchema().toBER());
}

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

function failureNames(bits: asn1js.BitString): string[] {
  const unused = bits.valueBlock.unusedBits;
  const view = bits.valueBlock.valueHexView;
  const names: string[] = [];
  const usable = view.length * 8 - unused;
  for (let bit = 0; bit < usable; bit++) {
    if (view[bit >> 3] & (0x80 >> (bit & 7))) names.push(FAILURE_BITS[bit] ?? `bit${bit}`);
  }
  return names;
}

/** Reads a DER TimeStampResp strictly (DER only, nothing trailing); malformed input gives a TimestampError, never anything else. */
export function parseTimeStampResponse(der: Buffer): TimeStampResponse {
  const fail: Fail = (message) => {
    throw new TimestampError(`malformed time-stamp response: ${message}`);
  };
  if (!(der instanceof Uint8Array)) fail('it is not a byte buffer');
  try {
    const root = decodeDer(der, 'TimeStampResp', fail);
    if (!(root instanceof asn1js.Sequence)) fail(`TimeStampResp is ${aBlock(root)}, expected a SEQUENCE`);
    const [statusBlock, tokenBlock, ...rest] = children(root);
    if (!statusBlock) fail('PKIStatusInfo is missing');
    if (rest.length) fail(`${rest.length} unexpected element(s) after the TimeStampToken`);
    if (!(statusBlock instanceof asn1js.Sequence)) fail(`PKIStatusInfo is ${aBlock(statusBlock)}, expected a SEQUENCE`);

    // Checked before pkijs reads it, so the message says which value was wrong.
    const [statusValue, ...statusRest] = children(statusBlock);
    if (!(statusValue instanceof asn1js.Integer)) fail(`PKIStatus is ${aBlock(statusValue)}, expected an INTEGER`);
    const status = statusValue.toBigInt();
    if (status < 0n || status > BigInt(STATUS_NAMES.length - 1)) fail(`PKIStatus ${status} is out of range`);
    const infoRest = [...statusRest];
    if (infoRest[0] instanceof asn1js.Sequence) {
      for (const line of children(infoRest.shift()!)) {
        if (!(line instanceof asn1js.Utf8String)) fail(`a PKIFreeText line is ${aBlock(line)}, expected a UTF8String`);
      }
    }
    if (infoRest[0] instanceof asn1js.BitString) infoRest.shift();
    if (infoRest.length) fail(`${infoRest.length} unexpected element(s) after PKIStatusInfo's fields`);
    if (tokenBlock && !(tokenBlock instanceof asn1js.Sequence)) fail(`the TimeStampToken is ${aBlock(tokenBlock)}, expected a SEQUENCE`);

    let parsed: pkijs.TimeStampResp;
    try {
      parsed = new pkijs.TimeStampResp({ schema: root });
    } catch (error) {
      return fail(`it does not have the structure of a TimeStampResp (${(error as Error).message})`);
    }
    const result: TimeStampResponse = { status: parsed.status.status, token: null };
    if (parsed.status.statusStrings) result.statusText = parsed.status.statusStrings.map((line) => line.valueBlock.value).join('; ');
    if (parsed.status.failInfo) result.failInfo = failureNames(parsed.status.failInfo);
    if (tokenBlock) {
      if (parsed.timeStampToken?.contentType === undefined) fail('the TimeStampToken is not a CMS ContentInfo');
      result.token = encodedBytes(tokenBlock);
    }
    return result;
  } catch (error) {
    if (error instanceof TimestampError) throw error;
    // A fault inside asn1js or pkijs on input nobody anticipated is still just a malformed response.
    return fail(`it could not be read (${(error as Error)?.message ?? String(error)})`);
  }
}
