import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '#custodia/db';
import { leafHash } from '#custodia/custody-core';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { CustodyLog, type CustodyEventInput } from './custody-log.js';
import { replayLog, type ReplayReport } from './replay.js';
import { SigningKeys } from './signing-keys.js';
import { TreeHeads } from './tree-heads.js';

// A log of two full pages of the replay (8,192 events each, perfect subtrees hashed whole by the
// workers) and a partial third, with heads inside each: the replay on worker threads must report
// exactly what the replay on one thread reports, first divergence included.
describe('the log replay on worker threads', () => {
  const PAGE = 8192;
  const EVENTS = 2 * PAGE + 700;
  let db: TestDatabase;
  let ds: DataSource;
  let log: CustodyLog;
  let heads: TreeHeads;
  const caseId = randomUUID();
  const actor = { id: randomUUID(), role: 'investigator' };
  const input = (n: number): CustodyEventInput => ({
    action: 'evidence.viewed',
    actor,
    caseId,
    subject: { type: 'evidence', id: randomUUID(), sha256: 'cd'.repeat(32) },
    details: { part: 'record', n, note: 'Київ' },
  });
  const appendUpTo = async (size: number): Promise<void> => {
    const count = size - (await log.size());
    await ds.transaction((tx) => log.appendAll(tx, Array.from({ length: count }, (_, i) => input(i))));
    await log.integrateAll();
    expect(await log.size()).toBe(size);
  };
  const behindTheTrigger = (table: string, sql: string) =>
    db.superuserQuery(`
      BEGIN;
      ALTER TABLE ${table} DISABLE TRIGGER ${table}_append_only;
      ${sql};
      ALTER TABLE ${table} ENABLE TRIGGER ${table}_append_only;
      COMMIT;`);
  /** The reports of the replay on this thread and on 1 and 3 workers, which must agree (but for their time). */
  const replays = async (): Promise<Omit<ReplayReport, 'seconds'>> => {
    const reports = await Promise.all([0, 1, 3].map(async (threads) => {
      const { seconds: _seconds, ...report } = await replayLog(ds, undefined, { threads });
      return report;
    }));
    expect(reports[1]).toEqual(reports[0]);
    expect(reports[2]).toEqual(reports[0]);
    return reports[0]!;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url, [], { poolSize: 6 });
    await ds.initialize();
    log = new CustodyLog(ds);
    heads = new TreeHeads(ds, new SigningKeys(ds, Buffer.alloc(32, 9)));
    // Heads inside the first page, at its end, inside the second page and at the end.
    for (const size of [5000, PAGE, PAGE + 3000, EVENTS]) {
      await appendUpTo(size);
      await heads.publish();
    }
  }, 120_000);
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('finds the intact log intact, with every head and node checked', async () => {
    const report = await replays();
    expect(report).toMatchObject({ events: EVENTS, headsChecked: 4, firstDivergence: null });
    expect(report.nodesChecked).toBeGreaterThan(EVENTS);
  });

  it('compares the stored nodes beside the replay, and names the first divergent one by level, then by index', async () => {
    const [{ n: stored }] = await db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM custody_nodes`);
    // Runs of 512 are compared while pages are still replayed; runs of 65,536 only at the end.
    const nodeReport = async (nodeRun: number) => (await replayLog(ds, undefined, { nodeRun, threads: 2 })).firstDivergence;
    for (const nodeRun of [512, 65_536]) {
      expect(await replayLog(ds, undefined, { nodeRun, threads: 2 })).toMatchObject({ events: EVENTS, nodesChecked: stored, firstDivergence: null });
    }
    // A level-3 node early in the tree, and a leaf-level node late: the leaf level comes first.
    const original = await db.superuserQuery<{ level: number; idx: string; hash: Buffer }>(
      `SELECT level, idx::text, hash FROM custody_nodes WHERE (level, idx) IN ((3, 5), (0, ${2 * PAGE + 100}))`,
    );
    expect(original).toHaveLength(2);
    await behindTheTrigger('custody_nodes', `UPDATE custody_nodes SET hash = '\\x${'00'.repeat(32)}' WHERE (level, idx) IN ((3, 5), (0, ${2 * PAGE + 100}))`);
    const leafLevel = { node: `0/${2 * PAGE + 100}`, problem: 'a stored interior hash differs from the replayed tree' };
    for (const nodeRun of [512, 65_536]) expect(await nodeReport(nodeRun)).toEqual(leafLevel);
    // With the leaf-level node put back, the level-3 one; then a level-1 node missing, before it.
    await behindTheTrigger('custody_nodes', `UPDATE custody_nodes SET hash = '\\x${original.find((o) => o.level === 0)!.hash.toString('hex')}' WHERE level = 0 AND idx = ${2 * PAGE + 100}`);
    for (const nodeRun of [512, 65_536]) expect(await nodeReport(nodeRun)).toEqual({ node: '3/5', problem: 'a stored interior hash differs from the replayed tree' });
    const [gone] = await db.superuserQuery<{ hash: Buffer }>(`SELECT hash FROM custody_nodes WHERE level = 1 AND idx = 7000`);
    await behindTheTrigger('custody_nodes', `DELETE FROM custody_nodes WHERE level = 1 AND idx = 7000`);
    expect(await nodeReport(512)).toEqual({ node: '1/6656..7167', problem: '1 stored interior hashes are missing' });
    expect(await nodeReport(65_536)).toEqual({ node: `1/0..${Math.floor(EVENTS / 2) - 1}`, problem: '1 stored interior hashes are missing' });
    await behindTheTrigger('custody_nodes', `INSERT INTO custody_nodes (level, idx, hash) VALUES (1, 7000, '\\x${gone!.hash.toString('hex')}')`);
    await behindTheTrigger('custody_nodes', `UPDATE custody_nodes SET hash = '\\x${original.find((o) => o.level === 3)!.hash.toString('hex')}' WHERE level = 3 AND idx = 5`);
    expect(await replays()).toMatchObject({ events: EVENTS, nodesChecked: stored, firstDivergence: null });
  });

  it('names the same first divergent leaf in a full page, and a kept head before it comes first', async () => {
    // An indexed column rewritten in the second page.
    await behindTheTrigger('custody_events', `UPDATE custody_events SET action = 'evidence.downloaded' WHERE leaf_index = ${PAGE + 4000}`);
    expect(await replays()).toMatchObject({
      events: PAGE + 4000,
      headsChecked: 3,
      firstDivergence: { leafIndex: PAGE + 4000, problem: 'the indexed columns disagree with the event bytes' },
    });
    // The event bytes of the first leaf of the second page: the stored leaf hash no longer
    // matches, and the heads of the first page (appended whole) were checked before it.
    const [row] = await db.superuserQuery<{ event_bytes: Buffer }>(`SELECT event_bytes FROM custody_events WHERE leaf_index = ${PAGE}`);
    const forged = Buffer.from(row!.event_bytes.toString('utf8').replace('"record"', '"thumbnail"'));
    await behindTheTrigger('custody_events', `UPDATE custody_events SET event_bytes = '\\x${forged.toString('hex')}' WHERE leaf_index = ${PAGE}`);
    expect(await replays()).toMatchObject({
      events: PAGE,
      headsChecked: 2,
      firstDivergence: { leafIndex: PAGE, problem: 'the stored leaf hash is not the hash of the stored event bytes' },
    });
    // A kept head inside the first page whose root is wrong is found before either leaf.
    await behindTheTrigger('custody_tree_heads', `UPDATE custody_tree_heads SET root_hash = '\\x${'11'.repeat(32)}' WHERE tree_size = 5000`);
    expect(await replays()).toMatchObject({ events: 5000, headsChecked: 1, firstDivergence: { treeSize: 5000, problem: expect.stringMatching(/is not the replayed root/) } });
  });

  it('reads stored bytes as they are: bytes that are not UTF-8, under a leaf hash that matches them, are named', async () => {
    const [row] = await db.superuserQuery<{ event_bytes: Buffer }>(`SELECT event_bytes FROM custody_events WHERE leaf_index = 100`);
    // One byte of a string's text made 0xff, which UTF-8 never holds.
    const forged = Buffer.from(row!.event_bytes);
    forged[forged.indexOf('"record"') + 4] = 0xff;
    await behindTheTrigger(
      'custody_events',
      `UPDATE custody_events SET event_bytes = '\\x${forged.toString('hex')}', leaf_hash = '\\x${leafHash(forged).toString('hex')}' WHERE leaf_index = 100`,
    );
    expect(await replays()).toMatchObject({ events: 100, headsChecked: 0, firstDivergence: { leafIndex: 100, problem: 'the event bytes are not UTF-8' } });
  });
});
