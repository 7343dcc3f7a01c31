import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '#custodia/db';
import {
  consistencyProof,
  custodyEventProblem,
  custodyEventShapeProblem,
  formatTimestamp,
  inclusionProof,
  inclusionProofFromNodes,
  leafHash,
  nodeKey,
  nodesCompletedByAppend,
  nodesForAppend,
  nodesForInclusionProof,
  parsedEventBytes,
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

/** An event as integrated: the exact event, its leaf index and leaf hash (hex). */
export interface RecordedEvent {
  event: CustodyEvent;
  leafIndex: number;
  leafHash: string;
}

/** An event as recorded by its transaction: queued, to be integrated by the sequencer. */
export interface QueuedEvent {
  queueId: number;
}

/** An event as integration made it, with the queue entry it came from. */
export interface IntegratedEvent extends RecordedEvent {
  queueId: number;
}

/**
 * Events a package leaves out: those of an `action` whose `details` give any of its `detailKeys`
 * a value (not null), and with `withReason` every event that carries the free text its actor
 * gave (`reason`).
 */
export interface EventsWithheld {
  naming: readonly { action: string; detailKeys: readonly string[] }[];
  withReason: boolean;
}

/**
 * SQL true for an event (a row `e` of custody_events) that `withhold` describes, reading three
 * parameters from `$n`: withReason, then the rules' (action, detail key) pairs as two arrays.
 * Only the events that may match have their bytes parsed.
 */
function withheldSql(n: number): string {
  const event = `convert_from(e.event_bytes, 'UTF8')::jsonb`;
  return `CASE WHEN $${n}::boolean AND ${event} ? 'reason' THEN true
               WHEN e.action = ANY ($${n + 1}::text[]) THEN EXISTS (
                 SELECT 1 FROM unnest($${n + 1}::text[], $${n + 2}::text[]) AS w(action, key)
                  WHERE w.action = e.action AND coalesce(${event} -> 'details' -> w.key, 'null'::jsonb) <> 'null'::jsonb)
               ELSE false END`;
}

/** withheldSql's three parameters. */
function withheldParams(withhold: EventsWithheld | null): [boolean, string[], string[]] {
  const pairs = (withhold?.naming ?? []).flatMap((rule) => rule.detailKeys.map((key) => [rule.action, key] as const));
  return [withhold?.withReason ?? false, pairs.map(([action]) => action), pairs.map(([, key]) => key)];
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

const toRecorded = (row: { leaf_index: string; leaf_hash: Buffer; event_bytes: Buffer }): RecordedEvent => ({
  leafIndex: Number(row.leaf_index),
  leafHash: toHex(row.leaf_hash),
  event: JSON.parse(row.event_bytes.toString('utf8')) as CustodyEvent,
});

/** The number of events in the log (committed ones, as this connection sees them). */
export async function logSize(db: DataSource | EntityManager): Promise<number> {
  const [row] = await db.query(`SELECT COALESCE(MAX(leaf_index) + 1, 0)::bigint AS size FROM custody_events`);
  return Number(row.size);
}

/** What a queue entry holds: the event as the action made it, without its leaf index. */
type QueueEntry = Omit<CustodyEvent, 'index'>;

/** At most this many queued events are integrated per transaction (Trillian Tessera's batch). */
export const MAX_BATCH = 256;

/**
 * Group commits of `record` under way at once: one, so the events that arrive while a group waits
 * for its WAL flush all go in the next one. With two, the second group started at once and held
 * one or two reads (at ~2,500 logged reads/s a commit takes about a millisecond), so most reads
 * paid a statement and a commit of their own: bench:reads, logged / case reads, two 0.672 and
 * 0.692, one 0.744 and 0.750, alternating.
 */
const GROUPS_IN_FLIGHT = 1;

/** Queues events' entries, in their order, in one statement. */
const INSERT_QUEUED = `INSERT INTO custody_queue (entry) SELECT e FROM unnest($1::text[]) WITH ORDINALITY AS q(e, n) ORDER BY n RETURNING id`;

/** Queues one event's entry: the common case, without the array (measured slightly faster). */
const INSERT_QUEUED_ONE = `INSERT INTO custody_queue (entry) VALUES ($1) RETURNING id`;

/**
 * The queue entries of events happening now, as JSON text; a malformed event is refused here, in
 * the change's own transaction, so it never reaches the queue.
 */
function entriesOf(inputs: readonly CustodyEventInput[]): string[] {
  const at = formatTimestamp(new Date());
  return inputs.map((input) => {
    const entry: QueueEntry = {
      action: input.action,
      at,
      actor: { id: input.actor.id, role: input.actor.role },
      caseId: input.caseId,
      subject: { ...input.subject },
      // 128 random bits in every event: leaf hashes are public, and an event's other fields are
      // few enough to guess (the action, a member as actor, the millisecond between two heads,
      // an item one submitted), so without them a documenter rebuilt the hidden events about
      // their own items, who read them and when (an outside audit did) from /log/leaves.
      details: { ...input.details, nonce: randomBytes(16).toString('base64url') },
      ...(input.reason ? { reason: input.reason } : {}),
    };
    const problem = custodyEventProblem({ index: 0, ...entry });
    if (problem) throw new Error(`Refusing a malformed custody event: ${problem}`);
    return JSON.stringify(entry);
  });
}

/**
 * The custody log: events recorded in the caller's transaction, integrated into the tree in
 * batches by the sequencer (custody.md, "Rules"), and read with O(log n) proofs.
 */
export class CustodyLog {
  /** Events waiting for the next group commit (see `record`), as queue entries. */
  private waiting: { entry: string; done: (error?: unknown) => void }[] = [];
  /** Group commits under way. */
  private flushing = 0;

  constructor(private readonly db: DataSource) {}

  /**
   * Records an event that changes nothing else (a read: `evidence.viewed`, a download) in a
   * transaction of its own, shared with the events that arrive while the previous one commits:
   * group commit, so a crowd of readers pays one WAL flush per group, not one each. Resolves once
   * the event is committed (queued for the sequencer), so a read is logged before it is answered.
   */
  record(input: CustodyEventInput): Promise<void> {
    return this.recordAll([input]);
  }

  /** Records several such events (a page of items listed) as `record` does; resolves once all are committed. */
  async recordAll(inputs: readonly CustodyEventInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const committed = entriesOf(inputs).map(
      (entry) => new Promise<void>((resolve, reject) => this.waiting.push({ entry, done: (error) => (error === undefined ? resolve() : reject(error)) })),
    );
    if (this.flushing < GROUPS_IN_FLIGHT) void this.flush();
    await Promise.all(committed);
  }

  private async flush(): Promise<void> {
    this.flushing++;
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting.splice(0, MAX_BATCH);
        try {
          // One statement outside any transaction is its own transaction: one round trip (no
          // BEGIN and COMMIT of their own), and it has committed (WAL flushed) when it returns.
          await preparedQuery(this.db, 'custodia_queue_events', INSERT_QUEUED, [group.map((g) => g.entry)]);
          for (const g of group) g.done();
        } catch (error) {
          for (const g of group) g.done(error ?? new Error('custody group commit failed'));
        }
      }
    } finally {
      this.flushing--;
    }
  }

  /** Records one event in the caller's transaction, as `appendAll` does. */
  async append(tx: EntityManager, input: CustodyEventInput): Promise<QueuedEvent> {
    return (await this.appendAll(tx, [input]))[0]!;
  }

  /**
   * Records the events of one change, in this order, in the caller's transaction: they are
   * queued with it and commit or roll back with it, and take no lock, so transactions do not
   * wait for each other. The sequencer gives them their leaf indexes, in queue order, once they
   * are committed (`integrate`). `at` is now: when the action happened.
   */
  async appendAll(tx: EntityManager, inputs: readonly CustodyEventInput[]): Promise<QueuedEvent[]> {
    if (!tx.queryRunner?.isTransactionActive) throw new Error('custody events are appended inside a transaction');
    if (inputs.length === 0) return [];
    const entries = entriesOf(inputs);
    // Named statements: parsed and planned once per connection (that was most of PostgreSQL's
    // work per event).
    const rows =
      entries.length === 1
        ? await preparedQuery<{ id: string }>(tx, 'custodia_queue_event', INSERT_QUEUED_ONE, entries)
        : await preparedQuery<{ id: string }>(tx, 'custodia_queue_events', INSERT_QUEUED, [entries]);
    return rows.map((row) => ({ queueId: Number(row.id) })).sort((a, b) => a.queueId - b.queueId);
  }

  /**
   * Integrates up to `limit` committed queued events, oldest first, in one transaction: gives
   * them the next leaf indexes, writes their exact bytes, leaf hashes and the perfect subtrees
   * they complete, and removes them from the queue. The database keeps each event integrated
   * once (a unique `queue_id`), and the transaction's advisory lock keeps indexes gap-free even
   * if two processes integrate at once (the elected sequencer, and a head asked for on demand).
   * Returns the events integrated, in log order; none when the queue was empty.
   */
  async integrate(limit = MAX_BATCH, db: DataSource | EntityManager = this.db): Promise<IntegratedEvent[]> {
    return db.transaction((tx) => this.integrateIn(tx, limit));
  }

  private async integrateIn(tx: EntityManager, limit: number): Promise<IntegratedEvent[]> {
    await preparedQuery(tx, 'custodia_append_lock', 'SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
    // Statements of their own, after the lock, so their snapshots see every integration
    // committed before: the queue's oldest entries, the log's size and the perfect subtrees of
    // its right frontier (one per bit set in the size), which are all the stored nodes the new
    // leaves build on.
    const queued: { id: string; entry: string }[] = await tx.query(`SELECT id, entry FROM custody_queue ORDER BY id LIMIT $1`, [limit]);
    if (queued.length === 0) return [];
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
    const integrated: IntegratedEvent[] = [];
    const leaves: Buffer[] = [];
    const bytesOf: Buffer[] = [];
    // Only appendAll writes the queue, and it refuses malformed events: this is a tampered queue.
    const malformed = (id: string, problem: string) =>
      new Error(`Queued custody event ${id} is malformed (${problem}); the log stops here until it is looked at`);
    for (const [offset, row] of queued.entries()) {
      const entry = JSON.parse(row.entry) as QueueEntry;
      const event: CustodyEvent = { index: first + offset, ...entry };
      // Parsed JSON is exact but for a lone surrogate, which parsedEventBytes refuses.
      const problem = custodyEventShapeProblem(event);
      if (problem) throw malformed(row.id, problem);
      let bytes: Buffer;
      try {
        bytes = parsedEventBytes(event);
      } catch (error) {
        throw malformed(row.id, (error as Error).message);
      }
      const leaf = leafHash(bytes);
      bytesOf.push(bytes);
      leaves.push(leaf);
      integrated.push({ event, leafIndex: event.index, leafHash: toHex(leaf), queueId: Number(row.id) });
    }
    const nodes = await nodesOfAppends(first, leaves, known, nodeReader(tx));
    // Events and nodes in one statement: both inserts run, or the statement fails as a whole.
    await preparedQuery(
      tx,
      'custodia_integrate',
      `WITH events AS (
         INSERT INTO custody_events (leaf_index, event_bytes, leaf_hash, action, case_id, subject_type, subject_id, actor_id, at, queue_id)
         SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::uuid[], $9::timestamptz[], $13::bigint[])
       )
       INSERT INTO custody_nodes (level, idx, hash) SELECT * FROM unnest($10::smallint[], $11::bigint[], $12::bytea[])`,
      [
        integrated.map((r) => r.leafIndex),
        bytesOf,
        leaves,
        integrated.map((r) => r.event.action),
        integrated.map((r) => r.event.caseId),
        integrated.map((r) => r.event.subject.type),
        integrated.map((r) => r.event.subject.id),
        integrated.map((r) => actorIdColumn(r.event.actor.id)),
        integrated.map((r) => r.event.at),
        nodes.map((n) => n.level),
        nodes.map((n) => n.index),
        nodes.map((n) => n.hash),
        integrated.map((r) => r.queueId),
      ],
    );
    // A statement after the insert, so the queue's guard sees the events that name its rows.
    await tx.query(`DELETE FROM custody_queue WHERE id = ANY ($1::bigint[])`, [integrated.map((r) => r.queueId)]);
    return integrated;
  }

  /** Integrates every event committed to the queue before this call. */
  async integrateAll(): Promise<number> {
    const [{ last }] = await this.db.query(`SELECT MAX(id)::bigint AS last FROM custody_queue`);
    if (last === null) return 0;
    let count = 0;
    for (;;) {
      const batch = await this.integrate();
      count += batch.length;
      if (batch.length < MAX_BATCH || batch.at(-1)!.queueId >= Number(last)) return count;
    }
  }

  /** How many committed events wait to be integrated. */
  async queued(): Promise<number> {
    const [row] = await this.db.query(`SELECT count(*)::int AS count FROM custody_queue`);
    return row.count;
  }

  /** Those of the queue entries `queueIds` that are integrated, as events. */
  async integratedAsMany(queueIds: readonly number[]): Promise<IntegratedEvent[]> {
    const rows: { queue_id: string; leaf_index: string; leaf_hash: Buffer; event_bytes: Buffer }[] = await this.db.query(
      `SELECT queue_id, leaf_index, leaf_hash, event_bytes FROM custody_events WHERE queue_id = ANY ($1::bigint[])`,
      [queueIds],
    );
    return rows.map((row) => ({ ...toRecorded(row), queueId: Number(row.queue_id) }));
  }

  /** The integrated event recorded as queue entry `queueId`, or null while it waits. */
  async integratedAs(queueId: number): Promise<RecordedEvent | null> {
    const [found] = await this.integratedAsMany([queueId]);
    if (!found) return null;
    const { event, leafIndex, leafHash } = found;
    return { event, leafIndex, leafHash };
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

  /**
   * One case's entries the reader may see, newest first: those below leaf `before` (null: from
   * the latest), at most `limit`; a reader who sees only what they did (`own`) gets only theirs.
   * Whether the reader may read the case at all is the caller's to check.
   */
  async caseEntries(reader: LogReader, caseId: string, before: number | null, limit: number): Promise<LogEntry[]> {
    if (reader.events === 'none') return [];
    const rows: { leaf_index: string; leaf_hash: Buffer; event_bytes: Buffer }[] = await this.db.query(
      `SELECT leaf_index, leaf_hash, event_bytes FROM custody_events
        WHERE case_id = $1 AND ($2::bigint IS NULL OR leaf_index < $2) AND ($3 <> 'own' OR actor_id = $4)
        ORDER BY leaf_index DESC LIMIT $5`,
      [caseId, before, reader.events, reader.id, limit],
    );
    return rows.map((row) => ({ leafIndex: Number(row.leaf_index), leafHash: toHex(row.leaf_hash), event: JSON.parse(row.event_bytes.toString('utf8')) as CustodyEvent }));
  }

  /** Leaf hashes [start, end] (inclusive): all a monitor needs to rebuild the tree. */
  async leaves(start: number, end: number): Promise<{ leafIndex: number; leafHash: string }[]> {
    const rows: { leaf_index: string; leaf_hash: Buffer }[] = await this.db.query(
      `SELECT leaf_index, leaf_hash FROM custody_events WHERE leaf_index BETWEEN $1 AND $2 ORDER BY leaf_index`,
      [start, end],
    );
    return rows.map((row) => ({ leafIndex: Number(row.leaf_index), leafHash: toHex(row.leaf_hash) }));
  }

  /** Every event about one subject (of one action, if given), in log order. */
  async eventsAbout(subjectType: string, subjectId: string, action?: CustodyAction): Promise<RecordedEvent[]> {
    const rows: { leaf_index: string; leaf_hash: Buffer; event_bytes: Buffer }[] = await this.db.query(
      `SELECT leaf_index, leaf_hash, event_bytes FROM custody_events
        WHERE subject_type = $1 AND subject_id = $2 AND ($3::text IS NULL OR action = $3) ORDER BY leaf_index`,
      [subjectType, subjectId, action ?? null],
    );
    return rows.map(toRecorded);
  }

  /** How many events about a subject lie below `treeSize` (a package's head), but those `withhold` describes. */
  async countAbout(subjectType: string, subjectId: string, treeSize: number, withhold: EventsWithheld | null = null): Promise<number> {
    const [row] = await this.db.query(
      `SELECT count(*)::int AS n FROM custody_events e
        WHERE e.subject_type = $1 AND e.subject_id = $2 AND e.leaf_index < $3 AND NOT ${withheldSql(4)}`,
      [subjectType, subjectId, treeSize, ...withheldParams(withhold)],
    );
    return row.n as number;
  }

  /**
   * One page of the events about a subject, in log order: those after leaf `after` (null: from
   * the first), at most `limit`; with `ownerOf` set, only those this user or the archive (the
   * system actor) did; never those `withhold` describes.
   */
  async eventsAboutPage(
    subjectType: string,
    subjectId: string,
    page: { after: number | null; limit: number; ownerOf: string | null; withhold?: EventsWithheld | null },
  ): Promise<RecordedEvent[]> {
    const rows: { leaf_index: string; leaf_hash: Buffer; event_bytes: Buffer }[] = await this.db.query(
      `SELECT e.leaf_index, e.leaf_hash, e.event_bytes FROM custody_events e
        WHERE e.subject_type = $1 AND e.subject_id = $2 AND e.leaf_index > $3
          AND ($4::uuid IS NULL OR e.actor_id = $4 OR e.actor_id IS NULL) AND NOT ${withheldSql(6)}
        ORDER BY e.leaf_index LIMIT $5`,
      [subjectType, subjectId, page.after ?? -1, page.ownerOf, page.limit, ...withheldParams(page.withhold ?? null)],
    );
    return rows.map(toRecorded);
  }

  /**
   * Leaf indexes, in log order, of every event of a case below `treeSize` about the given
   * subjects (type -> ids) or about the case itself: what a package of them must carry. Events
   * `withhold` describes are counted apart, not listed: the package leaves them out.
   */
  async leafIndexesAbout(
    caseId: string,
    subjects: Record<string, readonly string[]>,
    treeSize: number,
    withhold: EventsWithheld | null = null,
  ): Promise<{ leafIndexes: number[]; withheld: number }> {
    const types = Object.entries(subjects).flatMap(([type, ids]) => ids.map(() => type));
    const ids = Object.values(subjects).flat();
    const rows: { leaf_index: string; withheld: boolean }[] = await this.db.query(
      `SELECT e.leaf_index, ${withheldSql(5)} AS withheld
         FROM custody_events e
        WHERE e.case_id = $1 AND e.leaf_index < $2
          AND ((e.subject_type = 'case' AND e.subject_id = $1::text)
               OR (e.subject_type, e.subject_id) IN (SELECT * FROM unnest($3::text[], $4::text[])))
        ORDER BY e.leaf_index`,
      [caseId, treeSize, types, ids, ...withheldParams(withhold)],
    );
    return { leafIndexes: rows.filter((r) => r.withheld !== true).map((r) => Number(r.leaf_index)), withheld: rows.filter((r) => r.withheld === true).length };
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

  /**
   * Inclusion proofs of many leaves in the tree of `treeSize` leaves (hex), by leaf index: their
   * stored nodes read in one statement, not one per leaf (an item's custody, a package's proofs).
   */
  async inclusionProofs(leafIndexes: readonly number[], treeSize: number): Promise<Map<number, string[]>> {
    const wanted = new Map<string, NodeKey>();
    for (const m of leafIndexes) for (const key of nodesForInclusionProof(m, treeSize)) wanted.set(nodeKey(key.level, key.index), key);
    const nodes = wanted.size ? await nodeReader(this.db).getNodes([...wanted.values()]) : new Map<string, Buffer>();
    return new Map(leafIndexes.map((m) => [m, proofToHex(inclusionProofFromNodes(m, treeSize, nodes))]));
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
