// What a PDF says about itself: page count, and title, author, creator, producer, creation and
// modification dates from the Info dictionary and the XMP metadata stream. It reads the tail
// (startxref), the cross-reference sections (tables, streams, hybrids, the /Prev chain) and only
// the objects it needs (trailer > Root > Pages, Info, Metadata), decompressing object streams
// when they hold them. A huge PDF costs a few small reads. When the cross-reference data is
// broken it scans the first MAX_SCAN_BYTES for "N G obj" headers, as PDF readers do.
// Every limit is explicit; a failure gives nulls and a note, never an exception.
import { open, type FileHandle } from 'node:fs/promises';
import { constants as zlib, inflateSync } from 'node:zlib';
import { standardDecryptor, type EncryptFields, type PdfDecryptor } from './pdf-crypt.js';
import { BoundedReader, ReadBudgetExceeded } from './bounded-reader.js';
import { captureTimeFromTags, cleanText, type CaptureTime } from './exif-values.js';
import { xmlValues } from './xml-values.js';

export interface MessageRecipients {
  to: string[];
  cc: string[];
  bcc: string[];
}

/** A file an e-mail, an Outlook message or a ZIP archive carries, or a message a mailbox holds. */
export interface MessageAttachment {
  /** The file name the message gives it, if any; an archive's path of it ("DCIM/IMG_0001.JPG"). */
  name: string | null;
  /** The media type the message declares for it (not sniffed), lower case; null in an archive, which declares none. */
  mediaType: string | null;
  /** Size and SHA-256 of the decoded file, as it would be saved from a mail program or an unzip tool. */
  sizeBytes: number;
  sha256: string;
  /** Shown in the message's text rather than attached to it (an inline picture, a signature's logo). */
  inline: boolean;
  /** An archive's record of when the file was last changed (UTC instant, or zone-less local time); archives only. */
  modifiedAt?: string;
  /** A mailbox's message: its sender ("name <address>") and its Date (UTC instant, or zone-less local time); mailboxes only. */
  from?: string | null;
  sentAt?: string | null;
}

export interface PdfMetadata {
  pages: number | null;
  title: string | null;
  author: string | null;
  /** Who saved the document last, where the format says (office documents; never a PDF). */
  lastModifiedBy: string | null;
  /** The application that made the original document (Info /Creator, xmp:CreatorTool). */
  creator: string | null;
  /** The library that wrote the PDF (Info /Producer, pdf:Producer). */
  producer: string | null;
  /** Where a saved web page came from (MHTML's Snapshot-Content-Location); given by that reader only. */
  savedFrom?: string | null;
  /** Who an e-mail or Outlook message was addressed to ("name <address>"); given by those readers only. */
  recipients?: MessageRecipients;
  /** The files an e-mail, an Outlook message or a ZIP archive carries, each hashed as it decodes; given by those readers only. */
  attachments?: MessageAttachment[];
  /** UTC instant when the date has an offset, else zone-less wall-clock time (like capturedAt). */
  createdAt: string | null;
  createdAtOffset: string | null;
  modifiedAt: string | null;
  modifiedAtOffset: string | null;
  notes: string[];
}

const LABEL = 'PDF';
const LIMITS = { maxReads: 2048, maxBytes: 48 * 1024 * 1024 };
const TAIL_BYTES = 64 * 1024;
const MAX_XREF_SECTIONS = 64;
/** Largest single object (dictionary) parsed, and largest stream read or inflated. */
const MAX_OBJECT_BYTES = 1024 * 1024;
const MAX_STREAM_BYTES = 8 * 1024 * 1024;
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;
/** All the streams of one file together: a few small streams inflating to 16 MiB each add up. */
const MAX_INFLATED_TOTAL = 64 * 1024 * 1024;
const MAX_OBJECT_STREAMS = 8;
const MAX_RESOLVES = 512;
const MAX_DEPTH = 32;
const MAX_ITEMS = 10_000;
const MAX_STRING_BYTES = 64 * 1024;
/** Broken cross-reference data: how much of the file is scanned for objects. */
const MAX_SCAN_BYTES = 16 * 1024 * 1024;
const SCAN_CHUNK = 1024 * 1024;
const MAX_XMP_BYTES = 1024 * 1024;
const MAX_PAGES = 10_000_000;

// ---------------------------------------------------------------------------------------------
// Values and the object parser

class Name {
  constructor(readonly value: string) {}
}
class Ref {
  constructor(
    readonly num: number,
    readonly gen: number,
  ) {}
}
type Dict = Map<string, Value>;
type Value = null | boolean | number | Name | Ref | Buffer | Value[] | Dict;

class Incomplete extends Error {}
class Malformed extends Error {}
class Budget extends Error {}

const WHITESPACE = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIMITERS = new Set([0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]);

/** A cursor over bytes of a PDF; `complete` says whether running out means the object is cut. */
class Lexer {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly complete: boolean,
  ) {
    this.pos = start;
  }

  private more(): never {
    throw this.complete ? new Malformed('unexpected end of data') : new Incomplete();
  }

  skipSpace(): void {
    const { buf } = this;
    while (this.pos < buf.length) {
      const c = buf[this.pos];
      if (WHITESPACE.has(c)) this.pos++;
      else if (c === 0x25) {
        while (this.pos < buf.length && buf[this.pos] !== 0x0a && buf[this.pos] !== 0x0d) this.pos++;
      } else return;
    }
  }

  peekByte(): number {
    this.skipSpace();
    if (this.pos >= this.buf.length) this.more();
    return this.buf[this.pos];
  }

  /** A bare word (number, keyword) at the cursor, without consuming it. */
  peekWord(): string {
    this.skipSpace();
    let end = this.pos;
    while (end < this.buf.length && !WHITESPACE.has(this.buf[end]) && !DELIMITERS.has(this.buf[end])) end++;
    if (end === this.buf.length && !this.complete && end - this.pos < 64) this.more();
    return this.buf.toString('latin1', this.pos, end);
  }

  word(): string {
    const w = this.peekWord();
    this.pos += w.length;
    return w;
  }

  value(depth = 0): Value {
    if (depth > MAX_DEPTH) throw new Malformed('nesting too deep');
    const c = this.peekByte();
    if (c === 0x2f) return this.name();
    if (c === 0x28) return this.literalString();
    if (c === 0x3c) {
      if (this.buf[this.pos + 1] === 0x3c) return this.dict(depth);
      if (this.pos + 1 >= this.buf.length) this.more();
      return this.hexString();
    }
    if (c === 0x5b) {
      this.pos++;
      const items: Value[] = [];
      while (this.peekByte() !== 0x5d) {
        if (items.length >= MAX_ITEMS) throw new Malformed('array too long');
        items.push(this.value(depth + 1));
      }
      this.pos++;
      return items;
    }
    const w = this.word();
    if (w === '') throw new Malformed(`unexpected byte 0x${c.toString(16)}`);
    if (w === 'true') return true;
    if (w === 'false') return false;
    if (w === 'null') return null;
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(w)) {
      const n = Number(w);
      // "12 0 R" is a reference.
      if (/^\d+$/.test(w)) {
        const save = this.pos;
        const gen = this.peekWord();
        if (/^\d+$/.test(gen)) {
          this.pos += gen.length;
          if (this.peekWord() === 'R') {
            this.pos += 1;
            return new Ref(n, Number(gen));
          }
        }
        this.pos = save;
      }
      return n;
    }
    throw new Malformed(`unexpected keyword "${w.slice(0, 20)}"`);
  }

  private name(): Name {
    this.pos++; // '/'
    const start = this.pos;
    while (this.pos < this.buf.length && !WHITESPACE.has(this.buf[this.pos]) && !DELIMITERS.has(this.buf[this.pos])) this.pos++;
    if (this.pos >= this.buf.length && !this.complete) this.more();
    const raw = this.buf.toString('latin1', start, Math.min(this.pos, start + 256));
    return new Name(raw.replace(/#([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
  }

  private dict(depth: number): Dict {
    this.pos += 2;
    const dict: Dict = new Map();
    for (;;) {
      const c = this.peekByte();
      if (c === 0x3e) {
        if (this.pos + 1 >= this.buf.length) this.more();
        if (this.buf[this.pos + 1] !== 0x3e) throw new Malformed('">" inside a dictionary');
        this.pos += 2;
        return dict;
      }
      if (c !== 0x2f) throw new Malformed('dictionary key is not a name');
      if (dict.size >= MAX_ITEMS) throw new Malformed('dictionary too large');
      const key = this.name().value;
      const value = this.value(depth + 1);
      if (!dict.has(key)) dict.set(key, value);
    }
  }

  private literalString(): Buffer {
    this.pos++; // '('
    const out: number[] = [];
    let nesting = 1;
    const { buf } = this;
    while (this.pos < buf.length) {
      const c = buf[this.pos++];
      if (c === 0x5c) {
        if (this.pos >= buf.length) break;
        const e = buf[this.pos++];
        const simple: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x66: 0x0c, 0x28: 0x28, 0x29: 0x29, 0x5c: 0x5c };
        if (e in simple) out.push(simple[e]);
        else if (e >= 0x30 && e <= 0x37) {
          let code = e - 0x30;
          for (let i = 0; i < 2 && this.pos < buf.length && buf[this.pos] >= 0x30 && buf[this.pos] <= 0x37; i++) code = code * 8 + buf[this.pos++] - 0x30;
          out.push(code & 0xff);
        } else if (e === 0x0d) {
          if (buf[this.pos] === 0x0a) this.pos++;
        } else if (e !== 0x0a) out.push(e);
      } else if (c === 0x28) {
        nesting++;
        out.push(c);
      } else if (c === 0x29) {
        if (--nesting === 0) return Buffer.from(out.slice(0, MAX_STRING_BYTES));
        out.push(c);
      } else if (out.length < MAX_STRING_BYTES) out.push(c);
    }
    this.more();
  }

  private hexString(): Buffer {
    this.pos++; // '<'
    const end = this.buf.indexOf(0x3e, this.pos);
    if (end < 0) this.more();
    const hex = this.buf.toString('latin1', this.pos, Math.min(end, this.pos + 2 * MAX_STRING_BYTES)).replace(/[^0-9a-fA-F]/g, '');
    this.pos = end + 1;
    return Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex');
  }
}

const get = (dict: Value | undefined, key: string): Value | undefined => (dict instanceof Map ? dict.get(key) : undefined);
const isDict = (v: Value | undefined): v is Dict => v instanceof Map;
const nameOf = (v: Value | undefined): string | null => (v instanceof Name ? v.value : null);
const numberOf = (v: Value | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

// ---------------------------------------------------------------------------------------------
// File access

type Entry = { kind: 'free' } | { kind: 'offset'; offset: number; gen: number } | { kind: 'compressed'; stream: number; index: number };

interface XrefSection {
  /** The entry for `num`, or undefined when this section does not list it. */
  lookup(num: number): Promise<Entry | undefined>;
}

interface Parsed {
  value: Value;
  /** File offset (or offset in the decoded object stream) where stream data starts. */
  streamStart: number | null;
}

// ---------------------------------------------------------------------------------------------
// The document

class PdfFile {
  readonly notes: string[] = [];
  private sections: XrefSection[] = [];
  private scanned: Map<number, number> | null = null;
  private objectStreams = new Map<number, { data: Buffer; offsets: Map<number, number> }>();
  private resolves = 0;
  private headerOffset = 0;
  private inflated = 0;
  /** Set once the /Encrypt dictionary opens with the empty user password (pdf-crypt.ts). */
  decryptor: PdfDecryptor | null = null;

  constructor(private readonly reader: BoundedReader) {}

  /** Whether object `num` sits in an object stream (its strings are not encrypted on their own: the stream is). */
  async isCompressed(num: number): Promise<boolean> {
    return (await this.entry(num))?.kind === 'compressed';
  }

  note(text: string): void {
    const line = `${LABEL}: ${text}`;
    if (this.notes.length < 32 && !this.notes.includes(line)) this.notes.push(line);
  }

  async isPdf(): Promise<boolean> {
    const head = await this.reader.read(0, 1024);
    const at = head.indexOf('%PDF-');
    if (at < 0) return false;
    this.headerOffset = at;
    return true;
  }

  /** The trailer dictionary (newest first wins per key), following startxref and /Prev. */
  async trailer(): Promise<Dict | null> {
    const size = this.reader.size;
    const tailStart = Math.max(0, size - TAIL_BYTES);
    const tail = (await this.reader.read(tailStart, size - tailStart)).toString('latin1');
    const at = tail.lastIndexOf('startxref');
    const match = at < 0 ? null : /^startxref\s+(\d{1,15})/.exec(tail.slice(at));
    const trailer: Dict = new Map();
    if (!match) {
      this.note('no startxref at the end of the file (truncated?); objects were found by scanning');
      return this.scanForTrailer();
    }
    const eof = tail.indexOf('%%EOF', at);
    if (eof < 0) this.note('no %%EOF after startxref (truncated?); read what is there');
    else if (/\S/.test(tail.slice(eof + 5))) {
      this.note(`${tail.length - eof - 5} bytes after the last %%EOF were not read (an unfinished update?)`);
    }
    let offset: number | null = Number(match[1]);
    const visited = new Set<number>();
    for (let i = 0; offset !== null; i++) {
      if (i >= MAX_XREF_SECTIONS || visited.has(offset)) {
        if (i >= MAX_XREF_SECTIONS) this.note(`more than ${MAX_XREF_SECTIONS} cross-reference sections; older ones not read`);
        break;
      }
      visited.add(offset);
      const section = await this.readSection(offset, i === 0 ? 'startxref' : '/Prev');
      if (!section) break;
      for (const [key, value] of section.trailer) if (!trailer.has(key)) trailer.set(key, value);
      offset = numberOf(section.trailer.get('Prev'));
      if (offset !== null && (offset < 0 || !Number.isInteger(offset))) offset = null;
    }
    if (!trailer.has('Root')) {
      if (this.sections.length > 0) this.note('the trailer names no document catalog (/Root); objects were found by scanning');
      const scanned = await this.scanForTrailer();
      if (scanned) for (const [key, value] of scanned) if (!trailer.has(key)) trailer.set(key, value);
    }
    return trailer.size > 0 ? trailer : null;
  }

  /** Reads the cross-reference section at `offset` (table or stream), adding it to the lookup chain. */
  private async readSection(offset: number, via: string): Promise<{ trailer: Dict } | null> {
    if (offset >= this.reader.size) {
      this.note(`${via} points outside the file (byte ${offset} of ${this.reader.size}); objects were found by scanning`);
      return null;
    }
    for (const start of offset + this.headerOffset === offset ? [offset] : [offset, offset + this.headerOffset]) {
      const head = (await this.reader.read(start, 64)).toString('latin1');
      const lead = head.length - head.trimStart().length;
      if (head.trimStart().startsWith('xref')) return this.readTable(start + lead + 4);
      if (/^\s*\d+\s+\d+\s+obj/.test(head)) return this.readXrefStream(start);
    }
    // Off by a few bytes (a common writer bug): look for the nearest "xref" keyword.
    const windowStart = Math.max(0, offset - 1024);
    const nearby = (await this.reader.read(windowStart, 2048)).toString('latin1');
    let best = -1;
    for (let at = nearby.indexOf('xref'); at >= 0; at = nearby.indexOf('xref', at + 4)) {
      if (nearby.slice(Math.max(0, at - 5), at) === 'start') continue;
      if (best < 0 || Math.abs(windowStart + at - offset) < Math.abs(windowStart + best - offset)) best = at;
    }
    if (best >= 0) {
      this.note(`${via} (byte ${offset}) is off by ${windowStart + best - offset} bytes`);
      return this.readTable(windowStart + best + 4);
    }
    this.note(`${via} (byte ${offset}) does not point at a cross-reference section; objects were found by scanning`);
    return null;
  }

  private async readTable(position: number): Promise<{ trailer: Dict } | null> {
    const subsections: Array<{ first: number; count: number; at: number; entryLength: number }> = [];
    let pos = position;
    for (let i = 0; i < 100_000; i++) {
      const window = await this.reader.read(pos, 256);
      const text = window.toString('latin1');
      const lead = text.length - text.trimStart().length;
      const rest = text.slice(lead);
      if (rest.startsWith('trailer')) {
        const parsed = await this.parseAt(pos + lead + 7, false);
        if (!parsed || !isDict(parsed.value)) {
          this.note(`the trailer at byte ${pos + lead} is unreadable`);
          return null;
        }
        this.sections.push(tableSection(this.reader, subsections));
        const xrefStm = numberOf(parsed.value.get('XRefStm'));
        if (xrefStm !== null && xrefStm > 0 && xrefStm < this.reader.size) await this.readXrefStream(xrefStm);
        return { trailer: parsed.value };
      }
      const header = /^(\d{1,10})[ \t]+(\d{1,10})[ \t]*(\r\n|\r|\n| \r| \n)?/.exec(rest);
      if (!header) {
        this.note(`the cross-reference table at byte ${position} is malformed`);
        return null;
      }
      const at = pos + lead + header[0].length;
      const count = Number(header[2]);
      const sample = (await this.reader.read(at, 24)).toString('latin1');
      const entry = /^\d{10} \d{5} [nf]([ \r\n]{1,2})/.exec(sample);
      if (!entry && count > 0) {
        this.note(`the cross-reference table at byte ${position} has malformed entries`);
        return null;
      }
      const entryLength = entry ? 18 + entry[1].length : 20;
      subsections.push({ first: Number(header[1]), count, at, entryLength });
      pos = at + count * entryLength;
      if (pos > this.reader.size) {
        this.note(`the cross-reference table at byte ${position} runs past the end of the file`);
        return null;
      }
    }
    return null;
  }

  private async readXrefStream(offset: number): Promise<{ trailer: Dict } | null> {
    const parsed = await this.parseObjectAt(offset, null);
    const dict = parsed?.value;
    if (!parsed || !isDict(dict) || nameOf(dict.get('Type')) !== 'XRef' || parsed.streamStart === null) {
      this.note(`the cross-reference stream at byte ${offset} is unreadable`);
      return null;
    }
    const data = await this.streamData(dict, parsed.streamStart, `the cross-reference stream at byte ${offset}`);
    if (!data) return null;
    const widths = get(dict, 'W');
    if (!Array.isArray(widths) || widths.length !== 3 || widths.some((w) => numberOf(w) === null || (w as number) < 0 || (w as number) > 8)) {
      this.note(`the cross-reference stream at byte ${offset} has an invalid /W`);
      return null;
    }
    const w = widths as number[];
    const size = numberOf(dict.get('Size')) ?? 0;
    const index = get(dict, 'Index');
    const ranges: Array<[number, number]> = [];
    if (Array.isArray(index)) {
      for (let i = 0; i + 1 < index.length && ranges.length < 10_000; i += 2) {
        const first = numberOf(index[i]);
        const count = numberOf(index[i + 1]);
        if (first !== null && count !== null) ranges.push([first, count]);
      }
    } else ranges.push([0, size]);
    this.sections.push(streamSection(data, w, ranges));
    return { trailer: dict };
  }

  /** Broken cross-reference data: "N G obj" headers, "trailer" keywords and cross-reference streams, by scanning. */
  private async scanObjects(): Promise<{ trailers: number[]; xrefStreams: number[] }> {
    const scanned = new Map<number, number>();
    const trailers: number[] = [];
    const xrefStreams: number[] = [];
    const limit = Math.min(this.reader.size, MAX_SCAN_BYTES);
    if (this.reader.size > MAX_SCAN_BYTES) this.note(`only the first ${MAX_SCAN_BYTES} bytes were scanned for objects`);
    for (let start = 0; start < limit; start += SCAN_CHUNK) {
      const chunk = (await this.reader.read(start, Math.min(SCAN_CHUNK + 64, limit - start))).toString('latin1');
      const objects = /(?<![0-9])(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+obj\b/g;
      for (let m = objects.exec(chunk); m; m = objects.exec(chunk)) {
        if (m.index >= SCAN_CHUNK) break;
        scanned.set(Number(m[1]), start + m.index);
        if (/\/Type\s*\/XRef\b/.test(chunk.slice(m.index + m[0].length, m.index + m[0].length + 200))) xrefStreams.push(start + m.index);
      }
      for (let at = chunk.indexOf('trailer'); at >= 0 && at < SCAN_CHUNK; at = chunk.indexOf('trailer', at + 7)) trailers.push(start + at + 7);
    }
    this.scanned = scanned;
    return { trailers, xrefStreams };
  }

  private async scanForTrailer(): Promise<Dict | null> {
    const { trailers, xrefStreams } = await this.scanObjects();
    const scanned = this.scanned ?? new Map<number, number>();
    let result: Dict | null = null;
    for (const at of trailers.reverse()) {
      const parsed = await this.parseAt(at, false);
      if (parsed && isDict(parsed.value) && parsed.value.has('Root')) {
        result = parsed.value;
        break;
      }
    }
    // Cross-reference streams hold the trailer keys, and the only map to compressed objects: the
    // last ones found, as many as a chain of sections may hold.
    if (xrefStreams.length > MAX_XREF_SECTIONS) this.note(`more than ${MAX_XREF_SECTIONS} cross-reference streams found by scanning; older ones not read`);
    for (const at of xrefStreams.reverse().slice(0, MAX_XREF_SECTIONS)) {
      const section = await this.readXrefStream(at);
      if (!result && section?.trailer.has('Root')) result = section.trailer;
    }
    if (!result) {
      // Last resort: a catalog object found by the scan.
      for (const [num] of [...scanned].reverse()) {
        const value = await this.resolve(new Ref(num, 0));
        if (isDict(value) && nameOf(value.get('Type')) === 'Catalog') {
          result = new Map<string, Value>([['Root', new Ref(num, 0)]]);
          break;
        }
        if (this.resolves > MAX_RESOLVES / 2) break;
      }
    }
    if (!result) this.note('no document catalog found');
    return result;
  }

  /** Parses a value at a file offset, reading more when the first window cuts it. */
  private async parseAt(position: number, withObjHeader: boolean): Promise<Parsed | null> {
    for (const length of [4096, 65536, MAX_OBJECT_BYTES]) {
      const buf = await this.reader.read(position, length);
      const complete = position + buf.length >= this.reader.size;
      try {
        const lexer = new Lexer(buf, 0, complete);
        if (withObjHeader) {
          lexer.word();
          lexer.word();
          if (lexer.word() !== 'obj') throw new Malformed('no "obj" keyword');
        }
        const value = lexer.value();
        let streamStart: number | null = null;
        if (isDict(value)) {
          try {
            if (lexer.peekWord() === 'stream') {
              lexer.pos += 6;
              if (buf[lexer.pos] === 0x0d) lexer.pos++;
              if (buf[lexer.pos] === 0x0a) lexer.pos++;
              streamStart = position + lexer.pos;
            }
          } catch (error) {
            if (!(error instanceof Malformed)) throw error;
          }
        }
        return { value, streamStart };
      } catch (error) {
        if (error instanceof Incomplete && !complete) continue;
        if (error instanceof Malformed || error instanceof Incomplete) return null;
        throw error;
      }
    }
    this.note(`an object at byte ${position} is larger than ${MAX_OBJECT_BYTES} bytes; not read`);
    return null;
  }

  /** "num gen obj" at `offset`; checks the number when `num` is given. */
  private async parseObjectAt(offset: number, num: number | null): Promise<Parsed | null> {
    const head = (await this.reader.read(offset, 32)).toString('latin1');
    const match = /^\s*(\d+)\s+(\d+)\s+obj/.exec(head);
    if (!match || (num !== null && Number(match[1]) !== num)) return null;
    return this.parseAt(offset, true);
  }

  private async entry(num: number): Promise<Entry | undefined> {
    for (const section of this.sections) {
      const entry = await section.lookup(num);
      if (entry) return entry;
    }
    return undefined;
  }

  /** The object `ref` names, with its stream position; null when it cannot be found. */
  async object(ref: Ref): Promise<Parsed | null> {
    if (++this.resolves > MAX_RESOLVES) throw new Budget(`more than ${MAX_RESOLVES} object look-ups`);
    const entry = await this.entry(ref.num);
    if (entry?.kind === 'free') return null;
    if (entry?.kind === 'compressed') return this.compressedObject(ref.num, entry.stream);
    if (entry?.kind === 'offset') {
      for (const offset of [entry.offset, entry.offset + this.headerOffset]) {
        const parsed = await this.parseObjectAt(offset, ref.num);
        if (parsed) return parsed;
        if (this.headerOffset === 0) break;
      }
      this.note(`the cross-reference entry of object ${ref.num} points elsewhere (byte ${entry.offset})`);
    }
    if (!this.scanned) await this.scanObjects();
    const offset = this.scanned?.get(ref.num);
    return offset === undefined ? null : this.parseObjectAt(offset, ref.num);
  }

  private async compressedObject(num: number, streamNum: number): Promise<Parsed | null> {
    let stream = this.objectStreams.get(streamNum);
    if (!stream) {
      if (this.objectStreams.size >= MAX_OBJECT_STREAMS) {
        this.note(`more than ${MAX_OBJECT_STREAMS} object streams needed; object ${num} not read`);
        return null;
      }
      const parsed = await this.object(new Ref(streamNum, 0));
      const dict = parsed?.value;
      if (!parsed || !isDict(dict) || parsed.streamStart === null) {
        this.note(`object stream ${streamNum} (holding object ${num}) is unreadable`);
        return null;
      }
      const data = await this.streamData(dict, parsed.streamStart, `object stream ${streamNum}`, new Ref(streamNum, 0));
      if (!data) return null;
      const n = Math.min(numberOf(dict.get('N')) ?? 0, 100_000);
      const first = numberOf(dict.get('First')) ?? 0;
      const offsets = new Map<number, number>();
      const lexer = new Lexer(data, 0, true);
      try {
        for (let i = 0; i < n; i++) {
          const objNum = Number(lexer.word());
          const rel = Number(lexer.word());
          if (!Number.isInteger(objNum) || !Number.isInteger(rel)) break;
          if (!offsets.has(objNum)) offsets.set(objNum, first + rel);
        }
      } catch {
        // A short header: keep what was read.
      }
      stream = { data, offsets };
      this.objectStreams.set(streamNum, stream);
    }
    const at = stream.offsets.get(num);
    if (at === undefined || at >= stream.data.length) {
      this.note(`object ${num} is not in object stream ${streamNum}`);
      return null;
    }
    try {
      return { value: new Lexer(stream.data, at, true).value(), streamStart: null };
    } catch {
      this.note(`object ${num} in object stream ${streamNum} is malformed`);
      return null;
    }
  }

  /** Follows references (bounded) to a direct value. */
  async resolve(value: Value | undefined): Promise<Value | undefined> {
    for (let hops = 0; value instanceof Ref; hops++) {
      if (hops > 8) return undefined;
      value = (await this.object(value))?.value ?? undefined;
    }
    return value;
  }

  /**
   * A stream's decoded bytes (FlateDecode with PNG predictors, or none); null with a note
   * otherwise. `owner`: the object holding an encrypted stream, whose number keys its decryption.
   */
  async streamData(dict: Dict, start: number, what: string, owner?: Ref): Promise<Buffer | null> {
    const declared = numberOf(await this.resolve(dict.get('Length')));
    let raw: Buffer | null = null;
    if (declared !== null && declared >= 0 && declared <= MAX_STREAM_BYTES) {
      raw = await this.reader.read(start, declared);
      // A wrong /Length is common: check that "endstream" follows, else look for it.
      const after = (await this.reader.read(start + declared, 32)).toString('latin1');
      if (!/^\s*endstream/.test(after) || raw.length < declared) raw = null;
    } else if (declared !== null && declared > MAX_STREAM_BYTES) {
      this.note(`${what} is ${declared} bytes, over the ${MAX_STREAM_BYTES}-byte limit; not read`);
      return null;
    }
    if (!raw) {
      const window = await this.reader.read(start, Math.min(MAX_STREAM_BYTES, this.reader.size - start));
      const end = window.indexOf('endstream');
      if (end < 0) {
        this.note(`${what} has no readable end`);
        return null;
      }
      let stop = end;
      if (window[stop - 1] === 0x0a) stop--;
      if (window[stop - 1] === 0x0d) stop--;
      raw = window.subarray(0, stop);
    }
    if (owner && this.decryptor) {
      const clear = this.decryptor.stream(raw, owner.num, owner.gen);
      if (!clear) {
        this.note(`${what} does not decrypt`);
        return null;
      }
      raw = clear;
    }
    const filters = toArray(await this.resolve(dict.get('Filter'))).map(nameOf);
    const params = toArray(await this.resolve(dict.get('DecodeParms')));
    let data = raw;
    for (let i = 0; i < filters.length; i++) {
      const filter = filters[i];
      if (filter !== 'FlateDecode' && filter !== 'Fl') {
        this.note(`${what} is encoded with ${filter ?? 'an unnamed filter'}, which is not supported; not read`);
        return null;
      }
      const room = Math.min(MAX_INFLATED_BYTES, MAX_INFLATED_TOTAL - this.inflated);
      if (room <= 0) {
        this.note(`the file's streams inflate to ${MAX_INFLATED_TOTAL} bytes together; ${what} and later streams not read`);
        return null;
      }
      try {
        data = inflateSync(data, { maxOutputLength: room, finishFlush: zlib.Z_SYNC_FLUSH /* tolerate a missing end */ });
        this.inflated += data.length;
      } catch (error) {
        const tooBig = error instanceof RangeError || (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        this.note(tooBig ? `${what} inflates past ${room < MAX_INFLATED_BYTES ? `what is left of the ${MAX_INFLATED_TOTAL} bytes the file's streams may inflate to together` : `${room} bytes`}; not read` : `${what} does not inflate (corrupt data)`);
        return null;
      }
      const param = params[i];
      const predictor = numberOf(get(param ?? undefined, 'Predictor')) ?? 1;
      if (predictor >= 10) {
        const columns = numberOf(get(param ?? undefined, 'Columns')) ?? 1;
        const colors = numberOf(get(param ?? undefined, 'Colors')) ?? 1;
        const bits = numberOf(get(param ?? undefined, 'BitsPerComponent')) ?? 8;
        const unpredicted = pngUnpredict(data, columns, colors, bits);
        if (!unpredicted) {
          this.note(`${what} has invalid predictor data`);
          return null;
        }
        data = unpredicted;
      } else if (predictor !== 1) {
        this.note(`${what} uses TIFF predictor ${predictor}, which is not supported; not read`);
        return null;
      }
    }
    return data;
  }
}

function toArray(value: Value | undefined): Value[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function pngUnpredict(data: Buffer, columns: number, colors: number, bits: number): Buffer | null {
  if (![1, 2, 4, 8, 16].includes(bits) || colors < 1 || colors > 32 || columns < 1 || columns > 1 << 20) return null;
  const bpp = Math.max(1, Math.ceil((colors * bits) / 8));
  const rowLength = Math.ceil((columns * colors * bits) / 8);
  const rows = Math.floor(data.length / (rowLength + 1));
  const out = Buffer.alloc(rows * rowLength);
  for (let r = 0; r < rows; r++) {
    const filter = data[r * (rowLength + 1)];
    const src = r * (rowLength + 1) + 1;
    const dst = r * rowLength;
    for (let i = 0; i < rowLength; i++) {
      const left = i >= bpp ? out[dst + i - bpp] : 0;
      const up = r > 0 ? out[dst - rowLength + i] : 0;
      const upLeft = r > 0 && i >= bpp ? out[dst - rowLength + i - bpp] : 0;
      let predicted: number;
      switch (filter) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = left;
          break;
        case 2:
          predicted = up;
          break;
        case 3:
          predicted = (left + up) >> 1;
          break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          break;
        }
        default:
          return null;
      }
      out[dst + i] = (data[src + i] + predicted) & 0xff;
    }
  }
  return out;
}

function tableSection(reader: BoundedReader, subsections: Array<{ first: number; count: number; at: number; entryLength: number }>): XrefSection {
  return {
    async lookup(num) {
      for (const sub of subsections) {
        if (num < sub.first || num >= sub.first + sub.count) continue;
        const text = (await reader.read(sub.at + (num - sub.first) * sub.entryLength, 18)).toString('latin1');
        const match = /^(\d{10}) (\d{5}) ([nf])/.exec(text);
        if (!match) return undefined;
        if (match[3] === 'f') return { kind: 'free' };
        const offset = Number(match[1]);
        // Object 0 and offset 0 entries are placeholders some writers leave: treat as absent.
        return offset === 0 ? undefined : { kind: 'offset', offset, gen: Number(match[2]) };
      }
      return undefined;
    },
  };
}

function streamSection(data: Buffer, w: number[], ranges: Array<[number, number]>): XrefSection {
  const rowLength = w[0] + w[1] + w[2];
  const field = (at: number, width: number, fallback: number) => {
    if (width === 0) return fallback;
    let value = 0;
    for (let i = 0; i < width; i++) value = value * 256 + data[at + i];
    return value;
  };
  return {
    async lookup(num) {
      let row = 0;
      for (const [first, count] of ranges) {
        if (num >= first && num < first + count) {
          const at = (row + num - first) * rowLength;
          if (rowLength === 0 || at + rowLength > data.length) return undefined;
          const type = field(at, w[0], 1);
          const f2 = field(at + w[0], w[1], 0);
          const f3 = field(at + w[0] + w[1], w[2], 0);
          if (type === 0) return { kind: 'free' };
          if (type === 1) return f2 === 0 ? undefined : { kind: 'offset', offset: f2, gen: f3 };
          if (type === 2) return { kind: 'compressed', stream: f2, index: f3 };
          return undefined;
        }
        row += count;
      }
      return undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Text and dates

// PDFDocEncoding differs from Latin-1 in 0x18..0x1F and 0x80..0xA0.
const PDF_DOC_HIGH =
  '\u2022\u2020\u2021\u2026\u2014\u2013\u0192\u2044\u2039\u203a\u2212\u2030\u201e\u201c\u201d\u2018\u2019\u201a\u2122\ufb01\ufb02\u0141\u0152\u0160\u0178\u017d\u0131\u0142\u0153\u0161\u017e\ufffd\u20ac';
const PDF_DOC_LOW = '\u02d8\u02c7\u02c6\u02d9\u02dd\u02db\u02da\u02dc';

/** A PDF text string: UTF-16BE or UTF-8 with a byte-order mark, else PDFDocEncoding. */
export function pdfText(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    const even = Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2)));
    return even.swap16().toString('utf16le');
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8');
  let text = '';
  for (const byte of bytes) {
    if (byte >= 0x80 && byte <= 0xa0) text += PDF_DOC_HIGH[byte - 0x80];
    else if (byte >= 0x18 && byte <= 0x1f) text += PDF_DOC_LOW[byte - 0x18];
    else text += String.fromCharCode(byte);
  }
  return text;
}

/**
 * A PDF date ("D:YYYYMMDDHHmmSSOHH'mm'", every part after the day optional; O is +, - or Z)
 * as capturedAt-style fields: the UTC instant and "±HH:MM" with an offset, a zone-less
 * wall-clock time without one. Null when it is not a date.
 */
export function parsePdfDate(text: string): CaptureTime | null {
  // The longest date is 24 characters; the expression's cost grows with the square of its input.
  if (text.trim().length > 64) return null;
  const match = /^(?:D:)?\s*(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?\s*(?:([Zz+-])\s*(?:(\d{2})'?\s*(?:(\d{2})'?)?)?)?\s*$/.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', sign, oh, om] = match;
  let zone = '';
  if (sign === 'Z' || sign === 'z') zone = oh && Number(oh) + Number(om ?? 0) !== 0 ? '' : 'Z';
  else if (sign) zone = oh ? `${sign}${oh}:${om ?? '00'}` : '';
  return captureTimeFromTags({ xmpDates: [`${y}-${mo}-${d}T${h}:${mi}:${s}${zone}`] });
}

const NS_DC = 'http://purl.org/dc/elements/1.1/';
const NS_XMP = 'http://ns.adobe.com/xap/1.0/';
const NS_PDF = 'http://ns.adobe.com/pdf/1.3/';

// ---------------------------------------------------------------------------------------------
// Entry point

/** Reads a PDF's page count, Info and XMP; null when the file is not a PDF. */
/** The /Encrypt dictionary's fields pdf-crypt.ts needs (its strings are never encrypted). */
async function encryptFields(pdf: PdfFile, trailer: Dict): Promise<EncryptFields> {
  const dict = await pdf.resolve(trailer.get('Encrypt'));
  const field = async (key: string) => pdf.resolve(get(dict, key));
  const bytes = async (key: string) => {
    const value = await field(key);
    return Buffer.isBuffer(value) ? value : null;
  };
  const v = numberOf(await field('V')) ?? 0;
  // V4 and V5 name crypt filters (/StmF, /StrF) defined in /CF, each with its method (/CFM).
  const filters = await field('CF');
  const methodOf = async (key: string): Promise<string> => {
    const name = nameOf(await field(key)) ?? 'Identity';
    if (name === 'Identity') return name;
    return nameOf(await pdf.resolve(get(await pdf.resolve(get(filters, name)), 'CFM'))) ?? 'None';
  };
  const id = toArray(await pdf.resolve(trailer.get('ID')));
  const id0 = await pdf.resolve(id[0]);
  return {
    filter: nameOf(await field('Filter')),
    v,
    r: numberOf(await field('R')) ?? 0,
    lengthBits: numberOf(await field('Length')) ?? 40,
    o: (await bytes('O')) ?? Buffer.alloc(0),
    u: (await bytes('U')) ?? Buffer.alloc(0),
    oe: await bytes('OE'),
    ue: await bytes('UE'),
    p: numberOf(await field('P')) ?? 0,
    encryptMetadata: (await field('EncryptMetadata')) !== false,
    streamMethod: v >= 4 ? await methodOf('StmF') : 'V2',
    stringMethod: v >= 4 ? await methodOf('StrF') : 'V2',
    id0: Buffer.isBuffer(id0) ? id0 : Buffer.alloc(0),
  };
}

/** A document's facts when it gives none (each reader starts from these). */
export const NO_DOCUMENT_FACTS: Readonly<Omit<PdfMetadata, 'notes'>> = {
  pages: null,
  title: null,
  author: null,
  lastModifiedBy: null,
  creator: null,
  producer: null,
  createdAt: null,
  createdAtOffset: null,
  modifiedAt: null,
  modifiedAtOffset: null,
};

export async function readPdfMetadata(filePath: string): Promise<PdfMetadata | null> {
  let handle: FileHandle | undefined;
  const result: PdfMetadata = { ...NO_DOCUMENT_FACTS, notes: [] };
  let pdf: PdfFile;
  try {
    handle = await open(filePath, 'r');
    const { size } = await handle.stat();
    pdf = new PdfFile(new BoundedReader(handle, size, LIMITS));
    if (!(await pdf.isPdf())) {
      await handle.close().catch(() => undefined);
      return null;
    }
  } catch {
    await handle?.close().catch(() => undefined);
    return null;
  }
  try {
    await readDocument(pdf, result);
  } catch (error) {
    pdf.note(
      error instanceof Budget || error instanceof ReadBudgetExceeded
        ? `reading stopped after ${error.message}`
        : `reading stopped: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    await handle.close().catch(() => undefined);
  }
  result.notes = pdf.notes;
  return result;
}

async function readDocument(pdf: PdfFile, result: PdfMetadata): Promise<void> {
  const trailer = await pdf.trailer();
  if (!trailer) {
    pdf.note('no trailer or document catalog: nothing read');
    return;
  }
  let encrypted = trailer.has('Encrypt');
  if (encrypted) {
    const opened = standardDecryptor(await encryptFields(pdf, trailer));
    if ('problem' in opened) pdf.note(`the document is encrypted and ${opened.problem}: its text strings and compressed streams were not decrypted`);
    else {
      pdf.decryptor = opened;
      encrypted = false;
    }
  }

  const root = await pdf.resolve(trailer.get('Root'));
  if (!isDict(root)) pdf.note('the document catalog (/Root) is unreadable: no page count or XMP');
  else {
    const pages = await pdf.resolve(root.get('Pages'));
    const count = numberOf(await pdf.resolve(get(pages, 'Count')));
    if (count !== null && Number.isInteger(count) && count >= 0 && count <= MAX_PAGES) result.pages = count;
    else pdf.note('the page tree gives no usable /Count');
  }

  const infoValue = trailer.get('Info');
  const info = infoValue === undefined ? undefined : await pdf.resolve(infoValue);
  if (infoValue !== undefined && !isDict(info)) pdf.note('the Info dictionary is unreadable');
  const infoText = async (key: string): Promise<string | null> => {
    if (encrypted || !isDict(info)) return null;
    // An encrypted string is keyed by the object holding it: the Info dictionary's, or its own.
    const held = info.get(key);
    const owner = held instanceof Ref ? held : infoValue instanceof Ref ? infoValue : null;
    const value = await pdf.resolve(held);
    if (!Buffer.isBuffer(value)) return null;
    let bytes: Buffer | null = value;
    if (pdf.decryptor && owner && !(await pdf.isCompressed(owner.num))) bytes = pdf.decryptor.string(value, owner.num, owner.gen);
    if (!bytes) pdf.note(`Info /${key} does not decrypt`);
    return bytes ? cleanText(pdfText(bytes)) : null;
  };

  let xmp: string | null = null;
  const metadataRef = get(root, 'Metadata');
  if (metadataRef instanceof Ref) {
    const parsed = encrypted ? null : await pdf.object(metadataRef);
    if (encrypted) pdf.note('the XMP metadata stream is encrypted; not read');
    else if (parsed && isDict(parsed.value) && parsed.streamStart !== null) {
      const clear = !pdf.decryptor || !pdf.decryptor.encryptsMetadata || (await pdf.isCompressed(metadataRef.num));
      const data = await pdf.streamData(parsed.value, parsed.streamStart, 'the XMP metadata stream', clear ? undefined : metadataRef);
      if (data && data.length <= MAX_XMP_BYTES) xmp = data.toString('utf8');
      else if (data) pdf.note(`the XMP metadata stream is over ${MAX_XMP_BYTES} bytes; not read`);
    } else pdf.note('the XMP metadata stream is unreadable');
  }
  const fromXmp = (uri: string, local: string): string[] => (xmp ? xmlValues(xmp, uri, local).map((v) => cleanText(v)).filter((v): v is string => v !== null) : []);

  // The Info dictionary first (what ExifTool's PDF group and most readers show), XMP fills gaps.
  result.title = (await infoText('Title')) ?? fromXmp(NS_DC, 'title')[0] ?? null;
  const creators = fromXmp(NS_DC, 'creator');
  result.author = (await infoText('Author')) ?? (creators.length > 0 ? creators.join('; ') : null);
  result.creator = (await infoText('Creator')) ?? fromXmp(NS_XMP, 'CreatorTool')[0] ?? null;
  result.producer = (await infoText('Producer')) ?? fromXmp(NS_PDF, 'Producer')[0] ?? null;

  const date = async (infoKey: string, xmpKey: string): Promise<CaptureTime | null> => {
    const text = await infoText(infoKey);
    const fromInfo = text === null ? null : parsePdfDate(text);
    if (text !== null && !fromInfo) pdf.note(`Info /${infoKey} ("${text.slice(0, 40)}") is not a PDF date`);
    if (fromInfo) return fromInfo;
    const iso = fromXmp(NS_XMP, xmpKey)[0];
    return iso === undefined ? null : captureTimeFromTags({ xmpDates: [iso] });
  };
  const created = await date('CreationDate', 'CreateDate');
  const modified = await date('ModDate', 'ModifyDate');
  result.createdAt = created?.capturedAt ?? null;
  result.createdAtOffset = created?.capturedAtOffset ?? null;
  result.modifiedAt = modified?.capturedAt ?? null;
  result.modifiedAtOffset = modified?.capturedAtOffset ?? null;
}
