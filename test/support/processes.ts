import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A Custodia app (API or worker) in a process of its own, its TypeScript run through ts-loader.mjs. */
export interface AppProcess {
  child: ChildProcess;
  /** Everything it wrote so far. */
  output(): string;
  /** Waits until its output (all of it, from the start) matches `pattern`. */
  until(pattern: RegExp): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `entry` (e.g. apps/worker/src/main.ts) with `env` over this process's environment and
 * waits until its output matches `ready`; returns the match too (the API prints its address).
 */
export async function startProcess(
  entry: string,
  env: Record<string, string>,
  ready: RegExp,
  /** `detached`: a process group of its own, as a shell's foreground job; `unset`: variables of this process not passed on. */
  options: { detached?: boolean; unset?: string[] } = {},
): Promise<AppProcess & { ready: RegExpMatchArray }> {
  const inherited = { ...process.env };
  for (const name of options.unset ?? []) delete inherited[name];
  const child = spawn(process.execPath, ['--import', './test/support/ts-loader.mjs', entry], {
    cwd: root,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const until = (pattern: RegExp): Promise<RegExpMatchArray> =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${entry} did not print ${pattern}: ${output}`)), 90_000);
      const check = (): void => {
        const found = output.match(pattern);
        if (found) done(null, found);
      };
      const exited = (code: number | null): void => done(new Error(`${entry} exited (${code}): ${output}`));
      const done = (error: Error | null, found?: RegExpMatchArray): void => {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        child.off('exit', exited);
        if (error) reject(error);
        else resolve(found!);
      };
      // After the listeners above have added the chunk to the output.
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      child.once('exit', exited);
      check();
    });
  const match = await until(ready);
  return {
    child,
    ready: match,
    output: () => output,
    until,
    kill: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

/** The worker app in its own process, once it says it works. */
export const startWorkerProcess = (env: Record<string, string>) => startProcess('apps/worker/src/main.ts', env, /Custodia worker: working/);

/** The API in its own process (PORT 0 picks a port); `url` is where it listens. */
export async function startApiProcess(env: Record<string, string>, options: Parameters<typeof startProcess>[3] = {}): Promise<AppProcess & { url: string }> {
  const started = await startProcess('apps/api/src/main.ts', { PORT: '0', ...env }, /Custodia is listening on (http:\/\/\S+)\/api\/v1/, options);
  return { ...started, url: started.ready[1]! };
}
