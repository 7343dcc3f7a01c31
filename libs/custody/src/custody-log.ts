import type { DataSource, EntityManager } from 'typeorm';
import {
  consistencyProof,
  custodyEventProblem,
  eventBytes,
  formatTimestamp,
  inclusionProof,
  leafHash,
  nodeKey,
  nodesCompletedByAppend,
  nodesForAppend,
  proofToHex,
  SYSTEM_ACTOR,
  toHex,
  type CustodyAction,
  type CustodyEvent,
  type JsonValue,
  type NodeKey,
  type PerfectNodeReader,
  type StoredNode,
} from '#custodia/custody-core';

/** What a module says happened; the log adds the index and the time. */
export interface CustodyEventInput {
  action: CustodyAction;
  /** The person whose request caused it, or SYSTEM_ACTOR for what the archive does by itself. */
  actor: { id: string; role: string };
  /** The case; null for system events (account administration, key rotation). */
  caseId: string | null;
  subject: { type: string; id: string; sha256?: string };
  details?: { [key: string]: JsonValue };
  reason?: string | null;
}

/** An event as appended: the exact event, its leaf index and leaf hash (hex). */
export interface RecordedEvent {
  event: CustodyEvent;
  leafIndex: number;
  leafHash: string;
}

/**
 * Who reads the log and how far they see, for the disclosure rule of `entries`: the scopes of
 * the access policy's `log.events` (case events) and `log.system` (system events) for them.
 */
export interface LogReader {
  id: string;
  /** any: every case's events; member: those of their cases; own: what they did; none: nothing. */
  events: 'any' | 'member' | 'own' | 'none';
  /** System events (no case): shown only when `any`. */
  system: 'any' | 'member' | 'own' | 'none';
}

/** One leaf as `GET /log/entries` shows it: the event only where the reader may see it. */
export interface LogEntry {
  leafIndex: number;
  leafHash: string;
  event: CustodyEvent | null;
}

// pg_advisory_xact_lock key of appends: serialises them so indexes have no gaps.
const APPEND_LOCK = 0x637573746f6479; // "custody"

/**
 * The `actor_id` column of an event: the user's id, or NULL for the system actor (migration
 * 1764000700000). The event bytes always carry the actor as it is; replay checks the mapping.
 */
export function actorIdColumn(actorId: string): string | null {
  return actorId === SYSTEM_ACTOR.id ? null : actorId;
}

/** Stored perfect-subtree hashes, read in one query per plan. */
export function nodeReader(db: DataSource | EntityManager): PerfectNodeReader {
  return {
    async getNodes(keys: NodeKey[]): Promise<Map<string, Buffer>> {
      const nodes = new Map<string, Buffer>();
      if (keys.length === 0) return nodes;
      const rows: { level: number; idx: string; hash: Buffer }[] = await db.query(
        `SELECT n.level, n.idx, n.hash FROM custody_nodes n
           JOIN unnest($1::smallint[], $2::bigint[]) AS k(level, idx) ON n.level = k.level AND n.idx = k.idx`,
        [keys.map((k) => k.level), keys.map((k) => k.index)],
      );
      for (const row of rows) nodes.set(nodeKey(row.level, Number(row.idx)), row.hash);
      return nodes;
    },
  };
}

/**
 * The nodes to store when `leaves` are appended at indexes first, first + 1, ...: each leaf and
 * the perfect subtrees it completes. The left siblings they build on are the frontier of the
 * tree of size `first` (read with the size, see appendAll) or nodes the batch itself completes;
 * any other would be read from `reader` (none is, but the arithmetic is not trusted blindly).
 */
async function nodesOfAppends(first: number, leaves: readonly Buffer[], known: Map<string, Buffer>, reader: PerfectNodeReader): Promise<StoredNode[]> {
  const completedInBatch = new Set<string>();
  const missing: NodeKey[] = [];
  for (let index = first; index < first + leaves.length; index++) {
    const siblings = nodesForAppend(index);
    for (const key of siblings) {
      const name = nodeKey(key.level, key.index);
      if (!completedInBatch.has(name) && !known.has(name)) missing.push(key);
    }
    completedInBatch.add(nodeKey(0, index));
    for (const key of siblings) completedInBatch.add(nodeKey(key.level + 1, key.index / 2));
  }
  if (missing.length) for (const [name, hash] of await reader.getNodes(missing)) known.set(name, hash);
  const nodes: StoredNode[] = [];
  for (const [offset, leaf] of leaves.entries()) {
    for (const node of nodesCompletedByAppend(first + offset, leaf, (level, index) => known.get(nodeKey(level, index)))) {
      known.set(nodeKey(node.level, node.index), node.hash);
      nodes.push(node);
    }
  }
  return nodes;
}

/** The number of events in the log (committed ones, as this connection sees them). */
export async function logSize(db: DataSource | EntityManager): Promise<number> {
  const [row] = await db.query(`SELECT COALESCE(MAX(leaf_index) + 1, 0)::bigint AS size FROM custody_events`);
  return Number(row.size);
}

/** The custody log: appends inside the caller's transaction, and reads with O(log n) proofs. */
export class CustodyLog {
  constructor(private readonly db: DataSource) {}

  /**
   * Appends an event in the caller's transaction, so it commits or rolls back with the change
   * it records. Appends are serialised by a transaction-scoped advisory lock: the index is
   * taken under it and freed only by commit or rollback, so committed indexes have no gaps.
   */
  async append(tx: EntityManager, input: CustodyEventInput): Promise<RecordedEvent> {
    return (await this.appendAll(tx, [input]))[0]!;
  }

  /**
   * Appends the events of one change, in this order and at consecutive indexes, in the caller's
   * transaction, as `append` does each: under one take of the lock, with one read of the log's
   * size, one read of the stored nodes they build on and one insert. The lock is held from here
   * to the caller's commit, so call it last in the transaction, after the slow work.
   */
  async appendAll(tx: EntityManager, inputs: readonly CustodyEventInput[]): Promise<RecordedEvent[]> {
    if (!tx.queryRunner?.isTransactionActive) throw new Error('custody events are appended inside a transaction');
    if (inputs.length === 0) return [];
    await tx.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
    // A statement of its own, after the lock, so its snapshot sees every append committed before:
    // the log's size and the perfect subtrees of its right frontier (one per bit set in the size),
    // which are all the stored nodes the new leaves build on.
    const frontier: { size: string; level: number | null; idx: string | null; hash: Buffer | null }[] = await tx.query(
      `WITH log AS (SELECT COALESCE(MAX(leaf_index) + 1, 0)::bigint AS size FROM custody_events)
       SELECT log.size, n.level, n.idx, n.hash
         FROM log
         LEFT JOIN LATERAL (
           SELECT n.level, n.idx, n.hash
             FROM generate_series(0, 62) AS bit
             JOIN custody_nodes n ON n.level = bit::smallint AND n.idx = (log.size >> bit) - 1
            WHERE ((log.size >> bit) & 1::bigint) = 1
         ) n ON true`,
    );
    const first = Number(frontier[0]!.size);
    const known = new Map<string, Buffer>();
    for (const row of frontier) if (row.hash) known.set(nodeKey(row.level!, Number(row.idx)), row.hash);
    const recorded: RecordedEvent[] = [];
    const leaves: Buffer[] = [];
    const rows: { bytes: Buffer; event: CustodyEvent }[] = [];
    for (const [offset, input] of inputs.entries()) {
      const event: CustodyEvent = {
        index: first + offset,
        action: input.action,
        at: formatTimestamp(new Date()),
        actor: { id: input.actor.id, role: input.actor.role },
        caseId: input.caseId,
        subject: { ...input.subject },
        details: input.details ?? {},
        ...(input.reason ? { reason: input.reason } : {}),
      };
      const problem = custodyEventProblem(event);
      if (problem) throw new Error(`Refusing a malformed custody event: ${problem}`);
      const bytes = eventBytes(event);
      const leaf = leafHash(bytes);
      rows.push({ bytes, event });
      leaves.push(leaf);
      recorded.push({ event, leafIndex: event.index, leafHash: toHex(leaf) });
    }
    const nodes = await nodesOfAppends(first, leaves, known, nodeReader(tx));
    // Events and nodes in one statement: both inserts run, or the statement fails as a whole.
    await tx.query(
      `WITH events AS (
         INSERT INTO custody_events (leaf_index, event_bytes, leaf_hash, action, case_id, subject_type, subject_id, actor_id, at)
         SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::uuid[], $9::timestamptz[])
       )
       INSERT INTO custody_nodes (level, idx, hash) SELECT * FROM unnest($10::smallint[], $11::bigint[], $12::bytea[])`,
      [
        rows.map((r) => r.event.index),
        rows.map((r) => r.bytes),
        leaves,
        rows.map((r) => r.event.action),
        rows.map((r) => r.event.caseId),
        rows.map((r) => r.event.subject.type),
        rows.map((r) => r.event.subject.id),
        rows.map((r) => actorIdColumn(r.event.actor.id)),
        rows.map((r) => r.event.at),
        nodes.map((n) => n.level),
        nodes.map((n) => n.index),
        nodes.map((n) => n.hash),
      ],
    );
    return recorded;
  }

  size(): Promise<number> {
    return logSize(this.db);
  }

  /**
   * Leaves [start, end] (inclusive, as RFC 6962's get-entries). Every leaf hash is shown, so a
   * monitor can rebuild the tree; the event itself only as far as the reader's scopes reach
   * (administrators all, investigators and auditors the events of their cases, a documenter
   * their own actions; system events to administrators).
   */
  async entries(reader: LogReader, start: number, end: number): Promise<LogEntry[]> {
    const rows: { leaf_index: string; leaf_hash: Buffer; event_bytes: Buffer; visible: boolean }[] = await this.db.query(
      `SELECT e.leaf_index, e.leaf_hash, e.event_bytes,
              CASE WHEN e.case_id IS NULL THEN $5 = 'any'
                   ELSE $3 = 'any'
                     OR ($3 = 'member' AND EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = e.case_id AND m.user_id = $4))
                     -- What they did stays theirs to see after they leave the case.
                     OR ($3 = 'own' AND e.actor_id = $4)
              END AS visible
         FROM custody_events e
        WHERE e.leaf_index BETWEEN $1 AND $2
        ORDER BY e.leaf_index`,
      [start, end, reader.events, reader.id, reader.system],
    );
    return rows.map((row) => ({
      leafIndex: Number(row.leaf_index),
      leafHash: toHex(row.leaf_hash),
      event: row.visible ? (JSON.parse(row.event_bytes.toString('utf8')) as CustodyEvent) : null,
    }));
  }

  /** Leaf hashes [start, end] (inclusive): all a monitor needs to rebuild the tree. */
  async leaves(start: number, end: number): Promise<{ leafIndex: number; leafHash: string }[]> {
    const rows: { leaf_index: string; leaf_hash: Buffer }[] = await this.db.query(
      `SELECT leaf_index, leaf_hash FROM custody_events WHERE leaf_index BETWEEN $1 AND $2 ORDER BY leaf_index`,
      [start, end],
    );
    return rows.map((row) => ({ leafIndex: Number(row.leaf_index), leafHash: toHex(row.leaf_hash) }));
  }

  /** Every event about one subject, in log order. */
  async eventsAbout(subjectType: string, subjectId: string): Promise<RecordedEvent[]> {
    const rows: { leaf_index: string; leaf_hash: Buffer; event_bytes: Buffer }[] = await this.db.query(
      `SELECT leaf_index, leaf_hash, event_bytes FROM custody_events
        WHERE subject_type = $1 AND subject_id = $2 ORDER BY leaf_index`,
      [subjectType, subjectId],
    );
    return rows.map((row) => ({
      leafIndex: Number(row.leaf_index),
      leafHash: toHex(row.leaf_hash),
      event: JSON.parse(row.event_bytes.toString('utf8')) as CustodyEvent,
    }));
  }

  /**
   * Leaf indexes, in log order, of every event of a case below `treeSize` about the given
   * subjects (type -> ids) or about the case itself: what a court package of them must carry.
   */
  async leafIndexesAbout(caseId: string, subjects: Record<string, readonly string[]>, treeSize: number): Promise<number[]> {
    const types = Object.entries(subjects).flatMap(([type, ids]) => ids.map(() => type));
    const ids = Object.values(subjects).flat();
    const rows: { leaf_index: string }[] = await this.db.query(
      `SELECT e.leaf_index FROM custody_events e
        WHERE e.case_id = $1 AND e.leaf_index < $2
          AND ((e.subject_type = 'case' AND e.subject_id = $1::text)
               OR (e.subject_type, e.subject_id) IN (SELECT * FROM unnest($3::text[], $4::text[])))
        ORDER BY e.leaf_index`,
      [caseId, treeSize, types, ids],
    );
    return rows.map((r) => Number(r.leaf_index));
  }

  /** The events at these leaf indexes, in log order, with their exact stored RFC 8785 bytes. */
  async eventsAt(leafIndexes: readonly number[]): Promise<(RecordedEvent & { bytes: Buffer })[]> {
    const rows: { leaf_index: string; leaf_hash: Buffer; event_bytes: Buffer }[] = await this.db.query(
      `SELECT leaf_index, leaf_hash, event_bytes FROM custody_events WHERE leaf_index = ANY ($1::bigint[]) ORDER BY leaf_index`,
      [leafIndexes],
    );
    return rows.map((row) => ({
      leafIndex: Number(row.leaf_index),
      leafHash: toHex(row.leaf_hash),
      bytes: row.event_bytes,
      event: JSON.parse(row.event_bytes.toString('utf8')) as CustodyEvent,
    }));
  }

  /** RFC 9162 inclusion proof of a leaf in the tree of `treeSize` leaves (hex). */
  async inclusionProof(leafIndex: number, treeSize: number): Promise<string[]> {
    return proofToHex(await inclusionProof(leafIndex, treeSize, nodeReader(this.db)));
  }

  /** RFC 9162 consistency proof between two tree sizes (hex). */
  async consistencyProof(first: number, second: number): Promise<string[]> {
    return proofToHex(await consistencyProof(first, second, nodeReader(this.db)));
  }

  /** The stored leaf hash (hex) at an index, or null past the end. */
  async leafHashAt(leafIndex: number): Promise<string | null> {
    const [row] = await this.db.query(`SELECT leaf_hash FROM custody_events WHERE leaf_index = $1`, [leafIndex]);
    return row ? toHex(row.leaf_hash) : null;
  }
}
