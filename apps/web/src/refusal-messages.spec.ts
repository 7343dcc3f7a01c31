import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REFUSALS_UK } from './refusal-messages.js';

const LIBS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../libs');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [full] : [];
  });
}

describe('the refusals the console says in Ukrainian', () => {
  it('are words the API gives, as it gives them: a reworded refusal falls back to English and fails here', () => {
    const text = sources(LIBS).map((file) => readFileSync(file, 'utf8')).join('\n');
    const missing = Object.keys(REFUSALS_UK).filter((detail) => !text.includes(detail));
    expect(missing).toEqual([]);
  });
});
