import { randomUUID } from 'node:crypto';
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
