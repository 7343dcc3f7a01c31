import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { AUTH_ENTITIES, CLI_ACTOR, MIN_PASSWORD_LENGTH, ROLES, UsersService, type Role } from '#custodia/auth';
import { CASE_ENTITIES } from '#custodia/cases';
import { ConfigError, loadConfig, withEnvironmentFile, type CustodiaConfig } from '#custodia/config';
import { CustodyLog, replayLog, SigningKeys, UnknownSigningKey } from '#custodia/custody';
import { loadMasterKey } from '#custodia/keyring';
import { databaseStartFailure, hasEmbeddedCluster, openDatabase } from '#custodia/db';
import { createLogger } from '#custodia/logging';
import { prepareDataDirectory } from '#custodia/storage';
import { StartupError } from '#custodia/errors';
import { visibleText } from '#custodia/text';
import { UnreachableError } from './failures.js';
import { CLOSED_PIPE_EXIT, OutputClosed } from './output.js';
import { STORAGE_USAGE, storageCheck } from './storage-command.js';
import { UPLOAD_USAGE, uploadCommand } from './upload-command.js';
import { readTsaCertificates, UsageError, VERIFY_USAGE, verifyCommand } from './verify-command.js';

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The whole of standard input (for --password-stdin). */
  readStdin: () => Promise<string>;
  logger?: Logger;
  /** Standard error is a terminal: long commands draw progress there. */
  stderrIsTty?: boolean;
  /** Aborted by the first Ctrl-C of a command that stops gracefully (`upload`: writes its summary). */
  interrupt?: AbortSignal;
  /** Where `.env` is looked for; the process's working folder by default. */
  cwd?: string;
  /** Set by `--init`: create the archive when none exists (never implicitly). */
  init?: boolean;
}

const USAGE = `custodia <command>

  user create --email EMAIL --role ROLE [--display-name NAME] [--password-stdin]
      Creates an account. The password comes from standard input with --password-stdin,
      else from CUSTODIA_NEW_USER_PASSWORD (never from the command line, where ps shows it).
      ROLE is one of ${ROLES.join(', ')}.

  log verify [--tsa-cert FILE.pem]...
      Replays the whole custody log from the database: recomputes every leaf hash, every kept
      tree head's root and signature and every stored interior hash, and reports the first
      divergence. With --tsa-cert (the time-stamping authority's root or own certificate), also
      verifies every head's RFC 3161 time-stamp token and its chain to one of them. Exit code 0
      when the log is intact, 1 when it is not.

  key rotate [--compromised] [--reason TEXT]
      Retires the custody log's signing key and creates a new one; the old public key stays
      published so heads it signed still verify, and signs its handover to the new key. With
      --compromised (the key leaked, or may have), it signs nothing more and is marked
      compromised: verifiers trust nothing on its signature alone; tell those who pinned it the
      new key out of band.

  key compromised KEYID [--reason TEXT]
      Marks a key compromised after the fact: the active key is rotated as with --compromised;
      a retired key's handover is no longer followed by verifiers. The mark is never taken back.

  db migrate
      Creates or updates the archive's schema as CUSTODIA_MIGRATION_DATABASE_URL's role (the
      owner; else DATABASE_URL's) and grants DATABASE_URL's role the application's rights, then
      exits. Run it before instances started with DATABASE_URL alone, so that no API or worker
      holds the owner's password (docker/docker-compose.yml's migrate service does).

${STORAGE_USAGE}

${VERIFY_USAGE}

${UPLOAD_USAGE}

Except verify and upload, commands take the API's configuration: the environment over CUSTODIA_ENV_FILE, else
over ./.env (DATABASE_URL, CUSTODIA_DATA_DIR, ...), and say first which archive they use. They never
create an archive where none is: pass --init to do that. With the embedded database, the CLI uses
the server a running API started, or starts it.
`;


/** Runs one CLI command and returns the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  // --init may stand anywhere: it is about the archive, not about one command.
  const argv = args.filter((arg) => arg !== '--init');
  if (argv.length !== args.length) io = { ...io, init: true };
  const [group, command, ...rest] = argv;
  try {
    if (group === 'user' && command === 'create') return await userCreate(rest, io);
    if (group === 'log' && command === 'verify') return await logVerify(rest, io);
    if (group === 'key' && command === 'rotate') return await keyRotate(rest, io);
    if (group === 'key' && command === 'compromised') return await keyCompromised(rest, io);
    if (group === 'db' && command === 'migrate' && rest.length === 0) return await dbMigrate(io);
    if (group === 'storage' && command === 'check') return await storageCheckCommand(rest, io);
    const commandIo = {
      env: io.env,
      cwd: io.cwd ?? process.cwd(),
      stdout: io.stdout,
      stderr: io.stderr,
      progress: io.stderrIsTty ?? false,
      readFile: (file: string) => readFile(file, 'utf8'),
      ...(io.interrupt ? { interrupt: io.interrupt } : {}),
    };
    if (group === 'upload') return await uploadCommand(argv.slice(1), commandIo);
    if (group === 'verify') return await verifyCommand(argv.slice(1), commandIo);
    if (group === undefined || group === 'help' || group === '--help') {
      io.stdout(USAGE);
      return 0;
    }
    throw new UsageError(`Unknown command: ${argv.join(' ')}`);
  } catch (error) {
    // Whoever read standard output went away: nothing more to say, and no one to say it to.
    if (error instanceof OutputClosed) return CLOSED_PIPE_EXIT;
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) error = new UsageError((error as Error).message);
    // A message may quote a file name, a package's contents or a server's answer: shown inert.
    const message = visibleText(error instanceof Error ? error.message : String(error), true);
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr(`${message}\n\n${error instanceof UsageError ? USAGE : ''}`);
      return 2;
    }
    if (error instanceof StartupError) {
      io.stderr(`${message}\n`);
      return 1;
    }
    if (error instanceof UnreachableError) {
      io.stderr(`${message[0]!.toUpperCase()}${message.slice(1)}\n`);
      return 1;
    }
    // A database that cannot be reached or used, worded as the API's start words it.
    const database = databaseStartFailure(error);
    io.stderr(`Failed: ${database ? visibleText(database, true) : message}\n`);
    return 1;
  }
}

/** Where the command works, said before it does anything: the CLI never guesses silently. */
function describeArchive(config: CustodiaConfig, file: string | null): string {
  const settings = file ? `settings from ${file} and the environment` : 'settings from the environment';
  if (!config.databaseUrl) return `Archive: ${config.dataDir} (embedded PostgreSQL on port ${config.embeddedPostgresPort}; ${settings})`;
  const url = new URL(config.databaseUrl);
  if (url.password) url.password = '***';
  return `Archive: ${url.toString()} with data folder ${config.dataDir} (${settings})`;
}

async function withDatabase<T>(io: CliIo, work: (db: DataSource, config: CustodiaConfig) => Promise<T>): Promise<T> {
  const cwd = io.cwd ?? process.cwd();
  const { env, file } = withEnvironmentFile(io.env, cwd);
  const config = loadConfig(env, cwd);
  io.stderr(`${describeArchive(config, file)}\n`);
  const logger = io.logger ?? createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  // Refused before a folder is made: a mistyped CUSTODIA_DATA_DIR must not leave an empty archive behind.
  if (!config.databaseUrl && !io.init && !(await hasEmbeddedCluster(config.dataDir))) {
    throw new StartupError(
      `No archive in ${config.dataDir}. Give the CLI the server's settings (the same CUSTODIA_DATA_DIR or DATABASE_URL, e.g. in .env ` +
        `or CUSTODIA_ENV_FILE), or pass --init to create a new, empty archive there.`,
    );
  }
  if (!config.databaseUrl) await prepareDataDirectory(config.dataDir);
  const db = await openDatabase(config, logger, [...AUTH_ENTITIES, ...CASE_ENTITIES], { shareRunning: true, create: io.init ?? false });
  if (db.embedded && db.embedded.port !== config.embeddedPostgresPort) {
    io.stderr(`The archive's embedded PostgreSQL already runs on port ${db.embedded.port} (started by another Custodia process), not ${config.embeddedPostgresPort}: using it there.\n`);
  }
  try {
    const result = await work(db.dataSource, config);
    // What the command recorded is in the log when it returns, whether or not an API runs:
    // integration is safe beside a running sequencer (custody.md; libs/custody sequencer.ts).
    await new CustodyLog(db.dataSource).integrateAll();
    return result;
  } finally {
    await db.close();
  }
}

async function userCreate(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      role: { type: 'string' },
      'display-name': { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.email || !/^[^\s@]+@[^\s@]+$/.test(values.email)) throw new UsageError('--email must be an email address');
  if (!values.role || !ROLES.includes(values.role as Role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const password = values['password-stdin'] ? (await io.readStdin()).replace(/\r?\n$/, '') : io.env['CUSTODIA_NEW_USER_PASSWORD'];
  if (!password || password.length < MIN_PASSWORD_LENGTH) {
    throw new UsageError(`The password (stdin or CUSTODIA_NEW_USER_PASSWORD) must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const input = { email: values.email, password, displayName: values['display-name'] ?? values.email, role: values.role as Role };
  const created = await withDatabase(io, (db) => new UsersService(db).create(input, CLI_ACTOR));
  io.stdout(`Created ${created.role} ${created.email} (id ${created.id})\n`);
  return 0;
}

/** What `log verify` says of the heads' RFC 3161 tokens: checked against --tsa-cert, or only counted. */
function timestampsLine({ kept, checked }: { kept: number; checked: number }, checking: boolean): string {
  if (!checking) return kept > 0 ? `${kept} heads carry an RFC 3161 time-stamp token; not checked (give --tsa-cert with the authority's certificate to check them).\n` : '';
  if (kept === 0) return 'No head carries an RFC 3161 time-stamp token: --tsa-cert had nothing to check.\n';
  return `Verified ${checked} of ${kept} RFC 3161 time-stamp tokens kept with the heads, each chained to a --tsa-cert certificate.\n`;
}

async function logVerify(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { 'tsa-cert': { type: 'string', multiple: true } }, strict: true });
  const tsaCertificatesPem = await readTsaCertificates(values['tsa-cert'] ?? []);
  const report = await withDatabase(io, (db) => replayLog(db, undefined, tsaCertificatesPem.length ? { tsaCertificatesPem } : {}));
  const rate = report.seconds > 0 ? Math.round(report.events / report.seconds) : report.events;
  io.stdout(
    `Replayed ${report.events} events (${rate}/s), checked ${report.headsChecked} signed tree heads ` +
      `and ${report.nodesChecked} stored interior hashes in ${report.seconds.toFixed(2)} s.\n` +
      (report.firstDivergence ? '' : timestampsLine(report.timestamps, tsaCertificatesPem.length > 0)),
  );
  const divergence = report.firstDivergence;
  if (!divergence) {
    io.stdout('INTACT: the stored log matches its replay and every kept head.\n');
    return 0;
  }
  const where =
    divergence.leafIndex !== undefined
      ? `at leaf ${divergence.leafIndex}`
      : divergence.treeSize !== undefined
        ? `at the head of size ${divergence.treeSize}`
        : divergence.node
          ? `at stored node ${divergence.node}`
          : 'in the stored nodes';
  io.stdout(`DIVERGED ${where}: ${divergence.problem}\n`);
  return 1;
}

async function keyRotate(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { compromised: { type: 'boolean', default: false }, reason: { type: 'string' } }, strict: true });
  const keyId = await withSigningKeys(io, (keys) => keys.rotate(undefined, { compromised: values.compromised, ...(values.reason ? { reason: values.reason } : {}) }));
  io.stdout(
    values.compromised
      ? `The custody log now signs with key ${keyId}. The previous key is marked compromised and signed no handover: ` +
          'whoever pinned it must be given the new key id out of band (GET /api/v1/log/keys shows it).\n'
      : `The custody log now signs with key ${keyId}; the previous key stays published and signed its handover ` +
          '(the head ending with this rotation), which leads whoever trusts it to the new key.\n',
  );
  return 0;
}

async function keyCompromised(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { reason: { type: 'string' } }, allowPositionals: true, strict: true });
  const [keyId] = positionals;
  if (positionals.length !== 1 || !/^[0-9a-f]{64}$/.test(keyId!)) throw new UsageError('key compromised takes one key id: 64 lowercase hex digits');
  const result = await withSigningKeys(io, async (keys) => {
    try {
      return await keys.markCompromised(keyId!, undefined, values.reason);
    } catch (error) {
      if (error instanceof UnknownSigningKey) throw new UsageError(error.message);
      throw error;
    }
  });
  io.stdout(
    `${result.marked ? `Key ${keyId} is now marked compromised` : `Key ${keyId} was already marked compromised`}: verifiers follow no handover it ` +
      `signed and trust nothing on its signature alone. The custody log signs with key ${result.activeKeyId}; ` +
      'whoever pinned the compromised key must be given that key id out of band.\n',
  );
  return 0;
}

async function withSigningKeys<T>(io: CliIo, work: (keys: SigningKeys) => Promise<T>): Promise<T> {
  return withDatabase(io, async (db, config) => {
    const { key } = await loadMasterKey(config.masterKey, config.dataDir);
    const keys = new SigningKeys(db, key);
    await keys.active();
    const result = await work(keys);
    // The events are in the log when the command ends, whether or not an API is running to integrate them.
    await new CustodyLog(db).integrateAll();
    return result;
  });
}

/** Opening the database migrates it and grants the application's role its rights (openDatabase): nothing more to do. */
async function dbMigrate(io: CliIo): Promise<number> {
  const migrated = await withDatabase({ ...io, init: true }, async (db) => {
    const [{ count }] = await db.query(`SELECT count(*)::int AS count FROM migrations`);
    const [{ role }] = await db.query(`SELECT current_user AS role`);
    return { count, role };
  });
  io.stdout(`The schema is up to date (${migrated.count} migrations applied); ${migrated.role} has the application's rights.\n`);
  return 0;
}

async function storageCheckCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { 'remove-temporary': { type: 'boolean', default: false } }, strict: true });
  return withDatabase(io, (db, config) => storageCheck(db, config, values['remove-temporary'], io.stdout));
}
