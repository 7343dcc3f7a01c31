import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('stopOnSignals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custodia-shutdown-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finishes stopping when a second SIGINT comes during the shutdown (a double Ctrl-C), then exits 0', async () => {
    // A process of its own, as the API and the worker run: real signals, real exit.
    const script = join(dir, 'stopping.ts');
    writeFileSync(
      script,
      [
        `import { stopOnSignals } from ${JSON.stringify(join(ROOT, 'libs/logging/src/shutdown.ts'))};`,
        `const logger = { info: (o: object, m: string) => console.log(m), error: (o: object, m: string) => console.log(m) } as never;`,
        `stopOnSignals(logger, 'test').running({ stop: async () => { await new Promise((r) => setTimeout(r, 800)); console.log('stopped'); } });`,
        `setInterval(() => undefined, 1000);`,
        `console.log('ready');`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', './test/support/ts-loader.mjs', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "ready": ${out}`)), 30_000);
      child.stdout.on('data', () => out.includes('ready') && (clearTimeout(timer), resolve()));
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await exited).toEqual([0, null]);
    expect(out.split('\n').filter(Boolean)).toEqual(['ready', 'test shutting down', 'test is already shutting down', 'stopped']);
  }, 60_000);
});
