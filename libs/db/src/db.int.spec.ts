import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';

describe('test database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('is migrated', async () => {
    const rows = await db.superuserQuery<{ name: string }>(`SELECT name FROM migrations ORDER BY id`);
    expect(rows.map((row) => row.name)).toContain('Foundation1764000000000');
  });
});
