import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Court packages. A row follows its package from request to ready; what was asked for (case,
 * purpose, selection, names, who, when) never changes, and once a package is ready its hash and
 * size are fixed: the custody log recorded them in `export.created`. Rows are never deleted.
 */
export class Exports1764000500000 implements MigrationInterface {
  name = 'Exports1764000500000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE exports (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        case_id uuid NOT NULL REFERENCES cases (id),
        purpose text NOT NULL CHECK (purpose IN ('court', 'partner')),
        include_names boolean NOT NULL DEFAULT false CHECK (NOT (include_names AND purpose = 'partner')),
        selection jsonb NOT NULL,
        note text,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'ready', 'failed')),
        items integer NOT NULL DEFAULT 0,
        items_done integer NOT NULL DEFAULT 0,
        bytes bigint NOT NULL DEFAULT 0,
        bytes_done bigint NOT NULL DEFAULT 0,
        bag_name text,
        tree_size bigint,
        sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size_bytes bigint CHECK (size_bytes >= 0),
        error text,
        created_by uuid NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        started_at timestamptz,
        finished_at timestamptz,
        CHECK (status <> 'ready' OR (sha256 IS NOT NULL AND size_bytes IS NOT NULL))
      )`);
    await db.query(`CREATE INDEX exports_case_created_idx ON exports (case_id, created_at DESC, id DESC)`);
    await db.query(`
      CREATE FUNCTION exports_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'exports are never deleted' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (NEW.id, NEW.case_id, NEW.purpose, NEW.include_names, NEW.selection, NEW.note, NEW.created_by, NEW.created_at)
           IS DISTINCT FROM (OLD.id, OLD.case_id, OLD.purpose, OLD.include_names, OLD.selection, OLD.note, OLD.created_by, OLD.created_at) THEN
          RAISE EXCEPTION 'what an export asked for never changes' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.status IN ('ready', 'failed') AND NEW IS DISTINCT FROM OLD THEN
          RAISE EXCEPTION 'a finished export never changes' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER exports_guard BEFORE UPDATE OR DELETE ON exports FOR EACH ROW EXECUTE FUNCTION exports_guard()`);
    await db.query(`CREATE TRIGGER exports_no_truncate BEFORE TRUNCATE ON exports FOR EACH STATEMENT EXECUTE FUNCTION custody_reject_change()`);
  }

  async down(): Promise<void> {
    throw new Error('Exports are never rolled back: restore from a backup instead');
  }
}
