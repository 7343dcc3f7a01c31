import { describe, expect, it } from 'vitest';
import { cleanFileName } from './evidence.service.js';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('cleanFileName', () => {
  it('cuts a long name at 255 UTF-16 units on a code point boundary: an emoji across the cut goes whole', () => {
    const name = `${'a'.repeat(254)}📷.jpg`;
    const cleaned = cleanFileName(name)!;
    expect(LONE_SURROGATE.test(cleaned)).toBe(false);
    expect(cleaned).toBe('a'.repeat(254));
    expect(cleanFileName(`${'a'.repeat(253)}📷.jpg`)).toBe(`${'a'.repeat(253)}📷`);
    expect(cleanFileName('a'.repeat(300))).toBe('a'.repeat(255));
  });

  it('normalises to NFC, removes control characters, trims; blank is no name', () => {
    expect(cleanFileName('  Cafe\u0301\u0000\u0085 photo\t.jpg ')).toBe('Café photo.jpg');
    expect(cleanFileName(' \u0007 ')).toBeNull();
    expect(cleanFileName(null)).toBeNull();
  });
});
