import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TSA_CONFIG, openssl, startLocalTsa, type LocalTsa } from '../../../test/support/tsa/local-tsa.js';
import {
  MAX_RESPONSE_BYTES,
  SHA256_OID,
  TimestampAuthority,
  TimestampError,
  buildTimeStampRequest,
  parseTimeStampResponse,
  readTimeStampToken,
  verifyTimeStampToken,
} from './index.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/** What `openssl ts -query -text` (or `-reply -text`) prints, as fields we compare. */
interface OpensslText {
  hashAlgorithm?: string;
  messageData: string;
  nonce?: bigint;
  certReq?: string;
  timeStamp?: string;
}

function readOpensslText(text: string): OpensslText {
  const out: OpensslText = { messageData: '' };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const field = /^([A-Za-z ]+): ?(.*)$/.exec(line);
    if (!field) continue;
    const [, name, value] = field;
    if (name === 'Hash Algorithm') out.hashAlgorithm = value.trim();
    if (name === 'Nonce' && value.trim() !== 'unspecified') out.nonce = BigInt(value.trim().replace(/\s|:/g, ''));
    if (name === 'Certificate required') out.certReq = value.trim();
    if (name === 'Time stamp') out.timeStamp = value.trim();
    if (name === 'Message data') {
      // Hex dump lines: "    0000 - 58 91 b5 b5 22 d5 df 08-6d 0f ...   X...".
      for (let j = i + 1; j < lines.length; j++) {
        const dump = /^\s+[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){0,15}[0-9a-f]{2})/.exec(lines[j]);
        if (!dump) break;
        out.messageData += dump[1].replace(/[ -]/g, '');
      }
    }
  }
  return out;
}

/** Expects `fn` to fail with our own error class and a message matching `pattern`. */
async function expectTimestampError(fn: () => unknown, pattern: RegExp): Promise<TimestampError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a TimestampError').toBeInstanceOf(TimestampError);
  expect((caught as Error).message).toMatch(pattern);
  return caught as TimestampError;
}

/** Parses a reply and the token inside, as stamp() would; only TimestampError may escape. */
function parseAll(der: Buffer): void {
  const response = parseTimeStampResponse(der);
  if (response.token) readTimeStampToken(response.token);
}

describe('RFC 3161 time-stamping against a local openssl authority', () => {
  let tsa: LocalTsa;
  let client: TimestampAuthority;

  beforeAll(async () => {
    tsa = await startLocalTsa();
    client = new TimestampAuthority(tsa.url);
  });
  afterAll(async () => {
    await tsa?.close();
  });
  afterEach(() => {
    tsa.intercept = undefined;
  });

  /** A real granted reply from openssl for a query we build, with the token openssl extracts from it. */
  async function grantedReply(data = randomBytes(40), nonce: bigint = 0x1234_5678_9abc_def0n) {
    const reply = await tsa.reply(buildTimeStampRequest(sha256(data), nonce));
    const replyFile = await tsa.writeTemp('granted.tsr', reply);
    const tokenFile = replyFile.replace(/\.tsr$/, '.tst');
    await openssl(['ts', '-reply', '-in', replyFile, '-token_out', '-out', tokenFile]);
    const { stdout: tokenText } = await openssl(['ts', '-reply', '-in', tokenFile, '-token_in', '-text']);
    return { data, nonce, reply, token: await readFile(tokenFile), tokenText: tokenText.toString('utf8') };
  }

  async function verifyWithOpenssl(data: Buffer, token: Buffer): Promise<{ ok: boolean; output: string }> {
    const dataFile = await tsa.writeTemp('data.bin', data);
    const tokenFile = await tsa.writeTemp('token.tst', token);
    try {
      const { stdout } = await openssl(['ts', '-verify', '-data', dataFile, '-in', tokenFile, '-token_in', '-CAfile', tsa.caPem, '-untrusted', tsa.tsaPem]);
      return { ok: true, output: stdout.toString('utf8') };
    } catch (error) {
      return { ok: false, output: (error as Error).message };
    }
  }

  describe('buildTimeStampRequest', () => {
    it('encodes byte for byte what `openssl ts -query` itself produces for the same digest and nonce', async () => {
      // openssl picks a random 64-bit nonce each time, so the samples differ in length and padding.
      for (let i = 0; i < 12; i++) {
        const digest = sha256(randomBytes(16));
        const theirs = (await openssl(['ts', '-query', '-digest', digest.toString('hex'), '-sha256', '-cert'])).stdout;
        const file = await tsa.writeTemp('theirs.tsq', theirs);
        const text = readOpensslText((await openssl(['ts', '-query', '-in', file, '-text'])).stdout.toString('utf8'));
        expect(text.nonce).toBeDefined();
        expect(buildTimeStampRequest(digest, text.nonce!).toString('hex')).toBe(theirs.toString('hex'));
      }
    });

    it.each([
      ['1', 1n],
      ['127 (one byte)', 127n],
      ['128 (needs a 0x00 pad)', 128n],
      ['255', 255n],
      ['256', 256n],
      ['2^64 - 1', 2n ** 64n - 1n],
      ['a buffer with leading zero bytes', Buffer.from('0000000000ab', 'hex')],
      ['a 130-byte buffer (long-form length 0x81)', Buffer.concat([Buffer.from([0x9c]), randomBytes(129)])],
      ['a 300-byte buffer (long-form length 0x82)', Buffer.concat([Buffer.from([0x5a]), randomBytes(299)])],
    ])('openssl reads back sha256, our digest and nonce %s', async (_label, nonce) => {
      const digest = sha256(randomBytes(64));
      const request = buildTimeStampRequest(digest, nonce);
      const file = await tsa.writeTemp('ours.tsq', request);
      const { stdout } = await openssl(['ts', '-query', '-in', file, '-text']);
      const text = readOpensslText(stdout.toString('utf8'));
      const expectedNonce = typeof nonce === 'bigint' ? nonce : BigInt('0x' + nonce.toString('hex'));
      expect(text.hashAlgorithm).toBe('sha256');
      expect(text.messageData).toBe(digest.toString('hex'));
      expect(text.nonce).toBe(expectedNonce);
      expect(text.certReq).toBe('yes');
      // openssl is lenient about some non-DER; our own strict reader checks the lengths are minimal too.
      expect(() => parseLengthsStrictly(request)).not.toThrow();
    });

    it('refuses digests that are not 32 bytes and nonces that are not positive or absurdly long', async () => {
      await expectTimestampError(() => buildTimeStampRequest(Buffer.alloc(20), 1n), /32-byte/);
      await expectTimestampError(() => buildTimeStampRequest(Buffer.alloc(33), 1n), /32-byte/);
      await expectTimestampError(() => buildTimeStampRequest(Buffer.alloc(32), 0n), /positive/);
      await expectTimestampError(() => buildTimeStampRequest(Buffer.alloc(32), -5n), /positive/);
      await expectTimestampError(() => buildTimeStampRequest(Buffer.alloc(32), Buffer.alloc(8)), /positive/);
      await expectTimestampError(() => buildTimeStampRequest(Buffer.alloc(32), Buffer.alloc(2000, 1)), /longer than/);
    });
  });

  describe('stamping through the local authority', () => {
    it('returns a token that `openssl ts -verify` accepts for our data, and only for our data', async () => {
      const data = Buffer.from('{"treeSize":42,"rootHash":"ab…"}');
      const before = tsa.received.length;
      const token = await client.stamp(data);

      expect(tsa.received.length).toBe(before + 1);
      expect(tsa.received[before].contentType).toBe('application/timestamp-query');
      expect(tsa.received[before].authorization).toBeUndefined();
      const verified = await verifyWithOpenssl(data, token);
      expect(verified.output).toMatch(/Verification: OK/);
      expect(verified.ok).toBe(true);
      const other = await verifyWithOpenssl(Buffer.from('another head'), token);
      expect(other.ok).toBe(false);
      expect(other.output).toMatch(/message imprint mismatch/);
    });

    it('reads the same imprint, nonce and time from a token as openssl does', async () => {
      const { data, nonce, token, tokenText } = await grantedReply();
      const ours = readTimeStampToken(token);
      const theirs = readOpensslText(tokenText);
      expect(ours.hashOid).toBe(SHA256_OID);
      expect(ours.hashedMessage.toString('hex')).toBe(sha256(data).toString('hex'));
      expect(theirs.messageData).toBe(sha256(data).toString('hex'));
      expect(ours.nonce).toBe(nonce);
      expect(theirs.nonce).toBe(nonce);
      // openssl prints "Nov 24 22:09:58 2026 GMT"; ours is the raw GeneralizedTime "20261124220958Z".
      const g = ours.genTime!;
      expect(g).toMatch(/^\d{14}Z$/);
      const asDate = new Date(`${g.slice(0, 4)}-${g.slice(4, 6)}-${g.slice(6, 8)}T${g.slice(8, 10)}:${g.slice(10, 12)}:${g.slice(12, 14)}Z`);
      expect(asDate.getTime()).toBe(new Date(theirs.timeStamp!.replace(' GMT', ' UTC')).getTime());
      expect(Math.abs(asDate.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    });

    it('hands back exactly the token bytes that `openssl ts -reply -token_out` extracts', async () => {
      const { reply, token } = await grantedReply();
      const parsed = parseTimeStampResponse(reply);
      expect(parsed.status).toBe(0);
      expect(parsed.token?.toString('hex')).toBe(token.toString('hex'));
    });

    it('sends credentials from the URL as HTTP Basic auth, and keeps them out of error messages', async () => {
      const url = new URL(tsa.url);
      url.username = 'custodia';
      url.password = 'p%40ss:word';
      const authed = new TimestampAuthority(url.toString());
      const before = tsa.received.length;
      const token = await authed.stamp(Buffer.from('with auth'));
      expect(readTimeStampToken(token).hashedMessage.equals(sha256(Buffer.from('with auth')))).toBe(true);
      expect(tsa.received[before].authorization).toBe(`Basic ${Buffer.from('custodia:p@ss:word').toString('base64')}`);

      tsa.intercept = (_query, res) => {
        res.writeHead(500).end();
        return true;
      };
      const error = await expectTimestampError(() => authed.stamp(Buffer.from('x')), /answered HTTP 500/);
      expect(error.message).not.toMatch(/custodia|p%40ss|p@ss/);
    });

    it('handles several stamps at once, each with its own verified token', async () => {
      const inputs = Array.from({ length: 5 }, (_, i) => Buffer.from(`head ${i} ${randomBytes(4).toString('hex')}`));
      const tokens = await Promise.all(inputs.map((data) => client.stamp(data)));
      for (let i = 0; i < inputs.length; i++) {
        expect(readTimeStampToken(tokens[i]).hashedMessage.equals(sha256(inputs[i]))).toBe(true);
        expect((await verifyWithOpenssl(inputs[i], tokens[i])).ok).toBe(true);
      }
    });

    it('accepts status 1 (grantedWithMods) with a matching token', async () => {
      tsa.intercept = async (query, res, self) => {
        const reply = await self.reply(query);
        // PKIStatusInfo is 30 03 02 01 00 right after the outer header; flip the status to 1.
        const at = reply.indexOf(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]));
        expect(at).toBeGreaterThan(0);
        reply[at + 4] = 1;
        res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' }).end(reply);
        return true;
      };
      const data = randomBytes(10);
      const token = await client.stamp(data);
      expect((await verifyWithOpenssl(data, token)).ok).toBe(true);
    });
  });

  describe('verifying every token it receives', () => {
    it('refuses a response whose token fails verification, naming why', async () => {
      tsa.intercept = async (query, res, self) => {
        const reply = await self.reply(query);
        // The token ends the reply and the signature ends the token: this breaks only the signature.
        reply[reply.length - 1] ^= 0x01;
        res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' }).end(reply);
        return true;
      };
      await expectTimestampError(
        () => client.stamp(Buffer.from('x')),
        /sent a token that fails verification: the authority's signature does not verify with the key of its certificate \(CN=Custodia Test TSA\)/,
      );
    });

    it('checks the chain when given the authority root, and refuses a token that does not lead to it', async () => {
      const caPem = await readFile(tsa.caPem, 'utf8');
      const anchored = new TimestampAuthority(tsa.url, { trustedCertificatesPem: [caPem] });
      const data = Buffer.from('anchored head');
      const token = await anchored.stamp(data);
      const verified = await verifyTimeStampToken(token, { data, trustedCertificatesPem: [caPem] });
      expect(verified).toMatchObject({ valid: true, chainChecked: true });

      const otherCa = path.join(tsa.dir, 'client-other-ca.pem');
      const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
      await openssl(['req', '-x509', '-new', ...ec, '-keyout', path.join(tsa.dir, 'client-other-ca.key'), '-out', otherCa, '-subj', '/CN=Some Other Root', '-days', '2', '-config', TSA_CONFIG, '-extensions', 'ca_ext'], tsa.dir);
      const elsewhere = new TimestampAuthority(tsa.url, { trustedCertificatesPem: [await readFile(otherCa, 'utf8')] });
      await expectTimestampError(
        () => elsewhere.stamp(data),
        /sent a token that fails verification: the signing certificate \(CN=Custodia Test TSA\) does not lead to any of the trusted certificates/,
      );
      await expectTimestampError(() => new TimestampAuthority(tsa.url, { trustedCertificatesPem: ['not a certificate'] }), /trusted certificate 1 cannot be read/);
    });
  });

  describe('refusing bad answers', () => {
    const answerWith = (body: Buffer, status = 200, contentType = 'application/timestamp-reply') => {
      tsa.intercept = (_query, res) => {
        res.writeHead(status, { 'Content-Type': contentType }).end(body);
        return true;
      };
    };

    it('refuses a hand-crafted rejection and reports its status, text and failure bits', async () => {
      const text = Buffer.from('policy not accepted');
      // TimeStampResp { PKIStatusInfo { status 2, statusString { UTF8String }, failInfo BIT STRING bit 15 } }
      const freeText = Buffer.concat([Buffer.from([0x30, text.length + 2, 0x0c, text.length]), text]);
      const failInfo = Buffer.from([0x03, 0x03, 0x00, 0x00, 0x01]);
      const statusInfo = Buffer.concat([Buffer.from([0x30, 3 + freeText.length + failInfo.length, 0x02, 0x01, 0x02]), freeText, failInfo]);
      const rejection = Buffer.concat([Buffer.from([0x30, statusInfo.length]), statusInfo]);

      expect(parseTimeStampResponse(rejection)).toEqual({ status: 2, statusText: 'policy not accepted', failInfo: ['unacceptedPolicy'], token: null });
      answerWith(rejection);
      await expectTimestampError(() => client.stamp(Buffer.from('x')), /status 2 \(rejection\): "policy not accepted" \[unacceptedPolicy\]/);
    });

    it("refuses openssl's own rejection (a SHA-1 query, which this authority does not accept)", async () => {
      const { stdout: sha1Query } = await openssl(['ts', '-query', '-digest', 'aa'.repeat(20), '-sha1']);
      tsa.intercept = async (_query, res, self) => {
        res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' }).end(await self.reply(sha1Query));
        return true;
      };
      await expectTimestampError(() => client.stamp(Buffer.from('x')), /status 2 \(rejection\): "Message digest algorithm is not supported\." \[badAlg\]/);
    });

    it('refuses a genuine token for another digest, even with our nonce', async () => {
      const data = Buffer.from('the head we want stamped');
      const ours = sha256(data);
      tsa.intercept = async (query, res, self) => {
        const at = query.indexOf(ours);
        expect(at).toBeGreaterThan(0);
        const swapped = Buffer.from(query);
        sha256(Buffer.from('some other head')).copy(swapped, at);
        res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' }).end(await self.reply(swapped));
        return true;
      };
      await expectTimestampError(() => client.stamp(data), new RegExp(`wrong imprint: [0-9a-f]{64} instead of our ${ours.toString('hex')}`));
    });

    it('refuses a genuine token for our digest with a different nonce, or with none', async () => {
      const data = Buffer.from('replayed?');
      for (const extra of [[], ['-no_nonce']]) {
        const { stdout: otherQuery } = await openssl(['ts', '-query', '-digest', sha256(data).toString('hex'), '-sha256', '-cert', ...extra]);
        tsa.intercept = async (_query, res, self) => {
          res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' }).end(await self.reply(otherQuery));
          return true;
        };
        await expectTimestampError(() => client.stamp(data), extra.length ? /without our nonce/ : /with nonce [0-9a-f]+ instead of our/);
      }
    });

    it('refuses a granted status without a token', async () => {
      answerWith(Buffer.from('30053003020100', 'hex'));
      await expectTimestampError(() => client.stamp(Buffer.from('x')), /granted the request \(status 0\) but sent no token/);
    });

    it('gives a clear error for every truncation of a real reply', async () => {
      const { reply } = await grantedReply();
      for (let length = 0; length < reply.length; length++) {
        await expectTimestampError(() => parseAll(reply.subarray(0, length)), /^malformed time-stamp (response|token): /);
      }
      answerWith(reply.subarray(0, reply.length - 7));
      await expectTimestampError(() => client.stamp(Buffer.from('x')), /unreadable reply .*claims more bytes than remain \(truncated\)/);
    });

    it('gives a clear error for hostile encodings', async () => {
      const cases: [string, string, RegExp][] = [
        ['empty', '', /TimeStampResp is empty/],
        ['wrong outer tag', '31053003020100', /TimeStampResp is a SET, expected a SEQUENCE/],
        ['indefinite length', '3080300302010000000000', /indefinite length, which DER forbids/],
        ['4 GiB length', '3084ffffffff300302010000', /claims a length beyond the 65536-byte limit/],
        ['9-byte length', '3089010000000000000000', /impossibly large length/],
        ['non-minimal long length', '3081053003020100', /not valid DER: Unnecessary usage of long length form/],
        ['non-minimal length with a zero byte', '308200053003020100', /not valid DER: Needlessly long encoded length/],
        ['non-minimal status INTEGER', '3006300402020000', /INTEGER at depth 2\) is not valid DER: Needlessly long format/],
        ['empty status INTEGER', '300430020200', /INTEGER at depth 2\) is empty/],
        ['multi-byte tag', '1f8101', /could not be decoded: it ends inside an element \(truncated\)/],
        ['trailing bytes', '30053003020100' + 'ff', /1 unexpected byte\(s\) after TimeStampResp/],
        ['trailing element in PKIStatusInfo', '3007300502010005' + '00', /unexpected element\(s\) after PKIStatusInfo's fields/],
        ['huge status', '300b3009020700ffffffffffff', /PKIStatus 281474976710655 is out of range/],
        ['status beyond the six RFC 3161 values', '3005300302010a', /PKIStatus 10 is out of range/],
        ['status string not UTF8String', '300a30080201023003130141', /PKIFreeText line is a PrintableString, expected a UTF8String/],
        ['token of the wrong kind', '300b300302010006042a030405', /TimeStampToken is an OBJECT IDENTIFIER, expected a SEQUENCE/],
        ['BOOLEAN not DER', '300830060201000101' + '01', /BOOLEAN not encoded as 00 or FF/],
      ];
      for (const [label, hex, pattern] of cases) {
        const error = await expectTimestampError(() => parseAll(Buffer.from(hex, 'hex')), pattern).catch((e: Error) => {
          throw new Error(`${label}: ${e.message}`);
        });
        expect(error.message, label).toMatch(/^malformed time-stamp response: /);
      }
      // Inside the token: contentType is not SignedData, or not an OID at all.
      await expectTimestampError(() => readTimeStampToken(Buffer.from('300d06092a864886f70d010701a000', 'hex')), /not CMS SignedData/);
      await expectTimestampError(() => readTimeStampToken(Buffer.from('3003020100', 'hex')), /ContentInfo contentType is an INTEGER, expected an OBJECT IDENTIFIER/);
    });

    it('never lets anything but a TimestampError escape from random garbage or single-byte corruptions', async () => {
      const html = Buffer.from('<html><body>Service Unavailable</body></html>');
      answerWith(html, 200, 'text/html');
      await expectTimestampError(() => client.stamp(Buffer.from('x')), new RegExp(`unreadable reply \\(${html.length} bytes, Content-Type text/html\\): malformed time-stamp response: `));

      const { reply } = await grantedReply();
      const wrong: string[] = [];
      const check = (input: Buffer, label: string) => {
        try {
          parseAll(input);
        } catch (error) {
          if (!(error instanceof TimestampError) || !/^malformed time-stamp (response|token): /.test(error.message)) wrong.push(`${label}: ${String(error)}`);
        }
      };
      for (let i = 0; i < 2000; i++) check(randomBytes(1 + (i % 300)), `random #${i}`);
      for (let i = 0; i < 200; i++) check(Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), randomBytes(256)]), `random sequence #${i}`);
      // Bytes of a real reply, each set to one of four values in turn: every byte of the headers, TSTInfo,
      // signer info and signature, every fifth inside the certificates (pkijs reads slowly; all took 35 s).
      const certificatesEnd = reply.length - 320;
      for (let at = 0; at < reply.length; at += at >= 256 && at < certificatesEnd ? 5 : 1) {
        // Lets the event loop notice closed keep-alive sockets, or the next test's request meets ECONNRESET.
        if (at % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
        const value = [0x00, 0x80, 0xff, reply[at] ^ 0x01][at % 4];
        const mutated = Buffer.from(reply);
        mutated[at] = value;
        check(mutated, `byte ${at} = ${value}`);
      }
      expect(wrong).toEqual([]);
    });

    it('refuses oversized replies, with or without a Content-Length', async () => {
      const big = Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x30);
      answerWith(big);
      await expectTimestampError(() => client.stamp(Buffer.from('x')), new RegExp(`larger than ${MAX_RESPONSE_BYTES} bytes`));

      tsa.intercept = (_query, res) => {
        // No Content-Length: chunked, so only counting while reading can catch it.
        res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' });
        for (let i = 0; i < 80; i++) res.write(Buffer.alloc(1024, 0x30));
        res.end();
        return true;
      };
      await expectTimestampError(() => client.stamp(Buffer.from('x')), new RegExp(`larger than ${MAX_RESPONSE_BYTES} bytes`));

      // And a lower limit chosen by the caller applies to a real, otherwise valid reply.
      const strict = new TimestampAuthority(tsa.url, { maxResponseBytes: 200 });
      await expectTimestampError(() => strict.stamp(Buffer.from('x')), /larger than 200 bytes/);
    });

    it('reports HTTP errors by status', async () => {
      answerWith(Buffer.from('oops'), 503, 'text/plain');
      await expectTimestampError(() => client.stamp(Buffer.from('x')), /answered HTTP 503 Service Unavailable/);
    });
  });

  describe('unreachable authorities', () => {
    let silent: Server;
    let silentUrl: string;

    beforeAll(async () => {
      // Accepts the request and never answers, like a black-holed authority.
      silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/tsr`;
    });
    afterAll(async () => {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('times out against an authority that never answers', async () => {
      const started = Date.now();
      await expectTimestampError(() => new TimestampAuthority(silentUrl, { timeoutMs: 300 }).stamp(Buffer.from('x')), /did not answer within 300 ms/);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2_000);
    });

    it('times out when the reply stalls halfway', async () => {
      tsa.intercept = (_query, res) => {
        res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' });
        res.write(Buffer.from([0x30, 0x82, 0x01, 0x00]));
        return true; // and never end()
      };
      await expectTimestampError(() => new TimestampAuthority(tsa.url, { timeoutMs: 300 }).stamp(Buffer.from('x')), /did not answer within 300 ms/);
    });

    it('fails clearly when nothing listens on the port', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const error = await expectTimestampError(
        () => new TimestampAuthority(`http://user:secret@127.0.0.1:${port}/tsr?x=1`).stamp(Buffer.from('x')),
        new RegExp(`time-stamp authority http://127.0.0.1:${port}/tsr could not be reached: ECONNREFUSED`),
      );
      expect(error.message).not.toContain('secret');
    });

    it('refuses URLs that are not http or https', async () => {
      await expectTimestampError(() => new TimestampAuthority('ftp://tsa.example/'), /must be http or https/);
      await expectTimestampError(() => new TimestampAuthority('not a url'), /not a valid URL/);
    });
  });
});

/** Walks every TLV of `der` and fails on any non-minimal or inconsistent length (requests hold only SEQUENCEs and primitives). */
function parseLengthsStrictly(der: Buffer, start = 0, end = der.length): void {
  let pos = start;
  while (pos < end) {
    const tag = der[pos];
    let length = der[pos + 1];
    let header = 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4 || der[pos + 2] === 0) throw new Error(`bad length form at ${pos}`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + der[pos + 2 + i];
      if (length < 0x80) throw new Error(`non-minimal length at ${pos}`);
      header += count;
    }
    if (pos + header + length > end) throw new Error(`overrun at ${pos}`);
    if (tag === 0x30) parseLengthsStrictly(der, pos + header, pos + header + length);
    pos += header + length;
  }
}
