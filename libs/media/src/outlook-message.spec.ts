import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPECTED_METADATA } from '../../../test/fixtures/media/expected-metadata.js';
import { readEmailMetadata } from './email-metadata.js';
import { readOleMetadata } from './ole-metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';
import { compoundFile, windows1251 } from './test-support/compound.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

async function read(bytes: Buffer): ReturnType<typeof readOleMetadata> {
  const handle = await open(scratch.write('message.msg', bytes), 'r');
  try {
    return await readOleMetadata(handle, bytes.length);
  } finally {
    await handle.close();
  }
}

/** A message's fixed properties stream (MS-OXMSG 2.4.1.1): the 32-byte header, then 16-byte entries. */
function properties(entries: Array<[tag: number, value: bigint | number]>): Buffer {
  const rows = entries.map(([tag, value]) => {
    const row = Buffer.alloc(16);
    row.writeUInt32LE(tag >>> 0, 0);
    row.writeUInt32LE(6, 4);
    if (typeof value === 'bigint') row.writeBigUInt64LE(value, 8);
    else row.writeInt32LE(value, 8);
    return row;
  });
  return Buffer.concat([Buffer.alloc(32), ...rows]);
}
const filetime = (iso: string) => BigInt(Date.parse(iso)) * 10_000n + 116_444_736_000_000_000n;
const SUBMIT = 0x00390040;
const DELIVERY = 0x0e060040;
const CODE_PAGE = 0x3ffd0003;
const utf16 = (text: string) => Buffer.concat([Buffer.from(text, 'utf16le'), Buffer.alloc(2)]);

describe('Outlook messages (.msg)', () => {
  it("agree with msgconvert (Email::Outlook::Message) on the subject, the sender and when it was sent", async () => {
    const ours = (await read(readFileSync(fixture('outlook.msg'))))!;
    const theirs = (await readEmailMetadata(readFileSync(fixture('outlook.msg.msgconvert.eml')), true))!;
    expect({ title: ours.title, author: ours.author, at: ours.createdAt, offset: ours.createdAtOffset }).toEqual({
      title: theirs.title,
      author: theirs.author,
      at: theirs.createdAt,
      offset: theirs.createdAtOffset,
    });
    // msgconvert reads 8-bit strings as Windows-1252 whatever the message's code page: the same
    // bytes, which ours decodes in the code page the message names (1251).
    const ansi = (await read(readFileSync(fixture('outlook-ansi.msg'))))!;
    const ansiTheirs = (await readEmailMetadata(readFileSync(fixture('outlook-ansi.msg.msgconvert.eml')), true))!;
    const cp1252 = new Map([...new TextDecoder('windows-1252').decode(Uint8Array.from({ length: 256 }, (_, i) => i))].map((c, i) => [c, i]));
    expect(windows1251(ansi.title!)).toEqual(Buffer.from([...ansiTheirs.title!].map((c) => cp1252.get(c)!)));
    expect([ansi.createdAt, ansi.createdAtOffset]).toEqual([ansiTheirs.createdAt, ansiTheirs.createdAtOffset]);
  });

  it("reads each fixture whole: the sender's SMTP address, not an Exchange one; the internet headers' offset and mailer", async () => {
    for (const name of ['outlook.msg', 'outlook-ansi.msg']) {
      expect(await read(readFileSync(fixture(name))), name).toEqual({ ...EXPECTED_METADATA[name]!.document, notes: [] });
    }
  });

  it('takes the MAPI time when the internet headers name another instant, and the delivery time when it was never submitted', async () => {
    const headers = 'From: a@example.org\r\nDate: Tue, 4 Nov 2025 09:00:00 +0200\r\nX-Mailer: Mutt\r\n\r\nbody';
    const facts = await read(
      compoundFile({
        '__properties_version1.0': properties([[SUBMIT, filetime('2025-11-04T01:12:07Z')]]),
        '__substg1.0_007D001F': utf16(headers),
      }),
    );
    expect(facts).toMatchObject({ createdAt: '2025-11-04T01:12:07.000Z', createdAtOffset: '+00:00', author: 'a@example.org', creator: 'Mutt' });
    const delivered = await read(compoundFile({ '__properties_version1.0': properties([[DELIVERY, filetime('2025-11-04T01:12:09Z')]]) }));
    expect(delivered).toMatchObject({ createdAt: '2025-11-04T01:12:09.000Z', title: null, author: null, notes: [] });
  });

  it('reads stream names written in lower case; an unknown code page once, with a note', async () => {
    const facts = await read(
      compoundFile({
        '__properties_version1.0': properties([[CODE_PAGE, 4242]]),
        '__substg1.0_0037001e': Buffer.from('Report\0'),
        '__substg1.0_0c1a001e': Buffer.from('Petro\0'),
      }),
    );
    expect(facts).toMatchObject({ title: 'Report', author: 'Petro', notes: ['Outlook message: code page 4242 is not known here; its text was read as Windows-1252'] });
  });

  it('never throws, whatever bytes of a message are changed or cut', async () => {
    const originals = ['outlook.msg', 'outlook-ansi.msg'].map((name) => readFileSync(fixture(name)));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.nat(), async (which, changes, cutAt) => {
        const bytes = Buffer.from(originals[which]!);
        for (const [at, value] of changes) bytes[at % bytes.length] = value;
        const result = await read(bytes.subarray(0, 8 + (cutAt % bytes.length)));
        if (result) expect(Array.isArray(result.notes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
