import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who linked an item to its incident: a documenter is shown the link they made, never one an
 * investigator made to an incident the documenter cannot read.
 */
/** Links made before the column: the actor of the item's last integrated `evidence.linked` event. */
export const LINKED_BY_FROM_THE_LOG = `
  UPDATE evidence_items e SET incident_linked_by = l.actor_id
    FROM (SELECT DISTINCT ON (subject_id) subject_id, actor_id
            FROM custody_events
           WHERE subject_type = 'evidence' AND action = 'evidence.linked'
           ORDER BY subject_id, leaf_index DESC) l
   WHERE e.incident_id IS NOT NULL AND l.subject_id = e.id::text
     AND EXISTS (SELECT 1 FROM users u WHERE u.id = l.actor_id)`;

export class IncidentLinkedBy1764002100000 implements MigrationInterface {
  name = 'IncidentLinkedBy1764002100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE evidence_items ADD COLUMN incident_linked_by uuid REFERENCES users (id)`);
    await db.query(LINKED_BY_FROM_THE_LOG);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE evidence_items DROP COLUMN incident_linked_by`);
  }
}
