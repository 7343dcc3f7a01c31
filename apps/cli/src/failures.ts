/**
 * What went wrong, in a person's words. Node says a request failed as "fetch failed" and keeps
 * the reason (ECONNREFUSED, ENOTFOUND, a certificate refused) in `error.cause`; a file that is
 * not there as "ENOENT ... lstat". Whoever runs the CLI needs what failed, where, and what to
 * look at: one line each, said the same way for every request the CLI makes.
 */

/** A request that got no answer at all (an answer, even an error, is the caller's to word). */
export class UnreachableError extends Error {}

/** The setting a person corrects when the archive cannot be reached: `CUSTODIA_URL`, or `the --against address`. */
type Address = string;

interface Reason {
  reason: string;
  /** What to look at: the archive itself, the address, the network, or the certificate's issuer. */
  hint: 'running' | 'address' | 'online' | 'certificate' | 'protocol';
}

const CLOSED: Reason = { reason: 'the connection was closed before an answer', hint: 'running' };

/** Node's codes for a request that never got an answer, in words; null for one that is not a network failure. */
function reasonOf(code: string | undefined, message: string): Reason | null {
  switch (code) {
    case 'ECONNREFUSED':
      return { reason: 'connection refused', hint: 'running' };
    case 'ENOTFOUND':
      return { reason: 'no such host', hint: 'address' };
    case 'EAI_AGAIN':
      return { reason: 'its name could not be looked up', hint: 'online' };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return CLOSED;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'TimeoutError':
      return { reason: 'no answer in time', hint: 'running' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return { reason: 'no route to it', hint: 'online' };
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return { reason: 'it does not speak TLS there', hint: 'protocol' };
  }
  if (/CERT|ERR_TLS_|UNABLE_TO_(GET|VERIFY)/.test(code ?? '') || /certificate/i.test(message)) return { reason: `its certificate is refused: ${message}`, hint: 'certificate' };
  if (message === 'socket hang up') return CLOSED;
  if (message === 'unexpected redirect') return { reason: 'it answered with a redirect, which is not followed', hint: 'address' };
  return null;
}

const hints: Record<Reason['hint'], (address: Address) => string> = {
  running: (address) => `is the archive running, and is ${address} right?`,
  address: (address) => `is ${address} right?`,
  online: (address) => `is this computer online, and is ${address} right?`,
  certificate: (address) => `is ${address} right, and does this computer trust the certificate's issuer (a private one goes in NODE_EXTRA_CA_CERTS)?`,
  protocol: (address) => `does ${address} say https where the archive speaks http?`,
};

function unreachable(url: string, why: Reason, address: Address): UnreachableError {
  let where = url;
  try {
    where = new URL(url).origin;
  } catch {
    // Not a URL: named as given.
  }
  return new UnreachableError(`could not reach ${where} (${why.reason}): ${hints[why.hint](address)}`);
}

/** The reason a `fetch` rejected without an answer, from its cause (an AggregateError's first, when it tried several addresses). */
function fetchReason(error: unknown): Reason | null {
  if (!(error instanceof Error)) return null;
  if (error.name === 'TimeoutError') return reasonOf('TimeoutError', error.message);
  if (!(error instanceof TypeError) || error.message !== 'fetch failed') return null;
  const cause = error.cause as (Error & { code?: string; errors?: (Error & { code?: string })[] }) | undefined;
  const first = cause?.errors?.[0];
  const code = cause?.code ?? first?.code;
  const message = cause?.message || first?.message || '';
  return reasonOf(code, message) ?? { reason: message || code || 'no answer', hint: 'running' };
}

/**
 * `fetch` that rejects with an UnreachableError naming the address and the reason when a request
 * gets no answer; every other failure, and every answer, passes through as it is.
 */
export function reportingFetch(fetchImpl: typeof fetch, address: Address): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    try {
      return await fetchImpl(input, init);
    } catch (error) {
      const why = fetchReason(error);
      if (!why) throw error;
      throw unreachable(input instanceof Request ? input.url : String(input), why, address);
    }
  }) as typeof fetch;
}

/** tus-js-client's words for a request that got no answer: its causing error, then the request (response code n/a). */
const TUS_NO_ANSWER = /, caused by (?:\w*Error: )?(.*?), originated from request \(method: [A-Z]+, url: (\S+), response code: n\/a,/s;

/**
 * A file's upload failure as the archive's other failures are said, when tus-js-client gave up on
 * a request that got no answer (bulk-upload passes on only its message, so it is read from that);
 * any other failure as it is.
 */
export function uploadFailure(message: string, address: Address): string {
  const found = TUS_NO_ANSWER.exec(message);
  if (!found) return message;
  const [, cause, url] = found as unknown as [string, string, string];
  const why = reasonOf(/\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+|ERR_[A-Z0-9_]+)\b/.exec(cause)?.[1], cause);
  return why ? unreachable(url, why, address).message : message;
}

/** Why a file cannot be read, in words: "no such file", "permission denied", or Node's code. */
export function fileProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder';
    case 'ELOOP':
      return 'a loop of symbolic links';
    default:
      return code ?? (error as Error).message;
  }
}
