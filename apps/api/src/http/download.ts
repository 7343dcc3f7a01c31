import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sanitiseFileName } from '#custodia/bagit';
import type { BlobRead, ByteRange } from '#custodia/storage';
import { problem, sendProblem } from './problem.filter.js';
import { entityTag, ifRangeHolds, parseRange, preconditionOutcome } from './range.js';

/** A Range header that no byte of the file satisfies (answered 416). */
class RangeNotSatisfiable extends Error {
  constructor(readonly sizeBytes: number) {
    super('range not satisfiable');
  }
}

/** A precondition that decides the answer before a byte is read or a read recorded. */
class PreconditionAnswer extends Error {
  constructor(
    readonly status: 412 | 304,
    readonly etag: string,
  ) {
    super('precondition');
  }
}

/**
 * Sends a generated export (CSV, GeoJSON) as a download that no shared cache keeps, streamed as
 * it is made. A failure once it has begun cuts the connection: the client sees a broken transfer,
 * never a short file that looks whole.
 */
export async function textDownload(res: Response, contentType: string, fileName: string, body: AsyncIterable<string>): Promise<void> {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
  res.setHeader('Cache-Control', 'private, no-store');
  await pipeline(Readable.from(body), res).catch(() => res.destroy());
}

/**
 * RFC 6266 attachment with an ASCII fallback and the UTF-8 name. The name is the submitter's, so it
 * is cleaned as a package's file names are (no path, no controls, no bidirectional override that
 * shows "invoice\u202Egpj.exe" as "invoiceexe.jpg" in the browser's download bar).
 */
export function attachment(name: string | null, fallback: string): string {
  const base = sanitiseFileName((name ?? '').split(/[/\\]/).pop(), fallback);
  const ascii = base.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  // RFC 8187 attr-char: encodeURIComponent leaves ' ( ) * unescaped, which it must not.
  const encoded = encodeURIComponent(base).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** What a download route opened: the stored bytes (or the range asked for) and how to label them. */
export interface OpenedBlob {
  sha256: string;
  sizeBytes: number;
  mediaType: string;
  fileName: string | null;
  fallbackName: string;
  range: ByteRange | null;
  /** Null for a HEAD. */
  stream: Readable | null;
}

/**
 * Sends a stored, content-addressed blob as an attachment: single Range (206/416) and If-Range, `ETag` and
 * RFC 9530 `Repr-Digest` of the whole representation. `open` receives what the request asks for
 * (the range maker, and whether it is a HEAD, which opens no stream), so authorisation and the
 * custody event happen before any byte is read.
 */
export async function sendBlob(
  req: Request,
  res: Response,
  open: (read: BlobRead) => Promise<OpenedBlob>,
): Promise<void> {
  let opened: OpenedBlob;
  try {
    opened = await open({
      pickRange: (sizeBytes, sha256) => {
        const etag = entityTag(sha256);
        // Decided before the read is recorded: a client that holds these bytes is sent none of them.
        const decided = preconditionOutcome(req.get('if-match'), req.get('if-none-match'), etag);
        if (decided) throw new PreconditionAnswer(decided, etag);
        // A client whose copy may differ (If-Range naming another version) gets the whole body.
        if (!ifRangeHolds(req.get('if-range'), etag)) return null;
        const wanted = parseRange(req.headers.range, sizeBytes);
        if (wanted === 'unsatisfiable') throw new RangeNotSatisfiable(sizeBytes);
        return wanted;
      },
      headersOnly: req.method === 'HEAD',
    });
  } catch (error) {
    if (error instanceof PreconditionAnswer) {
      if (error.status === 412) {
        sendProblem(res, problem(412, 'If-Match names no entity tag of this file: it is not the version the request is about'), { ETag: error.etag });
      } else {
        res.status(304).setHeader('ETag', error.etag);
        res.setHeader('Cache-Control', 'private, no-store');
        res.end();
      }
      return;
    }
    if (!(error instanceof RangeNotSatisfiable)) throw error;
    sendProblem(res, problem(416, `The range is outside the ${error.sizeBytes} bytes of this file`), { 'Content-Range': `bytes */${error.sizeBytes}` });
    return;
  }
  const { sha256, sizeBytes, range, stream } = opened;
  res.status(range ? 206 : 200);
  res.setHeader('Content-Type', opened.mediaType);
  res.setHeader('Content-Disposition', attachment(opened.fileName, opened.fallbackName));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', entityTag(sha256));
  res.setHeader('Repr-Digest', `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`);
  res.setHeader('Cache-Control', 'private, no-store');
  res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : sizeBytes));
  if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${sizeBytes}`);
  if (!stream) {
    res.end();
    return;
  }
  await pipeline(stream, res).catch(() => res.destroy());
}
