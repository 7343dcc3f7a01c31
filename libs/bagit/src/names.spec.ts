import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_NAME_BYTES, sanitiseFileName } from './names.js';

describe('sanitiseFileName', () => {
  it.each([
    ['IMG_2041.jpg', 'IMG_2041.jpg'],
    ['../../etc/passwd', '_.._etc_passwd'],
    ['/absolute/path.png', '_absolute_path.png'],
    ['C:\\Users\\doc.pdf', 'C__Users_doc.pdf'],
    ['..', 'original'],
    ['...hidden', 'hidden'],
    ['trailing. . ', 'trailing'],
    ['photo\u202egpj.exe', 'photogpj.exe'],
    ['a\u0000b\u001fc\u007fd\u0085e.txt', 'abcde.txt'],
    ['zero\u200bwidth\ufeff.jpg', 'zerowidth.jpg'],
    // Arabic letter mark, line separator, interlinear annotation: hidden too; tab and line feed go.
    ['a\u061cb\u2028c\ufff9d\te\nf.jpg', 'abcdef.jpg'],
    // Joiners stay: Persian words and emoji need them.
    ['\u0645\u06cc\u200c\u0631\u0648\u062f \ud83d\udc69\u200d\ud83d\udcbb.jpg', '\u0645\u06cc\u200c\u0631\u0648\u062f \ud83d\udc69\u200d\ud83d\udcbb.jpg'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['lpt9.tar.gz', '_lpt9.tar.gz'],
    ['console.log', 'console.log'],
    ['what?<>|*:".jpg', 'what_______.jpg'],
    ['100% damage.jpg', '100_ damage.jpg'],
    ['a%0Ab%25.jpg', 'a_0Ab_25.jpg'],
    ['Знімок екрана 2026-11-20.png', 'Знімок екрана 2026-11-20.png'],
    ['', 'original'],
    [null, 'original'],
  ])('%j -> %j', (input, expected) => {
    expect(sanitiseFileName(input)).toBe(expected);
  });

  it('composes decomposed Unicode (NFC), so the same name is the same bytes', () => {
    expect(sanitiseFileName('Зи\u0306ми.jpg')).toBe('З\u0439ми.jpg');
  });

  it('cuts long names to MAX_NAME_BYTES of UTF-8, keeping the extension and whole characters', () => {
    const name = sanitiseFileName(`${'ж'.repeat(200)}.jpeg`);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(name.endsWith('.jpeg')).toBe(true);
    expect(name).not.toContain('\ufffd');
  });

  it('never yields a path, an invisible character or an over-long name, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (input) => {
        const name = sanitiseFileName(input);
        expect(name.length).toBeGreaterThan(0);
        expect(name).not.toMatch(/[/\\]/);
        expect(name).not.toMatch(/^\.|^\s|\s$|\.$/);
         
        expect(name).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
      }),
      { numRuns: 2000 },
    );
  });
});
