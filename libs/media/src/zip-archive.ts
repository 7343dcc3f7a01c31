// The files a ZIP archive carries (a phone's folder zipped, a messenger's chat export with its
// photos and videos, what a partner sends in one file): each file's name as the archive gives it,
// its size, its SHA-256 taken of its decompressed bytes (what an unzip tool writes out) and its
// modification time, listed as an e-mail's attached files are, so that the case shows which of
// them are already items and any can be submitted as an item of its own.
// Bounded: the central directory is walked for at most 10,000 entries, at most 1,000 files are
// listed, and at most 1 GiB of decompressed bytes is hashed at intake (a note names what was not,
// so a ZIP bomb costs seconds, not the reading's time limit). Names are never used as paths here.
// A failure gives a note ("ZIP: ..."), never an exception.
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
  const skipped = { encrypted: 0, method: 0, unlisted: 0, unhashed: 0, unhashedBytes: 0, unmarked: 0 };
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
      if (!marked(entry) && (entry.fileName as unknown as Buffer).some((byte) => byte > 0x7f)) skipped.unmarked++;
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
        files.push({ name, mediaType: null, sizeBytes: entry.uncompressedSize, sha256: digest.sha256, inline: false, modifiedAt: modifiedAt(entry) });
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
  if (skipped.unmarked > 0) {
    notes.push(`ZIP: ${skipped.unmarked} names are not marked as UTF-8 and were read as code page 437, as the format says; Windows writes them in its own code page (866 where it runs in Ukrainian or Russian), so such names may read wrongly`);
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
      if (entry.uncompressedSize !== file.sizeBytes || entry.isEncrypted() || !entry.canDecodeFileData() || entryName(entry) !== file.name) continue;
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
function marked(entry: yauzl.Entry): boolean {
  return (entry.generalPurposeBitFlag & 0x800) !== 0 || entry.extraFields.some((field) => field.id === UNICODE_PATH_FIELD);
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
    const instant = entry.getLastModDate();
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
