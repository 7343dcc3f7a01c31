import { availableParallelism } from 'node:os';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { DataSource, QueryRunner } from 'typeorm';
import {
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
import { PageCheckers } from './replay-workers.js';

/** What replaying the whole log found. */
export interface ReplayReport {
  events: number;
  headsChecked: number;
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
}

/** Kept heads read at a time. */
const HEADS_PAGE = 1000;

/** Pages checked or being checked at once, beyond one per thread. */
const PAGES_AHEAD = 2;

/**
 * Rebuilds the tree from every stored event's bytes and checks, in log order: leaf hashes,
 * canonical form, index and columns of each event, every kept head's root and signature, then
 * every stored interior node. Stops at the first divergence.
 */
export async function replayLog(db: DataSource, onProgress?: (events: number) => void | Promise<void>, options: ReplayOptions = {}): Promise<ReplayReport> {
  // One snapshot for the whole replay: a live archive goes on integrating events and signing
  // heads while this runs, and events, heads and nodes read at different moments would disagree
  // (a head signed after the last page was read would claim leaves the replay never saw).
  const runner = db.createQueryRunner();
  const client = (await runner.connect()) as PoolClient;
  try {
    await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const checkers = new PageCheckers(options.threads ?? Math.min(4, Math.max(2, availableParallelism())));
    try {
      return await replaySnapshot(runner, client, checkers, onProgress);
    } finally {
      await checkers.close();
    }
  } finally {
    await runner.query('ROLLBACK').catch(() => undefined);
    await runner.release();
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

async function replaySnapshot(runner: QueryRunner, client: PoolClient, checkers: PageCheckers, onProgress?: (events: number) => void | Promise<void>): Promise<ReplayReport> {
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
  const report: ReplayReport = { events: 0, headsChecked: 0, nodesChecked: 0, firstDivergence: null, seconds: 0 };
  const finish = (): ReplayReport => ({ ...report, seconds: Number(process.hrtime.bigint() - started) / 1e9 });

  let heads: SignedTreeHead[] = [];
  let headCursor = -1;
  /** The snapshot holds no head past those read (no query per event once they are all checked). */
  let headsExhausted = false;
  const nextHeads = async (): Promise<void> => {
    const rows = await db.query(
      `SELECT tree_size, root_hash, signed_timestamp, key_id, signature FROM custody_tree_heads
        WHERE tree_size > $1 ORDER BY tree_size LIMIT ${HEADS_PAGE}`,
      [headCursor],
    );
    headsExhausted = rows.length < HEADS_PAGE;
    heads = rows.map((row: { tree_size: string; root_hash: Buffer; signed_timestamp: string; key_id: string; signature: string }) => ({
      treeSize: Number(row.tree_size),
      rootHash: toHex(row.root_hash),
      timestamp: row.signed_timestamp,
      keyId: row.key_id,
      signature: row.signature,
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
      const verdict = verifyTreeHead(head, keys);
      if (!verdict.valid) {
        report.events = head.treeSize;
        report.firstDivergence = { treeSize: head.treeSize, problem: `the head's signature does not verify: ${verdict.reason}` };
        return false;
      }
    }
  };

  if (!(await checkHeads())) return finish();
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
  // Every stored perfect subtree of the replayed tree, compared a level's run at a time. Nodes
  // past it (events integrated while this ran) are left for the next replay.
  for (let level = 0; 2 ** level <= tree.size; level++) {
    const width = Math.floor(tree.size / 2 ** level);
    for (let from = 0; from < width; from += NODE_SPAN) {
      const count = Math.min(NODE_SPAN, width - from);
      const [run]: { n: number; hashes: Buffer | null }[] = await db.query(
        `SELECT count(*)::int AS n, string_agg(hash, ''::bytea ORDER BY idx) AS hashes
           FROM custody_nodes WHERE level = $1 AND idx >= $2 AND idx < $3`,
        [level, from, from + count],
      );
      const expected = tree.nodeSpan(level, from, count);
      if (run!.n !== count) {
        report.firstDivergence = { node: `${level}/${from}..${from + count - 1}`, problem: `${count - run!.n} stored interior hashes are missing` };
        return finish();
      }
      if (!run!.hashes!.equals(expected)) {
        let i = 0;
        while (run!.hashes!.subarray(i * 32, i * 32 + 32).equals(expected.subarray(i * 32, i * 32 + 32))) i++;
        report.firstDivergence = { node: `${level}/${from + i}`, problem: 'a stored interior hash differs from the replayed tree' };
        return finish();
      }
      report.nodesChecked += count;
    }
  }
  return finish();
}
