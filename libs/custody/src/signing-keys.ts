import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import {
  formatTimestamp,
  generateSigningKey,
  keyIdOf,
  signTreeHead,
  SYSTEM_ACTOR,
  toHex,
  treeRoot,
  type CustodyEvent,
  type KeyHandover,
  type PublishedKey,
} from '#custodia/custody-core';
import { seal, unseal } from '#custodia/keyring';
import { CustodyLog, nodeReader } from './custody-log.js';

/** The master key given is not the one the stored signing key was sealed with. */
export class MasterKeyMismatch extends Error {
  override readonly name = 'MasterKeyMismatch';
}

/** No signing key has the id given. */
export class UnknownSigningKey extends Error {
  override readonly name = 'UnknownSigningKey';
}

/** A published key as `GET /log/keys` shows it. */
export interface LogKeyView extends PublishedKey {
  algorithm: 'Ed25519';
  activeFrom: string;
  activeTo: string | null;
  compromisedAt: string | null;
}

type Actor = { id: string; role: string };

const KEY_LOCK = 'custodia.custody.signing-key';
const sealContext = (keyId: string): string => `custodia:custody-signing-key:${keyId}`;

/**
 * The log's Ed25519 keys: the private half sealed under the master key in the database, the
 * public half published forever so heads signed before a rotation still verify.
 */
export class SigningKeys {
  private readonly unsealed = new Map<string, KeyObject>();
  private readonly log: CustodyLog;

  constructor(
    private readonly db: DataSource,
    private readonly masterKey: Buffer,
  ) {
    this.log = new CustodyLog(db);
  }

  /** The key that signs new heads, created on first use. */
  async active(): Promise<{ keyId: string; privateKey: KeyObject }> {
    let [row] = await this.db.query(`SELECT key_id, private_key_sealed FROM custody_signing_keys WHERE active_to IS NULL`);
    if (!row) {
      await this.db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [KEY_LOCK]);
        const [existing] = await tx.query(`SELECT 1 FROM custody_signing_keys WHERE active_to IS NULL`);
        if (!existing) await this.insertNewKey(tx);
      });
      [row] = await this.db.query(`SELECT key_id, private_key_sealed FROM custody_signing_keys WHERE active_to IS NULL`);
    }
    return { keyId: row.key_id, privateKey: this.open(row.key_id, row.private_key_sealed) };
  }

  /**
   * Retires the active key and starts signing with a new one; returns the new key id. The
   * rotation is a system event (`key.rotated`, no case) committed with it: by the system actor
   * when the CLI does it, or by the person who asked. The retired key then signs its handover,
   * unless it is retired as compromised (`key.compromised` too, in the same transaction): a
   * leaked key's signature proves nothing, so it signs nothing more.
   */
  async rotate(actor: Actor = SYSTEM_ACTOR, options: { compromised?: boolean; reason?: string } = {}): Promise<string> {
    const keyId = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [KEY_LOCK]);
      return this.rotateIn(tx, actor, options);
    });
    await this.handOver();
    return keyId;
  }

  /**
   * Marks a key compromised (it leaked, or may have): the active key is rotated as compromised; a
   * retired one is marked, and its handover, if it signed one, is no longer followed by verifiers
   * (they read the mark from `GET /log/keys` and packages' keys.json). The mark is never taken
   * back (the database refuses). Answers the key that signs from now on and whether the mark is new.
   */
  async markCompromised(keyId: string, actor: Actor = SYSTEM_ACTOR, reason?: string): Promise<{ activeKeyId: string; marked: boolean }> {
    const options = { compromised: true, ...(reason ? { reason } : {}) };
    return this.db.transaction(async (tx) => {
      // Under the rotation lock: the key read is the key marked, whoever rotates at the same time.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [KEY_LOCK]);
      const [key]: { active_to: Date | null; compromised_at: Date | null }[] = await tx.query(
        `SELECT active_to, compromised_at FROM custody_signing_keys WHERE key_id = $1`,
        [keyId],
      );
      if (!key) throw new UnknownSigningKey(`The custody log has no signing key ${keyId}`);
      if (!key.active_to) return { activeKeyId: await this.rotateIn(tx, actor, options), marked: true };
      const [active]: { key_id: string }[] = await tx.query(`SELECT key_id FROM custody_signing_keys WHERE active_to IS NULL`);
      if (key.compromised_at) return { activeKeyId: active!.key_id, marked: false };
      await tx.query(`UPDATE custody_signing_keys SET compromised_at = now() WHERE key_id = $1`, [keyId]);
      await this.logCompromise(tx, actor, keyId, active!.key_id, reason);
      return { activeKeyId: active!.key_id, marked: true };
    });
  }

  /** Retires the active key (as compromised, if so) and creates the next, with their events, in `tx` under the rotation lock. */
  private async rotateIn(tx: EntityManager, actor: Actor, options: { compromised?: boolean; reason?: string }): Promise<string> {
    // TypeORM answers an UPDATE with [rows, affected count].
    const [retired]: [{ key_id: string }[], number] = await tx.query(
      `UPDATE custody_signing_keys SET active_to = now(), compromised_at = CASE WHEN $1 THEN now() END WHERE active_to IS NULL RETURNING key_id`,
      [options.compromised === true],
    );
    const keyId = await this.insertNewKey(tx);
    const previousKeyId = retired[0]?.key_id ?? null;
    await this.log.append(tx, {
      action: 'key.rotated',
      actor,
      caseId: null,
      subject: { type: 'key', id: keyId },
      details: { previousKeyId, keyId },
      ...(options.reason ? { reason: options.reason } : {}),
    });
    if (options.compromised && previousKeyId) await this.logCompromise(tx, actor, previousKeyId, keyId, options.reason);
    return keyId;
  }

  private async logCompromise(tx: EntityManager, actor: Actor, keyId: string, activeKeyId: string, reason: string | undefined): Promise<void> {
    await this.log.append(tx, {
      action: 'key.compromised',
      actor,
      caseId: null,
      subject: { type: 'key', id: keyId },
      details: { keyId, activeKeyId },
      ...(reason ? { reason } : {}),
    });
  }

  /**
   * Has each retired key sign its handover (KeyHandover): the head that ends with the
   * `key.rotated` event retiring it, so whoever trusts the old key can follow it to the new one.
   * Run after each rotation, and at each start for a rotation a crash cut short or one made
   * before handovers were signed. Answers how many it signed.
   */
  async handOver(): Promise<number> {
    const pending: { key_id: string; private_key_sealed: Buffer }[] = await this.db.query(
      `SELECT key_id, private_key_sealed FROM custody_signing_keys k
        WHERE active_to IS NOT NULL AND compromised_at IS NULL AND NOT EXISTS (SELECT 1 FROM custody_key_handovers h WHERE h.key_id = k.key_id)`,
    );
    if (!pending.length) return 0;
    await this.log.integrateAll();
    const rotations = (
      await this.db.query(`SELECT leaf_index, event_bytes FROM custody_events WHERE subject_type = 'key' AND action = 'key.rotated'`)
    ).map((row: { leaf_index: string; event_bytes: Buffer }) => ({ leafIndex: Number(row.leaf_index), event: JSON.parse(row.event_bytes.toString('utf8')) as CustodyEvent }));
    let signed = 0;
    for (const key of pending) {
      const rotation = rotations.find((r: { event: CustodyEvent }) => r.event.details['previousKeyId'] === key.key_id);
      if (!rotation) continue;
      const treeSize = rotation.leafIndex + 1;
      const root = await treeRoot(treeSize, nodeReader(this.db));
      const head = signTreeHead(
        { treeSize, rootHash: toHex(root), timestamp: formatTimestamp(new Date()), keyId: key.key_id },
        this.open(key.key_id, key.private_key_sealed),
      );
      // Two instances starting together may both sign: the first kept is the handover.
      const inserted: unknown[] = await this.db.query(
        `INSERT INTO custody_key_handovers (key_id, next_key_id, leaf_index, tree_size, root_hash, signed_timestamp, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING key_id`,
        [key.key_id, rotation.event.subject.id, rotation.leafIndex, treeSize, root, head.timestamp, head.signature],
      );
      signed += inserted.length;
    }
    return signed;
  }

  /** Every handover whose head is no larger than `treeSize`, oldest first, each with its event and inclusion proof. */
  async handovers(treeSize = Number.MAX_SAFE_INTEGER): Promise<KeyHandover[]> {
    const rows: { key_id: string; leaf_index: string; tree_size: string; root_hash: Buffer; signed_timestamp: string; signature: string; event_bytes: Buffer }[] =
      await this.db.query(
        `SELECT h.key_id, h.leaf_index, h.tree_size, h.root_hash, h.signed_timestamp, h.signature, e.event_bytes
           FROM custody_key_handovers h JOIN custody_events e USING (leaf_index)
          WHERE h.tree_size <= $1 ORDER BY h.leaf_index`,
        [treeSize],
      );
    return Promise.all(
      rows.map(async (row) => ({
        head: { treeSize: Number(row.tree_size), rootHash: toHex(row.root_hash), timestamp: row.signed_timestamp, keyId: row.key_id, signature: row.signature },
        event: JSON.parse(row.event_bytes.toString('utf8')) as CustodyEvent,
        leafIndex: Number(row.leaf_index),
        inclusionProof: await this.log.inclusionProof(Number(row.leaf_index), Number(row.tree_size)),
      })),
    );
  }

  /** Every key that ever signed, oldest first. */
  async published(): Promise<LogKeyView[]> {
    const rows = await this.db.query(
      `SELECT key_id, public_key_pem, active_from, active_to, compromised_at FROM custody_signing_keys ORDER BY active_from, key_id`,
    );
    return rows.map((row: { key_id: string; public_key_pem: string; active_from: Date; active_to: Date | null; compromised_at: Date | null }) => ({
      keyId: row.key_id,
      algorithm: 'Ed25519' as const,
      publicKeyPem: row.public_key_pem,
      activeFrom: row.active_from.toISOString(),
      activeTo: row.active_to?.toISOString() ?? null,
      compromisedAt: row.compromised_at?.toISOString() ?? null,
    }));
  }

  private async insertNewKey(tx: EntityManager): Promise<string> {
    const key = generateSigningKey();
    const der = key.privateKey.export({ type: 'pkcs8', format: 'der' });
    await tx.query(
      `INSERT INTO custody_signing_keys (key_id, public_key_pem, private_key_sealed) VALUES ($1, $2, $3)`,
      [key.keyId, key.publicKeyPem, seal(this.masterKey, der, sealContext(key.keyId))],
    );
    return key.keyId;
  }

  private open(keyId: string, sealed: Buffer): KeyObject {
    const cached = this.unsealed.get(keyId);
    if (cached) return cached;
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: unseal(this.masterKey, sealed, sealContext(keyId)), format: 'der', type: 'pkcs8' });
    } catch {
      throw new MasterKeyMismatch(
        `The custody signing key ${keyId.slice(0, 12)}… cannot be opened with this master key: ` +
          'set CUSTODIA_MASTER_KEY (or restore CUSTODIA_DATA_DIR/master.key) to the key it was sealed with',
      );
    }
    if (keyIdOf(privateKey) !== keyId) throw new Error(`The stored signing key does not match its id ${keyId}`);
    this.unsealed.set(keyId, privateKey);
    return privateKey;
  }
}
