import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { countMailboxMessages, isMailbox } from './mailbox.js';
import { sniffMediaType } from './sniff.js';
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

describe('a mailbox as a file', () => {
  it('is sniffed as application/mbox; an e-mail saved with one separator line stays an e-mail', async () => {
    expect(await sniffMediaType(fixture('mailbox.mbox'))).toBe('application/mbox');
    expect(await sniffMediaType(fixture('tip-outlook-express.eml'))).toBe('message/rfc822');
  });
});
