// A file an e-mail or an Outlook message carries, taken out of it again: for submitting it as an
// item of its own. Found by the SHA-256 the message's reading listed it with, so what comes out is
// exactly what was listed (and hashed) when the message arrived, or nothing.
import { open } from 'node:fs/promises';
import { CFB_SIGNATURE } from './compound-file.js';
import { emailAttachmentBytes } from './email-metadata.js';
import { outlookAttachmentBytes } from './outlook-message.js';

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
