import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource, EntityManager } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { createDataSource } from './data-source.js';
import { isLostConnection, isTransientConflict, retryTransientConflicts } from './transient-conflict.js';

describe('retryTransientConflicts (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url, [], { poolSize: 4 });
    await ds.initialize();
    await ds.query(`CREATE TABLE meeting_rows (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)`);
    await ds.query(`INSERT INTO meeting_rows VALUES (1), (2)`);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** A transaction that locks `first`, waits until `ready`, then updates `second`. */
  const crossing = (first: number, second: number, ready: Promise<void>, locked: () => void) => (tx: EntityManager) =>
    (async () => {
      await tx.query(`UPDATE meeting_rows SET n = n + 1 WHERE id = $1`, [first]);
      locked();
      await ready;
      await tx.query(`UPDATE meeting_rows SET n = n + 1 WHERE id = $1`, [second]);
    })();

  /** Two transactions that lock rows 1 and 2 in opposite orders: PostgreSQL ends one of them (40P01). */
  async function deadlock(retry: boolean): Promise<PromiseSettledResult<void>[]> {
    let oneLocked!: () => void;
    let twoLocked!: () => void;
    const one = new Promise<void>((resolve) => (oneLocked = resolve));
    const two = new Promise<void>((resolve) => (twoLocked = resolve));
    const both = Promise.all([one, two]).then(() => undefined);
    let attempts = 0;
    const run = (first: number, second: number, locked: () => void) => () => {
      attempts++;
      // A run after the first meets nothing: the other transaction has its locks or is done.
      return ds.transaction(crossing(first, second, attempts > 2 ? Promise.resolve() : both, locked));
    };
    const wrap = (work: () => Promise<void>) => (retry ? retryTransientConflicts(work) : work());
    return Promise.allSettled([wrap(run(1, 2, oneLocked)), wrap(run(2, 1, twoLocked))]);
  }

  it('tells a connection ended under a statement (pg_terminate_backend) from a statement that failed', async () => {
    // An outside crash audit: requests cut so answered 500, not 503 with Retry-After.
    // A statement that failed on a sound connection is not a lost one (asked first: just after a
    // termination the pool may still hand out the ended connection, whose next statement fails so).
    const wrong = await ds.query(`SELECT 1/0`).then(() => null, (failure: unknown) => failure);
    expect(wrong).not.toBeNull();
    expect(isLostConnection(wrong)).toBe(false);
    const running = ds.query(`SELECT pg_sleep(30)`);
    const outcome = running.then(() => null, (error: unknown) => error);
    await expect
      .poll(async () => (await db.superuserQuery(`SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND pid <> pg_backend_pid()`)).length, {
        timeout: 10_000,
      })
      .toBe(1);
    const error = await outcome;
    expect(isLostConnection(error)).toBe(true);
    expect(isTransientConflict(error)).toBe(false);
    expect(isLostConnection(Object.assign(new Error('x'), { name: 'QueryRunnerProviderAlreadyReleasedError' }))).toBe(true);
    // The pool goes on with a new connection (a statement sent at once may still meet the ended
    // one, and fail as a lost connection: what a client is told to send again).
    await expect.poll(() => ds.query(`SELECT 1 AS one`).catch((failure: unknown) => (isLostConnection(failure) ? 'lost' : failure)), { timeout: 10_000 }).toEqual([{ one: 1 }]);
  });

  it('without it, PostgreSQL ends one of two crossing transactions with a deadlock', async () => {
    const results = await deadlock(false);
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failed).toHaveLength(1);
    expect(isTransientConflict(failed[0]!.reason)).toBe(true);
  });

  it('with it, the transaction ended for the deadlock runs again and both commit', async () => {
    const [before] = await ds.query(`SELECT sum(n)::int AS n FROM meeting_rows`);
    const results = await deadlock(true);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const [after] = await ds.query(`SELECT sum(n)::int AS n FROM meeting_rows`);
    expect(after.n - before.n).toBe(4);
  });

  it('passes any other error on at once, and gives up after its attempts', async () => {
    let runs = 0;
    await expect(retryTransientConflicts(async () => { runs++; throw Object.assign(new Error('unique'), { code: '23505' }); })).rejects.toThrow('unique');
    expect(runs).toBe(1);
    runs = 0;
    await expect(retryTransientConflicts(async () => { runs++; throw Object.assign(new Error('deadlock'), { code: '40P01' }); }, 3)).rejects.toThrow('deadlock');
    expect(runs).toBe(3);
  });
});
