import { createHash, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { children, contentBytes, aBlock, decodeDer, encodedBytes, generalNameText, integerHex, nameText, type Fail } from './der.js';
import { SHA256_OID, TimestampError } from './errors.js';

/**
 * Reading and verifying RFC 3161 time-stamp tokens (CMS SignedData over a TSTInfo).
 *
 * What a valid result proves: the authority's key signed this TSTInfo, the key belongs to a
 * certificate made for time-stamping only (RFC 3161 2.3) that was valid at the time stamped and
 * that the signature itself names (ESS signing-certificate), and, when data or a digest is
 * given, that the token stamps exactly that. When trusted certificates are given, the signer's
 * certificate must also chain to one of them at genTime. Without them the chain is 'not_checked'
 * and the signature is only shown consistent with the certificate the token carries: anyone can
 * make a self-consistent token with a certificate of their own, so a court expert should be
 * given the authority's root to check against. Revocation (CRL, OCSP) is not checked.
 */

/** Node's WebCrypto, handed explicitly to every pkijs call so no global engine state matters. */
const engine = new pkijs.CryptoEngine({
  name: 'node',
  crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'],
});

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  sha1: '1.3.14.3.2.26',
} as const;

interface HashAlgorithm {
  node: string;
  webcrypto: string;
  label: string;
}

/** What a token may stamp: SHA-1 and weaker are refused, as a collision would let one token cover two documents. */
const IMPRINT_HASHES: Record<string, HashAlgorithm> = {
  [SHA256_OID]: { node: 'sha256', webcrypto: 'SHA-256', label: 'SHA-256' },
  '2.16.840.1.101.3.4.2.2': { node: 'sha384', webcrypto: 'SHA-384', label: 'SHA-384' },
  '2.16.840.1.101.3.4.2.3': { node: 'sha512', webcrypto: 'SHA-512', label: 'SHA-512' },
};

/** For the authority's own signature and ESSCertID: SHA-1 stays readable there because RFC 2634 ESSCertID is SHA-1 by definition. */
const SIGNER_HASHES: Record<string, HashAlgorithm> = {
  ...IMPRINT_HASHES,
  [OID.sha1]: { node: 'sha1', webcrypto: 'SHA-1', label: 'SHA-1' },
};

/** Key purposes by name, so a report says "serverAuth" rather than an OID. */
const KEY_PURPOSES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  [OID.timeStamping]: 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

/** A certificate together with its exact DER, which ESSCertID hashes and which identifies it. */
interface CertificateEntry {
  cert: pkijs.Certificate;
  der: Buffer;
}

interface DecodedToken {
  signerInfo: pkijs.SignerInfo;
  tstInfo: pkijs.TSTInfo;
  /** The TSTInfo exactly as signed (the eContent octets). */
  tstInfoDer: Buffer;
  genTime: string;
  genTimeDate: Date;
  messageDigest: Buffer;
  /** The X.509 certificates the token carries, in order. */
  certificates: CertificateEntry[];
}

/** Who signed a token, as a person reads it. */
export interface TimestampSigner {
  /** Distinguished name, e.g. "CN=Custodia Test TSA, O=…". */
  subject: string;
  issuer: string;
  /** Certificate serial number, hex. */
  serialNumber: string;
}

/** What a token says, read without judging whether to believe it. */
export interface TimeStampTokenInfo {
  /** Dotted OID of the hash the authority stamped. */
  hashOid: string;
  hashedMessage: Buffer;
  /** The nonce echoed from the request; absent if the authority sent none. */
  nonce?: bigint;
  /** TSTInfo genTime exactly as GeneralizedTime text, e.g. "20260127101500Z" or with fractions. */
  genTime: string;
  genTimeDate: Date;
  /** TSTInfo serial number, hex; unique per authority. */
  serialNumber: string;
  /** TSA policy OID under which the token was issued. */
  policy: string;
  /** The optional TSTInfo tsa field, as text. */
  tsaName: string | null;
  /** The certificate in the token that matches the signer; null when the token carries none. */
  signer: TimestampSigner | null;
  /** How many X.509 certificates the token carries. */
  certificates: number;
}

const failToken: Fail = (message) => {
  throw new TimestampError(`malformed time-stamp token: ${message}`);
};

/** Unpacks and structurally checks a token; every failure is a TimestampError "malformed time-stamp token: …". */
function decodeToken(token: Buffer): DecodedToken {
  const fail: Fail = failToken;
  if (!(token instanceof Uint8Array)) fail('it is not a byte buffer');
  try {
    const root = decodeDer(token, 'ContentInfo', fail);
    if (!(root instanceof asn1js.Sequence)) fail(`ContentInfo is ${aBlock(root)}, expected a SEQUENCE`);
    const [typeBlock] = children(root);
    if (!(typeBlock instanceof asn1js.ObjectIdentifier)) fail(`ContentInfo contentType is ${aBlock(typeBlock)}, expected an OBJECT IDENTIFIER`);
    const contentType = typeBlock.valueBlock.toString();
    if (contentType !== OID.signedData) fail(`content type is ${contentType}, not CMS SignedData`);

    const contentInfo = build(() => new pkijs.ContentInfo({ schema: root }), 'ContentInfo');
    const signedDataBlock = contentInfo.content as asn1js.BaseBlock;
    const signedData = build(() => new pkijs.SignedData({ schema: signedDataBlock }), 'CMS SignedData');
    const { eContentType, eContent } = signedData.encapContentInfo;
    if (eContentType !== OID.tstInfo) fail(`encapsulated content is ${eContentType}, not TSTInfo`);
    if (!(eContent instanceof asn1js.OctetString) || eContent.idBlock.isConstructed) fail('the TSTInfo is missing or not in a primitive OCTET STRING');

    const tstInfoDer = contentBytes(eContent);
    const tstRoot = decodeDer(tstInfoDer, 'TSTInfo', fail);
    const genTimeBlock = children(tstRoot)[4];
    const tstInfo = build(() => new pkijs.TSTInfo({ schema: tstRoot }), 'TSTInfo');
    if (tstInfo.version !== 1) fail(`TSTInfo version is ${tstInfo.version}, not 1`);
    if (!(genTimeBlock instanceof asn1js.GeneralizedTime)) fail('TSTInfo genTime is missing');
    const genTime = contentBytes(genTimeBlock).toString('latin1');
    // RFC 3161 2.4.2: UTC ("Z"), seconds always present, fractions without trailing zeros.
    if (!/^\d{14}(\.\d*[1-9])?Z$/.test(genTime)) fail(`genTime ${JSON.stringify(genTime)} is not a UTC GeneralizedTime`);
    const genTimeDate = tstInfo.genTime;
    if (!(genTimeDate instanceof Date) || Number.isNaN(genTimeDate.getTime())) fail(`genTime ${genTime} is not a real date`);

    if (signedData.signerInfos.length !== 1) fail(`it carries ${signedData.signerInfos.length} signatures; RFC 3161 allows only the authority's`);
    const [signerInfo] = signedData.signerInfos;
    const attributes = signerInfo.signedAttrs?.attributes ?? [];
    if (!attributes.length) fail('its signature has no signed attributes, which RFC 3161 requires');
    const contentTypes = attributes.filter((attribute) => attribute.type === OID.contentType);
    const [declared] = contentTypes[0]?.values ?? [];
    if (contentTypes.length !== 1 || contentTypes[0].values.length !== 1 || !(declared instanceof asn1js.ObjectIdentifier) || declared.valueBlock.toString() !== OID.tstInfo) {
      fail('the signed content-type attribute is missing or does not name TSTInfo');
    }
    const digests = attributes.filter((attribute) => attribute.type === OID.messageDigest);
    const [digest] = digests[0]?.values ?? [];
    if (digests.length !== 1 || digests[0].values.length !== 1 || !(digest instanceof asn1js.OctetString)) fail('the signed message-digest attribute is missing or malformed');

    const certificates: CertificateEntry[] = [];
    const certificateSet = children(signedDataBlock).find((block) => block.idBlock.tagClass === 3 && block.idBlock.tagNumber === 0);
    for (const block of certificateSet ? children(certificateSet) : []) {
      // Attribute and other certificate formats are tagged, not SEQUENCEs; they cannot sign a token.
      if (!(block instanceof asn1js.Sequence)) continue;
      certificates.push({ cert: build(() => new pkijs.Certificate({ schema: block }), 'X.509 certificate'), der: encodedBytes(block) });
    }
    return { signerInfo, tstInfo, tstInfoDer, genTime, genTimeDate, messageDigest: contentBytes(digest), certificates };
  } catch (error) {
    if (error instanceof TimestampError) throw error;
    // A fault inside asn1js or pkijs on input nobody anticipated is still just a malformed token.
    return fail(`it could not be read (${(error as Error)?.message ?? String(error)})`);
  }
}

/** Runs a pkijs constructor, turning its schema errors into our message. */
function build<T>(make: () => T, what: string): T {
  try {
    return make();
  } catch (error) {
    return failToken(`it does not have the structure of ${what} (${(error as Error)?.message ?? String(error)})`);
  }
}

function describeCertificate(cert: pkijs.Certificate): TimestampSigner {
  return { subject: nameText(cert.subject), issuer: nameText(cert.issuer), serialNumber: integerHex(cert.serialNumber) };
}

/** The key identifier a SignerIdentifier of the subjectKeyIdentifier kind would carry for this certificate. */
function keyIdentifier(cert: pkijs.Certificate): Buffer {
  const extension = cert.extensions?.find((ext) => ext.extnID === OID.subjectKeyIdentifier);
  if (extension?.parsedValue instanceof asn1js.OctetString) return contentBytes(extension.parsedValue);
  return createHash('sha1').update(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest();
}

/** The candidate that the SignerInfo's sid names, by issuer and serial or by key identifier. */
function findSigner(signerInfo: pkijs.SignerInfo, candidates: CertificateEntry[]): CertificateEntry | null {
  const sid = signerInfo.sid as unknown;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return candidates.find(({ cert }) => cert.issuer.isEqual(sid.issuer) && cert.serialNumber.isEqual(sid.serialNumber)) ?? null;
  }
  if (!(sid instanceof asn1js.BaseBlock)) return null;
  const inner = sid.idBlock.isConstructed ? children(sid)[0] : sid;
  if (!inner) return null;
  const wanted = contentBytes(inner);
  return candidates.find(({ cert }) => keyIdentifier(cert).equals(wanted)) ?? null;
}

/** Parses PEM certificates (several per string allowed); throws TimestampError naming the bad one. */
export function readCertificatesPem(pems: readonly string[]): CertificateEntry[] {
  const entries: CertificateEntry[] = [];
  pems.forEach((pem, index) => {
    const fail: Fail = (message) => {
      throw new TimestampError(`trusted certificate ${index + 1} cannot be read: ${message}`);
    };
    if (typeof pem !== 'string') fail('it is not a PEM string');
    const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----/g)];
    if (!blocks.length) fail('it holds no "BEGIN CERTIFICATE" block');
    for (const [, body] of blocks) {
      const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
      const root = decodeDer(der, 'certificate', fail);
      try {
        entries.push({ cert: new pkijs.Certificate({ schema: root }), der });
      } catch (error) {
        fail(`it is not an X.509 certificate (${(error as Error)?.message ?? String(error)})`);
      }
    }
  });
  return entries;
}

/** Reads what a TimeStampToken attests (imprint, nonce, time, serial, policy, signer) without verifying it; malformed input gives a TimestampError. */
export function readTimeStampToken(token: Buffer): TimeStampTokenInfo {
  const decoded = decodeToken(token);
  try {
    const { tstInfo } = decoded;
    const signer = findSigner(decoded.signerInfo, decoded.certificates);
    return {
      hashOid: tstInfo.messageImprint.hashAlgorithm.algorithmId,
      hashedMessage: contentBytes(tstInfo.messageImprint.hashedMessage),
      ...(tstInfo.nonce ? { nonce: tstInfo.nonce.toBigInt() } : {}),
      genTime: decoded.genTime,
      genTimeDate: decoded.genTimeDate,
      serialNumber: integerHex(tstInfo.serialNumber),
      policy: tstInfo.policy,
      tsaName: tstInfo.tsa ? generalNameText(tstInfo.tsa) : null,
      signer: signer ? describeCertificate(signer.cert) : null,
      certificates: decoded.certificates.length,
    };
  } catch (error) {
    // The contract is one error type for any input, even where pkijs meets something unforeseen.
    return failToken(`it could not be read (${(error as Error)?.message ?? String(error)})`);
  }
}

// --- Verification ------------------------------------------------------------------------------

/** The outcome of one check: 'not_checked' when its input was not given or an earlier failure made it moot. */
export type TimestampCheck = 'ok' | 'failed' | 'not_checked';

export interface TimestampChecks {
  /** The token is DER and has the shape RFC 3161 and CMS require (one signer, signed attributes). */
  structure: TimestampCheck;
  /** The stamped hash equals the data's SHA-256/384/512 or the given digest, and the nonce matches. */
  imprint: TimestampCheck;
  /** The signed message digest matches the TSTInfo, and the signer's key verifies the signature over the signed attributes. */
  signature: TimestampCheck;
  /** The signer's certificate has extendedKeyUsage exactly id-kp-timeStamping, critical (RFC 3161 2.3). */
  keyUsage: TimestampCheck;
  /** A signed ESS signing-certificate(-v2) attribute names the signer's certificate (by hash, and issuer/serial when present). */
  signingCertificate: TimestampCheck;
  /** The signer's certificate was within its validity period at genTime. */
  validity: TimestampCheck;
  /** The signer's certificate chains to a trusted certificate at genTime; 'not_checked' without trusted certificates. */
  chain: TimestampCheck;
}

export interface TimestampVerification {
  /** True when no check failed and structure, signature, keyUsage, signingCertificate and validity passed. */
  valid: boolean;
  /** The first check that failed, in the order of `checks`, in words for a person; absent when valid. */
  reason?: string;
  genTime?: string;
  genTimeDate?: Date;
  policy?: string;
  serialNumber?: string;
  tsaName?: string | null;
  signer?: TimestampSigner;
  /** Whether the chain to a trusted certificate was examined; when false, trust rests on the certificate the token carries. */
  chainChecked: boolean;
  checks: TimestampChecks;
}

export interface TimestampVerifyOptions {
  /** The data that was stamped; hashed with the token's own algorithm (SHA-256, SHA-384 or SHA-512). */
  data?: Buffer;
  /** Or the digest that was stamped, compared byte for byte. */
  digest?: Buffer;
  /** The nonce of the request, when the caller made it. */
  nonce?: bigint;
  /** The authority's root (or its own certificate), PEM; without them the chain is 'not_checked'. */
  trustedCertificatesPem?: string[];
}

const CHECK_ORDER: (keyof TimestampChecks)[] = ['structure', 'imprint', 'signature', 'keyUsage', 'signingCertificate', 'validity', 'chain'];
const REQUIRED: (keyof TimestampChecks)[] = ['structure', 'signature', 'keyUsage', 'signingCertificate', 'validity'];

const CHECK_LABELS: Record<keyof TimestampChecks, string> = {
  structure: 'reading the token',
  imprint: 'comparing what the token stamps',
  signature: "checking the authority's signature",
  keyUsage: "checking the certificate's key usage",
  signingCertificate: 'checking which certificate the signature names',
  validity: "checking the certificate's validity period",
  chain: 'checking the certificate chain',
};

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Returns true, a reason it failed, or undefined when nothing was given to compare against. */
function checkImprint(decoded: DecodedToken, opts: TimestampVerifyOptions): true | string | undefined {
  const { messageImprint, nonce } = decoded.tstInfo;
  const imprint = contentBytes(messageImprint.hashedMessage);
  const hashOid = messageImprint.hashAlgorithm.algorithmId;
  let compared = false;
  if (opts.data !== undefined || opts.digest !== undefined) {
    const hash = IMPRINT_HASHES[hashOid];
    if (!hash) return `the token stamps a hash made with algorithm ${hashOid}, which is not SHA-256, SHA-384 or SHA-512`;
    if (opts.data !== undefined) {
      const actual = createHash(hash.node).update(opts.data).digest();
      if (!actual.equals(imprint)) {
        return `the token time-stamps other data: it carries the ${hash.label} hash ${hex(imprint)}, but the data given hashes to ${actual.toString('hex')}`;
      }
    }
    if (opts.digest !== undefined && !Buffer.from(opts.digest).equals(imprint)) {
      return `the token time-stamps another digest: it carries ${hex(imprint)}, not the expected ${hex(opts.digest)}`;
    }
    compared = true;
  }
  if (opts.nonce !== undefined) {
    if (!nonce) return 'the token does not carry the nonce of the request, so it may be an old answer replayed';
    const theirs = nonce.toBigInt();
    if (theirs !== opts.nonce) return `the token carries nonce ${theirs.toString(16)} instead of the request's ${opts.nonce.toString(16)}, so it answers another request`;
  }
  return compared ? true : undefined;
}

async function checkSignature(decoded: DecodedToken, signer: CertificateEntry): Promise<true | string> {
  const { signerInfo } = decoded;
  const subject = nameText(signer.cert.subject);
  const hash = SIGNER_HASHES[signerInfo.digestAlgorithm.algorithmId];
  if (!hash) return `the authority's signature uses digest algorithm ${signerInfo.digestAlgorithm.algorithmId}, which this verifier does not support`;
  // CMS signs the attributes, which carry the content's hash: both links must hold.
  if (!createHash(hash.node).update(decoded.tstInfoDer).digest().equals(decoded.messageDigest)) {
    return 'the time-stamp content (TSTInfo) does not match the digest the authority signed: the token was altered after it was signed';
  }
  const algorithm = signerInfo.signatureAlgorithm;
  // Some signers name only the key type; the digest algorithm then says which hash the signature uses.
  const keyTypeOnly = algorithm.algorithmId === OID.rsaEncryption || algorithm.algorithmId === OID.ecPublicKey;
  let verified: boolean;
  try {
    verified = await engine.verifyWithPublicKey(
      signerInfo.signedAttrs!.encodedValue,
      signerInfo.signature,
      signer.cert.subjectPublicKeyInfo,
      algorithm,
      keyTypeOnly ? hash.webcrypto : undefined,
    );
  } catch (error) {
    return `the authority's signature could not be checked with the key of its certificate (${subject}): ${(error as Error)?.message ?? String(error)}`;
  }
  return verified
    ? true
    : `the authority's signature does not verify with the key of its certificate (${subject}): the signed attributes or the signature were altered, or another key signed them`;
}

function checkKeyUsage(cert: pkijs.Certificate): true | string {
  const subject = nameText(cert.subject);
  const extensions = (cert.extensions ?? []).filter((extension) => extension.extnID === OID.extKeyUsage);
  if (!extensions.length) {
    return `the signing certificate (${subject}) is not restricted to time-stamping: it has no extended key usage, and RFC 3161 2.3 requires exactly id-kp-timeStamping, marked critical`;
  }
  if (extensions.length > 1) return `the signing certificate (${subject}) has more than one extended key usage extension`;
  const [extension] = extensions;
  if (!(extension.parsedValue instanceof pkijs.ExtKeyUsage)) return `the extended key usage of the signing certificate (${subject}) cannot be read`;
  const purposes = extension.parsedValue.keyPurposes;
  if (purposes.length !== 1 || purposes[0] !== OID.timeStamping) {
    const named = purposes.map((purpose) => KEY_PURPOSES[purpose] ?? purpose).join(', ') || 'nothing';
    return `the signing certificate (${subject}) may be used for ${named}, but RFC 3161 2.3 requires exactly time-stamping and nothing else`;
  }
  if (!extension.critical) return `the time-stamping key usage of the signing certificate (${subject}) is not marked critical, as RFC 3161 2.3 requires`;
  return true;
}

/** Why one ESS signing-certificate attribute does not name `signer`, or undefined when it does. */
function essProblem(attribute: pkijs.Attribute, signer: CertificateEntry): string | undefined {
  const v2 = attribute.type === OID.signingCertificateV2;
  const label = v2 ? 'ESS signing-certificate-v2' : 'ESS signing-certificate';
  const malformed = `the ${label} attribute is malformed`;
  const [value] = attribute.values;
  if (attribute.values.length !== 1 || !(value instanceof asn1js.Sequence)) return malformed;
  const [certs] = children(value);
  // The first ESSCertID names the signing certificate; any others name the rest of its chain.
  const [first] = certs instanceof asn1js.Sequence ? children(certs) : [];
  if (!(first instanceof asn1js.Sequence)) return malformed;
  const fields = [...children(first)];
  let hashOid: string = v2 ? SHA256_OID : OID.sha1;
  if (v2 && fields[0] instanceof asn1js.Sequence) {
    const identifier = fields.shift()!;
    try {
      hashOid = new pkijs.AlgorithmIdentifier({ schema: identifier }).algorithmId;
    } catch {
      return malformed;
    }
  }
  const certHash = fields.shift();
  if (!(certHash instanceof asn1js.OctetString)) return malformed;
  const hash = SIGNER_HASHES[hashOid];
  if (!hash) return `the ${label} attribute identifies the certificate with hash algorithm ${hashOid}, which this verifier does not support`;
  const subject = nameText(signer.cert.subject);
  if (!createHash(hash.node).update(signer.der).digest().equals(contentBytes(certHash))) {
    return `the ${label} attribute names a different certificate than the one whose key signed the token (${subject})`;
  }
  const issuerSerial = fields.shift();
  if (issuerSerial) {
    let parsed: pkijs.IssuerSerial;
    try {
      parsed = new pkijs.IssuerSerial({ schema: issuerSerial });
    } catch {
      return malformed;
    }
    const issuerMatches = parsed.issuer.names.some(
      (name) => name.type === 4 && name.value instanceof pkijs.RelativeDistinguishedNames && name.value.isEqual(signer.cert.issuer),
    );
    if (!issuerMatches || !parsed.serialNumber.isEqual(signer.cert.serialNumber)) {
      return `the ${label} attribute names the issuer and serial number of a different certificate than the one that signed (${subject})`;
    }
  }
  if (fields.length) return malformed;
  return undefined;
}

function checkSigningCertificate(decoded: DecodedToken, signer: CertificateEntry): true | string {
  const attributes = (decoded.signerInfo.signedAttrs?.attributes ?? []).filter(
    (attribute) => attribute.type === OID.signingCertificate || attribute.type === OID.signingCertificateV2,
  );
  if (!attributes.length) {
    return 'the authority did not name its certificate in a signed attribute (ESS signing-certificate), as RFC 3161 2.4.2 requires, so another certificate with the same key could be put in its place';
  }
  for (const attribute of attributes) {
    const problem = essProblem(attribute, signer);
    if (problem) return problem;
  }
  return true;
}

function checkValidity(cert: pkijs.Certificate, decoded: DecodedToken): true | string {
  const from = cert.notBefore.value;
  const until = cert.notAfter.value;
  const at = decoded.genTimeDate.getTime();
  if (at < from.getTime() || at > until.getTime()) {
    return `the signing certificate (${nameText(cert.subject)}) was not valid at the time stamped (${decoded.genTimeDate.toISOString()}): it is valid from ${from.toISOString()} to ${until.toISOString()}`;
  }
  return true;
}

async function checkChain(decoded: DecodedToken, signer: CertificateEntry, trusted: CertificateEntry[]): Promise<true | string> {
  // Trusting the authority's own certificate directly is a complete chain.
  if (trusted.some((entry) => entry.der.equals(signer.der))) return true;
  const subject = nameText(signer.cert.subject);
  const intermediates = decoded.certificates.filter((entry) => !entry.der.equals(signer.der)).map((entry) => entry.cert);
  // pkijs takes the last of `certs` as the end entity; certificates the token carries are never anchors.
  const validator = new pkijs.CertificateChainValidationEngine({
    trustedCerts: trusted.map((entry) => entry.cert),
    certs: [...intermediates, signer.cert],
    checkDate: decoded.genTimeDate,
  });
  const outcome = await validator.verify({}, engine);
  if (outcome.result) return true;
  return `the signing certificate (${subject}) does not lead to any of the trusted certificates at the time stamped (${decoded.genTimeDate.toISOString()}): ${outcome.resultMessage || 'no valid path'}`;
}

/** Verifies a token's signature, certificate and imprint (see TimestampChecks); never throws, whatever the input. */
export async function verifyTimeStampToken(token: Buffer, opts: TimestampVerifyOptions = {}): Promise<TimestampVerification> {
  const checks: TimestampChecks = {
    structure: 'not_checked',
    imprint: 'not_checked',
    signature: 'not_checked',
    keyUsage: 'not_checked',
    signingCertificate: 'not_checked',
    validity: 'not_checked',
    chain: 'not_checked',
  };
  const reasons: Partial<Record<keyof TimestampChecks, string>> = {};
  const record = (check: keyof TimestampChecks, outcome: true | string | undefined) => {
    if (outcome === undefined) return;
    checks[check] = outcome === true ? 'ok' : 'failed';
    if (outcome !== true) reasons[check] = outcome;
  };
  const result: TimestampVerification = { valid: false, chainChecked: false, checks };
  let current: keyof TimestampChecks = 'structure';

  try {
    let decoded: DecodedToken;
    try {
      decoded = decodeToken(token);
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      record('structure', `the token is not a well-formed RFC 3161 time-stamp token: ${message.replace(/^malformed time-stamp token: /, '')}`);
      return finish();
    }
    record('structure', true);
    const { tstInfo } = decoded;
    Object.assign(result, {
      genTime: decoded.genTime,
      genTimeDate: decoded.genTimeDate,
      policy: tstInfo.policy,
      serialNumber: integerHex(tstInfo.serialNumber),
      tsaName: tstInfo.tsa ? generalNameText(tstInfo.tsa) : null,
    });

    current = 'imprint';
    record('imprint', checkImprint(decoded, opts));

    current = 'chain';
    const wantChain = (opts.trustedCertificatesPem?.length ?? 0) > 0;
    let trusted: CertificateEntry[] = [];
    if (wantChain) {
      try {
        trusted = readCertificatesPem(opts.trustedCertificatesPem!);
      } catch (error) {
        record('chain', (error as Error).message);
      }
    }

    current = 'signature';
    const signer = findSigner(decoded.signerInfo, decoded.certificates) ?? findSigner(decoded.signerInfo, trusted);
    if (!signer) {
      record(
        'signature',
        decoded.certificates.length
          ? 'none of the certificates in the token, nor any trusted certificate, belongs to the key that signed it, so its signature cannot be checked'
          : 'the token carries no certificate and no trusted certificate belongs to the key that signed it, so its signature cannot be checked',
      );
      return finish();
    }
    result.signer = describeCertificate(signer.cert);
    record('signature', await checkSignature(decoded, signer));
    current = 'keyUsage';
    record('keyUsage', checkKeyUsage(signer.cert));
    current = 'signingCertificate';
    record('signingCertificate', checkSigningCertificate(decoded, signer));
    current = 'validity';
    record('validity', checkValidity(signer.cert, decoded));
    current = 'chain';
    if (wantChain && checks.chain === 'not_checked') record('chain', await checkChain(decoded, signer, trusted));
  } catch (error) {
    record(current, `${CHECK_LABELS[current]} could not be completed: ${(error as Error)?.message ?? String(error)}`);
  }
  return finish();

  function finish(): TimestampVerification {
    result.valid = REQUIRED.every((check) => checks[check] === 'ok') && CHECK_ORDER.every((check) => checks[check] !== 'failed');
    const first = CHECK_ORDER.find((check) => checks[check] === 'failed');
    if (first) result.reason = reasons[first];
    result.chainChecked = checks.chain !== 'not_checked';
    return result;
  }
}
