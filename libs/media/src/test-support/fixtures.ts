// Shared by this library's specs: committed fixtures (test/fixtures/media, see its README.md)
// and scratch files for inputs a test builds itself.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/media/', import.meta.url));

/** Absolute path of a committed media fixture. */
export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** A temporary directory for one spec file; call cleanup() in afterAll. */
export function scratchDir(): { path: (name: string) => string; write: (name: string, data: Uint8Array | string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'custodia-media-'));
  return {
    path: (name) => join(dir, name),
    write: (name, data) => {
      const file = join(dir, name);
      writeFileSync(file, data);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
