// ts-loader.mjs for worker threads started from the TypeScript sources (libs/media's metadata
// threads under Vitest): compiles with TypeScript's own transpiler instead of SWC, so the thread
// loads no native addon: a thread holding SWC's crashed its process with SIGSEGV
// when it was terminated. No decorators there, so no decorator metadata is needed.
import { register } from 'node:module';

register('./ts-loader-hooks.mjs', import.meta.url, { data: { compiler: 'typescript' } });
