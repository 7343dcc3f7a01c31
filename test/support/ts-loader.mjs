// Runs the TypeScript sources in a child process, as the tests run them in Vitest: `node
// --import ./test/support/ts-loader.mjs apps/worker/src/main.ts`. It compiles each .ts file with
// SWC (decorators and their metadata, as vitest.config.ts does), resolves `#custodia/<lib>` to
// libs/<lib>/src/index.ts and `./x.js` to `./x.ts` where only the TypeScript exists. For tests
// that need a real second process (killed with SIGKILL, for instance); not for production.
import { register } from 'node:module';

register('./ts-loader-hooks.mjs', import.meta.url);
