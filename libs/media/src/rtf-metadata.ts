// What an RTF document (WordPad's, Word's, LibreOffice's "Rich Text") says of itself, from its
// information group as ExifTool's RTF.pm reads it: \title, \author, \operator (who saved it last),
// \creatim and \revtim (wall-clock times, no zone), \nofpages; and the program from \*\generator
// (without the ';' Word and WordPad end it with). Text is decoded as RTF writes it: \'hh bytes in
// the document's code page (\ansicpg; Ukrainian Windows writes 1251), \uN characters with their
// \ucN fallbacks skipped, and where a writer gives a title twice (LibreOffice's
// {\upr{ANSI}{\*\ud{Unicode}}}), the Unicode one. Bounded: the first 4 MiB are searched for the
// group, which writers put before the text; a group over 64 KiB is not read. A failure gives a
// note, never an exception.
import type { FileHandle } from 'node:fs/promises';
import { codePageDecoder } from './code-pages.js';
import { captureTimeFromTags, cleanText, type CaptureTime } from './exif-values.js';
import { NO_DOCUMENT_FACTS, type PdfMetadata } from './pdf-metadata.js';

const LABEL = 'RTF';
const MAX_SCAN_BYTES = 4 * 1024 * 1024;
const MAX_GROUP_CHARS = 64 * 1024;
/** A control word: its name, its numeric parameter, and the one space that may end it. */
const CONTROL_WORD = /\\([a-zA-Z]{1,32})(-?\d{1,10})? ?/y;

/** True for the first bytes of an RTF file ("{\rtf", CR and LF allowed before it, as readers allow). */
export function isRtf(head: Buffer): boolean {
  return /^[\r\n]*\{[\r\n]*\\rtf/.test(head.toString('latin1', 0, 16));
}

export async function readRtfMetadata(handle: FileHandle, size: number): Promise<PdfMetadata | null> {
  const buffer = Buffer.alloc(Math.min(size, MAX_SCAN_BYTES));
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
  // Latin-1 keeps one character per byte: \'hh escapes and raw 8-bit text are decoded below.
  const rtf = buffer.toString('latin1', 0, bytesRead);
  const notes: string[] = [];
  const decoder = textDecoder(rtf.slice(0, 4096), notes);
  // A group's opening brace, not an escaped one (\{) in the text.
  const generatorAt = rtf.search(/(?<!\\)\{[\r\n]*\\\*[\r\n]*\\generator(?![a-zA-Z])/);
  const generator = generatorAt < 0 ? null : groupAt(rtf, generatorAt);
  const infoAt = rtf.search(/(?<!\\)\{[\r\n]*\\info(?![a-zA-Z])/);
  if (infoAt < 0 && generator === null) return null;
  const facts: PdfMetadata = { ...NO_DOCUMENT_FACTS, creator: generator === null ? null : cleanText(text(afterWord(generator), decoder).replace(/;\s*$/, '')), notes };
  if (infoAt < 0) return facts;
  const info = groupAt(rtf, infoAt);
  if (info === null) {
    notes.push(`${LABEL}: the information group is unterminated or over ${MAX_GROUP_CHARS / 1024} KiB; not read`);
    return facts;
  }
  for (const group of childGroups(afterWord(info))) {
    const word = firstWord(group);
    if (!word) continue;
    // LibreOffice: {\upr{\title ANSI}{\*\ud{\title Unicode}}}: the Unicode alternative is the value.
    const property = word.name === 'upr' ? (childGroups(word.rest).map(firstWord).find((w) => w?.name === 'ud') ?? null) : null;
    const inner = property ? firstWord(childGroups(property.rest)[0] ?? '') : word;
    if (!inner) continue;
    const value = () => cleanText(text(inner.rest, decoder));
    if (inner.name === 'title') facts.title ??= value();
    else if (inner.name === 'author') facts.author ??= value();
    else if (inner.name === 'operator') facts.lastModifiedBy ??= value();
    else if (inner.name === 'nofpages' && inner.parameter !== null && inner.parameter > 0 && inner.parameter < 1_000_000) facts.pages ??= inner.parameter;
    else if (inner.name === 'creatim' || inner.name === 'revtim') {
      const time = rtfTime(inner.rest);
      if (inner.name === 'creatim' && time) [facts.createdAt, facts.createdAtOffset] = [time.capturedAt, time.capturedAtOffset];
      if (inner.name === 'revtim' && time) [facts.modifiedAt, facts.modifiedAtOffset] = [time.capturedAt, time.capturedAtOffset];
    }
  }
  return facts;
}

/** The inner text of the group opening at `start` ("{...}" without its braces); null when unterminated or too long. */
function groupAt(rtf: string, start: number): string | null {
  let depth = 0;
  const end = Math.min(rtf.length, start + MAX_GROUP_CHARS);
  for (let i = start; i < end; i++) {
    const c = rtf[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return rtf.slice(start + 1, i);
  }
  return null;
}

/** The groups directly inside `body`, each without its braces. */
function childGroups(body: string): string[] {
  const groups: string[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\') i++;
    else if (body[i] === '{') {
      const inner = groupAt(body, i);
      if (inner === null) break;
      groups.push(inner);
      i += inner.length + 1;
    }
  }
  return groups;
}

/** A group's first control word (after an optional \*): its name, parameter and what follows it. */
function firstWord(group: string): { name: string; parameter: number | null; rest: string } | null {
  const match = /^[\r\n]*(?:\\\*[\r\n ]*)?\\([a-zA-Z]{1,32})(-?\d{1,10})? ?/.exec(group);
  return match ? { name: match[1]!, parameter: match[2] === undefined ? null : Number(match[2]), rest: group.slice(match[0].length) } : null;
}

function afterWord(group: string): string {
  return firstWord(group)?.rest ?? group;
}

/** RTF text as characters: escapes decoded, control words dropped, \*-destinations left out. */
function text(rtf: string, decoder: TextDecoder): string {
  let out = '';
  // Bytes of the document's code page, decoded together (a double-byte code page's pairs stay whole).
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length) out += decoder.decode(Uint8Array.from(bytes));
    bytes = [];
  };
  // \ucN: the characters after each \uN that stand in for it where Unicode is not read (1 by default).
  let skip = 1;
  let pendingSkip = 0;
  for (let i = 0; i < rtf.length; ) {
    const c = rtf[i]!;
    if (c === '{' || c === '}') {
      if (c === '{' && /^\{[\r\n]*\\\*/.test(rtf.slice(i, i + 8))) {
        const inner = groupAt(rtf, i);
        i += inner === null ? rtf.length : inner.length + 2;
      } else i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      i++;
      continue;
    }
    if (c !== '\\') {
      if (pendingSkip > 0) pendingSkip--;
      else bytes.push(c.charCodeAt(0));
      i++;
      continue;
    }
    const next = rtf[i + 1];
    if (next === "'") {
      const hex = rtf.slice(i + 2, i + 4);
      if (pendingSkip > 0) pendingSkip--;
      else if (/^[0-9a-fA-F]{2}$/.test(hex)) bytes.push(parseInt(hex, 16));
      i += 4;
      continue;
    }
    CONTROL_WORD.lastIndex = i;
    const word = CONTROL_WORD.exec(rtf);
    if (!word) {
      // A control symbol: \\ \{ \} are their character; \~ a no-break space; others (\- \_) nothing.
      if (pendingSkip > 0) pendingSkip--;
      else if (next === '\\' || next === '{' || next === '}') bytes.push(next.charCodeAt(0));
      else if (next === '~') bytes.push(0xa0);
      i += 2;
      continue;
    }
    i += word[0].length;
    const [name, parameter] = [word[1]!, word[2] === undefined ? null : Number(word[2])];
    if (pendingSkip > 0) {
      pendingSkip--;
      continue;
    }
    if (name === 'uc' && parameter !== null) skip = Math.max(0, Math.min(parameter, 8));
    else if (name === 'u' && parameter !== null) {
      flush();
      out += String.fromCharCode(parameter < 0 ? parameter + 0x10000 : parameter & 0xffff);
      pendingSkip = skip;
    } else if (name === 'par' || name === 'line' || name === 'tab') bytes.push(0x20);
  }
  flush();
  return out;
}

/** \yrN\moN\dyN\hrN\minN\secN as a zone-less wall-clock time (RTF keeps no zone); null without a year. */
function rtfTime(rtf: string): CaptureTime | null {
  const part = (name: string) => Number(new RegExp(`\\\\${name}(\\d{1,4})`).exec(rtf)?.[1] ?? 0);
  const [yr, mo, dy, hr, min, sec] = ['yr', 'mo', 'dy', 'hr', 'min', 'sec'].map(part) as [number, number, number, number, number, number];
  if (!yr || !mo || !dy) return null;
  const two = (n: number) => String(n).padStart(2, '0');
  return captureTimeFromTags({ xmpDates: [`${String(yr).padStart(4, '0')}-${two(mo)}-${two(dy)}T${two(hr)}:${two(min)}:${two(sec)}`] });
}

/** The document's code page: \ansicpgN, else Mac Roman for \mac, else Windows-1252 (\pc's and \pca's DOS pages are not WHATWG's). */
function textDecoder(header: string, notes: string[]): TextDecoder {
  const codePage = /\\ansicpg(\d{1,5})/.exec(header)?.[1];
  return codePageDecoder(codePage ? Number(codePage) : /\\mac(?![a-zA-Z])/.test(header) ? 10000 : 1252, notes, LABEL);
}
