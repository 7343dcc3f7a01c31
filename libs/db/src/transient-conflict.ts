import { setTimeout as sleep } from 'node:timers/promises';

/** SQLSTATEs of a transaction PostgreSQL ended to resolve a conflict with another one: run again, it may pass. */
const TRANSIENT = new Set(['40P01' /* deadlock_detected */, '40001' /* serialization_failure */]);

/** Whether PostgreSQL ended the statement's transaction for a deadlock or a serialization failure. */
export function isTransientConflict(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string } })?.driverError ?? error;
  return TRANSIENT.has((driverError as { code?: string } | null)?.code ?? '');
}

/**
 * Whether the statement failed because the database connection was lost while it ran: an
 * operator's pg_terminate_backend (57P01), a restart or crash (57P02, 57P03), a connection
 * exception (class 08), or the socket closed under node-postgres. The request may be sent again.
 */
export function isLostConnection(error: unknown): boolean {
  const driverError = ((error as { driverError?: unknown })?.driverError ?? error) as { code?: unknown; message?: unknown } | null;
  const code = typeof driverError?.code === 'string' ? driverError.code : '';
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE'].includes(code)) return true;
  if ((error as Error | null)?.name === 'QueryRunnerProviderAlreadyReleasedError') return true;
  return /^(Connection terminated|Client has encountered a connection error|Client was closed)/.test(String(driverError?.message ?? ''));
}

/**
 * Runs `work` (a whole transaction: it must hold nothing outside the database it would leave
 * behind) again when PostgreSQL ends it for a deadlock or a serialization failure, as its manual
 * advises, up to `attempts` times, after a short random pause so the two do not meet again.
 */
export async function retryTransientConflicts<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransientConflict(error)) throw error;
      await sleep(5 + Math.random() * 20 * attempt);
    }
  }
}
