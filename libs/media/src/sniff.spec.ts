import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { sniffMediaType } from './sniff.js';
import { compoundFile } from './test-support/compound.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

describe('sniffMediaType', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it.each([
    ['png-named.jpg', 'image/png'], // the extension lies; the bytes decide
    ['scene-a.jpg', 'image/jpeg'],
    ['exif.png', 'image/png'],
    ['exif.webp', 'image/webp'],
    ['exif.tif', 'image/tiff'],
    ['exif.heic', 'image/heic'],
    ['movie-header.mp4', 'video/mp4'],
    ['not-an-image.pdf', 'application/pdf'],
    ['random.bin', 'application/octet-stream'],
    ['truncated.jpg', 'image/jpeg'],
    ['tip.eml', 'message/rfc822'],
    ['tip-outlook-express.eml', 'message/rfc822'],
    ['saved-page.mhtml', 'multipart/related'],
    // Compound files by their root streams (file-type calls them all application/x-cfb).
    ['statement-libreoffice.doc', 'application/msword'],
    ['losses-libreoffice.xls', 'application/vnd.ms-excel'],
    ['briefing-libreoffice.ppt', 'application/vnd.ms-powerpoint'],
    ['outlook.msg', 'application/vnd.ms-outlook'],
  ])('%s is %s', async (name, mime) => {
    expect(await sniffMediaType(fixture(name))).toBe(mime);
  });

  it('falls back to application/octet-stream for plain text and empty files', async () => {
    expect(await sniffMediaType(scratch.write('notes.jpg', 'Witness statement, 30 May 2008.\n'))).toBe(
      'application/octet-stream',
    );
    expect(await sniffMediaType(scratch.write('empty.png', new Uint8Array(0)))).toBe('application/octet-stream');
  });

  it('takes a text that only starts like a letter for plain text, not an e-mail', async () => {
    expect(await sniffMediaType(scratch.write('letter.txt', 'From: Olena Koval\nTo: the investigator\n\nI saw the drone at 3 am.\n'))).toBe('application/octet-stream');
  });

  it('leaves any other compound file, and a damaged one, application/x-cfb', async () => {
    expect(await sniffMediaType(scratch.write('installer.msi', compoundFile({ '\x05SummaryInformation': Buffer.alloc(64), Binary: Buffer.alloc(8) })))).toBe('application/x-cfb');
    const word = readFileSync(fixture('statement-libreoffice.doc'));
    // The directory's sector pointed past the file's end.
    word.writeUInt32LE(0x7fffff, 0x30);
    expect(await sniffMediaType(scratch.write('damaged.doc', word))).toBe('application/x-cfb');
  });

  it('lets a missing file fail', async () => {
    await expect(sniffMediaType(fixture('no-such-file'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
