import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBag } from '../../../libs/verifier/src/test-support/synthetic-bag.js';
import { closedPort } from './test-support/closed-port.js';
import { runCliWith, runWithClosedPipe } from './test-support/run-cli.js';

const CASE_ID = '5f0c2a7e-3b1d-4c8e-9a6f-2d4b8e1c7a90';

describe('custodia CLI: failures said in one line', () => {
  let dir: string;
  let bag: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-cli-unit-'));
    await writeFile(path.join(dir, 'photo.jpg'), 'bytes');
    bag = await writeBag(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const upload = (env: Record<string, string>, ...paths: string[]) => runCliWith(env, ['upload', ...paths, '--case', CASE_ID, '--out', path.join(dir, 'out')], { cwd: dir });

  it('says an archive that cannot be reached by its address and the reason, not "fetch failed"', async () => {
    const port = await closedPort();
    const run = await upload({ CUSTODIA_URL: `http://127.0.0.1:${port}`, CUSTODIA_TOKEN: 'token' }, 'photo.jpg');
    expect(run.code).toBe(1);
    expect(run.err).toContain(`Could not reach http://127.0.0.1:${port} (connection refused): is the archive running, and is CUSTODIA_URL right?\n`);
    expect(run.err).not.toMatch(/fetch failed|Failed:/);
  });

  it('says a --against archive that cannot be reached the same way, in the consistency check', async () => {
    const port = await closedPort();
    const run = await runCliWith({}, ['verify', bag, '--against', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.out).toContain(`no later head to compare with: could not reach http://127.0.0.1:${port} (connection refused): is the archive running, and is the --against address right?\n`);
    expect(run.out).not.toContain('fetch failed');
  });

  it('names CUSTODIA_TOKEN_FILE when the file it names cannot be read, or holds no token', async () => {
    const env = { CUSTODIA_URL: 'http://127.0.0.1:9', CUSTODIA_TOKEN_FILE: '/nonexistent' };
    const run = await upload(env, 'photo.jpg');
    expect(run.code).toBe(2);
    expect(run.err).toContain('CUSTODIA_TOKEN_FILE names /nonexistent, which cannot be read (no such file)');
    expect(run.err).not.toContain('ENOENT');
    await writeFile(path.join(dir, 'empty-token'), '\n');
    expect((await upload({ ...env, CUSTODIA_TOKEN_FILE: 'empty-token' }, 'photo.jpg')).err).toContain(`CUSTODIA_TOKEN_FILE names ${path.join(dir, 'empty-token')}, which is empty`);
  });

  it('says a file or folder to send that is not there as typed, before anything is sent', async () => {
    const run = await upload({ CUSTODIA_URL: 'http://127.0.0.1:9', CUSTODIA_TOKEN: 'token' }, 'photo.jpg', 'missing-folder');
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/^missing-folder: no such file or folder\n/);
    expect(run.err).not.toMatch(/ENOENT|lstat/);
  });

  it('takes blank CUSTODIA_* settings as unset', async () => {
    const run = await upload({ CUSTODIA_URL: ' ', CUSTODIA_TOKEN: 'token' }, 'photo.jpg');
    expect([run.code, run.err]).toEqual([2, expect.stringMatching(/^Set CUSTODIA_URL/)]);
    expect((await upload({ CUSTODIA_URL: 'http://127.0.0.1:9', CUSTODIA_TOKEN_FILE: '', CUSTODIA_TOKEN: '' }, 'photo.jpg')).err).toMatch(/^Set CUSTODIA_TOKEN/);
  });
});

describe('custodia CLI: a reader that went away', () => {
  let dir: string;
  let bag: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-cli-pipe-'));
    bag = await writeBag(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  // 141: what a shell says of a process SIGPIPE ended (128 + 13).
  it.each([
    [['help'], 'stdout'],
    [['verify', '<bag>'], 'stdout'],
    [['verify', '<bag>'], 'both'],
    [['verify', '/no/such/package.zip', '--tsa-cert', '/no/such.pem'], 'both'],
  ] as const)('ends %j quietly with the exit code of a closed pipe (%s closed)', async (argv, closed) => {
    const run = await runWithClosedPipe(
      argv.map((arg) => (arg === '<bag>' ? bag : arg)),
      closed,
    );
    expect(run).toEqual({ code: 141, signal: null, err: '' });
  });
});
