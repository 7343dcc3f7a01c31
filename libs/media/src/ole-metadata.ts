// What a Word 97-2003, Excel or PowerPoint file (.doc, .xls, .ppt) says of itself, as ExifTool's
// FlashPix.pm reads it: the property sets of the root storage's "\x05SummaryInformation" (title,
// author, who saved it last, application, page count, creation and last-save times) and
// "\x05DocumentSummaryInformation" (a presentation's slides), MS-OLEPS; a Word file's pages also
// from its own document properties. Older witness statements and NGO reports still come so. A
// compound file holding "EncryptedPackage" is a password-protected OOXML file: that is said,
// since nothing in it can be read. Strings are decoded in the set's code page (Ukrainian Windows
// writes 1251); times are FILETIMEs, UTC by definition (ExifTool prints them without a zone).
// Only the properties taken are read (a presentation's summary carries a thumbnail of hundreds of
// KiB, left unread). An Outlook message (.msg) is a compound file too: outlook-message.ts reads it.
// A failure gives a note, never an exception.
import type { FileHandle } from 'node:fs/promises';
import { codePageDecoder } from './code-pages.js';
import { CompoundFile, fileTime, type StreamEntry, type StreamReader } from './compound-file.js';
import { cleanText, type CaptureTime } from './exif-values.js';
import { MESSAGE_PROPERTIES, readOutlookMessage } from './outlook-message.js';
import { NO_DOCUMENT_FACTS, type PdfMetadata } from './pdf-metadata.js';

const LABEL = 'Office document';
const SUMMARY = '\x05SummaryInformation';
const DOCUMENT_SUMMARY = '\x05DocumentSummaryInformation';
const FMTID_SUMMARY = 'e0859ff2f94f6810ab9108002b27b3d9';
const FMTID_DOCUMENT_SUMMARY = '02d5cdd59c2e1b10939708002b2cf9ae';
const PID = { codePage: 1, title: 2, author: 4, lastAuthor: 8, created: 12, saved: 13, pages: 14, application: 18, slides: 7 };
const VT = { i2: 2, i4: 3, lpstr: 30, lpwstr: 31, filetime: 64 };
/** Most properties looked at in one set, and the longest string taken (cleanText cuts further). */
const MAX_PROPERTIES = 1024;
const MAX_STRING_BYTES = 64 * 1024;
/** Where a Word file's FIB points at its DOP (fcDop/lcbDop), and where the DOP keeps its pages (cPg). */
const DOP_PAIR = 0xf8;
const DOP_PAGES = 46;

type Property = string | number | CaptureTime | null;

/** A compound file's document properties, or an Outlook message's; null when it holds none (an installer, Thumbs.db). */
export async function readOleMetadata(handle: FileHandle, size: number): Promise<PdfMetadata | null> {
  const notes: string[] = [];
  try {
    const file = await CompoundFile.open(handle, size);
    const streams = await file.rootStreams();
    const named = (name: string) => streams.find((s) => s.name === name);
    if (named('EncryptedPackage')) return { ...NO_DOCUMENT_FACTS, notes: [`${LABEL}: encrypted (a password-protected Word, Excel or PowerPoint file); its properties cannot be read`] };
    if (named(MESSAGE_PROPERTIES)) return await readOutlookMessage(file, streams, notes, size);
    if (!named(SUMMARY) && !named(DOCUMENT_SUMMARY)) return null;
    const read = async (name: string, fmtid: string, wanted: number[]): Promise<Map<number, Property>> => {
      const entry = named(name);
      try {
        return entry ? await readPropertySet(file.stream(entry), fmtid, wanted, notes) : new Map();
      } catch (error) {
        notes.push(`${LABEL}: ${name.slice(1)} cannot be read (${message(error)})`);
        return new Map();
      }
    };
    const props = await read(SUMMARY, FMTID_SUMMARY, [PID.title, PID.author, PID.lastAuthor, PID.created, PID.saved, PID.pages, PID.application]);
    const more = await read(DOCUMENT_SUMMARY, FMTID_DOCUMENT_SUMMARY, [PID.slides]);
    const text = (pid: number) => (typeof props.get(pid) === 'string' ? (props.get(pid) as string) : null);
    const time = (pid: number) => (typeof props.get(pid) === 'object' ? (props.get(pid) as CaptureTime | null) : null);
    const count = (value: Property | undefined) => (typeof value === 'number' && value > 0 && value < 1_000_000 ? value : null);
    return {
      pages: count(props.get(PID.pages)) ?? count(more.get(PID.slides)) ?? count(await wordPages(file, named).catch(() => null)),
      title: text(PID.title),
      author: text(PID.author),
      lastModifiedBy: text(PID.lastAuthor),
      creator: text(PID.application),
      producer: null,
      createdAt: time(PID.created)?.capturedAt ?? null,
      createdAtOffset: time(PID.created)?.capturedAtOffset ?? null,
      modifiedAt: time(PID.saved)?.capturedAt ?? null,
      modifiedAtOffset: time(PID.saved)?.capturedAtOffset ?? null,
      notes,
    };
  } catch (error) {
    return { ...NO_DOCUMENT_FACTS, notes: [...notes, `${LABEL}: the compound file cannot be read (${message(error)})`] };
  }
}

/** The wanted properties of the stream's set `fmtid` (MS-OLEPS 2.21, 2.20): strings, counts and times. */
async function readPropertySet(stream: StreamReader, fmtid: string, wanted: number[], notes: string[]): Promise<Map<number, Property>> {
  const header = await stream.read(0, 48);
  if (header.length < 48 || header.readUInt16LE(0) !== 0xfffe) throw new Error('not a property set stream');
  const sets = Math.min(header.readUInt32LE(24), 2);
  let setStart = -1;
  for (let i = 0; i < sets && setStart < 0; i++) {
    const entry = i === 0 ? header.subarray(28, 48) : await stream.read(48, 20);
    if (entry.length === 20 && entry.toString('hex', 0, 16) === fmtid) setStart = entry.readUInt32LE(16);
  }
  if (setStart < 0) throw new Error('the expected property set is missing');
  const setHeader = await stream.read(setStart, 8);
  if (setHeader.length < 8) throw new Error('the property set is past the stream end');
  const setSize = setHeader.readUInt32LE(0);
  const count = Math.min(setHeader.readUInt32LE(4), MAX_PROPERTIES);
  const table = await stream.read(setStart + 8, count * 8);
  const offsets = new Map<number, number>();
  for (let i = 0; i + 8 <= table.length; i += 8) offsets.set(table.readUInt32LE(i), table.readUInt32LE(i + 4));
  const value = async (pid: number): Promise<Buffer | null> => {
    const at = offsets.get(pid);
    if (at === undefined) return null;
    if (at + 8 > setSize) throw new Error(`property ${pid} lies outside its set`);
    const head = await stream.read(setStart + at, 8);
    const type = head.readUInt16LE(0);
    if (type === VT.lpstr || type === VT.lpwstr) {
      const length = Math.min(head.readUInt32LE(4) * (type === VT.lpwstr ? 2 : 1), MAX_STRING_BYTES, Math.max(0, setSize - at - 8));
      return Buffer.concat([head.subarray(0, 4), await stream.read(setStart + at + 8, length)]);
    }
    return type === VT.filetime ? Buffer.concat([head, await stream.read(setStart + at + 8, 4)]) : head;
  };
  const codePageValue = await value(PID.codePage);
  const codePage = codePageValue?.readUInt16LE(0) === VT.i2 ? codePageValue.readUInt16LE(4) : 1252;
  const decoder = codePageDecoder(codePage, notes, LABEL);
  const properties = new Map<number, Property>();
  for (const pid of wanted) {
    const bytes = await value(pid);
    if (!bytes) continue;
    const type = bytes.readUInt16LE(0);
    if (type === VT.lpstr) properties.set(pid, cleanText(decoder.decode(bytes.subarray(4))));
    else if (type === VT.lpwstr) properties.set(pid, cleanText(bytes.toString('utf16le', 4)));
    else if (type === VT.i4) properties.set(pid, bytes.readInt32LE(4));
    else if (type === VT.i2) properties.set(pid, bytes.readInt16LE(4));
    else if (type === VT.filetime && bytes.length >= 12) properties.set(pid, fileTime(bytes.readBigUInt64LE(4)));
  }
  return properties;
}

/**
 * A Word file's page count as it saved it, from the document properties (DOP) in its table stream,
 * as ExifTool's MS-DOC group gives it: LibreOffice leaves it out of the summary (MS-DOC 2.5.1, 2.7.1).
 */
async function wordPages(file: CompoundFile, named: (name: string) => StreamEntry | undefined): Promise<number | null> {
  const word = named('WordDocument');
  if (!word) return null;
  const fib = await file.stream(word).read(0, 2048);
  if (fib.length < 34 || fib.readUInt16LE(0) !== 0xa5ec) return null;
  const table = named(fib.readUInt16LE(0x0a) & 0x200 ? '1Table' : '0Table');
  // FibBase, then fibRgW (csw 16-bit words), fibRgLw (cslw 32-bit ones), then the fc/lcb pairs.
  let at = 32;
  at += 2 + fib.readUInt16LE(at) * 2;
  if (at + 2 > fib.length) return null;
  at += 2 + fib.readUInt16LE(at) * 4;
  if (at + 2 > fib.length || fib.readUInt16LE(at) * 8 < DOP_PAIR + 8 || at + 2 + DOP_PAIR + 8 > fib.length || !table) return null;
  const [fcDop, lcbDop] = [fib.readUInt32LE(at + 2 + DOP_PAIR), fib.readUInt32LE(at + 2 + DOP_PAIR + 4)];
  if (lcbDop < DOP_PAGES + 2) return null;
  const pages = await file.stream(table).read(fcDop + DOP_PAGES, 2);
  return pages.length === 2 ? pages.readUInt16LE(0) : null;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
