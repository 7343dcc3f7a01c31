import { ERRORS, MemoryLocker, type Lock, type Locker, type RequestRelease } from '@tus/server';
import pg from 'pg';

const POLL_MS = 50;

/**
 * tus locks that hold across API instances: an upload is written by one request at a time
 * whichever instance serves it. Within this process the tus MemoryLocker orders requests (and
 * asks a stale holder to let go, as tus wants); across processes a PostgreSQL session advisory
 * lock on the upload's id does. The advisory locks live on a small pool of their own: a lock is
 * held while the store reads the upload's record through the main pool, so sharing one pool
 * could leave every connection holding a lock and none to read with.
 */
export class PostgresLocker implements Locker {
  private readonly local: MemoryLocker;
  readonly pool: pg.Pool;

  constructor(
    connectionString: string,
    private readonly timeoutMs = 30_000,
    size = 20,
  ) {
    this.local = new MemoryLocker({ acquireLockTimeout: timeoutMs });
    this.pool = new pg.Pool({ connectionString, max: size, application_name: 'custodia-upload-locks' });
    // An idle lock connection that breaks is simply replaced; it holds nothing.
    this.pool.on('error', () => undefined);
  }

  newLock(id: string): Lock {
    return new PostgresLock(id, this.local.newLock(id), this.pool, this.timeoutMs);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

class PostgresLock implements Lock {
  private client: pg.PoolClient | null = null;

  constructor(
    private readonly id: string,
    private readonly local: Lock,
    private readonly pool: pg.Pool,
    private readonly timeoutMs: number,
  ) {}

  async lock(signal: AbortSignal, cancelReq: RequestRelease): Promise<void> {
    await this.local.lock(signal, cancelReq);
    try {
      const client = await this.pool.connect();
      const deadline = Date.now() + this.timeoutMs;
      try {
        for (;;) {
          const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`, [`tus:${this.id}`]);
          if (rows[0]!.locked) break;
          if (signal.aborted) throw ERRORS.ABORTED;
          if (Date.now() > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      } catch (error) {
        client.release();
        throw error;
      }
      this.client = client;
    } catch (error) {
      await this.local.unlock();
      throw error;
    }
  }

  async unlock(): Promise<void> {
    const client = this.client;
    this.client = null;
    try {
      if (client) {
        await client.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [`tus:${this.id}`]).then(
          () => client.release(),
          // A connection that failed to unlock is closed, which frees its lock.
          (error: Error) => client.release(error),
        );
      }
    } finally {
      await this.local.unlock();
    }
  }
}
