import { STATUS_CODES } from 'node:http';
import { Controller, Delete, Head, Options, Param, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import { CurrentActor, Permit, Public, type Actor } from '#custodia/auth';
import { CHUNK_CHECKSUMS, TusRefusal, UploadsService, type Appended, type ChunkCheck } from '#custodia/uploads';
import { UPLOAD_ID_PATTERN } from '#custodia/schema';
import { Endpoint } from '../http/endpoint.js';
import { problem } from '../http/problem.filter.js';

/** `Upload-Checksum: <algorithm> <base64>` (tus checksum extension); undefined when absent, null when malformed or not checked here. */
function chunkCheck(header: string | undefined): ChunkCheck | undefined | null {
  if (header === undefined) return undefined;
  const match = /^(\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  if (!match || !Object.hasOwn(CHUNK_CHECKSUMS, match[1]!)) return null;
  const algorithm = match[1] as ChunkCheck['algorithm'];
  const digest = Buffer.from(match[2]!, 'base64');
  return digest.length === CHUNK_CHECKSUMS[algorithm] ? { algorithm, digest } : null;
}

const ALGORITHMS = Object.keys(CHUNK_CHECKSUMS).join(',');
const CHECKSUM_FORMAT = `Upload-Checksum must be "<algorithm> <base64 of its digest>", the algorithm one of ${ALGORITHMS}`;

/**
 * Creation headers of tus extensions this server does not offer (Tus-Extension does not name
 * them), with what to do instead: a 400 problem, as any request this server cannot take (the tus
 * server's own answer is a 501).
 */
const UNOFFERED: readonly [header: string, detail: string][] = [
  ['upload-defer-length', 'Upload-Defer-Length: give Upload-Length when creating the upload; the creation-defer-length extension is not offered'],
  ['upload-concat', 'Upload-Concat: send the file as one upload; the concatenation extension is not offered (in tus-js-client, parallelUploads: 1)'],
];

/** The reason phrase of a tus answer's status line: 460 is tus' own (the checksum extension's "460 Checksum Mismatch"). */
const reasonOf = (status: number): string => (status === 460 ? 'Checksum Mismatch' : (STATUS_CODES[status] ?? ''));

/** A tus refusal as this API's problem+json. */
function refuse(res: Response, status: number, detail: string): void {
  res.status(status).type('application/problem+json');
  res.statusMessage = reasonOf(status);
  res.send(JSON.stringify(problem(status, detail)));
}

/**
 * A tus answer as sent, with the reason phrase of its status (the tus server gives none, and
 * srvx writes the status line with an empty one), except that a refusal's text becomes this
 * API's problem+json.
 */
async function asAnswer(response: Response | globalThis.Response): Promise<globalThis.Response> {
  const answer = response as globalThis.Response;
  const statusText = answer.statusText || reasonOf(answer.status);
  if (answer.status < 400) return new globalThis.Response(answer.body, { status: answer.status, statusText, headers: answer.headers });
  const detail = (await answer.text()).trim() || 'The upload request was refused';
  const headers = new Headers(answer.headers);
  headers.delete('Content-Length');
  headers.set('Content-Type', 'application/problem+json');
  return new globalThis.Response(JSON.stringify(problem(answer.status, detail)), { status: answer.status, statusText, headers });
}

/**
 * tus 1.0.0 at /api/v1/uploads (api.md, "Resumable uploads"): the tus server answers, except
 * PATCH, which UploadsService.append serves from the Node request itself (the bytes' hot path);
 * this shell lets in signed-in callers who may submit evidence (the access guard ran), and
 * anyone to OPTIONS (tus discovery), passes the chunk's checksum to the store, and writes
 * refusals as problem+json, as every error here is.
 */
/** Every tus request but OPTIONS names the protocol's version; every tus answer names it back. */
const TUS_RESUMABLE = { 'Tus-Resumable': { description: '1.0.0 (412 without it, naming Tus-Version)', required: true } };
const TUS_ANSWER = { 'Tus-Resumable': '1.0.0' };

@ApiTags('uploads')
@ApiBearerAuth()
@Controller('uploads')
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  /**
   * Public: tus clients discover the server with OPTIONS (tus 1.0.0, "OPTIONS"), before and
   * without their credentials; the answer names the server's capabilities, no upload.
   */
  @Options()
  @Public()
  @Endpoint({
    summary: "tus: the server's version, extensions, size limit and checksum algorithm",
    description: 'Open to anyone, without a token: it names what the server takes, nothing of any upload.',
    status: 204,
    headers: { 'Tus-Version': '1.0.0', 'Tus-Extension': 'creation,creation-with-upload,termination,expiration,checksum', 'Tus-Max-Size': 'CUSTODIA_MAX_UPLOAD_BYTES', 'Tus-Checksum-Algorithm': 'sha1,sha256,sha512' },
  })
  describeUploads(@Req() req: Request, @Res() res: Response): Promise<void> {
    res.setHeader('Tus-Checksum-Algorithm', ALGORITHMS);
    return this.serve(req, res);
  }

  @Post()
  @Permit('evidence.submit')
  @Endpoint({
    summary: 'tus creation: Upload-Length and Upload-Metadata (filename, filetype, sha256), optionally with the first bytes',
    description: 'Refused: over CUSTODIA_MAX_UPLOAD_BYTES (413, naming the limit in Tus-Max-Size and its detail), 0 bytes (422), malformed metadata or a digest other than sha256 (md5, SHA256, checksum...: 400; other keys, such as name, type and relativePath from Uppy, are ignored), Upload-Defer-Length or Upload-Concat (extensions not offered: 400), over the per-user limits of open uploads and their bytes (429), no Tus-Resumable (412).',
    status: 201,
    headers: { ...TUS_ANSWER, Location: 'The upload: /api/v1/uploads/<uuid>', 'Upload-Offset': 'Bytes taken with the creation (creation-with-upload)', 'Upload-Expires': 'When an unfinished upload is removed' },
    requestHeaders: {
      ...TUS_RESUMABLE,
      'Upload-Length': { description: 'The whole upload, in bytes', required: true },
      'Upload-Metadata': { description: 'Comma-separated "key base64(value)" pairs: filename, filetype, sha256 (the device\'s hash, hex)' },
      'Content-Type': { description: 'application/offset+octet-stream when the first bytes come with the creation (creation-with-upload)' },
      'Upload-Checksum': { description: 'sha256 (or sha1, sha512) and the base64 digest of the bytes sent with the creation' },
    },
    problems: [400, 412, 413, 422, 429, 460],
  })
  async createUpload(@Req() req: Request, @Res() res: Response): Promise<void> {
    const unoffered = UNOFFERED.find(([header]) => req.headers[header] !== undefined);
    if (unoffered) {
      res.setHeader('Tus-Resumable', '1.0.0');
      return refuse(res, 400, unoffered[1]);
    }
    return this.serve(req, res);
  }

  @Head(':uploadId')
  @Permit('evidence.submit')
  @ApiParam({ name: 'uploadId', schema: { type: 'string', pattern: UPLOAD_ID_PATTERN } })
  @Endpoint({
    summary: "tus: how far an upload got (404 for anyone but its creator, and once it became evidence)",
    headers: { ...TUS_ANSWER, 'Upload-Offset': 'Bytes received', 'Upload-Length': 'Bytes declared at creation', 'Upload-Metadata': 'The metadata given at creation', 'Upload-Expires': 'When it is removed, while unfinished', 'Cache-Control': 'no-store' },
    requestHeaders: TUS_RESUMABLE,
    problems: [404, 410, 412],
  })
  getUploadOffset(@Param('uploadId') _id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.serve(req, res);
  }

  @Patch(':uploadId')
  @Permit('evidence.submit')
  @ApiParam({ name: 'uploadId', schema: { type: 'string', pattern: UPLOAD_ID_PATTERN } })
  @ApiConsumes('application/offset+octet-stream')
  @Endpoint({
    summary: 'tus: bytes at Upload-Offset, with Upload-Checksum: sha256 (or sha1, sha512) <base64> where the client can',
    description:
      'A wrong offset is 409; a body that does not hash to its Upload-Checksum is 460 and none of it is kept. More than CUSTODIA_UPLOAD_MAX_WRITING of one user\'s PATCH requests at once on an instance: 423 (tus clients retry it); the upload-lock pool busy for 30 s: 503.',
    status: 204,
    headers: { ...TUS_ANSWER, 'Upload-Offset': 'Bytes received now', 'Upload-Expires': 'When it is removed, while unfinished' },
    requestHeaders: {
      ...TUS_RESUMABLE,
      'Upload-Offset': { description: 'Where these bytes start: the offset HEAD gave (409 otherwise)', required: true },
      'Content-Type': { description: 'application/offset+octet-stream (415 otherwise)', required: true },
      'Upload-Checksum': { description: 'sha256 (or sha1, sha512) and the base64 digest of these bytes: 460 and nothing kept when they differ' },
    },
    bodies: { 'application/offset+octet-stream': { type: 'string', format: 'binary' } },
    problems: [400, 404, 409, 410, 412, 413, 415, 423, 460, 503],
  })
  async appendUpload(@Param('uploadId') id: string, @CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response): Promise<void> {
    res.setHeader('Tus-Resumable', '1.0.0');
    const check = chunkCheck(req.header('upload-checksum'));
    if (check === null) return refuse(res, 400, CHECKSUM_FORMAT);
    let appended: Appended;
    try {
      appended = await this.uploads.append(actor, id, req, check ?? null);
    } catch (error) {
      if (!(error instanceof TusRefusal)) throw error;
      // A body read in part is not read to its end: the connection closes after the answer.
      if (req.readableDidRead && !req.readableEnded) res.setHeader('Connection', 'close');
      if (error.status_code === 412) res.setHeader('Tus-Version', '1.0.0');
      return refuse(res, error.status_code, error.body.trim());
    }
    res.setHeader('Upload-Offset', String(appended.offset));
    if (appended.expires) res.setHeader('Upload-Expires', appended.expires.toUTCString());
    if (appended.interrupted) res.setHeader('Connection', 'close');
    res.status(204).end();
  }

  @Delete(':uploadId')
  @Permit('evidence.submit')
  @ApiParam({ name: 'uploadId', schema: { type: 'string', pattern: UPLOAD_ID_PATTERN } })
  @Endpoint({ summary: 'tus termination: drops an unfinished upload and its bytes', status: 204, headers: TUS_ANSWER, requestHeaders: TUS_RESUMABLE, problems: [404, 412] })
  terminateUpload(@Param('uploadId') _id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.serve(req, res);
  }

  private async serve(req: Request, res: Response): Promise<void> {
    const check = chunkCheck(req.header('upload-checksum'));
    if (check === null) {
      res.setHeader('Tus-Resumable', '1.0.0');
      return refuse(res, 400, CHECKSUM_FORMAT);
    }
    const response = await this.uploads.handle(new NodeRequest({ req, res }), check ?? null);
    await sendNodeResponse(res, await asAnswer(response));
  }
}
