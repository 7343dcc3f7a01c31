import { Controller, Get, Inject, Param, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { ByDownloadLink, CurrentActor, Permit, type Actor } from '#custodia/auth';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { tooManyRequests } from '#custodia/errors';
import {
  BLOB_STORE,
  Evidence,
  EvidenceCustody,
  EvidenceCustodyQuery,
  EvidenceListQuery,
  EvidencePage,
  EvidencePatchBody,
  EvidenceService,
  EvidenceTags,
  EvidenceTagsService,
  EvidenceWithReceipt,
  Receipt,
  SubmissionMetadata,
  UploadSubmission,
  VerificationResult,
  type EvidenceListFilters,
  type EvidencePatch,
} from '#custodia/evidence';
import { MAX_MESSAGE_FILES } from '#custodia/media';
import { parseWith, z } from '#custodia/schema';
import type { BlobStore } from '#custodia/storage';
import { sendBlob } from '../http/download.js';
import { entityTag } from '../http/range.js';
import { Endpoint, openApiSchema, ValidBody, ValidQuery } from '../http/endpoint.js';
import { readEvidenceUpload } from '../http/multipart.js';
import { indexParam, uuidParam } from '../http/params.js';

/**
 * The multipart body of a submission, for the OpenAPI document (busboy reads it, the service
 * checks `metadata` with SubmissionMetadata). An object-valued part of multipart/form-data is
 * JSON by OpenAPI's default encoding, which is what `metadata` is.
 */
const SUBMISSION_BODY = {
  type: 'object',
  required: ['file'],
  properties: {
    metadata: {
      allOf: [(openApiSchema(z.strictObject({ metadata: SubmissionMetadata }), 'input') as { properties: { metadata: object } }).properties.metadata],
      description:
        'JSON (every field optional). Strict as JSON bodies are: unknown fields, __proto__/constructor keys, NUL and control characters, nesting deeper than 32 are refused (400)',
    },
    file: {
      type: 'string',
      format: 'binary',
      description:
        'the original, at least 1 byte (an empty file is refused, 422); its Content-Type is kept as declaredMediaType and flagged type_mismatch when the bytes contradict it',
    },
  },
};

/** `GET /evidence/:id/receipt` while the event waits for the sequencer. */
const ReceiptPending = z.strictObject({ status: z.literal('pending') }).meta({ id: 'ReceiptPending' });

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
  @Permit('evidence.submit')
  @Endpoint({
    summary: 'Submit an item: the original and what the submitter declares; answers with its receipt',
    description:
      'multipart/form-data with a part `metadata` (JSON, see SubmissionMetadata) and a part `file` (streamed; at most CUSTODIA_MAX_UPLOAD_BYTES); or application/json `{ uploadId, ...metadata }` (UploadSubmission) for an upload finished through /uploads (tus): 409 while unfinished or once it already became evidence (the same finish sent again with its clientSubmissionId is a repeat: 200, the first item), 422 when its bytes differ from the sha256 given at its creation or in the body. 201 for a new item; 200 when the same clientSubmissionId with the same bytes was already received (the first submission). One user streams at most 16 multipart submissions at once into an instance (429 with Retry-After beyond).',
    response: EvidenceWithReceipt,
    status: 201,
    problems: [400, 404, 409, 413, 415, 422, 429],
    bodies: { 'multipart/form-data': SUBMISSION_BODY, 'application/json': openApiSchema(UploadSubmission, 'input') },
  })
  @ApiResponse({ status: 200, description: 'A repeat: this clientSubmissionId with these bytes was received before', schema: openApiSchema(EvidenceWithReceipt, 'output') as never })
  async submitEvidence(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EvidenceWithReceipt> {
    if (req.is('application/json')) {
      // A finished resumable upload: the JSON body was read (strictly) before this route.
      const { uploadId, ...metadata } = parseWith(UploadSubmission, req.body ?? {}, 'The body');
      const { created, evidence } = await this.evidence.submitUpload(actor, caseId, uploadId, metadata);
      res.status(created ? 201 : 200);
      return evidence;
    }
    let release: (() => void) | undefined;
    try {
      // Each fills temporary disk for as long as it runs.
      release = this.evidence.submitting.take(actor.id, () =>
        tooManyRequests(`You are sending ${this.evidence.submitting.max} files at once, the most one account may send here at a time: send this one when one of them ends`, 5),
      );
      await this.evidence.assertMaySubmit(actor, caseId);
      const upload = await readEvidenceUpload(req, this.config.maxUploadBytes, (file, signal) =>
        this.store.ingest(file, { maxBytes: this.config.maxUploadBytes, signal }),
      );
      const { created, evidence } = await this.evidence.submit(actor, caseId, upload.metadata, upload);
      res.status(created ? 201 : 200);
      return evidence;
    } catch (error) {
      // Whatever of the body is still unread is not read: the connection closes after the answer.
      if (!req.complete) res.setHeader('Connection', 'close');
      throw error;
    } finally {
      release?.();
    }
  }

  @Post('evidence/:id/attachments/:attachment')
  @Permit('evidence.submit')
  @Endpoint({
    operationId: 'submitEvidenceAttachment',
    summary: "Submit a file an e-mail, Outlook message or ZIP archive item carries (or a mailbox's message) as an item of its own, in the same case; answers with its receipt",
    description:
      "attachment: its place (from 0) in the item's extracted.document.attachments. The file is taken out of the stored message (or unpacked from the stored archive, its name the last part of its path; or a mailbox's message, as an .eml) and found by the SHA-256 it was listed with, so the new item holds exactly the bytes read when the message arrived; a file larger than a submission may be is 413. Then the same intake as any submission (metadata read, flags, derivatives, receipt). The body (optional) is what the submitter declares, as a submission's metadata; sourceType defaults to the message's. The new item's evidence.submitted names the message in details.extractedFrom { evidenceId, sha256, attachment }, and the message gets evidence.viewed with part \"attachment\". The caller must be able to read the message's bytes and submit to its case. 404 for a place the list does not have (or an item the caller may not read); the same file submitted again is a new item flagged exact_duplicate, as any repeated bytes are; a repeated clientSubmissionId answers 200 with the first.",
    body: SubmissionMetadata,
    response: EvidenceWithReceipt,
    status: 201,
    problems: [400, 403, 404, 409, 413, 422, 429],
  })
  @ApiResponse({ status: 200, description: 'A repeat: this clientSubmissionId with these bytes was received before', schema: openApiSchema(EvidenceWithReceipt, 'output') as never })
  @ApiParam({ name: 'attachment', description: "The file's place (from 0) in the item's extracted.document.attachments", schema: { type: 'integer', minimum: 0, maximum: MAX_MESSAGE_FILES - 1 } })
  async submitEvidenceAttachment(
    @CurrentActor() actor: Actor,
    @Param('id', uuidParam('id')) id: string,
    @Param('attachment', indexParam('attachment', MAX_MESSAGE_FILES - 1)) attachment: number,
    @ValidBody() metadata: SubmissionMetadata,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EvidenceWithReceipt> {
    // The file is held in memory (up to 64 MiB) and in temporary storage while it is taken in.
    const release = this.evidence.submitting.take(actor.id, () =>
      tooManyRequests(`You are sending ${this.evidence.submitting.max} files at once, the most one account may send here at a time: send this one when one of them ends`, 5),
    );
    try {
      const { created, evidence } = await this.evidence.submitAttachment(actor, id, attachment, metadata);
      res.status(created ? 201 : 200);
      return evidence;
    } finally {
      release();
    }
  }

  @Get('cases/:caseId/evidence')
  @Permit('evidence.read')
  @Endpoint({
    summary: "A case's evidence, newest received first (a documenter's own items only; records evidence.viewed, part \"listing\", for each item listed)",
    description:
      "An item matches from/to when its capture time overlaps [from, to]: the file's instant; a camera time with no zone is a 26-hour window (UTC+14 to UTC-12), matched by overlap and marked timeApproximate: true; else the declared instant; else the receipt time. An item whose declared capture time lies in [from, to] matches too, whatever its file says (a camera clock may be wrong).",
    query: EvidenceListQuery,
    response: EvidencePage,
    // 422: a well-formed but wrong near, bbox or from/to.
    problems: [404, 422],
  })
  listCaseEvidence(@CurrentActor() actor: Actor, @Param('caseId', uuidParam('caseId')) caseId: string, @ValidQuery() query: EvidenceListFilters, @Req() req: Request) {
    return this.evidence.list(actor, caseId, query, req.method === 'HEAD');
  }

  @Get('evidence/:id')
  @Permit('evidence.read')
  @Endpoint({ summary: 'One item (records evidence.viewed, part "record")', response: Evidence, problems: [404] })
  getEvidence(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Req() req: Request) {
    return this.evidence.get(actor, id, req.method === 'HEAD');
  }

  @Patch('evidence/:id')
  @Permit('evidence.annotate')
  @Endpoint({
    summary: 'Annotate an item, change its status (with a reason) or its link to an incident',
    description:
      'What was received never changes. incidentId must name an incident of the same case (422); null unlinks. Links record evidence.linked / evidence.unlinked.',
    body: EvidencePatchBody,
    response: Evidence,
    problems: [404, 422],
  })
  annotateEvidence(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidBody() body: EvidencePatch) {
    return this.evidence.patch(actor, id, body);
  }

  @Get('evidence/:id/metadata')
  @Permit('evidence.metadata')
  @Endpoint({
    summary: 'Every tag the original carries, grouped as ExifTool groups them (records evidence.viewed, part "metadata")',
    description: "422: ExifTool's reading of this file passes the archive's bounds (its time, or 16 MiB of tags: a decompression bomb); the item itself is unaffected.",
    response: EvidenceTags,
    problems: [404, 422, 503],
  })
  getEvidenceMetadata(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Req() req: Request) {
    return this.tags.read(actor, id, req.method === 'HEAD');
  }

  @Get('evidence/:id/custody')
  @Permit('evidence.custody')
  @Endpoint({
    summary: "The item's custody events, a signed head covering them, and each inclusion proof",
    description:
      'Pages of at most 1000 events in log order (every read of an item is one): follow nextCursor until it is null. A documenter (who reads only their own items) gets their own actions and the archive\'s (system) events about the item, as GET /log/entries shows them their own actions.',
    query: EvidenceCustodyQuery,
    response: EvidenceCustody,
    problems: [404],
  })
  getEvidenceCustody(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @ValidQuery() query: EvidenceCustodyQuery) {
    return this.evidence.custodyOf(actor, id, query);
  }

  @Get('evidence/:id/receipt')
  @Permit('evidence.read')
  @Endpoint({
    summary: "The submission's receipt (custody.md): what a submission answered with, or would have once its event is integrated",
    description:
      '200 with the receipt once the evidence.submitted event is integrated into the log; 202 with `{ status: "pending" }` and Retry-After while it still waits for the sequencer (a submission answers receipt: null past CUSTODIA_RECEIPT_WAIT_MS).',
    // One schema for both answers, so the answer check knows the 202's too.
    response: z.union([Receipt, ReceiptPending]),
    status: 200,
    problems: [404],
  })
  @ApiResponse({ status: 202, description: 'Not integrated yet: ask again after Retry-After seconds', schema: openApiSchema(ReceiptPending, 'output') as never })
  async getEvidenceReceipt(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Res({ passthrough: true }) res: Response) {
    const receipt = await this.evidence.receiptOf(actor, id);
    if (receipt) return receipt;
    res.status(202).setHeader('Retry-After', '1');
    return { status: 'pending' as const };
  }

  @Post('evidence/:id/verify')
  @Permit('evidence.verify')
  @Endpoint({
    summary: 'Re-hash the stored bytes and check every custody event (records evidence.verified)',
    description: 'Checks of the same bytes running at once share one reading; one user runs at most 2 at a time (429 with Retry-After beyond).',
    response: VerificationResult,
    status: 200,
    problems: [404, 429],
  })
  verifyEvidence(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string) {
    return this.evidence.verify(actor, id);
  }

  @Get('evidence/:id/content')
  @Permit('evidence.content')
  @ByDownloadLink()
  @Endpoint({
    summary: 'The original bytes, unchanged, as an attachment; Range requests (one range; If-Range with the ETag) work; If-None-Match with the ETag answers 304, If-Match without it 412, neither recorded (records evidence.downloaded)',
    description: "Served as the item's mediaType (sniffed from its bytes), with Repr-Digest (RFC 9530), ETag and Content-Disposition.",
    produces: '*/*',
    ranged: true,
    problems: [404, 412, 416],
    head: {
      operationId: 'headEvidenceContent',
      summary: "The original's headers without its bytes: size (Content-Length), ETag, Repr-Digest, file name; a Range gets its 206 headers (records evidence.downloaded with method HEAD)",
    },
  })
  downloadEvidence(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return sendBlob(req, res, async (read) => {
      const { row, range, stream } = await this.evidence.openOriginal(actor, id, read);
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
  @Permit('evidence.content')
  @Endpoint({
    summary: 'The thumbnail: no embedded metadata, upright (records evidence.viewed, part "thumbnail")',
    produces: 'image/jpeg',
    problems: [404],
    head: { operationId: 'headEvidenceThumbnail', summary: 'Whether the thumbnail is made, and its size and ETag, without its bytes (records evidence.viewed, part "thumbnail", method HEAD)' },
  })
  getEvidenceThumbnail(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.derivative(actor, id, 'thumbnail', req, res);
  }

  @Get('evidence/:id/preview')
  @Permit('evidence.content')
  @Endpoint({
    summary: 'The preview: no embedded metadata, upright (records evidence.viewed, part "preview")',
    produces: 'image/jpeg',
    problems: [404],
    head: { operationId: 'headEvidencePreview', summary: 'Whether the preview is made, and its size and ETag, without its bytes (records evidence.viewed, part "preview", method HEAD)' },
  })
  getEvidencePreview(@CurrentActor() actor: Actor, @Param('id', uuidParam('id')) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.derivative(actor, id, 'preview', req, res);
  }

  /** A derivative, or for a HEAD its headers alone (no byte read, the event says method HEAD). */
  private async derivative(actor: Actor, id: string, kind: 'thumbnail' | 'preview', req: Request, res: Response): Promise<void> {
    const { sha256, sizeBytes, stream } = await this.evidence.openDerivative(actor, id, kind, req.method === 'HEAD');
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('ETag', entityTag(sha256));
    // Like the original: a view a browser served from its cache would not be recorded, and a
    // thumbnail of the wounded would outlive the session on a shared computer.
    res.setHeader('Cache-Control', 'private, no-store');
    if (!stream) {
      if (sizeBytes !== null) res.setHeader('Content-Length', String(sizeBytes));
      res.end();
      return;
    }
    await pipeline(stream, res).catch(() => res.destroy());
  }
}
