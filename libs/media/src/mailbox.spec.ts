import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { countMailboxMessages, isMailbox, readMailboxMessages, takeMailboxMessage } from './mailbox.js';
import { takeCarriedFile } from './message-attachment.js';
import { sniffMediaType } from './sniff.js';
import { collect } from './test-support/archives.js';
import { fixture, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

async function withHandle<T>(path: string, use: (handle: Awaited<ReturnType<typeof open>>, size: number) => Promise<T>): Promise<T> {
  const handle = await open(path, 'r');
  try {
    return await use(handle, (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}
const count = (path: string, limit?: number, stopAt?: number) => withHandle(path, (handle, size) => countMailboxMessages(handle, size, limit, stopAt));

describe('countMailboxMessages', () => {
  it("counts a mailbox's messages as Python's mailbox module does, in Thunderbird's, Takeout's and an address's separator lines", async () => {
    const python = JSON.parse(readFileSync(fixture('mailbox.mbox.python-mailbox.json'), 'utf8')) as { messages: number; separators: string[] };
    const bytes = readFileSync(fixture('mailbox.mbox'));
    expect(await count(fixture('mailbox.mbox'))).toEqual({ count: python.messages, second: bytes.indexOf(`From ${python.separators[1]}`), complete: true });
    expect(await withHandle(fixture('mailbox.mbox'), isMailbox)).toBe(true);
  });

  it('finds one message in an e-mail saved with its separator line, none in one without, and is no mailbox for either', async () => {
    expect(await count(fixture('tip-outlook-express.eml'))).toEqual({ count: 1, second: null, complete: true });
    expect(await count(fixture('tip.eml'))).toEqual({ count: 0, second: null, complete: true });
    for (const name of ['tip-outlook-express.eml', 'tip.eml']) expect(await withHandle(fixture(name), isMailbox), name).toBe(false);
    // An e-mail that quotes a mailbox in its text (two separator lines, but not on its first line) is no mailbox either.
    const quoting = scratch.write('quoting.eml', Buffer.from(`${readFileSync(fixture('tip.eml'), 'latin1')}\nFrom - Tue Nov  4 01:12:07 2025\nSubject: a\n\nFrom - Tue Nov  4 01:12:08 2025\nSubject: b\n`, 'latin1'));
    expect((await count(quoting)).count).toBe(2);
    expect(await withHandle(quoting, isMailbox)).toBe(false);
    expect(await sniffMediaType(quoting)).toBe('message/rfc822');
  });

  it('counts a separator line across the cut between two reads, and not a line of text that starts "From "', async () => {
    const head = 'From - Tue Nov  4 01:12:07 2025\nFrom: a@example.org\nDate: Tue, 4 Nov 2025 03:12:07 +0200\n\n';
    const text = '\nFrom Kyiv to Kharkiv we drove at night.\n>From the window: smoke.\nFrom 03:05 on, sirens.\n';
    for (const cut of [0, 1, 5, 30]) {
      // The second separator starts `cut` bytes before the 1 MiB mark.
      const padding = 'x'.repeat(1024 * 1024 - head.length - text.length - 1 - cut);
      const file = scratch.write(`cut-${cut}.mbox`, Buffer.from(`${head}${padding}${text}\nFrom olena@example.org Wed Nov  5 08:00:00 2025\nFrom: b@example.org\n\nsecond\n`, 'latin1'));
      expect(await count(file), `cut ${cut}`).toEqual({ count: 2, second: 1024 * 1024 - cut, complete: true });
    }
  });

  it('stops at a count or a length, saying the count is then a lower bound', async () => {
    const separators = Array.from({ length: 5 }, (_, i) => `From - Tue Nov  4 01:12:0${i} 2025\nFrom: a@example.org\n\nmessage ${i}\n`).join('\n');
    const file = scratch.write('five.mbox', Buffer.from(separators));
    expect((await count(file)).count).toBe(5);
    expect(await count(file, undefined, 2)).toMatchObject({ count: 2, complete: false });
    expect(await count(file, 100)).toMatchObject({ count: 2, complete: false });
  });
});

describe('readMailboxMessages', () => {
  const python = JSON.parse(readFileSync(fixture('mailbox.mbox.python-mailbox.json'), 'utf8')) as { subjects: string[]; messages_bytes: { sizeBytes: number; sha256: string }[] };

  it("lists each message as Python's mailbox module gives its bytes, with its subject, sender and date", async () => {
    const read = await withHandle(fixture('mailbox.mbox'), readMailboxMessages);
    expect(read.attachments!.map(({ sizeBytes, sha256 }) => ({ sizeBytes, sha256 }))).toEqual(python.messages_bytes);
    expect(read.attachments!.map((file) => file.name)).toEqual(python.subjects.map((subject) => `${subject}.eml`));
    expect(read.attachments!.map(({ from, sentAt, mediaType, inline }) => ({ from, sentAt, mediaType, inline }))).toEqual([
      { from: 'Олена Коваль <olena.koval@example.org>', sentAt: '2025-11-04T01:12:07.000Z', mediaType: 'message/rfc822', inline: false },
      { from: 'Ірина Бондар <iryna.bondar@example.net>', sentAt: '2025-07-14T06:30:00.000Z', mediaType: 'message/rfc822', inline: false },
      { from: 'Петро Шевченко <petro@example.net>', sentAt: '2003-03-15T21:40:00', mediaType: 'message/rfc822', inline: false },
    ]);
    expect(read.notes).toEqual(["Mailbox (mbox): 3 messages; each is listed as a file it holds, and none is read as the file's own"]);
    expect(read).toMatchObject({ title: null, author: null, createdAt: null });
  });

  it('lists at most the hashed-bytes budget, saying how many it listed; a subject that would be a path is not one', async () => {
    const box = (subjects: string[]) => subjects.map((subject, i) => `From - Tue Nov  4 01:12:0${i} 2025\nFrom: a@example.org\nSubject: ${subject}\n\nmessage ${i}\n`).join('\n');
    const file = scratch.write('small.mbox', Buffer.from(box(['one', '../../etc/passwd', 'three'])));
    const read = await withHandle(file, (handle, size) => readMailboxMessages(handle, size, { hashedBytes: 120 }));
    expect(read.attachments!.map((message) => message.name)).toEqual(['one.eml', '.._.._etc_passwd.eml']);
    expect(read.notes).toEqual([
      "Mailbox (mbox): 3 messages; each is listed as a file it holds, and none is read as the file's own",
      'Mailbox (mbox): the first 2 messages are listed (at most 1000, and 120 bytes hashed when a mailbox arrives)',
    ]);
  });

  it('lists at most 1,000 messages and counts the rest; the last is whole to the end of the file', async () => {
    const messages = Array.from({ length: 1005 }, (_, i) => `From - Tue Nov  4 01:12:07 2025\nSubject: ${i}\n\nbody ${i}\n`).join('\n');
    const file = scratch.write('many.mbox', Buffer.from(messages));
    const read = await withHandle(file, readMailboxMessages);
    expect(read.attachments).toHaveLength(1000);
    expect(read.attachments!.at(-1)).toMatchObject({ name: '999.eml', sizeBytes: 'Subject: 999\n\nbody 999\n'.length });
    expect(read.notes).toEqual([
      "Mailbox (mbox): 1005 messages; each is listed as a file it holds, and none is read as the file's own",
      `Mailbox (mbox): the first 1000 messages are listed (at most 1000, and ${1024 ** 3} bytes hashed when a mailbox arrives)`,
    ]);
    // Taking one out stops scanning once the listed messages' ends are known; the last listed is whole.
    expect((await takeMailboxMessage(file, read.attachments!.at(-1)!, collect))!.bytes.toString()).toBe('Subject: 999\n\nbody 999\n');
    const few = await withHandle(scratch.write('few.mbox', Buffer.from(messages.slice(0, messages.indexOf('From', 200)))), readMailboxMessages);
    expect(few.attachments!.map((message) => message.sizeBytes)).toEqual(['Subject: 0\n\nbody 0\n'.length, 'Subject: 1\n\nbody 1\n'.length, 'Subject: 2\n\nbody 2\n'.length, 'Subject: 3\n\nbody 3\n'.length]);
  });

  it('gives back each listed message byte for byte, and nothing for a hash no message has', async () => {
    const path = fixture('mailbox.mbox');
    const listed = (await withHandle(path, readMailboxMessages)).attachments!;
    const whole = readFileSync(path);
    for (const message of listed) {
      const taken = await takeMailboxMessage(path, message, collect);
      expect(taken!.sha256).toBe(message.sha256);
      expect(whole.includes(taken!.bytes)).toBe(true);
    }
    expect((await takeCarriedFile(path, listed[2]!, collect))!.bytes.toString('latin1')).toMatch(/^Received: from pc12/);
    const kept: Awaited<ReturnType<typeof collect>>[] = [];
    const keep = async (source: Readable) => {
      const result = await collect(source);
      kept.push(result);
      return result;
    };
    expect(await takeMailboxMessage(path, { ...listed[0]!, sha256: 'ab'.repeat(32) }, keep)).toBeNull();
    expect(kept.map((result) => result.discarded)).toEqual([true]);
  });
});


describe('a mailbox as a file', () => {
  it('is sniffed as application/mbox; an e-mail saved with one separator line stays an e-mail', async () => {
    expect(await sniffMediaType(fixture('mailbox.mbox'))).toBe('application/mbox');
    expect(await sniffMediaType(fixture('tip-outlook-express.eml'))).toBe('message/rfc822');
  });
});
