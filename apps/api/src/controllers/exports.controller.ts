import { Body, Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiProduces, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsOptional, IsRFC3339, IsString, IsUUID, Length } from 'class-validator';
import type { Request, Response } from 'express';
import { Allow, CurrentActor, type Actor } from '#custodia/auth';
import { ExportsService, type ExportView } from '#custodia/exports';
import { sendBlob } from '../http/download.js';
import { uuidParam } from '../http/params.js';

const PURPOSES = ['court', 'partner'] as const;
const MAX_IDS = 10_000;

class CreateExportDto {
  @ApiProperty({ enum: PURPOSES, description: 'court: originals; partner: working copies (previews without metadata, positions rounded, no names)' })
  @IsIn(PURPOSES)
  purpose!: (typeof PURPOSES)[number];

  @ApiPropertyOptional({ type: [String], format: 'uuid', maxItems: MAX_IDS, description: 'evidence items of the case' })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_IDS) @IsUUID('all', { each: true })
  evidenceIds?: string[];

  @ApiPropertyOptional({ type: [String], format: 'uuid', maxItems: MAX_IDS, description: 'incidents of the case, with their casualty and damage records and the evidence they cite' })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_IDS) @IsUUID('all', { each: true })
  incidentIds?: string[];

  @ApiPropertyOptional({ format: 'date-time', description: 'evidence captured (else received) and incidents starting at or after this instant' })
  @IsOptional() @IsRFC3339()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'and at or before this instant' })
  @IsOptional() @IsRFC3339()
  to?: string;

  @ApiPropertyOptional({ description: "victims' names in records/names.json: investigators only, court packages only" })
  @IsOptional() @IsBoolean()
  includeNames?: boolean;

  @ApiPropertyOptional({ maxLength: 2000, description: 'why, and for whom; recorded in the custody log' })
  @IsOptional() @IsString() @Length(1, 2000)
  note?: string;
}

class ExportProgressDto {
  @ApiProperty() items!: number;
  @ApiProperty() itemsDone!: number;
  @ApiProperty() bytes!: number;
  @ApiProperty() bytesDone!: number;
}

class ExportSelectionDto {
  @ApiPropertyOptional({ type: [String], format: 'uuid' }) evidenceIds?: string[];
  @ApiPropertyOptional({ type: [String], format: 'uuid' }) incidentIds?: string[];
  @ApiPropertyOptional({ format: 'date-time' }) from?: string;
  @ApiPropertyOptional({ format: 'date-time' }) to?: string;
}

class ExportDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) caseId!: string;
  @ApiProperty({ enum: PURPOSES }) purpose!: string;
  @ApiProperty() includeNames!: boolean;
  @ApiProperty({ type: ExportSelectionDto, description: 'empty: the whole case' }) @Type(() => ExportSelectionDto) selection!: ExportSelectionDto;
  @ApiProperty({ nullable: true, type: String }) note!: string | null;
  @ApiProperty({ enum: ['pending', 'running', 'ready', 'failed'] }) status!: string;
  @ApiProperty({ type: ExportProgressDto }) progress!: ExportProgressDto;
  @ApiProperty({ nullable: true, type: String, description: 'SHA-256 of the ZIP, once ready' }) sha256!: string | null;
  @ApiProperty({ nullable: true, type: Number }) sizeBytes!: number | null;
  @ApiProperty({ nullable: true, type: String, example: 'custodia-0a1b2c3d-20261201T120000Z.zip' }) fileName!: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'size of the signed tree head the proofs lead to' }) treeSize!: number | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'uuid' }) createdBy!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) startedAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) finishedAt!: string | null;
  @ApiPropertyOptional({ description: 'why a failed export failed' }) error?: string;
  @ApiProperty({ nullable: true, type: String }) contentUrl!: string | null;
}

class ExportListDto {
  @ApiProperty({ type: [ExportDto] }) items!: ExportDto[];
}

@ApiTags('exports')
@ApiBearerAuth()
@Controller()
export class ExportsController {
  constructor(private readonly exports: ExportsService) {}

  @Post('cases/:caseId/exports')
  @HttpCode(202)
  @Allow('admin', 'investigator')
  @ApiAcceptedResponse({ type: ExportDto, description: 'the package is built in the background; follow GET /exports/:id' })
  create(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string, @Body() body: CreateExportDto): Promise<ExportView> {
    return this.exports.create(actor, caseId, body);
  }

  @Get('cases/:caseId/exports')
  @Allow('admin', 'investigator', 'auditor')
  @ApiOkResponse({ type: ExportListDto })
  list(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string): Promise<{ items: ExportView[] }> {
    return this.exports.list(actor, caseId);
  }

  @Get('exports/:id')
  @Allow('admin', 'investigator', 'auditor')
  @ApiOkResponse({ type: ExportDto })
  get(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string): Promise<ExportView> {
    return this.exports.get(actor, id);
  }

  /** The ZIP (a BagIt bag), streamed; Range requests work; each request is an `export.downloaded` event. */
  @Get('exports/:id/content')
  @Allow('admin', 'investigator')
  @ApiProduces('application/zip')
  @ApiOkResponse({ description: 'the package (application/zip), with ETag and Repr-Digest (RFC 9530)' })
  content(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return sendBlob(req, res, async (pickRange) => {
      const { view, range, stream } = await this.exports.openPackage(actor, id, pickRange);
      return { sha256: view.sha256!, sizeBytes: view.sizeBytes!, mediaType: 'application/zip', fileName: view.fileName, fallbackName: `export-${id}.zip`, range, stream };
    });
  }
}
