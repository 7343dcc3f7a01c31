import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { PostgresLocker } from './pg-locker.js';

/** Two "processes" (two lockers on one database), as two API instances behind a load balancer. */
describe('PostgresLocker across processes (real PostgreSQL)', () => {
  let db: TestDatabase;
  let here: PostgresLocker;
  let there: PostgresLocker;
  beforeAll(async () => {
    db = await createTestDatabase();
    // Keeping a released lock for 10 s: one let go because it was asked for must not be kept.
    here = new PostgresLocker(db.url, 5_000, 2, 10_000);
    there = new PostgresLocker(db.url, 5_000, 2);
  });
  afterAll(async () => {
    await Promise.all([here?.close(), there?.close()]);
    await db?.drop();
  });

  const never = new AbortController().signal;

  /** Pids of the sessions holding an upload's advisory lock. */
  const holders = async (id: string) =>
    (
      await db.superuserQuery<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
        [`tus:${id}`],
      )
    ).map((row) => row.pid);

  it('asks the holder in the other process to let go, and takes the lock once it does', async () => {
    const id = 'a'.repeat(32);
    const holder = here.newLock(id);
    let asked = 0;
    await holder.lock(never, () => {
      asked++;
      // The holder's request winds up and lets go, as a stalled PATCH does after its drain.
      setTimeout(() => void holder.unlock(), 100);
    });
    const started = Date.now();
    const waiter = there.newLock(id);
    await waiter.lock(never, () => undefined);
    expect(asked).toBeGreaterThanOrEqual(1);
    // At the first ask (the next comes a second later): a lock let go because it was asked for
    // goes to the process that asked, not kept for this process's next request.
    expect(Date.now() - started).toBeLessThan(800);
    await waiter.unlock();
  });

  it('survives its lock connection breaking while a lock is held: the holder is asked to let go, and the next lock works', async () => {
    const locker = new PostgresLocker(db.url, 5_000, 1);
    try {
      const id = 'c'.repeat(32);
      const lock = locker.newLock(id);
      let asked = 0;
      await lock.lock(never, () => void asked++);
      // PostgreSQL restarted, a failover, an operator's pg_terminate_backend: the session goes.
      const sessions = await holders(id);
      expect(sessions).toHaveLength(1);
      await db.superuserQuery(`SELECT pg_terminate_backend($1)`, sessions);
      await expect.poll(() => asked, { timeout: 5_000 }).toBe(1);
      // The request holding it is told its lock is gone (it stops at once: another instance may write now).
      expect(lock.lost.aborted).toBe(true);
      // Once, though the session reports its end twice (its FATAL message, then the closed socket).
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(asked).toBe(1);
      await lock.unlock();
      // The pool (of one) gave up the broken connection: the next lock gets a working one.
      const again = locker.newLock(id);
      await again.lock(never, () => undefined);
      await again.unlock();
    } finally {
      await locker.close();
    }
  });

  it('answers 423 when the holder does not let go within the timeout, and leaves the lock with it', async () => {
    const id = 'b'.repeat(32);
    // A holder no release request reaches (another program's session).
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [`tus:${id}`]);
      const quick = new PostgresLocker(db.url, 300, 1);
      try {
        await expect(quick.newLock(id).lock(never, () => undefined)).rejects.toMatchObject({ status_code: 423 });
        // Nothing of the refused attempt stays: once the holder lets go, the lock is free.
        await other.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [`tus:${id}`]);
        const lock = quick.newLock(id);
        await lock.lock(never, () => undefined);
        await lock.unlock();
      } finally {
        await quick.close();
      }
    } finally {
      await other.end();
    }
  });

  it("keeps a released upload's lock for its next request here, gives it at once to another process that asks, and lets it go after a while", async () => {
    const keeping = new PostgresLocker(db.url, 5_000, 4, 10_000);
    const brief = new PostgresLocker(db.url, 5_000, 4, 100);
    try {
      const id = 'd'.repeat(32);
      const first = keeping.newLock(id);
      await first.lock(never, () => undefined);
      const [session] = await holders(id);
      await first.unlock();
      // Still held, by the same session, which the next request here takes without asking.
      expect(await holders(id)).toEqual([session]);
      const next = keeping.newLock(id);
      await next.lock(never, () => undefined);
      expect(await holders(id)).toEqual([session]);
      await next.unlock();
      // Another process asks, and gets it at its first ask, long before the 10 s are up.
      const started = Date.now();
      const elsewhere = there.newLock(id);
      await elsewhere.lock(never, () => undefined);
      expect(Date.now() - started).toBeLessThan(900);
      expect(await holders(id)).not.toContain(session);
      await elsewhere.unlock();

      // Kept 100 ms, then let go with nobody asking.
      const other = 'e'.repeat(32);
      const lock = brief.newLock(other);
      await lock.lock(never, () => undefined);
      await lock.unlock();
      expect(await holders(other)).toHaveLength(1);
      await expect.poll(() => holders(other), { timeout: 5_000 }).toEqual([]);
    } finally {
      await Promise.all([keeping.close(), brief.close()]);
    }
  });

  it('gives up a kept lock whose connection broke, and the next request takes a new one', async () => {
    const locker = new PostgresLocker(db.url, 5_000, 2, 10_000);
    try {
      const id = 'f'.repeat(32);
      const lock = locker.newLock(id);
      await lock.lock(never, () => undefined);
      await lock.unlock();
      const [session] = await holders(id);
      await db.superuserQuery(`SELECT pg_terminate_backend($1)`, [session]);
      await expect.poll(() => holders(id), { timeout: 5_000 }).toEqual([]);
      const again = locker.newLock(id);
      await again.lock(never, () => undefined);
      const [now] = await holders(id);
      expect(now).toBeDefined();
      expect(now).not.toBe(session);
      await again.unlock();
    } finally {
      await locker.close();
    }
  });

  it('keeps at most half its pool, so a lock of another upload still finds a connection', async () => {
    const locker = new PostgresLocker(db.url, 2_000, 2, 10_000);
    try {
      const [a, b, c] = ['1'.repeat(32), '2'.repeat(32), '3'.repeat(32)];
      for (const id of [a, b]) {
        const lock = locker.newLock(id);
        await lock.lock(never, () => undefined);
        await lock.unlock();
      }
      // One kept (half of two), the other given up at once.
      expect((await holders(a)).length + (await holders(b)).length).toBe(1);
      // Both connections taken (one by the kept lock): the kept one is given up for the new upload.
      const lockB = locker.newLock(b);
      await lockB.lock(never, () => undefined);
      const lockC = locker.newLock(c);
      await lockC.lock(never, () => undefined);
      expect(await holders(c)).toHaveLength(1);
      await Promise.all([lockB.unlock(), lockC.unlock()]);
    } finally {
      await locker.close();
    }
  });

  it('a process taking the lock back to back (a client sending chunk after chunk) lets another process that asks have it', async () => {
    const busy = new PostgresLocker(db.url, 10_000, 4);
    const other = new PostgresLocker(db.url, 10_000, 4);
    const id = '4'.repeat(32);
    let stop = false;
    try {
      const chunks = (async () => {
        const end = Date.now() + 8_000;
        while (!stop && Date.now() < end) {
          const lock = busy.newLock(id);
          await lock.lock(never, () => undefined);
          await new Promise((resolve) => setTimeout(resolve, 5));
          await lock.unlock();
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      const lock = other.newLock(id);
      await lock.lock(never, () => undefined);
      const waited = Date.now() - started;
      await lock.unlock();
      stop = true;
      await chunks;
      // Before, the busy process took it again each time, and the other waited until it stopped.
      expect(waited).toBeLessThan(4_000);
    } finally {
      stop = true;
      await Promise.all([busy.close(), other.close()]);
    }
  });
});
