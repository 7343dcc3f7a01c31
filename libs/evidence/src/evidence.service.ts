import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { DataSource, type EntityManager } from 'typeorm';
import type { Actor } from '#custodia/auth';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyLog, SigningKeys, TreeHeads, type RecordedEvent } from '#custodia/custody';
import { verifyEventsAgainstHead, type CustodyEvent, type Receipt, type SignedTreeHead } from '#custodia/custody-core';
import { isUniqueViolation } from '#custodia/db';
import { encodeCursor, searchText } from '#custodia/search';
import { badRequest, conflict, forbidden, notFound, unprocessable } from '#custodia/errors';
import { JobQueue } from '#custodia/jobs';
import { extractEmbeddedMetadata, hasNoEmbeddedMetadata, sniffMediaType, type ExtractedMetadata } from '#custodia/media';
import { BlobNotFoundError, type BlobStore, type ByteRange, type IngestResult } from '#custodia/storage';
import { CasesService } from '#custodia/cases';
import { assertEvidencePurpose, type EvidencePurpose } from './access.js';
import { captureInterval, contradictionFlags, declaredOffset, extractedInstant, typeMismatch, type EvidenceFlag } from './flags.js';
import { listQuerySql, parseListQuery } from './list-query.js';
import { parseSubmissionMetadata } from './submission.js';
import {
  EVIDENCE_SELECT,
  EVIDENCE_STATUSES,
  isTimeApproximate,
  toEvidenceView,
  type EvidenceListItem,
  type EvidenceRow,
  type EvidenceStatus,
  type EvidenceView,
} from './views.js';

export const BLOB_STORE = Symbol('BLOB_STORE');
const API_BASE = '/api/v1';

/** The file part of a submission, already streamed into durable temporary storage. */
export interface UploadedFile {
  result: IngestResult;
  fileName: string | null;
  declaredMediaType: string | null;
}

export type EvidenceWithReceipt = EvidenceView & { receipt: Receipt };

export interface CustodyOfItem {
  events: RecordedEvent[];
  treeHead: SignedTreeHead;
  proofs: Record<string, string[]>;
}

export interface EvidencePatch {
  title?: string | null;
  description?: string | null;
  tags?: string[];
  incidentId?: string | null;
  status?: EvidenceStatus;
  reason?: string;
}

export interface VerificationResult {
  intact: boolean;
  storedSha256: string;
  computedSha256: string | null;
  checkedAt: string;
  custody: { events: number; allIncluded: boolean; treeSize: number };
}

/** Media that get a thumbnail, preview and perceptual hash (videos from their poster frame); other files are stored opaque. */
const DERIVABLE = /^(image\/(jpeg|png|webp|tiff|gif|heic|heif|avif|jp2|jxl)|video\/(mp4|quicktime|3gpp|3gpp2|x-m4v|matroska|webm))$/;

/** Control characters out, length bounded: the name is a label, never a path. */
export function cleanFileName(name: string | null | undefined): string | null {
   
  const cleaned = (name ?? '').normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().slice(0, 255);
  return cleaned === '' ? null : cleaned;
}

@Injectable()
export class EvidenceService {
  constructor(
    private readonly db: DataSource,
    private readonly custody: CustodyLog,
    private readonly heads: TreeHeads,
    private readonly keys: SigningKeys,
    private readonly queue: JobQueue,
    private readonly cases: CasesService,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  /** Refuses before a byte is read: the case must be the caller's, and the role one that submits. */
  async assertMaySubmit(actor: Actor, caseId: string): Promise<void> {
    await this.cases.assertVisible(actor, caseId);
    if (actor.role === 'auditor') throw forbidden('Auditors do not submit evidence');
  }

  /**
   * Records a submission whose bytes are already durable in temporary storage: checks the
   * device's hash and the idempotency key (an empty file is refused first: 0 bytes are no
   * evidence), reads the file's own metadata, then writes the item,
   * its custody events and its derivative job in one transaction, linking the bytes into the
   * store once the row is accepted and before the custody events and the commit. Nothing is kept
   * on any failure before the link; only a failure or a crash between the link and the commit
   * can leave a blob that no item names.
   */
  async submit(actor: Actor, caseId: string, metadataRaw: string | null, upload: UploadedFile): Promise<{ created: boolean; evidence: EvidenceWithReceipt }> {
    try {
      const metadata = await parseSubmissionMetadata(metadataRaw);
      const { sha256, sizeBytes } = upload.result;
      if (sizeBytes === 0) {
        throw unprocessable('The file is empty (0 bytes): there is nothing to keep; nothing was stored', [
          { field: 'file', message: 'must not be empty' },
        ]);
      }
      if (metadata.sha256 !== undefined && metadata.sha256 !== sha256) {
        throw unprocessable('The bytes received differ from what the device hashed; nothing was stored', [
          { field: 'metadata.sha256', message: `the received bytes hash to ${sha256}` },
        ]);
      }
      if (metadata.clientSubmissionId) {
        const repeat = await this.repeatedSubmission(actor, metadata.clientSubmissionId, sha256);
        if (repeat) return { created: false, evidence: repeat };
      }
      const [mediaType, extracted] = await upload.result.withLocalFile(
        async (file) => [await sniffMediaType(file), await extractEmbeddedMetadata(file)] as const,
      );

      const declared = { capturedAt: metadata.capturedAt, location: metadata.location };
      const flags: EvidenceFlag[] = contradictionFlags(declared, extracted, {
        locationM: this.config.locationToleranceM,
        timeS: this.config.timeToleranceS,
      });
      if (hasNoEmbeddedMetadata(extracted)) flags.push('no_embedded_metadata');
      if (typeMismatch(upload.declaredMediaType, mediaType)) flags.push('type_mismatch');
      const derivable = DERIVABLE.test(mediaType);
      // The device's hash, when given, has been checked equal above.
      const clientSha256Matched = metadata.sha256 === undefined ? null : true;
      const instant = extractedInstant(extracted);
      const capturedAt = instant ?? (metadata.capturedAt ? new Date(metadata.capturedAt) : null);
      // What a time search matches (see captureInterval); without it, the receipt time.
      const captured = captureInterval(metadata.capturedAt, extracted);

      let id: string;
      let submitted: RecordedEvent;
      try {
        ({ id, submitted } = await this.db.transaction(async (tx) => {
          const [original] = await tx.query(
            `SELECT id FROM evidence_items WHERE case_id = $1 AND sha256 = $2 ORDER BY received_at, id LIMIT 1`,
            [caseId, sha256],
          );
          const itemFlags = original ? ['exact_duplicate' as const, ...flags] : flags;
          const [row] = await tx.query(
            `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, declared_media_type, original_file_name,
               submitted_by, client_submission_id, client_sha256_matched, source_type, source_url, language, title, description,
               tags, incident_id, declared_captured_at, declared_lat, declared_lon, declared_accuracy_m, extracted,
               extracted_lat, extracted_lon, captured_at, flags, duplicate_of, processing, search_text,
               declared_captured_offset, captured_from, captured_to)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28,
                     $29, $30, $31)
             RETURNING id`,
            [
              caseId, sha256, sizeBytes, mediaType, upload.declaredMediaType, cleanFileName(upload.fileName),
              actor.id, metadata.clientSubmissionId ?? null, clientSha256Matched,
              metadata.sourceType ?? 'other', metadata.sourceUrl ?? null, metadata.language ?? null,
              metadata.title ?? null, metadata.description ?? null, metadata.tags ?? [], metadata.incidentId ?? null,
              metadata.capturedAt ?? null, metadata.location?.lat ?? null, metadata.location?.lon ?? null,
              metadata.location?.accuracyM ?? null, extracted === null ? null : JSON.stringify(extracted),
              extracted?.location?.lat ?? null, extracted?.location?.lon ?? null, capturedAt,
              itemFlags, original?.id ?? null, derivable ? 'pending' : 'done',
              evidenceSearchText(metadata.title, metadata.description, metadata.tags, cleanFileName(upload.fileName)),
              declaredOffset(metadata.capturedAt), captured?.from ?? null, captured?.to ?? null,
            ],
          );
          const subject = { type: 'evidence', id: row.id as string, sha256 };
          // Once the row is accepted (an idempotency conflict is refused by the INSERT, before a
          // blob exists), the bytes are linked into the store, durably, before the custody lock is
          // taken and before COMMIT: the row never names bytes that are not there. A failure of
          // the appends or of COMMIT leaves a blob no item names, as a crash there would.
          await Promise.all([
            upload.result.commit(),
            derivable ? this.queue.enqueue(tx, 'evidence.derivatives', { evidenceId: row.id }, row.id) : undefined,
          ]);
          // Last before COMMIT, both events under one take of the log's lock, which COMMIT frees.
          const [submittedEvent] = await this.custody.appendAll(tx, [
            {
              action: 'evidence.submitted',
              actor,
              caseId,
              subject,
              details: {
                sizeBytes,
                mediaType,
                declaredMediaType: upload.declaredMediaType,
                clientSha256Matched,
                ...(original ? { duplicateOf: original.id } : {}),
              },
            },
            {
              action: 'evidence.metadata_extracted',
              actor,
              caseId,
              subject,
              // The embedded position stays behind access control, out of the log.
              details: metadataSummary(extracted, itemFlags),
            },
          ]);
          return { id: row.id as string, submitted: submittedEvent! };
        }));
      } catch (error) {
        if (metadata.clientSubmissionId && isUniqueViolation(error, 'evidence_items_client_submission_key')) {
          // The same key arrived twice at once: the other request won; answer as a repeat.
          const repeat = await this.repeatedSubmission(actor, metadata.clientSubmissionId, sha256);
          if (repeat) return { created: false, evidence: repeat };
        }
        throw error;
      }
      if (derivable) this.queue.wake('evidence.derivatives');
      return { created: true, evidence: await this.withReceipt(await this.viewOf(actor, id), submitted) };
    } finally {
      await upload.result.discard();
    }
  }

  private async repeatedSubmission(actor: Actor, clientSubmissionId: string, sha256: string): Promise<EvidenceWithReceipt | null> {
    const [first] = await this.db.query(
      `SELECT id, sha256 FROM evidence_items WHERE submitted_by = $1 AND client_submission_id = $2`,
      [actor.id, clientSubmissionId],
    );
    if (!first) return null;
    if (first.sha256 !== sha256) {
      throw conflict('This clientSubmissionId was already used for other bytes; nothing was stored');
    }
    const submitted = (await this.custody.eventsAbout('evidence', first.id)).find((e) => e.event.action === 'evidence.submitted')!;
    return this.withReceipt(await this.viewOf(actor, first.id), submitted);
  }

  /** The receipt of api.md: the event, its leaf, a signed head that includes it, the proof. */
  private async withReceipt(view: EvidenceView, recorded: RecordedEvent): Promise<EvidenceWithReceipt> {
    const head = await this.heads.covering(recorded.leafIndex);
    const inclusionProof = await this.custody.inclusionProof(recorded.leafIndex, head.treeSize);
    return { ...view, receipt: { event: recorded.event, leafHash: recorded.leafHash, leafIndex: recorded.leafIndex, treeHead: head, inclusionProof } };
  }

  private async row(tx: EntityManager, id: string, lock = false): Promise<EvidenceRow> {
    const [row] = await tx.query(`${EVIDENCE_SELECT} WHERE e.id = $1 ${lock ? 'FOR UPDATE OF e' : ''}`, [id]);
    if (!row) throw notFound('The evidence item');
    return row;
  }

  private async accessibleRow(tx: EntityManager, actor: Actor, id: string, purpose: EvidencePurpose, lock = false): Promise<EvidenceRow> {
    const row = await this.row(tx, id, lock);
    // A non-member learns nothing of the item, not even that its case exists.
    await this.cases.assertVisible(actor, row.case_id, tx).catch(() => {
      throw notFound('The evidence item');
    });
    assertEvidencePurpose(actor, { submittedBy: row.submitted_by }, purpose);
    return row;
  }

  private async view(actor: Actor, row: EvidenceRow): Promise<EvidenceView> {
    return toEvidenceView(row, await this.nearDuplicates(this.db.manager, actor, row), API_BASE, actor);
  }

  /** The resource as it is now, for an item the caller has just written. */
  private async viewOf(actor: Actor, id: string): Promise<EvidenceView> {
    return this.view(actor, await this.row(this.db.manager, id));
  }

  /** Items of the same case within the Hamming distance, among those the caller may see. */
  private async nearDuplicates(tx: EntityManager, actor: Actor, row: EvidenceRow): Promise<{ id: string; distance: number }[]> {
    if (row.perceptual_hash === null) return [];
    const rows = await tx.query(
      `SELECT id, bit_count((perceptual_hash # $1::bigint)::bit(64))::int AS distance
         FROM evidence_items
        WHERE case_id = $2 AND id <> $3 AND perceptual_hash IS NOT NULL
          AND bit_count((perceptual_hash # $1::bigint)::bit(64)) <= $4
          AND ($5::uuid IS NULL OR submitted_by = $5)
        ORDER BY distance, received_at`,
      [row.perceptual_hash, row.case_id, row.id, this.config.nearDuplicateDistance, actor.role === 'documenter' ? actor.id : null],
    );
    return rows.map((r: { id: string; distance: number }) => ({ id: r.id, distance: r.distance }));
  }

  /**
   * Items of one case with their rows, in the given order, as `viewer` sees them; no access check
   * and nothing logged: for a court package, whose creation checked access to the whole case and
   * is itself the custody event.
   */
  async packageViews(viewer: Actor, caseId: string, ids: readonly string[]): Promise<{ row: EvidenceRow; view: EvidenceView }[]> {
    const rows: EvidenceRow[] = await this.db.query(`${EVIDENCE_SELECT} WHERE e.case_id = $1 AND e.id = ANY ($2::uuid[])`, [caseId, ids]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    const out: { row: EvidenceRow; view: EvidenceView }[] = [];
    for (const id of ids) {
      const row = byId.get(id);
      if (row) out.push({ row, view: await this.view(viewer, row) });
    }
    return out;
  }

  async get(actor: Actor, id: string): Promise<EvidenceView> {
    return this.view(actor, await this.accessibleRow(this.db.manager, actor, id, 'read'));
  }

  /**
   * A case's evidence, filtered and paginated by cursor (newest first). Each item says whether
   * its capture time is a zone-less window (`timeApproximate`), matched by overlap.
   */
  async list(actor: Actor, caseId: string, rawQuery: Record<string, unknown>): Promise<{ items: EvidenceListItem[]; nextCursor: string | null }> {
    const query = parseListQuery(rawQuery);
    await this.cases.assertVisible(actor, caseId);
    if (actor.role === 'auditor') throw forbidden('Auditors see the custody log and verification results of evidence, never its content');
    const { where, params } = listQuerySql(query, caseId, actor.role === 'documenter' ? actor.id : null);
    const rows: EvidenceRow[] = await this.db.query(
      `${EVIDENCE_SELECT} WHERE ${where} ORDER BY e.received_at DESC, e.id DESC LIMIT ${query.limit + 1}`,
      params,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > query.limit && last
        ? encodeCursor(last.received_us, last.id)
        : null;
    const items = await Promise.all(page.map(async (row) => ({ ...(await this.view(actor, row)), timeApproximate: isTimeApproximate(row) })));
    return { items, nextCursor };
  }

  /** Annotates or changes the status; what was received never changes. Each change is a custody event. */
  async patch(actor: Actor, id: string, patch: EvidencePatch): Promise<EvidenceView> {
    await this.db.transaction(async (tx) => {
      const row = await this.accessibleRow(tx, actor, id, 'annotate', true);
      const subject = { type: 'evidence', id, sha256: row.sha256 };
      const reason = patch.reason?.trim() || null;
      if (patch.status !== undefined && !EVIDENCE_STATUSES.includes(patch.status)) {
        throw badRequest('Unknown status', [{ field: 'status', message: `must be one of ${EVIDENCE_STATUSES.join(', ')}` }]);
      }
      const changed: string[] = [];
      const sets: string[] = [];
      const params: unknown[] = [id];
      const set = (column: string, field: string, value: unknown, current: unknown) => {
        if (value === undefined || JSON.stringify(value) === JSON.stringify(current)) return;
        params.push(value);
        sets.push(`${column} = $${params.length}`);
        changed.push(field);
      };
      set('title', 'title', patch.title, row.title);
      set('description', 'description', patch.description, row.description);
      set('tags', 'tags', patch.tags, row.tags);
      set('incident_id', 'incidentId', patch.incidentId, row.incident_id);
      const statusChanged = patch.status !== undefined && patch.status !== row.status;
      if (statusChanged && !reason) {
        throw unprocessable('A status change needs a reason', [{ field: 'reason', message: 'say why the status changes' }]);
      }
      if (statusChanged) {
        params.push(patch.status);
        sets.push(`status = $${params.length}`);
      }
      if (sets.length === 0) return;
      if (changed.length) {
        params.push(
          evidenceSearchText(
            patch.title === undefined ? row.title : patch.title,
            patch.description === undefined ? row.description : patch.description,
            patch.tags ?? row.tags,
            row.original_file_name,
          ),
        );
        sets.push(`search_text = $${params.length}`);
      }
      await tx.query(`UPDATE evidence_items SET ${sets.join(', ')} WHERE id = $1`, params);
      if (changed.length) {
        await this.custody.append(tx, { action: 'evidence.annotated', actor, caseId: row.case_id, subject, details: { fields: changed }, reason });
      }
      if (statusChanged) {
        await this.custody.append(tx, {
          action: 'evidence.status_changed',
          actor,
          caseId: row.case_id,
          subject,
          details: { from: row.status, to: patch.status! },
          reason,
        });
      }
    });
    return this.viewOf(actor, id);
  }

  /** Every custody event of the item, a signed head covering them all, and each inclusion proof. */
  async custodyOf(actor: Actor, id: string): Promise<CustodyOfItem> {
    await this.accessibleRow(this.db.manager, actor, id, 'custody');
    return this.custodyProofs(id);
  }

  private async custodyProofs(id: string): Promise<CustodyOfItem> {
    const events = await this.custody.eventsAbout('evidence', id);
    const treeHead = await this.heads.covering(events[events.length - 1]!.leafIndex);
    const proofs: Record<string, string[]> = {};
    for (const e of events) proofs[String(e.leafIndex)] = await this.custody.inclusionProof(e.leafIndex, treeHead.treeSize);
    return { events, treeHead, proofs };
  }

  /** Re-hashes the stored bytes and checks every event of the item against the current head. */
  async verify(actor: Actor, id: string): Promise<VerificationResult> {
    const row = await this.accessibleRow(this.db.manager, actor, id, 'verify');
    let computedSha256: string | null = null;
    try {
      computedSha256 = await this.store.rehash(row.sha256);
    } catch (error) {
      if (!(error instanceof BlobNotFoundError)) throw error;
    }
    const { events, treeHead, proofs } = await this.custodyProofs(id);
    const report = verifyEventsAgainstHead(
      events.map((e) => ({ event: e.event, leafIndex: e.leafIndex, leafHash: e.leafHash, proof: proofs[String(e.leafIndex)]! })),
      treeHead,
      await this.keys.published(),
    );
    const submittedIntact = events.some((e) => e.event.action === 'evidence.submitted' && e.event.subject.sha256 === row.sha256);
    const intact = computedSha256 === row.sha256 && submittedIntact;
    const result: VerificationResult = {
      intact,
      storedSha256: row.sha256,
      computedSha256,
      checkedAt: new Date().toISOString(),
      custody: { events: events.length, allIncluded: report.valid, treeSize: treeHead.treeSize },
    };
    await this.db.transaction((tx) =>
      this.custody.append(tx, {
        action: 'evidence.verified',
        actor,
        caseId: row.case_id,
        subject: { type: 'evidence', id, sha256: row.sha256 },
        details: { intact, computedSha256, eventsChecked: events.length, allIncluded: report.valid, treeSize: treeHead.treeSize },
      }),
    );
    return result;
  }

  /**
   * Opens the original for download (recorded as `evidence.downloaded`). `pickRange` chooses
   * the bytes from the file's size (null: all of it); what it throws comes back to the caller.
   */
  async openOriginal(
    actor: Actor,
    id: string,
    pickRange: (sizeBytes: number) => ByteRange | null,
  ): Promise<{ row: EvidenceRow; range: ByteRange | null; stream: Readable }> {
    const row = await this.accessibleRow(this.db.manager, actor, id, 'content');
    const range = pickRange(Number(row.size_bytes));
    await this.db.transaction((tx) =>
      this.custody.append(tx, {
        action: 'evidence.downloaded',
        actor,
        caseId: row.case_id,
        subject: { type: 'evidence', id, sha256: row.sha256 },
        details: range ? { range: `bytes=${range.start}-${range.end}` } : {},
      }),
    );
    return { row, range, stream: await this.store.open(row.sha256, range ?? undefined) };
  }

  /** Opens a derivative (no embedded metadata by construction). */
  async openDerivative(actor: Actor, id: string, kind: 'thumbnail' | 'preview'): Promise<{ sha256: string; stream: Readable }> {
    const row = await this.accessibleRow(this.db.manager, actor, id, 'content');
    const sha256 = kind === 'thumbnail' ? row.thumbnail_sha256 : row.preview_sha256;
    if (!sha256) {
      throw notFound(row.processing === 'pending' ? `The ${kind} (still being made)` : `The ${kind}`);
    }
    return { sha256, stream: await this.store.open(sha256) };
  }

}

/** The words an item is found by: its title, description, tags and original file name. */
function evidenceSearchText(title: string | null | undefined, description: string | null | undefined, tags: string[] | undefined, fileName: string | null): string {
  // "IMG_2041 Kharkiv.jpg" would be one token to the parser: split file names at . _ -.
  return searchText(title, description, ...(tags ?? []), fileName?.replace(/[._-]+/g, ' '));
}

/** What the log says of the embedded metadata: presence and device, never the position. */
function metadataSummary(extracted: ExtractedMetadata | null, flags: EvidenceFlag[]): CustodyEvent['details'] {
  return {
    found: extracted !== null,
    capturedAt: extracted?.capturedAt ?? null,
    capturedAtOffset: extracted?.capturedAtOffset ?? null,
    hasLocation: Boolean(extracted?.location),
    device: extracted?.device ? { make: extracted.device.make, model: extracted.device.model, software: extracted.device.software } : null,
    flags,
  };
}
