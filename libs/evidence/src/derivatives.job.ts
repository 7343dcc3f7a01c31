import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyLog } from '#custodia/custody';
import { SYSTEM_ACTOR } from '#custodia/custody-core';
import { deterministicJobId, JobQueue } from '#custodia/jobs';
import { createDerivatives, UndecodableMediaError } from '#custodia/media';
import type { BlobStore } from '#custodia/storage';
import { EvidenceRepository } from './evidence.repository.js';
import { BLOB_STORE } from './evidence.service.js';
import { perceptualHashFromHex } from './views.js';

/**
 * Makes an item's thumbnail, preview and perceptual hash (one decode), stores them as blobs,
 * marks near duplicates in the case, and records each derivative in the custody log. Runs once
 * per item: a repeated job finds the item done and returns.
 */
@Injectable()
export class DerivativesJob {
  constructor(
    private readonly db: DataSource,
    private readonly items: EvidenceRepository,
    private readonly custody: CustodyLog,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
    private readonly queue: JobQueue,
  ) {}

  /**
   * Enqueues again the items whose job was given up or lost (see pendingWithoutJob), under an id
   * that is the same in every instance within one `sliceMs`, so instances repairing at once
   * enqueue each item once. Returns how many.
   */
  async requeueStalled(sliceMs: number, now = Date.now()): Promise<number> {
    await this.queue.start();
    const ids = await this.items.pendingWithoutJob(1000);
    for (const evidenceId of ids) {
      await this.queue.enqueue(this.db.manager, 'evidence.derivatives', { evidenceId }, deterministicJobId(`custodia evidence.derivatives ${evidenceId} ${Math.floor(now / sliceMs)}`));
    }
    if (ids.length) this.queue.wake('evidence.derivatives');
    return ids.length;
  }

  async run(evidenceId: string): Promise<void> {
    const item = await this.items.forDerivatives(evidenceId);
    if (!item || item.processing !== 'pending') return;
    let made;
    try {
      made = await this.store.withLocalFile(item.sha256, (file) =>
        createDerivatives(file, { maxInputPixels: this.config.maxImagePixels, mediaType: item.media_type }),
      );
    } catch (error) {
      if (!(error instanceof UndecodableMediaError)) throw error;
      await this.items.derivativesFailed(evidenceId, `${error.reason}: ${error.message}`.slice(0, 500));
      return;
    }
    // Both blobs durable in the store before the transaction that names them commits (a crash
    // before it leaves blobs no row names, and the job, still pending, makes them again); stored
    // side by side so their writes and fsyncs overlap.
    const stored = await Promise.all(
      ([['thumbnail', made.thumbnail], ['preview', made.preview]] as const).map(async ([kind, bytes]) => {
        const result = await this.store.ingest(Readable.from([bytes]), { maxBytes: bytes.length });
        try {
          await result.commit();
        } finally {
          // After a failed commit (an S3 store out of reach), the staged copy goes; a no-op after one that worked.
          await result.discard();
        }
        return { kind, sha256: result.sha256, sizeBytes: result.sizeBytes };
      }),
    );
    // A flat picture has no hash (createDerivatives), so no neighbours to look for.
    const phash = made.perceptualHash === null ? null : perceptualHashFromHex(made.perceptualHash);
    await this.db.transaction(async (tx) => {
      if (phash !== null) await this.items.lockNearDuplicateSearch(tx, item.case_id);
      if ((await this.items.lockProcessing(tx, evidenceId)) !== 'pending') return;
      const near = phash === null ? [] : await this.items.keepNearDuplicatePairs(tx, item.case_id, evidenceId, phash, this.config.nearDuplicateDistance);
      await this.items.saveDerivatives(tx, evidenceId, {
        thumbnail: stored[0]!.sha256,
        preview: stored[1]!.sha256,
        perceptualHash: phash,
        nearDuplicate: near.length > 0,
      });
      await this.items.flagNearDuplicates(tx, near);
      // Queued last, in this transaction: the sequencer integrates them once it commits.
      await this.custody.appendAll(
        tx,
        stored.map((derivative) => ({
          action: 'evidence.derivative_created' as const,
          // The archive makes them by itself, for the submitter (custody.md, "Who acted").
          actor: SYSTEM_ACTOR,
          caseId: item.case_id,
          subject: { type: 'evidence', id: evidenceId, sha256: item.sha256 },
          details: {
            kind: derivative.kind,
            sha256: derivative.sha256,
            sizeBytes: derivative.sizeBytes,
            mediaType: 'image/jpeg',
            // No perceptual hash (events before 2026-12-05 have one): who reads the log but not the
            // item (an auditor, a partner copy) could match it against pictures found elsewhere.
            onBehalfOf: item.submitted_by,
          },
        })),
      );
    });
  }
}
