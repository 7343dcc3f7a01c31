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
    here = new PostgresLocker(db.url, 5_000, 2);
    there = new PostgresLocker(db.url, 5_000, 2);
  });
  afterAll(async () => {
    await Promise.all([here?.close(), there?.close()]);
    await db?.drop();
  });

  const never = new AbortController().signal;

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
    expect(Date.now() - started).toBeLessThan(3_000);
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
      const [{ ended }] = await db.superuserQuery<{ ended: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_stat_activity
          WHERE application_name = 'custodia-upload-locks' AND query LIKE '%pg_try_advisory_lock%' AND datname = current_database()`,
      );
      expect(ended).toBe(1);
      await expect.poll(() => asked, { timeout: 5_000 }).toBe(1);
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
});
