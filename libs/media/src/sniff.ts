import { open } from 'node:fs/promises';
import { fileTypeFromFile, type Detector } from 'file-type';
import { CompoundFile } from './compound-file.js';
import { EMAIL_MEDIA_TYPE, FIRST_BYTES, HEAD_BYTES, mayBeMessage, messageKind } from './email-metadata.js';
import { isMailboxFile, MAILBOX_MEDIA_TYPE } from './mailbox.js';

/** Fallback for anything file-type does not recognise (plain text included). */
export const UNKNOWN_MEDIA_TYPE = 'application/octet-stream';

/** Media type from the file's bytes (magic numbers), ignoring its name and any declared type. */
export async function sniffMediaType(filePath: string): Promise<string> {
  try {
    const detected = await fileTypeFromFile(filePath, { customDetectors: [olympusRaw, mimeMessage] });
    if (detected?.mime === COMPOUND_FILE) return await compoundFileType(filePath);
    if (detected?.mime === EMAIL_MEDIA_TYPE && (await isMailboxFile(filePath))) return MAILBOX_MEDIA_TYPE;
    return detected?.mime ?? UNKNOWN_MEDIA_TYPE;
  } catch (error) {
    // A missing or unreadable file is the caller's problem; odd bytes are not.
    if (isSystemError(error)) throw error;
    return UNKNOWN_MEDIA_TYPE;
  }
}

/**
 * Olympus and OM System raw files by their TIFF header's own magic ('IIRO', 'IIRS', 'MMOR'):
 * file-type knows only one layout of them (IFD0 right after the header with 24 entries).
 */
const olympusRaw: Detector = {
  id: 'custodia.orf',
  async detect(tokenizer) {
    const head = new Uint8Array(4);
    if ((await tokenizer.peekBuffer(head, { length: 4, mayBeLess: true })) < 4) return undefined;
    return ['IIRO', 'IIRS', 'MMOR'].includes(Buffer.from(head).toString('latin1')) ? { ext: 'orf', mime: 'image/x-olympus-orf' } : undefined;
  },
};

/**
 * An e-mail (.eml: message/rfc822) or a web page saved as one MIME message (.mht, .mhtml:
 * multipart/related), by its header block (see messageKind); file-type knows neither.
 */
const mimeMessage: Detector = {
  id: 'custodia.mime-message',
  async detect(tokenizer) {
    // A first look at a few bytes turns away every photo and video before 64 KiB are read.
    const first = new Uint8Array(FIRST_BYTES);
    if (!mayBeMessage(first.subarray(0, await tokenizer.peekBuffer(first, { length: first.length, mayBeLess: true })))) return undefined;
    const head = new Uint8Array(HEAD_BYTES);
    const length = await tokenizer.peekBuffer(head, { length: head.length, mayBeLess: true });
    const kind = messageKind(Buffer.from(head.buffer, 0, length));
    return kind ? { ext: kind === EMAIL_MEDIA_TYPE ? 'eml' : 'mht', mime: kind } : undefined;
  },
};

const COMPOUND_FILE = 'application/x-cfb';
/** What a compound file is by a stream its application keeps in the root storage (MS-DOC, MS-XLS, MS-PPT, MS-OXMSG). */
const COMPOUND_FILE_TYPES: Array<[streams: string[], type: string]> = [
  [['WordDocument'], 'application/msword'],
  // Excel 97 and later write "Workbook", Excel 5 and 95 "Book".
  [['Workbook', 'Book'], 'application/vnd.ms-excel'],
  [['PowerPoint Document'], 'application/vnd.ms-powerpoint'],
  [['__properties_version1.0'], 'application/vnd.ms-outlook'],
];

/**
 * A Word, Excel or PowerPoint 97-2003 file or an Outlook message by its root streams; any other
 * compound file (an installer, Thumbs.db, a password-protected OOXML file, a damaged one) stays
 * application/x-cfb, which file-type calls them all.
 */
async function compoundFileType(filePath: string): Promise<string> {
  const handle = await open(filePath, 'r');
  try {
    const names = new Set((await (await CompoundFile.open(handle, (await handle.stat()).size)).rootStreams()).map((s) => s.name));
    return COMPOUND_FILE_TYPES.find(([streams]) => streams.some((name) => names.has(name)))?.[1] ?? COMPOUND_FILE;
  } catch (error) {
    if (isSystemError(error)) throw error;
    return COMPOUND_FILE;
  } finally {
    await handle.close();
  }
}

function isSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && 'syscall' in error;
}
