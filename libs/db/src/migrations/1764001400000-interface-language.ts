import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The web console's language per user (issue 13): `uk` or `en`, null until the user picks one
 * (the console then follows the browser). A preference, not account administration: changing it
 * records no custody event.
 */
export class InterfaceLanguage1764001400000 implements MigrationInterface {
  name = 'InterfaceLanguage1764001400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN language text CONSTRAINT users_language_check CHECK (language IN ('uk', 'en'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users DROP COLUMN language`);
  }
}
