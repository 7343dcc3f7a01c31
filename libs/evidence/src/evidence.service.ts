import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource, type EntityManager } from 'typeorm';
import { assertMay, ownerFilter, PerUserLimit, type Actor, type Purpose } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { terminated, UploadsService, type UsedUpload } from '#custodia/uploads';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyLog, Sequencer, SigningKeys, TreeHeads, type CustodyEventInput, type KeptTreeHead, type QueuedEvent, type RecordedEvent } from '#custodia/custody';
import { SYSTEM_ACTOR, verifyEventsAgainstHead, type CustodyEvent } from '#custodia/custody-core';
import { isUniqueViolation, retryTransientConflicts } from '#custodia/db';
import { conflict, DomainError, notFound, tooManyRequests, unprocessable } from '#custodia/errors';
import { JobQueue } from '#custodia/jobs';
import { CarriedFileStoppedError, hasNoEmbeddedMetadata, makesPicture, MetadataThreads, takeCarriedFile, type ExtractedMetadata } from '#custodia/media';
import { encodeCursor, searchText } from '#custodia/search';
import { BlobNotFoundError, readDetails, type BlobRead, type BlobStore, type ByteRange, type IngestResult } from '#custodia/storage';
import { EvidenceRepository, type EvidenceAnnotation } from './evidence.repository.js';
import {
  CUSTODY_PAGE,
  type EvidenceCustody,
  type EvidenceCustodyQuery,
  type EvidenceListFilters,
  type EvidenceListItem,
  type EvidencePatch,
  type EvidenceView,
  type EvidenceWithReceipt,
  type Receipt,
  type SubmissionMetadata,
  type VerificationResult,
} from './evidence.schema.js';
import { captureInterval, contradictionFlags, declaredOffset, extractedInstant, typeMismatch, type EvidenceFlag } from './flags.js';
import { EvidenceLinks } from './links.js';
import { readSubmissionMetadata } from './submission.js';
import { isTimeApproximate, toEvidenceView, type EvidenceRow } from './views.js';

export const BLOB_STORE = Symbol('BLOB_STORE');
const API_BASE = '/api/v1';
const THE_ITEM = 'The evidence item';
/** Multipart submissions one user may have streaming at once into a process (429 beyond). */
const MAX_SUBMITTING_PER_USER = 16;
/** Verifications (each a whole re-read of the file) one user may have running at once in a process. */
const MAX_VERIFYING_PER_USER = 2;

/** The file part of a submission, already streamed into durable temporary storage. */
export interface UploadedFile {
  result: IngestResult;
  fileName: string | null;
  declaredMediaType: string | null;
  /** Ties the bytes' source to the new item inside its transaction (a resumable upload becomes evidence once). */
  claim?: (tx: EntityManager, evidenceId: string) => Promise<void>;
  /** The message item the file was taken out of, and its place in that item's `attachments`. */
  extractedFrom?: { item: ReadItem; attachment: number };
}

interface CustodyPage {
  events: RecordedEvent[];
  treeHead: KeptTreeHead;
  proofs: Record<string, string[]>;
  nextCursor: string | null;
}

/** What part of an item a read showed (`evidence.viewed`'s `details.part`). */
export type ViewedPart = 'record' | 'listing' | 'thumbnail' | 'preview' | 'metadata' | 'attachment';

/**
 * Why an image or a video of a format the archive does not decode (an AVI, a camera's raw
 * file) gets no thumbnail: said at once, rather than a silent `done`.
 */
function noPictureReason(mediaType: string): string | null {
  return /^(image|video)\//.test(mediaType) ? `no picture is made of ${mediaType}: the archive does not decode this format; the original is kept as received` : null;
}

/** What a read's custody event names of the item. */
type ReadItem = Pick<EvidenceRow, 'id' | 'case_id' | 'sha256'>;

/** The custody event of `actor` reading the item. */
function readEvent(actor: Actor, row: ReadItem, action: 'evidence.viewed' | 'evidence.downloaded', details: CustodyEventInput['details']): CustodyEventInput {
  return { action, actor, caseId: row.case_id, subject: { type: 'evidence', id: row.id, sha256: row.sha256 }, details };
}

/** `evidence.viewed` of a part of the item; a HEAD (`headersOnly`) adds `method: "HEAD"`: nothing was sent. */
function viewEvent(actor: Actor, row: ReadItem, part: ViewedPart, headersOnly: boolean): CustodyEventInput {
  return readEvent(actor, row, 'evidence.viewed', { part, ...(headersOnly ? { method: 'HEAD' } : {}) });
}

/** The most UTF-16 code units of an original file name kept. */
const MAX_FILE_NAME_UNITS = 255;

/**
 * Control characters out, length bounded: the name is a label, never a path. The cut falls on a
 * code point boundary (an emoji straddling unit 255 goes whole, never half a surrogate pair).
 */
export function cleanFileName(name: string | null | undefined): string | null {
  let cleaned = (name ?? '').normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  if (cleaned.length > MAX_FILE_NAME_UNITS) {
    const high = cleaned.charCodeAt(MAX_FILE_NAME_UNITS - 1);
    cleaned = cleaned.slice(0, high >= 0xd800 && high <= 0xdbff ? MAX_FILE_NAME_UNITS - 1 : MAX_FILE_NAME_UNITS);
  }
  return cleaned === '' ? null : cleaned;
}

/**
 * Evidence items: intake, reading, annotation, verification. Who may do what is the policy's
 * (libs/auth/policy.ts): the item's case decides membership, its submitter is the owner an
 * `own` scope (documenters) is limited to.
 */
@Injectable()
export class EvidenceService implements OnApplicationShutdown {
  /**
   * Per user, their multipart submissions streaming in this process (the route takes it): each
   * fills temporary disk, up to CUSTODIA_MAX_UPLOAD_BYTES, for as long as it runs.
   */
  readonly submitting = new PerUserLimit(MAX_SUBMITTING_PER_USER);
  /** Per user, their verifications running in this process. */
  private readonly verifying = new PerUserLimit(MAX_VERIFYING_PER_USER);
  /** Re-hashes under way, by the blob's SHA-256. */
  private readonly rehashing = new Map<string, Promise<string | null>>();
  private readonly logger = new Logger('Evidence');
  /** The intake's readers of a file's type and metadata, in threads with a time limit (libs/media, metadata-threads.ts). */
  private readonly metadataReaders: MetadataThreads;

  constructor(
    private readonly db: DataSource,
    private readonly items: EvidenceRepository,
    private readonly links: EvidenceLinks,
    private readonly custody: CustodyLog,
    private readonly sequencer: Sequencer,
    private readonly heads: TreeHeads,
    private readonly keys: SigningKeys,
    private readonly queue: JobQueue,
    private readonly cases: CasesService,
    private readonly uploads: UploadsService,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {
    this.metadataReaders = new MetadataThreads({
      timeLimitMs: config.metadataTimeLimitMs,
      heapMb: config.metadataHeapMb,
      onStopped: (reason) => this.logger.warn(`Reading a submitted file's type and embedded metadata was stopped: ${reason}; the item is kept with nothing read from it`),
    });
  }

  onApplicationShutdown(): Promise<void> {
    return this.metadataReaders.close();
  }

  /** Refuses before a byte is read: the case must be the caller's, and the role one that submits. */
  async assertMaySubmit(actor: Actor, caseId: string): Promise<void> {
    await this.cases.assertMay(actor, caseId, 'evidence.submit');
  }

  /**
   * Records a submission whose bytes are already durable in temporary storage: checks the
   * metadata, the device's hash and the idempotency key (an empty file is refused first: 0 bytes
   * are no evidence), reads the file's own metadata, then writes the item, its link to an
   * incident, its custody events and its derivative job in one transaction, linking the bytes
   * into the store once the row and the link are accepted and before the custody events and the
   * commit. Nothing is kept on any failure before the link; only a failure or a crash between
   * the link and the commit can leave a blob that no item names. A remote store (a bucket) gets
   * the bytes before the transaction instead (see there).
   */
  async submit(actor: Actor, caseId: string, metadataJson: unknown, upload: UploadedFile): Promise<{ created: boolean; evidence: EvidenceWithReceipt }> {
    try {
      const metadata = readSubmissionMetadata(metadataJson);
      const { sha256, sizeBytes } = upload.result;
      if (sizeBytes === 0) {
        throw unprocessable('The file is empty (0 bytes): there is nothing to keep; nothing was stored', [
          { field: 'file', message: 'must not be empty' },
        ]);
      }
      assertDeviceHash(metadata, sha256);
      if (metadata.clientSubmissionId) {
        const repeat = await this.repeatedSubmission(actor, caseId, metadata.clientSubmissionId, sha256);
        if (repeat) return { created: false, evidence: repeat };
      }
      const { mediaType, metadata: extracted } = await upload.result.withLocalFile((file) => this.metadataReaders.read(file));

      const declared = { capturedAt: metadata.capturedAt, location: metadata.location };
      const flags: EvidenceFlag[] = contradictionFlags(declared, extracted, {
        locationM: this.config.locationToleranceM,
        timeS: this.config.timeToleranceS,
      });
      if (hasNoEmbeddedMetadata(extracted)) flags.push('no_embedded_metadata');
      if (typeMismatch(upload.declaredMediaType, mediaType)) flags.push('type_mismatch');
      const derivable = makesPicture(mediaType);
      // The device's hash, when given, has been checked equal above.
      const clientSha256Matched = metadata.sha256 === undefined ? null : true;
      const instant = extractedInstant(extracted);
      // What a time search matches (see captureInterval); without it, the receipt time.
      const captured = captureInterval(metadata.capturedAt, extracted);
      const fileName = cleanFileName(upload.fileName);
      const from = upload.extractedFrom;
      if (upload.result.remote) {
        // A bucket takes as long as the file to receive it: sent before the transaction, so no
        // pooled connection and no account row (held FOR SHARE below) waits on the transfer. What
        // can be checked is checked first; a refusal inside the transaction (the caller's access
        // revoked meanwhile, a COMMIT that fails) leaves an object no item names, as a crash
        // between the link and the commit does on local disk.
        if (metadata.incidentId !== undefined) {
          await this.links.assertIncidentsOfCase(this.db.manager, caseId, [metadata.incidentId], () => 'metadata.incidentId');
        }
        await upload.result.commit();
      }

      let id: string;
      let submitted: QueuedEvent;
      try {
        ({ id, submitted } = await this.db.transaction(async (tx) => {
          // The caller was let in when the bytes began to arrive, maybe minutes ago.
          await this.cases.holdAccess(tx, actor, caseId, 'evidence.submit');
          await this.items.lockSameBytes(tx, caseId, sha256);
          const original = await this.items.firstWithBytes(tx, caseId, sha256);
          const itemFlags = original ? ['exact_duplicate' as const, ...flags] : flags;
          const id = await this.items.insert(tx, {
            caseId,
            sha256,
            sizeBytes,
            mediaType,
            declaredMediaType: upload.declaredMediaType,
            originalFileName: fileName,
            submittedBy: actor.id,
            clientSubmissionId: metadata.clientSubmissionId ?? null,
            clientSha256Matched,
            sourceType: metadata.sourceType ?? 'other',
            sourceUrl: metadata.sourceUrl ?? null,
            language: metadata.language ?? null,
            title: metadata.title ?? null,
            description: metadata.description ?? null,
            tags: metadata.tags ?? [],
            declaredCapturedAt: metadata.capturedAt ?? null,
            declaredCapturedOffset: declaredOffset(metadata.capturedAt),
            declaredLat: metadata.location?.lat ?? null,
            declaredLon: metadata.location?.lon ?? null,
            declaredAccuracyM: metadata.location?.accuracyM ?? null,
            extracted,
            extractedLat: extracted?.location?.lat ?? null,
            extractedLon: extracted?.location?.lon ?? null,
            capturedAt: instant ?? (metadata.capturedAt ? new Date(metadata.capturedAt) : null),
            capturedFrom: captured?.from ?? null,
            capturedTo: captured?.to ?? null,
            flags: itemFlags,
            duplicateOf: original?.id ?? null,
            processing: derivable ? 'pending' : 'done',
            processingError: derivable ? null : noPictureReason(mediaType),
            searchText: evidenceSearchText(metadata.title, metadata.description, metadata.tags, fileName, extracted),
          });
          await upload.claim?.(tx, id);
          // The link to an incident goes through EvidenceLinks like every link (same case or 422),
          // before the bytes are linked into the store.
          const linked =
            metadata.incidentId === undefined
              ? []
              : await this.links.setForItem(tx, actor, { id, caseId, sha256, incidentId: null }, metadata.incidentId, metadata.incidentRole, 'metadata.incidentId');
          const subject = { type: 'evidence', id, sha256 };
          // Once the row is accepted (an idempotency conflict is refused by the INSERT, before a
          // blob exists), the bytes are linked into the store, durably, before the custody lock is
          // taken and before COMMIT: the row never names bytes that are not there. A failure of
          // the appends or of COMMIT leaves a blob no item names, as a crash there would. (A
          // bucket's blob is there already: commit is then a no-op.)
          await Promise.all([
            upload.result.commit(),
            derivable ? this.queue.enqueue(tx, 'evidence.derivatives', { evidenceId: id }, id) : undefined,
          ]);
          // The change's events, queued with it; the sequencer integrates them once committed.
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
                // No `duplicateOf`: the submitter reads this event (their receipt, the log's entries)
                // and may not be allowed to know someone else's item. The item's flags say
                // `exact_duplicate` to who may, and the subject's sha256 finds the other item.
                ...(from ? { extractedFrom: { evidenceId: from.item.id, sha256: from.item.sha256, attachment: from.attachment } } : {}),
              },
            },
            // The message the file came out of was read for it, by the same person.
            ...(from ? [readEvent(actor, from.item, 'evidence.viewed', { part: 'attachment', attachment: from.attachment, sha256, evidenceId: id })] : []),
            {
              // The archive reads the file by itself, for the submitter (custody.md, "Who acted").
              action: 'evidence.metadata_extracted',
              actor: SYSTEM_ACTOR,
              caseId,
              subject,
              // The embedded position stays behind access control, out of the log; so does
              // `exact_duplicate` (the submitter reads this event: see evidence.submitted).
              details: { ...metadataSummary(extracted, flags), onBehalfOf: actor.id },
            },
            ...linked,
          ]);
          return { id, submitted: submittedEvent! };
        }));
      } catch (error) {
        if (metadata.clientSubmissionId && isUniqueViolation(error, 'evidence_items_client_submission_key')) {
          // The same key arrived twice at once: the other request won; answer as a repeat.
          const repeat = await this.repeatedSubmission(actor, caseId, metadata.clientSubmissionId, sha256);
          if (repeat) return { created: false, evidence: repeat };
        }
        throw error;
      }
      // The item as it was acknowledged (its derivatives pending), with the receipt once the
      // sequencer has integrated its event, waiting a bounded time (custody.md).
      const view = await this.viewOf(actor, id);
      if (derivable) this.queue.wake('evidence.derivatives');
      const recorded = await this.sequencer.waitFor(submitted.queueId, this.config.receiptWaitMs);
      return { created: true, evidence: await this.withReceipt(view, recorded) };
    } finally {
      await upload.result.discard();
    }
  }

  /**
   * Makes a finished resumable upload evidence (api.md, "Resumable uploads"): the same intake as
   * a multipart submission, on bytes we hashed ourselves as they arrived, taken into the store
   * without another copy (a hard link). The upload's file goes once the item has its blob, or
   * once an earlier submission with this clientSubmissionId and these bytes answers for it.
   */
  async submitUpload(actor: Actor, caseId: string, uploadId: string, metadata: unknown): Promise<{ created: boolean; evidence: EvidenceWithReceipt }> {
    await this.assertMaySubmit(actor, caseId);
    const upload = await this.uploads.finished(actor, uploadId);
    if ('evidenceId' in upload) return { created: false, evidence: await this.repeatedUpload(actor, caseId, metadata, upload) };
    let outcome: Awaited<ReturnType<EvidenceService['submitUpload']>>;
    try {
      const result = await this.store.adopt(upload.path, upload.sha256, upload.sizeBytes);
      outcome = await this.submit(actor, caseId, metadata, {
        result,
        fileName: upload.fileName,
        declaredMediaType: upload.mediaType,
        claim: (tx, evidenceId) => this.uploads.markUsed(tx, actor, uploadId, evidenceId),
      });
    } catch (error) {
      // Its creator terminated it meanwhile: its file went with it, wherever intake had got to.
      // Until the item's transaction holds the upload's row (markUsed), nothing stops that.
      if (!(error instanceof DomainError) && (await this.uploads.gone(uploadId))) throw terminated();
      throw error;
    }
    if (outcome.created) await this.uploads.removeBytes(uploadId);
    else await this.uploads.discard(uploadId);
    return outcome;
  }

  /**
   * Submits a file an e-mail, Outlook message or ZIP archive item carries (or a mailbox item's
   * message) as an item of its own in the same case, through the same intake as any submission:
   * the `attachment`-th of the item's `extracted.document.attachments`, taken out of the stored
   * original and found by the SHA-256 it was listed with, so the new item holds exactly the bytes
   * read when the message arrived. Its
   * evidence.submitted names the message (`details.extractedFrom`), and the message gets an
   * evidence.viewed (part "attachment") in the same transaction. The caller must be able to read
   * the message's bytes and submit to its case; `sourceType` defaults to the message's.
   */
  async submitAttachment(actor: Actor, id: string, attachment: number, metadata: SubmissionMetadata): Promise<{ created: boolean; evidence: EvidenceWithReceipt }> {
    const row = await this.itemFor(actor, id, 'evidence.content');
    await this.assertMaySubmit(actor, row.case_id);
    const file = row.extracted?.document?.attachments?.[attachment];
    if (!file) throw notFound(`File ${attachment} of this item's extracted.document.attachments (counted from 0)`);
    // A ZIP's file may be larger than a submission may be (a ZIP is hashed up to 1 GiB).
    if (file.sizeBytes > this.config.maxUploadBytes) {
      throw new DomainError('payload_too_large', `This file (${file.sizeBytes} bytes) is larger than a submission may be (${this.config.maxUploadBytes} bytes): nothing was stored`);
    }
    const result = await this.store
      .withLocalFile(row.sha256, (path) =>
        takeCarriedFile(
          path,
          file,
          (source) => this.store.ingest(source, { maxBytes: this.config.maxUploadBytes }),
          (message, sha256) => this.metadataReaders.carried(message, sha256),
        ),
      )
      .catch((error: unknown) => {
        if (error instanceof CarriedFileStoppedError) throw unprocessable(`${error.message}; nothing was stored`);
        throw error;
      });
    if (!result) throw unprocessable(`The stored item no longer gives a file with the SHA-256 it was listed with (${file.sha256}): nothing was stored`);
    return this.submit(actor, row.case_id, { sourceType: row.source_type, ...metadata }, {
      result,
      // An archive's name is a path in it ("DCIM/Camera/IMG_0001.JPG"): the item's file name is its last part.
      fileName: file.name === null ? null : file.name.slice(file.name.lastIndexOf('/') + 1) || null,
      declaredMediaType: file.mediaType,
      extractedFrom: { item: row, attachment },
    });
  }

  /**
   * A finish sent again for an upload that already became evidence (its answer was lost on the
   * way): with the first submission's clientSubmissionId it is a repeat, answered with the first
   * item as a multipart repeat is; otherwise 409, naming that item.
   */
  private async repeatedUpload(actor: Actor, caseId: string, metadataJson: unknown, upload: UsedUpload): Promise<EvidenceWithReceipt> {
    const metadata = readSubmissionMetadata(metadataJson);
    assertDeviceHash(metadata, upload.sha256);
    const repeat = metadata.clientSubmissionId ? await this.repeatedSubmission(actor, caseId, metadata.clientSubmissionId, upload.sha256) : null;
    if (!repeat) throw conflict(`This upload already became evidence item ${upload.evidenceId}`);
    return repeat;
  }

  private async repeatedSubmission(actor: Actor, caseId: string, clientSubmissionId: string, sha256: string): Promise<EvidenceWithReceipt | null> {
    const first = await this.items.bySubmission(actor.id, clientSubmissionId);
    if (!first) return null;
    if (first.sha256 !== sha256) {
      throw conflict('This clientSubmissionId was already used for other bytes; this submission was not recorded');
    }
    // The same bytes sent to another case are not a repeat: answering with the first case's item
    // would let the app believe they are now in this case.
    if (first.case_id !== caseId) {
      throw conflict('This clientSubmissionId was already used for a submission to another case; give this one a key of its own. Nothing was recorded');
    }
    return this.withReceipt(await this.viewOf(actor, first.id), await this.submittedEvent(first.id));
  }

  /** The item's `evidence.submitted` event, or null while it waits to be integrated. */
  private async submittedEvent(id: string): Promise<RecordedEvent | null> {
    // That event alone: an item read a thousand times has a thousand evidence.viewed events.
    return (await this.custody.eventsAbout('evidence', id, 'evidence.submitted'))[0] ?? null;
  }

  /**
   * The answer to a submission: the item, and the receipt of api.md (the event, its leaf, a
   * signed head that includes it, the proof) once the event is integrated; until then
   * `receipt: null`, and `receiptUrl` says where to fetch it.
   */
  private async withReceipt(view: EvidenceView, recorded: RecordedEvent | null): Promise<EvidenceWithReceipt> {
    return { ...view, receipt: recorded && (await this.receipt(recorded)), receiptUrl: `${API_BASE}/evidence/${view.id}/receipt` };
  }

  private async receipt(recorded: RecordedEvent): Promise<Receipt> {
    const head = await this.heads.covering(recorded.leafIndex);
    const inclusionProof = await this.custody.inclusionProof(recorded.leafIndex, head.treeSize);
    return { event: recorded.event, leafHash: recorded.leafHash, leafIndex: recorded.leafIndex, treeHead: head, inclusionProof };
  }

  /**
   * `GET /evidence/:id/receipt`: the submission's receipt, for whoever may read the item; null
   * while its event still waits to be integrated (the sequencer is asked to hurry).
   */
  async receiptOf(actor: Actor, id: string): Promise<Receipt | null> {
    await this.itemFor(actor, id, 'evidence.read');
    const recorded = await this.submittedEvent(id);
    if (recorded) return this.receipt(recorded);
    await this.sequencer.nudge();
    return null;
  }

  /**
   * The item, if the caller may do `purpose` with it: a caller who may not see its case, or
   * whose scope is their own items and this is someone else's, learns nothing ("not found"); a
   * role that never may gets "forbidden".
   */
  async itemFor(actor: Actor, id: string, purpose: Purpose, tx: EntityManager = this.db.manager, lock = false): Promise<EvidenceRow> {
    // The item and the caller's membership of its case in one statement: every read of an item starts here.
    return this.mayUse(actor, await this.items.findWithMembership(id, actor.id, tx, lock), purpose);
  }

  /** The item (found with the caller's membership of its case) if the caller may do `purpose` with it; see itemFor. */
  private mayUse<R extends EvidenceRow>(actor: Actor, found: { row: R; viewerIsMember: boolean } | null, purpose: Purpose): R {
    if (!found) throw notFound(THE_ITEM);
    const { row, viewerIsMember } = found;
    this.cases.assertMayAsMember(actor, viewerIsMember, purpose, THE_ITEM);
    assertMay(actor, purpose, { ownerId: row.submitted_by, what: THE_ITEM });
    return row;
  }

  /** Records `evidence.viewed` of a part of the item; `headersOnly` (a HEAD) adds `method: "HEAD"`: nothing was sent. */
  recordView(actor: Actor, row: ReadItem, part: ViewedPart, headersOnly: boolean): Promise<void> {
    return this.custody.record(viewEvent(actor, row, part, headersOnly));
  }

  /** Records that `actor` read a part of the item, committed before the read is answered (group commit with other reads). */
  async recordRead(actor: Actor, row: ReadItem, action: 'evidence.viewed' | 'evidence.downloaded', details: CustodyEventInput['details']): Promise<void> {
    await this.custody.record(readEvent(actor, row, action, details));
  }

  /** The resource as it is now, for an item the caller has just written. */
  private async viewOf(actor: Actor, id: string): Promise<EvidenceView> {
    const row = await this.items.find(id);
    if (!row) throw notFound(THE_ITEM);
    return toEvidenceView(row, API_BASE, actor);
  }

  /**
   * Items of one case with their rows, in the given order, as `viewer` sees them; no access check
   * and nothing logged: for a court package, whose creation checked access to the whole case and
   * is itself the custody event.
   */
  async packageViews(viewer: Actor, caseId: string, ids: readonly string[]): Promise<{ row: EvidenceRow; view: EvidenceView }[]> {
    const byId = new Map((await this.items.inCase(caseId, ids)).map((row) => [row.id, row]));
    const out: { row: EvidenceRow; view: EvidenceView }[] = [];
    for (const id of ids) {
      const row = byId.get(id);
      if (row) out.push({ row, view: toEvidenceView(row, API_BASE, viewer) });
    }
    return out;
  }

  /**
   * The resource; the read is an `evidence.viewed` event (`details.part: "record"`, and
   * `details.method: "HEAD"` when only the headers are sent).
   */
  async get(actor: Actor, id: string, headersOnly = false): Promise<EvidenceView> {
    // The item with its near duplicates and the caller's membership of its case, in one statement.
    const row = this.mayUse(actor, await this.items.findViewWithMembership(id, actor.id), 'evidence.read');
    await this.recordView(actor, row, 'record', headersOnly);
    return toEvidenceView(row, API_BASE, actor);
  }

  /**
   * A case's evidence, filtered and paginated by cursor (newest first), limited to the caller's
   * own items where that is their scope. Each item says whether its capture time is a zone-less
   * window (`timeApproximate`), matched by overlap. A listing is a read of every item it shows
   * (their positions, names, descriptions): each is an `evidence.viewed` event with
   * `details.part: "listing"`, committed together before the page is answered.
   */
  async list(actor: Actor, caseId: string, filters: EvidenceListFilters, headersOnly = false): Promise<{ items: EvidenceListItem[]; nextCursor: string | null }> {
    await this.cases.assertMay(actor, caseId, 'evidence.read');
    const rows = await this.items.list(filters, caseId, ownerFilter(actor, 'evidence.read'));
    const page = rows.slice(0, filters.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > filters.limit && last ? encodeCursor(last.received_us, last.id) : null;
    await this.custody.recordAll(page.map((row) => viewEvent(actor, row, 'listing', headersOnly)));
    const items = page.map((row) => ({ ...toEvidenceView(row, API_BASE, actor), timeApproximate: isTimeApproximate(row) }));
    return { items, nextCursor };
  }

  /**
   * Annotates, changes the status or the link to an incident; what was received never changes.
   * Each change is a custody event, all of them appended together last in the transaction.
   */
  async patch(actor: Actor, id: string, patch: EvidencePatch): Promise<EvidenceView> {
    // Run again when PostgreSQL ends it for a deadlock with a change of the item's incident.
    await retryTransientConflicts(() => this.db.transaction(async (tx) => {
      const row = await this.itemFor(actor, id, 'evidence.annotate', tx, true);
      const subject = { type: 'evidence', id, sha256: row.sha256 };
      const reason = patch.reason?.trim() || null;
      const changes: EvidenceAnnotation = {};
      const differs = (value: unknown, current: unknown): boolean => value !== undefined && JSON.stringify(value) !== JSON.stringify(current);
      if (differs(patch.title, row.title)) changes.title = patch.title;
      if (differs(patch.description, row.description)) changes.description = patch.description;
      if (differs(patch.tags, row.tags)) changes.tags = patch.tags;
      const changed = (['title', 'description', 'tags'] as const).filter((field) => changes[field] !== undefined);
      const statusChanged = patch.status !== undefined && patch.status !== row.status;
      if (statusChanged) changes.status = patch.status;
      if (changed.length) {
        changes.searchText = evidenceSearchText(
          changes.title === undefined ? row.title : changes.title,
          changes.description === undefined ? row.description : changes.description,
          changes.tags ?? row.tags,
          row.original_file_name,
          row.extracted,
        );
      }
      const linkEvents = await this.relink(tx, actor, row, patch);
      await this.items.annotate(tx, id, changes);
      const events: CustodyEventInput[] = [];
      if (changed.length) events.push({ action: 'evidence.annotated', actor, caseId: row.case_id, subject, details: { fields: [...changed] }, reason });
      if (statusChanged) {
        events.push({ action: 'evidence.status_changed', actor, caseId: row.case_id, subject, details: { from: row.status, to: patch.status! }, reason });
      }
      events.push(...linkEvents.map((event) => ({ ...event, reason })));
      await this.custody.appendAll(tx, events);
    }));
    return this.viewOf(actor, id);
  }

  /** The link part of a patch: `incidentId` (null unlinks) and `incidentRole`, through EvidenceLinks. */
  private async relink(tx: EntityManager, actor: Actor, row: EvidenceRow, patch: EvidencePatch): Promise<CustodyEventInput[]> {
    if (patch.incidentId === undefined && patch.incidentRole === undefined) return [];
    const target = patch.incidentId === undefined ? row.incident_id : patch.incidentId;
    if (target === null && patch.incidentRole !== undefined) {
      throw unprocessable('A role needs an incident to link to', [{ field: 'incidentRole', message: 'needs incidentId (the item is not linked)' }]);
    }
    const keptRole = target === row.incident_id ? (row.incident_link_role ?? 'other') : 'other';
    return this.links.setForItem(
      tx,
      actor,
      { id: row.id, caseId: row.case_id, sha256: row.sha256, incidentId: row.incident_id, role: row.incident_link_role },
      target,
      patch.incidentRole ?? keptRole,
      'incidentId',
    );
  }

  /** The stored bytes' SHA-256 (null when the blob is gone), one reading for callers asking at once. */
  private rehashOnce(sha256: string): Promise<string | null> {
    let reading = this.rehashing.get(sha256);
    if (!reading) {
      reading = this.store.rehash(sha256).catch((error: unknown) => {
        if (error instanceof BlobNotFoundError) return null;
        throw error;
      });
      const settled = reading.finally(() => this.rehashing.delete(sha256));
      settled.catch(() => undefined);
      this.rehashing.set(sha256, reading);
    }
    return reading;
  }

  /**
   * One page of the item's custody events (every read of an item is one, so an item read for
   * years holds thousands), a signed head covering them, and each inclusion proof. A caller who
   * sees only their own items (a documenter) gets what they and the archive did to it, as
   * `/log/entries` shows them their own actions: not who else read, annotated, linked or
   * exported it, nor why.
   */
  async custodyOf(actor: Actor, id: string, query: EvidenceCustodyQuery = {}): Promise<EvidenceCustody> {
    await this.itemFor(actor, id, 'evidence.custody');
    const { events, ...page } = await this.custodyPage(id, {
      after: query.cursor ?? null,
      limit: query.limit ?? CUSTODY_PAGE,
      ownerOf: ownerFilter(actor, 'evidence.custody'),
    });
    return { events: events.map((e) => ({ event: e.event, leafIndex: e.leafIndex, leafHash: e.leafHash })), ...page };
  }

  private async custodyPage(id: string, page: { after: number | null; limit: number; ownerOf: string | null }): Promise<CustodyPage> {
    // What happened to the item before this read is in the log, whatever the sequencer's pace.
    if (page.after === null) await this.custody.integrateAll();
    const found = await this.custody.eventsAboutPage('evidence', id, { ...page, limit: page.limit + 1 });
    const events = found.slice(0, page.limit);
    const last = events.at(-1)?.leafIndex;
    // A cursor past the item's last event (a made-up one, past the log too) gives an empty page, still with a head.
    const treeHead = await this.heads.covering(last ?? 0);
    const proofs = await this.custody.inclusionProofs(
      events.map((e) => e.leafIndex),
      treeHead.treeSize,
    );
    return {
      events,
      treeHead,
      proofs: Object.fromEntries([...proofs].map(([leafIndex, proof]) => [String(leafIndex), proof])),
      nextCursor: found.length > page.limit ? String(last) : null,
    };
  }

  /**
   * Re-hashes the stored bytes and checks every event of the item against the current head. A
   * re-hash reads the whole file (gigabytes for a video) outside fixity's rate limit, so checks of
   * the same bytes running at once share one reading, and one user runs at most
   * MAX_VERIFYING_PER_USER at a time in this process (429 beyond).
   */
  async verify(actor: Actor, id: string): Promise<VerificationResult> {
    const row = await this.itemFor(actor, id, 'evidence.verify');
    const release = this.verifying.take(actor.id, () =>
      tooManyRequests(`${this.verifying.max} verifications of yours are running, the most at a time: ask again when they end`, 5),
    );
    let computedSha256: string | null;
    try {
      computedSha256 = await this.rehashOnce(row.sha256);
    } finally {
      release();
    }
    // Page by page, so an item with years of reads is checked in bounded memory. The events
    // checked are those the caller may read of the item's custody: a documenter's own (their
    // count of all would say how often others read, exported or linked it).
    const keys = await this.keys.published();
    const custody = { events: 0, allIncluded: true, treeSize: 0 };
    const ownerOf = ownerFilter(actor, 'evidence.custody');
    let submittedIntact = false;
    let after: number | null = null;
    do {
      const page = await this.custodyPage(id, { after, limit: CUSTODY_PAGE, ownerOf });
      const report = verifyEventsAgainstHead(
        page.events.map((e) => ({ ...e, proof: page.proofs[String(e.leafIndex)]! })),
        page.treeHead,
        keys,
      );
      custody.events += page.events.length;
      custody.allIncluded &&= report.valid;
      custody.treeSize = page.treeHead.treeSize;
      submittedIntact ||= page.events.some((e) => e.event.action === 'evidence.submitted' && e.event.subject.sha256 === row.sha256);
      after = page.nextCursor === null ? null : Number(page.nextCursor);
    } while (after !== null);
    const intact = computedSha256 === row.sha256 && submittedIntact;
    const result: VerificationResult = {
      intact,
      storedSha256: row.sha256,
      computedSha256,
      checkedAt: new Date().toISOString(),
      custody,
    };
    await this.db.transaction((tx) =>
      this.custody.appendAll(tx, [
        {
          action: 'evidence.verified',
          actor,
          caseId: row.case_id,
          subject: { type: 'evidence', id, sha256: row.sha256 },
          details: { intact, computedSha256, eventsChecked: custody.events, allIncluded: custody.allIncluded, treeSize: custody.treeSize },
        },
      ]),
    );
    return result;
  }

  /**
   * Opens the original for download (recorded as `evidence.downloaded`). `read` chooses
   * the bytes from the file's size and hash (null: all of it); what it throws comes back to the caller.
   * A HEAD is recorded with `method: HEAD` and opens nothing. The bytes are opened before the
   * read is recorded: a store that cannot give them (a blob gone, a store unreachable) fails the
   * request and leaves no `evidence.downloaded` for a copy that was never sent.
   */
  async openOriginal(
    actor: Actor,
    id: string,
    read: BlobRead,
  ): Promise<{ row: EvidenceRow; range: ByteRange | null; stream: Readable | null }> {
    const row = await this.itemFor(actor, id, 'evidence.content');
    const range = read.pickRange(Number(row.size_bytes), row.sha256);
    const stream = read.headersOnly ? null : await this.store.open(row.sha256, range ?? undefined);
    await closedIfFails(stream, this.recordRead(actor, row, 'evidence.downloaded', readDetails(read, range)));
    return { row, range, stream };
  }

  /**
   * Opens a derivative (no embedded metadata by construction); the read is an `evidence.viewed`
   * event naming the part. For a HEAD (`headersOnly`) nothing is opened: its size is read, and
   * the event says `method: HEAD`.
   */
  async openDerivative(
    actor: Actor,
    id: string,
    kind: 'thumbnail' | 'preview',
    headersOnly = false,
  ): Promise<{ sha256: string; sizeBytes: number | null; stream: Readable | null }> {
    const row = await this.itemFor(actor, id, 'evidence.content');
    const sha256 = kind === 'thumbnail' ? row.thumbnail_sha256 : row.preview_sha256;
    if (!sha256) {
      throw notFound(row.processing === 'pending' ? `The ${kind} (still being made)` : `The ${kind}`);
    }
    if (headersOnly) {
      const sizeBytes = (await this.store.stat(sha256))?.sizeBytes ?? null;
      await this.recordView(actor, row, kind, headersOnly);
      return { sha256, sizeBytes, stream: null };
    }
    // Opened before the view is recorded, as the original is (see openOriginal).
    const stream = await this.store.open(sha256);
    await closedIfFails(stream, this.recordView(actor, row, kind, headersOnly));
    return { sha256, sizeBytes: null, stream };
  }
}

/** Waits for `recorded`; when it fails, `stream` (opened for the read it records) is closed first. */
async function closedIfFails(stream: Readable | null, recorded: Promise<unknown>): Promise<void> {
  try {
    await recorded;
  } catch (error) {
    stream?.destroy();
    throw error;
  }
}

/**
 * The words an item is found by: its title, description, tags and original file name, and what a
 * document says of itself: its title, author and last saver (a witness statement is looked for by
 * who wrote it), and an e-mail's recipients and attached files' names (the first 100 of each:
 * enough to find a tip by them, while a mailing to thousands stays a small index entry).
 * Migration 1764003200000 makes the same of items received before (which have no recipients).
 */
function evidenceSearchText(
  title: string | null | undefined,
  description: string | null | undefined,
  tags: string[] | undefined,
  fileName: string | null,
  extracted: ExtractedMetadata | null,
): string {
  const document = extracted?.document;
  const recipients = document?.recipients ? [document.recipients.to, document.recipients.cc, document.recipients.bcc].flatMap((list) => list.slice(0, 100)) : [];
  const attached = (document?.attachments ?? []).slice(0, 100).flatMap((file) => [fileWords(file.name), file.from ?? undefined]);
  return searchText(title, description, ...(tags ?? []), fileWords(fileName), document?.title, document?.author, document?.lastModifiedBy, ...recipients, ...attached);
}

/** "IMG_2041 Kharkiv.jpg" would be one token to the parser: file names are split at . _ -. */
function fileWords(name: string | null | undefined): string | undefined {
  return name?.replace(/[._-]+/g, ' ');
}

/**
 * What the log says of the embedded metadata: whether there was any, whether it held a position,
 * and the flags. The values themselves (capture time, device, position) stay in the record,
 * behind access control: auditors and partner copies read the log, and a phone's make and model
 * single out a documenter. Not even their hash: a working copy shows the rest of the record and
 * the position to 0.01 degree, so a hash of the whole gives the device and the exact position back
 * to whoever tries the likely values (an outside audit did, in two minutes). Events before
 * 2026-12-05 hold the capture time and device.
 */
function metadataSummary(extracted: ExtractedMetadata | null, flags: EvidenceFlag[]): CustodyEvent['details'] {
  return {
    found: extracted !== null,
    hasLocation: Boolean(extracted?.location),
    flags,
  };
}

/** The device's hash, when the submission gives one, must be the bytes' (422 otherwise: nothing is stored). */
function assertDeviceHash(metadata: { sha256?: string }, sha256: string): void {
  if (metadata.sha256 !== undefined && metadata.sha256 !== sha256) {
    throw unprocessable('The bytes received differ from what the device hashed; nothing was stored', [
      { field: 'metadata.sha256', message: `the received bytes hash to ${sha256}` },
    ]);
  }
}
