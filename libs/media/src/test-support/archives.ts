// Helpers for the specs of ZIP and mailbox readers: a ZIP written by a real ZIP writer, and a
// stand-in for the blob store that a file taken out of an item is handed to.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ZipArchive } from 'archiver';

/** A ZIP of these entries written by archiver (deflated unless `store`), each dated 2025-11-04T03:05:08Z. */
export async function zipOf(entries: [string, string | Buffer][], store = false): Promise<Buffer> {
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
export async function collect(source: Readable) {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const result = { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), discarded: false, discard: async () => void (result.discarded = true) };
  return result;
}
