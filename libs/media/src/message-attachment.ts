// A file an e-mail, an Outlook message or a ZIP archive carries (or a message a mailbox holds),
// taken out of it again: for submitting it as an item of its own. Found by the SHA-256 the item's
// reading listed it with, so what comes out is exactly what was listed (and hashed) when the item
// arrived, or nothing.
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { CFB_SIGNATURE } from './compound-file.js';
import { emailAttachmentBytes } from './email-metadata.js';
import { outlookAttachmentBytes } from './outlook-message.js';
import type { MessageAttachment } from './pdf-metadata.js';
import { isMailboxFile, takeMailboxMessage } from './mailbox.js';
import { takeArchiveFile, ZIP_SIGNATURE } from './zip-archive.js';

/** The bytes of the file with this SHA-256 in the e-mail or Outlook message at `filePath`; null when it carries none such. */
export async function messageAttachmentBytes(filePath: string, sha256: string): Promise<Buffer | null> {
  const handle = await open(filePath, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(CFB_SIGNATURE.length);
    await handle.read(head, 0, head.length, 0);
    return await (head.equals(CFB_SIGNATURE) ? outlookAttachmentBytes(handle, size, sha256) : emailAttachmentBytes(handle, size, sha256));
  } finally {
    await handle.close();
  }
}

/**
 * Hands the listed `file` of the message, archive or mailbox at `filePath` to `take` (which stores it),
 * and gives back what `take` made of it when its SHA-256 is the listed one; null when the item
 * carries no such file (a result with other bytes is discarded). A message's file is decoded in
 * memory by `decode` (messages are read up to 64 MiB; the archive gives MetadataThreads.carried,
 * which parses the message in a thread); an archive's is streamed as it decompresses, a mailbox's
 * message as the mailbox holds it.
 */
export async function takeCarriedFile<T extends { sha256: string; discard(): Promise<void> }>(
  filePath: string,
  file: Pick<MessageAttachment, 'name' | 'sizeBytes' | 'sha256'>,
  take: (source: Readable) => Promise<T>,
  decode: (filePath: string, sha256: string) => Promise<Buffer | null> = messageAttachmentBytes,
): Promise<T | null> {
  if (await startsWith(filePath, ZIP_SIGNATURE)) return takeArchiveFile(filePath, file, take);
  if (await isMailboxFile(filePath)) return takeMailboxMessage(filePath, file, take);
  const bytes = await decode(filePath, file.sha256);
  if (!bytes) return null;
  const result = await take(Readable.from([bytes]));
  if (result.sha256 === file.sha256) return result;
  await result.discard();
  return null;
}

async function startsWith(filePath: string, signature: Buffer): Promise<boolean> {
  const handle = await open(filePath, 'r');
  try {
    const head = Buffer.alloc(signature.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(signature);
  } finally {
    await handle.close();
  }
}
