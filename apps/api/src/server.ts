import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { UsersService } from '#custodia/auth';
import type { CustodiaConfig } from '#custodia/config';
import { openDatabase, type EmbeddedDatabase } from '#custodia/db';
import { createApp } from './app.js';
import { ENTITIES } from './entities.js';

/** A running archive: HTTP server, database and (without DATABASE_URL) its embedded PostgreSQL. */
export interface RunningCustodia {
  app: NestExpressApplication;
  dataSource: DataSource;
  url: string;
  embedded: EmbeddedDatabase | null;
  /** Set when this start created the first administrator. */
  initialAdmin: InitialAdmin | null;
  /** Stops taking requests, lets in-flight ones finish, closes the database, stops PostgreSQL. */
  stop(): Promise<void>;
}

export interface InitialAdmin {
  email: string;
  /** Where a generated password was written (0600), when none was configured. */
  passwordFile: string | null;
}

const DEFAULT_ADMIN_EMAIL = 'admin@custodia.local';

/**
 * The first administrator, when the database has no user yet: from CUSTODIA_ADMIN_EMAIL and
 * CUSTODIA_ADMIN_PASSWORD, or else with a generated password written to a 0600 file in the
 * data folder (never to the log), so a bare `npm start` still gives a way in.
 */
async function createFirstAdmin(config: CustodiaConfig, users: UsersService, logger: Logger): Promise<InitialAdmin | null> {
  const email = config.adminEmail ?? DEFAULT_ADMIN_EMAIL;
  const generated = config.adminPassword === null;
  const password = config.adminPassword ?? randomBytes(18).toString('base64url');
  const admin = await users.ensureFirstAdmin(email, password);
  if (!admin) return null;
  let passwordFile: string | null = null;
  if (generated) {
    passwordFile = path.join(config.dataDir, 'initial-admin-password');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  logger.info({ userId: admin.id, generatedPassword: generated }, 'first administrator created');
  return { email, passwordFile };
}

/**
 * Fails at once when the HTTP port cannot be had (taken, privileged, no such address), with the
 * error `listen` itself would give, rather than after PostgreSQL started and the migrations ran.
 */
function probePort(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** Starts the whole archive as `npm start` does. */
export async function startCustodia(config: CustodiaConfig, logger: Logger): Promise<RunningCustodia> {
  await probePort(config.port, config.host);
  const { dataSource, embedded, close } = await openDatabase(config, logger, ENTITIES);
  let app: NestExpressApplication | undefined;
  let initialAdmin: InitialAdmin | null = null;
  try {
    app = await createApp(config, dataSource, logger);
    initialAdmin = await createFirstAdmin(config, app.get(UsersService), logger);
    await app.listen(config.port, config.host);
  } catch (error) {
    // The modules first (the job queue holds connections), then the database and PostgreSQL.
    await app?.close().catch(() => undefined);
    await close().catch(() => undefined);
    throw error;
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    app,
    dataSource,
    url,
    embedded,
    initialAdmin,
    stop: () =>
      (stopping ??= (async () => {
        await app.close();
        await close();
      })()),
  };
}
