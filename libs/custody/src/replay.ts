import type { DataSource } from 'typeorm';
import {
  MemoryTree,
  canonicalBytes,
  leafHash,
  toHex,
  verifyTreeHead,
  type CustodyEvent,
  type PublishedKey,
  type SignedTreeHead,
} from '#custodia/custody-core';
import { actorIdColumn } from './custody-log.js';

/** What replaying the whole log found. */
export interface ReplayReport {
  events: number;
  headsChecked: number;
  nodesChecked: number;
  /** The first place where the stored log disagrees with its own replay; null when none. */
  firstDivergence: { leafIndex?: number; treeSize?: number; node?: string; problem: string } | null;
  seconds: number;
}

const BATCH = 10_000;

/**
 * Rebuilds the tree from every stored event's bytes and checks, in log order: leaf hashes,
 * canonical form, index and columns of each event, every kept head's root and signature, then
 * every stored interior node. Stops at the first divergence.
 */
export async function replayLog(db: DataSource, onProgress?: (events: number) => void): Promise<ReplayReport> {
  const started = process.hrtime.bigint();
  const tree = new MemoryTree();
  const keys: PublishedKey[] = (await db.query(`SELECT key_id, public_key_pem FROM custody_signing_keys`)).map(
    (row: { key_id: string; public_key_pem: string }) => ({ keyId: row.key_id, publicKeyPem: row.public_key_pem }),
  );
  const report: ReplayReport = { events: 0, headsChecked: 0, nodesChecked: 0, firstDivergence: null, seconds: 0 };
  const finish = (): ReplayReport => ({ ...report, seconds: Number(process.hrtime.bigint() - started) / 1e9 });

  let heads: SignedTreeHead[] = [];
  let headCursor = -1;
  const nextHeads = async (): Promise<void> => {
    const rows = await db.query(
      `SELECT tree_size, root_hash, signed_timestamp, key_id, signature FROM custody_tree_heads
        WHERE tree_size > $1 ORDER BY tree_size LIMIT 1000`,
      [headCursor],
    );
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
      if (heads.length === 0) await nextHeads();
      const head = heads[0];
      if (!head || head.treeSize > tree.size) return true;
      heads.shift();
      headCursor = head.treeSize;
      report.headsChecked++;
      const root = toHex(tree.root(head.treeSize));
      if (root !== head.rootHash) {
        report.firstDivergence = { treeSize: head.treeSize, problem: `the kept head's root ${head.rootHash} is not the replayed root ${root}` };
        return false;
      }
      const verdict = verifyTreeHead(head, keys);
      if (!verdict.valid) {
        report.firstDivergence = { treeSize: head.treeSize, problem: `the head's signature does not verify: ${verdict.reason}` };
        return false;
      }
    }
  };

  if (!(await checkHeads())) return finish();
  for (let cursor = 0; ; ) {
    const rows: {
      leaf_index: string;
      event_bytes: Buffer;
      leaf_hash: Buffer;
      action: string;
      case_id: string | null;
      subject_type: string;
      subject_id: string;
      actor_id: string | null;
      at: Date;
    }[] = await db.query(
      `SELECT leaf_index, event_bytes, leaf_hash, action, case_id, subject_type, subject_id, actor_id, at
         FROM custody_events WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT ${BATCH}`,
      [cursor],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      const leafIndex = Number(row.leaf_index);
      const diverge = (problem: string): ReplayReport => {
        report.firstDivergence = { leafIndex, problem };
        return finish();
      };
      if (leafIndex !== tree.size) return diverge(`expected leaf ${tree.size} next, found ${leafIndex} (a gap)`);
      const recomputed = leafHash(row.event_bytes);
      if (!recomputed.equals(row.leaf_hash)) return diverge('the stored leaf hash is not the hash of the stored event bytes');
      let event: CustodyEvent;
      try {
        event = JSON.parse(row.event_bytes.toString('utf8'));
        if (!canonicalBytes(event).equals(row.event_bytes)) return diverge('the event bytes are not in RFC 8785 canonical form');
      } catch {
        return diverge('the event bytes are not JSON');
      }
      if (event.index !== leafIndex) return diverge(`the event says index ${event.index}`);
      const columnsMatch =
        event.action === row.action &&
        event.caseId === row.case_id &&
        event.subject?.type === row.subject_type &&
        event.subject?.id === row.subject_id &&
        typeof event.actor?.id === 'string' &&
        actorIdColumn(event.actor.id) === row.actor_id &&
        Date.parse(event.at) === row.at.getTime();
      if (!columnsMatch) return diverge('the indexed columns disagree with the event bytes');
      tree.appendLeafHash(recomputed);
      report.events++;
      if (!(await checkHeads())) return finish();
    }
    cursor = Number(rows[rows.length - 1]!.leaf_index) + 1;
    onProgress?.(report.events);
  }
  const [unreached] = await db.query(`SELECT min(tree_size) AS size FROM custody_tree_heads WHERE tree_size > $1`, [tree.size]);
  if (unreached?.size !== null && unreached?.size !== undefined) {
    report.firstDivergence = { treeSize: Number(unreached.size), problem: `a head claims ${unreached.size} leaves; the log holds ${tree.size}` };
    return finish();
  }
  for (let level = 0, idx = -1; ; ) {
    const rows: { level: number; idx: string; hash: Buffer }[] = await db.query(
      `SELECT level, idx, hash FROM custody_nodes WHERE (level, idx) > ($1, $2) ORDER BY level, idx LIMIT ${BATCH}`,
      [level, idx],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      report.nodesChecked++;
      const expected = tree.node(row.level, Number(row.idx));
      if (!expected || !expected.equals(row.hash)) {
        report.firstDivergence = { node: `${row.level}/${row.idx}`, problem: 'a stored interior hash differs from the replayed tree' };
        return finish();
      }
    }
    level = rows[rows.length - 1]!.level;
    idx = Number(rows[rows.length - 1]!.idx);
  }
  let expectedNodes = 0;
  for (let width = 1; width <= tree.size; width *= 2) expectedNodes += Math.floor(tree.size / width);
  if (report.nodesChecked !== expectedNodes) {
    report.firstDivergence = { problem: `${expectedNodes - report.nodesChecked} stored interior hashes are missing` };
  }
  return finish();
}
