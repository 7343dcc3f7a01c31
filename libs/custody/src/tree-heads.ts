import type { DataSource } from 'typeorm';
import { canonicalBytes, formatTimestamp, signTreeHead, toHex, treeRoot, type SignedTreeHead } from '#custodia/custody-core';
import { CustodyLog, logSize, nodeReader } from './custody-log.js';
import type { SigningKeys } from './signing-keys.js';

const HEAD_LOCK = 'custodia.custody.tree-head';

interface HeadRow {
  tree_size: string;
  root_hash: Buffer;
  signed_timestamp: string;
  key_id: string;
  signature: string;
  tsa_token: Buffer | null;
}

/** A kept head as the API shows it: the signed fields, and the RFC 3161 token (base64 DER) if any. */
export type KeptTreeHead = SignedTreeHead & { timestampToken: string | null };

const toHead = (row: HeadRow): KeptTreeHead => ({
  treeSize: Number(row.tree_size),
  rootHash: toHex(row.root_hash),
  timestamp: row.signed_timestamp,
  keyId: row.key_id,
  signature: row.signature,
  timestampToken: row.tsa_token?.toString('base64') ?? null,
});

/** Heads with their token: the one given at signing, or one given later (custody_head_timestamps). */
export const HEADS = 'custody_tree_heads h LEFT JOIN custody_head_timestamps late USING (tree_size)';
const TOKEN = 'COALESCE(h.tsa_token, late.tsa_token) AS tsa_token';
export const HEAD_COLUMNS = `tree_size, h.root_hash, h.signed_timestamp, h.key_id, h.signature, ${TOKEN}`;

/** How often an unstamped newest head is offered to the authority again, at most. */
const LATE_STAMP_EVERY_MS = 60_000;

/**
 * Signed tree heads: issued after appends (at most one per interval from the background loop,
 * and on demand for receipts), all kept so consistency between any two can be proved.
 */
export class TreeHeads {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** What publish integrates before it signs. */
  private readonly log: CustodyLog;
  /** The head this process is signing for receipts, if any (see covering). */
  private signing: Promise<KeptTreeHead> | null = null;
  /** The newest head this process signed or found for a receipt (see covering). */
  private lastCovering: KeptTreeHead | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly keys: SigningKeys,
    private readonly onError: (error: unknown) => void = () => undefined,
    /** An RFC 3161 authority that time-stamps each signed head (CUSTODIA_TSA_URL). */
    private readonly tsa?: { stamp(data: Buffer): Promise<Buffer> },
  ) {
    this.log = new CustodyLog(db);
  }

  async latest(): Promise<KeptTreeHead | null> {
    const [row] = await this.db.query(`SELECT ${HEAD_COLUMNS} FROM ${HEADS} ORDER BY tree_size DESC LIMIT 1`);
    return row ? toHead(row) : null;
  }

  /** Kept heads from `fromSize` on, oldest first. */
  async list(fromSize: number, limit: number): Promise<KeptTreeHead[]> {
    const rows = await this.db.query(
      `SELECT ${HEAD_COLUMNS} FROM ${HEADS} WHERE tree_size >= $1 ORDER BY tree_size LIMIT $2`,
      [fromSize, limit],
    );
    return rows.map(toHead);
  }

  /** The RFC 3161 token (DER) kept with the head of this size, if it was time-stamped. */
  async timestampToken(treeSize: number): Promise<Buffer | null> {
    const [row] = await this.db.query(`SELECT ${TOKEN} FROM ${HEADS} WHERE tree_size = $1`, [treeSize]);
    return row?.tsa_token ?? null;
  }

  async atSize(treeSize: number): Promise<KeptTreeHead | null> {
    const [row] = await this.db.query(`SELECT ${HEAD_COLUMNS} FROM ${HEADS} WHERE tree_size = $1`, [treeSize]);
    return row ? toHead(row) : null;
  }

  /**
   * Signs a head for the log as it is now, unless the newest head already covers it: first
   * integrates every event committed before the call, so a head asked for (a court package's,
   * a receipt's, the interval's) covers all that happened before it was asked for. Instances
   * take turns under an advisory lock, so two never sign the same size.
   */
  async publish(): Promise<KeptTreeHead> {
    await this.log.integrateAll();
    const key = await this.keys.active();
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [HEAD_LOCK]);
      const size = await logSize(tx);
      const [newest] = await tx.query(`SELECT ${HEAD_COLUMNS} FROM ${HEADS} ORDER BY tree_size DESC LIMIT 1`);
      if (newest && Number(newest.tree_size) >= size) return toHead(newest);
      const root = await treeRoot(size, nodeReader(tx));
      const head = signTreeHead({ treeSize: size, rootHash: toHex(root), timestamp: formatTimestamp(new Date()), keyId: key.keyId }, key.privateKey);
      // The authority stamps the signed head's RFC 8785 bytes (signature included): proof from
      // outside that this head existed no later than the stamp's time. An unreachable authority
      // must not stop the log: the head is kept without a token and the failure reported.
      const tsaToken = this.tsa ? await this.tsa.stamp(canonicalBytes(head)).catch((error: unknown) => (this.onError(error), null)) : null;
      await tx.query(
        `INSERT INTO custody_tree_heads (tree_size, root_hash, signed_timestamp, key_id, signature, tsa_token) VALUES ($1, $2, $3, $4, $5, $6)`,
        [head.treeSize, root, head.timestamp, head.keyId, head.signature, tsaToken],
      );
      return { ...head, timestampToken: tsaToken?.toString('base64') ?? null };
    });
  }

  /**
   * The head time-stamped now if it was signed without a token (the authority did not answer
   * then): the token goes beside the head, whose row stays as signed. As it was when no
   * authority is configured or it still does not answer (the failure reported).
   */
  async stampLate(head: KeptTreeHead): Promise<KeptTreeHead> {
    if (!this.tsa || head.timestampToken !== null) return head;
    const { timestampToken: _none, ...signed } = head;
    const token = await this.tsa.stamp(canonicalBytes(signed)).catch((error: unknown) => (this.onError(error), null));
    if (!token) return head;
    // Another instance may have stamped it meanwhile: the first token kept is the head's.
    await this.db.query(`INSERT INTO custody_head_timestamps (tree_size, tsa_token) VALUES ($1, $2) ON CONFLICT (tree_size) DO NOTHING`, [head.treeSize, token]);
    return (await this.atSize(head.treeSize)) ?? head;
  }

  /**
   * A signed head that includes leaf `leafIndex`: the newest one, or a new one now. Receipts
   * asked for at the same moment share one signing: a caller whose leaf is already committed
   * waits for a head being signed in this process, and signs only if that one does not cover it.
   */
  async covering(leafIndex: number): Promise<KeptTreeHead> {
    const newest = await this.latest();
    if (newest && newest.treeSize > leafIndex) return newest;
    const inFlight = this.signing;
    if (inFlight) {
      const head = await inFlight.catch(() => null);
      if (head && head.treeSize > leafIndex) return head;
    }
    // A signing may have ended between the read above and now (the read, on another
    // connection, answered late): the head it kept covers this leaf too.
    const known = this.lastCovering;
    if (known && known.treeSize > leafIndex) return known;
    const signing = this.publish();
    this.signing = signing;
    try {
      const head = await signing;
      if (head.treeSize <= leafIndex) throw new Error(`leaf ${leafIndex} is not in the log`);
      if (!this.lastCovering || head.treeSize > this.lastCovering.treeSize) this.lastCovering = head;
      return head;
    } finally {
      if (this.signing === signing) this.signing = null;
    }
  }

  /**
   * Starts the coalescing loop: at most one new head per interval, only when the log grew; and,
   * at most once a minute, the newest head time-stamped if it was signed while the authority
   * was unreachable (an archive gone quiet would otherwise keep an unstamped newest head).
   */
  start(intervalMs: number): void {
    if (this.timer) return;
    let lateTried = 0;
    this.timer = setInterval(() => {
      this.running = this.publish()
        .then((head) => {
          if (head.timestampToken !== null || Date.now() - lateTried < LATE_STAMP_EVERY_MS) return;
          lateTried = Date.now();
          return this.stampLate(head);
        })
        .catch(this.onError);
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
