import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig, setting, type CustodiaConfig } from './config.js';

type Env = Record<string, string | undefined>;

/** The environment with a configuration file's variables under it, and where they came from. */
export interface EnvironmentWithFile {
  env: Env;
  /** The file read, or null when there was none. */
  file: string | null;
}

/**
 * The server and the CLI read the same configuration: the process environment, over the
 * variables of `CUSTODIA_ENV_FILE` (a path; an error when missing) or else of `.env` in the
 * working folder when there is one. A variable set in the environment wins over the file, as
 * with Node's --env-file, so an operator can override one setting for one command; one set but
 * empty does not, as it counts as unset everywhere (compose's `NAME: ${NAME}` of an unset NAME
 * must not hide the file's DATABASE_URL and point the process at another archive).
 */
export function withEnvironmentFile(env: Env, cwd: string): EnvironmentWithFile {
  const named = setting(env, 'CUSTODIA_ENV_FILE');
  const file = named ? path.resolve(cwd, named) : path.join(cwd, '.env');
  if (!existsSync(file)) {
    if (named) throw new ConfigError('CUSTODIA_ENV_FILE', `names ${file}, which does not exist`);
    return { env, file: null };
  }
  let parsed: Record<string, string>;
  try {
    parsed = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (error) {
    throw new ConfigError(named ? 'CUSTODIA_ENV_FILE' : '.env', `(${file}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const merged: Env = { ...parsed };
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (setting(env, name) !== undefined || merged[name] === undefined)) merged[name] = value;
  }
  return { env: merged, file };
}

/**
 * The configuration of a long-running process (the API, the worker): the environment over
 * CUSTODIA_ENV_FILE or ./.env, as the CLI reads it. A wrong value stops the process with the
 * variable's name and what is wrong, without a stack.
 */
export function loadConfigOrExit(env: Env = process.env, cwd = process.cwd()): CustodiaConfig {
  try {
    return loadConfig(withEnvironmentFile(env, cwd).env, cwd);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
