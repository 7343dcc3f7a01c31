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
