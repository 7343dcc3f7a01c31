import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The validated, typed configuration of a Custodia process. */
export interface CustodiaConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Unset: the API starts an embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | null;
  /**
   * CUSTODIA_MIGRATION_DATABASE_URL: the schema owner's connection, which runs the migrations and
   * grants DATABASE_URL's role what it needs at run time (only SELECT and INSERT on the custody
   * log). Unset: DATABASE_URL's role does both, and can drop the log.
   */
  migrationDatabaseUrl: string | null;
  embeddedPostgresPort: number;
  adminEmail: string | null;
  adminPassword: string | null;
  maxUploadBytes: number;
  maxJsonBodyBytes: number;
  logLevel: LogLevel;
  sessionTtlSeconds: number;
  /** How long a resolved bearer token is kept in memory (CUSTODIA_TOKEN_CACHE_S; 0 = looked up every request). */
  tokenCacheSeconds: number;
  apiTokenDefaultTtlDays: number;
  loginMaxFailures: number;
  loginWindowSeconds: number;
  /** Reverse proxies in front whose X-Forwarded-For entries are trusted, nearest first (CUSTODIA_TRUST_PROXY: false = 0, true = 1, or a number). */
  trustProxy: number;
  /** 32 bytes (base64 or hex) that encrypt the custody signing key and personal data; unset = a key file in dataDir. */
  masterKey: Buffer | null;
  treeHeadIntervalMs: number;
  /** This process takes part in electing the custody log's sequencer (CUSTODIA_SEQUENCER). */
  sequencer: boolean;
  /** The sequencer looks at its queue at least this often (CUSTODIA_SEQUENCER_INTERVAL_MS). */
  sequencerIntervalMs: number;
  /** A process that does not lead tries to this often: how soon a dead sequencer is replaced (CUSTODIA_SEQUENCER_ELECTION_MS). */
  sequencerElectionMs: number;
  /** How long a submission's answer waits for its event to be integrated before it answers `receipt: null` (CUSTODIA_RECEIPT_WAIT_MS). */
  receiptWaitMs: number;
  tsaUrl: string | null;
  /** PEM file of the certificates a time-stamp's chain must lead to (CUSTODIA_TSA_CERT); unset = chain not checked at stamping. */
  tsaCertFile: string | null;
  /** A connection that sends nothing for this long (headers or body) is closed. */
  httpIdleTimeoutMs: number;
  /** Tree heads, keys, leaf hashes and proofs answer without a token (CUSTODIA_PUBLIC_LOG). */
  publicLog: boolean;
  /** Unfinished resumable uploads expire after this (CUSTODIA_UPLOAD_TTL_S); finished ones not turned into evidence too, counted from their end. */
  uploadTtlSeconds: number;
  /** Open (not yet evidence) resumable uploads one user may hold (CUSTODIA_UPLOAD_MAX_OPEN). */
  uploadMaxOpen: number;
  /**
   * PATCH requests one user may have writing at once on one API instance (CUSTODIA_UPLOAD_MAX_WRITING):
   * each holds one of the upload-lock pool's 20 connections while its bytes arrive, so without a
   * cap one account sending a byte a minute to 20 uploads would stall everyone's uploads. The
   * default is the 6 connections a browser opens to one server, so the console never meets it.
   */
  uploadMaxWriting: number;
  /** Bytes of open resumable uploads one user may hold (CUSTODIA_UPLOAD_MAX_OPEN_BYTES; default 4 x CUSTODIA_MAX_UPLOAD_BYTES). */
  uploadMaxOpenBytes: number;
  /** Every JSON answer is checked against its declared schema (CUSTODIA_CHECK_RESPONSES; the tests turn it on). */
  checkResponses: boolean;
  /** Who keeps this archive, as court packages name it (BagIt Source-Organization). */
  organization: string;
  /** An operator's map tile server for the web console (CUSTODIA_MAP_TILE_URL, `{z}/{x}/{y}` template); null = the bundled boundaries only. */
  mapTileUrl: string | null;
  locationToleranceM: number;
  timeToleranceS: number;
  nearDuplicateDistance: number;
  maxImagePixels: number;
  /** How long intake's reading of one file's embedded metadata may take before its thread is stopped, ms. */
  metadataTimeLimitMs: number;
  /** Heap cap of each metadata reading thread, MiB. */
  metadataHeapMb: number;
  /** Whether this process works the background job queue (derivatives); the API does by default. */
  workQueue: boolean;
  /** Jobs this process works at once (each decodes one image). */
  workerConcurrency: number;
  /**
   * How long a job may run before it is taken for dead (its worker killed) and retried
   * (CUSTODIA_JOB_EXPIRE_S); null = each job's own (15 min for derivatives, 12 h for packages).
   */
  jobExpireSeconds: number | null;
  /** How often the queue looks for dead jobs to retry, and old ones to archive (CUSTODIA_JOB_MAINTENANCE_S). */
  jobMaintenanceSeconds: number;
  /** How often a process working the queue looks for jobs whose process died, active at least this long (CUSTODIA_JOB_ORPHAN_S). */
  jobOrphanSeconds: number;
  /** Stored blobs are re-hashed on a schedule (CUSTODIA_FIXITY_ENABLED), by processes that work the queue. */
  fixityEnabled: boolean;
  /** Each item's blobs are re-checked at least this often (CUSTODIA_FIXITY_INTERVAL_S). */
  fixityIntervalSeconds: number;
  /** Rate limit of the re-reading per process, so it never starves intake (CUSTODIA_FIXITY_BYTES_PER_S). */
  fixityBytesPerSecond: number;
  /** Items checked per batch: one transaction and one queued batch of events (CUSTODIA_FIXITY_BATCH). */
  fixityBatch: number;
  /** Original files in an S3-compatible bucket (CUSTODIA_S3_*); null = on local disk under dataDir. */
  s3: S3Settings | null;
}

/** Where and how to reach the S3-compatible store; the secret never shows in logs or JSON. */
export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  /** Both null: the SDK's own credential chain (AWS_* variables, instance or pod roles). */
  accessKeyId: string | null;
  secretAccessKey: string | null;
  /** `https://host/bucket/key` rather than `https://bucket.host/key`, as self-hosted stores want. */
  forcePathStyle: boolean;
}

/** A configuration value that stops the process, naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const GIB = 1024 ** 3;

/**
 * A variable's value, trimmed; undefined when it is unset, empty or blank. A bare `NAME=` line
 * in an env file, or compose's `NAME: ${NAME}` of an unset NAME, means "not set" (the default),
 * never a value: no variable gives an empty string a meaning.
 */
export function setting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

/** A secret is used exactly as given, not trimmed; a blank one counts as unset too. */
function secret(env: Env, name: string): string | null {
  return setting(env, name) === undefined ? null : env[name]!;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${raw}`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

/**
 * How many reverse proxies stand in front: the client's address is the entry of X-Forwarded-For that
 * many hops from the right. Never "trust every entry": the left-most is whatever the client wrote,
 * and the login throttle keyed on it would count nothing.
 */
function proxyHops(env: Env, name: string): number {
  const raw = setting(env, name);
  if (raw !== undefined && /^\d+$/.test(raw)) return integer(env, name, 0, 0, 10);
  return boolean(env, name, false) ? 1 : 0;
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = setting(env, name);
  if (raw === undefined) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw;
}

/** A tile URL template: http(s) with {z}, {x} and {y}; the console's CSP then allows its origin for images. */
function tileUrl(env: Env, name: string): string | null {
  const raw = url(env, name, ['http:', 'https:']);
  if (raw !== null && !['{z}', '{x}', '{y}'].every((part) => raw.includes(part))) {
    throw new ConfigError(name, 'must be a tile URL template with {z}, {x} and {y}, e.g. https://tiles.example.org/{z}/{x}/{y}.png');
  }
  return raw;
}

function masterKey(env: Env): Buffer | null {
  const raw = setting(env, 'CUSTODIA_MASTER_KEY');
  if (raw === undefined) return null;
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) {
    throw new ConfigError('CUSTODIA_MASTER_KEY', 'must be 32 bytes, as 64 hex characters or base64');
  }
  return key;
}

function singleLine(env: Env, name: string, fallback: string, maxLength: number): string {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
   
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new ConfigError(name, 'must be one line of text without control characters');
  if (raw.length > maxLength) throw new ConfigError(name, `must be at most ${maxLength} characters`);
  return raw;
}

function tsaCertFile(env: Env, cwd: string): string | null {
  const raw = setting(env, 'CUSTODIA_TSA_CERT');
  if (raw === undefined) return null;
  if (setting(env, 'CUSTODIA_TSA_URL') === undefined) throw new ConfigError('CUSTODIA_TSA_CERT', 'is set but CUSTODIA_TSA_URL is not');
  const file = path.resolve(cwd, raw);
  if (!existsSync(file)) throw new ConfigError('CUSTODIA_TSA_CERT', `names ${file}, which does not exist`);
  return file;
}

// S3's bucket naming rules (3-63 characters, lowercase, digits, dots, hyphens, not IP-like).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_VARIABLES = ['CUSTODIA_S3_BUCKET', 'CUSTODIA_S3_REGION', 'CUSTODIA_S3_ACCESS_KEY_ID', 'CUSTODIA_S3_SECRET_ACCESS_KEY', 'CUSTODIA_S3_FORCE_PATH_STYLE'];

function s3Settings(env: Env): S3Settings | null {
  const endpoint = url(env, 'CUSTODIA_S3_ENDPOINT', ['http:', 'https:']);
  if (endpoint === null) {
    // A half-configured store would silently keep evidence on local disk instead.
    const stray = S3_VARIABLES.find((name) => setting(env, name) !== undefined);
    if (stray) throw new ConfigError(stray, 'is set but CUSTODIA_S3_ENDPOINT is not');
    return null;
  }
  const parsed = new URL(endpoint);
  if (parsed.username || parsed.password) {
    throw new ConfigError('CUSTODIA_S3_ENDPOINT', 'must not hold credentials: set CUSTODIA_S3_ACCESS_KEY_ID and CUSTODIA_S3_SECRET_ACCESS_KEY');
  }
  const bucket = setting(env, 'CUSTODIA_S3_BUCKET');
  if (bucket === undefined) throw new ConfigError('CUSTODIA_S3_BUCKET', 'must be set when CUSTODIA_S3_ENDPOINT is');
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new ConfigError('CUSTODIA_S3_BUCKET', `must be an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens), got "${bucket}"`);
  }
  const region = setting(env, 'CUSTODIA_S3_REGION') ?? 'us-east-1';
  if (!/^[a-z0-9-]{1,50}$/.test(region)) throw new ConfigError('CUSTODIA_S3_REGION', `must be a region name such as eu-central-1, got "${region}"`);
  const accessKeyId = setting(env, 'CUSTODIA_S3_ACCESS_KEY_ID') ?? null;
  const secretAccessKey = secret(env, 'CUSTODIA_S3_SECRET_ACCESS_KEY');
  if ((accessKeyId === null) !== (secretAccessKey === null)) {
    throw new ConfigError(accessKeyId === null ? 'CUSTODIA_S3_ACCESS_KEY_ID' : 'CUSTODIA_S3_SECRET_ACCESS_KEY', 'must be set together with the other S3 key variable');
  }
  const settings: S3Settings = {
    endpoint,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: boolean(env, 'CUSTODIA_S3_FORCE_PATH_STYLE', true),
  };
  // Whoever logs or serializes the configuration sees that a secret is set, never the secret.
  const shown = (): Omit<S3Settings, 'secretAccessKey'> & { secretAccessKey: string | null } => ({
    ...settings,
    secretAccessKey: secretAccessKey === null ? null : '[redacted]',
  });
  Object.defineProperties(settings, {
    toJSON: { value: shown, enumerable: false },
    [inspect.custom]: { value: () => shown(), enumerable: false },
  });
  return settings;
}

/** Reads and validates the configuration; throws ConfigError naming the first wrong variable. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): CustodiaConfig {
  const adminEmail = setting(env, 'CUSTODIA_ADMIN_EMAIL') ?? null;
  const adminPassword = secret(env, 'CUSTODIA_ADMIN_PASSWORD');
  if (adminEmail !== null && !/^[^\s@]+@[^\s@]+$/.test(adminEmail)) {
    throw new ConfigError('CUSTODIA_ADMIN_EMAIL', 'is not an email address');
  }
  if (adminEmail === null && adminPassword !== null) {
    throw new ConfigError('CUSTODIA_ADMIN_EMAIL', 'must be set when CUSTODIA_ADMIN_PASSWORD is');
  }
  if (adminPassword !== null && adminPassword.length < 12) {
    throw new ConfigError('CUSTODIA_ADMIN_PASSWORD', 'must be at least 12 characters long');
  }
  if (setting(env, 'CUSTODIA_MIGRATION_DATABASE_URL') && !setting(env, 'DATABASE_URL')) {
    throw new ConfigError('CUSTODIA_MIGRATION_DATABASE_URL', 'needs DATABASE_URL (the application role it grants rights to); the embedded PostgreSQL separates the two roles itself');
  }
  const logLevel = (setting(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: setting(env, 'HOST') ?? '127.0.0.1',
    dataDir: path.resolve(cwd, setting(env, 'CUSTODIA_DATA_DIR') ?? './data'),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    migrationDatabaseUrl: url(env, 'CUSTODIA_MIGRATION_DATABASE_URL', ['postgres:', 'postgresql:']),
    embeddedPostgresPort: integer(env, 'CUSTODIA_EMBEDDED_PG_PORT', 54329, 1024, 65535),
    adminEmail,
    adminPassword,
    maxUploadBytes: integer(env, 'CUSTODIA_MAX_UPLOAD_BYTES', 5 * GIB, 1, Number.MAX_SAFE_INTEGER),
    maxJsonBodyBytes: integer(env, 'CUSTODIA_MAX_JSON_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    logLevel: logLevel as LogLevel,
    sessionTtlSeconds: integer(env, 'CUSTODIA_SESSION_TTL_S', 8 * 3600, 60, 30 * 24 * 3600),
    tokenCacheSeconds: integer(env, 'CUSTODIA_TOKEN_CACHE_S', 30, 0, 300),
    apiTokenDefaultTtlDays: integer(env, 'CUSTODIA_API_TOKEN_TTL_DAYS', 365, 1, 3650),
    loginMaxFailures: integer(env, 'CUSTODIA_LOGIN_MAX_FAILURES', 5, 1, 1000),
    loginWindowSeconds: integer(env, 'CUSTODIA_LOGIN_WINDOW_S', 900, 1, 86400),
    trustProxy: proxyHops(env, 'CUSTODIA_TRUST_PROXY'),
    masterKey: masterKey(env),
    treeHeadIntervalMs: integer(env, 'CUSTODIA_TREE_HEAD_INTERVAL_MS', 1000, 10, 3_600_000),
    sequencer: boolean(env, 'CUSTODIA_SEQUENCER', true),
    sequencerIntervalMs: integer(env, 'CUSTODIA_SEQUENCER_INTERVAL_MS', 200, 1, 60_000),
    sequencerElectionMs: integer(env, 'CUSTODIA_SEQUENCER_ELECTION_MS', 1000, 10, 600_000),
    receiptWaitMs: integer(env, 'CUSTODIA_RECEIPT_WAIT_MS', 5000, 0, 600_000),
    tsaUrl: url(env, 'CUSTODIA_TSA_URL', ['http:', 'https:']),
    tsaCertFile: tsaCertFile(env, cwd),
    publicLog: boolean(env, 'CUSTODIA_PUBLIC_LOG', true),
    checkResponses: boolean(env, 'CUSTODIA_CHECK_RESPONSES', false),
    uploadTtlSeconds: integer(env, 'CUSTODIA_UPLOAD_TTL_S', 24 * 3600, 60, 30 * 24 * 3600),
    uploadMaxOpen: integer(env, 'CUSTODIA_UPLOAD_MAX_OPEN', 100, 1, 100_000),
    uploadMaxWriting: integer(env, 'CUSTODIA_UPLOAD_MAX_WRITING', 6, 1, 16),
    uploadMaxOpenBytes: integer(env, 'CUSTODIA_UPLOAD_MAX_OPEN_BYTES', 4 * integer(env, 'CUSTODIA_MAX_UPLOAD_BYTES', 5 * GIB, 1, Number.MAX_SAFE_INTEGER), 1, Number.MAX_SAFE_INTEGER),
    httpIdleTimeoutMs: integer(env, 'CUSTODIA_HTTP_IDLE_TIMEOUT_MS', 120_000, 100, 3_600_000),
    organization: singleLine(env, 'CUSTODIA_ORGANIZATION', 'Custodia archive', 200),
    mapTileUrl: tileUrl(env, 'CUSTODIA_MAP_TILE_URL'),
    locationToleranceM: integer(env, 'CUSTODIA_LOCATION_TOLERANCE_M', 1000, 0, 20_000_000),
    timeToleranceS: integer(env, 'CUSTODIA_TIME_TOLERANCE_S', 3600, 0, 10 * 365 * 86400),
    // At most 16 (the pairs the derivative job keeps, EvidenceRepository's MAX_NEAR_DUPLICATE_DISTANCE).
    nearDuplicateDistance: integer(env, 'CUSTODIA_NEAR_DUPLICATE_DISTANCE', 10, 0, 16),
    // 16383 x 16383, sharp's own default: phones' 200 MP photos (16320 x 12240) are evidence too.
    maxImagePixels: integer(env, 'CUSTODIA_MAX_IMAGE_PIXELS', 268_402_689, 1, 2_000_000_000),
    metadataTimeLimitMs: integer(env, 'CUSTODIA_METADATA_TIME_LIMIT_MS', 30_000, 1_000, 600_000),
    metadataHeapMb: integer(env, 'CUSTODIA_METADATA_HEAP_MB', 512, 64, 16_384),
    workQueue: boolean(env, 'CUSTODIA_WORK_QUEUE', true),
    // Twice the CPUs: a job also waits on fsync and the database, and would leave a core idle.
    workerConcurrency: integer(env, 'CUSTODIA_WORKER_CONCURRENCY', 2 * os.availableParallelism(), 1, 64),
    jobExpireSeconds: setting(env, 'CUSTODIA_JOB_EXPIRE_S') === undefined ? null : integer(env, 'CUSTODIA_JOB_EXPIRE_S', 900, 1, 7 * 86400),
    jobMaintenanceSeconds: integer(env, 'CUSTODIA_JOB_MAINTENANCE_S', 120, 1, 3600),
    jobOrphanSeconds: integer(env, 'CUSTODIA_JOB_ORPHAN_S', 30, 1, 3600),
    fixityEnabled: boolean(env, 'CUSTODIA_FIXITY_ENABLED', true),
    fixityIntervalSeconds: integer(env, 'CUSTODIA_FIXITY_INTERVAL_S', 7 * 86400, 60, 10 * 365 * 86400),
    fixityBytesPerSecond: integer(env, 'CUSTODIA_FIXITY_BYTES_PER_S', 32 * 1024 * 1024, 64 * 1024, Number.MAX_SAFE_INTEGER),
    fixityBatch: integer(env, 'CUSTODIA_FIXITY_BATCH', 100, 1, 10_000),
    s3: s3Settings(env),
  };
}
