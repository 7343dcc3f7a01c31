// Helpers for the court-package specs: waiting for an export, downloading and unpacking it,
// and running the tools a court's expert would run on it.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { runCli } from '../../apps/cli/src/cli.js';
import type { TestApp, TestUser } from './app.js';
import { bearer, binary, sleep } from './evidence.js';

export const run = promisify(execFile);

/** Polls GET /exports/:id until the package is ready or failed; returns the last view. */
export async function waitExport(t: TestApp, user: TestUser, id: string, timeoutMs = 120_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.http.get(`/api/v1/exports/${id}`).set('Authorization', bearer(user));
    expect(res.status).toBe(200);
    if (res.body.status === 'ready' || res.body.status === 'failed') return res.body;
    if (Date.now() > deadline) throw new Error(`export ${id} still "${res.body.status}" after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Requests an export and waits for it; fails the test unless it is ready. */
export async function makeExport(t: TestApp, user: TestUser, caseId: string, body: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await t.http.post(`/api/v1/cases/${caseId}/exports`).set('Authorization', bearer(user)).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const done = await waitExport(t, user, res.body.id);
  // The cause of a failed build is in the server log, never in the API's answer.
  const cause = t.logText().split('\n').filter((line) => line.includes(`export ${res.body.id} failed`)).join('\n');
  expect(done.status, cause || done.error).toBe('ready');
  return done;
}

/** Downloads a ready package into a fresh folder: returns the ZIP's path and bytes. */
export async function download(t: TestApp, user: TestUser, id: string): Promise<{ zip: string; bytes: Buffer; dir: string }> {
  const res = await t.http.get(`/api/v1/exports/${id}/content`).set('Authorization', bearer(user)).buffer(true).parse(binary);
  expect(res.status).toBe(200);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-package-'));
  const zip = path.join(dir, 'package.zip');
  await writeFile(zip, res.body as Buffer);
  return { zip, bytes: res.body as Buffer, dir };
}

/** Unzips with Info-ZIP's unzip (not our code) and returns the bag folder. */
export async function unpack(zip: string, into: string): Promise<string> {
  await run('unzip', ['-q', zip, '-d', into]);
  const [bag] = await readdir(into);
  return path.join(into, bag!);
}

/** `sha256sum -c` / `sha512sum -c` of a manifest, run in the bag exactly as its README.txt says. */
export async function coreutilsCheck(bag: string, manifest: string): Promise<string> {
  const tool = manifest.includes('sha512') ? 'sha512sum' : 'sha256sum';
  const { stdout } = await run(tool, ['-c', '--strict', manifest], { cwd: bag });
  return stdout;
}

/** `custodia verify` as the CLI runs it, with its output and exit code. */
export async function cliVerify(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['verify', ...args], {
    env,
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    readStdin: async () => '',
  });
  return { code, out, err };
}

/** Every file under a folder, relative to it, sorted. */
export async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}
