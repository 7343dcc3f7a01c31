#!/usr/bin/env node
import { ConfigError, loadConfig, withEnvironmentFile } from '#custodia/config';
import { StartupError } from '#custodia/errors';
import { createLogger } from '#custodia/logging';
import { startWorker, type RunningWorker } from './worker.js';

// The same settings as the API: the environment over CUSTODIA_ENV_FILE or ./.env.
let config;
try {
  config = loadConfig(withEnvironmentFile(process.env, process.cwd()).env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
const logger = createLogger(config.logLevel);

const shell: { running?: RunningWorker; stopRequested: boolean } = { stopRequested: false };
const stop = (running: RunningWorker): void => {
  running
    .stop()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'worker shutting down (running jobs finish first)');
    shell.stopRequested = true;
    if (shell.running) stop(shell.running);
  });
}

const running = await startWorker(config, logger).catch((error: unknown) => {
  if (error instanceof StartupError) process.stderr.write(`The Custodia worker could not start: ${error.message}\n`);
  else logger.fatal({ err: error }, 'the Custodia worker could not start');
  process.exit(1);
});
shell.running = running;
if (shell.stopRequested) stop(running);
else process.stdout.write(`Custodia worker: working the job queue of ${config.databaseUrl ? 'DATABASE_URL' : config.dataDir}\n`);
