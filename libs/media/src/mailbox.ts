// A mailbox file (mbox, RFC 4155: what Thunderbird keeps a folder in, what Google Takeout and Apple
// Mail export): messages one after another, each after a "From " separator line. Its first message
// looks like an e-mail saved with its separator (as Thunderbird and Outlook Express save one), so it
// is told apart by a second separator line: without this, a whole mailbox would be read as its first
// message, its sender and subject given as the file's own. The messages are counted, not read one by
// one (their facts are each message's, not the file's).
import type { FileHandle } from 'node:fs/promises';

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
  const end = Math.min(size, limit);
  const buffer = Buffer.alloc(CHUNK + 256);
  let count = 0;
  let second: number | null = null;
  // Each chunk is read with the 256 bytes after it, so a separator line across the cut is whole.
  for (let at = 0; at < end && count < stopAt; at += CHUNK) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
    const bytes = buffer.subarray(0, bytesRead);
    const starts = at === 0 && isSeparator(bytes, 0) ? [0] : [];
    for (let i = bytes.indexOf(LINE_START); i >= 0 && i < Math.min(CHUNK, end - at); i = bytes.indexOf(LINE_START, i + 1)) {
      if (isSeparator(bytes, i + 1)) starts.push(i + 1);
    }
    for (const start of starts) {
      count++;
      if (count === 2) second = at + start;
      if (count >= stopAt) break;
    }
  }
  return { count, second, complete: end === size && count < stopAt };
}

function isSeparator(bytes: Buffer, at: number): boolean {
  return SEPARATOR.test(bytes.toString('latin1', at, Math.min(bytes.length, at + 120)));
}

/** Whether a file that begins as an e-mail is a mailbox: a second separator line within MAILBOX_DECIDED_WITHIN. */
export async function isMailbox(handle: FileHandle, size: number): Promise<boolean> {
  return (await countMailboxMessages(handle, size, MAILBOX_DECIDED_WITHIN, 2)).count >= 2;
}
