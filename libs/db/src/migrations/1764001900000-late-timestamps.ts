import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Time-stamps given to a tree head after it was signed: a head signed while the RFC 3161
 * authority could not be reached was kept without a token, and heads are write-once, so it
 * stayed unstamped (a court package built on it carried no `.tsr`). The late token is kept
 * beside the head, in a table as append-only as the log's (the head's row stays as signed):
 * at most one per head, only for a head signed without one.
 */
export class LateTimestamps1764001900000 implements MigrationInterface {
  name = 'LateTimestamps1764001900000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE custody_head_timestamps (
        tree_size bigint PRIMARY KEY REFERENCES custody_tree_heads (tree_size),
        tsa_token bytea NOT NULL CHECK (length(tsa_token) > 0),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`
      CREATE FUNCTION custody_head_timestamp_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM custody_tree_heads WHERE tree_size = NEW.tree_size AND tsa_token IS NOT NULL) THEN
          RAISE EXCEPTION 'the tree head of size % was time-stamped when it was signed', NEW.tree_size
            USING ERRCODE = 'unique_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER custody_head_timestamps_guard BEFORE INSERT ON custody_head_timestamps
                      FOR EACH ROW EXECUTE FUNCTION custody_head_timestamp_guard()`);
    await db.query(`CREATE TRIGGER custody_head_timestamps_append_only BEFORE UPDATE OR DELETE ON custody_head_timestamps
                      FOR EACH ROW EXECUTE FUNCTION custody_reject_change()`);
    await db.query(`CREATE TRIGGER custody_head_timestamps_no_truncate BEFORE TRUNCATE ON custody_head_timestamps
                      FOR EACH STATEMENT EXECUTE FUNCTION custody_reject_change()`);
  }

  async down(): Promise<void> {
    throw new Error('The custody log is never rolled back: restore from a backup instead');
  }
}
