import type { TestProject } from 'vitest/node';
import { asRole, createDataSource, EMBEDDED_APPLICATION_ROLE, grantApplicationRights, runMigrations } from '../../libs/db/src/index.js';
import { onServer, throwawayServer, withDatabase } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL with the right to create databases (any database name in it is replaced). */
    pgServerUrl: string;
    /** A migrated database each test file copies (CREATE DATABASE ... TEMPLATE). */
    templateDatabase: string;
    embeddedStartupMs: number;
  }
}

/**
 * One PostgreSQL for the whole run: DATABASE_URL when set (CI runs the suite a second time
 * against the machine's PostgreSQL 15), else an embedded server in a temporary folder.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await throwawayServer('test');
  const template = `custodia_tpl_${process.pid}_${Date.now()}`;
  await onServer(server.url, [`CREATE DATABASE ${template}`]);
  const dataSource = createDataSource(withDatabase(server.url, template), [], { poolSize: 2 });
  await dataSource.initialize();
  await runMigrations(dataSource);
  // The apps of the suite's files run as the archive's application role, as `npm start` does:
  // rows, but only SELECT and INSERT on the custody log (the copies keep the table grants).
  await grantApplicationRights(dataSource, asRole(withDatabase(server.url, template), EMBEDDED_APPLICATION_ROLE));
  await dataSource.destroy();

  project.provide('pgServerUrl', server.url);
  project.provide('templateDatabase', template);
  project.provide('embeddedStartupMs', server.startupMs);

  return async () => {
    // Databases a crashed test file left behind go too.
    const leftovers = await onServer<{ datname: string }>(server.url, [
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [template, `custodia_t_${process.pid}_%`],
    ]);
    await onServer(server.url, ...leftovers.map(({ datname }): [string] => [`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`]));
    await server.stop();
  };
}
