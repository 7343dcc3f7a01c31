import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { createDataSource } from './data-source.js';
import { preparedQuery } from './prepared.js';

describe('preparedQuery (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase();
    // One connection, so every call meets the statement prepared by the first.
    ds = createDataSource(db.url, [], { poolSize: 1 });
    await ds.initialize();
    await ds.query(`CREATE TABLE prepared_things (id int PRIMARY KEY, label text)`);
    await ds.query(`INSERT INTO prepared_things VALUES (1, 'one'), (2, 'two')`);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const SQL = `SELECT t.* FROM prepared_things t WHERE t.id = $1`;
  const prepared = async (): Promise<string[]> =>
    (await ds.query(`SELECT name FROM pg_prepared_statements ORDER BY name`)).map((r: { name: string }) => r.name);

  it('prepares a statement once per connection and runs it with its values', async () => {
    expect(await preparedQuery(ds, 'things_by_id', SQL, [1])).toEqual([{ id: 1, label: 'one' }]);
    expect(await preparedQuery(ds, 'things_by_id', SQL, [2])).toEqual([{ id: 2, label: 'two' }]);
    expect(await prepared()).toEqual(['things_by_id']);
  });

  it('runs again after a migration changed the table under it (PostgreSQL refuses the cached plan once)', async () => {
    await preparedQuery(ds, 'things_by_id', SQL, [1]);
    await ds.query(`ALTER TABLE prepared_things ADD COLUMN added text DEFAULT 'new'`);
    expect(await preparedQuery(ds, 'things_by_id', SQL, [1])).toEqual([{ id: 1, label: 'one', added: 'new' }]);
    expect(await preparedQuery(ds, 'things_by_id', SQL, [2])).toEqual([{ id: 2, label: 'two', added: 'new' }]);
  });

  it("in a transaction, runs as the transaction's own statement and sees its writes", async () => {
    await ds.transaction(async (tx) => {
      await tx.query(`UPDATE prepared_things SET label = 'changed' WHERE id = 1`);
      expect(await preparedQuery<{ label: string }>(tx, 'things_by_id', SQL, [1])).toMatchObject([{ label: 'changed' }]);
      throw Object.assign(new Error('roll back'), { rollback: true });
    }).catch((error: { rollback?: boolean }) => {
      if (!error.rollback) throw error;
    });
    expect(await preparedQuery<{ label: string }>(ds, 'things_by_id', SQL, [1])).toMatchObject([{ label: 'one' }]);
  });

  it("in a transaction, prepares it on the transaction's connection; a table changed under it fails that transaction once, and the next prepares it anew", async () => {
    const INSERT = `INSERT INTO prepared_things (id, label) VALUES ($1, $2) RETURNING *`;
    const insert = (id: number) =>
      ds.transaction((tx) => preparedQuery<{ id: number; label: string }>(tx, 'things_insert', INSERT, [id, `thing ${id}`]));
    expect(await insert(10)).toMatchObject([{ id: 10, label: 'thing 10' }]);
    expect(await prepared()).toContain('things_insert');
    expect(await insert(11)).toMatchObject([{ id: 11, label: 'thing 11' }]);
    await ds.query(`ALTER TABLE prepared_things ADD COLUMN later text DEFAULT 'later'`);
    // Nothing can be sent in the failed transaction, not even DEALLOCATE: it rolls back ...
    await expect(insert(12)).rejects.toThrow(/cached plan must not change result type/);
    // ... and the next transaction runs the statement under its next name, with the new column.
    expect(await insert(12)).toEqual([{ id: 12, label: 'thing 12', added: 'new', later: 'later' }]);
    expect((await prepared()).filter((name) => name.startsWith('things_insert'))).toEqual(['things_insert', 'things_insert/1']);
    expect(await ds.query(`SELECT id FROM prepared_things WHERE id >= 10 ORDER BY id`)).toEqual([{ id: 10 }, { id: 11 }, { id: 12 }]);
  });
});
