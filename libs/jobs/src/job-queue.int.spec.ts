import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '#custodia/db';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { JobQueue } from './job-queue.js';

describe('the job queue in PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let queue: JobQueue;
  const warnings: string[] = [];
  const heard = (warning: Error) => warnings.push(warning.message);

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource(db.appUrl, [], { poolSize: 2 }).initialize();
    queue = new JobQueue({ connectionString: db.appUrl, pollingIntervalSeconds: 0.5 });
    await queue.start();
    process.on('warning', heard);
  });
  afterAll(async () => {
    process.off('warning', heard);
    await queue?.stop();
    await ds?.destroy();
    await db?.drop();
  });

  it('runs jobs side by side, each holding its lease, with one statement at a time on the lease connection', async () => {
    let running = 0;
    let most = 0;
    const done = new Set<string>();
    const leasesHeld: boolean[] = [];
    // Queued before the worker starts, so its first fetch finds them all (enqueued one by one
    // while it polled, a slow machine could hand them over one at a time).
    const ids = Array.from({ length: 8 }, () => randomUUID());
    for (const id of ids) await ds.transaction((tx) => queue.enqueue(tx, 'evidence.derivatives', { evidenceId: id }, id));
    const all = new Promise<void>((resolve) => {
      void queue.work(
        'evidence.derivatives',
        async ({ evidenceId }) => {
          running++;
          most = Math.max(most, running);
          // The lease is the job's: another session cannot take it while the handler runs.
          const rows: { free: boolean }[] = await ds.query(
            `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS free`,
            [`custodia.job:${evidenceId}`],
          );
          leasesHeld.push(!rows[0]!.free);
          await new Promise((wait) => setTimeout(wait, 150));
          running--;
          done.add(evidenceId);
          if (done.size === 8) resolve();
        },
        4,
      );
    });
    queue.wake('evidence.derivatives');
    await all;
    expect(done).toEqual(new Set(ids));
    expect(most).toBeGreaterThan(1);
    expect(leasesHeld).toEqual(Array(8).fill(true));
    // node-postgres warns (and pg 9 refuses) when a client is given a query while one runs.
    expect(warnings.filter((message) => /already executing a query/.test(message))).toEqual([]);
  });

  it("keeps the process alive when a job's completion fails on a cut connection, and reports it", async () => {
    // An outside crash audit: pg-boss completes a job without waiting for it, so the rejection
    // from a connection terminated at that moment went unheard and Node ended the process. Here
    // the completion is held on a lock of the job table, and its session is ended while it waits.
    const reported: unknown[] = [];
    const cut = new JobQueue({ connectionString: db.appUrl, pollingIntervalSeconds: 0.5, onError: (error) => reported.push(error) });
    await cut.start();
    const unheard: unknown[] = [];
    const listener = (reason: unknown) => unheard.push(reason);
    process.on('unhandledRejection', listener);
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      const id = randomUUID();
      await ds.transaction((tx) => cut.enqueue(tx, 'exports.build', { exportId: id }, id));
      const ran = new Promise<void>((resolve) => {
        void cut.work('exports.build', async () => {
          await locker.query('BEGIN');
          await locker.query('LOCK TABLE pgboss.job IN ACCESS EXCLUSIVE MODE');
          resolve();
        });
      });
      cut.wake('exports.build');
      await ran;
      // The completion waits for the lock; its session is ended.
      const waiting = async () =>
        db.superuserQuery<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'custodia-jobs' AND wait_event_type = 'Lock'`,
        );
      await expect.poll(async () => (await waiting()).length, { timeout: 10_000 }).toBeGreaterThan(0);
      for (const { pid } of await waiting()) await db.superuserQuery('SELECT pg_terminate_backend($1)', [pid]);
      await locker.query('ROLLBACK');
      await expect.poll(() => reported.some((error) => /terminat/i.test(String((error as Error)?.message))), { timeout: 10_000 }).toBe(true);
      expect(unheard).toEqual([]);
      // PgBoss publishes the manager's functions by name: they are still there, and still report to who waits.
      await expect(cut['boss'].fail('exports.build', randomUUID())).resolves.toBeDefined();
    } finally {
      process.off('unhandledRejection', listener);
      await locker.end().catch(() => undefined);
      await cut.stop().catch(() => undefined);
    }
  });

  it('starts on a new database in several processes at once: each creates or finds every queue', async () => {
    // Two APIs and a worker started together (a compose file does): creating the same queues at
    // once made PostgreSQL answer one of them with a deadlock, and that process died.
    for (let round = 0; round < 3; round++) {
      const fresh = await createTestDatabase();
      const queues = Array.from({ length: 3 }, () => new JobQueue({ connectionString: fresh.appUrl }));
      try {
        await Promise.all(queues.map((q) => q.start()));
      } finally {
        await Promise.all(queues.map((q) => q.stop()));
        await fresh.drop();
      }
    }
  });
});
