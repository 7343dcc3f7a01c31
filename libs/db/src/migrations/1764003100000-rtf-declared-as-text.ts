import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * RTF files declared `text/rtf` or `application/x-rtf` (macOS and Linux desktops name them so;
 * the sniffer says `application/rtf`) were flagged `type_mismatch`: the two are one format since
 * this release (libs/evidence flags.ts). The flag goes from items received before, and only
 * from those; nothing else of them changes.
 */
export class RtfDeclaredAsText1764003100000 implements MigrationInterface {
  name = 'RtfDeclaredAsText1764003100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `UPDATE evidence_items SET flags = array_remove(flags, 'type_mismatch')
        WHERE media_type = 'application/rtf' AND 'type_mismatch' = ANY (flags)
          AND lower(btrim(split_part(declared_media_type, ';', 1))) IN ('text/rtf', 'application/x-rtf')`,
    );
  }

  async down(): Promise<void> {
    // Nothing to undo: an older release reads the flags as they are.
  }
}
