import { readFileSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPECTED_METADATA } from '../../../test/fixtures/media/expected-metadata.js';
import { HEAD_BYTES, readEmailMetadata } from './email-metadata.js';
import { readOleMetadata } from './ole-metadata.js';
import { fixture, scratchDir } from './test-support/fixtures.js';
import { compoundFile, windows1251 } from './test-support/compound.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

const read = (bytes: Buffer): ReturnType<typeof readOleMetadata> => readFile(scratch.write('message.msg', bytes));

/** A .msg as intake reads it; an .eml (msgconvert's) as intake reads one: its first 64 KiB and the file. */
async function readFile(path: string): ReturnType<typeof readOleMetadata> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (!path.endsWith('.eml')) return await readOleMetadata(handle, size);
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await handle.read(head, 0, head.length, 0);
    return await readEmailMetadata(head, size <= HEAD_BYTES, { handle, size });
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

  it('agree with msgconvert on the recipients in To and Cc and on each attached file: type, size, SHA-256, inline or not', async () => {
    const ours = (await readFile(fixture('outlook-attachments.msg')))!;
    const theirs = (await readFile(fixture('outlook-attachments.msg.msgconvert.eml')))!;
    // msgconvert writes no Bcc (it builds To and Cc from the message's display lists).
    expect({ ...ours.recipients, bcc: [] }).toEqual(theirs.recipients);
    expect(ours.recipients!.bcc).toEqual(['archive@example.net']);
    // msgconvert renders the embedded message as a message/rfc822 part of its own making; ours has no bytes to hash for it, and says so.
    const [files, rendered] = [theirs.attachments!.slice(0, -1), theirs.attachments!.at(-1)];
    expect(rendered?.mediaType).toBe('message/rfc822');
    expect(ours.attachments!.map(({ name: _, ...file }) => file)).toEqual(files.map(({ name: _, ...file }) => file));
    // The PDF's Ukrainian name: msgconvert gives both an RFC 2231 filename* and an ASCII filename,
    // and postal-mime takes the latter ("akt ogliadu.pdf"); the others' names are the same.
    expect([ours.attachments![0]!.name, ours.attachments![2]!.name]).toEqual([files[0]!.name, files[2]!.name]);
    expect(ours.notes).toEqual(['Outlook message: the attachment "Фото з Салтівки" is a message or an object embedded in this one; it has no bytes of its own and is not listed']);
  });

  it("reads each fixture whole: the sender's SMTP address, not an Exchange one; the internet headers' offset and mailer; recipients and attachments", async () => {
    for (const name of ['outlook.msg', 'outlook-ansi.msg', 'outlook-attachments.msg']) {
      expect(await read(readFileSync(fixture(name))), name).toEqual({ ...EXPECTED_METADATA[name]!.document, notes: EXPECTED_METADATA[name]!.notes ?? [] });
    }
  });

  it('takes a recipient without a type, or with MAPI flag bits over it, as its kind says; lists a message over 64 MiB without its attachments', async () => {
    const recipient = (type: number | null, name: string) => {
      const rows = type === null ? [] : [[0x0c150003, type] as [number, number]];
      return { properties: Buffer.concat([Buffer.alloc(8), properties(rows).subarray(32)]), name: utf16(name) };
    };
    const [untyped, submitted] = [recipient(null, 'Олена Коваль'), recipient(0x10000002, 'cc@example.org')];
    const facts = await read(
      compoundFile({
        '__properties_version1.0': properties([]),
        '__recip_version1.0_#00000000/__properties_version1.0': untyped.properties,
        '__recip_version1.0_#00000000/__substg1.0_3001001F': untyped.name,
        '__recip_version1.0_#00000001/__properties_version1.0': submitted.properties,
        '__recip_version1.0_#00000001/__substg1.0_3001001F': submitted.name,
      }),
    );
    expect(facts?.recipients).toEqual({ to: ['Олена Коваль'], cc: ['cc@example.org'], bcc: [] });
    expect(facts?.attachments).toEqual([]);
    const large = scratch.write('large.msg', readFileSync(fixture('outlook-attachments.msg')));
    truncateSync(large, 64 * 1024 * 1024 + 1);
    const big = (await readFile(large))!;
    expect([big.title, big.recipients, big.attachments]).toEqual([EXPECTED_METADATA['outlook-attachments.msg']!.document!.title, EXPECTED_METADATA['outlook-attachments.msg']!.document!.recipients, undefined]);
    expect(big.notes).toEqual(['Outlook message: larger than 64 MiB; its attachments are not read']);
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
    const originals = ['outlook.msg', 'outlook-ansi.msg', 'outlook-attachments.msg'].map((name) => readFileSync(fixture(name)));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.nat(), async (which, changes, cutAt) => {
        const bytes = Buffer.from(originals[which]!);
        for (const [at, value] of changes) bytes[at % bytes.length] = value;
        const result = await read(bytes.subarray(0, 8 + (cutAt % bytes.length)));
        if (result) expect(Array.isArray(result.notes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
