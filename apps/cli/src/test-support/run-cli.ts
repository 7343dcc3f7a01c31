import { spawn } from 'node:child_process';
import path from 'node:path';
import { createLogger } from '#custodia/logging';
import { runCli } from '../cli.js';

/** What one CLI command did: its exit code and what it printed. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs one CLI command in this process with these settings, capturing what it prints. */
export async function runCliWith(env: Record<string, string>, argv: string[], options: { cwd?: string; stdin?: string } = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    readStdin: async () => options.stdin ?? '',
    logger: createLogger('silent'),
  });
  return { code, out, err };
}

/** The settings of a test archive: its database, its data folder and a fixed master key. */
export const archiveSettings = (databaseUrl: string, dataDir: string): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  CUSTODIA_DATA_DIR: dataDir,
  CUSTODIA_MASTER_KEY: 'cd'.repeat(32),
});

/**
 * The CLI in a process of its own (its TypeScript through test/support/ts-loader.mjs) whose
 * standard output, or both outputs, are closed before it writes: what `| head` leaves it once
 * head has read enough. What it wrote to standard error, when that stays open.
 */
export async function runWithClosedPipe(
  argv: string[],
  closed: 'stdout' | 'both',
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  const child = spawn(process.execPath, ['--import', './test/support/ts-loader.mjs', 'apps/cli/src/main.ts', ...argv], {
    cwd: path.resolve(import.meta.dirname, '../../../..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let err = '';
  if (closed === 'both') child.stderr.destroy();
  else child.stderr.on('data', (part: Buffer) => (err += part.toString('utf8')));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (...ended) => resolve(ended)));
  return { code, signal, err };
}
