import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, setting } from './config.js';

/** Every variable config.ts reads, from its source: a variable added later is covered without a list to keep. */
const VARIABLES = [...new Set(readFileSync(new URL('./config.ts', import.meta.url), 'utf8').match(/'(?:CUSTODIA_[A-Z0-9_]+|DATABASE_URL|PORT|HOST|LOG_LEVEL)'/g)!.map((quoted) => quoted.slice(1, -1)))];

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({}, '/srv/custodia');
    expect(config.port).toBe(3000);
    expect(config.dataDir).toBe('/srv/custodia/data');
    expect(config.databaseUrl).toBeNull();
    expect(config.maxUploadBytes).toBe(5 * 1024 ** 3);
    expect(config.logLevel).toBe('info');
    expect(config.masterKey).toBeNull();
    expect(config.treeHeadIntervalMs).toBe(1000);
    expect(config.fixityEnabled).toBe(true);
    expect(config.fixityIntervalSeconds).toBe(7 * 86400);
    expect(config.fixityBytesPerSecond).toBe(32 * 1024 * 1024);
    expect(config.fixityBatch).toBe(100);
    expect(config.metadataTimeLimitMs).toBe(30_000);
    expect(config.metadataHeapMb).toBe(512);
    // An outside audit: a 200 MP phone photo (Galaxy S23 Ultra, 16320 x 12240) got no thumbnail.
    expect(config.maxImagePixels).toBeGreaterThanOrEqual(16320 * 12240);
  });

  it('takes a variable set but empty or blank (a bare NAME= line in an env file) as unset, for every variable', () => {
    expect(VARIABLES.length).toBeGreaterThan(50);
    expect(VARIABLES).toContain('CUSTODIA_JOB_EXPIRE_S');
    for (const blank of ['', '  ']) {
      const env = Object.fromEntries(VARIABLES.map((name) => [name, blank]));
      expect({ ...loadConfig(env, '/srv/custodia') }).toEqual({ ...loadConfig({}, '/srv/custodia') });
    }
    // Not 900 s for every job: each job's own expiry, as when the variable is not there.
    expect(loadConfig({ CUSTODIA_JOB_EXPIRE_S: '' }).jobExpireSeconds).toBeNull();
    expect(loadConfig({ CUSTODIA_JOB_EXPIRE_S: '600' }).jobExpireSeconds).toBe(600);
  });

  it('refuses a blank where another variable needs a value, naming it', () => {
    expect(() => loadConfig({ CUSTODIA_S3_ENDPOINT: 'http://127.0.0.1:9000', CUSTODIA_S3_BUCKET: '' })).toThrow(/CUSTODIA_S3_BUCKET must be set when CUSTODIA_S3_ENDPOINT is/);
    expect(() => loadConfig({ CUSTODIA_S3_ENDPOINT: 'http://127.0.0.1:9000', CUSTODIA_S3_BUCKET: 'evidence', CUSTODIA_S3_ACCESS_KEY_ID: 'AKID', CUSTODIA_S3_SECRET_ACCESS_KEY: ' ' })).toThrow(
      /CUSTODIA_S3_SECRET_ACCESS_KEY must be set together/,
    );
    expect(() => loadConfig({ CUSTODIA_ADMIN_EMAIL: ' ', CUSTODIA_ADMIN_PASSWORD: 'long enough password' })).toThrow(/CUSTODIA_ADMIN_EMAIL must be set/);
  });

  it('keeps a secret exactly as given, spaces and all, when it is not blank', () => {
    const config = loadConfig({ CUSTODIA_ADMIN_EMAIL: 'a@b.org', CUSTODIA_ADMIN_PASSWORD: ' long enough password ' });
    expect(config.adminPassword).toBe(' long enough password ');
    expect(setting({ NAME: ' x ' }, 'NAME')).toBe('x');
    expect([setting({ NAME: '' }, 'NAME'), setting({ NAME: ' \t' }, 'NAME'), setting({}, 'NAME')]).toEqual([undefined, undefined, undefined]);
  });

  it("bounds intake's metadata threads as the operator sets them, within sane limits", () => {
    const config = loadConfig({ CUSTODIA_METADATA_TIME_LIMIT_MS: '120000', CUSTODIA_METADATA_HEAP_MB: '2048' });
    expect([config.metadataTimeLimitMs, config.metadataHeapMb]).toEqual([120_000, 2048]);
    // Below a second a thread's own start would stop ordinary readings; below 64 MiB exifr cannot load.
    expect(() => loadConfig({ CUSTODIA_METADATA_TIME_LIMIT_MS: '50' })).toThrow(ConfigError);
    expect(() => loadConfig({ CUSTODIA_METADATA_HEAP_MB: '16' })).toThrow(ConfigError);
    expect(() => loadConfig({ CUSTODIA_METADATA_HEAP_MB: 'lots' })).toThrow(/CUSTODIA_METADATA_HEAP_MB/);
  });

  it('reads CUSTODIA_TRUST_PROXY as the number of proxies in front (true is one, never "every entry")', () => {
    expect([undefined, 'false', 'true', 'yes', '2'].map((value) => loadConfig(value === undefined ? {} : { CUSTODIA_TRUST_PROXY: value }).trustProxy)).toEqual([0, 0, 1, 1, 2]);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x@y/z'],
    ['DATABASE_URL', 'not a url'],
    ['CUSTODIA_MAX_UPLOAD_BYTES', '-5'],
    ['LOG_LEVEL', 'loud'],
    ['CUSTODIA_MASTER_KEY', 'c2hvcnQ='],
    ['CUSTODIA_TRUST_PROXY', 'maybe'],
    ['CUSTODIA_TRUST_PROXY', '11'],
    ['CUSTODIA_UPLOAD_MAX_WRITING', '0'],
    ['CUSTODIA_TSA_URL', 'ftp://tsa'],
    ['CUSTODIA_MAP_TILE_URL', 'https://tiles.example.org/map.png'],
    ['CUSTODIA_MAP_TILE_URL', 'file:///tiles/{z}/{x}/{y}.png'],
    ['CUSTODIA_FIXITY_ENABLED', 'sometimes'],
    ['CUSTODIA_FIXITY_INTERVAL_S', '10'],
    ['CUSTODIA_FIXITY_BYTES_PER_S', '0'],
    ['CUSTODIA_FIXITY_BATCH', '0'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it("takes an operator's tile server as a {z}/{x}/{y} template, and none by default", () => {
    expect(loadConfig({}).mapTileUrl).toBeNull();
    expect(loadConfig({ CUSTODIA_MAP_TILE_URL: 'https://tiles.example.org/{z}/{x}/{y}.png' }).mapTileUrl).toBe('https://tiles.example.org/{z}/{x}/{y}.png');
  });

  it('takes the schema owner as CUSTODIA_MIGRATION_DATABASE_URL only beside DATABASE_URL', () => {
    expect(loadConfig({}).migrationDatabaseUrl).toBeNull();
    const both = { DATABASE_URL: 'postgres://custodia_app:x@db/custodia', CUSTODIA_MIGRATION_DATABASE_URL: 'postgres://owner:y@db/custodia' };
    expect(loadConfig(both).migrationDatabaseUrl).toBe('postgres://owner:y@db/custodia');
    expect(() => loadConfig({ CUSTODIA_MIGRATION_DATABASE_URL: 'postgres://owner:y@db/custodia' })).toThrow(/CUSTODIA_MIGRATION_DATABASE_URL.*needs DATABASE_URL/);
    expect(() => loadConfig({ ...both, CUSTODIA_MIGRATION_DATABASE_URL: 'mysql://owner@db/x' })).toThrow(ConfigError);
  });

  it('requires the admin email with a password, and a long password', () => {
    expect(loadConfig({ CUSTODIA_ADMIN_EMAIL: 'a@b.org' }).adminPassword).toBeNull();
    expect(() => loadConfig({ CUSTODIA_ADMIN_EMAIL: 'not an email' })).toThrow(/CUSTODIA_ADMIN_EMAIL/);
    expect(() => loadConfig({ CUSTODIA_ADMIN_PASSWORD: 'long enough password' })).toThrow(/CUSTODIA_ADMIN_EMAIL/);
    expect(() => loadConfig({ CUSTODIA_ADMIN_EMAIL: 'a@b.org', CUSTODIA_ADMIN_PASSWORD: 'short' })).toThrow(
      /at least 12/,
    );
    const ok = loadConfig({ CUSTODIA_ADMIN_EMAIL: 'a@b.org', CUSTODIA_ADMIN_PASSWORD: 'long enough password' });
    expect(ok.adminEmail).toBe('a@b.org');
  });

  it('accepts a master key as hex or base64', () => {
    const hex = 'ab'.repeat(32);
    expect(loadConfig({ CUSTODIA_MASTER_KEY: hex }).masterKey?.toString('hex')).toBe(hex);
    const b64 = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ CUSTODIA_MASTER_KEY: b64 }).masterKey).toEqual(Buffer.alloc(32, 7));
  });
});

describe('loadConfig: S3 storage', () => {
  const s3 = { CUSTODIA_S3_ENDPOINT: 'http://127.0.0.1:9000', CUSTODIA_S3_BUCKET: 'evidence' };

  it('keeps files on local disk when no endpoint is set', () => {
    expect(loadConfig({}).s3).toBeNull();
  });

  it('reads the store with its defaults: us-east-1, path-style, the SDK credential chain', () => {
    expect({ ...loadConfig(s3).s3 }).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'evidence',
      region: 'us-east-1',
      accessKeyId: null,
      secretAccessKey: null,
      forcePathStyle: true,
    });
    const set = loadConfig({ ...s3, CUSTODIA_S3_REGION: 'eu-central-1', CUSTODIA_S3_FORCE_PATH_STYLE: 'false', CUSTODIA_S3_ACCESS_KEY_ID: 'AKID', CUSTODIA_S3_SECRET_ACCESS_KEY: 's3cr3t/key+' }).s3!;
    expect([set.region, set.forcePathStyle, set.accessKeyId, set.secretAccessKey]).toEqual(['eu-central-1', false, 'AKID', 's3cr3t/key+']);
  });

  it('never shows the secret when the configuration is logged or serialized', async () => {
    const { inspect } = await import('node:util');
    const config = loadConfig({ ...s3, CUSTODIA_S3_ACCESS_KEY_ID: 'AKID', CUSTODIA_S3_SECRET_ACCESS_KEY: 'the-secret-value' });
    expect(JSON.stringify(config)).not.toContain('the-secret-value');
    expect(inspect(config, { depth: 5 })).not.toContain('the-secret-value');
    expect(JSON.stringify(config.s3)).toContain('[redacted]');
  });

  it.each([
    [{ CUSTODIA_S3_BUCKET: 'evidence' }, 'CUSTODIA_S3_BUCKET'],
    [{ CUSTODIA_S3_SECRET_ACCESS_KEY: 'x' }, 'CUSTODIA_S3_SECRET_ACCESS_KEY'],
    [{ CUSTODIA_S3_ENDPOINT: 'ftp://store' }, 'CUSTODIA_S3_ENDPOINT'],
    [{ CUSTODIA_S3_ENDPOINT: 'http://user:pass@store:9000', CUSTODIA_S3_BUCKET: 'evidence' }, 'CUSTODIA_S3_ENDPOINT'],
    [{ CUSTODIA_S3_ENDPOINT: 'http://store:9000' }, 'CUSTODIA_S3_BUCKET'],
    [{ ...s3, CUSTODIA_S3_BUCKET: 'Evidence_Bucket' }, 'CUSTODIA_S3_BUCKET'],
    [{ ...s3, CUSTODIA_S3_REGION: 'EU Central' }, 'CUSTODIA_S3_REGION'],
    [{ ...s3, CUSTODIA_S3_ACCESS_KEY_ID: 'AKID' }, 'CUSTODIA_S3_SECRET_ACCESS_KEY'],
    [{ ...s3, CUSTODIA_S3_SECRET_ACCESS_KEY: 'x' }, 'CUSTODIA_S3_ACCESS_KEY_ID'],
    [{ ...s3, CUSTODIA_S3_FORCE_PATH_STYLE: 'sometimes' }, 'CUSTODIA_S3_FORCE_PATH_STYLE'],
  ])('rejects %o naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(name));
  });
});
