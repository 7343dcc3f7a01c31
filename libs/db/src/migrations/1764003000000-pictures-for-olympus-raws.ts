import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Olympus and OM System raw files (ORF), drawn since this release by the preview JPEG in their
 * maker note (libs/media camera-raw.ts): their items stored with no picture go back to `pending`
 * for the repair every worker runs at its start, as 1764002900000 did for the other raws. Only
 * the processing state changes. ORFs that earlier releases sniffed as application/octet-stream
 * (IFD0 elsewhere than right after the header) keep that type: it is what intake recorded.
 */
export class PicturesForOlympusRaws1764003000000 implements MigrationInterface {
  name = 'PicturesForOlympusRaws1764003000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `UPDATE evidence_items SET processing = 'pending', processing_error = NULL
        WHERE thumbnail_sha256 IS NULL AND media_type = 'image/x-olympus-orf' AND processing IN ('done', 'failed')`,
    );
  }

  async down(): Promise<void> {
    // Nothing to undo: a picture made stays made, and an older release leaves such items alone.
  }
}
