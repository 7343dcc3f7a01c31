import { ConfigError, loadConfig } from '#custodia/config';
import { createLogger } from '#custodia/logging';
import { startCustodia } from './server.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

const logger = createLogger(config.logLevel);
const running = await startCustodia(config, logger).catch((error: unknown) => {
  logger.fatal({ err: error }, 'Custodia could not start');
  process.exit(1);
});

process.stdout.write(
  [
    '',
    `Custodia is listening on ${running.url}/api/v1`,
    `  API documentation: ${running.url}/api/docs`,
    running.initialAdmin
      ? `  First administrator: ${running.initialAdmin.email}, password ${
          running.initialAdmin.passwordFile ? `in ${running.initialAdmin.passwordFile} (read it, then delete the file)` : 'from CUSTODIA_ADMIN_PASSWORD'
        }`
      : '  Accounts already exist; sign in with yours.',
    `  Sign in: curl -X POST ${running.url}/api/v1/auth/login -H 'Content-Type: application/json' -d '{"email":"...","password":"..."}'`,
    `  Data folder: ${config.dataDir}${config.databaseUrl ? '' : ' (embedded PostgreSQL inside)'}`,
    '',
  ].join('\n') + '\n',
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    running
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  });
}
