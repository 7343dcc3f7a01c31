// The files a ZIP archive carries (a phone's folder zipped, a messenger's chat export with its
// photos and videos, what a partner sends in one file): each file's name as the archive gives it,
// its size, its SHA-256 taken of its decompressed bytes (what an unzip tool writes out) and its
// modification time, listed as an e-mail's attached files are, so that the case shows which of
// them are already items and any can be submitted as an item of its own.
// Bounded: the central directory is walked for at most 10,000 entries, at most 1,000 files are
// listed, and at most 1 GiB of decompressed bytes is hashed at intake (a note names what was not,
// so a ZIP bomb costs seconds, not the reading's time limit). Names are never used as paths here;
// names not marked as UTF-8 are read as their archive's zipping program most likely wrote them.
// A failure gives a note ("ZIP: ..."), never an exception.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { MAX_LISTED } from './email-metadata.js';
import { NO_DOCUMENT_FACTS, type MessageAttachment, type PdfMetadata } from './pdf-metadata.js';

export const ZIP_SIGNATURE = Buffer.from('PK\x03\x04', 'latin1');
/** Entries of the central directory looked at, directories included. */
export const MAX_ENTRIES = 10_000;

export interface ArchiveLimits {
  /** Decompressed bytes hashed in all: the files past it are counted in a note, not listed. */
  hashedBytes: number;
}

export const ARCHIVE_LIMITS: ArchiveLimits = { hashedBytes: 1024 * 1024 * 1024 };

/** The files a ZIP holds (directories left out), up to MAX_LISTED, each hashed as it is decompressed. */
export async function readArchiveFiles(filePath: string, limits: ArchiveLimits = ARCHIVE_LIMITS): Promise<PdfMetadata> {
  const notes: string[] = [];
  const files: MessageAttachment[] = [];
  let zip: yauzl.ZipFile;
  try {
    zip = await openArchive(filePath);
  } catch (error) {
    return { ...NO_DOCUMENT_FACTS, notes: [`ZIP: the archive cannot be read (${messageOf(error)})`] };
  }
  const skipped = { encrypted: 0, method: 0, unlisted: 0, unhashed: 0, unhashedBytes: 0 };
  // Names not marked as UTF-8 that hold other bytes than ASCII, and the listed files that bear them:
  // how they read is decided for the whole archive once all are seen (see unmarkedReading).
  const unmarked: Buffer[] = [];
  const unmarkedFiles = new Map<MessageAttachment, Buffer>();
  let walked = 0;
  let hashed = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      if (++walked > MAX_ENTRIES) {
        notes.push(`ZIP: more than ${MAX_ENTRIES} entries; the rest were not looked at`);
        break;
      }
      const name = entryName(entry);
      if (name.endsWith('/')) continue;
      const raw = unmarkedName(entry);
      if (raw) unmarked.push(raw);
      if (entry.isEncrypted()) skipped.encrypted++;
      else if (!entry.canDecodeFileData()) skipped.method++;
      else if (files.length >= MAX_LISTED) skipped.unlisted++;
      else if (hashed + entry.uncompressedSize > limits.hashedBytes) {
        skipped.unhashed++;
        skipped.unhashedBytes += entry.uncompressedSize;
      } else {
        hashed += entry.uncompressedSize;
        const digest = await digestOf(zip, entry).catch((error: unknown) => {
          notes.push(`ZIP: ${JSON.stringify(name)} cannot be decompressed (${messageOf(error)}); not listed`);
          return null;
        });
        if (!digest) continue;
        if (digest.crc32 !== entry.crc32) notes.push(`ZIP: ${JSON.stringify(name)} does not match its CRC-32: the archive is damaged there; listed as it decompresses`);
        const file: MessageAttachment = { name, mediaType: null, sizeBytes: entry.uncompressedSize, sha256: digest.sha256, inline: false, modifiedAt: modifiedAt(entry) };
        files.push(file);
        if (raw) unmarkedFiles.set(file, raw);
      }
    }
  } catch (error) {
    notes.push(`ZIP: the archive is damaged (${messageOf(error)}); the files before the damage are listed`);
  } finally {
    zip.close();
  }
  if (skipped.encrypted > 0) notes.push(`ZIP: ${skipped.encrypted} files are encrypted; they are not listed`);
  if (skipped.method > 0) notes.push(`ZIP: ${skipped.method} files are compressed in a way this reader does not decompress (only stored and deflated are); they are not listed`);
  if (skipped.unlisted > 0) notes.push(`ZIP: ${files.length + skipped.unlisted} files; the first ${MAX_LISTED} are listed`);
  if (skipped.unhashed > 0) {
    notes.push(`ZIP: ${skipped.unhashed} files (${skipped.unhashedBytes} bytes) are past the ${limits.hashedBytes} bytes hashed when an archive arrives; they are not listed`);
  }
  if (unmarked.length > 0) {
    const reading = unmarkedReading(unmarked);
    for (const [file, raw] of unmarkedFiles) file.name = decodeName(raw, reading);
    notes.push(`ZIP: ${unmarked.length} names are not marked as UTF-8; ${READING_NOTES[reading]}`);
  }
  return { ...NO_DOCUMENT_FACTS, attachments: files, notes };
}

/**
 * Hands each file of the archive listed with this name and size to `take`, decompressed, until
 * `take` gives a result whose SHA-256 is the listed one (a result that is not is discarded);
 * null when none is.
 */
export async function takeArchiveFile<T extends { sha256: string; discard(): Promise<void> }>(
  filePath: string,
  file: Pick<MessageAttachment, 'name' | 'sizeBytes' | 'sha256'>,
  take: (source: Readable) => Promise<T>,
): Promise<T | null> {
  const zip = await openArchive(filePath);
  try {
    let walked = 0;
    for await (const entry of zip.eachEntry()) {
      if (++walked > MAX_ENTRIES) break;
      if (entry.uncompressedSize !== file.sizeBytes || entry.isEncrypted() || !entry.canDecodeFileData() || file.name === null || !namesOf(entry).includes(file.name)) continue;
      const result = await take(await zip.openReadStreamPromise(entry));
      if (result.sha256 === file.sha256) return result;
      await result.discard();
    }
    return null;
  } finally {
    zip.close();
  }
}

function openArchive(filePath: string): Promise<yauzl.ZipFile> {
  // Names are decoded below without yauzl's check of them as paths: a name such as "../x" is only
  // shown here, and an archive that holds one is still listed.
  return yauzl.openPromise(filePath, { autoClose: false, decodeStrings: false, validateEntrySizes: true });
}

/** The name as the archive gives it: Info-ZIP's Unicode path field, else UTF-8 when marked so, else code page 437. */
function entryName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileName as unknown as Buffer, entry.extraFields, false);
}

const UNICODE_PATH_FIELD = 0x7075;
/** The name's bytes when it is not marked as UTF-8 (neither by the flag nor by Info-ZIP's Unicode path field) and is not ASCII. */
function unmarkedName(entry: yauzl.Entry): Buffer | null {
  if ((entry.generalPurposeBitFlag & 0x800) !== 0 || entry.extraFields.some((field) => field.id === UNICODE_PATH_FIELD)) return null;
  const raw = entry.fileName as unknown as Buffer;
  return raw.some((byte) => byte > 0x7f) ? raw : null;
}

type NameReading = 'cp437' | 'utf-8' | 'ibm866';
const READING_NOTES: Record<NameReading, string> = {
  cp437: 'they were read as code page 437, as the format says, and may read wrongly (Windows writes its own code page)',
  'utf-8': 'they are UTF-8 (as some programs write them unmarked) and were read so',
  ibm866: 'they were read as Cyrillic in code page 866, as Windows (and 7-Zip) write them where Windows runs in Ukrainian or Russian; the format says code page 437, in which they would read as Latin letters and symbols',
};

/**
 * How an archive's unmarked names read. The format says code page 437, but a zipping program
 * writes the machine's own OEM code page: an archive made on Windows in Ukrainian or Russian holds
 * Cyrillic in code page 866, which as 437 reads as "Σ«Γ«" for "фото". UTF-8 when every such name is
 * valid UTF-8 (437 and 866 text practically never is); 866 when every byte past ASCII is one of its
 * letters (0x80-0xAF, 0xE0-0xF7) and some are among р-я, Ё-ў (0xE0-0xF7), which in 437 are Greek
 * letters and mathematical signs no Western name is made of; 437 otherwise.
 */
function unmarkedReading(names: Buffer[]): NameReading {
  if (names.every((name) => isUtf8(name))) return 'utf-8';
  const high = names.flatMap((name) => [...name].filter((byte) => byte > 0x7f));
  if (high.every((byte) => byte <= 0xaf || (byte >= 0xe0 && byte <= 0xf7)) && high.some((byte) => byte >= 0xe0)) return 'ibm866';
  return 'cp437';
}

function decodeName(raw: Buffer, reading: NameReading): string {
  // A backslash reads as a slash, as yauzl reads names (a .NET bug wrote them).
  return reading === 'cp437' ? yauzl.getFileNameLowLevel(0, raw, [], false) : new TextDecoder(reading).decode(raw).replace(/\\/g, '/');
}

/** Every name an entry may have been listed under. */
function namesOf(entry: yauzl.Entry): string[] {
  const raw = unmarkedName(entry);
  return raw ? (['cp437', 'utf-8', 'ibm866'] as const).map((reading) => decodeName(raw, reading)) : [entryName(entry)];
}

const UNIX_TIME_FIELD = 0x5455;
const NTFS_TIME_FIELD = 0x000a;
/**
 * When the file was last changed: a UTC instant from Info-ZIP's or NTFS's field, else the DOS
 * time of the header, which is the zipping machine's wall-clock time with no zone (given without
 * one, as a camera's zone-less time is).
 */
function modifiedAt(entry: yauzl.Entry): string {
  if (entry.extraFields.some((field) => field.id === UNIX_TIME_FIELD || field.id === NTFS_TIME_FIELD)) {
    // (UTC for the DOS fallback too, should the field not hold the modification time: the same on every server.)
    const instant = entry.getLastModDate({ timezone: 'UTC' });
    if (!Number.isNaN(instant.getTime())) return instant.toISOString().replace('.000Z', 'Z');
  }
  return entry.getLastModDate({ timezone: 'UTC', forceDosFormat: true }).toISOString().slice(0, 19);
}

async function digestOf(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<{ sha256: string; crc32: number }> {
  const hash = createHash('sha256');
  let crc = 0;
  for await (const chunk of await zip.openReadStreamPromise(entry)) {
    hash.update(chunk as Buffer);
    crc = crc32(chunk as Buffer, crc);
  }
  return { sha256: hash.digest('hex'), crc32: crc };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
