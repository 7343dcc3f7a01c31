import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { withEnvironmentFile } from './env-file.js';

describe('withEnvironmentFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-env-file-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('takes a bare NAME= line in the file as unset: the default, not a value', async () => {
    await writeFile(path.join(dir, '.env'), 'CUSTODIA_JOB_EXPIRE_S=\nCUSTODIA_DATA_DIR=/srv/archive\n');
    const config = loadConfig(withEnvironmentFile({}, dir).env, dir);
    expect(config.jobExpireSeconds).toBeNull();
    expect(config.dataDir).toBe('/srv/archive');
  });

  it("lets the environment win over the file, but not with an empty value (compose's `NAME: ${NAME}` of an unset NAME)", async () => {
    await writeFile(path.join(dir, '.env'), 'CUSTODIA_DATA_DIR=/srv/archive\nDATABASE_URL=postgres://app@db/custodia\n');
    const { env } = withEnvironmentFile({ CUSTODIA_DATA_DIR: '/srv/other', DATABASE_URL: '' }, dir);
    expect([env['CUSTODIA_DATA_DIR'], env['DATABASE_URL']]).toEqual(['/srv/other', 'postgres://app@db/custodia']);
  });

  it('reads ./.env when CUSTODIA_ENV_FILE is blank, and refuses a file that is not there', async () => {
    await writeFile(path.join(dir, '.env'), 'PORT=4000\n');
    expect(withEnvironmentFile({ CUSTODIA_ENV_FILE: ' ' }, dir).env['PORT']).toBe('4000');
    expect(() => withEnvironmentFile({ CUSTODIA_ENV_FILE: 'missing.env' }, dir)).toThrow(/CUSTODIA_ENV_FILE names .*missing\.env, which does not exist/);
  });
});
