// What an Outlook message saved as a file (.msg: Outlook's "Save as", or a message dragged out of
// it; MS-OXMSG, a compound file) says of itself: the subject as the title, the sender as the
// author (name and SMTP address), when it was sent (PidTagClientSubmitTime; else delivered, else
// created), who changed it last and when, and the mailer. Strings are the properties' own streams
// ("__substg1.0_<id><type>": UTF-16, or 8-bit in the message's code page); times and the code
// page are in "__properties_version1.0". A message that came in over the internet keeps its
// headers (PidTagTransportMessageHeaders): their Date gives the sender's offset, which the MAPI
// times (UTC) do not. Its recipients (storages "__recip_version1.0_#n": To, Cc or Bcc, name and
// SMTP address) and the files attached to it ("__attach_version1.0_#n": name, declared type,
// size and SHA-256 of the attached bytes, hashed as read) are listed as an e-mail's are; a message
// or an object embedded in it has no bytes of its own to hash, and gets a note.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { CompoundFile, fileTime, type StorageEntry, type StreamEntry } from './compound-file.js';
import { codePageDecoder } from './code-pages.js';
import { capped, MAX_MESSAGE_BYTES, readHeaderBlock } from './email-metadata.js';
import { cleanText, type CaptureTime } from './exif-values.js';
import { NO_DOCUMENT_FACTS, type MessageAttachment, type MessageRecipients, type PdfMetadata } from './pdf-metadata.js';

const LABEL = 'Outlook message';
/** A message's or a recipient's or attachment's fixed-size properties (MS-OXMSG 2.4): a header (32 bytes for the top-level message, 8 for the others), then 16-byte entries. */
export const MESSAGE_PROPERTIES = '__properties_version1.0';
const HEADER_BYTES = 32;
const SUBOBJECT_HEADER_BYTES = 8;
const RECIPIENT_STORAGE = /^__recip_version1\.0_#[0-9a-f]{8}$/i;
const ATTACHMENT_STORAGE = /^__attach_version1\.0_#[0-9a-f]{8}$/i;
/** Reads of a message's attachments: every byte of them (up to MAX_MESSAGE_BYTES) in sectors of 512 bytes at worst. */
const ATTACHMENT_LIMITS = { maxReads: 300_000, maxBytes: MAX_MESSAGE_BYTES + 16 * 1024 * 1024 };
const HASH_CHUNK = 1024 * 1024;
const MAX_PROPERTY_BYTES = 64 * 1024;
const MAX_STRING_BYTES = 256 * 1024;
/** Property ids (MS-OXPROPS). */
const PID = {
  subject: 0x0037,
  clientSubmitTime: 0x0039,
  transportHeaders: 0x007d,
  senderName: 0x0c1a,
  senderEmail: 0x0c1f,
  senderSmtp: 0x5d01,
  deliveryTime: 0x0e06,
  creationTime: 0x3007,
  lastModificationTime: 0x3008,
  lastModifierName: 0x3ffa,
  internetCodepage: 0x3fde,
  messageCodepage: 0x3ffd,
  recipientType: 0x0c15,
  displayName: 0x3001,
  emailAddress: 0x3003,
  smtpAddress: 0x39fe,
  attachData: 0x3701,
  attachFilename: 0x3704,
  attachLongFilename: 0x3707,
  attachMimeTag: 0x370e,
  /** Not in MS-OXPROPS, but Exchange keeps a MIME part's Content-Disposition there (msgconvert reads it too). */
  attachContentDisposition: 0x3716,
  attachmentHidden: 0x7ffe,
};
const TYPE = { integer32: 0x0003, boolean: 0x000b, object: 0x000d, time: 0x0040, string8: 0x001e, unicode: 0x001f, binary: 0x0102 };
/** PidTagRecipientType's low bits (MAPI_TO, MAPI_CC, MAPI_BCC); a recipient without one is taken as To, as msgconvert takes it. */
const RECIPIENT_KINDS: Record<number, keyof MessageRecipients> = { 1: 'to', 2: 'cc', 3: 'bcc' };

/** The facts of the message in `file` whose root streams are `streams` (it holds MESSAGE_PROPERTIES). */
export async function readOutlookMessage(file: CompoundFile, streams: StreamEntry[], notes: string[], size: number): Promise<PdfMetadata> {
  const fixed = await fixedProperties(file, streams.find((s) => s.name === MESSAGE_PROPERTIES)!, HEADER_BYTES);
  const ansi = ansiDecoder(fixed, notes);
  const text = stringReader(file, streams, ansi);
  const name = cleanText(await text(PID.senderName));
  const smtp = [cleanText(await text(PID.senderSmtp)), cleanText(await text(PID.senderEmail))].find((address) => address?.includes('@')) ?? null;
  const transport = await internetHeaders(text);
  const headers = transport === null ? null : await readHeaderBlock(transport, LABEL, notes);
  const sent = fixed.times.get(PID.clientSubmitTime) ?? fixed.times.get(PID.deliveryTime) ?? fixed.times.get(PID.creationTime) ?? null;
  // The headers' Date names the same instant with the sender's offset; one that differs is not taken.
  const when = headers?.sent && sent && headers.sent.capturedAt === sent.capturedAt ? headers.sent : (sent ?? headers?.sent ?? null);
  const modified = fixed.times.get(PID.lastModificationTime) ?? null;
  return {
    ...NO_DOCUMENT_FACTS,
    title: cleanText(await text(PID.subject)) ?? headers?.title ?? null,
    author: name && smtp ? `${name} <${smtp}>` : (name ?? smtp ?? headers?.author ?? null),
    lastModifiedBy: cleanText(await text(PID.lastModifierName)),
    creator: headers?.creator ?? null,
    createdAt: when?.capturedAt ?? null,
    createdAtOffset: when?.capturedAtOffset ?? null,
    modifiedAt: modified?.capturedAt ?? null,
    modifiedAtOffset: modified?.capturedAtOffset ?? null,
    ...(await recipientsAndAttachments(file, ansi, notes, size)),
    notes,
  };
}

/** The message's recipients and attached files (the latter only for a file up to MAX_MESSAGE_BYTES); nothing, with a note, where the storages cannot be read. */
async function recipientsAndAttachments(
  file: CompoundFile,
  ansi: () => TextDecoder,
  notes: string[],
  size: number,
): Promise<{ recipients?: MessageRecipients; attachments?: MessageAttachment[] }> {
  let storages: StorageEntry[];
  try {
    // Outlook numbers them in order (#00000000, #00000001, ...): the order it shows them in.
    storages = (await file.entries()).storages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    notes.push(`${LABEL}: its recipients and attachments cannot be read (${errorText(error)})`);
    return {};
  }
  const recipients: MessageRecipients = { to: [], cc: [], bcc: [] };
  for (const storage of storages.filter((s) => RECIPIENT_STORAGE.test(s.name))) {
    const recipient = await subObject(file, storage, ansi).catch((error: unknown) => {
      notes.push(`${LABEL}: a recipient cannot be read (${errorText(error)})`);
      return null;
    });
    if (!recipient) continue;
    const name = cleanText(await recipient.text(PID.displayName));
    const smtp = [cleanText(await recipient.text(PID.smtpAddress)), cleanText(await recipient.text(PID.emailAddress))].find((address) => address?.includes('@')) ?? null;
    const address = name && smtp && name !== smtp ? `${name} <${smtp}>` : (smtp ?? name);
    if (address) recipients[RECIPIENT_KINDS[(recipient.fixed.integers.get(PID.recipientType) ?? 1) & 0xf] ?? 'to'].push(address);
  }
  for (const [kind, field] of [['to', 'To'], ['cc', 'Cc'], ['bcc', 'Bcc']] as const) recipients[kind] = capped(recipients[kind], `${field} addresses`, LABEL, notes);
  const attached = storages.filter((s) => ATTACHMENT_STORAGE.test(s.name));
  if (attached.length === 0) return { recipients, attachments: [] };
  if (size > MAX_MESSAGE_BYTES) {
    notes.push(`${LABEL}: larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB; its attachments are not read`);
    return { recipients };
  }
  file.widenBudget(ATTACHMENT_LIMITS);
  const attachments: MessageAttachment[] = [];
  for (const storage of capped(attached, 'attachments', LABEL, notes)) {
    const listed = await attachment(file, storage, ansi, notes).catch((error: unknown) => {
      notes.push(`${LABEL}: an attachment cannot be read (${errorText(error)})`);
      return null;
    });
    if (listed) attachments.push(listed);
  }
  return { recipients, attachments };
}

/**
 * The bytes of the file an Outlook message of up to MAX_MESSAGE_BYTES carries whose SHA-256 is
 * `sha256` (as readOutlookMessage listed it); null when it carries none such.
 */
export async function outlookAttachmentBytes(handle: FileHandle, size: number, sha256: string): Promise<Buffer | null> {
  if (size > MAX_MESSAGE_BYTES) return null;
  const file = await CompoundFile.open(handle, size);
  file.widenBudget(ATTACHMENT_LIMITS);
  for (const storage of (await file.entries()).storages.filter((s) => ATTACHMENT_STORAGE.test(s.name))) {
    const data = attachedData((await file.entries(storage)).streams);
    if (!data) continue;
    const bytes = await file.stream(data).read(0, data.size);
    if (createHash('sha256').update(bytes).digest('hex') === sha256) return bytes;
  }
  return null;
}

/** An attachment's bytes: its PidTagAttachDataBinary stream (none for an embedded message or object, or a link). */
const attachedData = (streams: StreamEntry[]) => streams.find((s) => s.name.toUpperCase() === `__SUBSTG1.0_${hex(PID.attachData)}${hex(TYPE.binary)}`);

/** An attached file: its name, declared type, and size and SHA-256 of its bytes; null (with a note) for an embedded message or object, which has no bytes of its own. */
async function attachment(file: CompoundFile, storage: StorageEntry, ansi: () => TextDecoder, notes: string[]): Promise<MessageAttachment | null> {
  const part = await subObject(file, storage, ansi);
  const name = cleanText(await part.text(PID.attachLongFilename)) ?? cleanText(await part.text(PID.attachFilename)) ?? cleanText(await part.text(PID.displayName));
  const data = attachedData(part.streams);
  if (!data) {
    const what = part.storages.some((s) => s.name.toUpperCase() === `__SUBSTG1.0_${hex(PID.attachData)}${hex(TYPE.object)}`) ? 'a message or an object embedded in this one' : 'a link to a file kept elsewhere';
    notes.push(`${LABEL}: the attachment ${name ? `"${name}"` : 'without a name'} is ${what}; it has no bytes of its own and is not listed`);
    return null;
  }
  const reader = file.stream(data);
  const hash = createHash('sha256');
  for (let at = 0; at < data.size; at += HASH_CHUNK) hash.update(await reader.read(at, Math.min(HASH_CHUNK, data.size - at)));
  const disposition = cleanText(await part.text(PID.attachContentDisposition))?.toLowerCase();
  return {
    name,
    mediaType: cleanText(await part.text(PID.attachMimeTag))?.toLowerCase() ?? null,
    sizeBytes: data.size,
    sha256: hash.digest('hex'),
    inline: part.fixed.booleans.get(PID.attachmentHidden) === true || disposition === 'inline',
  };
}

interface SubObject {
  streams: StreamEntry[];
  storages: StorageEntry[];
  fixed: FixedProperties;
  text: (id: number) => Promise<string | null>;
}

/** A recipient's or an attachment's storage: its streams, fixed properties and strings. */
async function subObject(file: CompoundFile, storage: StorageEntry, ansi: () => TextDecoder): Promise<SubObject> {
  const { streams, storages } = await file.entries(storage);
  const properties = streams.find((s) => s.name === MESSAGE_PROPERTIES);
  const fixed = properties ? await fixedProperties(file, properties, SUBOBJECT_HEADER_BYTES) : { times: new Map(), integers: new Map(), booleans: new Map() };
  return { streams, storages, fixed, text: stringReader(file, streams, ansi) };
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The header block of the internet headers an Outlook message in `handle` keeps; null for a message without, or another compound file. */
export async function outlookInternetHeaders(handle: FileHandle, size: number): Promise<string | null> {
  const file = await CompoundFile.open(handle, size);
  const streams = await file.rootStreams();
  const properties = streams.find((s) => s.name === MESSAGE_PROPERTIES);
  if (!properties) return null;
  return internetHeaders(stringReader(file, streams, ansiDecoder(await fixedProperties(file, properties, HEADER_BYTES), [])));
}

/** PidTagTransportMessageHeaders up to its first empty line (some writers keep a body part's headers after it). */
async function internetHeaders(text: (id: number) => Promise<string | null>): Promise<string | null> {
  const headers = await text(PID.transportHeaders);
  return headers === null ? null : headers.split(/\r?\n\r?\n/)[0]!;
}

/** The decoder of the message's 8-bit strings, made when first needed: its code page, said once in `notes` when unknown. */
function ansiDecoder(fixed: FixedProperties, notes: string[]): () => TextDecoder {
  let decoder: TextDecoder | undefined;
  return () => (decoder ??= codePageDecoder(fixed.integers.get(PID.messageCodepage) ?? fixed.integers.get(PID.internetCodepage) ?? 1252, notes, LABEL));
}

/** Reads a string property of the object whose streams are `streams`: UTF-16, or 8-bit in the message's code page. */
function stringReader(file: CompoundFile, streams: StreamEntry[], ansi: () => TextDecoder): (id: number) => Promise<string | null> {
  return async (id) => {
    // Outlook writes the hex digits in upper case; a writer using lower case is read too.
    const named = (type: number) => streams.find((s) => s.name.toUpperCase() === `__SUBSTG1.0_${hex(id)}${hex(type)}`);
    const unicode = named(TYPE.unicode);
    const entry = unicode ?? named(TYPE.string8);
    if (!entry) return null;
    const bytes = await file.stream(entry).read(0, Math.min(entry.size, MAX_STRING_BYTES));
    return (unicode ? bytes.toString('utf16le') : ansi().decode(bytes)).replace(/\0+$/, '');
  };
}

interface FixedProperties {
  times: Map<number, CaptureTime | null>;
  integers: Map<number, number>;
  booleans: Map<number, boolean>;
}

/** The times, 32-bit integers and booleans of a property stream whose header is `headerBytes` long. */
async function fixedProperties(file: CompoundFile, entry: StreamEntry, headerBytes: number): Promise<FixedProperties> {
  const bytes = await file.stream(entry).read(0, Math.min(entry.size, MAX_PROPERTY_BYTES));
  const times = new Map<number, CaptureTime | null>();
  const integers = new Map<number, number>();
  const booleans = new Map<number, boolean>();
  for (let at = headerBytes; at + 16 <= bytes.length; at += 16) {
    const [type, id] = [bytes.readUInt16LE(at), bytes.readUInt16LE(at + 2)];
    if (type === TYPE.time) times.set(id, fileTime(bytes.readBigUInt64LE(at + 8)));
    else if (type === TYPE.integer32) integers.set(id, bytes.readInt32LE(at + 8));
    else if (type === TYPE.boolean) booleans.set(id, bytes[at + 8] !== 0);
  }
  return { times, integers, booleans };
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
