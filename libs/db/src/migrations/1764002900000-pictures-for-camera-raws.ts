import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Camera raw files the archive draws since this release by the JPEG inside them (DNG, CR2, CR3,
 * NEF, ARW, RW2, RAF; libs/media camera-raw.ts), and TIFFs whose picture failed (other TIFF-based raws, a CR2's
 * old-style JPEG): their items with no picture go back to `pending`, for the repair every worker
 * runs at its start (DerivativesJob.requeueStalled), as 1764002800000 did for older videos. Only
 * the processing state changes; the received item and its custody are untouched.
 */
const NEWLY_DRAWN = ['image/x-adobe-dng', 'image/x-canon-cr2', 'image/x-canon-cr3', 'image/x-nikon-nef', 'image/x-sony-arw', 'image/x-panasonic-rw2', 'image/x-fujifilm-raf'];

export class PicturesForCameraRaws1764002900000 implements MigrationInterface {
  name = 'PicturesForCameraRaws1764002900000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `UPDATE evidence_items SET processing = 'pending', processing_error = NULL
        WHERE thumbnail_sha256 IS NULL
          AND ((media_type = ANY ($1::text[]) AND processing IN ('done', 'failed')) OR (media_type = 'image/tiff' AND processing = 'failed'))`,
      [NEWLY_DRAWN],
    );
  }

  async down(): Promise<void> {
    // Nothing to undo: a picture made stays made, and an older release leaves such items alone.
  }
}
