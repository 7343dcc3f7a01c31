import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The database announces every change that can end or alter what a bearer token means (issue 12:
 * API processes keep resolved tokens in memory, libs/auth TokenCache): `NOTIFY custodia_auth`
 * after a token is revoked, its expiry or owner changed, or it is deleted, and after any change
 * to an account (role, disabling, password, name, language) or its deletion. Statement triggers
 * in the changing transaction, so the notification goes out when, and only if, it commits,
 * whichever process or hand made the change. A token's `last_used_at` alone announces nothing.
 */
export class AuthChanges1764001500000 implements MigrationInterface {
  name = 'AuthChanges1764001500000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION custodia_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('custodia_auth', '');
        RETURN NULL;
      END $$`);
    await db.query(`CREATE TRIGGER access_tokens_changed AFTER UPDATE OF token_hash, user_id, kind, expires_at, revoked_at OR DELETE OR TRUNCATE ON access_tokens
      FOR EACH STATEMENT EXECUTE FUNCTION custodia_auth_changed()`);
    await db.query(`CREATE TRIGGER users_changed AFTER UPDATE OR DELETE OR TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION custodia_auth_changed()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER users_changed ON users`);
    await db.query(`DROP TRIGGER access_tokens_changed ON access_tokens`);
    await db.query(`DROP FUNCTION custodia_auth_changed()`);
  }
}
