// A mailbox file (mbox, RFC 4155: what Thunderbird keeps a folder in, what Google Takeout and Apple
// Mail export): messages one after another, each after a "From " separator line. Its first message
// looks like an e-mail saved with its separator (as Thunderbird and Outlook Express save one), so it
// is told apart by a second separator line: without this, a whole mailbox would be read as its first
// message, its sender and subject given as the file's own. Its messages are listed as the files it
// holds (each with its subject, sender, date, size and SHA-256), as an e-mail's attachments are, and
// any can be submitted as an item of its own.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { EMAIL_MEDIA_TYPE, HEAD_BYTES, MAX_LISTED, readHeaderBlock } from './email-metadata.js';
import { NO_DOCUMENT_FACTS, type MessageAttachment, type PdfMetadata } from './pdf-metadata.js';

export const MAILBOX_MEDIA_TYPE = 'application/mbox';
/** A second separator within this many bytes makes the file a mailbox (the size an e-mail is read whole up to). */
export const MAILBOX_DECIDED_WITHIN = 64 * 1024 * 1024;
/** Separators are counted within this many bytes; past them, the count is a lower bound. */
export const MAILBOX_COUNTED_WITHIN = 1024 * 1024 * 1024;

/**
 * A separator line as mail programs write it: "From ", the envelope sender (an address, "-" in
 * Thunderbird's, MAILER-DAEMON) and an asctime date ("Tue Nov  4 03:12:07 2025"; Gmail's Takeout puts
 * "+0000" before the year). A line of text that starts "From " has no such date after one word.
 */
const SEPARATOR = /^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} +\d{1,2}:\d\d/;
const CHUNK = 1024 * 1024;
const LINE_START = Buffer.from('\nFrom ', 'latin1');

export interface MailboxCount {
  /** Separator lines found, the file's first line included. */
  count: number;
  /** Where the second one starts, if any. */
  second: number | null;
  /** Whether the whole file was scanned (else `count` is a lower bound). */
  complete: boolean;
}

/** Counts the separator lines in the first `limit` bytes of the file, stopping once `stopAt` are found. */
export async function countMailboxMessages(handle: FileHandle, size: number, limit = MAILBOX_COUNTED_WITHIN, stopAt = Infinity): Promise<MailboxCount> {
  const { starts, count, complete } = await separatorLines(handle, size, limit, stopAt, 2);
  return { count, second: starts[1] ?? null, complete };
}

/**
 * The separator lines in the first `limit` bytes, up to `stopAt` of them: how many, and where the
 * first `keep` start (a mailbox of millions of short messages is counted, not held);
 * `complete` when the whole file was scanned.
 */
async function separatorLines(handle: FileHandle, size: number, limit: number, stopAt: number, keep: number): Promise<{ starts: number[]; count: number; complete: boolean }> {
  const end = Math.min(size, limit);
  const buffer = Buffer.alloc(CHUNK + 256);
  const starts: number[] = [];
  let count = 0;
  const found = (start: number) => {
    if (count++ < keep) starts.push(start);
  };
  // Each chunk is read with the 256 bytes after it, so a separator line across the cut is whole.
  for (let at = 0; at < end && count < stopAt; at += CHUNK) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
    const bytes = buffer.subarray(0, bytesRead);
    if (at === 0 && isSeparator(bytes, 0)) found(0);
    for (let i = bytes.indexOf(LINE_START); i >= 0 && i < Math.min(CHUNK, end - at) && count < stopAt; i = bytes.indexOf(LINE_START, i + 1)) {
      if (isSeparator(bytes, i + 1)) found(at + i + 1);
    }
  }
  return { starts, count, complete: end === size && count < stopAt };
}

function isSeparator(bytes: Buffer, at: number): boolean {
  return SEPARATOR.test(bytes.toString('latin1', at, Math.min(bytes.length, at + 120)));
}

/**
 * Whether the file is a mailbox: its first line is a separator line and a second one follows
 * within MAILBOX_DECIDED_WITHIN. Any other file is turned away by its first line, unscanned.
 */
export async function isMailbox(handle: FileHandle, size: number): Promise<boolean> {
  const first = Buffer.alloc(120);
  const { bytesRead } = await handle.read(first, 0, first.length, 0);
  if (!isSeparator(first.subarray(0, bytesRead), 0)) return false;
  return (await countMailboxMessages(handle, size, MAILBOX_DECIDED_WITHIN, 2)).count >= 2;
}

/** isMailbox for the file at `filePath`. */
export async function isMailboxFile(filePath: string): Promise<boolean> {
  const handle = await open(filePath, 'r');
  try {
    return await isMailbox(handle, (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

export interface MailboxLimits {
  /** Bytes of messages hashed in all: the messages past it are counted in a note, not listed. */
  hashedBytes: number;
}
export const MAILBOX_LIMITS: MailboxLimits = { hashedBytes: 1024 * 1024 * 1024 };

/**
 * A mailbox's messages, each listed as a file it carries (an .eml a mail program would save): its
 * Subject as the name, its sender and Date, its size and the SHA-256 of its bytes as the mailbox
 * holds them (its separator line and the empty line before the next one left out, as Python's
 * mailbox module gives them; ">From " lines as written). Up to MAX_LISTED messages and the
 * hashed-bytes budget; a note counts the messages and says what was not listed.
 */
export async function readMailboxMessages(handle: FileHandle, size: number, limits: MailboxLimits = MAILBOX_LIMITS): Promise<PdfMetadata> {
  const notes: string[] = [];
  const messages = await messageRanges(handle, size);
  const counted = messages.complete ? `${messages.count} messages` : `at least ${messages.count} messages (counted in its first ${MAILBOX_COUNTED_WITHIN / 1024 ** 3} GiB)`;
  notes.push(`Mailbox (mbox): ${counted}; each is listed as a file it holds, and none is read as the file's own`);
  const files: MessageAttachment[] = [];
  let hashed = 0;
  for (const range of messages.ranges) {
    const length = range.stop - range.start;
    if (hashed + length > limits.hashedBytes) break;
    hashed += length;
    files.push(await describe(handle, range, files.length));
  }
  if (files.length < messages.count) notes.push(`Mailbox (mbox): the first ${files.length} messages are listed (at most ${MAX_LISTED}, and ${limits.hashedBytes} bytes hashed when a mailbox arrives)`);
  return { ...NO_DOCUMENT_FACTS, attachments: files, notes };
}

/**
 * Hands each message of the mailbox with the listed size to `take` (its bytes as listed), until
 * `take` gives a result whose SHA-256 is the listed one (a result that is not is discarded); null
 * when none is.
 */
export async function takeMailboxMessage<T extends { sha256: string; discard(): Promise<void> }>(
  filePath: string,
  file: Pick<MessageAttachment, 'sizeBytes' | 'sha256'>,
  take: (source: Readable) => Promise<T>,
): Promise<T | null> {
  const handle = await open(filePath, 'r');
  let ranges: MessageRange[];
  try {
    ({ ranges } = await messageRanges(handle, (await handle.stat()).size, false));
  } finally {
    await handle.close();
  }
  for (const range of ranges) {
    if (range.stop - range.start !== file.sizeBytes) continue;
    const result = await take(range.stop > range.start ? createReadStream(filePath, { start: range.start, end: range.stop - 1 }) : Readable.from([]));
    if (result.sha256 === file.sha256) return result;
    await result.discard();
  }
  return null;
}

interface MessageRange {
  /** The message's first byte, after its separator line. */
  start: number;
  /** Past its last byte. */
  stop: number;
}

/**
 * The first MAX_LISTED messages' bytes in the mailbox (the last one found left out when the scan
 * stopped short of the file's end), and how many there are (unless `counted` is false: then the
 * scan stops once the listed ones' ends are known).
 */
async function messageRanges(handle: FileHandle, size: number, counted = true): Promise<{ ranges: MessageRange[]; count: number; complete: boolean }> {
  const { starts, count, complete } = await separatorLines(handle, size, MAILBOX_COUNTED_WITHIN, counted ? Infinity : MAX_LISTED + 1, MAX_LISTED + 1);
  const ends = [...starts.slice(1), ...(complete && count === starts.length ? [size] : [])].slice(0, MAX_LISTED);
  const ranges: MessageRange[] = [];
  const around = Buffer.alloc(2 + 1024);
  for (const [i, stop] of ends.entries()) {
    // The separator line's end: the first line feed after its start (within a KiB; else it is all the line).
    const { bytesRead } = await handle.read(around, 0, Math.min(around.length, size - starts[i]!), starts[i]!);
    const lineEnd = around.subarray(0, bytesRead).indexOf(0x0a);
    const start = lineEnd < 0 ? Math.min(size, starts[i]! + bytesRead) : starts[i]! + lineEnd + 1;
    // The empty line before the next separator (or the file's end) is the mailbox's, not the message's.
    // (Its last line feed and the one before it: the separator line's own when the message is one byte.)
    let end = stop;
    if (end > start) {
      await handle.read(around, 0, 2, end - 2);
      if (around[0] === 0x0a && around[1] === 0x0a) end -= 1;
    }
    ranges.push({ start, stop: end });
  }
  return { ranges, count, complete };
}

/** A message's entry: its header read (within its first 64 KiB), its bytes hashed. */
async function describe(handle: FileHandle, { start, stop }: MessageRange, index: number): Promise<MessageAttachment> {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(Math.min(CHUNK, Math.max(1, stop - start)));
  let head: Buffer | null = null;
  for (let at = start; at < stop; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, stop - at), at);
    if (bytesRead === 0) break;
    if (head === null) head = Buffer.from(buffer.subarray(0, Math.min(bytesRead, HEAD_BYTES)));
    hash.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  const text = (head ?? Buffer.alloc(0)).toString('latin1');
  const blank = /\r?\n\r?\n/.exec(text);
  // A message's own problems (a Date that cannot be read) are its own item's notes, once submitted.
  const facts = await readHeaderBlock((head ?? Buffer.alloc(0)).subarray(0, blank ? blank.index : text.length), 'E-mail', []);
  return {
    name: `${(facts.title ?? `message ${index + 1}`).replace(/[\/\\\x00-\x1f\x7f]/g, '_').slice(0, 200)}.eml`,
    mediaType: EMAIL_MEDIA_TYPE,
    sizeBytes: stop - start,
    sha256: hash.digest('hex'),
    inline: false,
    from: facts.author,
    sentAt: facts.sent?.capturedAt ?? null,
  };
}
