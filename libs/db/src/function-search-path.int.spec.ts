import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { FUNCTIONS_WITHOUT_SEARCH_PATH } from './migrations/1764002400000-function-search-path.js';

describe("the schema's functions under an empty search path, as pg_restore runs them", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('each sets its own search path (a function a later migration adds without one is named here)', async () => {
    expect(await db.superuserQuery(FUNCTIONS_WITHOUT_SEARCH_PATH)).toEqual([]);
  });

  it("computes a remnant's marking skeleton (a generated column of remnants) with no schema on the path", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows: [schema] } = await client.query<{ name: string }>(`SELECT current_schema() AS name`);
      await client.query(`SET search_path = ''`);
      const { rows: [row] } = await client.query<{ skeleton: string }>(
        `SELECT "${schema!.name}".remnant_marking_skeleton('{"serialNumber":"Ц-0123","markings":[{"text":"9М"}]}'::jsonb) AS skeleton`,
      );
      expect(row!.skeleton.split('\n')).toHaveLength(2);
    } finally {
      await client.end();
    }
  });
});
