import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSA_CONFIG, openssl, startLocalTsa, type LocalTsa } from '../../../test/support/tsa/local-tsa.js';
import { buildTimeStampRequest, parseTimeStampResponse, readTimeStampToken, verifyTimeStampToken, type TimestampChecks, type TimestampVerification } from './index.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/** Every check 'ok' except those named, which must have the given outcome. */
function checksExcept(overrides: Partial<TimestampChecks>): TimestampChecks {
  return { structure: 'ok', imprint: 'ok', signature: 'ok', keyUsage: 'ok', signingCertificate: 'ok', validity: 'ok', chain: 'ok', ...overrides };
}

/** Signer certificate profiles that RFC 3161 2.3 forbids, as OpenSSL extension sections. */
const VARIANTS_CNF = `
[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = unused

[ no_eku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation

[ eku_not_critical ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = timeStamping

[ eku_two_purposes ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping, serverAuth
`;

describe('verifyTimeStampToken against a local openssl authority', () => {
  let tsa: LocalTsa;
  let caPem: string;
  let tsaPem: string;
  let otherCaPem: string;
  let otherCaFile: string;
  /** Made before any token is stamped, so each is already valid at the tokens' genTime. */
  const signers = new Map<string, { cert: string; key: string }>();
  const at = (name: string) => path.join(tsa.dir, name);

  beforeAll(async () => {
    tsa = await startLocalTsa();
    caPem = await readFile(tsa.caPem, 'utf8');
    tsaPem = await readFile(tsa.tsaPem, 'utf8');
    otherCaFile = at('other-ca.pem');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await openssl(['req', '-x509', '-new', ...ec, '-keyout', at('other-ca.key'), '-out', otherCaFile, '-subj', '/CN=Some Other Root', '-days', '2', '-config', TSA_CONFIG, '-extensions', 'ca_ext'], tsa.dir);
    otherCaPem = await readFile(otherCaFile, 'utf8');
    await writeFile(at('variants.cnf'), VARIANTS_CNF);
    for (const profile of ['no_eku', 'eku_not_critical', 'eku_two_purposes']) signers.set(profile, await makeSigner(profile));
  });
  afterAll(async () => {
    await tsa?.close();
  });

  /** A genuine token from `openssl ts -reply` for our own request over `data`. */
  async function stampToken(data: Buffer, nonce = 0x0123_4567_89ab_cdefn): Promise<Buffer> {
    return parseTimeStampResponse(await tsa.reply(buildTimeStampRequest(sha256(data), nonce))).token!;
  }

  /** A genuine token for an `openssl ts -query` with the given options (another hash, no certificate…). */
  async function stampWithOpensslQuery(data: Buffer, options: string[]): Promise<Buffer> {
    const dataFile = await tsa.writeTemp('data.bin', data);
    const { stdout: query } = await openssl(['ts', '-query', '-data', dataFile, ...options]);
    return parseTimeStampResponse(await tsa.reply(query)).token!;
  }

  async function verifyWithOpenssl(data: Buffer, token: Buffer, caFile = tsa.caPem, untrusted = tsa.tsaPem): Promise<{ ok: boolean; output: string }> {
    const dataFile = await tsa.writeTemp('data.bin', data);
    const tokenFile = await tsa.writeTemp('token.tst', token);
    try {
      const { stdout } = await openssl(['ts', '-verify', '-data', dataFile, '-in', tokenFile, '-token_in', '-CAfile', caFile, '-untrusted', untrusted]);
      return { ok: true, output: stdout.toString('utf8') };
    } catch (error) {
      return { ok: false, output: (error as Error).message };
    }
  }

  /** The TSTInfo DER a token carries, as `openssl cms` extracts it. */
  async function tstInfoOf(token: Buffer): Promise<Buffer> {
    const tokenFile = await tsa.writeTemp('token.tst', token);
    const out = tokenFile.replace(/\.tst$/, '.tstinfo');
    await openssl(['cms', '-verify', '-noverify', '-inform', 'DER', '-in', tokenFile, '-binary', '-out', out]);
    return readFile(out);
  }

  /**
   * Signs a TSTInfo as a token with any certificate: `openssl ts -reply` refuses a signer without
   * the timeStamping EKU, `openssl cms -sign -cades` does not (and adds ESS signing-certificate-v2).
   */
  async function signTstInfo(tstInfo: Buffer, certFile: string, keyFile: string, cades = true): Promise<Buffer> {
    const inFile = await tsa.writeTemp('tstinfo.der', tstInfo);
    const out = inFile.replace(/\.der$/, '.tst');
    await openssl([
      'cms', '-sign', '-binary', '-nodetach', '-in', inFile, '-econtent_type', '1.2.840.113549.1.9.16.1.4',
      '-signer', certFile, '-inkey', keyFile, '-md', 'sha256', ...(cades ? ['-cades'] : []), '-nosmimecap', '-certfile', tsa.caPem, '-outform', 'DER', '-out', out,
    ]);
    return readFile(out);
  }

  /** A key and a certificate from the test CA with one of the VARIANTS_CNF profiles. */
  async function makeSigner(profile: string): Promise<{ cert: string; key: string }> {
    const key = at(`${profile}.key`);
    const cert = at(`${profile}.pem`);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    await openssl(['req', '-new', ...ec, '-keyout', key, '-out', at(`${profile}.csr`), '-subj', `/CN=Signer ${profile}`, '-config', at('variants.cnf')], tsa.dir);
    await openssl(
      ['x509', '-req', '-in', at(`${profile}.csr`), '-CA', tsa.caPem, '-CAkey', at('ca.key'), '-set_serial', '0x' + randomBytes(8).toString('hex'), '-days', '2', '-extfile', at('variants.cnf'), '-extensions', profile, '-out', cert],
      tsa.dir,
    );
    return { cert, key };
  }

  it('accepts a genuine token: chain not checked without trusted certificates, ok with the authority root, as openssl agrees', async () => {
    const data = Buffer.from('{"treeSize":7,"rootHash":"…"}');
    const nonce = 0x0123_4567_89ab_cdefn;
    const token = await stampToken(data, nonce);
    const read = readTimeStampToken(token);

    const alone = await verifyTimeStampToken(token, { data, nonce });
    expect(alone.reason).toBeUndefined();
    expect(alone.valid).toBe(true);
    expect(alone.chainChecked).toBe(false);
    expect(alone.checks).toEqual(checksExcept({ chain: 'not_checked' }));
    expect(alone).toMatchObject({
      genTime: read.genTime,
      genTimeDate: read.genTimeDate,
      policy: '1.3.6.1.4.1.59999.3161.1',
      serialNumber: read.serialNumber,
      tsaName: 'CN=Custodia Test TSA',
      signer: { subject: 'CN=Custodia Test TSA', issuer: 'CN=Custodia Test Root' },
    });
    expect(read).toMatchObject({ signer: alone.signer, certificates: 2, tsaName: 'CN=Custodia Test TSA', policy: '1.3.6.1.4.1.59999.3161.1' });

    const chained = await verifyTimeStampToken(token, { digest: sha256(data), nonce, trustedCertificatesPem: [caPem] });
    expect(chained.reason).toBeUndefined();
    expect(chained.valid).toBe(true);
    expect(chained.chainChecked).toBe(true);
    expect(chained.checks).toEqual(checksExcept({}));

    // Nothing to compare against: genuine, but what it stamps is left to the caller.
    const bare = await verifyTimeStampToken(token);
    expect(bare.valid).toBe(true);
    expect(bare.checks).toEqual(checksExcept({ imprint: 'not_checked', chain: 'not_checked' }));

    const theirs = await verifyWithOpenssl(data, token);
    expect(theirs.output).toMatch(/Verification: OK/);
    const { stdout } = await openssl(['ts', '-reply', '-in', await tsa.writeTemp('token.tst', token), '-token_in', '-text']);
    const text = stdout.toString('utf8');
    expect(text).toContain(`Serial number: 0x${read.serialNumber.toUpperCase()}`);
    expect(text).toContain('Policy OID: 1.3.6.1.4.1.59999.3161.1');
    expect(text).toContain('TSA: DirName:/CN=Custodia Test TSA');
  });

  it('checks SHA-384 and SHA-512 imprints against the data', async () => {
    for (const hash of ['-sha384', '-sha512']) {
      const data = randomBytes(100);
      const token = await stampWithOpensslQuery(data, [hash, '-cert']);
      const result = await verifyTimeStampToken(token, { data, trustedCertificatesPem: [caPem] });
      expect(result.reason, hash).toBeUndefined();
      expect(result.checks.imprint, hash).toBe('ok');
      const wrong = await verifyTimeStampToken(token, { data: randomBytes(100) });
      expect(wrong.reason, hash).toMatch(new RegExp(`other data: it carries the SHA-${hash.slice(4)} hash`));
    }
  });

  it('fails on the imprint for a token over other bytes (and on the nonce), as openssl does', async () => {
    const data = Buffer.from('the head we stamped');
    const other = Buffer.from('another head');
    const token = await stampToken(data);

    const result = await verifyTimeStampToken(token, { data: other, trustedCertificatesPem: [caPem] });
    expect(result.valid).toBe(false);
    expect(result.checks).toEqual(checksExcept({ imprint: 'failed' }));
    expect(result.reason).toMatch(/^the token time-stamps other data: it carries the SHA-256 hash [0-9a-f]{64}, but the data given hashes to [0-9a-f]{64}$/);
    const theirs = await verifyWithOpenssl(other, token);
    expect(theirs.ok).toBe(false);
    expect(theirs.output).toMatch(/message imprint mismatch/);

    expect((await verifyTimeStampToken(token, { digest: sha256(other) })).reason).toMatch(/time-stamps another digest/);
    expect((await verifyTimeStampToken(token, { data, nonce: 5n })).reason).toMatch(/carries nonce 123456789abcdef instead of the request's 5/);
    const withoutNonce = await stampWithOpensslQuery(data, ['-sha256', '-cert', '-no_nonce']);
    expect((await verifyTimeStampToken(withoutNonce, { data, nonce: 5n })).reason).toMatch(/does not carry the nonce/);
  });

  it('fails on the chain when checked against another CA, as openssl does', async () => {
    const data = randomBytes(50);
    const token = await stampToken(data);
    const result = await verifyTimeStampToken(token, { data, trustedCertificatesPem: [otherCaPem] });
    expect(result.valid).toBe(false);
    expect(result.chainChecked).toBe(true);
    expect(result.checks).toEqual(checksExcept({ chain: 'failed' }));
    expect(result.reason).toMatch(/^the signing certificate \(CN=Custodia Test TSA\) does not lead to any of the trusted certificates at the time stamped/);
    const theirs = await verifyWithOpenssl(data, token, otherCaFile);
    expect(theirs.ok).toBe(false);
    expect(theirs.output).toMatch(/certificate verify error/);

    // Either root will do; a bad one among them is reported, not thrown.
    expect((await verifyTimeStampToken(token, { data, trustedCertificatesPem: [otherCaPem, caPem] })).valid).toBe(true);
    const garbled = await verifyTimeStampToken(token, { data, trustedCertificatesPem: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] });
    expect(garbled.checks.chain).toBe('failed');
    expect(garbled.reason).toMatch(/trusted certificate 1 cannot be read/);
  });

  it('fails on the signature when a byte of the signature, the TSTInfo or the signed attributes is flipped, as openssl does', async () => {
    const data = randomBytes(64);
    const token = await stampToken(data);
    const { genTime } = readTimeStampToken(token);

    // The signature value is the token's last field (openssl adds no unsigned attributes).
    const signature = Buffer.from(token);
    signature[signature.length - 1] ^= 0x01;
    // TSTInfo genTime moved a second (or a minute) later: still a valid time, still our imprint,
    // and never earlier, which would put it before the authority certificate made just now.
    const tstInfo = Buffer.from(token);
    const genTimeAt = tstInfo.indexOf(Buffer.concat([Buffer.from([0x18, genTime.length]), Buffer.from(genTime, 'latin1')]));
    expect(genTimeAt).toBeGreaterThan(0);
    // Seconds units, seconds tens, minutes units, minutes tens: the first that can grow stays a valid time.
    const later = ([[13, 0x39], [12, 0x35], [11, 0x39], [10, 0x35]] as const).map(([digit, max]) => [genTimeAt + 2 + digit, max] as const).find(([at, max]) => tstInfo[at]! < max);
    expect(later, `genTime ${genTime} has no digit that can grow`).toBeDefined();
    tstInfo[later![0]]! += 1;
    // The signingTime signed attribute (OID, SET, UTCTime "YYMMDDHHMMSSZ"), seconds digit.
    const attributes = Buffer.from(token);
    const signingTimeAt = attributes.indexOf(Buffer.from('06092a864886f70d010905310f170d', 'hex'));
    expect(signingTimeAt).toBeGreaterThan(0);
    attributes[signingTimeAt + 15 + 11] ^= 0x01;

    const cases: [string, Buffer, RegExp][] = [
      ['signature', signature, /^the authority's signature does not verify with the key of its certificate \(CN=Custodia Test TSA\)/],
      ['TSTInfo', tstInfo, /^the time-stamp content \(TSTInfo\) does not match the digest the authority signed/],
      ['signed attributes', attributes, /^the authority's signature does not verify with the key of its certificate/],
    ];
    for (const [label, mutated, reason] of cases) {
      const result = await verifyTimeStampToken(mutated, { data, trustedCertificatesPem: [caPem] });
      expect(result.valid, label).toBe(false);
      expect(result.checks, label).toEqual(checksExcept({ signature: 'failed' }));
      expect(result.reason, label).toMatch(reason);
      const theirs = await verifyWithOpenssl(data, mutated);
      expect(theirs.ok, label).toBe(false);
    }
  });

  it('fails on keyUsage for a signer certificate without exactly the critical timeStamping EKU (as openssl does), and on signingCertificate without ESS', async () => {
    const data = randomBytes(32);
    const tstInfo = await tstInfoOf(await stampToken(data));

    // The same fabrication with the real authority certificate passes: only the certificate differs below.
    const control = await signTstInfo(tstInfo, tsa.tsaPem, at('tsa.key'));
    const controlResult = await verifyTimeStampToken(control, { data, trustedCertificatesPem: [caPem] });
    expect(controlResult.reason).toBeUndefined();
    expect(controlResult.checks).toEqual(checksExcept({}));
    expect((await verifyWithOpenssl(data, control)).ok).toBe(true);
    // Without the ESS attribute nothing in the signature says which certificate is the signer's.
    const unnamed = await verifyTimeStampToken(await signTstInfo(tstInfo, tsa.tsaPem, at('tsa.key'), false), { data, trustedCertificatesPem: [caPem] });
    expect(unnamed.checks).toEqual(checksExcept({ signingCertificate: 'failed' }));
    expect(unnamed.reason).toMatch(/^the authority did not name its certificate in a signed attribute \(ESS signing-certificate\)/);

    const profiles: [string, RegExp][] = [
      ['no_eku', /^the signing certificate \(CN=Signer no_eku\) is not restricted to time-stamping: it has no extended key usage/],
      ['eku_not_critical', /^the time-stamping key usage of the signing certificate \(CN=Signer eku_not_critical\) is not marked critical/],
      ['eku_two_purposes', /^the signing certificate \(CN=Signer eku_two_purposes\) may be used for timeStamping, serverAuth, but RFC 3161 2.3 requires exactly time-stamping/],
    ];
    for (const [profile, reason] of profiles) {
      const signer = signers.get(profile)!;
      const token = await signTstInfo(tstInfo, signer.cert, signer.key);
      const result = await verifyTimeStampToken(token, { data, trustedCertificatesPem: [caPem] });
      expect(result.valid, profile).toBe(false);
      expect(result.checks, profile).toEqual(checksExcept({ keyUsage: 'failed' }));
      expect(result.reason, profile).toMatch(reason);
      const theirs = await verifyWithOpenssl(data, token, tsa.caPem, signer.cert);
      expect(theirs.ok, profile).toBe(false);
      expect(theirs.output, profile).toMatch(/unsuitable certificate purpose/);
    }
  });

  it('fails on validity when genTime lies outside the signer certificate, and then on the chain too', async () => {
    const data = randomBytes(32);
    const token = await stampToken(data);
    const { genTime } = readTimeStampToken(token);
    const tstInfo = await tstInfoOf(token);
    const at2020 = Buffer.from(tstInfo);
    const genTimeAt = at2020.indexOf(Buffer.from(genTime, 'latin1'));
    at2020.write('2020', genTimeAt, 'latin1');
    const backdated = await signTstInfo(at2020, tsa.tsaPem, at('tsa.key'));

    const result = await verifyTimeStampToken(backdated, { data, trustedCertificatesPem: [caPem] });
    expect(result.genTime).toBe('2020' + genTime.slice(4));
    expect(result.checks).toEqual(checksExcept({ validity: 'failed', chain: 'failed' }));
    expect(result.reason).toMatch(/^the signing certificate \(CN=Custodia Test TSA\) was not valid at the time stamped \(2020-/);
  });

  it('looks for the signer among the trusted certificates when the token carries none', async () => {
    const data = randomBytes(32);
    const token = await stampWithOpensslQuery(data, ['-sha256']);
    expect(readTimeStampToken(token)).toMatchObject({ certificates: 0, signer: null });

    const alone = await verifyTimeStampToken(token, { data });
    expect(alone.valid).toBe(false);
    expect(alone.checks).toEqual({ ...checksExcept({ signature: 'failed' }), keyUsage: 'not_checked', signingCertificate: 'not_checked', validity: 'not_checked', chain: 'not_checked' });
    expect(alone.reason).toMatch(/carries no certificate and no trusted certificate belongs to the key that signed it/);
    const wrongAnchor = await verifyTimeStampToken(token, { data, trustedCertificatesPem: [caPem] });
    expect(wrongAnchor.checks.signature).toBe('failed');

    const trusted = await verifyTimeStampToken(token, { data, trustedCertificatesPem: [tsaPem] });
    expect(trusted.reason).toBeUndefined();
    expect(trusted.checks).toEqual(checksExcept({}));
    expect(trusted.signer?.subject).toBe('CN=Custodia Test TSA');
  });

  it('never throws: truncated, garbage and corrupted tokens give valid:false with a reason', async () => {
    const data = randomBytes(32);
    const token = await stampToken(data);
    const original = readTimeStampToken(token);
    const problems: string[] = [];
    const expectRefused = (result: TimestampVerification, label: string) => {
      if (result.valid || !result.reason || result.checks.structure !== 'failed') problems.push(`${label}: ${JSON.stringify(result)}`);
    };

    for (let length = 0; length < token.length; length++) {
      expectRefused(await verifyTimeStampToken(token.subarray(0, length), { data }), `truncated to ${length}`);
    }
    for (let i = 0; i < 300; i++) expectRefused(await verifyTimeStampToken(randomBytes(1 + (i % 200)), { data }), `random #${i}`);
    for (let i = 0; i < 100; i++) {
      expectRefused(await verifyTimeStampToken(Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), randomBytes(256)]), { data }), `random sequence #${i}`);
    }
    for (const input of [null, undefined, 'a string', 42, {}]) {
      expectRefused(await verifyTimeStampToken(input as unknown as Buffer, { data }), `input ${String(input)}`);
    }

    // Corruptions anywhere: some bytes (the CA certificate's, say) are not covered by any check,
    // but whatever still verifies must attest exactly what the original did.
    for (let offset = 0; offset < token.length; offset += 3) {
      const mutated = Buffer.from(token);
      mutated[offset] ^= [0x01, 0x80, 0xff][offset % 3];
      let result: TimestampVerification;
      try {
        result = await verifyTimeStampToken(mutated, { data, trustedCertificatesPem: [caPem] });
      } catch (error) {
        problems.push(`byte ${offset}: threw ${String(error)}`);
        continue;
      }
      if (!result.valid && !result.reason) problems.push(`byte ${offset}: invalid without a reason`);
      if (result.valid && (result.genTime !== original.genTime || result.serialNumber !== original.serialNumber || result.signer?.subject !== original.signer?.subject)) {
        problems.push(`byte ${offset}: valid but attests something else`);
      }
    }
    expect(problems).toEqual([]);
  });
});
