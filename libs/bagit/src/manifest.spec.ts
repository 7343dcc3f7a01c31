import { describe, expect, it } from 'vitest';
import { decodeManifestPath, encodeManifestPath, formatBagInfo, formatManifest, parseBagInfo, parseManifest, parseOxum } from './manifest.js';

const H = 'a'.repeat(64);

describe('manifests (RFC 8493 §2.1.3)', () => {
  it('percent-encodes %, CR and LF in paths and decodes them back', () => {
    const path = 'data/100%\r\nsure.jpg';
    expect(encodeManifestPath(path)).toBe('data/100%25%0D%0Asure.jpg');
    expect(decodeManifestPath(encodeManifestPath(path))).toBe(path);
    // Other percent sequences are not escapes: a file may really be named "%41".
    expect(decodeManifestPath('data/%41.txt')).toBe('data/%41.txt');
  });

  it('writes sorted `<digest>  <path>` lines and reads them back', () => {
    const text = formatManifest([
      { path: 'data/b.txt', digest: H },
      { path: 'data/a 1%.txt', digest: 'b'.repeat(64) },
    ]);
    expect(text).toBe(`${'b'.repeat(64)}  data/a 1%25.txt\n${H}  data/b.txt\n`);
    expect(parseManifest(text, 'sha256')).toEqual({
      entries: [
        { path: 'data/a 1%.txt', digest: 'b'.repeat(64) },
        { path: 'data/b.txt', digest: H },
      ],
      problems: [],
    });
  });

  it('reports, never skips, a line that is not a checksum and a path', () => {
    const text = `${H}  data/ok.txt\nnot a line\n${'z'.repeat(64)}  data/x\n${'a'.repeat(63)}  data/short\n${H}  ../escape\n${H}  /abs\n${H}  data/./x\n`;
    const { entries, problems } = parseManifest(text, 'sha256');
    expect(entries).toEqual([{ path: 'data/ok.txt', digest: H }]);
    expect(problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('wants 128 hex digits in a SHA-512 manifest', () => {
    expect(parseManifest(`${H}  data/a\n`, 'sha512').problems).toHaveLength(1);
    expect(parseManifest(`${'c'.repeat(128)}  data/a\n`, 'sha512').problems).toHaveLength(0);
  });
});

describe('bag-info.txt', () => {
  it('keeps every value on one line and reads continuation lines', () => {
    const text = formatBagInfo([
      ['Source-Organization', 'Kharkiv Human Rights Group'],
      ['Internal-Sender-Description', 'first line\r\n  second line'],
    ]);
    expect(text).toBe('Source-Organization: Kharkiv Human Rights Group\nInternal-Sender-Description: first line second line\n');
    expect(parseBagInfo('A: one\n  two\nB: x:y\n')).toEqual([
      ['A', 'one two'],
      ['B', 'x:y'],
    ]);
  });

  it('reads Payload-Oxum strictly', () => {
    expect(parseOxum('123.4')).toEqual({ bytes: 123, files: 4 });
    expect(parseOxum('123')).toBeNull();
    expect(parseOxum('1.2.3')).toBeNull();
    expect(parseOxum(undefined)).toBeNull();
  });
});
