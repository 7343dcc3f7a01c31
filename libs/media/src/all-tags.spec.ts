import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllTagsReader, TagsTimeout, TagsTooLarge } from './all-tags.js';
import { fixture } from './test-support/fixtures.js';

/** A 1x1 PNG carrying one more chunk before IEND. */
async function pngWith(type: string, data: Buffer): Promise<Buffer> {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer();
  return Buffer.concat([png.subarray(0, -12), head, body, crc, png.subarray(-12)]);
}

describe('AllTagsReader: every tag, as ExifTool reads it, within bounds', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'all-tags-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('reads a camera file grouped, without our copy of it', async () => {
    const reader = new AllTagsReader();
    const groups = await reader.read(fixture('metadata-rich.jpg'));
    expect(groups['IFD0']).toMatchObject({ Make: 'DJI', Model: 'FC3411' });
    expect(Object.keys(groups)).not.toContain('System');
    expect(await reader.version()).toMatch(/^\d+\.\d+/);
  });

  it("adds an e-mail's, a saved page's and an Outlook message's header fields, in order, which ExifTool does not read", async () => {
    const reader = new AllTagsReader();
    const tip = (await reader.read(fixture('tip-outlook-express.eml')))['MessageHeader']!;
    // The mbox line is no field; the fields keep their order and the encoded words as written.
    expect(Object.keys(tip).slice(0, 3)).toEqual(['Received', 'From', 'To']);
    expect(tip['Subject']).toBe('=?koi8-u?Q?=E6=CF=D4=CF_=DA_=CD=A6=D3=C3=D1_=D5=C4=C1=D2=D5?=');
    expect((await reader.read(fixture('saved-page.mhtml')))['MessageHeader']).toMatchObject({ 'Snapshot-Content-Location': 'http://news.example.org/2025/11/04/saltivka.html' });
    // An Outlook message: the copy of its internet headers.
    expect((await reader.read(fixture('outlook.msg')))['MessageHeader']).toMatchObject({ 'X-Mailer': 'Microsoft Outlook 16.0', 'Message-ID': '<DB9PR01MB1234ABCD@example.org>' });
    // A repeated field is the list of its values, top first; a field named like an object's own property is a field.
    const hops = path.join(dir, 'hops.eml');
    await writeFile(hops, 'Received: by b\r\nReceived: by a\r\nconstructor: c\r\n__proto__: p\r\nFrom: x@example.org\r\nDate: 4 Nov 2025 03:12 +0200\r\n\r\nbody');
    const fields = (await reader.read(hops))['MessageHeader']!;
    expect(fields['Received']).toEqual(['by b', 'by a']);
    expect(Object.getOwnPropertyDescriptor(fields, 'constructor')?.value).toBe('c');
    expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('p');
    for (const name of ['metadata-rich.jpg', 'outlook-ansi.msg', 'statement-libreoffice.doc']) expect(Object.keys(await reader.read(fixture(name))), name).not.toContain('MessageHeader');
  });

  it('refuses an answer past 16 MiB (a compressed comment of 100 MB) without taking it in', async () => {
    const file = path.join(dir, 'comment.png');
    await writeFile(file, await pngWith('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), deflateSync(Buffer.alloc(100 * 1024 * 1024, 'A'))])));
    await expect(new AllTagsReader().read(file)).rejects.toBeInstanceOf(TagsTooLarge);
  });

  it('stops a reading past its time limit, and the others go on meanwhile', async () => {
    // XMP of 5 million list items, compressed: ExifTool parses it for seconds.
    const items = '<rdf:li>x</rdf:li>'.repeat(5_000_000);
    const xmp = `<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:subject><rdf:Bag>${items}</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='r'?>`;
    const file = path.join(dir, 'xmp.png');
    await writeFile(file, await pngWith('iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\x01\0\0\0', 'latin1'), deflateSync(xmp)])));
    const reader = new AllTagsReader({ timeoutMs: 1000 });
    const started = Date.now();
    const [slow, other] = await Promise.allSettled([reader.read(file), reader.read(fixture('metadata-rich.jpg'))]);
    expect(slow.status === 'rejected' && slow.reason).toBeInstanceOf(TagsTimeout);
    expect(other.status).toBe('fulfilled');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
