import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A retired signing key's last head: the head that ends with the `key.rotated` event retiring
 * it, signed by that key. Without it the newest head the old key signed ended before the
 * rotation, so someone who trusted only the old key had no signed path to the new one. At most
 * one per retired key; append-only as the log's heads are.
 */
export class KeyHandovers1764002500000 implements MigrationInterface {
  name = 'KeyHandovers1764002500000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE custody_key_handovers (
        key_id text PRIMARY KEY REFERENCES custody_signing_keys (key_id),
        next_key_id text NOT NULL UNIQUE REFERENCES custody_signing_keys (key_id),
        leaf_index bigint NOT NULL UNIQUE CHECK (leaf_index >= 0),
        tree_size bigint NOT NULL CHECK (tree_size = leaf_index + 1),
        root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
        signed_timestamp text NOT NULL,
        signature text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CHECK (next_key_id <> key_id)
      )`);
    await db.query(`CREATE TRIGGER custody_key_handovers_append_only BEFORE UPDATE OR DELETE ON custody_key_handovers
                      FOR EACH ROW EXECUTE FUNCTION custody_reject_change()`);
    await db.query(`CREATE TRIGGER custody_key_handovers_no_truncate BEFORE TRUNCATE ON custody_key_handovers
                      FOR EACH STATEMENT EXECUTE FUNCTION custody_reject_change()`);
  }

  async down(): Promise<void> {
    throw new Error('The custody log is never rolled back: restore from a backup instead');
  }
}
