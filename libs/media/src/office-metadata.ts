// What an office document says of itself, as ExifTool's ZIP.pm and OOXML/ODF readers give it: Word,
// Excel and PowerPoint files (OOXML: docProps/core.xml and docProps/app.xml) and OpenDocument text,
// spreadsheets and presentations (meta.xml). The fields a PDF gives (ExtractedDocument): pages
// (a word processor's own count when it saved the file, a presentation's slides), title, author, the application, and the
// creation and modification dates. Witness statements and incident reports come as such files.
// Bounded: the ZIP's central directory is walked for at most 10,000 entries, and only those three
// parts are inflated, at most 64 KiB each. A failure gives a note ("ZIP: ..." where the archive
// itself fails, whatever it holds), never an exception.
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { captureTimeFromTags, cleanText, type CaptureTime } from './exif-values.js';
import { NO_DOCUMENT_FACTS, type PdfMetadata } from './pdf-metadata.js';
import { xmlValues } from './xml-values.js';

const LABEL = 'Office document';
const MAX_ENTRIES = 10_000;
const MAX_PART_BYTES = 64 * 1024;
const CORE = 'docProps/core.xml';
const APP = 'docProps/app.xml';
const ODF_META = 'meta.xml';
const NS = {
  dc: 'http://purl.org/dc/elements/1.1/',
  dcterms: 'http://purl.org/dc/terms/',
  app: 'http://schemas.openxmlformats.org/officeDocument/2006/extended-properties',
  meta: 'urn:oasis:names:tc:opendocument:xmlns:meta:1.0',
  cp: 'http://schemas.openxmlformats.org/package/2006/metadata/core-properties',
};

/** An OOXML or OpenDocument file's description of itself; null for a ZIP that holds neither (an archive of files). */
export async function readOfficeMetadata(filePath: string): Promise<PdfMetadata | null> {
  const notes: string[] = [];
  const parts = new Map<string, string>();
  let officePart = false;
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(filePath, { autoClose: false, validateEntrySizes: true });
  } catch (error) {
    return { ...NO_DOCUMENT_FACTS, notes: [`ZIP: the archive cannot be read (${error instanceof Error ? error.message : String(error)})`] };
  }
  try {
    let count = 0;
    for await (const entry of zip.eachEntry()) {
      if (++count > MAX_ENTRIES) {
        notes.push(`ZIP: more than ${MAX_ENTRIES} entries; the rest were not looked at`);
        break;
      }
      if (entry.fileName !== CORE && entry.fileName !== APP && entry.fileName !== ODF_META) continue;
      officePart = true;
      if (entry.isEncrypted() || entry.uncompressedSize > MAX_PART_BYTES) {
        notes.push(`${LABEL}: ${entry.fileName} is ${entry.isEncrypted() ? 'encrypted' : `over ${MAX_PART_BYTES / 1024} KiB`}; not read`);
        continue;
      }
      parts.set(entry.fileName, (await bytesOf(await zip.openReadStreamPromise(entry))).toString('utf8'));
    }
  } catch (error) {
    notes.push(`ZIP: the archive is damaged (${error instanceof Error ? error.message : String(error)})`);
  } finally {
    zip.close();
  }
  // No part of an office document: an archive of files, listed by zip-archive.ts.
  if (!officePart) return null;
  if (parts.size === 0) return { ...NO_DOCUMENT_FACTS, notes };
  const [core, app, meta] = [CORE, APP, ODF_META].map((name) => parts.get(name));
  const value = (xml: string | undefined, uri: string, local: string): string | null => (xml ? cleanText(xmlValues(xml, uri, local)[0] ?? '') : null);
  const date = (text: string | null, name: string): CaptureTime | null => {
    const parsed = text === null ? null : captureTimeFromTags({ xmpDates: [text] });
    if (text !== null && !parsed) notes.push(`${LABEL}: ${name} ("${text.slice(0, 40)}") is not a date`);
    return parsed;
  };
  // A presentation's slides are its pages (PowerPoint's Slides; OpenDocument counts them as pages).
  const pagesText = value(app, NS.app, 'Pages') ?? value(app, NS.app, 'Slides') ?? value(meta, NS.meta, 'page-count');
  const pages = pagesText !== null && /^\d{1,6}$/.test(pagesText) ? Number(pagesText) : null;
  // OOXML's dc:creator is the author, cp:lastModifiedBy who saved it last; OpenDocument's dc:creator is
  // who saved it last, its author meta:initial-creator.
  const author = core ? value(core, NS.dc, 'creator') : (value(meta, NS.meta, 'initial-creator') ?? value(meta, NS.dc, 'creator'));
  const lastModifiedBy = core ? value(core, NS.cp, 'lastModifiedBy') : value(meta, NS.dc, 'creator');
  const application = app ? value(app, NS.app, 'Application') : value(meta, NS.meta, 'generator');
  const created = core ? date(value(core, NS.dcterms, 'created'), 'dcterms:created') : date(value(meta, NS.meta, 'creation-date'), 'meta:creation-date');
  const modified = core ? date(value(core, NS.dcterms, 'modified'), 'dcterms:modified') : date(value(meta, NS.dc, 'date'), 'dc:date');
  return {
    pages,
    title: value(core ?? meta, NS.dc, 'title'),
    author,
    lastModifiedBy,
    creator: application,
    producer: null,
    createdAt: created?.capturedAt ?? null,
    createdAtOffset: created?.capturedAtOffset ?? null,
    modifiedAt: modified?.capturedAt ?? null,
    modifiedAtOffset: modified?.capturedAtOffset ?? null,
    notes,
  };
}


/** A part's bytes; validateEntrySizes stops a part that inflates past its declared size. */
async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
