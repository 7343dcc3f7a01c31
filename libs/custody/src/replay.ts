import { availableParallelism } from 'node:os';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { DataSource, QueryRunner } from 'typeorm';
import {
  canonicalBytes,
  MemoryTree,
  REPLAY_PAGE_COLUMNS,
  scanReplayCopy,
  toHex,
  verifyTreeHead,
  type PublishedKey,
  type ReplayPage,
  type ReplayPageVerdict,
  type SignedTreeHead,
} from '#custodia/custody-core';
import { verifyTimeStampToken } from '#custodia/timestamp';
import { PageCheckers } from './replay-workers.js';
import { HEAD_COLUMNS, HEADS } from './tree-heads.js';

/** What replaying the whole log found. */
export interface ReplayReport {
  events: number;
  headsChecked: number;
  /** Heads kept with an RFC 3161 token (given at signing or later), and how many of those tokens were verified. */
  timestamps: { kept: number; checked: number };
  nodesChecked: number;
  /** The first place where the stored log disagrees with its own replay; null when none. */
  firstDivergence: { leafIndex?: number; treeSize?: number; node?: string; problem: string } | null;
  seconds: number;
}

/** Events per page: a power of two, so that each full page is a perfect subtree its worker hashes whole. */
const BATCH = 8192;
/** Stored nodes compared per query: one level's run of hashes, end to end. */
const NODE_SPAN = 65_536;

/** How a replay runs. */
export interface ReplayOptions {
  /**
   * Worker threads that check the pages' events while this thread reads the next pages and keeps
   * the tree; 0 checks them here. Default: one per CPU, two to four (the main thread waits on
   * the database part of the time: on two cores two workers replayed 0.42 to 0.48 of the SHA-256
   * rate, one 0.35 to 0.36).
   */
  threads?: number;
  /** Stored nodes compared per query (default NODE_SPAN); tests make it small to compare runs while the replay goes on. */
  nodeRun?: number;
  /**
   * The time-stamping authority's certificates (PEM, its root or its own): when given, every
   * kept head's RFC 3161 token is verified (over the head's RFC 8785 bytes, the authority's
   * signature, its certificate and the chain to one of these); a token that fails is a
   * divergence. Without them tokens are counted, not checked.
   */
  tsaCertificatesPem?: string[];
}

/** Kept heads read at a time. */
const HEADS_PAGE = 1000;

/** Pages checked or being checked at once, beyond one per thread. */
const PAGES_AHEAD = 2;

/**
 * Rebuilds the tree from every stored event's bytes and checks, in log order: leaf hashes,
 * canonical form, index and columns of each event, every kept head's root and signature, then
 * every stored interior node. Stops at the first divergence. The stored nodes are compared while
 * the events are replayed, on a second connection in the same snapshot (so the pool must have
 * two free), and reported as if compared after them.
 */
export async function replayLog(db: DataSource, onProgress?: (events: number) => void | Promise<void>, options: ReplayOptions = {}): Promise<ReplayReport> {
  // One snapshot for the whole replay: a live archive goes on integrating events and signing
  // heads while this runs, and events, heads and nodes read at different moments would disagree
  // (a head signed after the last page was read would claim leaves the replay never saw).
  const runner = db.createQueryRunner();
  const client = (await runner.connect()) as PoolClient;
  // The stored nodes are compared on a connection of their own, in the same snapshot, while the
  // events are replayed (one after the other, they took a quarter of the replay's time).
  const nodeRunner = db.createQueryRunner();
  try {
    await nodeRunner.connect();
    await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const [{ snapshot }] = (await runner.query('SELECT pg_export_snapshot() AS snapshot')) as { snapshot: string }[];
    await nodeRunner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await nodeRunner.query(`SET TRANSACTION SNAPSHOT '${snapshot!.replace(/'/g, "''")}'`);
    // Each run is read in index order and aggregated as it comes (PostgreSQL 16 and later skip
    // the sort of an ordered aggregate whose input is in order); left to itself the planner takes
    // a bitmap scan and a sort, twice the time (EXPLAIN ANALYZE, 65,536 nodes: 22 against 37 to 48
    // ms). Where a sort remains (PostgreSQL 15), it is done in memory, not in a temporary file.
    for (const setting of ['enable_bitmapscan = off', 'enable_sort = off', 'max_parallel_workers_per_gather = 0', `work_mem = '64MB'`]) {
      await nodeRunner.query(`SET LOCAL ${setting}`);
    }
    const checkers = new PageCheckers(options.threads ?? Math.min(4, Math.max(2, availableParallelism())));
    try {
      return await replaySnapshot(runner, client, nodeRunner, options.nodeRun ?? NODE_SPAN, checkers, options.tsaCertificatesPem ?? null, onProgress);
    } finally {
      await checkers.close();
    }
  } finally {
    for (const r of [nodeRunner, runner]) {
      await r.query('ROLLBACK').catch(() => undefined);
      await r.release();
    }
  }
}

/**
 * The stored events from leaf `cursor` on, at most `BATCH` of them, as one binary COPY (see
 * custody-core's `REPLAY_PAGE_COLUMNS`) on the connection of `client`.
 */
export async function readReplayPage(client: PoolClient, cursor: number, expected: number): Promise<ReplayPage & { lastLeafIndex: number | null }> {
  if (!Number.isSafeInteger(cursor) || cursor < 0) throw new Error(`readReplayPage: ${cursor} is not a leaf index`);
  const stream = client.query(copyTo(`COPY (SELECT ${REPLAY_PAGE_COLUMNS} FROM custody_events WHERE leaf_index >= ${cursor} ORDER BY leaf_index LIMIT ${BATCH}) TO STDOUT (FORMAT binary)`));
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
  }
  // A buffer of its own (never a slice of Node's shared pool): it is transferred to a worker whole.
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { expected, bytes, ...scanReplayCopy(bytes) };
}

async function replaySnapshot(
  runner: QueryRunner,
  client: PoolClient,
  nodeRunner: QueryRunner,
  nodeRun: number,
  checkers: PageCheckers,
  tsaCertificatesPem: string[] | null,
  onProgress?: (events: number) => void | Promise<void>,
): Promise<ReplayReport> {
  const started = process.hrtime.bigint();
  // The queries of one connection, one after another: a page's COPY holds the connection until
  // its last byte, and the heads' reads wait for it.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const done = queue.then(work);
    queue = done.catch(() => undefined);
    return done;
  };
  const db = { query: (sql: string, parameters?: unknown[]) => serially(() => runner.query(sql, parameters)) };
  const tree = new MemoryTree();
  const keys: PublishedKey[] = (await db.query(`SELECT key_id, public_key_pem FROM custody_signing_keys`)).map(
    (row: { key_id: string; public_key_pem: string }) => ({ keyId: row.key_id, publicKeyPem: row.public_key_pem }),
  );
  const report: ReplayReport = { events: 0, headsChecked: 0, timestamps: { kept: 0, checked: 0 }, nodesChecked: 0, firstDivergence: null, seconds: 0 };
  const finish = (): ReplayReport => ({ ...report, seconds: Number(process.hrtime.bigint() - started) / 1e9 });

  let heads: (SignedTreeHead & { token: Buffer | null })[] = [];
  let headCursor = -1;
  /** The snapshot holds no head past those read (no query per event once they are all checked). */
  let headsExhausted = false;
  const nextHeads = async (): Promise<void> => {
    const rows = await db.query(
      `SELECT ${HEAD_COLUMNS} FROM ${HEADS}
        WHERE tree_size > $1 ORDER BY tree_size LIMIT ${HEADS_PAGE}`,
      [headCursor],
    );
    headsExhausted = rows.length < HEADS_PAGE;
    heads = rows.map((row: { tree_size: string; root_hash: Buffer; signed_timestamp: string; key_id: string; signature: string; tsa_token: Buffer | null }) => ({
      treeSize: Number(row.tree_size),
      rootHash: toHex(row.root_hash),
      timestamp: row.signed_timestamp,
      keyId: row.key_id,
      signature: row.signature,
      token: row.tsa_token,
    }));
  };
  /** Checks every kept head of the current tree size; false at a divergence. */
  const checkHeads = async (): Promise<boolean> => {
    for (;;) {
      if (heads.length === 0 && !headsExhausted) await nextHeads();
      const head = heads[0];
      if (!head || head.treeSize > tree.size) return true;
      heads.shift();
      headCursor = head.treeSize;
      report.headsChecked++;
      const root = toHex(tree.root(head.treeSize));
      if (root !== head.rootHash) {
        // The events that lead up to the head (a whole page may have been appended past it).
        report.events = head.treeSize;
        report.firstDivergence = { treeSize: head.treeSize, problem: `the kept head's root ${head.rootHash} is not the replayed root ${root}` };
        return false;
      }
      const { token, ...signed } = head;
      const verdict = verifyTreeHead(signed, keys);
      if (!verdict.valid) {
        report.events = head.treeSize;
        report.firstDivergence = { treeSize: head.treeSize, problem: `the head's signature does not verify: ${verdict.reason}` };
        return false;
      }
      if (token === null) continue;
      report.timestamps.kept++;
      if (tsaCertificatesPem === null) continue;
      // The authority stamped the signed head's RFC 8785 bytes (TreeHeads.publish and stampLate).
      const stamp = await verifyTimeStampToken(token, { data: canonicalBytes(signed), trustedCertificatesPem: tsaCertificatesPem });
      if (!stamp.valid) {
        report.events = head.treeSize;
        report.firstDivergence = { treeSize: head.treeSize, problem: `the head's RFC 3161 time-stamp token does not verify: ${stamp.reason}` };
        return false;
      }
      report.timestamps.checked++;
    }
  };

  if (!(await checkHeads())) return finish();
  // Stored nodes are compared as the tree grows, and stopped (their query awaited) however this ends.
  const nodes = new StoredNodeCheck(nodeRunner, tree, nodeRun);
  try {
    type Page = Awaited<ReturnType<typeof readReplayPage>>;
    const page = (cursor: number, expected: number): Promise<Page> => serially(() => readReplayPage(client, cursor, expected));
    // Pages are read one after another on this thread while earlier ones are checked by the
    // workers; their verdicts are taken in log order, each leaf appended and the heads of each tree
    // size checked as it is reached, so the first divergence is the same as checking one by one.
    const depth = (checkers.threads || 1) + PAGES_AHEAD;
    const checking: Promise<ReplayPageVerdict>[] = [];
    let reading: Promise<Page> | null = page(0, 0);
    for (;;) {
      while (reading && checking.length < depth) {
        const read: Page = await reading;
        if (read.count === 0) {
          reading = null;
          break;
        }
        reading = read.count === BATCH ? page(read.lastLeafIndex! + 1, read.expected + read.count) : null;
        checking.push(checkers.check(read));
      }
      const next = checking.shift();
      if (!next) break;
      const { hashes, divergence, levels } = await next;
      if (levels) {
        // A whole perfect subtree; the heads it reaches are checked in order, as one by one.
        tree.appendPerfectSubtree([hashes, ...levels]);
        nodes.advance();
        report.events += hashes.length / 32;
        if (!(await checkHeads())) return finish();
        await onProgress?.(report.events);
        continue;
      }
      for (let at = 0; at < hashes.length; at += 32) {
        tree.appendLeafHash(hashes.subarray(at, at + 32));
        report.events++;
        if (!(await checkHeads())) return finish();
      }
      nodes.advance();
      if (divergence) {
        report.firstDivergence = divergence;
        return finish();
      }
      await onProgress?.(report.events);
    }
    const [unreached] = await db.query(`SELECT min(tree_size) AS size FROM custody_tree_heads WHERE tree_size > $1`, [tree.size]);
    if (unreached?.size !== null && unreached?.size !== undefined) {
      report.firstDivergence = { treeSize: Number(unreached.size), problem: `a head claims ${unreached.size} leaves; the log holds ${tree.size}` };
      return finish();
    }
    // Every stored node of the replayed tree: the runs not compared yet, and the first divergence.
    const stored = await nodes.finish();
    report.nodesChecked = stored.checked;
    report.firstDivergence = stored.divergence;
    return finish();
  } finally {
    await nodes.stop();
  }
}

/**
 * Compares the stored nodes (custody_nodes) with the replayed tree as it grows, a level's run of
 * hashes (NODE_SPAN) at a time once the tree covers the whole run, on a connection of its own, one
 * query at a time. What it reports is what comparing level by level after the replay would:
 * after a divergence at some level it only goes on with the levels below, so the divergence it
 * keeps is the first by level, then by index. Nodes past the snapshot's tree (events integrated
 * while this ran) are left for the next replay.
 */
class StoredNodeCheck {
  /** Per level, the index of the next node to compare. */
  private readonly next: number[] = [];
  private checked = 0;
  private divergence: { node: string; problem: string } | null = null;
  /** Levels from here up are not compared (a divergence was found at this level). */
  private levelLimit = Number.POSITIVE_INFINITY;
  private running: Promise<void> = Promise.resolve();
  private queued = false;
  private failure: unknown;
  private stopped = false;

  constructor(
    private readonly runner: QueryRunner,
    private readonly tree: MemoryTree,
    /** Nodes compared per query. */
    private readonly run: number,
  ) {}

  /** Compares, in the background, the runs the tree now covers whole. */
  advance(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    this.running = this.running
      .then(() => {
        this.queued = false;
        return this.compare(false);
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      });
  }

  /** Once the tree is complete: compares what is left and answers with the count and the first divergence. */
  async finish(): Promise<{ checked: number; divergence: { node: string; problem: string } | null }> {
    await this.running;
    if (this.failure === undefined) await this.compare(true);
    if (this.failure !== undefined) throw this.failure;
    return { checked: this.checked, divergence: this.divergence };
  }

  /** Stops comparing (the replay ended early); settles once no query runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async compare(final: boolean): Promise<void> {
    const size = this.tree.size;
    for (let level = 0; level < this.levelLimit && 2 ** level <= size && !this.stopped; level++) {
      const width = Math.floor(size / 2 ** level);
      let from = this.next[level] ?? 0;
      while (from < width && (final || from + this.run <= width) && !this.stopped) {
        const count = Math.min(this.run, width - from);
        const [run]: { n: number; hashes: Buffer | null }[] = await this.runner.query(
          `SELECT count(*)::int AS n, string_agg(hash, ''::bytea ORDER BY idx) AS hashes
             FROM custody_nodes WHERE level = $1 AND idx >= $2 AND idx < $3`,
          [level, from, from + count],
        );
        const expected = this.tree.nodeSpan(level, from, count);
        if (run!.n !== count) {
          this.diverged(level, { node: `${level}/${from}..${from + count - 1}`, problem: `${count - run!.n} stored interior hashes are missing` });
          break;
        }
        if (!run!.hashes!.equals(expected)) {
          let i = 0;
          while (run!.hashes!.subarray(i * 32, i * 32 + 32).equals(expected.subarray(i * 32, i * 32 + 32))) i++;
          this.diverged(level, { node: `${level}/${from + i}`, problem: 'a stored interior hash differs from the replayed tree' });
          break;
        }
        this.checked += count;
        from += count;
      }
      this.next[level] = from;
    }
  }

  private diverged(level: number, divergence: { node: string; problem: string }): void {
    this.divergence = divergence;
    this.levelLimit = level;
  }
}
