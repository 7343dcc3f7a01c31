/**
 * Custody log figures (issues 3 and 12): appends per second through the service on real
 * PostgreSQL (1, 8 and 32 concurrent writers: each a business transaction that queues its event
 * and commits, counted once the elected sequencer has integrated every one), the time from a
 * commit to its integration (p50/p95), proof times at 10^6 events, and the full-log replay rate
 * against this machine's SHA-256 rate.
 * Usage: npm run bench:custody [-- --events 1000000 --parts appends,proofs,replay --writers 1,8,32 --threads 2,3]
 */
import { createHash, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { MemoryTree, eventBytes, formatTimestamp, leafHash, type CustodyEvent } from '#custodia/custody-core';
import { CustodyLog, readReplayPage, replayLog, Sequencer, SigningKeys, TreeHeads, type CustodyEventInput } from '#custodia/custody';
import { createDataSource } from '#custodia/db';
import { benchDatabase, cpuMeter, fmt, now, percentiles } from './support.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    appends: { type: 'string', default: '20000' },
    parts: { type: 'string', default: 'appends,proofs,replay' },
    /** Concurrent writers, a run each (comma-separated). */
    writers: { type: 'string', default: '1,8,32' },
    /** Replay worker threads, a run each (comma-separated; "default" is the replay's own choice). */
    threads: { type: 'string', default: 'default' },
  },
});
const EVENTS = Number(values.events);
const APPENDS = Number(values.appends);
const PARTS = new Set(values.parts.split(','));

const caseId = randomUUID();
const actor = { id: randomUUID(), role: 'documenter' };
const sampleInput = (n: number): CustodyEventInput => ({
  action: 'evidence.submitted',
  actor,
  caseId,
  subject: { type: 'evidence', id: randomUUID(), sha256: createHash('sha256').update(String(n)).digest('hex') },
  details: { sizeBytes: 3_400_000 + n, mediaType: 'image/jpeg', clientSha256Matched: true },
});

type Ds = Awaited<ReturnType<typeof benchDatabase>>['ds'];

/**
 * `APPENDS` business transactions by `writers` concurrent writers, each queueing one event and
 * committing, while the sequencer (on its own connections, as in the service) integrates them.
 * The rate counts until the last one is integrated; latency is commit to integration.
 */
async function appendRate(
  writersDs: Ds,
  sequencerDs: Ds,
  writers: number,
  appends: number,
  way: 'transaction' | 'record' = 'transaction',
): Promise<{ rate: number; p50: number; p95: number }> {
  const log = new CustodyLog(writersDs);
  const sequencer = new Sequencer(sequencerDs, new CustodyLog(sequencerDs), { intervalMs: 200, electionMs: 50, onError: (e) => console.error(e) });
  sequencer.start();
  const committedAt = new Map<number, number>();
  let next = 0;
  const started = now();
  // The database's clock stamps integration: wall-clock ms = now() + offset.
  const offset = Date.now() - started;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < appends) {
        const n = next++;
        if (way === 'record') {
          // An event that changes nothing else (a read, a download): its own group commit.
          await log.record(sampleInput(n));
          continue;
        }
        const queued = await writersDs.transaction((tx) => log.append(tx, sampleInput(n)));
        committedAt.set(queued.queueId, now());
        // Wake the sequencer as a submission waiting for its receipt does, without waiting.
        if (n % 64 === 0) void sequencer.nudge();
      }
    }),
  );
  while ((await log.queued()) > 0) await new Promise((resolve) => setTimeout(resolve, 2));
  const seconds = (now() - started) / 1000;
  await sequencer.stop();
  if (way === 'record') return { rate: appends / seconds, p50: NaN, p95: NaN };
  const rows: { queue_id: string; recorded: string }[] = await writersDs.query(
    `SELECT queue_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded FROM custody_events WHERE queue_id = ANY ($1::bigint[])`,
    [[...committedAt.keys()]],
  );
  const latency = rows.map((r) => Math.max(0, Number(r.recorded) - offset - committedAt.get(Number(r.queue_id))!));
  const { p50, p95 } = percentiles(latency);
  return { rate: appends / seconds, p50, p95 };
}

/**
 * The limit of one committed transaction per event from this client: the same BEGIN, one
 * INSERT of an event-sized row, COMMIT (a WAL flush), by as many writers, with no log at all.
 */
async function commitRate(ds: Ds, writers: number, count: number): Promise<number> {
  await ds.query(`CREATE TABLE IF NOT EXISTS bench_commits (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, entry text NOT NULL)`);
  const entry = JSON.stringify(sampleInput(0));
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next++ < count) await ds.transaction((tx) => tx.query(`INSERT INTO bench_commits (entry) VALUES ($1)`, [entry]));
    }),
  );
  return count / ((now() - started) / 1000);
}

/** Loads `count` events with their perfect-subtree nodes in bulk (the service's own format). */
async function bulkLoad(ds: Awaited<ReturnType<typeof benchDatabase>>['ds'], from: number, count: number): Promise<number> {
  const tree = new MemoryTree();
  const existing = await ds.query(`SELECT leaf_hash FROM custody_events ORDER BY leaf_index`);
  for (const row of existing) tree.appendLeafHash(row.leaf_hash);
  const started = now();
  const BATCH = 20_000;
  const at = formatTimestamp(new Date());
  for (let start = from; start < from + count; start += BATCH) {
    const rows: { index: number; bytes: Buffer; leaf: Buffer; subject: string }[] = [];
    const nodes: { level: number; idx: number; hash: Buffer }[] = [];
    for (let index = start; index < Math.min(from + count, start + BATCH); index++) {
      const input = sampleInput(index);
      const event: CustodyEvent = { index, at, ...input, details: input.details ?? {} } as CustodyEvent;
      const bytes = eventBytes(event);
      const leaf = leafHash(bytes);
      tree.appendLeafHash(leaf);
      rows.push({ index, bytes, leaf, subject: input.subject.id });
      for (let level = 0, i = index; ; level++) {
        nodes.push({ level, idx: i, hash: tree.node(level, i)! });
        if (i % 2 === 0) break;
        i = (i - 1) / 2;
      }
    }
    await ds.query(
      `INSERT INTO custody_events (leaf_index, event_bytes, leaf_hash, action, case_id, subject_type, subject_id, actor_id, at)
       SELECT i, b, h, 'evidence.submitted', $4, 'evidence', s, $5, $6
         FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $7::text[]) AS t(i, b, h, s)`,
      [rows.map((r) => r.index), rows.map((r) => r.bytes), rows.map((r) => r.leaf), caseId, actor.id, at, rows.map((r) => r.subject)],
    );
    await ds.query(`INSERT INTO custody_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, [
      nodes.map((n) => n.level),
      nodes.map((n) => n.idx),
      nodes.map((n) => n.hash),
    ]);
  }
  return (now() - started) / 1000;
}

/** SHA-256 over the log's own work: one leaf hash of each event's bytes plus one interior hash. */
function sha256EventRate(sampleBytes: Buffer[]): number {
  const started = now();
  let count = 0;
  const node = Buffer.alloc(65);
  while (now() - started < 2000) {
    for (const bytes of sampleBytes) {
      createHash('sha256').update(Buffer.from([0])).update(bytes).digest();
      createHash('sha256').update(node).digest();
      count++;
    }
  }
  return count / ((now() - started) / 1000);
}

const db = await benchDatabase('custody');
try {
  const log = new CustodyLog(db.ds);
  const heads = new TreeHeads(db.ds, new SigningKeys(db.ds, Buffer.alloc(32, 7)));
  console.log(`PostgreSQL ${db.server}; ${EVENTS.toLocaleString('en')} events for proofs; ${APPENDS} appends per run`);

  const url = (db.ds.options as { url: string }).url;
  const writersDs = createDataSource(url, [], { poolSize: 40 });
  const sequencerDs = createDataSource(url, [], { poolSize: 4 });
  await Promise.all([writersDs.initialize(), sequencerDs.initialize()]);
  for (const writers of PARTS.has('appends') ? values.writers.split(',').map(Number) : []) {
    const count = writers === 1 ? Math.min(APPENDS, 3000) : APPENDS;
    // The limit before and after, as the machine drifts.
    const before = await commitRate(writersDs, writers, count);
    const transactionsBusy = cpuMeter();
    const { rate, p50, p95 } = await appendRate(writersDs, sequencerDs, writers, count);
    const busyInTransactions = transactionsBusy();
    const after = await commitRate(writersDs, writers, count);
    const limit = (before + after) / 2;
    console.log(
      `appends/s through the service (queue + commit + sequencer), ${String(writers).padStart(2)} writers: ${fmt(rate, 0)}` +
        `${writers > 1 ? ' (target >= 5,000/s)' : ''}; bare committed transactions/s ${fmt(before, 0)} / ${fmt(after, 0)}; ratio ${fmt(rate / limit, 3)}` +
        `; commit -> integration p50 ${fmt(p50, 1)} ms, p95 ${fmt(p95, 1)} ms` +
        (busyInTransactions === null ? '' : `; CPUs busy ${fmt(100 * busyInTransactions, 0)} % of ${availableParallelism()}`),
    );
    if (writers === 1) continue;
    const busyShare = cpuMeter();
    const recorded = await appendRate(writersDs, sequencerDs, writers, count, 'record');
    const busy = busyShare();
    if (busy !== null) console.log(`  (CPUs busy while events were recorded on their own: ${fmt(100 * busy, 0)} % of ${availableParallelism()})`);
    console.log(
      `appends/s of events recorded on their own (CustodyLog.record: reads, downloads; group commit + sequencer), ${String(writers).padStart(2)} writers: ` +
        `${fmt(recorded.rate, 0)} (target >= 5,000/s); ratio to bare committed transactions/s ${fmt(recorded.rate / limit, 3)}`,
    );
  }
  await Promise.all([writersDs.destroy(), sequencerDs.destroy()]);

  if (PARTS.has('proofs') || PARTS.has('replay')) {
    const size = await log.size();
    const loadSeconds = await bulkLoad(db.ds, size, EVENTS - size);
    // As autovacuum leaves a log at rest: without it, the first replay after a bulk load of 10^6
    // events also sets every row's hint bits and writes the pages back (0.38 against 0.47 for the
    // replays after it, 2026-12-03), which no archive's `custodia log verify` pays.
    await db.ds.query('VACUUM (ANALYZE)');
    const head = await heads.publish();
    console.log(`bulk load to ${head.treeSize.toLocaleString('en')} events: ${fmt(loadSeconds, 1)} s`);

    const inclusion: number[] = [];
    const consistency: number[] = [];
    for (let i = 0; i < (PARTS.has('proofs') ? 500 : 0); i++) {
      const leaf = Math.floor(Math.random() * head.treeSize);
      let t0 = now();
      await log.inclusionProof(leaf, head.treeSize);
      inclusion.push(now() - t0);
      const first = 1 + Math.floor(Math.random() * (head.treeSize - 1));
      t0 = now();
      await log.consistencyProof(first, head.treeSize);
      consistency.push(now() - t0);
    }
    if (PARTS.has('proofs')) {
      const inc = percentiles(inclusion);
      const con = percentiles(consistency);
      console.log(`inclusion proof at ${head.treeSize} events:   p50 ${fmt(inc.p50)} ms, p95 ${fmt(inc.p95)} ms, max ${fmt(inc.max)} ms (target < 5 ms)`);
      console.log(`consistency proof at ${head.treeSize} events: p50 ${fmt(con.p50)} ms, p95 ${fmt(con.p95)} ms, max ${fmt(con.max)} ms (target < 5 ms)`);
    }

    const sample = (await db.ds.query(`SELECT event_bytes FROM custody_events ORDER BY leaf_index LIMIT 1000`)).map(
      (r: { event_bytes: Buffer }) => r.event_bytes,
    );
    let replayRate = 0;
    for (const threads of PARTS.has('replay') ? values.threads.split(',') : []) {
      const shaBefore = sha256EventRate(sample);
      const busyShare = cpuMeter();
      const ownBefore = process.cpuUsage();
      const t0 = now();
      const report = await replayLog(db.ds, undefined, threads === 'default' ? {} : { threads: Number(threads) });
      const replaySeconds = (now() - t0) / 1000;
      const busy = busyShare();
      const own = process.cpuUsage(ownBefore);
      if (report.firstDivergence) throw new Error(`replay diverged: ${JSON.stringify(report.firstDivergence)}`);
      const shaRate = (shaBefore + sha256EventRate(sample)) / 2;
      replayRate = report.events / replaySeconds;
      console.log(
        `replay (custodia log verify, ${threads} worker threads): ${fmt(replayRate, 0)} events/s over ${report.events} events, ${report.headsChecked} heads, ${report.nodesChecked} nodes`,
      );
      console.log(`SHA-256 alone on the same events (leaf + one node hash each, before and after): ${fmt(shaRate, 0)} events/s`);
      console.log(`replay / SHA-256 limit: ${fmt(replayRate / shaRate, 3)}`);
      if (busy !== null) {
        const ownSeconds = (own.user + own.system) / 1e6;
        console.log(
          `CPUs busy during the replay: ${fmt(100 * busy, 0)} % of ${availableParallelism()} (all processes); ` +
            `this process (main thread and workers) ${fmt((1e6 * ownSeconds) / report.events, 1)} µs of CPU per event, the rest ${fmt((1e6 * (busy * availableParallelism() * replaySeconds - ownSeconds)) / report.events, 1)} µs`,
        );
      }
    }
    // The other limit of a replay: reading the events out of PostgreSQL at all (the replay's own
    // pages, binary COPY of 8,192 events, nothing checked).
    const runner = db.ds.createQueryRunner();
    const client = await runner.connect();
    const t1 = now();
    try {
      for (let cursor = 0, read = 0; ; ) {
        const page = await readReplayPage(client, cursor, read);
        if (page.count === 0) break;
        read += page.count;
        cursor = page.lastLeafIndex! + 1;
      }
    } finally {
      await runner.release();
    }
    const readRate = (await log.size()) / ((now() - t1) / 1000);
    console.log(`reading the events alone from PostgreSQL (the replay's query, no checks): ${fmt(readRate, 0)} events/s; last replay / read limit: ${fmt(replayRate / readRate, 3)}`);
  }
} finally {
  await db.close();
}
