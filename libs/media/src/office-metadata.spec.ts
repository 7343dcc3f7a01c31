import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPECTED_METADATA } from '../../../test/fixtures/media/expected-metadata.js';
import { readOfficeMetadata } from './office-metadata.js';
import { readArchiveFiles } from './zip-archive.js';
import { zipOf } from './test-support/archives.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());


const core = (inner: string) =>
  `<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">${inner}</cp:coreProperties>`;

describe('readOfficeMetadata', () => {
  it("reads a Word file's core and app parts, and an OpenDocument file's meta.xml, as ExifTool does", async () => {
    // ExifTool 12.57 (with Archive::Zip) on the same files: the values in test/fixtures/media/README.md.
    for (const name of ['statement.docx', 'statement.odt']) {
      expect(await readOfficeMetadata(fixture(name)), name).toEqual({ ...EXPECTED_METADATA[name]!.document, notes: [] });
    }
  });

  it("counts a PowerPoint file's slides as its pages", async () => {
    const app = '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Slides>12</Slides><Application>Microsoft Office PowerPoint</Application></Properties>';
    const read = await readOfficeMetadata(scratch.write('briefing.pptx', await zipOf([['docProps/core.xml', core('<dc:title>Briefing</dc:title>')], ['docProps/app.xml', app]])));
    expect(read).toMatchObject({ pages: 12, title: 'Briefing', creator: 'Microsoft Office PowerPoint', notes: [] });
  });

  it('is null for a ZIP that is not an office document (an archive, an EPUB without these parts)', async () => {
    expect(await readOfficeMetadata(scratch.write('photos.zip', await zipOf([['IMG_0001.JPG', 'not really a photo']])))).toBeNull();
  });

  it('takes another prefix for a namespace, and leaves out what is not a page count or a date, saying so', async () => {
    const other = `<?xml version="1.0"?><props xmlns:t="http://purl.org/dc/elements/1.1/" xmlns:w="http://purl.org/dc/terms/"><t:title>Report</t:title><w:created>yesterday</w:created></props>`;
    const app = '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Pages>-3</Pages></Properties>';
    const read = await readOfficeMetadata(scratch.write('odd.docx', await zipOf([['docProps/core.xml', other], ['docProps/app.xml', app]])));
    expect(read).toMatchObject({ title: 'Report', pages: null, createdAt: null, notes: ['Office document: dcterms:created ("yesterday") is not a date'] });
  });

  it('reads no part over 64 KiB, and gives a note, not an exception, for a damaged or cut ZIP', async () => {
    const big = await zipOf([['docProps/core.xml', core(`<dc:title>${'x'.repeat(70 * 1024)}</dc:title>`)]]);
    expect((await readOfficeMetadata(scratch.write('big.docx', big)))!.notes).toEqual(['Office document: docProps/core.xml is over 64 KiB; not read']);
    const whole = readFileSync(fixture('statement.docx'));
    const cut = await readOfficeMetadata(scratch.write('cut.docx', whole.subarray(0, whole.length - 30)));
    expect(cut!.notes[0]).toMatch(/^ZIP: the archive cannot be read/);
    // A part that inflates to more than its entry declares stops at the declared size.
    const lying = Buffer.from(await zipOf([['docProps/core.xml', core('<dc:title>Statement</dc:title>')]]));
    const central = lying.lastIndexOf(Buffer.from('PK\x01\x02', 'latin1'));
    lying.writeUInt32LE(10, central + 24); // the central directory's uncompressed size
    const short = await readOfficeMetadata(scratch.write('lying.docx', lying));
    expect(short!.title).toBeNull();
    expect(short!.notes[0]).toMatch(/^ZIP: the archive is damaged/);
  });

  it('walks at most 10,000 entries: a part past them is not found, and the ZIP is listed as an archive, as far', async () => {
    const many = scratch.write('many.docx', await zipOf([...Array.from({ length: 10_001 }, (_, i): [string, string] => [`f/${i}`, '']), ['docProps/core.xml', core('<dc:title>Late</dc:title>')]]));
    expect(await readOfficeMetadata(many)).toBeNull();
    const listed = await readArchiveFiles(many);
    expect(listed.attachments).toHaveLength(1000);
    expect(listed.notes).toEqual(['ZIP: more than 10000 entries; the rest were not looked at', 'ZIP: 10000 files; the first 1000 are listed']);
  }, 60_000);
});
