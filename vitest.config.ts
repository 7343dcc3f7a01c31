import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

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
