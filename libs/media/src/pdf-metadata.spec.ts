import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_DOCUMENT_FACTS } from '../../../test/fixtures/media/expected-metadata.js';
import { extractEmbeddedMetadata } from './metadata.js';
import { parsePdfDate, pdfText, readPdfMetadata, type PdfMetadata } from './pdf-metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());
let counter = 0;
const read = (bytes: Buffer) => readPdfMetadata(scratch.write(`doc-${counter++}.pdf`, bytes));

const EMPTY: PdfMetadata = { ...NO_DOCUMENT_FACTS, notes: [] };

type Objects = Array<[number, string | Buffer]>;

/** A PDF with a classic xref table; `startxref` may be moved to test broken files. */
function buildPdf(objects: Objects, trailer: string, opts: { startxref?: (real: number) => number | string; noTail?: boolean } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n')];
  const offsets = new Map<number, number>();
  let length = parts[0].length;
  for (const [num, body] of objects) {
    offsets.set(num, length);
    const bytes = Buffer.concat([Buffer.from(`${num} 0 obj\n`), Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'), Buffer.from('\nendobj\n')]);
    parts.push(bytes);
    length += bytes.length;
  }
  const size = Math.max(...offsets.keys()) + 1;
  let xref = `xref\n0 ${size}\n0000000000 65535 f \n`;
  for (let n = 1; n < size; n++) xref += offsets.has(n) ? `${String(offsets.get(n)).padStart(10, '0')} 00000 n \n` : '0000000000 65535 f \n';
  const startxref = opts.startxref ? opts.startxref(length) : length;
  if (!opts.noTail) parts.push(Buffer.from(`${xref}trailer\n<< /Size ${size} ${trailer} >>\nstartxref\n${startxref}\n%%EOF\n`));
  return Buffer.concat(parts);
}

const stream = (dict: string, data: Buffer | string, length?: number) => {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  return Buffer.concat([Buffer.from(`<< ${dict} /Length ${length ?? bytes.length} >>\nstream\n`), bytes, Buffer.from('\nendstream')]);
};

const pages = (count: number): Objects => [
  [1, '<< /Type /Catalog /Pages 2 0 R >>'],
  [2, `<< /Type /Pages /Kids [3 0 R] /Count ${count} >>`],
  [3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>'],
];
const INFO = "<< /Title (Report) /Author (Anna) /CreationDate (D:20240224051233+02'00') /ModDate (D:20240301120000Z) /Producer (qpdf) >>";
const simple = (extra: Partial<{ startxref: (real: number) => number | string }> = {}) => buildPdf([...pages(3), [4, INFO]], '/Root 1 0 R /Info 4 0 R', extra);

describe('parsePdfDate', () => {
  it.each([
    ["D:20240224051233+02'00'", '2024-02-24T03:12:33.000Z', '+02:00'],
    ["D:20240224051233-05'30'", '2024-02-24T10:42:33.000Z', '-05:30'],
    ["D:20240224051233-05'30", '2024-02-24T10:42:33.000Z', '-05:30'],
    ['20240224051233+0200', '2024-02-24T03:12:33.000Z', '+02:00'],
    ['D:20240224051233Z', '2024-02-24T05:12:33.000Z', '+00:00'],
    ["D:20240224051233Z00'00'", '2024-02-24T05:12:33.000Z', '+00:00'],
    ['D:20240224051233', '2024-02-24T05:12:33', null],
    ['D:202402240512', '2024-02-24T05:12:00', null],
    ['D:20240224', '2024-02-24T00:00:00', null],
  ])('%s', (text, capturedAt, offset) => {
    expect(parsePdfDate(text)).toEqual({ capturedAt, capturedAtOffset: offset });
  });

  it('refuses what is not a date', () => {
    for (const bad of ['', 'D:', 'D:2024', 'D:20241332000000', 'D:20240230120000', 'yesterday', "D:20240224051233+25'00'"]) expect(parsePdfDate(bad), bad).toBeNull();
  });
});

describe('pdfText', () => {
  it('decodes UTF-16BE and UTF-8 with their marks, and PDFDocEncoding', () => {
    expect(pdfText(Buffer.from('feff041e043a0441', 'hex'))).toBe('Окс');
    expect(pdfText(Buffer.from('\xef\xbb\xbfKyiv \xd0\x9a', 'latin1'))).toBe('Kyiv К');
    expect(pdfText(Buffer.from([0x41, 0x92, 0x20, 0x80, 0x20, 0xe9]))).toBe('A™ • é');
  });
});

describe('readPdfMetadata on the fixtures', () => {
  const report = {
    pages: 2,
    title: 'Damage assessment: Saltivka (draft)',
    author: 'Оксана Коваленко',
    lastModifiedBy: null,
    creator: 'LibreOffice Writer',
    producer: 'LibreOffice 7.5',
    createdAt: '2024-02-24T03:12:33.000Z',
    createdAtOffset: '+02:00',
    modifiedAt: '2024-03-01T12:00:00.000Z',
    modifiedAtOffset: '+00:00',
    notes: [],
  };

  it('document.pdf: Info after an incremental update (a /Prev chain), UTF-16 author, XMP', async () => {
    expect(await readPdfMetadata(fixture('document.pdf'))).toEqual(report);
  });

  it('document-objstm.pdf: catalog and Info in a compressed object stream, a predicted xref stream', async () => {
    expect(await readPdfMetadata(fixture('document-objstm.pdf'))).toEqual(report);
  });

  // An outside audit: PDFs protected only by an owner password (printing or copying restricted,
  // opened by anyone) lost all their metadata; ExifTool reads them. Made from document.pdf by qpdf.
  it.each(['document-rc4-40.pdf', 'document-rc4-128.pdf', 'document-aes128.pdf', 'document-aes256-r5.pdf', 'document-aes256-objstm.pdf'])(
    '%s: encrypted with an empty user password, read as the clear document is',
    async (name) => {
      expect(await readPdfMetadata(fixture(name))).toEqual(report);
    },
  );

  it('document-xmp-aes256.pdf: an encrypted XMP metadata stream is decrypted', async () => {
    expect(await readPdfMetadata(fixture('document-xmp-aes256.pdf'))).toMatchObject({
      pages: 1,
      title: 'Звіт про обстріл Харкова',
      author: 'Марія Шевченко',
      createdAt: '2024-05-10T11:20:00.000Z',
      createdAtOffset: '+03:00',
      notes: [],
    });
  });

  it('document-user-password.pdf: a document that needs a password keeps its metadata encrypted, and says so', async () => {
    const meta = await readPdfMetadata(fixture('document-user-password.pdf'));
    expect(meta).toMatchObject({ pages: 2, title: null, author: null, createdAt: null });
    expect(meta?.notes).toContain('PDF: the document is encrypted and it needs a password to open: its text strings and compressed streams were not decrypted');
  });

  it('not-an-image.pdf: one page and nothing else', async () => {
    expect(await readPdfMetadata(fixture('not-an-image.pdf'))).toEqual({ ...EMPTY, pages: 1 });
  });

  it('is silent about files that are not PDFs', async () => {
    for (const name of ['apple.mov', 'scene-a.jpg', 'clip.webm', 'random.bin']) expect(await readPdfMetadata(fixture(name)), name).toBeNull();
  });
});

describe('readPdfMetadata on built documents', () => {
  it('falls back to XMP (compressed, element form, any prefix) when there is no Info', async () => {
    const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <rdf:Description rdf:about="" xmlns:basic="http://ns.adobe.com/xap/1.0/" xmlns:d="http://purl.org/dc/elements/1.1/">
        <basic:CreateDate>2023-10-07T06:30:00+03:00</basic:CreateDate>
        <basic:ModifyDate>2023-10-08T07:00:00</basic:ModifyDate>
        <basic:CreatorTool>Scanner &amp; Co</basic:CreatorTool>
        <d:title><rdf:Alt><rdf:li xml:lang="uk">Звіт</rdf:li><rdf:li xml:lang="x-default">Report &lt;1&gt;</rdf:li></rdf:Alt></d:title>
        <d:creator><rdf:Seq><rdf:li>Anna</rdf:li><rdf:li>Bohdan</rdf:li></rdf:Seq></d:creator>
      </rdf:Description></rdf:RDF></x:xmpmeta>`;
    const objects: Objects = [
      [1, '<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>'],
      ...pages(1).slice(1),
      [4, stream('/Type /Metadata /Subtype /XML /Filter /FlateDecode', deflateSync(Buffer.from(xmp)))],
    ];
    expect(await read(buildPdf(objects, '/Root 1 0 R'))).toEqual({
      ...EMPTY,
      pages: 1,
      title: 'Report <1>',
      author: 'Anna; Bohdan',
      creator: 'Scanner & Co',
      createdAt: '2023-10-07T03:30:00.000Z',
      createdAtOffset: '+03:00',
      modifiedAt: '2023-10-08T07:00:00',
    });
  });

  it('a startxref pointing outside the file: found by scanning, and said', async () => {
    const meta = await read(simple({ startxref: () => 10_000_000 }));
    expect(meta).toMatchObject({ pages: 3, title: 'Report', author: 'Anna', createdAt: '2024-02-24T03:12:33.000Z' });
    expect(meta?.notes.join()).toMatch(/startxref points outside the file \(byte 10000000 of \d+\)/);
    const negative = await read(simple({ startxref: () => '-5' }));
    expect(negative?.notes.length).toBeGreaterThan(0);
    expect(negative?.pages).toBe(3);
  });

  it('a startxref a few bytes off, or pointing at an object that is no xref', async () => {
    const off = await read(simple({ startxref: (real) => real + 3 }));
    expect(off).toMatchObject({ pages: 3, title: 'Report' });
    expect(off?.notes.join()).toMatch(/is off by -3 bytes/);
    const wrong = await read(simple({ startxref: () => 9 }));
    expect(wrong).toMatchObject({ pages: 3, title: 'Report' });
    expect(wrong?.notes.join()).toMatch(/cross-reference stream at byte 9 is unreadable|does not point at a cross-reference section/);
  });

  it('no trailer at all (cut before the xref): found by scanning, and said', async () => {
    const meta = await read(buildPdf([...pages(2), [4, INFO]], '', { noTail: true }));
    expect(meta).toMatchObject({ pages: 2, title: null });
    expect(meta?.notes.join()).toMatch(/no startxref/);
  });

  it('a /Prev that loops, an xref entry that points elsewhere', async () => {
    const looping = buildPdf([...pages(1), [4, INFO]], '/Root 1 0 R /Info 4 0 R /Prev 9');
    const xrefAt = looping.lastIndexOf('xref\n0 5');
    const self = Buffer.from(looping.toString('latin1').replace('/Prev 9', `/Prev ${xrefAt}`), 'latin1');
    const meta = await read(self);
    expect(meta).toMatchObject({ pages: 1, title: 'Report' });

    const shifted = Buffer.from(buildPdf([...pages(1), [4, INFO]], '/Root 1 0 R /Info 4 0 R').toString('latin1').replace(/\n(\d{10}) 00000 n \n(?=trailer)/, (_, n: string) => `\n${String(Number(n) + 5).padStart(10, '0')} 00000 n \n`), 'latin1');
    const fixed = await read(shifted);
    expect(fixed).toMatchObject({ pages: 1, title: 'Report' });
    expect(fixed?.notes.join()).toMatch(/the cross-reference entry of object 4 points elsewhere/);
  });

  it('an encrypted document: page count only, and says why', async () => {
    const meta = await read(buildPdf([...pages(4), [4, INFO], [5, '<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>']], '/Root 1 0 R /Info 4 0 R /Encrypt 5 0 R'));
    expect(meta).toMatchObject({ pages: 4, title: null, createdAt: null });
    expect(meta?.notes.join()).toMatch(/encrypted/);
  });

  it('a wrong stream /Length, an unsupported filter, an inflate bomb', async () => {
    const xmp = '<x:xmpmeta><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Found anyway</dc:title></rdf:Description></x:xmpmeta>';
    const withXmp = (metadata: Buffer): Objects => [[1, '<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>'], ...pages(1).slice(1), [4, metadata]];
    expect((await read(buildPdf(withXmp(stream('/Type /Metadata', xmp, 7)), '/Root 1 0 R')))?.title).toBe('Found anyway');

    const lzw = await read(buildPdf(withXmp(stream('/Type /Metadata /Filter /LZWDecode', 'xxxx')), '/Root 1 0 R'));
    expect(lzw?.notes.join()).toMatch(/XMP metadata stream is encoded with LZWDecode, which is not supported/);

    const bomb = deflateSync(Buffer.alloc(20 * 1024 * 1024));
    const boom = await read(buildPdf(withXmp(stream('/Type /Metadata /Filter /FlateDecode', bomb)), '/Root 1 0 R'));
    expect(boom).toMatchObject({ pages: 1, title: null });
    expect(boom?.notes.join()).toMatch(/inflates past 16777216 bytes/);

    const corrupt = await read(buildPdf(withXmp(stream('/Type /Metadata /Filter /FlateDecode', 'not zlib')), '/Root 1 0 R'));
    expect(corrupt?.notes.join()).toMatch(/does not inflate/);
  });

  it('reads at most 64 MiB of inflated streams from one file: a hundred small cross-reference streams of 16 MiB each are not all kept', async () => {
    // No startxref, so the objects are found by scanning; each stream is deflated twice.
    const data = deflateSync(deflateSync(Buffer.alloc(16 * 1024 * 1024)));
    const parts: Buffer[] = [Buffer.from('%PDF-1.7\n')];
    for (let num = 1; num <= 100; num++) {
      parts.push(Buffer.from(`${num} 0 obj\n<< /Type /XRef /W [1 1 1] /Size 1 /Filter [/FlateDecode /FlateDecode] /Length ${data.length} >>\nstream\n`), data, Buffer.from('\nendstream\nendobj\n'));
    }
    const file = Buffer.concat(parts);
    expect(file.length).toBeLessThan(100_000);
    const before = process.memoryUsage().arrayBuffers;
    const found = await read(file);
    expect(found?.notes.join('\n')).toMatch(/more than 64 cross-reference streams found by scanning; older ones not read/);
    expect(found?.notes.join('\n')).toMatch(/inflates past what is left of the 67108864 bytes the file's streams may inflate to together; not read/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 1024 * 1024);
  }, 30_000);

  it('deep nesting, absurd page counts, a self-referencing /Length', async () => {
    const deep = `<< /Title (x) /Junk ${'['.repeat(10_000)}${']'.repeat(10_000)} >>`;
    const nested = await read(buildPdf([...pages(1), [4, deep]], '/Root 1 0 R /Info 4 0 R'));
    expect(nested).toMatchObject({ pages: 1, title: null });
    expect(nested?.notes.join()).toMatch(/Info dictionary is unreadable/);

    const absurd = await read(buildPdf(pages(1e12), '/Root 1 0 R'));
    expect(absurd?.pages).toBeNull();
    expect(absurd?.notes.join()).toMatch(/no usable \/Count/);

    const selfLength: Objects = [[1, '<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>'], ...pages(1).slice(1), [4, '<< /Length 4 0 R >>\nstream\nabc\nendstream']];
    expect((await read(buildPdf(selfLength, '/Root 1 0 R')))?.pages).toBe(1);
  });

  /** Offsets where a revision's pieces start and end: objects, xref, trailer, startxref, %%EOF. */
  function boundaries(bytes: Buffer): number[] {
    const text = bytes.toString('latin1');
    const cuts = new Set<number>();
    for (const pattern of [/\d+ 0 obj/g, /endobj\n?/g, /xref\n/g, /trailer\n?/g, /startxref\n?/g, /%%EOF\n?/g, /stream\n/g, /endstream/g]) {
      for (let m = pattern.exec(text); m; m = pattern.exec(text)) cuts.add(m.index).add(m.index + m[0].length);
    }
    cuts.delete(bytes.length);
    return [...cuts].sort((a, b) => a - b);
  }

  it.each(['document.pdf', 'document-objstm.pdf', 'not-an-image.pdf'])('truncated at every object boundary of %s', async (name) => {
    const bytes = readFileSync(fixture(name));
    const cuts = boundaries(bytes);
    expect(cuts.length).toBeGreaterThan(15);
    for (const cut of cuts) {
      const part = bytes.subarray(0, cut);
      const meta = await read(part);
      if (cut < 5) {
        expect(meta, `cut at ${cut}`).toBeNull();
        continue;
      }
      // A cut right after an earlier revision's %%EOF is that revision, complete.
      if (/%%EOF\s*$/.test(part.toString('latin1'))) expect(meta?.pages, `cut at ${cut}`).toBeGreaterThan(0);
      else expect(meta?.notes.length, `cut at ${cut}`).toBeGreaterThan(0);
    }
    for (const cut of cuts.filter((_, i) => i % 6 === 0)) {
      expect(await extractEmbeddedMetadata(scratch.write(`cut-${cut}-${name}`, bytes.subarray(0, cut)))).not.toBeUndefined();
    }
  });

  it('a 2 GiB sparse PDF costs a few small reads; a broken one is scanned only 16 MiB deep', async () => {
    const head = buildPdf([...pages(7), [4, INFO]], '/Root 1 0 R /Info 4 0 R');
    const xrefAt = head.lastIndexOf('\nxref\n') + 1;
    const body = head.subarray(0, xrefAt);
    const tail = head.subarray(xrefAt);
    const gap = 2 ** 31;
    const write = (name: string, tailBytes: Buffer) => {
      const file = scratch.path(name);
      const fd = openSync(file, 'w');
      writeSync(fd, body, 0, body.length, 0);
      writeSync(fd, tailBytes, 0, tailBytes.length, body.length + gap);
      closeSync(fd);
      return file;
    };
    const goodTail = Buffer.from(tail.toString('latin1').replace(/startxref\n\d+/, `startxref\n${body.length + gap}`), 'latin1');
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    expect(await readPdfMetadata(write('big.pdf', goodTail))).toMatchObject({ pages: 7, title: 'Report', notes: [] });
    expect(performance.now() - started).toBeLessThan(1000);
    const broken = await readPdfMetadata(write('big-broken.pdf', Buffer.from(tail.toString('latin1').replace(/startxref\n\d+/, 'startxref\n99999999999'), 'latin1')));
    expect(broken?.pages).toBe(7); // the objects sit in the first 16 MiB
    expect(broken?.notes.join()).toMatch(/only the first 16777216 bytes were scanned/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(128 * 1024 * 1024);
  });
});
