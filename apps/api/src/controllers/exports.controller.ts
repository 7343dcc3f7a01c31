import { Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ByDownloadLink, CurrentActor, Permit, type Actor } from '#custodia/auth';
import { CreateExportBody, Export, ExportList, ExportsService, type ExportView } from '#custodia/exports';
import { z } from '#custodia/schema';
import { sendBlob } from '../http/download.js';
import { Endpoint, ValidBody } from '../http/endpoint.js';
import { uuidParam } from '../http/params.js';

@ApiTags('exports')
@Controller()
export class ExportsController {
  constructor(private readonly exports: ExportsService) {}

  @Post('cases/:caseId/exports')
  @Permit('export.create')
  @Endpoint({
    operationId: 'createExport',
    summary: 'Request a court or partner package; it is built in the background (follow GET /exports/{id})',
    description: 'One person may have three packages waiting or being built at once (429 with Retry-After beyond).',
    body: CreateExportBody,
    response: Export,
    status: 202,
    problems: [404, 422, 429],
  })
  create(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string, @ValidBody() body: z.output<typeof CreateExportBody>): Promise<ExportView> {
    return this.exports.create(actor, caseId, body);
  }

  @Get('cases/:caseId/exports')
  @Permit('export.read')
  @Endpoint({ operationId: 'listCaseExports', summary: "The case's exports, newest first", response: ExportList, problems: [404] })
  list(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string): Promise<{ items: ExportView[] }> {
    return this.exports.list(actor, caseId);
  }

  @Get('exports/:id')
  @Permit('export.read')
  @Endpoint({ operationId: 'getExport', summary: 'One export: its status, progress and, once ready, its SHA-256', response: Export, problems: [404] })
  get(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<ExportView> {
    return this.exports.get(actor, id);
  }

  /** The ZIP (a BagIt bag), streamed; Range requests work; each request is an `export.downloaded` event. */
  @Get('exports/:id/content')
  @Permit('export.download')
  @ByDownloadLink()
  @Endpoint({
    operationId: 'downloadExport',
    summary: 'The package (a BagIt bag in a ZIP), with ETag and Repr-Digest (RFC 9530); Range requests (one range; If-Range with the ETag) work; If-None-Match with the ETag answers 304, If-Match without it 412, neither recorded',
    produces: 'application/zip',
    ranged: true,
    problems: [404, 409, 412, 416],
    head: {
      operationId: 'headExportContent',
      summary: "The package's headers without its bytes: size (Content-Length), ETag, Repr-Digest, file name; a Range gets its 206 headers (records export.downloaded with method HEAD)",
    },
  })
  content(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return sendBlob(req, res, async (read) => {
      const { view, range, stream } = await this.exports.openPackage(actor, id, read);
      return { sha256: view.sha256!, sizeBytes: view.sizeBytes!, mediaType: 'application/zip', fileName: view.fileName, fallbackName: `export-${id}.zip`, range, stream };
    });
  }
}
