import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ZipArchive } from 'archiver';
import { takeCarriedFile } from './message-attachment.js';
import { readArchiveFiles } from './zip-archive.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

interface PythonReading {
  name: string;
  sizeBytes: number;
  encrypted: boolean;
  dosTime: string;
  sha256?: string;
}
const python = (name: string): PythonReading[] => JSON.parse(readFileSync(fixture(`${name}.python-zipfile.json`), 'utf8'));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A ZIP of these entries, written by archiver (deflated unless `store`). */
async function zipOf(entries: [string, string | Buffer][], store = false): Promise<Buffer> {
  const archive = new ZipArchive({ zlib: { level: 6 }, store });
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => archive.on('end', resolve));
  for (const [name, content] of entries) archive.append(Buffer.from(content), { name, date: new Date('2025-11-04T03:05:08Z') });
  await archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** What the store does with a file taken out: its bytes and their SHA-256, and whether it was discarded. */
async function collect(source: Readable) {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const result = { bytes, sha256: sha256(bytes), discarded: false, discard: async () => void (result.discarded = true) };
  return result;
}

describe('readArchiveFiles', () => {
  it("lists a phone export's files as Python's zipfile reads them: names, sizes, SHA-256 of what decompresses, times", async () => {
    const read = await readArchiveFiles(fixture('photos-export.zip'));
    const reference = python('photos-export.zip');
    expect(read.attachments!.map(({ name, sizeBytes, sha256 }) => ({ name, sizeBytes, sha256 }))).toEqual(reference.map(({ name, sizeBytes, sha256 }) => ({ name, sizeBytes, sha256 })));
    // The photo's Info-ZIP time field is a UTC instant; the others have the DOS time only, zone-less.
    expect(read.attachments!.map((file) => file.modifiedAt)).toEqual(reference.map((file, i) => (i === 0 ? '2025-11-04T03:05:07Z' : file.dosTime)));
    expect(read.attachments!.every((file) => file.mediaType === null && file.inline === false)).toBe(true);
    // The files are the fixtures' own bytes.
    expect(read.attachments![0]!.sha256).toBe(sha256(readFileSync(fixture('exif-nw-no-offset.jpg'))));
    expect(read.attachments![1]!.sha256).toBe(sha256(readFileSync(fixture('not-an-image.pdf'))));
    // A name in Windows' code page 866 with no UTF-8 mark reads as the format says (437), with a note.
    expect(read.attachments![2]!.name).toBe('Σ«Γ«_01.jpg');
    expect(read.notes).toEqual([
      'ZIP: 1 names are not marked as UTF-8 and were read as code page 437, as the format says; Windows writes them in its own code page (866 where it runs in Ukrainian or Russian), so such names may read wrongly',
    ]);
    expect(read).toMatchObject({ title: null, author: null, createdAt: null, pages: null });
  });

  it('leaves out encrypted files with a note, and lists the rest', async () => {
    const read = await readArchiveFiles(fixture('encrypted.zip'));
    const [open] = python('encrypted.zip');
    expect(read.attachments).toEqual([{ name: open!.name, mediaType: null, sizeBytes: open!.sizeBytes, sha256: open!.sha256, inline: false, modifiedAt: open!.dosTime }]);
    expect(read.notes).toEqual(['ZIP: 1 files are encrypted; they are not listed']);
  });

  it('lists at most 1,000 files and hashes at most the budget, saying what it left out', async () => {
    const many = await readArchiveFiles(scratch.write('many.zip', await zipOf(Array.from({ length: 1005 }, (_, i) => [`f/${i}.txt`, `file ${i}`]))));
    expect(many.attachments).toHaveLength(1000);
    expect(many.attachments!.at(-1)!.name).toBe('f/999.txt');
    expect(many.notes).toEqual(['ZIP: 1005 files; the first 1000 are listed']);
    // 64 MiB of zeros deflate to 64 KiB: past a budget of 1 MiB they are counted, never inflated.
    const bomb = scratch.write('bomb.zip', await zipOf([['a.txt', 'a'.repeat(80)], ['zeros.bin', Buffer.alloc(64 * 1024 * 1024)], ['b.txt', 'b'.repeat(80)]]));
    const read = await readArchiveFiles(bomb, { hashedBytes: 1024 * 1024 });
    expect(read.attachments!.map((file) => file.name)).toEqual(['a.txt', 'b.txt']);
    expect(read.notes).toEqual([`ZIP: 1 files (${64 * 1024 * 1024} bytes) are past the 1048576 bytes hashed when an archive arrives; they are not listed`]);
  });

  it('lists names that would be dangerous as paths as the names they are', async () => {
    const names = ['../../etc/passwd', '/root/.ssh/authorized_keys', 'C:/Windows/evil.dll', 'a\\b.txt'];
    // archiver cleans names, so each is written as a stand-in of its length and then put in place.
    let zip = await zipOf(names.map((name, i) => [String.fromCharCode(97 + i).repeat(name.length), name]), true);
    for (const [i, name] of names.entries()) zip = Buffer.from(zip.toString('latin1').replaceAll(String.fromCharCode(97 + i).repeat(name.length), name), 'latin1');
    const read = await readArchiveFiles(scratch.write('hostile.zip', zip));
    // A backslash reads as a forward slash, as yauzl reads a .NET bug's names.
    expect(read.attachments!.map((file) => file.name)).toEqual(['../../etc/passwd', '/root/.ssh/authorized_keys', 'C:/Windows/evil.dll', 'a/b.txt']);
    expect(read.notes).toEqual([]);
  });

  it('says where an archive is damaged: a file that does not match its CRC-32, one that does not decompress, a cut archive', async () => {
    const stored = Buffer.from(await zipOf([['one.txt', 'first file'], ['two.txt', 'second file']], true));
    const flipped = Buffer.from(stored);
    flipped[flipped.indexOf('first file') + 2] ^= 0x20;
    const crc = await readArchiveFiles(scratch.write('crc.zip', flipped));
    expect(crc.attachments!.map((file) => [file.name, file.sha256])).toEqual([['one.txt', sha256(Buffer.from('fiRst file'))], ['two.txt', sha256(Buffer.from('second file'))]]);
    expect(crc.notes).toEqual(['ZIP: "one.txt" does not match its CRC-32: the archive is damaged there; listed as it decompresses']);

    const deflated = Buffer.from(await zipOf([['one.txt', 'x'.repeat(5000)], ['two.txt', 'second file']]));
    deflated.fill(0xff, 40, 60); // inside one.txt's deflated data, just past its local header
    const broken = await readArchiveFiles(scratch.write('broken.zip', deflated));
    expect(broken.attachments!.map((file) => file.name)).toEqual(['two.txt']);
    expect(broken.notes).toHaveLength(1);
    expect(broken.notes[0]).toMatch(/^ZIP: "one\.txt" cannot be decompressed \(.+\); not listed$/);

    const cut = await readArchiveFiles(scratch.write('cut.zip', stored.subarray(0, stored.length - 30)));
    expect(cut.attachments).toBeUndefined();
    expect(cut.notes).toHaveLength(1);
    expect(cut.notes[0]).toMatch(/^ZIP: the archive cannot be read/);
  });
});

describe('takeCarriedFile from an archive', () => {
  it('gives back each listed file byte for byte, found by name, size and the SHA-256 it was listed with', async () => {
    const path = fixture('photos-export.zip');
    const { attachments } = await readArchiveFiles(path);
    const expected = [readFileSync(fixture('exif-nw-no-offset.jpg')), readFileSync(fixture('not-an-image.pdf')), readFileSync(fixture('scene-a.jpg'))];
    for (const [i, bytes] of expected.entries()) expect((await takeCarriedFile(path, attachments![i]!, collect))?.bytes).toEqual(bytes);
  });

  it('gives nothing, and discards what it took, when no file of that name and size has that SHA-256', async () => {
    const path = fixture('photos-export.zip');
    const [photo] = (await readArchiveFiles(path)).attachments!;
    const taken: Awaited<ReturnType<typeof collect>>[] = [];
    const keep = async (source: Readable) => {
      const result = await collect(source);
      taken.push(result);
      return result;
    };
    expect(await takeCarriedFile(path, { ...photo!, sha256: 'ab'.repeat(32) }, keep)).toBeNull();
    expect(taken.map((result) => result.discarded)).toEqual([true]);
    expect(await takeCarriedFile(path, { ...photo!, name: 'DCIM/other.jpg' }, keep)).toBeNull();
    expect(taken).toHaveLength(1);
  });
});
