import { Controller, Delete, Head, Options, Param, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import { Permit } from '#custodia/auth';
import { UploadsService, type ChunkCheck } from '#custodia/uploads';
import { problem } from '../http/problem.filter.js';

/** `Upload-Checksum: sha256 <base64>` (tus checksum extension); undefined when absent, null when malformed. */
function chunkCheck(header: string | undefined): ChunkCheck | undefined | null {
  if (header === undefined) return undefined;
  const match = /^(\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  if (!match || match[1] !== 'sha256') return null;
  const digest = Buffer.from(match[2]!, 'base64');
  return digest.length === 32 ? { algorithm: 'sha256', digest } : null;
}

/** A tus answer as sent, except that a refusal's text becomes this API's problem+json. */
async function asProblem(response: Response | globalThis.Response): Promise<globalThis.Response> {
  const answer = response as globalThis.Response;
  if (answer.status < 400) return answer;
  const detail = (await answer.text()).trim() || 'The upload request was refused';
  const headers = new Headers(answer.headers);
  headers.delete('Content-Length');
  headers.set('Content-Type', 'application/problem+json');
  return new globalThis.Response(JSON.stringify(problem(answer.status, detail)), { status: answer.status, headers });
}

/**
 * tus 1.0.0 at /api/v1/uploads (api.md, "Resumable uploads"): the tus server answers; this
 * shell lets in signed-in callers who may submit evidence (the access guard ran), passes the
 * chunk's checksum to the store, and writes refusals as problem+json, as every error here is.
 */
@ApiTags('uploads')
@ApiBearerAuth()
@Controller('uploads')
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  @Options()
  @Permit('evidence.submit')
  @ApiOperation({ summary: "tus: the server's version, extensions, Tus-Max-Size and Tus-Checksum-Algorithm" })
  options(@Req() req: Request, @Res() res: Response): Promise<void> {
    res.setHeader('Tus-Checksum-Algorithm', 'sha256');
    return this.serve(req, res);
  }

  @Post()
  @Permit('evidence.submit')
  @ApiOperation({ summary: 'tus creation: Upload-Length and Upload-Metadata (filename, filetype, sha256), optionally with the first bytes; 201 with Location' })
  create(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.serve(req, res);
  }

  @Head(':uploadId')
  @Permit('evidence.submit')
  @ApiOperation({ summary: "tus: the upload's Upload-Offset and Upload-Length (404 for anyone but its creator)" })
  offset(@Param('uploadId') _id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.serve(req, res);
  }

  @Patch(':uploadId')
  @Permit('evidence.submit')
  @ApiOperation({ summary: 'tus: bytes at Upload-Offset (application/offset+octet-stream), with Upload-Checksum: sha256 <base64> where the client can' })
  append(@Param('uploadId') _id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.serve(req, res);
  }

  @Delete(':uploadId')
  @Permit('evidence.submit')
  @ApiOperation({ summary: 'tus termination: drops an unfinished upload and its bytes' })
  terminate(@Param('uploadId') _id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.serve(req, res);
  }

  private async serve(req: Request, res: Response): Promise<void> {
    const check = chunkCheck(req.header('upload-checksum'));
    if (check === null) {
      res.setHeader('Tus-Resumable', '1.0.0');
      res.status(400).type('application/problem+json');
      res.send(JSON.stringify(problem(400, 'Upload-Checksum must be "sha256 <base64 of 32 bytes>": sha256 is the only algorithm this server checks')));
      return;
    }
    const response = await this.uploads.handle(new NodeRequest({ req, res }), check ?? null);
    await sendNodeResponse(res, await asProblem(response));
  }
}
