import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** What node-postgres's client offers a named statement. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
  query(text: string): Promise<unknown>;
  connection?: { parsedStatements?: Record<string, string> };
}

/** PostgreSQL's answer when a table changed under a prepared statement (a migration ran meanwhile). */
const isStalePlan = (error: unknown): boolean =>
  (error as { code?: string }).code === '0A000' && /cached plan must not change result type/.test(String((error as Error).message));

/**
 * Runs a hot read as a named prepared statement outside any transaction: PostgreSQL parses and
 * plans it once per connection instead of on every call (the planning of an item's read, joins
 * over a table with many indexes, took longer than running it: 0.9 ms against 0.5 ms). `name`
 * must be unique to `text`. In a transaction (`db` an EntityManager holding one) the statement is
 * sent as usual. When a migration changed a table under the statement (`0A000`, "cached plan must
 * not change result type"), it is deallocated on that connection and run once more.
 */
export async function preparedQuery<T>(db: DataSource | EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  const manager = 'manager' in db ? db.manager : db;
  if (manager.queryRunner) return manager.query(text, values);
  const runner: QueryRunner = manager.connection.createQueryRunner();
  try {
    const client = (await runner.connect()) as PgClient;
    try {
      return (await client.query({ name, text, values })).rows as T[];
    } catch (error) {
      if (!isStalePlan(error)) throw error;
      await client.query(`DEALLOCATE "${name}"`);
      delete client.connection?.parsedStatements?.[name];
      return (await client.query({ name, text, values })).rows as T[];
    }
  } finally {
    await runner.release();
  }
}
