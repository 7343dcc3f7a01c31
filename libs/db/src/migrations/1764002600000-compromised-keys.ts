import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A signing key known or feared to have leaked is marked compromised: it signs no handover, and
 * verifiers follow none it signed, since whoever holds it could sign any head or handover. The
 * mark is set once (with the rotation that retires the key, or later for a retired key) and is
 * never taken back; the `key.compromised` event in the log records it.
 */
export class CompromisedKeys1764002600000 implements MigrationInterface {
  name = 'CompromisedKeys1764002600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE custody_signing_keys ADD COLUMN compromised_at timestamptz`);
    await db.query(`ALTER TABLE custody_signing_keys ADD CONSTRAINT custody_signing_keys_compromised_retired
                      CHECK (compromised_at IS NULL OR active_to IS NOT NULL)`);
    // As before, a key is never deleted or altered, and retired once; it may also be marked
    // compromised once, never unmarked.
    await db.query(`
      CREATE OR REPLACE FUNCTION custody_signing_key_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE'
           AND (NEW.key_id, NEW.algorithm, NEW.public_key_pem, NEW.private_key_sealed, NEW.active_from)
               IS NOT DISTINCT FROM (OLD.key_id, OLD.algorithm, OLD.public_key_pem, OLD.private_key_sealed, OLD.active_from)
           AND (NEW.active_to IS NOT DISTINCT FROM OLD.active_to OR (OLD.active_to IS NULL AND NEW.active_to IS NOT NULL))
           AND (NEW.compromised_at IS NOT DISTINCT FROM OLD.compromised_at OR (OLD.compromised_at IS NULL AND NEW.compromised_at IS NOT NULL)) THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'custody signing keys are kept forever: only retiring an active key and marking a key compromised are allowed, once each'
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    const [{ name }] = await db.query(`SELECT current_schema() AS name`);
    await db.query(`ALTER FUNCTION custody_signing_key_guard() SET search_path = "${name}", pg_catalog`);
  }

  async down(): Promise<void> {
    throw new Error('The custody log is never rolled back: restore from a backup instead');
  }
}
