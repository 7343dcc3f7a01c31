// What an e-mail or a saved web page says of itself, from its header block (RFC 5322 with MIME,
// RFC 2045-2047): an .eml as Thunderbird, Outlook, Apple Mail or a webmail's "download message"
// save it (a tip or a witness's account forwarded to an investigator), and an MHTML page (.mht,
// .mhtml: RFC 2557, what Chrome and Edge save with "Save page as... single file"; a documenter's
// copy of a post before it is taken down). Taken: Subject as the title, From as the author (name
// and address), Date as the creation time with the sender's offset, X-Mailer or User-Agent as the
// program, and a saved page's address (Snapshot-Content-Location). The header block is parsed with
// postal-mime (folded lines, encoded words in any charset, address lists); the body is not read.
// The date is read here, since the offset is what a court asks for and postal-mime gives UTC only.
// An e-mail of up to 64 MiB is parsed whole as well: its recipients (To, Cc, Bcc) and the files
// it carries (attached or inline, a forwarded message as one file), each with its size and
// SHA-256 as a mail program would save it, so a photo sent as a tip can be matched with the item
// it became. The message's text is not kept.
// Bounded: the header block must end within the first 64 KiB. A failure gives a note, never an exception.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import PostalMime, { type Address, type Email } from 'postal-mime';
import { captureTimeFromTags, cleanText, type CaptureTime } from './exif-values.js';
import { NO_DOCUMENT_FACTS, type MessageAttachment, type MessageRecipients, type PdfMetadata } from './pdf-metadata.js';

/** The sniffed media types: an e-mail, and a web page saved as one MIME message (MHTML). */
export const EMAIL_MEDIA_TYPE = 'message/rfc822';
export const WEB_ARCHIVE_MEDIA_TYPE = 'multipart/related';

/** How much of the start is read: a message's header block must end within it. */
export const HEAD_BYTES = 64 * 1024;
/** A header field's line: a name of printable ASCII but ':' (RFC 5322 §2.2), then ':'. */
const FIELD_LINE = /^[\x21-\x39\x3b-\x7e]{1,76}[ \t]*:/;
/** The mbox separator some programs keep at the top of a saved message ("From - Tue Nov  4 ..."). */
const MBOX_SEPARATOR = /^From [^\r\n]*\r?\n/;

/**
 * Which kind of MIME message the first bytes begin, from the header block alone: every line up
 * to the first empty one is a header field or a folded continuation, and the fields make it a
 * message (From with a Date, Message-ID, Received or MIME-Version) or a saved page (MIME-Version
 * with a multipart/related Content-Type: Word's MHT has no From). A text that merely starts
 * "From: Olena" is not one. Null for anything else (binary bytes never match).
 */
export function messageKind(head: Buffer, wholeFile = head.length < HEAD_BYTES): typeof EMAIL_MEDIA_TYPE | typeof WEB_ARCHIVE_MEDIA_TYPE | null {
  // Most files are turned away by their first line, before anything else is looked at.
  if (!mayBeMessage(head)) return null;
  const text = head.toString('latin1', 0, Math.min(head.length, HEAD_BYTES)).replace(MBOX_SEPARATOR, '');
  const end = headerEnd(text, wholeFile);
  if (end === null) return null;
  const names = new Set<string>();
  let contentType = '';
  for (const line of text.slice(0, end).split(/\r?\n/)) {
    if (line === '') continue;
    if (/^[ \t]/.test(line)) {
      if (names.size === 0) return null;
      continue;
    }
    if (!FIELD_LINE.test(line)) return null;
    const name = line.slice(0, line.indexOf(':')).trim().toLowerCase();
    names.add(name);
    if (name === 'content-type') contentType = line.slice(line.indexOf(':') + 1).trim().toLowerCase();
  }
  if (contentType.startsWith('multipart/related') && (names.has('mime-version') || names.has('snapshot-content-location'))) return WEB_ARCHIVE_MEDIA_TYPE;
  if (names.has('from') && ['date', 'message-id', 'received', 'mime-version'].some((name) => names.has(name))) return EMAIL_MEDIA_TYPE;
  return null;
}

/** How many first bytes mayBeMessage needs. */
export const FIRST_BYTES = 80;

/** Whether the first bytes can begin a message: a header field's name and colon, or an mbox line. */
export function mayBeMessage(head: Uint8Array): boolean {
  return /^(From |[A-Za-z][A-Za-z0-9-]{0,75}[ \t]*:)/.test(Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, FIRST_BYTES)).toString('latin1'));
}

/** Where the header block ends (its empty line), or the text's end when that is the file's and it is all header; else null. */
function headerEnd(text: string, wholeFile: boolean): number | null {
  const match = /\r?\n\r?\n/.exec(text);
  if (match) return match.index;
  return wholeFile ? text.length : null;
}

type HeaderBlock = { kind: NonNullable<ReturnType<typeof messageKind>>; header: Buffer };

/**
 * The header block of the message whose first bytes are `head` (up to HEAD_BYTES; `wholeFile`
 * when they are all of it), without its empty line or an mbox line before it, and its kind; null
 * when it is no message.
 */
function headerBlockIn(head: Buffer, wholeFile: boolean): HeaderBlock | null {
  const kind = messageKind(head, wholeFile);
  if (kind === null) return null;
  const separator = MBOX_SEPARATOR.exec(head.toString('latin1', 0, 1024));
  const bytes = separator ? head.subarray(separator[0].length) : head;
  // messageKind found the block's end (or the file is all header).
  return { kind, header: bytes.subarray(0, headerEnd(bytes.toString('latin1'), wholeFile)!) };
}

/** headerBlockIn for the file in `handle`: its first HEAD_BYTES are read. */
export async function headerBlockOf(handle: FileHandle, size: number): Promise<HeaderBlock | null> {
  const buffer = Buffer.alloc(Math.min(size, HEAD_BYTES));
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
  return headerBlockIn(buffer.subarray(0, bytesRead), bytesRead === size);
}

/**
 * A saved page's address where Internet Explorer and Edge (.mht) keep it: the Content-Location of
 * the page's part, the first after the header block (Chrome names it in the header instead,
 * Snapshot-Content-Location). Only an http(s) address: Word's "single file web page" names the
 * document's own file there (file:///C:/Users/...), which is no page it was saved from.
 */
async function firstPartLocation(head: Buffer, header: Buffer): Promise<string | null> {
  const text = head.toString('latin1');
  const boundary = /boundary\s*=\s*(?:"([^"\r\n]+)"|([^\s;]+))/i.exec(header.toString('latin1'));
  if (!boundary) return null;
  const delimiter = text.indexOf(`\n--${boundary[1] ?? boundary[2]}`, header.length);
  const start = delimiter < 0 ? -1 : text.indexOf('\n', delimiter + 1) + 1;
  if (start <= 0) return null;
  // The part's header block, read (unfolded) as any header block is.
  const fields = await headerFields(head.subarray(start, start + text.slice(start).split(/\r?\n\r?\n/, 1)[0]!.length));
  const value = Object.entries(fields).find(([name]) => name.toLowerCase() === 'content-location')?.[1];
  const location = (Array.isArray(value) ? value[0] : value)?.trim().split(/\s/, 1)[0];
  return location && /^https?:\/\//i.test(location) ? location : null;
}

/** An e-mail up to this size is parsed whole (recipients, attachments); a larger one by its header block only, with a note. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Most recipients of each kind, and most attachments, listed; more are counted in a note. */
export const MAX_LISTED = 1000;

/**
 * What the message whose first bytes are `head` says (intake passes the bytes it has read
 * already). For an e-mail, `file` (the whole file's handle and size) gives its recipients and
 * attachments; without it, or past MAX_MESSAGE_BYTES, the header block alone is read.
 */
export async function readEmailMetadata(head: Buffer, wholeFile: boolean, file?: { handle: FileHandle; size: number }): Promise<PdfMetadata | null> {
  const block = headerBlockIn(head.subarray(0, HEAD_BYTES), wholeFile && head.length <= HEAD_BYTES);
  if (block === null) return null;
  const { kind } = block;
  const label = kind === EMAIL_MEDIA_TYPE ? 'E-mail' : 'Saved web page (MHTML)';
  const notes: string[] = [];
  const facts = await readHeaderBlock(block.header, label, notes);
  return {
    ...NO_DOCUMENT_FACTS,
    title: facts.title,
    author: facts.author,
    creator: facts.creator,
    ...(kind === WEB_ARCHIVE_MEDIA_TYPE ? { savedFrom: facts.savedFrom ?? (await firstPartLocation(head.subarray(0, HEAD_BYTES), block.header)) } : {}),
    ...(kind === EMAIL_MEDIA_TYPE && file ? await messageParts(file.handle, file.size, label, notes) : {}),
    createdAt: facts.sent?.capturedAt ?? null,
    createdAtOffset: facts.sent?.capturedAtOffset ?? null,
    notes,
  };
}

/** An e-mail's recipients and attachments, from the whole file (up to MAX_MESSAGE_BYTES); nothing, with a note, when it cannot be parsed. */
async function messageParts(handle: FileHandle, size: number, label: string, notes: string[]): Promise<{ recipients?: MessageRecipients; attachments?: MessageAttachment[] }> {
  if (size > MAX_MESSAGE_BYTES) {
    notes.push(`${label}: larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB; its recipients and attachments are not read`);
    return {};
  }
  let email: Email;
  try {
    email = await parseWhole(handle, size);
  } catch (error) {
    notes.push(`${label}: its parts cannot be read (${error instanceof Error ? error.message : String(error)}); recipients and attachments are not listed`);
    return {};
  }
  const attachments = email.attachments.map((part): MessageAttachment => {
    const content = contentOf(part);
    return {
      name: cleanText(part.filename),
      mediaType: cleanText(part.mimeType)?.toLowerCase() ?? null,
      sizeBytes: content.byteLength,
      sha256: createHash('sha256').update(content).digest('hex'),
      inline: part.disposition === 'inline' || part.related === true,
    };
  });
  return { recipients: { to: listed(email.to, 'To', label, notes), cc: listed(email.cc, 'Cc', label, notes), bcc: listed(email.bcc, 'Bcc', label, notes) }, attachments: capped(attachments, 'attachments', label, notes) };
}

/** The whole e-mail (the caller has checked it is at most MAX_MESSAGE_BYTES) as postal-mime parses it; throws what postal-mime throws. */
async function parseWhole(handle: FileHandle, size: number): Promise<Email> {
  const bytes = Buffer.alloc(size);
  let filled = 0;
  for (let read = -1; read !== 0 && filled < size; filled += read) ({ bytesRead: read } = await handle.read(bytes, filled, size - filled, filled));
  // A forwarded message is one attachment (its bytes as sent), not parts of this one.
  return PostalMime.parse(bytes.subarray(0, filled), { forceRfc822Attachments: true, attachmentEncoding: 'arraybuffer' });
}

/** An attachment's decoded bytes (attachmentEncoding 'arraybuffer' gives an ArrayBuffer). */
const contentOf = (part: Email['attachments'][number]) => new Uint8Array(part.content as ArrayBuffer);

/**
 * The bytes of the file an e-mail of up to MAX_MESSAGE_BYTES carries whose SHA-256 is `sha256`
 * (as readEmailMetadata listed it), decoded as listed; null when it carries none such.
 */
export async function emailAttachmentBytes(handle: FileHandle, size: number, sha256: string): Promise<Buffer | null> {
  if (size > MAX_MESSAGE_BYTES) return null;
  for (const part of (await parseWhole(handle, size)).attachments) {
    const content = contentOf(part);
    if (createHash('sha256').update(content).digest('hex') === sha256) return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  }
  return null;
}

/** Every mailbox of an address list (groups opened) as "name <address>", up to MAX_LISTED. */
function listed(addresses: Address[] | undefined, field: string, label: string, notes: string[]): string[] {
  const mailboxes = (addresses ?? []).flatMap((address) => address.group ?? [address]).map((box) => mailbox(box)).filter((box) => box !== null);
  return capped(mailboxes, `${field} addresses`, label, notes);
}

/** The first MAX_LISTED of `list`, with a note saying how many there were when it is longer. */
export function capped<T>(list: T[], what: string, label: string, notes: string[]): T[] {
  if (list.length <= MAX_LISTED) return list;
  notes.push(`${label}: ${list.length} ${what}; the first ${MAX_LISTED} are listed`);
  return list.slice(0, MAX_LISTED);
}

export interface HeaderFacts {
  /** The Subject. */
  title: string | null;
  /** The sender as "name <address>"; null for a saved page's saver. */
  author: string | null;
  /** The mailer (X-Mailer, User-Agent), or what saved a page ("Saved by Blink"). */
  creator: string | null;
  /** The Date: the instant with the sender's offset. */
  sent: CaptureTime | null;
  /** A saved page's address (Snapshot-Content-Location). */
  savedFrom: string | null;
}

/** What a header block (without its empty line) says: also an Outlook message's copy of its internet headers. */
export async function readHeaderBlock(header: Buffer | string, label: string, notes: string[]): Promise<HeaderFacts> {
  const email = await parseHeader(header);
  const field = (name: string) => email.headers.find((h) => h.key === name)?.value;
  const from = mailbox(email.from);
  // A saved page's From is its saver ("<Saved by Blink>"), not a person.
  const savedBy = from !== null && !from.includes('@') && /^<?saved by /i.test(from) ? from.replace(/^<|>$/g, '') : null;
  const date = field('date');
  return {
    title: cleanText(email.subject),
    author: savedBy ? null : from,
    creator: cleanText(field('x-mailer') ?? field('user-agent')) ?? savedBy,
    sent: date === undefined ? null : rfc5322Date(date, label, notes),
    savedFrom: cleanText(field('snapshot-content-location')),
  };
}

/**
 * Every field of a header block as the file holds it (unfolded, encoded words left as written),
 * in order; a field given more than once (Received) as the list of its values, top first.
 */
export async function headerFields(header: Buffer | string): Promise<Record<string, string | string[]>> {
  const email = await parseHeader(header);
  // A Map, so that a field named "constructor" or "__proto__" is a field like any other.
  const fields = new Map<string, string | string[]>();
  for (const { originalKey, value } of email.headers) {
    const seen = fields.get(originalKey);
    fields.set(originalKey, seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]);
  }
  return Object.fromEntries(fields);
}

/** postal-mime's reading of a header block given without its empty line (and without the body). */
function parseHeader(header: Buffer | string): ReturnType<typeof PostalMime.parse> {
  return PostalMime.parse(Buffer.concat([Buffer.from(header), Buffer.from('\r\n\r\n')]));
}

/** "Name <address>", or whichever of the two the field gives; the first of a list or group. */
function mailbox(address: Address | undefined): string | null {
  const first = address?.group ? address.group[0] : address;
  if (!first) return null;
  const name = cleanText(first.name);
  const mail = cleanText(first.address);
  return name && mail ? `${name} <${mail}>` : (mail ?? name);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** RFC 5322 §4.3's obsolete zones; a military letter, like "-0000", says nothing of the local zone (§3.3), so only the instant is known. */
const NAMED_ZONES: Record<string, string> = { ut: '+0000', gmt: '+0000', z: '+0000', est: '-0500', edt: '-0400', cst: '-0600', cdt: '-0500', mst: '-0700', mdt: '-0600', pst: '-0800', pdt: '-0700' };
const DATE_TIME = /^(?:[a-z]{3,9}\s*,\s*)?(\d{1,2})\s+([a-z]{3})[a-z]*\.?\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([+-]\d{2}:?\d{2}|[a-z]{1,5}))?/i;

/**
 * RFC 5322 §3.3 date-time with the obsolete forms of §4.3 (two- and three-digit years, named
 * zones, no seconds, comments and folding whitespace anywhere), as the sender wrote it: the
 * instant in UTC with the sender's offset. A zone that is not in the RFC (such as "MSK" or
 * "EET") is left out with a note, and the time kept as local time; anything unreadable is null.
 */
export function rfc5322Date(value: string, label: string, notes: string[]): CaptureTime | null {
  const text = uncomment(value).replace(/\s+/g, ' ').trim();
  const parts = DATE_TIME.exec(text);
  const month = parts ? MONTHS.indexOf(parts[2]!.toLowerCase()) : -1;
  if (!parts || month < 0) {
    notes.push(`${label}: the Date field cannot be read`);
    return null;
  }
  const [, day, , yearText, hour, minute, second, zone] = parts;
  let year = Number(yearText);
  if (yearText!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yearText!.length === 3) year += 1900;
  // "+02:00" is not RFC 5322's form, but some programs write it; its meaning is plain.
  let offset = zone === undefined ? undefined : /^[+-]\d/.test(zone) ? zone.replace(':', '') : NAMED_ZONES[zone.toLowerCase()];
  if (zone !== undefined && offset === undefined) {
    if (/^[a-ik-z]$/i.test(zone)) offset = '+0000';
    else notes.push(`${label}: the Date field's zone "${zone}" is not one RFC 5322 defines; the time is kept as local time`);
  }
  if (offset === '-0000') offset = '+0000';
  const pad = (n: string | number, width = 2) => String(n).padStart(width, '0');
  const iso = `${pad(year, 4)}-${pad(month + 1)}-${pad(day!)}T${pad(hour!)}:${minute}:${second === '60' ? '59' : (second ?? '00')}${offset ? `${offset.slice(0, 3)}:${offset.slice(3)}` : ''}`;
  const time = captureTimeFromTags({ xmpDates: [iso] });
  if (!time) notes.push(`${label}: the Date field names no real time ("${text.slice(0, 64)}")`);
  return time;
}

/** The text without RFC 5322 comments (parenthesised, nested, with quoted pairs). */
function uncomment(value: string): string {
  let depth = 0;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && depth > 0) i++;
    else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}
