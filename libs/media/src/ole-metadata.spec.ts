import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPECTED_METADATA, NO_DOCUMENT_FACTS } from '../../../test/fixtures/media/expected-metadata.js';
import { readOleMetadata } from './ole-metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';
import { compoundFile, DOCUMENT_SUMMARY_FMTID, propertySetStream, SUMMARY_FMTID, windows1251 } from './test-support/compound.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

const SUMMARY = '\x05SummaryInformation';
const DOCUMENT_SUMMARY = '\x05DocumentSummaryInformation';

async function read(bytes: Buffer, name = 'file.doc'): ReturnType<typeof readOleMetadata> {
  const handle = await open(scratch.write(name, bytes), 'r');
  try {
    return await readOleMetadata(handle, bytes.length);
  } finally {
    await handle.close();
  }
}

/** A Word 97-2003 file's summary as a Ukrainian Windows' Word writes it: code page 1251. */
const wordSummary = propertySetStream(SUMMARY_FMTID, [
  [1, { i2: 1251 }],
  [2, { lpstr: windows1251('Свідчення щодо удару') }],
  [4, { lpstr: windows1251('Олена Коваль') }],
  [8, { lpstr: windows1251('Слідчий') }],
  [10, { filetime: 12n * 60n * 10_000_000n }], // Total Edit Time: 12 minutes, a duration
  [12, { filetime: new Date('2024-02-24T07:15:00Z') }],
  [13, { filetime: new Date('2024-02-25T09:30:00Z') }],
  [14, { i4: 3 }],
  [18, { lpstr: Buffer.from('Microsoft Office Word') }],
]);

describe('readOleMetadata', () => {
  it("reads LibreOffice's own .doc, .xls and .ppt as ExifTool does, the Word file's pages from its document properties", async () => {
    // ExifTool 12.57 on the same files: the values in test/fixtures/media/README.md.
    for (const name of ['statement-libreoffice.doc', 'losses-libreoffice.xls', 'briefing-libreoffice.ppt']) {
      const bytes = readFileSync(fixture(name));
      expect(await read(bytes, name), name).toEqual({ ...EXPECTED_METADATA[name]!.document, notes: [] });
    }
  });

  it("decodes a summary in the file's code page, takes its pages and program, and leaves the edit time out of the dates", async () => {
    expect(await read(compoundFile({ WordDocument: Buffer.alloc(1024), [SUMMARY]: wordSummary }))).toEqual({
      pages: 3,
      title: 'Свідчення щодо удару',
      author: 'Олена Коваль',
      lastModifiedBy: 'Слідчий',
      creator: 'Microsoft Office Word',
      producer: null,
      createdAt: '2024-02-24T07:15:00.000Z',
      createdAtOffset: '+00:00',
      modifiedAt: '2024-02-25T09:30:00.000Z',
      modifiedAtOffset: '+00:00',
      notes: [],
    });
  });

  it("counts a PowerPoint file's slides, from its document summary, as its pages; reads UTF-16 strings of either kind", async () => {
    const summary = propertySetStream(SUMMARY_FMTID, [
      [1, { i2: 1200 }],
      [2, { lpstr: Buffer.from('Брифінг', 'utf16le'), wide: true }],
      [4, { lpwstr: 'Олена Коваль' }],
    ]);
    const slides = propertySetStream(DOCUMENT_SUMMARY_FMTID, [[1, { i2: 1252 }], [7, { i4: 12 }]]);
    // A summary much larger than the mini stream's limit, as a presentation's thumbnail makes it.
    const thumbnail = Buffer.alloc(300_000, 0x5a);
    const read1 = await read(compoundFile({ 'PowerPoint Document': Buffer.alloc(64), [SUMMARY]: Buffer.concat([summary, thumbnail]), [DOCUMENT_SUMMARY]: slides }), 'briefing.ppt');
    expect(read1).toMatchObject({ pages: 12, title: 'Брифінг', author: 'Олена Коваль', notes: [] });
  });

  it("takes the root's summary, not an embedded object's; is null for a compound file that has none (an installer; a .msg without its property stream)", async () => {
    const embedded = propertySetStream(SUMMARY_FMTID, [[2, { lpstr: Buffer.from('Embedded chart') }]]);
    expect(await read(compoundFile({ WordDocument: Buffer.alloc(64), 'ObjectPool/_1234/\x05SummaryInformation': embedded }))).toBeNull();
    const both = await read(compoundFile({ 'ObjectPool/_1234/\x05SummaryInformation': embedded, [SUMMARY]: wordSummary }));
    expect(both!.title).toBe('Свідчення щодо удару');
    expect(await read(compoundFile({ __substg1: Buffer.from('a mail') }), 'mail.msg')).toBeNull();
  });

  it('says a password-protected Word, Excel or PowerPoint file is encrypted', async () => {
    const encrypted = compoundFile({ EncryptionInfo: Buffer.alloc(200), EncryptedPackage: Buffer.alloc(5000), [SUMMARY]: wordSummary });
    expect(await read(encrypted, 'secret.docx')).toEqual({ ...NO_DOCUMENT_FACTS, notes: ['Office document: encrypted (a password-protected Word, Excel or PowerPoint file); its properties cannot be read'] });
  });

  it('reads an unknown code page as Windows-1252 and says so; a set of another kind, a cut or looping file give notes', async () => {
    const odd = propertySetStream(SUMMARY_FMTID, [[1, { i2: 4242 }], [2, { lpstr: Buffer.from('Caf\xe9', 'latin1') }]]);
    expect(await read(compoundFile({ [SUMMARY]: odd }))).toMatchObject({ title: 'Café', notes: ['Office document: code page 4242 is not known here; its text was read as Windows-1252'] });

    const other = propertySetStream(DOCUMENT_SUMMARY_FMTID, [[2, { lpstr: Buffer.from('x') }]]);
    expect((await read(compoundFile({ [SUMMARY]: other })))!.notes).toEqual(['Office document: SummaryInformation cannot be read (the expected property set is missing)']);

    // The summary's set 4,800 bytes in: its stream is read through ten sectors of the FAT's chain.
    const far = Buffer.concat([wordSummary.subarray(0, 48), Buffer.alloc(4800 - 48), wordSummary.subarray(48)]);
    far.writeUInt32LE(4800, 44);
    const whole = compoundFile({ [SUMMARY]: far, WordDocument: Buffer.alloc(20_000) });
    expect(await read(whole)).toMatchObject({ title: 'Свідчення щодо удару', notes: [] });
    expect((await read(whole.subarray(0, 1024)))!.notes[0]).toMatch(/^Office document: the compound file cannot be read/);
    // Every sector its own successor in the FAT: the chain loops on its first step.
    const looping = Buffer.from(whole);
    const fatSector = looping.readUInt32LE(0x4c);
    for (let i = 0; i < 128; i++) looping.writeUInt32LE(i, (fatSector + 1) * 512 + i * 4);
    expect((await read(looping))!.notes).toEqual(['Office document: SummaryInformation cannot be read (a sector chain loops or points past the file end)']);
  });

  it('never throws, whatever bytes of a .doc, .xls or .ppt are changed or cut', async () => {
    const originals: Buffer[] = ['statement-libreoffice.doc', 'losses-libreoffice.xls', 'briefing-libreoffice.ppt'].map((name) => readFileSync(fixture(name)));
    originals.push(compoundFile({ [SUMMARY]: wordSummary, WordDocument: Buffer.alloc(600) }));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: originals.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.nat(), async (which, changes, cutAt) => {
        const bytes = Buffer.from(originals[which]!);
        for (const [at, value] of changes) bytes[at % bytes.length] = value;
        const result = await read(bytes.subarray(0, 8 + (cutAt % bytes.length)));
        if (result) expect(Array.isArray(result.notes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
