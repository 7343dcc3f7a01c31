#!/usr/bin/env node
import { loadConfigOrExit } from '#custodia/config';
import { databaseStartFailure } from '#custodia/db';
import { StartupError } from '#custodia/errors';
import { createLogger, stopOnSignals } from '#custodia/logging';
import { startWorker } from './worker.js';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
const shutdown = stopOnSignals(logger, 'the worker (running jobs finish first)');

const running = await startWorker(config, logger).catch((error: unknown) => {
  const failure = error instanceof StartupError ? error.message : databaseStartFailure(error);
  if (failure) process.stderr.write(`The Custodia worker could not start: ${failure}\n`);
  else logger.fatal({ err: error }, 'the Custodia worker could not start');
  process.exit(1);
});
if (shutdown.running(running)) process.stdout.write(`Custodia worker: working the job queue of ${config.databaseUrl ? 'DATABASE_URL' : config.dataDir}\n`);
