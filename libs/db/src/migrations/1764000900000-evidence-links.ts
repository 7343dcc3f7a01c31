import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Evidence-incident links, one source of truth (issue 10, item 3): `evidence_items.incident_id`
 * with the link's role beside it (`incident_link_role`, data-model.md's roles). Links made from
 * the incident side (its `evidence` list) used to live only in the incident's record and links
 * made from the evidence side only in `incident_id`: the two disagreed.
 *
 * Backfill: every link an incident's record names whose item is in the same case and not yet
 * linked elsewhere becomes the item's link, with its role; items already linked keep their
 * link and get the role `other`. Links to no incident or across cases (the API never checked)
 * are cut, and a foreign key on (incident_id, case_id) refuses them from now on. Records' stored JSON is not rewritten: each record version keeps the
 * bytes its custody event hashed; the incident's `evidence` is read from the items from now on.
 */
export class EvidenceLinks1764000900000 implements MigrationInterface {
  name = 'EvidenceLinks1764000900000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE evidence_items ADD COLUMN incident_link_role text
         CHECK (incident_link_role IN ('depicts_aftermath', 'depicts_munition', 'depicts_casualty', 'witness_account', 'official_record', 'other'))`,
    );
    // A link to no incident or to an incident of another case never was valid (any UUID was
    // accepted): cut it, then let the database refuse such links from now on.
    await db.query(
      `UPDATE evidence_items e SET incident_id = NULL
        WHERE e.incident_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = e.incident_id AND i.case_id = e.case_id)`,
    );
    await db.query(`UPDATE evidence_items SET incident_link_role = 'other' WHERE incident_id IS NOT NULL`);
    await db.query(
      `UPDATE evidence_items e SET incident_id = l.incident_id, incident_link_role = l.role
         FROM (SELECT DISTINCT ON (link ->> 'evidenceId') i.id AS incident_id, i.case_id, (link ->> 'evidenceId')::uuid AS evidence_id,
                      COALESCE(link ->> 'role', 'other') AS role
                 FROM incidents i, jsonb_array_elements(COALESCE(i.record -> 'evidence', '[]'::jsonb)) AS link
                ORDER BY link ->> 'evidenceId', i.created_at) l
        WHERE e.id = l.evidence_id AND e.case_id = l.case_id AND e.incident_id IS NULL`,
    );
    await db.query(`ALTER TABLE evidence_items ADD CONSTRAINT evidence_items_link_role_check CHECK ((incident_id IS NULL) = (incident_link_role IS NULL))`);
    // Same case by construction: the pair references the incident's (id, case_id).
    await db.query(`ALTER TABLE incidents ADD CONSTRAINT incidents_id_case_key UNIQUE (id, case_id)`);
    await db.query(
      `ALTER TABLE evidence_items ADD CONSTRAINT evidence_items_incident_fkey
         FOREIGN KEY (incident_id, case_id) REFERENCES incidents (id, case_id)`,
    );
    await db.query(`CREATE INDEX IF NOT EXISTS evidence_items_incident_idx ON evidence_items (incident_id) WHERE incident_id IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE evidence_items DROP CONSTRAINT evidence_items_incident_fkey`);
    await db.query(`ALTER TABLE incidents DROP CONSTRAINT incidents_id_case_key`);
    await db.query(`ALTER TABLE evidence_items DROP CONSTRAINT evidence_items_link_role_check`);
    await db.query(`ALTER TABLE evidence_items DROP COLUMN incident_link_role`);
  }
}
