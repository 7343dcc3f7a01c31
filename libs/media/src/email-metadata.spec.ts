import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPECTED_METADATA } from '../../../test/fixtures/media/expected-metadata.js';
import { EMAIL_MEDIA_TYPE, HEAD_BYTES, MAX_LISTED, MAX_MESSAGE_BYTES, messageKind, readEmailMetadata, rfc5322Date, WEB_ARCHIVE_MEDIA_TYPE } from './email-metadata.js';
import { fixture } from './test-support/fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'email-metadata-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The header block's reading alone, from the first 64 KiB (as intake hands them over). */
const readHead = (message: string | Buffer) => readEmailMetadata(typeof message === 'string' ? Buffer.from(message, 'utf8') : message, true);

/** A whole file's reading, as intake makes it: the first 64 KiB and the file. */
async function read(message: string | Buffer) {
  const path = join(scratch, 'message.eml');
  writeFileSync(path, message);
  return readFile(path);
}

async function readFile(path: string) {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await handle.read(head, 0, head.length, 0);
    return await readEmailMetadata(head, size <= HEAD_BYTES, { handle, size });
  } finally {
    await handle.close();
  }
}

const date = (value: string) => {
  const notes: string[] = [];
  const time = rfc5322Date(value, 'E-mail', notes);
  return { at: time?.capturedAt ?? null, offset: time?.capturedAtOffset ?? null, notes };
};

describe('readEmailMetadata', () => {
  it("agrees with Python's email package on each e-mail fixture: subject, sender, date as sent, mailer, recipients, attached files", async () => {
    for (const name of ['tip.eml', 'tip-outlook-express.eml', 'tip-forwarded.eml']) {
      const python = JSON.parse(readFileSync(fixture(`${name}.python-email.json`), 'utf8')) as Record<string, string> & { recipients: unknown; attachments: unknown };
      const ours = (await readFile(fixture(name)))!;
      expect(ours.recipients, name).toEqual(python.recipients);
      expect(ours.attachments, name).toEqual(python.attachments);
      expect(ours.title, name).toBe(python.subject);
      expect(ours.author, name).toBe(`${python.fromName} <${python.fromAddress}>`);
      expect(ours.creator, name).toBe(python.mailer);
      // Python gives the sender's wall-clock time with its offset (or "(no zone)"); ours is the UTC instant with the offset.
      const [wall, zone] = python.date!.endsWith(' (no zone)') ? [python.date!.slice(0, -10), null] : [python.date!.slice(0, 19), python.date!.slice(19)];
      expect(ours.createdAtOffset, name).toBe(zone);
      expect(ours.createdAt, name).toBe(zone === null ? wall : new Date(`${wall}${zone}`).toISOString());
      expect({ ...ours, notes: [] }, name).toEqual({ ...EXPECTED_METADATA[name]!.document, notes: [] });
    }
  });

  it("reads a page Chromium saved (MHTML): its title, where it came from, when it was saved, by what; no author, and its page's parts are no attachments", async () => {
    expect(await readFile(fixture('saved-page.mhtml'))).toEqual({ ...EXPECTED_METADATA['saved-page.mhtml']!.document, notes: [] });
  });

  it("takes an Internet Explorer page's address from its first part, never a Word file's own path", async () => {
    const mht = (location: string, from = 'From: <Saved by Windows Internet Explorer 8>\r\n') =>
      `${from}Subject: =?utf-8?B?0J3RltGH0L3QsCDQsNGC0LDQutCw?=\r\nDate: Tue, 4 Nov 2025 10:00:00 +0200\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: multipart/related;\r\n\ttype="text/html";\r\n\tboundary="----=_NextPart_000_0000_01DC4D8A.12345678"\r\nX-MimeOLE: Produced By Microsoft MimeOLE V6.1.7601.24158\r\n\r\n` +
      `This is a multi-part message in MIME format.\r\n\r\n------=_NextPart_000_0000_01DC4D8A.12345678\r\nContent-Type: text/html;\r\n\tcharset="utf-8"\r\n` +
      `Content-Transfer-Encoding: quoted-printable\r\nContent-Location:\r\n ${location}\r\n\r\n<html><body>x</body></html>\r\n------=_NextPart_000_0000_01DC4D8A.12345678--\r\n`;
    const ie = (await read(mht('https://news.example.org/2025/11/04/saltivka.html?id=7')))!;
    expect(ie).toMatchObject({ title: 'Нічна атака', author: null, creator: 'Saved by Windows Internet Explorer 8', savedFrom: 'https://news.example.org/2025/11/04/saltivka.html?id=7' });
    expect(messageKind(Buffer.from(mht('https://news.example.org/')))).toBe(WEB_ARCHIVE_MEDIA_TYPE);
    // Word's "single file web page" has no From and names the document's own file.
    const word = (await read(mht('file:///C:/Users/olena/Documents/statement.htm', '')))!;
    expect(word.savedFrom).toBeNull();
  });

  it('without the file, reads the header block alone: no recipients, no attachments', async () => {
    const facts = (await readHead(readFileSync(fixture('tip.eml'))))!;
    expect(facts.title).toBe(EXPECTED_METADATA['tip.eml']!.document!.title);
    expect([facts.recipients, facts.attachments]).toEqual([undefined, undefined]);
  });

  it('lists a message over 64 MiB by its header only, with a note', async () => {
    const path = join(scratch, 'large.eml');
    writeFileSync(path, readFileSync(fixture('tip.eml')));
    truncateSync(path, MAX_MESSAGE_BYTES + 1);
    const facts = (await readFile(path))!;
    expect(facts.title).toBe(EXPECTED_METADATA['tip.eml']!.document!.title);
    expect([facts.recipients, facts.attachments]).toEqual([undefined, undefined]);
    expect(facts.notes).toEqual(['E-mail: larger than 64 MiB; its recipients and attachments are not read']);
  });

  it('lists at most 1,000 attachments and recipients of each kind, saying how many there were; hashes an empty or undecodable part as the bytes it gives', async () => {
    const parts = Array.from({ length: MAX_LISTED + 5 }, (_, i) => `--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename="r${i}.csv"\r\n\r\n${i}\r\n`).join('');
    const to = Array.from({ length: MAX_LISTED + 1 }, (_, i) => `p${i}@example.org`).join(', ');
    const facts = (await read(`From: o@example.org\r\nTo: ${to}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b--\r\n`))!;
    expect(facts.attachments).toHaveLength(MAX_LISTED);
    expect(facts.attachments![7]).toEqual({ name: 'r7.csv', mediaType: 'text/csv', sizeBytes: 1, sha256: '7902699be42c8a8e46fbbb4501726517e86b22c56a189f7625a6da49081b2451', inline: false });
    expect(facts.recipients!.to).toHaveLength(MAX_LISTED);
    expect(facts.notes).toEqual(['E-mail: 1001 To addresses; the first 1000 are listed', 'E-mail: 1005 attachments; the first 1000 are listed']);
    const odd = (await read('From: o@example.org\r\nDate: 4 Nov 2025 03:12 +0200\r\nContent-Type: image/jpeg; name=a.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n'))!;
    expect(odd.attachments).toHaveLength(1);
    expect(odd.attachments![0]).toMatchObject({ name: 'a.jpg', mediaType: 'image/jpeg', inline: false });
  });

  it('takes the first sender of a list or group, a bare address or a bare name, and leaves the body unread', async () => {
    const facts = await read('From: undisclosed: Olena <o@example.org>, b@example.org;\r\nDate: 4 Nov 2025 03:12 +0200\r\n\r\nFrom: not@this.one\r\n');
    expect(facts?.author).toBe('Olena <o@example.org>');
    expect((await read('From: o@example.org\nMIME-Version: 1.0\n\nbody'))?.author).toBe('o@example.org');
    expect((await read('From: =?utf-8?q?=D0=9E=D0=BB=D0=B5=D0=BD=D0=B0?= <>\nMessage-ID: <a@b>\n\n'))?.author).toBe('Олена');
  });

  it('reads a header block with no body; one that runs past 64 KiB is no message', async () => {
    expect((await read('From: o@example.org\r\nSubject: only a header\r\nDate: Tue, 4 Nov 2025 03:12:07 +0200'))?.title).toBe('only a header');
    const long = `From: o@example.org\r\nDate: Tue, 4 Nov 2025 03:12:07 +0200\r\n${'X-Long: aaaaaaaa\r\n'.repeat(4000)}${'X-More: b\r\n'.repeat(20_000)}\r\nbody`;
    // Its first 64 KiB do not close the block: not a message at all, rather than a guess.
    expect(await read(long)).toBeNull();
    expect(await read(`From - Sat Mar 15 21:40:02 2003\r\n${long}`)).toBeNull();
  });

  it('is null for what is not a message', async () => {
    for (const text of ['', 'From: Olena\n\nI saw the drone at 3 am.', 'Dear investigator,\nFrom: Olena', '\x89PNG\r\n\x1a\n', ' From: o@example.org\nDate: x\n\n']) {
      expect(await read(text), JSON.stringify(text)).toBeNull();
    }
  });

  it('never throws, whatever bytes of a message are changed or cut', async () => {
    const original = readFileSync(fixture('tip.eml'));
    await fc.assert(
      fc.asyncProperty(fc.nat(original.length - 1), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.boolean(), async (at, bytes, cut) => {
        const changed = Buffer.from(original);
        changed.set(bytes.subarray(0, changed.length - at), at);
        const facts = await read(cut ? changed.subarray(0, at) : changed);
        expect(facts === null || Array.isArray(facts.notes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('messageKind', () => {
  it('tells an e-mail from a saved page by the header block, past an mbox "From " line', () => {
    const kind = (text: string) => messageKind(Buffer.from(text, 'latin1'));
    expect(kind(readFileSync(fixture('tip.eml'), 'latin1'))).toBe(EMAIL_MEDIA_TYPE);
    expect(kind(readFileSync(fixture('tip-outlook-express.eml'), 'latin1'))).toBe(EMAIL_MEDIA_TYPE);
    expect(kind(readFileSync(fixture('saved-page.mhtml'), 'latin1'))).toBe(WEB_ARCHIVE_MEDIA_TYPE);
    // Word's "Single File Web Page" has no From.
    expect(kind('MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="----=_NextPart_01DB"\r\n\r\n')).toBe(WEB_ARCHIVE_MEDIA_TYPE);
    expect(kind('Received: by x\r\nFrom: a@b\r\n\r\n')).toBe(EMAIL_MEDIA_TYPE);
    // A From alone, a line that is no field, or a continuation before any field: not a message.
    expect(kind('From: a@b\r\nSubject: x\r\n\r\n')).toBeNull();
    expect(kind('From: a@b\r\nDate: today\r\nthe witness said\r\n\r\n')).toBeNull();
    expect(kind('Content-Type: multipart/related\r\n\r\n')).toBeNull();
    expect(kind('%PDF-1.7\n')).toBeNull();
  });
});

describe('rfc5322Date', () => {
  it('gives the instant in UTC and the offset as the sender wrote it', () => {
    expect(date('Tue, 04 Nov 2025 03:12:07 +0200')).toEqual({ at: '2025-11-04T01:12:07.000Z', offset: '+02:00', notes: [] });
    expect(date(' 4 Nov 2025 03:12:07 -0330 (NST)')).toEqual({ at: '2025-11-04T06:42:07.000Z', offset: '-03:30', notes: [] });
    expect(date('Tue,\r\n 4 (day) Nov 2025 03:12 +0200')).toEqual({ at: '2025-11-04T01:12:00.000Z', offset: '+02:00', notes: [] });
  });

  it('reads the obsolete forms: two- and three-digit years, named and military zones, -0000, a leap second', () => {
    expect(date('Sat, 15 Mar 03 21:40 EST').at).toBe('2003-03-16T02:40:00.000Z');
    expect(date('15 Mar 49 21:40 GMT').at).toBe('2049-03-15T21:40:00.000Z');
    expect(date('15 Mar 50 21:40 GMT').at).toBe('1950-03-15T21:40:00.000Z');
    expect(date('15 Mar 103 21:40 UT').at).toBe('2003-03-15T21:40:00.000Z');
    expect(date('15 March 2003 21:40 PDT')).toEqual({ at: '2003-03-16T04:40:00.000Z', offset: '-07:00', notes: [] });
    // A military letter and -0000 say nothing of the local zone: the instant is UTC.
    expect(date('15 Mar 2003 21:40 K')).toEqual({ at: '2003-03-15T21:40:00.000Z', offset: '+00:00', notes: [] });
    expect(date('15 Mar 2003 21:40 -0000')).toEqual({ at: '2003-03-15T21:40:00.000Z', offset: '+00:00', notes: [] });
    expect(date('31 Dec 2016 23:59:60 +0000').at).toBe('2016-12-31T23:59:59.000Z');
    // Not RFC 5322's form, but written by some programs: the offset with a colon, or no space before it.
    expect(date('Tue, 4 Nov 2025 03:12:07 +02:00')).toEqual({ at: '2025-11-04T01:12:07.000Z', offset: '+02:00', notes: [] });
    expect(date('Tue, 4 Nov 2025 03:12:07+0200')).toEqual({ at: '2025-11-04T01:12:07.000Z', offset: '+02:00', notes: [] });
  });

  it('keeps a time without a zone, or with one RFC 5322 does not name, as local time', () => {
    expect(date('Sat, 15 Mar 2003 21:40:02')).toEqual({ at: '2003-03-15T21:40:02', offset: null, notes: [] });
    const msk = date('Sat, 15 Mar 2003 21:40:02 MSK');
    expect(msk.at).toBe('2003-03-15T21:40:02');
    expect(msk.notes).toEqual(['E-mail: the Date field\'s zone "MSK" is not one RFC 5322 defines; the time is kept as local time']);
  });

  it('is null, with a note, for a date that cannot be read or names no real day', () => {
    expect(date('yesterday')).toEqual({ at: null, offset: null, notes: ['E-mail: the Date field cannot be read'] });
    expect(date('4 Brumaire 2025 03:12 +0200').at).toBeNull();
    const february = date('30 Feb 2025 03:12 +0200');
    expect(february.at).toBeNull();
    expect(february.notes).toEqual(['E-mail: the Date field names no real time ("30 Feb 2025 03:12 +0200")']);
    expect(date('4 Nov 2025 25:12 +0200').at).toBeNull();
  });
});
