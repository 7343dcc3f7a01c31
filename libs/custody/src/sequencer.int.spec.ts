import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTree } from '#custodia/custody-core';
import { createDataSource } from '#custodia/db';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { CustodyLog, MAX_BATCH, type CustodyEventInput, type QueuedEvent } from './custody-log.js';
import { replayLog } from './replay.js';
import { Sequencer } from './sequencer.js';

/**
 * The sequencer of issue 12 against a real PostgreSQL: several of them elected on their own
 * connections, writers committing and rolling back at once, the leader's connection killed in
 * the middle of its batches. What must hold every time: each committed event is in the log
 * exactly once, in its change's order; no rolled-back event is; leaf indexes have no gap; the
 * stored nodes are the tree of the stored bytes.
 */
describe('the custody sequencer', () => {
  let db: TestDatabase;
  const sources: DataSource[] = [];
  let log: CustodyLog;
  const caseId = randomUUID();
  const actor = { id: randomUUID(), role: 'investigator' };
  const input = (tag: string, n: number): CustodyEventInput => ({
    action: 'evidence.viewed',
    actor,
    caseId,
    subject: { type: 'evidence', id: randomUUID() },
    details: { tag, n },
  });

  const source = async (): Promise<DataSource> => {
    const ds = createDataSource(db.url, [], { poolSize: 10 });
    await ds.initialize();
    sources.push(ds);
    return ds;
  };
  const sequencer = (ds: DataSource, errors: unknown[] = []) =>
    new Sequencer(ds, new CustodyLog(ds), { intervalMs: 5, electionMs: 20, onError: (e) => errors.push(e) });

  /** One writer's change: `size` events, committed or rolled back. */
  const change = async (ds: DataSource, tag: string, size: number, commit: boolean): Promise<QueuedEvent[] | null> => {
    try {
      return await ds.transaction(async (tx) => {
        const queued = await new CustodyLog(ds).appendAll(tx, Array.from({ length: size }, (_, n) => input(tag, n)));
        if (!commit) throw new Error('rolled back');
        return queued;
      });
    } catch (error) {
      if ((error as Error).message === 'rolled back') return null;
      throw error;
    }
  };

  /** Waits until nothing is queued (the elected sequencer's work), at most `ms`. */
  const drained = async (ms = 20_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while ((await log.queued()) > 0) {
      if (Date.now() > deadline) throw new Error('the queue was not drained');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  /** The whole log's invariants, and each committed change exactly once in its order. */
  const expectExactlyOnce = async (committed: Map<string, number>, rolledBack: Set<string>): Promise<void> => {
    const rows = await db.superuserQuery<{ leaf_index: string; event_bytes: Buffer; queue_id: string | null }>(
      `SELECT leaf_index, event_bytes, queue_id FROM custody_events ORDER BY leaf_index`,
    );
    expect(rows.map((r) => Number(r.leaf_index))).toEqual(rows.map((_, i) => i));
    const seen = new Map<string, number[]>();
    for (const row of rows) {
      const event = JSON.parse(row.event_bytes.toString()) as { index: number; details: { tag?: string; n?: number } };
      expect(event.index).toBe(Number(row.leaf_index));
      const tag = event.details.tag;
      if (tag === undefined) continue;
      seen.set(tag, [...(seen.get(tag) ?? []), event.details.n!]);
    }
    for (const [tag, size] of committed) expect(seen.get(tag), tag).toEqual(Array.from({ length: size }, (_, n) => n));
    for (const tag of rolledBack) expect(seen.has(tag), tag).toBe(false);
    const queueIds = rows.flatMap((r) => (r.queue_id === null ? [] : [r.queue_id]));
    expect(new Set(queueIds).size).toBe(queueIds.length);
    const tree = new MemoryTree();
    for (const row of rows) tree.append(row.event_bytes);
    const nodes = await db.superuserQuery<{ level: number; idx: string; hash: Buffer }>(`SELECT level, idx, hash FROM custody_nodes`);
    expect(nodes.length).toBe(rows.length * 2 - [...rows.length.toString(2)].filter((bit) => bit === '1').length);
    for (const node of nodes) expect(node.hash.equals(tree.node(node.level, Number(node.idx))!)).toBe(true);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    log = new CustodyLog(await source());
  });
  afterAll(async () => {
    await Promise.all(sources.map((ds) => ds.destroy()));
    await db?.drop();
  });

  it('one of several is elected; a receipt waiter gets its event from the leader or, elsewhere, from the database', async () => {
    const [a, b] = [sequencer(await source()), sequencer(await source())];
    a.start();
    b.start();
    try {
      await expect.poll(() => a.isLeader || b.isLeader, { timeout: 5000 }).toBe(true);
      expect(a.isLeader && b.isLeader).toBe(false);
      const [leader, other] = a.isLeader ? [a, b] : [b, a];
      for (const waiter of [leader, other]) {
        const [queued] = (await change(sources[0]!, `wait-${randomUUID()}`, 1, true))!;
        const recorded = await waiter.waitFor(queued!.queueId, 5000);
        expect(recorded?.event.details).toMatchObject({ n: 0 });
        expect(await log.integratedAs(queued!.queueId)).toEqual(recorded);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    // With no sequencer running, the wait ends empty-handed at its bound; the event stays queued.
    const [queued] = (await change(sources[0]!, 'unsequenced', 1, true))!;
    const idle = sequencer(sources[0]!);
    const started = Date.now();
    expect(await idle.waitFor(queued!.queueId, 150)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await log.queued()).toBe(1);
    await log.integrateAll();
  });

  it("answers a leader's waiter whose event a head on demand integrated (elsewhere), not when its wait runs out", { timeout: 30_000 }, async () => {
    // The leader looks at the queue only when woken (an interval far longer than this test).
    const errors: unknown[] = [];
    const leader = new Sequencer(await source(), new CustodyLog(sources[0]!), { intervalMs: 600_000, electionMs: 20, onError: (e) => errors.push(e) });
    leader.start();
    const elsewhere = (await source()).createQueryRunner();
    try {
      await expect.poll(() => leader.isLeader, { timeout: 5000 }).toBe(true);
      // A head on demand (TreeHeads.publish, here or in another process) holds the append lock
      // before the event commits, so the leader's first batch, which may not have run yet, cannot
      // take the event first (it did once in CI: a batch begun just after the election).
      await elsewhere.connect();
      await elsewhere.startTransaction();
      expect(await new CustodyLog(sources[0]!).integrate(MAX_BATCH, elsewhere.manager)).toEqual([]);
      const [queued] = (await change(sources[0]!, `elsewhere-${randomUUID()}`, 1, true))!;
      // It integrates the event and has not committed when the waiter looks: the waiter finds it
      // queued and wakes the leader, whose batch waits for the append lock, then finds the queue
      // empty.
      expect(await new CustodyLog(sources[0]!).integrate(MAX_BATCH, elsewhere.manager)).toHaveLength(1);
      const waiting = leader.waitFor(queued!.queueId, 600_000);
      await expect
        .poll(async () => (await db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`))[0]!.n)
        .toBe(1);
      await elsewhere.commitTransaction();
      // Before the fix it waited its whole bound (here ten minutes; 5 s for receipts by default).
      const recorded = await waiting;
      expect(recorded?.event.details).toMatchObject({ n: 0 });
      expect(await log.integratedAs(queued!.queueId)).toEqual(recorded);
    } finally {
      await elsewhere.release();
      await leader.stop();
    }
    expect(errors).toEqual([]);
  });

  it('exactly once under concurrent writers, rollbacks, competing sequencers and heads on demand (property)', async () => {
    const sequencers = [sequencer(await source()), sequencer(await source())];
    const writers = await source();
    const committed = new Map<string, number>();
    const rolledBack = new Set<string>();
    for (const s of sequencers) s.start();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ size: fc.integer({ min: 1, max: 6 }), commit: fc.integer({ min: 0, max: 4 }).map((n) => n > 0) }), { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 0, max: 3 }),
          async (changes, onDemand) => {
            const run = randomUUID().slice(0, 8);
            await Promise.all([
              ...changes.map(async ({ size, commit }, i) => {
                const tag = `${run}-${i}`;
                const queued = await change(writers, tag, size, commit);
                if (queued) committed.set(tag, size);
                else rolledBack.add(tag);
              }),
              // Integration asked for on demand (a head for a court package) while the elected one runs.
              ...Array.from({ length: onDemand }, () => new CustodyLog(writers).integrateAll()),
            ]);
            await drained();
            await expectExactlyOnce(committed, rolledBack);
          },
        ),
        { numRuns: 12 },
      );
    } finally {
      await Promise.all(sequencers.map((s) => s.stop()));
    }
  });

  it('a leader killed in the middle of its batches is replaced: no gap, no duplicate, nothing lost', async () => {
    const errors: unknown[] = [];
    const sequencers = [sequencer(await source(), errors), sequencer(await source(), errors), sequencer(await source(), errors)];
    const writers = await source();
    const committed = new Map<string, number>();
    for (const s of sequencers) s.start();
    let writing = true;
    let kills = 0;
    const leaderBackend = `
      SELECT a.pid, a.xact_start IS NOT NULL AS in_batch
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
         AND l.objid::bigint = (hashtext('custodia.custody.sequencer')::bigint & 4294967295)
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    try {
      const load = (async () => {
        for (let i = 0; writing; i++) {
          await Promise.all(
            Array.from({ length: 8 }, async (_, w) => {
              const tag = `kill-${i}-${w}`;
              const size = 1 + ((i + w) % 4);
              if (await change(writers, tag, size, true)) committed.set(tag, size);
            }),
          );
        }
      })();
      // Kill the leader's connection while it is inside a batch transaction, five times.
      const deadline = Date.now() + 20_000;
      while (kills < 5 && Date.now() < deadline) {
        const [leader] = await db.superuserQuery<{ pid: number; in_batch: boolean }>(leaderBackend);
        if (leader?.in_batch) {
          const [{ killed }] = await db.superuserQuery<{ killed: boolean }>(`SELECT pg_terminate_backend($1) AS killed`, [leader.pid]);
          if (killed) kills++;
          // Let another be elected and work a while.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      writing = false;
      await load;
      expect(kills).toBe(5);
      await drained();
      await expectExactlyOnce(committed, new Set());
      expect(committed.size).toBeGreaterThan(50);
      expect(errors.length).toBeGreaterThanOrEqual(1);
      const report = await replayLog(writers);
      expect(report.firstDivergence).toBeNull();
    } finally {
      writing = false;
      await Promise.all(sequencers.map((s) => s.stop()));
    }
  });
});
