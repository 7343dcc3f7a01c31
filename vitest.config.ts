import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

// One temporary folder per run, made the run's TMPDIR before any test file or child process
// starts (they inherit the environment), and removed when the run ends: what tests leave in
// os.tmpdir() (downloaded packages, saved receipts, data folders) does not pile up in /tmp.
// Open as /tmp is (1777): as root, the embedded servers' `postgres` user must reach it. A
// process that loads this file again under the same run (a worker) leaves it to the first.
if (!process.env['CUSTODIA_TEST_RUN_TMPDIR']) {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'custodia-test-run-'));
  chmodSync(runDir, 0o1777);
  process.env['CUSTODIA_TEST_RUN_TMPDIR'] = runDir;
  process.env['TMPDIR'] = runDir;
  process.on('exit', () => rmSync(runDir, { recursive: true, force: true, maxRetries: 3 }));
}

export default defineConfig({
  plugins: [
    // esbuild (Vite's default) drops decorator metadata, which NestJS and TypeORM need.
    swc.vite({
      jsc: {
        target: 'es2023',
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      },
    }),
  ],
  resolve: {
    alias: [{ find: /^#custodia\/(.*)$/, replacement: `${root}libs/$1/src/index.ts` }],
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts'],
          exclude: ['**/*.int.spec.ts', '**/node_modules/**'],
        },
      },
      {
        // Integration and end-to-end tests: a real PostgreSQL (embedded, or DATABASE_URL),
        // started once in global setup; each test file gets its own database from a template.
        extends: true,
        test: {
          name: 'db',
          include: ['libs/**/*.int.spec.ts', 'apps/**/*.int.spec.ts', 'test/**/*.e2e.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
