import { ERRORS, MemoryLocker, type Lock, type Locker, type RequestRelease } from '@tus/server';
import pg from 'pg';
import { TusRefusal } from './upload-store.js';

/**
 * The longest wait between two tries for an upload's lock held elsewhere. The first tries come
 * sooner (1, 2, 4 ... ms): a holder asked to let go usually has within a few milliseconds, as when
 * a load balancer sends an upload's chunks to the instances in turn (each keeps the lock after a
 * chunk, see KEEP_MS, and the next chunk's instance asks for it).
 */
const POLL_MS = 50;

/** How often a request waiting for an upload's lock asks its holder, in another process, to let go. */
const ASK_EVERY_MS = 1000;

/** LISTEN/NOTIFY channel by which a waiting request asks the process holding an upload's lock to let go; the payload is the upload's id. */
const RELEASE_CHANNEL = 'custodia_upload_release';

/** LISTEN/NOTIFY channel by which a request that had to ask for an upload's lock says it has it now (the payload is the upload's id): the process that let go may go on. */
const TAKEN_CHANNEL = 'custodia_upload_taken';

/**
 * How long a released upload's database lock stays with this process for the upload's next
 * request. A client sends its next chunk as soon as one is answered, and taking the lock again
 * cost two round trips per chunk (its release, then its retaking: 1.5 of the 28 ms an 8 MiB chunk
 * took here, 2026-12-05). Another instance's request that wants it asks (NOTIFY) and gets it at once.
 */
const KEEP_MS = 500;

/**
 * How long at most this process leaves an upload's lock alone after letting go of it because
 * another process asked, unless that one says it has it (TAKEN_CHANNEL) sooner: long enough for
 * its next try (at most POLL_MS apart). Without it, a client sending chunks back to back here took
 * the lock again each time, and a HEAD or DELETE through another instance waited until the upload
 * ended (26 s), or for 30 s and 423.
 */
const YIELD_MS = 2 * POLL_MS;

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
  /** Held uploads another process asked for: their lock goes to it when released, not kept. */
  private readonly asked = new Set<string>();
  /** Uploads this process let go of because another process asked: since when, and the requests here waiting for that one to take it. */
  private readonly yielded = new Map<string, { since: number; waiting: (() => void)[] }>();
  /** Released uploads whose database lock this process keeps a while (`keepMs`), by upload id. */
  private readonly kept = new Map<string, { client: pg.PoolClient; timer: NodeJS.Timeout; onLost: () => void }>();
  /** Kept locks being given up (their unlock under way), so a request for one waits for it. */
  private readonly givingUp = new Map<string, Promise<void>>();
  /** Closing: nothing more is kept. */
  private closing = false;
  /** The connection that hears release requests; started with the first lock, again after it breaks. */
  private listener: Promise<pg.Client | null> | null = null;

  constructor(
    private readonly connectionString: string,
    private readonly timeoutMs = 30_000,
    private readonly size = 20,
    private readonly keepMs = KEEP_MS,
  ) {
    this.local = new MemoryLocker({ acquireLockTimeout: timeoutMs });
    // A request that finds every lock connection taken waits at most `timeoutMs` for one (503).
    this.pool = new pg.Pool({ connectionString, max: size, connectionTimeoutMillis: timeoutMs, application_name: 'custodia-upload-locks' });
    // An idle lock connection that breaks is simply replaced; it holds nothing.
    this.pool.on('error', () => undefined);
  }

  newLock(id: string): UploadLock {
    void this.listen();
    return new PostgresLock(id, this.local.newLock(id), this, this.timeoutMs);
  }

  /** This process now holds the upload's database lock; `release` asks its request to let go. */
  holding(id: string, release: RequestRelease): void {
    this.asked.delete(id);
    this.held.set(id, release);
  }

  released(id: string): void {
    this.held.delete(id);
  }

  /**
   * Keeps a released upload's lock, with the connection holding it, for the upload's next request
   * here; false when it is not kept: another process asked for it, this locker is closing, or
   * half the pool is kept already (the rest serves other uploads).
   */
  keep(id: string, client: pg.PoolClient): boolean {
    if (this.asked.delete(id)) {
      this.yieldTo(id);
      return false;
    }
    if (this.closing || this.kept.size >= Math.floor(this.size / 2)) return false;
    // The connection breaking frees the lock with it: nothing left to keep.
    const onLost = () => {
      if (this.kept.get(id)?.client === client) this.unkeep(id)!.release(true);
    };
    client.on('error', onLost);
    const timer = setTimeout(() => void this.giveUp(id), this.keepMs);
    timer.unref();
    this.kept.set(id, { client, timer, onLost });
    return true;
  }

  /** The kept lock of an upload, now its new request's (no round trip); null when none is kept. */
  async take(id: string): Promise<pg.PoolClient | null> {
    await this.givingUp.get(id);
    return this.unkeep(id);
  }

  /** Takes the upload's kept lock out of `kept` (its timer and listener too): its connection, or null when none is kept. */
  private unkeep(id: string): pg.PoolClient | null {
    const kept = this.kept.get(id);
    if (!kept) return null;
    this.kept.delete(id);
    clearTimeout(kept.timer);
    kept.client.off('error', kept.onLost);
    return kept.client;
  }

  /** Releases a kept lock: asked for by another process, timed out, or to make room in the pool. */
  private giveUp(id: string): Promise<void> {
    const client = this.unkeep(id);
    if (!client) return this.givingUp.get(id) ?? Promise.resolve();
    const done = unlockAndRelease(client, id).finally(() => {
      if (this.givingUp.get(id) === done) this.givingUp.delete(id);
    });
    this.givingUp.set(id, done);
    return done;
  }

  /** This process lets go of the upload's lock now because another asked: it leaves it alone a while (YIELD_MS). */
  private yieldTo(id: string): void {
    const now = Date.now();
    for (const [other, { since }] of this.yielded) if (since < now - YIELD_MS) this.yielded.delete(other);
    this.yielded.set(id, { since: now, waiting: [] });
  }

  /** The process that asked for the upload's lock has it: the requests here waiting for that go on (and ask for it in turn). */
  private taken(id: string): void {
    const yielded = this.yielded.get(id);
    this.yielded.delete(id);
    for (const go of yielded?.waiting ?? []) go();
  }

  /** Waits, when this process let go of the upload's lock because another asked, until that one says it took it, or YIELD_MS at most. */
  async yielding(id: string): Promise<void> {
    const yielded = this.yielded.get(id);
    if (!yielded) return;
    const left = yielded.since + YIELD_MS - Date.now();
    if (left > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        yielded.waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.yielded.get(id) === yielded) this.yielded.delete(id);
  }

  /** Tells the process that let go of the upload's lock because this one asked that this one has it now. */
  async tookAsked(client: pg.PoolClient, id: string): Promise<void> {
    await client.query(`SELECT pg_notify($1, $2)`, [TAKEN_CHANNEL, id]);
  }

  /** Every connection of the pool is out and some keep locks: one of them goes back. */
  async makeRoom(): Promise<void> {
    if (this.pool.totalCount - this.pool.idleCount < this.size) return;
    const [oldest] = this.kept.keys();
    if (oldest !== undefined) await this.giveUp(oldest);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.kept.keys()].map((id) => this.giveUp(id)));
    const listener = await this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  /**
   * Hears the other processes' requests to let go of an upload, and that they took one this
   * process let go of. Without it (the connection broke, or cannot be made) locks still hold; a
   * waiting request then waits for the holder to finish or time out, and a process that let go
   * waits YIELD_MS before it takes the lock again.
   */
  private listen(): Promise<pg.Client | null> {
    this.listener ??= (async () => {
      const client = new pg.Client({ connectionString: this.connectionString, application_name: 'custodia-upload-release' });
      client.on('notification', (message) => {
        if (!message.payload) return;
        if (message.channel === TAKEN_CHANNEL) return this.taken(message.payload);
        const release = this.held.get(message.payload);
        if (release) {
          // Let go of when its request ends (see keep).
          this.asked.add(message.payload);
          void Promise.resolve(release()).catch(() => undefined);
        } else {
          this.yieldTo(message.payload);
          void this.giveUp(message.payload);
        }
      });
      client.on('error', () => {
        this.listener = null;
        client.end().catch(() => undefined);
      });
      await client.connect();
      await client.query(`LISTEN ${RELEASE_CHANNEL}; LISTEN ${TAKEN_CHANNEL}`);
      return client;
    })().catch(() => {
      this.listener = null;
      return null;
    });
    return this.listener;
  }
}

/** An upload's lock; `lost` aborts when the database session holding it breaks while it is held (another instance may take the upload then). */
export interface UploadLock extends Lock {
  readonly lost: AbortSignal;
}

class PostgresLock implements UploadLock {
  private readonly losing = new AbortController();
  readonly lost = this.losing.signal;
  private client: pg.PoolClient | null = null;
  /** Heard on the checked-out connection (the pool hears only idle ones): see `lock`. */
  private onLost: (() => void) | null = null;

  constructor(
    private readonly id: string,
    private readonly local: Lock,
    private readonly locker: PostgresLocker,
    private readonly timeoutMs: number,
  ) {}

  async lock(signal: AbortSignal, cancelReq: RequestRelease): Promise<void> {
    await this.local.lock(signal, cancelReq);
    try {
      const kept = await this.locker.take(this.id);
      if (kept) {
        this.hold(kept, cancelReq);
        return;
      }
      await this.locker.yielding(this.id);
      await this.locker.makeRoom();
      const client = await this.locker.pool.connect().catch((error: Error) => {
        throw /timeout/i.test(error.message)
          ? new TusRefusal(503, 'The server is busy receiving other uploads; ask again shortly (HEAD tells where this one stands)\n')
          : error;
      });
      // Heard while the lock is tried for: a connection that breaks then is released as broken.
      let lost: Error | undefined;
      const onLostEarly = (error: Error) => void (lost ??= error);
      client.on('error', onLostEarly);
      const deadline = Date.now() + this.timeoutMs;
      let askAt = 0;
      let tries = 0;
      try {
        for (;;) {
          const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`, [`tus:${this.id}`]);
          if (rows[0]!.locked) {
            // Best effort: without it, the process that let go waits YIELD_MS before it asks back.
            if (askAt > 0) await this.locker.tookAsked(client, this.id).catch(() => undefined);
            break;
          }
          if (signal.aborted) throw ERRORS.ABORTED;
          if (Date.now() > deadline) throw new TusRefusal(423, 'Another request is writing this upload; ask again shortly (HEAD tells where it stands)\n');
          if (Date.now() >= askAt) {
            // Again now and then: the holder may have begun to listen only after the first ask.
            await client.query(`SELECT pg_notify($1, $2)`, [RELEASE_CHANNEL, this.id]);
            askAt = Date.now() + ASK_EVERY_MS;
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, 2 ** tries++)));
        }
      } catch (error) {
        client.off('error', onLostEarly);
        client.release(lost);
        throw error;
      }
      client.off('error', onLostEarly);
      if (lost) {
        // Broken after the lock was granted: the lock went with the session.
        client.release(lost);
        throw lost;
      }
      this.hold(client, cancelReq);
    } catch (error) {
      await this.local.unlock();
      throw error;
    }
  }

  /**
   * This request holds the upload's lock on `client`. A connection that breaks while checked out
   * (PostgreSQL restarted, the backend terminated, the network cut) emits 'error' here, with
   * nobody else listening: unheard, it would end the process. Its session's lock is gone with it,
   * so the request is asked to let go at once, as another instance's request would ask (the
   * received bytes stay).
   */
  private hold(client: pg.PoolClient, cancelReq: RequestRelease): void {
    // Heard from the lock's taking to its release (unlock stops listening), once: a terminated
    // session reports its FATAL message, then the closed socket.
    const onLost = () => {
      if (this.lost.aborted) return;
      this.losing.abort();
      void Promise.resolve(cancelReq()).catch(() => undefined);
    };
    client.on('error', onLost);
    this.client = client;
    this.onLost = onLost;
    this.locker.holding(this.id, cancelReq);
  }

  async unlock(): Promise<void> {
    const client = this.client;
    const onLost = this.onLost;
    this.client = null;
    this.onLost = null;
    try {
      if (client) {
        this.locker.released(this.id);
        if (onLost) client.off('error', onLost);
        // Kept for the upload's next request (unless its connection broke), or released now.
        if (this.lost.aborted) client.release(true);
        else if (!this.locker.keep(this.id, client)) await unlockAndRelease(client, this.id);
      }
    } finally {
      await this.local.unlock();
    }
  }
}

/** Gives an upload's lock up and returns its connection to the pool; one that fails to unlock is closed, which frees its lock. */
async function unlockAndRelease(client: pg.PoolClient, id: string): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [`tus:${id}`]).then(
    () => client.release(),
    (error: Error) => client.release(error),
  );
}
