import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  canonicalBytes,
  followHandovers,
  handoverProblem,
  MemoryTree,
  parseHash,
  verifyConsistency,
  verifyEventsAgainstHead,
  verifyInclusion,
  verifyTreeHead,
  type CustodyEvent,
} from '#custodia/custody-core';
import { createDataSource } from '#custodia/db';
import { TimestampAuthority } from '#custodia/timestamp';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { CustodyLog, MAX_BATCH, type CustodyEventInput, type QueuedEvent, type RecordedEvent } from './custody-log.js';
import { replayLog } from './replay.js';
import { SigningKeys } from './signing-keys.js';
import { TreeHeads } from './tree-heads.js';

describe('the custody log in PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let log: CustodyLog;
  let keys: SigningKeys;
  let heads: TreeHeads;
  const masterKey = Buffer.alloc(32, 42);
  const caseId = randomUUID();
  const actor = { id: randomUUID(), role: 'investigator' };
  const input = (n: number): CustodyEventInput => ({
    action: 'evidence.submitted',
    actor,
    caseId,
    subject: { type: 'evidence', id: randomUUID(), sha256: 'ab'.repeat(32) },
    details: { n, sizeBytes: 1000 + n, note: 'Харків' },
  });
  /** The events of committed changes as the sequencer's integration made them. */
  const integrated = async (queued: QueuedEvent[]): Promise<RecordedEvent[]> => {
    await log.integrateAll();
    return Promise.all(queued.map(async (q) => (await log.integratedAs(q.queueId))!));
  };
  const queueOne = (n: number) => ds.transaction((tx) => log.append(tx, input(n)));
  const appendOne = async (n: number) => (await integrated([await queueOne(n)]))[0]!;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url, [], { poolSize: 12 });
    await ds.initialize();
    log = new CustodyLog(ds);
    keys = new SigningKeys(ds, masterKey);
    heads = new TreeHeads(ds, keys);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('refuses an append outside a transaction', async () => {
    await expect(log.append(ds.manager, input(0))).rejects.toThrow(/inside a transaction/);
  });

  it('50 concurrent appends get indexes 0..49 with no gap, and a head covers them all', async () => {
    const recorded = await integrated(await Promise.all(Array.from({ length: 50 }, (_, n) => queueOne(n))));
    expect(recorded.map((r) => r.leafIndex).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const head = await heads.publish();
    expect(head.treeSize).toBe(50);
    // The head's root is the RFC 9162 root of the events' own bytes, recomputed in memory.
    const tree = new MemoryTree();
    const rows = await db.superuserQuery<{ event_bytes: Buffer }>(`SELECT event_bytes FROM custody_events ORDER BY leaf_index`);
    for (const row of rows) tree.append(row.event_bytes);
    expect(tree.root().toString('hex')).toBe(head.rootHash);
    expect(verifyTreeHead(head, await keys.published()).valid).toBe(true);
  });

  it('events recorded on their own (reads) share group commits, each committed before it resolves', async () => {
    await log.integrateAll();
    const records = Array.from({ length: 40 }, (_, n) => log.record(input(9000 + n)));
    await Promise.all(records);
    // Resolved means committed: every one is queued, in fewer transactions than events.
    const [{ events, transactions }] = await db.superuserQuery<{ events: number; transactions: number }>(
      `SELECT count(*)::int AS events, count(DISTINCT xmin::text)::int AS transactions FROM custody_queue`,
    );
    expect(events).toBe(40);
    expect(transactions).toBeLessThan(40);
    expect(await log.integrateAll()).toBe(40);
    // A malformed event fails its own group, and the log goes on.
    await expect(log.record({ ...input(9100), action: 'evidence.invented' as never })).rejects.toThrow(/malformed/);
    await log.record(input(9101));
    expect(await log.integrateAll()).toBe(1);
    // Recorded among others waiting for the same group, a malformed event is refused alone.
    const mixed = await Promise.allSettled([
      log.record(input(9200)),
      log.record(input(9201)),
      log.record({ ...input(9202), action: 'evidence.invented' as never }),
      log.record(input(9203)),
    ]);
    expect(mixed.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await log.integrateAll()).toBe(3);
    // A page of items listed: more events than one group takes, all committed when it resolves.
    await log.recordAll(Array.from({ length: 300 }, (_, n) => input(9300 + n)));
    expect(await log.queued()).toBe(300);
    expect(await log.integrateAll()).toBe(300);
  });

  it('a rolled-back append leaves no gap and no trace', async () => {
    const before = await log.size();
    await expect(
      ds.transaction(async (tx) => {
        await log.append(tx, input(999));
        throw new Error('the business change failed');
      }),
    ).rejects.toThrow('the business change failed');
    expect(await log.queued()).toBe(0);
    expect(await log.integrateAll()).toBe(0);
    expect(await log.size()).toBe(before);
    expect((await appendOne(1000)).leafIndex).toBe(before);
  });

  it('changes from concurrent writers keep their order with no gap, and the stored nodes match the tree of the bytes', async () => {
    const before = await log.size();
    // Sizes 1 to 5 mixed, so changes start and end on either side of perfect-subtree boundaries.
    const sizes = [3, 1, 4, 2, 5, 1, 2, 3, 4, 1, 5, 2, 3];
    const queued = await Promise.all(
      sizes.map((size, b) => ds.transaction((tx) => log.appendAll(tx, Array.from({ length: size }, (_, n) => input(5000 + 10 * b + n))))),
    );
    const batches = await Promise.all(queued.map((q) => integrated(q)));
    for (const [b, batch] of batches.entries()) {
      expect(batch).toHaveLength(sizes[b]!);
      // In the order given.
      expect(batch.map((r) => r.event.details['n'])).toEqual(Array.from({ length: sizes[b]! }, (_, n) => 5000 + 10 * b + n));
      expect(batch.map((r) => r.leafIndex)).toEqual([...batch.map((r) => r.leafIndex)].sort((x, y) => x - y));
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(batches.flat().map((r) => r.leafIndex).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => before + i));
    // A rolled-back batch leaves no trace; an empty one takes no index.
    await expect(
      ds.transaction(async (tx) => {
        await log.appendAll(tx, [input(6000), input(6001)]);
        throw new Error('the business change failed');
      }),
    ).rejects.toThrow('the business change failed');
    expect(await ds.transaction((tx) => log.appendAll(tx, []))).toEqual([]);
    expect(await log.size()).toBe(before + total);

    const tree = new MemoryTree();
    const rows = await db.superuserQuery<{ event_bytes: Buffer; leaf_hash: Buffer }>(`SELECT event_bytes, leaf_hash FROM custody_events ORDER BY leaf_index`);
    for (const row of rows) tree.append(row.event_bytes);
    const nodes = await db.superuserQuery<{ level: number; idx: string; hash: Buffer }>(`SELECT level, idx, hash FROM custody_nodes`);
    // Every perfect subtree exactly once (the primary key), each as the bytes make it.
    expect(nodes.length).toBe(rows.length * 2 - [...rows.length.toString(2)].filter((bit) => bit === '1').length);
    for (const node of nodes) expect(node.hash.equals(tree.node(node.level, Number(node.idx))!)).toBe(true);
    const head = await heads.publish();
    expect(head.rootHash).toBe(tree.root().toString('hex'));
    const last = batches.flat().at(-1)!;
    const proof = await log.inclusionProof(last.leafIndex, head.treeSize);
    expect(verifyInclusion(last.leafIndex, head.treeSize, parseHash(last.leafHash), proof.map(parseHash), parseHash(head.rootHash))).toBe(true);
  });

  it.each([
    ['UPDATE custody_events SET action = $$evidence.viewed$$ WHERE leaf_index = 3', 'UPDATE'],
    ['DELETE FROM custody_events WHERE leaf_index = 3', 'DELETE'],
    ['TRUNCATE custody_events', 'TRUNCATE'],
    ['UPDATE custody_nodes SET hash = hash WHERE level = 0 AND idx = 1', 'UPDATE'],
    ['DELETE FROM custody_tree_heads', 'DELETE'],
    ['TRUNCATE custody_tree_heads CASCADE', 'TRUNCATE'],
    ['DELETE FROM custody_signing_keys', 'DELETE'],
    ['UPDATE custody_signing_keys SET public_key_pem = $$x$$', 'UPDATE'],
    ['TRUNCATE custody_queue', 'TRUNCATE'],
  ])('the database itself refuses %s, even to a superuser', async (sql, op) => {
    await expect(db.superuserQuery(sql)).rejects.toThrow(new RegExp(`append-only: ${op}|kept forever`));
  });

  it.each([
    ['an action outside the vocabulary', (entry: Record<string, unknown>) => JSON.stringify({ ...entry, action: 'evidence.invented' }), /malformed \(action evidence\.invented/],
    ['a field no event has', (entry: Record<string, unknown>) => JSON.stringify({ ...entry, extra: 1 }), /malformed \(unknown field extra/],
    ['a lone surrogate, which no RFC 8785 bytes can hold', (entry: Record<string, unknown>) => JSON.stringify(entry).replace('"Харків"', '"\\ud800"'), /malformed \(.*lone UTF-16 surrogate/],
  ])('integration refuses a queue entry written behind the log (%s) and integrates nothing', async (_, tamper, message) => {
    const good = { action: 'evidence.submitted', at: '2026-12-03T00:00:00.000Z', actor, caseId, subject: { type: 'evidence', id: randomUUID() }, details: { note: 'Харків' } };
    expect(JSON.parse(tamper(good))).not.toEqual(good);
    const runner = ds.createQueryRunner();
    await runner.startTransaction();
    try {
      const before = await runner.query(`SELECT count(*)::int AS n FROM custody_events`);
      await runner.query(`INSERT INTO custody_queue (entry) VALUES ($1)`, [tamper(good)]);
      await expect(log.integrate(MAX_BATCH, runner.manager)).rejects.toThrow(message);
      expect(await runner.query(`SELECT count(*)::int AS n FROM custody_events`)).toEqual(before);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });

  it('a queued event is never changed, and leaves the queue only by being integrated, even for a superuser', async () => {
    const queued = await queueOne(8000);
    await expect(db.superuserQuery(`UPDATE custody_queue SET entry = entry || ' ' WHERE id = $1`, [queued.queueId])).rejects.toThrow(/never changed/);
    await expect(db.superuserQuery(`DELETE FROM custody_queue WHERE id = $1`, [queued.queueId])).rejects.toThrow(/only once integrated/);
    const [event] = await integrated([queued]);
    expect(event!.event.details['n']).toBe(8000);
    expect(await log.queued()).toBe(0);
    // And integrated once: the queue id is unique among events.
    await expect(
      db.superuserQuery(`INSERT INTO custody_events (leaf_index, event_bytes, leaf_hash, action, subject_type, subject_id, actor_id, at, queue_id)
                           SELECT leaf_index + 100000, event_bytes, leaf_hash, action, subject_type, subject_id, actor_id, at, queue_id
                             FROM custody_events WHERE queue_id = $1`, [queued.queueId]),
    ).rejects.toThrow(/custody_events_queue_id_key/);
  });

  it('the queue guard judges a DELETE as a whole: when one entry no event names is among them, none leaves', async () => {
    const [a, b] = [await queueOne(8100), await queueOne(8101)];
    const stillQueued = async (tx: EntityManager) =>
      (await tx.query(`SELECT count(*)::int AS n FROM custody_queue WHERE id = ANY ($1::bigint[])`, [[a.queueId, b.queueId]]))[0].n;
    const runner = ds.createQueryRunner();
    await runner.startTransaction();
    try {
      // An event naming a's entry, as integration writes one (rolled back below); b's is named by none.
      await runner.query(
        `INSERT INTO custody_events (leaf_index, event_bytes, leaf_hash, action, subject_type, subject_id, actor_id, at, queue_id)
         VALUES (900000, '\\x00', decode(repeat('00', 32), 'hex'), 'evidence.viewed', 'evidence', 'x', $1, now(), $2)`,
        [actor.id, a.queueId],
      );
      await runner.query(`SAVEPOINT together`);
      await expect(runner.query(`DELETE FROM custody_queue WHERE id = ANY ($1::bigint[])`, [[a.queueId, b.queueId]])).rejects.toThrow(/only once integrated/);
      await runner.query(`ROLLBACK TO SAVEPOINT together`);
      expect(await stillQueued(runner.manager)).toBe(2);
      await runner.query(`DELETE FROM custody_queue WHERE id = $1`, [a.queueId]);
      expect(await stillQueued(runner.manager)).toBe(1);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
    const events = await integrated([a, b]);
    expect(events.map((e) => e.event.details['n'])).toEqual([8100, 8101]);
  });

  it('receipts asked for at once share a signing: every leaf covered, fewer heads than callers', async () => {
    const countHeads = async () => Number((await db.superuserQuery<{ n: string }>(`SELECT count(*) AS n FROM custody_tree_heads`))[0]!.n);
    await heads.publish();
    const before = await countHeads();
    const recorded = await integrated(await Promise.all(Array.from({ length: 8 }, (_, n) => queueOne(7000 + n))));
    const signings = vi.spyOn(heads, 'publish');
    const covering = await Promise.all(recorded.map((r) => heads.covering(r.leafIndex)));
    for (const [i, head] of covering.entries()) expect(head.treeSize).toBeGreaterThan(recorded[i]!.leafIndex);
    // All eight were committed before the first signing began: one signing (one transaction,
    // one key read) answers them all, where each used to open its own.
    expect(signings).toHaveBeenCalledTimes(1);
    signings.mockRestore();
    expect(await countHeads()).toBe(before + 1);
  });

  it('a receipt whose read of the newest head answered after a signing ended takes that signing, not a new one', async () => {
    const [first] = await integrated([await queueOne(7100)]);
    const stale = await heads.latest();
    // Every read of the newest head answers as it was before: as a read issued before the
    // signing below committed, whose answer arrives after it ended.
    const reads = vi.spyOn(heads, 'latest').mockResolvedValue(stale);
    const signings = vi.spyOn(heads, 'publish');
    try {
      const head = await heads.covering(first!.leafIndex);
      expect(head.treeSize).toBeGreaterThan(first!.leafIndex);
      expect(await heads.covering(first!.leafIndex)).toEqual(head);
      expect(signings).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
      signings.mockRestore();
    }
  });

  it('inclusion and consistency proofs from the stored nodes verify against signed heads', async () => {
    const small = await heads.publish();
    for (let n = 0; n < 20; n++) await appendOne(2000 + n);
    const big = await heads.publish();
    expect(big.treeSize).toBe(small.treeSize + 20);
    for (const leafIndex of [0, 1, small.treeSize - 1, small.treeSize, big.treeSize - 1]) {
      const proof = await log.inclusionProof(leafIndex, big.treeSize);
      const leaf = parseHash((await log.leafHashAt(leafIndex))!);
      expect(verifyInclusion(leafIndex, big.treeSize, leaf, proof.map(parseHash), parseHash(big.rootHash))).toBe(true);
      expect(verifyInclusion(leafIndex, big.treeSize, leaf, proof.map(parseHash), parseHash(small.rootHash))).toBe(false);
    }
    // Many at once, from one read of the stored nodes: the same proofs as one by one.
    const some = [0, 1, 2, small.treeSize - 1, small.treeSize, big.treeSize - 2, big.treeSize - 1];
    const together = await log.inclusionProofs(some, big.treeSize);
    expect([...together.keys()]).toEqual(some);
    for (const leafIndex of some) expect(together.get(leafIndex)).toEqual(await log.inclusionProof(leafIndex, big.treeSize));
    expect(await log.inclusionProofs([], big.treeSize)).toEqual(new Map());
    const consistency = await log.consistencyProof(small.treeSize, big.treeSize);
    expect(
      verifyConsistency(small.treeSize, big.treeSize, consistency.map(parseHash), parseHash(small.rootHash), parseHash(big.rootHash)),
    ).toBe(true);
    // Every event about a subject verifies against the head, as POST /evidence/:id/verify will do.
    const recorded = await appendOne(3000);
    const head = await heads.covering(recorded.leafIndex);
    const events = await log.eventsAbout('evidence', recorded.event.subject.id);
    const report = verifyEventsAgainstHead(
      await Promise.all(
        events.map(async (e) => ({ event: e.event, leafIndex: e.leafIndex, proof: await log.inclusionProof(e.leafIndex, head.treeSize) })),
      ),
      head,
      await keys.published(),
    );
    expect(report.valid).toBe(true);
  });

  it('key rotation keeps the old public key published, and old heads still verify', async () => {
    const oldHead = await heads.publish();
    const oldKeyId = (await keys.active()).keyId;
    const newKeyId = await keys.rotate();
    expect(newKeyId).not.toBe(oldKeyId);
    await appendOne(4000);
    const newHead = await heads.publish();
    expect(newHead.keyId).toBe(newKeyId);
    const published = await keys.published();
    expect(published.map((k) => k.keyId)).toEqual([oldKeyId, newKeyId]);
    expect(published[0]!.activeTo).not.toBeNull();
    expect(verifyTreeHead(oldHead, published).valid).toBe(true);
    expect(verifyTreeHead(newHead, published).valid).toBe(true);
    // A head claimed under the new key but signed by the old one fails.
    expect(verifyTreeHead({ ...oldHead, keyId: newKeyId }, published).valid).toBe(false);
  });

  it("a retired key signs its handover: the head ending with its rotation, which leads whoever trusts it to the next key", async () => {
    // A rotation cut short after its commit (a crash before the handover): the next start signs it.
    class CutShort extends SigningKeys {
      override async handOver(): Promise<number> {
        return 0;
      }
    }
    const before = (await keys.active()).keyId;
    const next = await new CutShort(ds, masterKey).rotate();
    expect((await keys.handovers()).some((h) => h.head.keyId === before)).toBe(false);
    expect(await keys.handOver()).toBe(1);
    expect(await keys.handOver()).toBe(0);
    const third = await keys.rotate();
    await appendOne(4100);
    const newest = await heads.publish();
    expect(newest.keyId).toBe(third);

    const handovers = await keys.handovers();
    const published = await keys.published();
    const last = handovers.at(-1)!;
    expect(last).toMatchObject({ head: { keyId: next, treeSize: last.leafIndex + 1 }, event: { action: 'key.rotated', details: { previousKeyId: next, keyId: third } } });
    expect(handovers.find((h) => h.head.keyId === before)!.event.details).toMatchObject({ previousKeyId: before, keyId: next });
    for (const h of handovers) expect(handoverProblem(h, published)).toBeUndefined();
    const carried = await Promise.all(handovers.map(async (h) => ({ ...h, consistencyProof: await log.consistencyProof(h.head.treeSize, newest.treeSize) })));
    // From the first key ever to the newest, through every rotation this suite made.
    const first = published[0]!.keyId;
    const chain = followHandovers([first], carried, published, newest);
    expect(chain.problems).toEqual([]);
    expect(chain.trusted.has(third)).toBe(true);
    expect(await keys.handovers(last.head.treeSize - 1)).toHaveLength(handovers.length - 1);

    // Kept as the log is: never changed, never a second one for a key.
    for (const sql of [
      `UPDATE custody_key_handovers SET signature = 'x'`,
      `DELETE FROM custody_key_handovers`,
      `TRUNCATE custody_key_handovers`,
    ]) {
      await expect(ds.query(sql), sql).rejects.toThrow(/append-only/);
    }
    await expect(
      ds.query(`INSERT INTO custody_key_handovers SELECT * FROM custody_key_handovers WHERE key_id = $1`, [before]),
    ).rejects.toThrow(/duplicate key/);
  });

  it('a key marked compromised signs no handover, is never unmarked, and no handover it signed is followed', async () => {
    const leaked = (await keys.active()).keyId;
    const next = await keys.rotate(undefined, { compromised: true, reason: 'the server was seized' });
    expect(await keys.handOver()).toBe(0);
    expect((await keys.handovers()).some((h) => h.head.keyId === leaked)).toBe(false);
    // A key rotated as usual, found to have leaked later: its handover was signed, and stays.
    const after = await keys.rotate();
    expect((await keys.handovers()).some((h) => h.head.keyId === next)).toBe(true);
    expect(await keys.markCompromised(next, undefined, 'found on a paste site')).toEqual({ activeKeyId: after, marked: true });
    expect(await keys.markCompromised(next)).toEqual({ activeKeyId: after, marked: false });
    await expect(keys.markCompromised('0'.repeat(64))).rejects.toThrow(/no signing key/);

    const published = await keys.published();
    const mark = (keyId: string) => published.find((k) => k.keyId === keyId)!.compromisedAt;
    expect(mark(leaked)).toEqual(expect.any(String));
    expect(mark(next)).toEqual(expect.any(String));
    expect(mark(after)).toBeNull();
    await log.integrateAll();
    const marks = (await log.eventsAbout('key', leaked)).concat(await log.eventsAbout('key', next)).filter((e) => e.event.action === 'key.compromised');
    expect(marks.map((e) => [e.event.subject.id, e.event.details, e.event.reason, e.event.caseId])).toEqual([
      [leaked, expect.objectContaining({ keyId: leaked, activeKeyId: next }), 'the server was seized', null],
      [next, expect.objectContaining({ keyId: next, activeKeyId: after }), 'found on a paste site', null],
    ]);

    // Whoever pinned either marked key reaches no key: not the next key through a handover, not the key itself.
    await appendOne(4200);
    const newest = await heads.publish();
    const carried = await Promise.all(
      (await keys.handovers()).map(async (h) => ({ ...h, consistencyProof: await log.consistencyProof(h.head.treeSize, newest.treeSize) })),
    );
    const chain = followHandovers([next], carried, published, newest);
    expect(chain.problems).toEqual([]);
    expect([...chain.trusted]).toEqual([]);
    expect([...chain.compromised.keys()]).toEqual([next]);
    // Without the marks, the same handover would have led to the newest key.
    expect(followHandovers([next], carried, published.map((k) => ({ ...k, compromisedAt: null })), newest).trusted.has(after)).toBe(true);

    // The mark is kept as the keys are: never taken back, never on the active key.
    await expect(ds.query(`UPDATE custody_signing_keys SET compromised_at = NULL WHERE key_id = $1`, [next])).rejects.toThrow(/kept forever/);
    await expect(ds.query(`UPDATE custody_signing_keys SET compromised_at = now() WHERE active_to IS NULL`)).rejects.toThrow(/compromised_retired/);

    // The active key marked: rotated as compromised, with no handover.
    const { activeKeyId: last, marked } = await keys.markCompromised(after);
    expect(marked).toBe(true);
    expect(last).not.toBe(after);
    expect((await keys.active()).keyId).toBe(last);
    expect((await keys.published()).find((k) => k.keyId === after)!.compromisedAt).toEqual(expect.any(String));
    expect((await keys.handovers()).some((h) => h.head.keyId === after)).toBe(false);
  });

  it('a master key other than the one that sealed the signing key is refused with a clear message', async () => {
    await expect(new SigningKeys(ds, Buffer.alloc(32, 1)).active()).rejects.toThrow(/CUSTODIA_MASTER_KEY/);
  });

  it('the private key is stored sealed, never in clear', async () => {
    const [row] = await db.superuserQuery<{ private_key_sealed: Buffer }>(
      `SELECT private_key_sealed FROM custody_signing_keys WHERE active_to IS NULL`,
    );
    const { privateKey } = await keys.active();
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(row!.private_key_sealed.includes(der.subarray(der.length - 32))).toBe(false);
  });

  it('replaying the untouched log finds no divergence', async () => {
    await heads.publish();
    const report = await replayLog(ds);
    expect(report.firstDivergence).toBeNull();
    expect(report.events).toBe(await log.size());
    expect(report.headsChecked).toBeGreaterThanOrEqual(5);
    expect(report.nodesChecked).toBeGreaterThan(report.events);
  });

  it('replays one moment of a live log: events integrated and heads signed while it runs are left for the next replay', async () => {
    const before = await log.size();
    let grown = 0;
    const report = await replayLog(ds, async () => {
      // The archive goes on while the replay checks its last page.
      if (grown++ > 0) return;
      await appendOne(1);
      await appendOne(2);
      await heads.publish();
    });
    expect(grown).toBe(1);
    expect(await log.size()).toBe(before + 2);
    expect(report.firstDivergence).toBeNull();
    expect(report.events).toBe(before);
    expect((await replayLog(ds)).events).toBe(before + 2);
  });

  it('a stored interior hash altered or removed behind the trigger\'s back is found by the replay, at its place', async () => {
    const behindTheTrigger = (sql: string) =>
      db.superuserQuery(`
        BEGIN;
        ALTER TABLE custody_nodes DISABLE TRIGGER custody_nodes_append_only;
        ${sql};
        ALTER TABLE custody_nodes ENABLE TRIGGER custody_nodes_append_only;
        COMMIT;`);
    const [node] = await db.superuserQuery<{ hash: Buffer }>(`SELECT hash FROM custody_nodes WHERE level = 2 AND idx = 3`);
    await behindTheTrigger(`UPDATE custody_nodes SET hash = '\\x${'00'.repeat(32)}' WHERE level = 2 AND idx = 3`);
    expect((await replayLog(ds)).firstDivergence).toMatchObject({ node: '2/3', problem: expect.stringMatching(/differs/) });
    await behindTheTrigger(`DELETE FROM custody_nodes WHERE level = 2 AND idx = 3`);
    expect((await replayLog(ds)).firstDivergence).toMatchObject({ problem: expect.stringMatching(/1 stored interior hashes are missing/) });
    await behindTheTrigger(`INSERT INTO custody_nodes (level, idx, hash) VALUES (2, 3, '\\x${node!.hash.toString('hex')}')`);
    expect((await replayLog(ds)).firstDivergence).toBeNull();
  });

  it('a row altered behind the trigger\'s back is found by the replay', async () => {
    const victim = 7;
    const [row] = await db.superuserQuery<{ event_bytes: Buffer }>(`SELECT event_bytes FROM custody_events WHERE leaf_index = $1`, [victim]);
    const event = JSON.parse(row!.event_bytes.toString()) as CustodyEvent;
    const forged = Buffer.from(JSON.stringify({ ...event, reason: 'rewritten' }));
    await db.superuserQuery(`
      BEGIN;
      ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only;
      UPDATE custody_events SET event_bytes = '\\x${forged.toString('hex')}' WHERE leaf_index = ${victim};
      ALTER TABLE custody_events ENABLE TRIGGER custody_events_append_only;
      COMMIT;`);
    const report = await replayLog(ds);
    expect(report.firstDivergence).toMatchObject({ leafIndex: victim });
    expect(report.firstDivergence!.problem).toMatch(/leaf hash/);
    // Bytes that are not even UTF-8 are named at their leaf too (the page is read again as bytes).
    await db.superuserQuery(`
      BEGIN;
      ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only;
      UPDATE custody_events SET event_bytes = '\\xff7b7d' WHERE leaf_index = 2;
      ALTER TABLE custody_events ENABLE TRIGGER custody_events_append_only;
      COMMIT;`);
    expect((await replayLog(ds)).firstDivergence).toMatchObject({ leafIndex: 2, problem: expect.stringMatching(/leaf hash/) });
  });
});

describe('tree heads time-stamped by an RFC 3161 authority', () => {
  it('stores a token over the signed head that openssl verifies, keeps heads when the authority is down, and stamps them late once it answers', async () => {
    const { startLocalTsa, openssl } = await import('../../../test/support/tsa/local-tsa.js');
    const db = await createTestDatabase();
    const ds = createDataSource(db.url, [], { poolSize: 4 });
    await ds.initialize();
    const tsa = await startLocalTsa();
    try {
      const keys = new SigningKeys(ds, Buffer.alloc(32, 3));
      const errors: unknown[] = [];
      const heads = new TreeHeads(ds, keys, (e) => errors.push(e), new TimestampAuthority(tsa.url));
      const log = new CustodyLog(ds);
      const caseId = randomUUID();
      await ds.transaction((tx) => log.append(tx, { action: 'case.created', actor: { id: caseId, role: 'admin' }, caseId, subject: { type: 'case', id: caseId } }));
      const head = await heads.publish();
      const token = await heads.timestampToken(head.treeSize);
      expect(token).not.toBeNull();
      const { timestampToken, ...signedHead } = head;
      expect(Buffer.from(timestampToken!, 'base64').equals(token!)).toBe(true);
      const dataFile = await tsa.writeTemp('head.json', canonicalBytes(signedHead));
      const tokenFile = await tsa.writeTemp('head.tst', token!);
      const { stdout } = await openssl(['ts', '-verify', '-data', dataFile, '-in', tokenFile, '-token_in', '-CAfile', tsa.caPem, '-untrusted', tsa.tsaPem]);
      expect(stdout.toString()).toContain('Verification: OK');

      const down = new TreeHeads(ds, keys, (e) => errors.push(e), new TimestampAuthority('http://127.0.0.1:9/tsr', { timeoutMs: 500 }));
      await ds.transaction((tx) => log.append(tx, { action: 'case.created', actor: { id: caseId, role: 'admin' }, caseId, subject: { type: 'case', id: caseId } }));
      const unstamped = await down.publish();
      expect(unstamped.treeSize).toBe(2);
      expect(await down.timestampToken(2)).toBeNull();
      expect(errors).toHaveLength(1);
      // Still down: nothing kept, the failure reported again.
      expect(await down.stampLate(unstamped)).toEqual(unstamped);
      expect(errors).toHaveLength(2);

      // The authority answers again: the head is stamped late, beside its row, which stays as signed.
      const asked = tsa.received.length;
      const late = await heads.stampLate(unstamped);
      expect(tsa.received).toHaveLength(asked + 1);
      expect(late).toEqual({ ...unstamped, timestampToken: expect.any(String) });
      const { timestampToken: lateToken, ...signedLate } = late;
      const lateFile = await tsa.writeTemp('late.tst', Buffer.from(lateToken!, 'base64'));
      const lateData = await tsa.writeTemp('late.json', canonicalBytes(signedLate));
      expect((await openssl(['ts', '-verify', '-data', lateData, '-in', lateFile, '-token_in', '-CAfile', tsa.caPem, '-untrusted', tsa.tsaPem])).stdout.toString()).toContain('Verification: OK');
      expect((await heads.timestampToken(2))!.toString('base64')).toBe(lateToken);
      expect(await heads.latest()).toEqual(late);
      expect(await heads.list(0, 10)).toEqual([head, late]);
      const [row] = await ds.query(`SELECT tsa_token FROM custody_tree_heads WHERE tree_size = 2`);
      expect(row.tsa_token).toBeNull();
      // Once stamped, never again: no second request, the first token kept.
      expect(await heads.stampLate(late)).toEqual(late);
      expect(await heads.stampLate(unstamped)).toEqual(late);
      expect(tsa.received).toHaveLength(asked + 2);
      // A quiet archive: the background loop offers its unstamped newest head again, at most once a minute.
      await ds.transaction((tx) => log.append(tx, { action: 'case.created', actor: { id: caseId, role: 'admin' }, caseId, subject: { type: 'case', id: caseId } }));
      expect((await down.publish()).timestampToken).toBeNull();
      const failures = errors.length;
      down.start(20);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await down.stop();
      expect(errors).toHaveLength(failures + 1);
      heads.start(20);
      try {
        for (const deadline = Date.now() + 5_000; (await heads.latest())!.timestampToken === null; ) {
          if (Date.now() > deadline) throw new Error('the loop did not stamp the newest head');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        await heads.stop();
      }
      expect((await heads.latest())!.treeSize).toBe(3);

      // The database keeps late tokens as it keeps the log (the table's owner is refused too):
      // one per unstamped head, never changed.
      for (const sql of [
        `UPDATE custody_head_timestamps SET tsa_token = '\\x00'`,
        `DELETE FROM custody_head_timestamps`,
        `TRUNCATE custody_head_timestamps`,
        `INSERT INTO custody_head_timestamps (tree_size, tsa_token) VALUES (1, '\\x00')`,
      ]) {
        await expect(ds.query(sql), sql).rejects.toThrow(/append-only|time-stamped when it was signed/);
      }
    } finally {
      await tsa.close();
      await ds.destroy();
      await db.drop();
    }
  });
});
