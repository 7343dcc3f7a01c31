// Builds the web console into dist/apps/web, unless nothing it is made of changed since the last
// build: `npm start` runs this every time and must stay fast when warm (issue 9), so the sources,
// the build configuration and the lockfile are hashed (a few hundred small files, milliseconds)
// and compared with the stamp the last build left beside its output.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('.', import.meta.url));
const root = path.resolve(web, '../..');
const outDir = path.join(root, 'dist/apps/web');
const stampFile = path.join(outDir, '.build-stamp');

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(full);
      return entry.isFile() ? [full] : [];
    })
    .sort();
}

/** Hash of every file the bundle is built from, with their names. */
export function sourceStamp() {
  const hash = createHash('sha256');
  const inputs = [...filesUnder(web), path.join(root, 'package-lock.json'), ...['libs/basemap', 'libs/text'].flatMap((lib) => (existsSync(path.join(root, lib)) ? filesUnder(path.join(root, lib)) : []))];
  for (const file of inputs) {
    hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const force = process.argv.includes('--force');
const stamp = sourceStamp();
const current = existsSync(stampFile) && existsSync(path.join(outDir, 'index.html')) ? readFileSync(stampFile, 'utf8').trim() : '';
if (!force && current === stamp) {
  process.stdout.write('web console: up to date\n');
} else {
  // Always the production bundle, whatever NODE_ENV the caller runs under (the tests set "test",
  // which would otherwise ship React's development build).
  process.env.NODE_ENV = 'production';
  const { build } = await import('vite');
  await build({ configFile: path.join(web, 'vite.config.ts'), mode: 'production', logLevel: 'warn' });
  writeFileSync(stampFile, stamp + '\n');
  process.stdout.write('web console: built into dist/apps/web\n');
}
