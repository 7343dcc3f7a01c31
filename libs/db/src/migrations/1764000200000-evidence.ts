import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Evidence items. What arrived (hash, size, receipt time, submitter, case, original name) and
 * what the file says about itself (`extracted`) never change after insert: a trigger refuses
 * it, and refuses every DELETE. Annotations, status and derived data may change, each change
 * recorded in the custody log.
 */
export class Evidence1764000200000 implements MigrationInterface {
  name = 'Evidence1764000200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE evidence_items (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        case_id uuid NOT NULL REFERENCES cases (id),
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        media_type text NOT NULL,
        declared_media_type text,
        original_file_name text,
        submitted_by uuid NOT NULL REFERENCES users (id),
        received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        client_submission_id text,
        client_sha256_matched boolean,
        source_type text NOT NULL DEFAULT 'other' CHECK (source_type IN
          ('field_capture', 'witness_submission', 'open_source', 'official_record', 'other')),
        source_url text,
        language text,
        title text,
        description text,
        tags text[] NOT NULL DEFAULT '{}',
        incident_id uuid,
        status text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'under_review', 'verified', 'disputed')),
        declared_captured_at timestamptz,
        declared_lat double precision CHECK (declared_lat BETWEEN -90 AND 90),
        declared_lon double precision CHECK (declared_lon BETWEEN -180 AND 180),
        declared_accuracy_m double precision CHECK (declared_accuracy_m >= 0),
        extracted jsonb,
        extracted_lat double precision,
        extracted_lon double precision,
        -- Where and when for search: what the file says, else what the submitter declared.
        lat double precision GENERATED ALWAYS AS (coalesce(extracted_lat, declared_lat)) STORED,
        lon double precision GENERATED ALWAYS AS (coalesce(extracted_lon, declared_lon)) STORED,
        captured_at timestamptz,
        flags text[] NOT NULL DEFAULT '{}',
        duplicate_of uuid REFERENCES evidence_items (id),
        perceptual_hash bigint,
        processing text NOT NULL DEFAULT 'pending' CHECK (processing IN ('pending', 'done', 'failed')),
        processing_error text,
        thumbnail_sha256 text CHECK (thumbnail_sha256 ~ '^[0-9a-f]{64}$'),
        preview_sha256 text CHECK (preview_sha256 ~ '^[0-9a-f]{64}$'),
        CONSTRAINT evidence_items_client_submission_key UNIQUE (submitted_by, client_submission_id)
      )`);
    await db.query(`CREATE INDEX evidence_items_case_received_idx ON evidence_items (case_id, received_at DESC, id DESC)`);
    await db.query(`CREATE INDEX evidence_items_case_sha_idx ON evidence_items (case_id, sha256)`);
    await db.query(`CREATE INDEX evidence_items_case_submitter_idx ON evidence_items (case_id, submitted_by)`);
    await db.query(`CREATE INDEX evidence_items_position_idx ON evidence_items USING gist (point(lon, lat)) WHERE lat IS NOT NULL`);
    await db.query(`CREATE INDEX evidence_items_captured_idx ON evidence_items (case_id, captured_at)`);
    await db.query(`CREATE INDEX evidence_items_flags_idx ON evidence_items USING gin (flags)`);
    await db.query(`CREATE INDEX evidence_items_phash_idx ON evidence_items (case_id) INCLUDE (perceptual_hash) WHERE perceptual_hash IS NOT NULL`);

    await db.query(`
      CREATE FUNCTION evidence_original_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'evidence items are never deleted' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (NEW.id, NEW.case_id, NEW.sha256, NEW.size_bytes, NEW.media_type, NEW.declared_media_type,
            NEW.original_file_name, NEW.submitted_by, NEW.received_at, NEW.client_submission_id,
            NEW.client_sha256_matched, NEW.extracted, NEW.declared_captured_at, NEW.declared_lat, NEW.declared_lon)
           IS DISTINCT FROM
           (OLD.id, OLD.case_id, OLD.sha256, OLD.size_bytes, OLD.media_type, OLD.declared_media_type,
            OLD.original_file_name, OLD.submitted_by, OLD.received_at, OLD.client_submission_id,
            OLD.client_sha256_matched, OLD.extracted, OLD.declared_captured_at, OLD.declared_lat, OLD.declared_lon) THEN
          RAISE EXCEPTION 'what was received for an evidence item never changes' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER evidence_items_original_guard BEFORE UPDATE OR DELETE ON evidence_items
                      FOR EACH ROW EXECUTE FUNCTION evidence_original_guard()`);
    await db.query(`CREATE TRIGGER evidence_items_no_truncate BEFORE TRUNCATE ON evidence_items
                      FOR EACH STATEMENT EXECUTE FUNCTION custody_reject_change()`);
  }

  async down(): Promise<void> {
    throw new Error('Evidence is never rolled back: restore from a backup instead');
  }
}
