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

  it('removes bidirectional overrides, embeddings and isolates, which make a name read as another; keeps LRM and RLM', () => {
    // An outside audit: this name was kept as sent and shown as "invoiceexe.jpg".
    expect(cleanFileName('invoice\u202Egpj.exe')).toBe('invoicegpj.exe');
    expect(cleanFileName('\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069a.jpg')).toBe('a.jpg');
    expect(cleanFileName('صورة\u200F.jpg')).toBe('صورة\u200F.jpg');
  });
});
