import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { takeCarriedFile } from './message-attachment.js';
import { readArchiveFiles } from './zip-archive.js';
import { collect, zipOf } from './test-support/archives.js';
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



describe('readArchiveFiles', () => {
  it("lists a phone export's files as Python's zipfile reads them: names, sizes, SHA-256 of what decompresses, times", async () => {
    const read = await readArchiveFiles(fixture('photos-export.zip'));
    const reference = python('photos-export.zip');
    // Python reads the name in Windows' code page 866 as the format says (437); this reads it as written.
    expect(reference[2]!.name).toBe('Σ«Γ«_01.jpg');
    const asWritten = reference.map((file, i) => (i === 2 ? { ...file, name: 'фото_01.jpg' } : file));
    expect(read.attachments!.map(({ name, sizeBytes, sha256 }) => ({ name, sizeBytes, sha256 }))).toEqual(asWritten.map(({ name, sizeBytes, sha256 }) => ({ name, sizeBytes, sha256 })));
    // The photo's Info-ZIP time field is a UTC instant; the others have the DOS time only, zone-less.
    expect(read.attachments!.map((file) => file.modifiedAt)).toEqual(reference.map((file, i) => (i === 0 ? '2025-11-04T03:05:07Z' : file.dosTime)));
    expect(read.attachments!.every((file) => file.mediaType === null && file.inline === false)).toBe(true);
    // The files are the fixtures' own bytes.
    expect(read.attachments![0]!.sha256).toBe(sha256(readFileSync(fixture('exif-nw-no-offset.jpg'))));
    expect(read.attachments![1]!.sha256).toBe(sha256(readFileSync(fixture('not-an-image.pdf'))));
    expect(read.notes).toEqual([
      'ZIP: 1 names are not marked as UTF-8; they were read as Cyrillic in code page 866, as Windows (and 7-Zip) write them where Windows runs in Ukrainian or Russian; the format says code page 437, in which they would read as Latin letters and symbols',
    ]);
    expect(read).toMatchObject({ title: null, author: null, createdAt: null, pages: null });
  });

  it("reads names not marked as UTF-8 as their zipping program wrote them: UTF-8, Windows' Cyrillic (866), else code page 437", async () => {
    // Names as raw bytes, each written as an ASCII stand-in of its length and put in place, with the UTF-8 mark taken off.
    const unmarkedZip = async (names: Buffer[]) => {
      let zip = await zipOf(names.map((name, i) => [String.fromCharCode(97 + i).repeat(name.length), `file ${i}`]), true);
      for (const [i, name] of names.entries()) zip = Buffer.from(zip.toString('latin1').replaceAll(String.fromCharCode(97 + i).repeat(name.length), name.toString('latin1')), 'latin1');
      for (const [signature, flags] of [['PK\x03\x04', 6], ['PK\x01\x02', 8]] as const) {
        for (let at = zip.indexOf(signature, 0, 'latin1'); at >= 0; at = zip.indexOf(signature, at + 4, 'latin1')) zip.writeUInt16LE(zip.readUInt16LE(at + flags) & ~0x800, at + flags);
      }
      return readArchiveFiles(scratch.write('unmarked.zip', zip));
    };
    const names = async (raw: Buffer[]) => (await unmarkedZip(raw)).attachments!.map((file) => file.name);
    const utf8 = await unmarkedZip([Buffer.from('Звіт/фото.jpg'), Buffer.from('plain.txt')]);
    expect(utf8.attachments!.map((file) => file.name)).toEqual(['Звіт/фото.jpg', 'plain.txt']);
    expect(utf8.notes).toEqual(['ZIP: 1 names are not marked as UTF-8; they are UTF-8 (as some programs write them unmarked) and were read so']);
    // "Доказ фото.jpg" and "Протокол огляду.pdf" as Windows writes them in Ukrainian (code page 866).
    const doc = Buffer.from([0x84, 0xae, 0xaa, 0xa0, 0xa7, 0x20, 0xe4, 0xae, 0xe2, 0xae, 0x2e, 0x6a, 0x70, 0x67]);
    const protocol = Buffer.from([0x8f, 0xe0, 0xae, 0xe2, 0xae, 0xaa, 0xae, 0xab, 0x20, 0xae, 0xa3, 0xab, 0xef, 0xa4, 0xe3, 0x2e, 0x70, 0x64, 0x66]);
    expect(await names([doc, protocol])).toEqual(['Доказ фото.jpg', 'Протокол огляду.pdf']);
    // "Café résumé.txt" in code page 437 (é 0x82): Latin, as the format says.
    const latin = await unmarkedZip([Buffer.from([0x43, 0x61, 0x66, 0x82, 0x20, 0x72, 0x82, 0x73, 0x75, 0x6d, 0x82, 0x2e, 0x74, 0x78, 0x74])]);
    expect(latin.attachments!.map((file) => file.name)).toEqual(['Café résumé.txt']);
    expect(latin.notes[0]).toMatch(/^ZIP: 1 names are not marked as UTF-8; they were read as code page 437, as the format says/);
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
