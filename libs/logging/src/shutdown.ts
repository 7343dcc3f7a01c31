import type { Logger } from 'pino';

/**
 * Stops what a process runs on SIGINT or SIGTERM, then exits (1 when stopping failed). Taken
 * before anything starts, so a signal during the start is not lost: what is handed over later
 * with `running` is stopped at once (the embedded PostgreSQL with it, never left running).
 */
export function stopOnSignals(logger: Logger, what: string): { running(stoppable: { stop(): Promise<void> }): boolean } {
  let current: { stop(): Promise<void> } | undefined;
  let requested = false;
  const stop = (stoppable: { stop(): Promise<void> }): void => {
    stoppable
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Every signal is handled, not only the first: Node's default for a second Ctrl-C (or npm
    // passing the terminal's on) would end the process at once and leave the embedded PostgreSQL
    // running. Stopping is bounded (a smart shutdown of at most 3 s, then a fast one).
    process.on(signal, () => {
      if (requested) {
        logger.info({ signal }, `${what} is already shutting down`);
        return;
      }
      logger.info({ signal }, `${what} shutting down`);
      requested = true;
      if (current) stop(current);
    });
  }
  return {
    /** Hands over what to stop; false when a signal came first (it is being stopped now). */
    running(stoppable) {
      current = stoppable;
      if (requested) stop(stoppable);
      return !requested;
    },
  };
}
