import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Media types the archive draws a poster of since this release and did not before (AVI other than
 * Motion JPEG and H.264, MPEG program streams, ASF/WMV, Flash video): their items with no picture
 * go back to `pending`, so the repair that enqueues pending items without a job (at every worker's
 * start, DerivativesJob.requeueStalled) makes their thumbnail, preview and perceptual hash. Only
 * the processing state changes: the received item and its custody are untouched, and the
 * derivatives made are recorded in the log as any are.
 */
const NEWLY_DRAWN = ['video/vnd.avi', 'video/MP2P', 'video/MP1S', 'video/mpeg', 'video/x-ms-asf', 'video/x-flv'];

export class PicturesForOlderVideos1764002800000 implements MigrationInterface {
  name = 'PicturesForOlderVideos1764002800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `UPDATE evidence_items SET processing = 'pending', processing_error = NULL
        WHERE media_type = ANY ($1::text[]) AND processing IN ('done', 'failed') AND thumbnail_sha256 IS NULL`,
      [NEWLY_DRAWN],
    );
  }

  async down(): Promise<void> {
    // Nothing to undo: a poster made stays made, and an older release leaves such items alone.
  }
}
