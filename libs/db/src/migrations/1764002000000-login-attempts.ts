import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A login attempt is marked before its password is checked (so parallel guesses cannot slip past
 * the count) and settles as a failure when the password was wrong; until then it is pending.
 * Rows made before are failures.
 */
export class LoginAttempts1764002000000 implements MigrationInterface {
  name = 'LoginAttempts1764002000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE login_failures ADD COLUMN settled boolean NOT NULL DEFAULT true`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DELETE FROM login_failures WHERE NOT settled`);
    await db.query(`ALTER TABLE login_failures DROP COLUMN settled`);
  }
}
