import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts (issue 10, item 2) and system events in the custody log (item 4).
 *
 * - `users.must_change_password`: set by an administrator with a new password; until the user
 *   changes it, every route but changing it, `GET /auth/me` and logout answers 403.
 * - `custody_events.actor_id` may be NULL: the system actor (`{ "id": "system" }`, custody.md
 *   "Who acted") is stored as NULL, a user as their uuid; the event bytes keep the actor as it
 *   is and replay checks the mapping. Dropping NOT NULL rewrites nothing and fires no row
 *   trigger; the append-only triggers stay as they are (a test proves UPDATE and DELETE are
 *   still refused after this migration). `case_id` is already nullable: system events have none.
 * - `login_failures` by (account, address): the progressive slowdown counts failures of one
 *   account from one address; old rows are purged by time.
 */
export class Accounts1764000700000 implements MigrationInterface {
  name = 'Accounts1764000700000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false`);
    await db.query(`ALTER TABLE custody_events ALTER COLUMN actor_id DROP NOT NULL`);
    await db.query(`CREATE INDEX login_failures_pair_idx ON login_failures (email_key, client_ip, at)`);
    await db.query(`CREATE INDEX login_failures_at_idx ON login_failures (at)`);
  }

  async down(): Promise<void> {
    throw new Error('The custody log is never rolled back: restore from a backup instead');
  }
}
