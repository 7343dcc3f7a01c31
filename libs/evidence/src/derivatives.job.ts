import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { CustodyLog } from '#custodia/custody';
import { SYSTEM_ACTOR } from '#custodia/custody-core';
import { createDerivatives, UndecodableMediaError } from '#custodia/media';
import type { BlobStore } from '#custodia/storage';
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
    private readonly custody: CustodyLog,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  async run(evidenceId: string): Promise<void> {
    const [item] = await this.db.query(`SELECT id, case_id, sha256, submitted_by, processing FROM evidence_items WHERE id = $1`, [evidenceId]);
    if (!item || item.processing !== 'pending') return;
    let made;
    try {
      made = await this.store.withLocalFile(item.sha256, (file) => createDerivatives(file, { maxInputPixels: this.config.maxImagePixels }));
    } catch (error) {
      if (!(error instanceof UndecodableMediaError)) throw error;
      await this.db.query(`UPDATE evidence_items SET processing = 'failed', processing_error = $2 WHERE id = $1 AND processing = 'pending'`, [
        evidenceId,
        `${error.reason}: ${error.message}`.slice(0, 500),
      ]);
      return;
    }
    // Both blobs durable in the store before the transaction that names them commits (a crash
    // before it leaves blobs no row names, and the job, still pending, makes them again); stored
    // side by side so their writes and fsyncs overlap.
    const stored = await Promise.all(
      ([['thumbnail', made.thumbnail], ['preview', made.preview]] as const).map(async ([kind, bytes]) => {
        const result = await this.store.ingest(Readable.from([bytes]), { maxBytes: bytes.length });
        await result.commit();
        return { kind, sha256: result.sha256, sizeBytes: result.sizeBytes };
      }),
    );
    await this.db.transaction(async (tx) => {
      const [locked] = await tx.query(`SELECT processing FROM evidence_items WHERE id = $1 FOR UPDATE`, [evidenceId]);
      if (locked.processing !== 'pending') return;
      const phash = perceptualHashFromHex(made.perceptualHash);
      const near: { id: string }[] = await tx.query(
        `SELECT id FROM evidence_items
          WHERE case_id = $1 AND id <> $2 AND perceptual_hash IS NOT NULL
            AND bit_count((perceptual_hash # $3::bigint)::bit(64)) <= $4`,
        [item.case_id, evidenceId, phash, this.config.nearDuplicateDistance],
      );
      await tx.query(
        `UPDATE evidence_items SET processing = 'done', thumbnail_sha256 = $2, preview_sha256 = $3, perceptual_hash = $4,
           flags = CASE WHEN $5 AND NOT ('near_duplicate' = ANY (flags)) THEN array_append(flags, 'near_duplicate') ELSE flags END
         WHERE id = $1`,
        [evidenceId, stored[0]!.sha256, stored[1]!.sha256, phash, near.length > 0],
      );
      if (near.length) {
        await tx.query(
          `UPDATE evidence_items SET flags = array_append(flags, 'near_duplicate')
            WHERE id = ANY ($1::uuid[]) AND NOT ('near_duplicate' = ANY (flags))`,
          [near.map((n) => n.id)],
        );
      }
      // Last before COMMIT, both events under one take of the log's lock, which COMMIT frees.
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
            ...(derivative.kind === 'thumbnail' ? { perceptualHash: made.perceptualHash } : {}),
            onBehalfOf: item.submitted_by,
          },
        })),
      );
    });
  }
}
