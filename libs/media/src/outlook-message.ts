// What an Outlook message saved as a file (.msg: Outlook's "Save as", or a message dragged out of
// it; MS-OXMSG, a compound file) says of itself: the subject as the title, the sender as the
// author (name and SMTP address), when it was sent (PidTagClientSubmitTime; else delivered, else
// created), who changed it last and when, and the mailer. Strings are the properties' own streams
// ("__substg1.0_<id><type>": UTF-16, or 8-bit in the message's code page); times and the code
// page are in "__properties_version1.0". A message that came in over the internet keeps its
// headers (PidTagTransportMessageHeaders): their Date gives the sender's offset, which the MAPI
// times (UTC) do not. Recipients and attachments (storages of their own) are not read.
import type { FileHandle } from 'node:fs/promises';
import { CompoundFile, fileTime, type StreamEntry } from './compound-file.js';
import { codePageDecoder } from './code-pages.js';
import { readHeaderBlock } from './email-metadata.js';
import { cleanText, type CaptureTime } from './exif-values.js';
import { NO_DOCUMENT_FACTS, type PdfMetadata } from './pdf-metadata.js';

const LABEL = 'Outlook message';
/** The top-level message's fixed-size properties (MS-OXMSG 2.4): a 32-byte header, then 16-byte entries. */
export const MESSAGE_PROPERTIES = '__properties_version1.0';
const HEADER_BYTES = 32;
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
};
const TYPE = { integer32: 0x0003, time: 0x0040, string8: 0x001e, unicode: 0x001f };

/** The facts of the message in `file` whose root streams are `streams` (it holds MESSAGE_PROPERTIES). */
export async function readOutlookMessage(file: CompoundFile, streams: StreamEntry[], notes: string[]): Promise<PdfMetadata> {
  const fixed = await fixedProperties(file, streams.find((s) => s.name === MESSAGE_PROPERTIES)!);
  const text = stringReader(file, streams, fixed, notes);
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
    notes,
  };
}

/** The header block of the internet headers an Outlook message in `handle` keeps; null for a message without, or another compound file. */
export async function outlookInternetHeaders(handle: FileHandle, size: number): Promise<string | null> {
  const file = await CompoundFile.open(handle, size);
  const streams = await file.rootStreams();
  const properties = streams.find((s) => s.name === MESSAGE_PROPERTIES);
  if (!properties) return null;
  return internetHeaders(stringReader(file, streams, await fixedProperties(file, properties), []));
}

/** PidTagTransportMessageHeaders up to its first empty line (some writers keep a body part's headers after it). */
async function internetHeaders(text: (id: number) => Promise<string | null>): Promise<string | null> {
  const headers = await text(PID.transportHeaders);
  return headers === null ? null : headers.split(/\r?\n\r?\n/)[0]!;
}

/** Reads a string property of the message: UTF-16, or 8-bit in the message's code page (said once in `notes` when unknown). */
function stringReader(file: CompoundFile, streams: StreamEntry[], fixed: FixedProperties, notes: string[]): (id: number) => Promise<string | null> {
  let decoder: TextDecoder | undefined;
  const ansi = () => (decoder ??= codePageDecoder(fixed.integers.get(PID.messageCodepage) ?? fixed.integers.get(PID.internetCodepage) ?? 1252, notes, LABEL));
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
}

/** The times and 32-bit integers of the top-level message's property stream. */
async function fixedProperties(file: CompoundFile, entry: StreamEntry): Promise<FixedProperties> {
  const bytes = await file.stream(entry).read(0, Math.min(entry.size, MAX_PROPERTY_BYTES));
  const times = new Map<number, CaptureTime | null>();
  const integers = new Map<number, number>();
  for (let at = HEADER_BYTES; at + 16 <= bytes.length; at += 16) {
    const [type, id] = [bytes.readUInt16LE(at), bytes.readUInt16LE(at + 2)];
    if (type === TYPE.time) times.set(id, fileTime(bytes.readBigUInt64LE(at + 8)));
    else if (type === TYPE.integer32) integers.set(id, bytes.readInt32LE(at + 8));
  }
  return { times, integers };
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
