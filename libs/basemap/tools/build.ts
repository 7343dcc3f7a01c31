// npm run basemap:build: writes libs/basemap/assets/countries-{50m,110m}.json from world-atlas.
// Runs compiled, from dist/basemap-tools/tools/ (three levels below the workspace root).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { generateBasemap, RESOLUTIONS } from './generate.js';

const require = createRequire(import.meta.url);

for (const [resolution, options] of Object.entries(RESOLUTIONS)) {
  const source: unknown = JSON.parse(readFileSync(require.resolve(`world-atlas/countries-${resolution}.json`), 'utf8'));
  const text = generateBasemap(source, options);
  const target = new URL(`../../../libs/basemap/assets/countries-${resolution}.json`, import.meta.url);
  writeFileSync(target, text);
  console.log(`${target.pathname}: ${Buffer.byteLength(text)} bytes`);
}
