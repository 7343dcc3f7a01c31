import type { MigrationInterface, QueryRunner } from 'typeorm';

const APPEND_ONLY_TABLES = ['custody_events', 'custody_nodes', 'custody_tree_heads'];

/**
 * The custody log (custody.md): events as their exact RFC 8785 bytes, the perfect-subtree
 * hashes that make appends and proofs O(log n), every signed tree head, and the signing keys.
 * The first three are append-only in the database itself: triggers reject UPDATE, DELETE and
 * TRUNCATE whatever the application does.
 */
export class CustodyLog1764000100000 implements MigrationInterface {
  name = 'CustodyLog1764000100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE custody_signing_keys (
        key_id text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{64}$'),
        algorithm text NOT NULL DEFAULT 'Ed25519' CHECK (algorithm = 'Ed25519'),
        public_key_pem text NOT NULL,
        private_key_sealed bytea NOT NULL,
        active_from timestamptz NOT NULL DEFAULT now(),
        active_to timestamptz
      )`);
    // At most one key signs at a time.
    await db.query(`CREATE UNIQUE INDEX custody_signing_keys_one_active ON custody_signing_keys ((true)) WHERE active_to IS NULL`);

    await db.query(`
      CREATE TABLE custody_events (
        leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
        event_bytes bytea NOT NULL,
        leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32),
        action text NOT NULL,
        case_id uuid,
        subject_type text NOT NULL,
        subject_id text NOT NULL,
        actor_id uuid NOT NULL,
        at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`CREATE INDEX custody_events_case_idx ON custody_events (case_id, leaf_index)`);
    await db.query(`CREATE INDEX custody_events_subject_idx ON custody_events (subject_type, subject_id, leaf_index)`);
    await db.query(`CREATE INDEX custody_events_actor_idx ON custody_events (actor_id, leaf_index)`);

    await db.query(`
      CREATE TABLE custody_nodes (
        level smallint NOT NULL CHECK (level >= 0 AND level < 64),
        idx bigint NOT NULL CHECK (idx >= 0),
        hash bytea NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
      )`);

    await db.query(`
      CREATE TABLE custody_tree_heads (
        tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
        root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
        signed_timestamp text NOT NULL,
        key_id text NOT NULL REFERENCES custody_signing_keys (key_id),
        signature text NOT NULL,
        tsa_token bytea,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);

    await db.query(`
      CREATE FUNCTION custody_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'custody log table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of APPEND_ONLY_TABLES) {
      await db.query(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
           FOR EACH ROW EXECUTE FUNCTION custody_reject_change()`,
      );
      await db.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
           FOR EACH STATEMENT EXECUTE FUNCTION custody_reject_change()`,
      );
    }
    // A signing key is never deleted or altered; it may only be retired once (rotation).
    await db.query(`
      CREATE FUNCTION custody_signing_key_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND OLD.active_to IS NULL AND NEW.active_to IS NOT NULL
           AND (NEW.key_id, NEW.algorithm, NEW.public_key_pem, NEW.private_key_sealed, NEW.active_from)
               IS NOT DISTINCT FROM (OLD.key_id, OLD.algorithm, OLD.public_key_pem, OLD.private_key_sealed, OLD.active_from) THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'custody signing keys are kept forever: only retiring an active key is allowed'
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`CREATE TRIGGER custody_signing_keys_guard BEFORE UPDATE OR DELETE ON custody_signing_keys
                      FOR EACH ROW EXECUTE FUNCTION custody_signing_key_guard()`);
    await db.query(`CREATE TRIGGER custody_signing_keys_no_truncate BEFORE TRUNCATE ON custody_signing_keys
                      FOR EACH STATEMENT EXECUTE FUNCTION custody_reject_change()`);
  }

  async down(): Promise<void> {
    throw new Error('The custody log is never rolled back: restore from a backup instead');
  }
}
