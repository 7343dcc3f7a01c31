import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { terminalJson, visibleText } from './visible.js';

describe('visibleText', () => {
  it.each([
    ['a\u202Eb\u0000c\nd\ud800', 'a[U+202E]b[U+0000]c[U+000A]d\ufffd'],
    // A terminal's escapes: clear the line and go up (ESC [), the same as one C1 byte (CSI), a title (OSC).
    ['photo.jpg\u001b[2K\u001b[1AVERIFIED', 'photo.jpg[U+001B][2K[U+001B][1AVERIFIED'],
    ['x\u009b31mred', 'x[U+009B]31mred'],
    ['\u001b]0;title\u0007', '[U+001B]]0;title[U+0007]'],
    // A carriage return would let the rest of the line overwrite what came before it.
    ['FAIL\rOK  ', 'FAIL[U+000D]OK  '],
    ['tab\there', 'tab here'],
    ['invisible\u200b\u2060\ufeff\u061c', 'invisible[U+200B][U+2060][U+FEFF][U+061C]'],
    ['Знімок екрана 2026-11-20.png', 'Знімок екрана 2026-11-20.png'],
    ['👩‍👩‍👧 ZWJ stays', '👩‍👩‍👧 ZWJ stays'],
  ])('%j -> %j', (input, expected) => {
    expect(visibleText(input)).toBe(expected);
  });

  it('keeps line breaks in multi-line text, as line feeds', () => {
    expect(visibleText('one\r\ntwo\rthree\nfour', true)).toBe('one\ntwo\nthree\nfour');
  });

  it('leaves no control, format or lone surrogate in anything', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(visibleText(s)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      }),
    );
  });
});

describe('terminalJson', () => {
  it('is the same JSON with C1 controls and bidirectional overrides escaped', () => {
    const value = { name: 'a\u009b2Jb\u202egpj.exe', note: 'line\nnext', plain: 'Знімок' };
    const text = terminalJson(value, 2);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).toContain('a\\u009b2Jb\\u202egpj.exe');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
  });
});
