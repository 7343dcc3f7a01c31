import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength, ValidateIf } from 'class-validator';
import { Allow, CurrentActor, type Actor } from '#custodia/auth';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { BLOB_STORE, EVIDENCE_FLAGS, EVIDENCE_STATUSES, EvidenceService, EvidenceTagsService, LOCATION_SOURCES, type EvidenceStatus } from '#custodia/evidence';
import type { BlobStore } from '#custodia/storage';
import { readEvidenceUpload } from '../http/multipart.js';
import { uuidParam } from '../http/params.js';
import { sendBlob } from '../http/download.js';

class PatchEvidenceDto {
  @ApiPropertyOptional({ nullable: true, type: String }) @IsOptional() @ValidateIf((_, v) => v !== null) @IsString() @MaxLength(500) title?: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) @IsOptional() @ValidateIf((_, v) => v !== null) @IsString() @MaxLength(20_000) description?: string | null;
  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) @Length(1, 100, { each: true }) tags?: string[];
  @ApiPropertyOptional({ nullable: true, type: String, format: 'uuid' }) @IsOptional() @ValidateIf((_, v) => v !== null) @IsUUID('all') incidentId?: string | null;
  @ApiPropertyOptional({ enum: EVIDENCE_STATUSES }) @IsOptional() @IsIn(EVIDENCE_STATUSES) status?: EvidenceStatus;
  @ApiPropertyOptional({ description: 'why; required when the status changes' }) @IsOptional() @IsString() @Length(1, 2000) reason?: string;
}

@ApiTags('evidence')
@ApiBearerAuth()
@Controller()
export class EvidenceController {
  constructor(
    private readonly evidence: EvidenceService,
    private readonly tags: EvidenceTagsService,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  @Post('cases/:caseId/evidence')
  @Allow('admin', 'investigator', 'documenter')
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: {
        metadata: {
          type: 'string',
          description: 'JSON: sha256, clientSubmissionId, capturedAt (RFC 3339 with Z or ±hh:mm; the offset is kept as declared.capturedAtOffset), location, ...',
        },
        file: {
          type: 'string',
          format: 'binary',
          description: 'the original, at least 1 byte (an empty file is refused, 422); its Content-Type is kept as declaredMediaType and flagged type_mismatch when the bytes contradict it',
        },
      },
    },
  })
  async submit(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<unknown> {
    try {
      await this.evidence.assertMaySubmit(actor, caseId);
      const upload = await readEvidenceUpload(req, this.config.maxUploadBytes, (file, signal) =>
        this.store.ingest(file, { maxBytes: this.config.maxUploadBytes, signal }),
      );
      const { created, evidence } = await this.evidence.submit(actor, caseId, upload.metadataRaw, upload);
      res.status(created ? 201 : 200);
      return evidence;
    } catch (error) {
      // Whatever of the body is still unread is not read: the connection closes after the answer.
      if (!req.complete) res.setHeader('Connection', 'close');
      throw error;
    }
  }

  @Get('cases/:caseId/evidence')
  @Allow()
  @ApiQuery({ name: 'near', required: false, description: 'lat,lon: items within radiusM of it' })
  @ApiQuery({ name: 'radiusM', required: false, type: Number, description: 'metres (default 1000); needs near' })
  @ApiQuery({ name: 'bbox', required: false, description: 'minLon,minLat,maxLon,maxLat (minLon > maxLon crosses the antimeridian)' })
  @ApiQuery({
    name: 'locationSource',
    required: false,
    enum: LOCATION_SOURCES,
    description: 'the position near/bbox look at: declared, embedded, or any (default: either matches); needs near or bbox',
  })
  @ApiQuery({
    name: 'from',
    required: false,
    description:
      'RFC 3339. An item matches from/to when its capture time overlaps [from, to]: the file\'s instant; a camera time with no zone is a 26-hour window (UTC+14 to UTC-12), matched by overlap and marked timeApproximate: true; else the declared instant; else the receipt time',
  })
  @ApiQuery({ name: 'to', required: false, description: 'RFC 3339; see from' })
  @ApiQuery({ name: 'flag', required: false, enum: EVIDENCE_FLAGS })
  @ApiQuery({ name: 'mediaType', required: false, description: 'type/subtype or type/* (sniffed type)' })
  @ApiQuery({ name: 'q', required: false, description: 'words of titles, descriptions, tags and file names' })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1..200, default 50' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiOkResponse({ description: '{ items: [evidence resource + timeApproximate], nextCursor }, newest received first' })
  list(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string, @Query() query: Record<string, unknown>) {
    return this.evidence.list(actor, caseId, query);
  }

  @Get('evidence/:id')
  @Allow()
  get(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string) {
    return this.evidence.get(actor, id);
  }

  @Patch('evidence/:id')
  @Allow('admin', 'investigator')
  patch(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Body() body: PatchEvidenceDto) {
    return this.evidence.patch(actor, id, body);
  }

  /** Every tag the original carries, grouped as ExifTool groups them (an `evidence.viewed` event). */
  @Get('evidence/:id/metadata')
  @Allow('admin', 'investigator')
  @ApiOkResponse({ description: '{ evidenceId, sha256, reader: "ExifTool <version>", groups: { "<group>": { "<tag>": value } } }' })
  metadata(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string) {
    return this.tags.read(actor, id);
  }

  @Get('evidence/:id/custody')
  @Allow()
  async custody(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string) {
    const { events, treeHead, proofs } = await this.evidence.custodyOf(actor, id);
    return { events: events.map((e) => ({ event: e.event, leafIndex: e.leafIndex, leafHash: e.leafHash })), treeHead, proofs };
  }

  @Post('evidence/:id/verify')
  @HttpCode(200)
  @Allow()
  @ApiOkResponse({ description: '{ intact, storedSha256, computedSha256, checkedAt, custody: { events, allIncluded, treeSize } }' })
  verify(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string) {
    return this.evidence.verify(actor, id);
  }

  /** The original bytes, unchanged, always as an attachment; Range requests work. */
  @Get('evidence/:id/content')
  @Allow()
  content(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return sendBlob(req, res, async (pickRange) => {
      const { row, range, stream } = await this.evidence.openOriginal(actor, id, pickRange);
      return {
        sha256: row.sha256,
        sizeBytes: Number(row.size_bytes),
        mediaType: row.media_type,
        fileName: row.original_file_name,
        fallbackName: `evidence-${id}`,
        range,
        stream,
      };
    });
  }

  @Get('evidence/:id/thumbnail')
  @Allow()
  thumbnail(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Res() res: Response): Promise<void> {
    return this.derivative(actor, id, 'thumbnail', res);
  }

  @Get('evidence/:id/preview')
  @Allow()
  preview(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Res() res: Response): Promise<void> {
    return this.derivative(actor, id, 'preview', res);
  }

  private async derivative(actor: Actor, id: string, kind: 'thumbnail' | 'preview', res: Response): Promise<void> {
    const { sha256, stream } = await this.evidence.openDerivative(actor, id, kind);
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('ETag', `"sha256-${sha256}"`);
    res.setHeader('Cache-Control', 'private, max-age=86400, immutable');
    await pipeline(stream, res).catch(() => res.destroy());
  }
}
