import { loadConfigOrExit, type CustodiaConfig } from '#custodia/config';
import { databaseStartFailure } from '#custodia/db';
import { StartupError } from '#custodia/errors';
import { createLogger, stopOnSignals } from '#custodia/logging';
import { prepareDataDirectory } from '#custodia/storage';
import { startCustodia } from './server.js';

/**
 * What to tell the operator when the start fails for a reason outside the code (a folder, a
 * port, a user), in a sentence and without a stack; undefined for anything else, which is a bug
 * and is logged in full.
 */
function startFailure(error: unknown, config: CustodiaConfig): string | undefined {
  if (error instanceof StartupError) return error.message;
  const { code, syscall, path: file } = (error ?? {}) as NodeJS.ErrnoException;
  const where = `${config.host}:${config.port}`;
  if (syscall === 'listen' && code === 'EADDRINUSE') return `port ${where} is taken: set PORT to a free port (0 picks one), or stop what uses it.`;
  if (syscall === 'listen' && (code === 'EACCES' || code === 'EPERM')) return `this user may not listen on ${where}: set PORT above 1023.`;
  if (syscall === 'listen' && code === 'EADDRNOTAVAIL') return `${config.host} is no address of this machine: set HOST (127.0.0.1, or 0.0.0.0 for all).`;
  if (file && (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')) {
    return `${file} cannot be ${syscall === 'open' || syscall === 'scandir' ? 'opened' : 'changed'} by this user (${code}): every file in CUSTODIA_DATA_DIR (${config.dataDir}) must belong to the user that runs Custodia.`;
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') return `the disk of ${file ?? config.dataDir} is full (${code}): free some space.`;
  return databaseStartFailure(error);
}

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
const shutdown = stopOnSignals(logger, 'Custodia');

const running = await prepareDataDirectory(config.dataDir)
  .then(() => startCustodia(config, logger))
  .catch((error: unknown) => {
    const failure = startFailure(error, config);
    if (failure) process.stderr.write(`Custodia could not start: ${failure}\n`);
    else logger.fatal({ err: error }, 'Custodia could not start');
    process.exit(1);
  });

if (shutdown.running(running)) {
  process.stdout.write(
    [
      '',
      `Custodia is listening on ${running.url}/api/v1`,
      `  Web console: ${running.url}/`,
      `  API documentation: ${running.url}/api/docs`,
      running.initialAdmin
        ? `  First administrator: ${running.initialAdmin.email}, password ${
            running.initialAdmin.passwordFile ? `in ${running.initialAdmin.passwordFile} (read it, then delete the file)` : 'from CUSTODIA_ADMIN_PASSWORD'
          }`
        : '  Accounts already exist; sign in with yours.',
      `  Sign in: curl -X POST ${running.url}/api/v1/auth/login -H 'Content-Type: application/json' -d '{"email":"...","password":"..."}'`,
      `  Data folder: ${config.dataDir}${running.embedded ? `; embedded PostgreSQL in ${running.embedded.clusterDir}` : ''}`,
      '',
    ].join('\n') + '\n',
  );
}
