import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { generateSigningKey, keyIdOf, SYSTEM_ACTOR, type PublishedKey } from '#custodia/custody-core';
import { seal, unseal } from '#custodia/keyring';
import { CustodyLog } from './custody-log.js';

/** The master key given is not the one the stored signing key was sealed with. */
export class MasterKeyMismatch extends Error {
  override readonly name = 'MasterKeyMismatch';
}

/** A published key as `GET /log/keys` shows it. */
export interface LogKeyView extends PublishedKey {
  algorithm: 'Ed25519';
  activeFrom: string;
  activeTo: string | null;
}

const KEY_LOCK = 'custodia.custody.signing-key';
const sealContext = (keyId: string): string => `custodia:custody-signing-key:${keyId}`;

/**
 * The log's Ed25519 keys: the private half sealed under the master key in the database, the
 * public half published forever so heads signed before a rotation still verify.
 */
export class SigningKeys {
  private readonly unsealed = new Map<string, KeyObject>();

  constructor(
    private readonly db: DataSource,
    private readonly masterKey: Buffer,
  ) {}

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
   * when the CLI does it, or by the person who asked.
   */
  async rotate(actor: { id: string; role: string } = SYSTEM_ACTOR): Promise<string> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [KEY_LOCK]);
      // TypeORM answers an UPDATE with [rows, affected count].
      const [retired]: [{ key_id: string }[], number] = await tx.query(
        `UPDATE custody_signing_keys SET active_to = now() WHERE active_to IS NULL RETURNING key_id`,
      );
      const keyId = await this.insertNewKey(tx);
      await new CustodyLog(this.db).append(tx, {
        action: 'key.rotated',
        actor,
        caseId: null,
        subject: { type: 'key', id: keyId },
        details: { previousKeyId: retired[0]?.key_id ?? null, keyId },
      });
      return keyId;
    });
  }

  /** Every key that ever signed, oldest first. */
  async published(): Promise<LogKeyView[]> {
    const rows = await this.db.query(
      `SELECT key_id, public_key_pem, active_from, active_to FROM custody_signing_keys ORDER BY active_from, key_id`,
    );
    return rows.map((row: { key_id: string; public_key_pem: string; active_from: Date; active_to: Date | null }) => ({
      keyId: row.key_id,
      algorithm: 'Ed25519' as const,
      publicKeyPem: row.public_key_pem,
      activeFrom: row.active_from.toISOString(),
      activeTo: row.active_to?.toISOString() ?? null,
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
