import { createHash, randomBytes } from 'node:crypto';
import { MAX_RESPONSE_BYTES, SHA256_OID, TimestampError } from './errors.js';
import { STATUS_NAMES, buildTimeStampRequest, parseTimeStampResponse, type TimeStampResponse } from './protocol.js';
import { readCertificatesPem, readTimeStampToken, verifyTimeStampToken, type TimeStampTokenInfo } from './token.js';

const DEFAULT_TIMEOUT_MS = 10_000;

export interface TimestampAuthorityOptions {
  /** For the whole exchange, response body included; default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Default MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  /** The authority's root certificate(s), PEM: tokens must then chain to one of them, not just be self-consistent. */
  trustedCertificatesPem?: string[];
}

/**
 * An RFC 3161 authority reached over HTTP(S), e.g. the one CUSTODIA_TSA_URL names. Every token it
 * returns is verified before it is kept: a token that would not convince a court expert later is
 * better refused (and the head left unstamped) than stored.
 */
export class TimestampAuthority {
  private readonly url: URL;
  /** The URL without credentials or query, safe for error messages and logs. */
  private readonly label: string;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly fetchImpl: typeof fetch;
  /** From user:password in the URL; fetch refuses URLs with credentials, and commercial authorities often want Basic auth. */
  private readonly authorization: string | undefined;
  private readonly trustedCertificatesPem: string[] | undefined;

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
    if (opts.trustedCertificatesPem?.length) {
      // Read now, so a bad configuration fails at start rather than on every stamp.
      readCertificatesPem(opts.trustedCertificatesPem);
      this.trustedCertificatesPem = [...opts.trustedCertificatesPem];
    }
  }

  /** Has the authority time-stamp SHA-256(data); returns the TimeStampToken DER only after it verified. */
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

    // Imprint and nonce first, with the exact values in the message: these are the usual faults of a
    // misbehaving or caching authority. Verification then covers signature, certificate and chain.
    let imprint: TimeStampTokenInfo;
    try {
      imprint = readTimeStampToken(response.token);
    } catch (error) {
      throw this.error(`sent an unreadable token: ${(error as Error).message}`, error);
    }
    if (imprint.hashOid !== SHA256_OID) throw this.error(`stamped a ${imprint.hashOid} imprint, not the SHA-256 we asked for`);
    if (!imprint.hashedMessage.equals(digest)) {
      throw this.error(`stamped the wrong imprint: ${imprint.hashedMessage.toString('hex')} instead of our ${digest.toString('hex')}`);
    }
    if (imprint.nonce === undefined) throw this.error('sent a token without our nonce');
    if (imprint.nonce !== nonce) throw this.error(`sent a token with nonce ${imprint.nonce.toString(16)} instead of our ${nonce.toString(16)}`);

    const verification = await verifyTimeStampToken(response.token, { digest, nonce, trustedCertificatesPem: this.trustedCertificatesPem });
    if (!verification.valid) throw this.error(`sent a token that fails verification: ${verification.reason}`);
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
