import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The near-duplicate pairs of each photo, kept: a view of a photo compared its perceptual hash
 * with every other photo of its case (linear in the case: a page of 200 in a case of 100,000
 * photos spent seconds in PostgreSQL). The derivative job already compares each new photo with
 * its case once; it now keeps every pair within 16 bits, both ways, and a view reads an item's
 * pairs by index. 16 bits is the most CUSTODIA_NEAR_DUPLICATE_DISTANCE may be: unrelated photos
 * differ by 32 bits on average, so pairs beyond it are not duplicates of anything.
 *
 * The pairs of photos already processed are made here, once: a comparison within each case,
 * quadratic in its photos (seconds for a few thousand; a case of 100,000 would take long).
 */
export class NearDuplicatePairs1764001700000 implements MigrationInterface {
  name = 'NearDuplicatePairs1764001700000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE evidence_near_duplicates (
        evidence_id uuid NOT NULL REFERENCES evidence_items (id),
        other_id uuid NOT NULL REFERENCES evidence_items (id),
        distance smallint NOT NULL CHECK (distance BETWEEN 0 AND 16),
        PRIMARY KEY (evidence_id, other_id),
        CHECK (other_id <> evidence_id)
      )`);
    await db.query(`
      INSERT INTO evidence_near_duplicates (evidence_id, other_id, distance)
      SELECT a.id, b.id, bit_count((a.perceptual_hash # b.perceptual_hash)::bit(64))
        FROM evidence_items a JOIN evidence_items b ON b.case_id = a.case_id AND b.id <> a.id
       WHERE a.perceptual_hash IS NOT NULL AND b.perceptual_hash IS NOT NULL
         AND bit_count((a.perceptual_hash # b.perceptual_hash)::bit(64)) <= 16`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE evidence_near_duplicates`);
  }
}
