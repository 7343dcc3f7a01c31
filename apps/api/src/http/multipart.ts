import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { badRequest, DomainError } from '#custodia/errors';
import { BlobTooLargeError, type IngestResult } from '#custodia/storage';
import { inputProblems, jsonShapeProblem, shapeDetail } from './strict-input.js';

const MAX_METADATA_BYTES = 64 * 1024;

export interface EvidenceUpload {
  /** The `metadata` part's JSON, checked as strict input; undefined when the part was left out or empty. */
  metadata: unknown;
  result: IngestResult;
  fileName: string | null;
  declaredMediaType: string | null;
}

const tooLarge = (limit: number): DomainError =>
  new DomainError('payload_too_large', `The file is larger than this archive accepts (${limit} bytes); the upload was stopped`);

/**
 * U+FFFD, which the multipart parser puts where a part's bytes are not UTF-8: text that holds it
 * is refused as not UTF-8, as a JSON body's bytes are (a JSON text may still write it as the
 * escape \ufffd). The parser does not hand over the bytes themselves.
 */
const REPLACEMENT = '\uFFFD';
const notUtf8 = (field: string, what: string): DomainError =>
  badRequest(`${what} is not valid UTF-8 (or holds U+FFFD, the mark of text that was not); nothing was stored`, [{ field, message: 'must be UTF-8' }]);

/** The refusal of a `file` part without a filename, which busboy takes for a field (unless it is application/octet-stream). */
const noFileName = () =>
  badRequest(
    'The part "file" has no filename: send it as Content-Disposition: form-data; name="file"; filename="..." (or with Content-Type: application/octet-stream)',
    [{ field: 'file', message: 'needs a filename parameter' }],
  );

/**
 * Reads a `multipart/form-data` submission: one `metadata` part (JSON text) and one `file` part
 * streamed straight into the blob store's temporary area. Any other part, a second file, a
 * malformed body or a client that goes away fails the whole upload and leaves nothing behind.
 */
export async function readEvidenceUpload(
  req: Request,
  maxFileBytes: number,
  ingest: (file: Readable, signal: AbortSignal) => Promise<IngestResult>,
): Promise<EvidenceUpload> {
  if (!req.is('multipart/form-data')) {
    throw new DomainError('unsupported_media_type', 'Send the evidence as multipart/form-data with parts "metadata" and "file"');
  }
  const declaredLength = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declaredLength) && declaredLength > maxFileBytes + MAX_METADATA_BYTES + 64 * 1024) throw tooLarge(maxFileBytes);

  const abort = new AbortController();
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      // Browsers and phones send file names as raw UTF-8 (Ukrainian, Arabic...), not latin1.
      defParamCharset: 'utf8',
      // Two fields: the metadata, and a file part sent without a filename (which the parser takes
      // for a field), so that it is refused as that rather than as a second metadata part.
      limits: { files: 1, fields: 2, parts: 3, fieldSize: MAX_METADATA_BYTES, fieldNameSize: 100, headerPairs: 50 },
    });
  } catch {
    throw badRequest('The multipart body has no valid boundary');
  }

  let metadataRaw: string | null = null;
  let upload: Promise<IngestResult> | null = null;
  let fileName: string | null = null;
  let declaredMediaType: string | null = null;
  let failure: DomainError | null = null;
  let settle!: () => void;
  const fail = (error: DomainError): void => {
    failure ??= error;
    abort.abort(error);
    // Stop reading at once: an oversized or hostile upload is not drained.
    req.unpipe(parser);
    settle();
  };

  const finished = new Promise<void>((resolve) => {
    settle = resolve;
    parser.on('field', (name, value, info) => {
      if (name === 'file') return fail(noFileName());
      if (name !== 'metadata') return fail(badRequest(`Unknown part "${name}"`, [{ field: name, message: 'is not a part of a submission' }]));
      if (metadataRaw !== null) return fail(badRequest('Send exactly one metadata part', [{ field: 'metadata', message: 'only one metadata part' }]));
      if (info.valueTruncated) return fail(new DomainError('payload_too_large', `The metadata part is over ${MAX_METADATA_BYTES} bytes`));
      // A part declaring a charset the parser cannot decode (charset=x-unknown, utf-16) comes
      // without a value: refused as a JSON body in another charset is.
      if (typeof value !== 'string') {
        return fail(
          new DomainError('unsupported_media_type', 'Send the metadata part as UTF-8 JSON: its declared charset is not taken', [{ field: 'metadata', message: 'must be UTF-8' }]),
        );
      }
      if (value.includes(REPLACEMENT)) return fail(notUtf8('metadata', 'The metadata part'));
      metadataRaw = value;
    });
    parser.on('file', (name, stream, info) => {
      // A body that ends inside this part fails the stream at once, maybe before the store has
      // begun to read it (its temporary file is still being opened): heard here, or the unheard
      // 'error' would take the whole process down. The parser reports the same failure (its own
      // 'error'), and the store its own (a limit reached destroys the stream too).
      stream.on('error', () => undefined);
      if (name !== 'file') {
        stream.resume();
        return fail(badRequest(`Unknown file part "${name}"`, [{ field: name, message: 'the file part is named "file"' }]));
      }
      if (info.filename?.includes(REPLACEMENT)) {
        stream.resume();
        return fail(notUtf8('file', 'The file part\'s filename'));
      }
      fileName = info.filename ?? null;
      declaredMediaType = info.mimeType || null;
      upload = ingest(stream, abort.signal);
      upload.catch((error) => {
        stream.resume();
        fail(error instanceof BlobTooLargeError ? tooLarge(maxFileBytes) : badRequest('The file part could not be read to its end'));
      });
    });
    parser.on('filesLimit', () => fail(badRequest('Send exactly one file part', [{ field: 'file', message: 'only one file per submission' }])));
    // Fields beyond the first: a second metadata part, or the file part without a filename after it.
    parser.on('fieldsLimit', () =>
      fail(
        badRequest('Send exactly one metadata part, and the file as a part named "file" with a filename (a part without one counts as another field)', [
          { field: 'metadata', message: 'only one metadata part' },
        ]),
      ),
    );
    // busboy reports reaching (not passing) the parts limit: 3 means a third part arrived.
    parser.on('partsLimit', () => fail(badRequest('Too many parts: send "metadata" and "file" only')));
    parser.on('error', () => {
      fail(badRequest('The multipart body is malformed or ended early'));
      resolve();
    });
    parser.on('close', resolve);
    req.on('aborted', () => {
      fail(badRequest('The client went away before the upload ended'));
      resolve();
    });
  });
  req.pipe(parser);
  await finished;

  const result = await (upload as Promise<IngestResult> | null)?.catch(() => null);
  let metadata: unknown;
  try {
    if (failure) throw failure;
    if (!result) throw badRequest('The submission has no file part', [{ field: 'file', message: 'is required' }]);
    metadata = readMetadataPart(metadataRaw);
  } catch (error) {
    await result?.discard();
    throw error;
  }
  return { metadata, result: result!, fileName, declaredMediaType };
}

/**
 * The `metadata` part as JSON, as strictly as a JSON body is read (api.md, Errors): bounded
 * nesting, no prototype keys, text without NUL or control characters; each problem named
 * `metadata.<field>`. Its fields are the service's to check (SubmissionMetadata).
 */
function readMetadataPart(raw: string | null): unknown {
  if (raw === null || raw.trim() === '') return undefined;
  const shape = jsonShapeProblem(Buffer.from(raw, 'utf8'));
  if (shape) throw badRequest(shapeDetail('The metadata part', shape), [{ field: `metadata.${shape.field}`, message: shape.message }]);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw badRequest('The metadata part is not valid JSON', [{ field: 'metadata', message: 'must be a JSON object' }]);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badRequest('The metadata part must be a JSON object', [{ field: 'metadata', message: 'must be a JSON object' }]);
  }
  const problems = inputProblems(json, 'metadata');
  if (problems.length) throw badRequest('The metadata has invalid fields', problems);
  return json;
}
