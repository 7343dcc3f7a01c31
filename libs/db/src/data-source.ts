import { DataSource, type EntitySchema, type MixedList } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityList = MixedList<Function | string | EntitySchema>;

/** A PostgreSQL data source with the project's migrations; the schema is never synchronised. */
export function createDataSource(url: string, entities: EntityList, options: { poolSize?: number } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    poolSize: options.poolSize ?? 10,
    // Which process a session belongs to, in pg_stat_activity (the elected sequencer's, say).
    applicationName: `custodia:${process.pid}`,
  });
}

/** Runs pending migrations; safe when several instances start at once (advisory lock). */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', ['custodia.migrations']);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock(hashtext($1))', ['custodia.migrations']).catch(() => undefined);
    await runner.release();
  }
}
