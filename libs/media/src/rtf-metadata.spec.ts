import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPECTED_METADATA } from '../../../test/fixtures/media/expected-metadata.js';
import { readRtfMetadata } from './rtf-metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

async function read(rtf: string | Buffer): ReturnType<typeof readRtfMetadata> {
  const bytes = typeof rtf === 'string' ? Buffer.from(rtf, 'latin1') : rtf;
  const handle = await open(scratch.write('file.rtf', bytes), 'r');
  try {
    return await readRtfMetadata(handle, bytes.length);
  } finally {
    await handle.close();
  }
}

describe('readRtfMetadata', () => {
  it("reads Word's and LibreOffice's information groups (LibreOffice's title in its Unicode alternative)", async () => {
    // ExifTool 12.57 on statement.rtf: the values in test/fixtures/media/README.md (and its .exiftool.json).
    for (const name of ['statement.rtf', 'statement-libreoffice.rtf']) {
      expect(await read(readFileSync(fixture(name))), name).toEqual({ ...EXPECTED_METADATA[name]!.document, notes: [] });
    }
  });

  it('skips each \\u character\'s fallback as \\uc says, takes escaped braces and backslashes, leaves \\* destinations out', async () => {
    const rtf = String.raw`{\rtf1\ansi\ansicpg1252{\info{\title \uc2 \u1057\'3f\'3fase \{7\} a\\b{\*\bkmkstart x}{\b c}}{\author \uc0\u1054\u1083\u1103}{\nofpages3}}}`;
    expect(await read(rtf)).toMatchObject({ title: 'Сase {7} a\\bc', author: 'Оля', pages: 3, notes: [] });
  });

  it('decodes \\\'hh in the code page \\ansicpg names; one it does not know is read as Windows-1252 and said', async () => {
    expect(await read(String.raw`{\rtf1\ansi\ansicpg1251{\info{\author \'ce\'eb\'e5\'ed\'e0}}}`)).toMatchObject({ author: 'Олена', notes: [] });
    expect(await read(String.raw`{\rtf1\ansi\ansicpg4242{\info{\author Caf\'e9}}}`)).toMatchObject({ author: 'Café', notes: ['RTF: code page 4242 is not known here; its text was read as Windows-1252'] });
  });

  it('is null for an RTF without an information group or generator; an unterminated group gives a note', async () => {
    expect(await read(String.raw`{\rtf1\ansi Just text.\par}`)).toBeNull();
    expect(await read(String.raw`{\rtf1\ansi{\info{\title cut`)).toMatchObject({ title: null, notes: ['RTF: the information group is unterminated or over 64 KiB; not read'] });
    expect(await read(`{\\rtf1{\\info{\\title ${'x'.repeat(70 * 1024)}}}}`)).toMatchObject({ title: null, notes: ['RTF: the information group is unterminated or over 64 KiB; not read'] });
  });

  it('leaves out a time without a year, month or day', async () => {
    expect(await read(String.raw`{\rtf1{\info{\creatim\yr0\mo0\dy0\hr0\min0}{\revtim\yr2024\mo2\dy25}}}`)).toMatchObject({ createdAt: null, modifiedAt: '2024-02-25T00:00:00', modifiedAtOffset: null });
  });

  it('never throws, whatever characters of an RTF are changed or cut', async () => {
    const originals = ['statement.rtf', 'statement-libreoffice.rtf'].map((name) => readFileSync(fixture(name)));
    const alphabet = Buffer.from('{}\\\'*u0123456789abcdef-; \r\n', 'latin1');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 16 }), fc.nat(), async (which, changes, cutAt) => {
        const bytes = Buffer.from(originals[which]!);
        for (const [at, value] of changes) bytes[at % bytes.length] = alphabet[value % alphabet.length]!;
        const result = await read(bytes.subarray(0, 6 + (cutAt % bytes.length)));
        if (result) expect(Array.isArray(result.notes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
