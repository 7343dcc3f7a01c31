import path from 'node:path';
import { ConfigError, setting, withEnvironmentFile } from '#custodia/config';
import { apiBase } from '#custodia/verifier';
import { fileProblem } from './failures.js';

/** What reading the archive's address and token needs of the CLI's surroundings. */
export interface AccessIo {
  env: Record<string, string | undefined>;
  cwd: string;
  readFile: (file: string) => Promise<string>;
}

/** The archive the CLI talks to, and the token it holds for it, where set. */
export interface ArchiveAccess {
  baseUrl: string | undefined;
  token: string | undefined;
  /** The configuration file the settings came from; null: the environment. */
  file: string | null;
}

/**
 * CUSTODIA_URL and CUSTODIA_TOKEN (or CUSTODIA_TOKEN_FILE), from the environment or the
 * configuration file; blank ones unset. A token file that cannot be read, or holds none, is said
 * with the variable that names it.
 */
export async function archiveAccess(io: AccessIo): Promise<ArchiveAccess> {
  const { env, file } = withEnvironmentFile(io.env, io.cwd);
  const tokenFile = setting(env, 'CUSTODIA_TOKEN_FILE');
  let token = setting(env, 'CUSTODIA_TOKEN');
  if (tokenFile) {
    const where = path.resolve(io.cwd, tokenFile);
    try {
      token = (await io.readFile(where)).trim();
    } catch (error) {
      throw new ConfigError('CUSTODIA_TOKEN_FILE', `names ${where}, which cannot be read (${fileProblem(error)})`);
    }
    if (!token) throw new ConfigError('CUSTODIA_TOKEN_FILE', `names ${where}, which is empty`);
  }
  return { baseUrl: setting(env, 'CUSTODIA_URL'), token, file: file ?? null };
}

/**
 * A fetch for another address the person typed (`verify --against`) that sends the token only
 * where that address is the archive CUSTODIA_URL names (same scheme, host and port), so it never
 * goes to a server the token was not made for. An answer of 401 says how to be let in.
 */
export function fetchFor(address: string, access: ArchiveAccess, fetchImpl: typeof fetch): typeof fetch {
  const own = access.token !== undefined && access.baseUrl !== undefined && sameOrigin(access.baseUrl, address);
  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    if (own) headers.set('Authorization', `Bearer ${access.token}`);
    const response = await fetchImpl(input, { ...init, headers });
    if (response.status === 401) {
      await response.body?.cancel();
      const message = own
        ? `${address} refused the token in ${access.file ?? 'the environment'} (HTTP 401): it was revoked, expired, or is for another archive`
        : `${address} shows its log only to signed-in readers (HTTP 401): set CUSTODIA_URL to that archive and CUSTODIA_TOKEN or CUSTODIA_TOKEN_FILE, and the token is sent to it alone; or give --against a tree-head.json saved from it`;
      // The status stays on the error: a lookup that may be refused (the log's events) says so instead of failing.
      throw Object.assign(new Error(message), { status: 401 });
    }
    return response;
  }) as typeof fetch;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return apiBase(a).origin === apiBase(b).origin;
  } catch {
    return false;
  }
}
