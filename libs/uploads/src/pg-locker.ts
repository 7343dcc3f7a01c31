import { ERRORS, MemoryLocker, type Lock, type Locker, type RequestRelease } from '@tus/server';
import pg from 'pg';
import { TusRefusal } from './upload-store.js';

const POLL_MS = 50;

/** How often a request waiting for an upload's lock asks its holder, in another process, to let go. */
const ASK_EVERY_MS = 1000;

/** LISTEN/NOTIFY channel by which a waiting request asks the process holding an upload's lock to let go; the payload is the upload's id. */
const RELEASE_CHANNEL = 'custodia_upload_release';

/**
 * tus locks that hold across API instances: an upload is written by one request at a time
 * whichever instance serves it. Within this process the tus MemoryLocker orders requests (and
 * asks a stale holder to let go, as tus wants); across processes a PostgreSQL session advisory
 * lock on the upload's id does, and a request that finds it taken asks the holder's process to
 * let go (NOTIFY): a client that lost its connection and comes back through another instance
 * behind a load balancer is answered after the holder's drain, as on the same instance, not after
 * the lock's timeout. The advisory locks live on a small pool of their own: a lock is held while
 * the store reads the upload's record through the main pool, so sharing one pool could leave
 * every connection holding a lock and none to read with.
 */
export class PostgresLocker implements Locker {
  private readonly local: MemoryLocker;
  readonly pool: pg.Pool;
  /** Uploads whose database lock this process holds, with how to ask their request to let go. */
  private readonly held = new Map<string, RequestRelease>();
  /** The connection that hears release requests; started with the first lock, again after it breaks. */
  private listener: Promise<pg.Client | null> | null = null;

  constructor(
    private readonly connectionString: string,
    private readonly timeoutMs = 30_000,
    size = 20,
  ) {
    this.local = new MemoryLocker({ acquireLockTimeout: timeoutMs });
    // A request that finds every lock connection taken waits at most `timeoutMs` for one (503).
    this.pool = new pg.Pool({ connectionString, max: size, connectionTimeoutMillis: timeoutMs, application_name: 'custodia-upload-locks' });
    // An idle lock connection that breaks is simply replaced; it holds nothing.
    this.pool.on('error', () => undefined);
  }

  newLock(id: string): Lock {
    void this.listen();
    return new PostgresLock(id, this.local.newLock(id), this, this.timeoutMs);
  }

  /** This process now holds the upload's database lock; `release` asks its request to let go. */
  holding(id: string, release: RequestRelease): void {
    this.held.set(id, release);
  }

  released(id: string): void {
    this.held.delete(id);
  }

  async close(): Promise<void> {
    const listener = await this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  /**
   * Hears the other processes' requests to let go of an upload. Without it (the connection
   * broke, or cannot be made) locks still hold; a waiting request then waits for the holder to
   * finish or time out, as it did before.
   */
  private listen(): Promise<pg.Client | null> {
    this.listener ??= (async () => {
      const client = new pg.Client({ connectionString: this.connectionString, application_name: 'custodia-upload-release' });
      client.on('notification', (message) => {
        const release = message.payload ? this.held.get(message.payload) : undefined;
        if (release) void Promise.resolve(release()).catch(() => undefined);
      });
      client.on('error', () => {
        this.listener = null;
        client.end().catch(() => undefined);
      });
      await client.connect();
      await client.query(`LISTEN ${RELEASE_CHANNEL}`);
      return client;
    })().catch(() => {
      this.listener = null;
      return null;
    });
    return this.listener;
  }
}

class PostgresLock implements Lock {
  private client: pg.PoolClient | null = null;
  /** Heard on the checked-out connection (the pool hears only idle ones): see `lock`. */
  private onLost: ((error: Error) => void) | null = null;

  constructor(
    private readonly id: string,
    private readonly local: Lock,
    private readonly locker: PostgresLocker,
    private readonly timeoutMs: number,
  ) {}

  async lock(signal: AbortSignal, cancelReq: RequestRelease): Promise<void> {
    await this.local.lock(signal, cancelReq);
    try {
      const client = await this.locker.pool.connect().catch((error: Error) => {
        throw /timeout/i.test(error.message)
          ? new TusRefusal(503, 'The server is busy receiving other uploads; ask again shortly (HEAD tells where this one stands)\n')
          : error;
      });
      // A connection that breaks while checked out (PostgreSQL restarted, the backend terminated,
      // the network cut) emits 'error' here, with nobody else listening: unheard, it would end the
      // process. Its session's lock is gone with it, so a request holding the lock is asked to
      // let go at once, as another instance's request would ask (the received bytes stay).
      let lost: Error | undefined;
      const onLost = (error: Error) => {
        // Heard once: a terminated session reports its FATAL message, then the closed socket.
        if (lost) return;
        lost = error;
        if (this.client === client) void Promise.resolve(cancelReq()).catch(() => undefined);
      };
      client.on('error', onLost);
      const deadline = Date.now() + this.timeoutMs;
      let askAt = 0;
      try {
        for (;;) {
          const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`, [`tus:${this.id}`]);
          if (rows[0]!.locked) break;
          if (signal.aborted) throw ERRORS.ABORTED;
          if (Date.now() > deadline) throw new TusRefusal(423, 'Another request is writing this upload; ask again shortly (HEAD tells where it stands)\n');
          if (Date.now() >= askAt) {
            // Again now and then: the holder may have begun to listen only after the first ask.
            await client.query(`SELECT pg_notify($1, $2)`, [RELEASE_CHANNEL, this.id]);
            askAt = Date.now() + ASK_EVERY_MS;
          }
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      } catch (error) {
        client.release(lost);
        client.off('error', onLost);
        throw error;
      }
      this.client = client;
      this.onLost = onLost;
      this.locker.holding(this.id, cancelReq);
    } catch (error) {
      await this.local.unlock();
      throw error;
    }
  }

  async unlock(): Promise<void> {
    const client = this.client;
    const onLost = this.onLost;
    this.client = null;
    this.onLost = null;
    try {
      if (client) {
        this.locker.released(this.id);
        await client.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [`tus:${this.id}`]).then(
          () => client.release(),
          // A connection that failed to unlock is closed, which frees its lock.
          (error: Error) => client.release(error),
        );
        // Back in the pool (which hears it now) or closed: no longer this lock's to hear.
        if (onLost) client.off('error', onLost);
      }
    } finally {
      await this.local.unlock();
    }
  }
}
