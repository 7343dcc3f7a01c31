import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#custodia/config';
import { CustodyLog } from '#custodia/custody';
import { createDataSource } from '#custodia/db';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { AuthService } from './auth.service.js';
import { AccessTokenEntity, UserEntity } from './entities.js';
import { newBearerToken } from './secrets.js';
import { TokenCache } from './token-cache.js';
import { UsersService } from './users.service.js';

/** A change the database does not announce (triggers off for this transaction): only a cache that was not asked sees the old state. */
const UNANNOUNCED = (sql: string) => `BEGIN; SET LOCAL session_replication_role = replica; ${sql}; COMMIT`;

describe('TokenCache (real PostgreSQL, LISTEN/NOTIFY)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let dataDir: string;
  let cache: TokenCache;
  let auth: AuthService;
  let userId: string;

  const until = async (what: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  /** A fresh token of the user, expiring at `expiresAt`. */
  const tokenOf = async (expiresAt = new Date(Date.now() + 3_600_000)): Promise<string> => {
    const { token, tokenHash } = newBearerToken();
    await ds.getRepository(AccessTokenEntity).insert({ userId, kind: 'session', tokenHash, expiresAt });
    return token;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'custodia-token-cache-'));
    ds = createDataSource(db.url, [UserEntity, AccessTokenEntity], { poolSize: 4 });
    await ds.initialize();
    const config = loadConfig({ CUSTODIA_DATA_DIR: dataDir, DATABASE_URL: db.url, CUSTODIA_TOKEN_CACHE_S: '30' });
    cache = new TokenCache(ds, config);
    await cache.onApplicationBootstrap();
    auth = new AuthService(ds, config, new CustodyLog(ds), cache);
    userId = (await new UsersService(ds).ensureFirstAdmin('cache@custodia.test', 'a password of some length'))!.id;
  });
  afterAll(async () => {
    await cache?.onModuleDestroy();
    await ds?.destroy();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers a token from memory while subscribed: a change the database does not announce is not seen', async () => {
    expect(cache.active).toBe(true);
    const token = await tokenOf();
    expect((await auth.authenticate(token))?.role).toBe('admin');
    await db.superuserQuery(UNANNOUNCED(`UPDATE users SET display_name = 'renamed quietly' WHERE id = '${userId}'`));
    expect((await auth.authenticate(token))?.displayName).not.toBe('renamed quietly');
    // Announced, it is seen at once.
    await db.superuserQuery(`UPDATE users SET display_name = 'renamed' WHERE id = $1`, [userId]);
    await cache.sync();
    expect((await auth.authenticate(token))?.displayName).toBe('renamed');
  });

  it('ends a cached token as soon as the database announces its revocation, its expiry or its account disabled, from any session', async () => {
    for (const change of [
      (t: string) => db.superuserQuery(`UPDATE access_tokens SET revoked_at = now() WHERE token_hash = sha256($1::text::bytea)`, [t]),
      (t: string) => db.superuserQuery(`UPDATE access_tokens SET expires_at = now() WHERE token_hash = sha256($1::text::bytea)`, [t]),
      (t: string) => db.superuserQuery(`DELETE FROM access_tokens WHERE token_hash = sha256($1::text::bytea)`, [t]),
    ]) {
      const token = await tokenOf();
      expect(await auth.authenticate(token)).not.toBeNull();
      await change(token);
      await cache.sync();
      expect(await auth.authenticate(token)).toBeNull();
    }
    const token = await tokenOf();
    expect(await auth.authenticate(token)).not.toBeNull();
    await db.superuserQuery(`UPDATE users SET disabled_at = now() WHERE id = $1`, [userId]);
    await cache.sync();
    expect(await auth.authenticate(token)).toBeNull();
    await db.superuserQuery(`UPDATE users SET disabled_at = NULL WHERE id = $1`, [userId]);
  });

  it('forgets at once what this process changes (logout), without waiting for the notification', async () => {
    const token = await tokenOf();
    const actor = (await auth.authenticate(token))!;
    // No notification at all this time: only the process's own forgetting can end the token.
    await db.superuserQuery(`ALTER TABLE access_tokens DISABLE TRIGGER access_tokens_changed`);
    try {
      await auth.logout(actor);
      expect(await auth.authenticate(token)).toBeNull();
    } finally {
      await db.superuserQuery(`ALTER TABLE access_tokens ENABLE TRIGGER access_tokens_changed`);
    }
  });

  it('does not keep a token past its expiry', async () => {
    const token = await tokenOf(new Date(Date.now() + 1500));
    expect(await auth.authenticate(token)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(await auth.authenticate(token)).toBeNull();
  });

  it('does not put back what a read fetched before a change was announced', async () => {
    const token = await tokenOf();
    const actor = (await auth.authenticate(token))!;
    cache.forget();
    const mark = cache.mark();
    cache.forget();
    cache.put(Buffer.from('some hash'), actor, new Date(Date.now() + 60_000), mark);
    expect(cache.get(Buffer.from('some hash'))).toBeUndefined();
    cache.put(Buffer.from('some hash'), actor, new Date(Date.now() + 60_000), cache.mark());
    expect(cache.get(Buffer.from('some hash'))?.id).toBe(actor.id);
  });

  it('caches nothing while its subscription is lost, and subscribes again', async () => {
    const token = await tokenOf();
    await auth.authenticate(token);
    await db.superuserQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN custodia_auth' AND datname = current_database()`);
    await until(() => !cache.active);
    // Not announced, and still seen: nothing is answered from memory now.
    await db.superuserQuery(UNANNOUNCED(`UPDATE users SET display_name = 'while unsubscribed' WHERE id = '${userId}'`));
    expect((await auth.authenticate(token))?.displayName).toBe('while unsubscribed');
    await until(() => cache.active);
    await cache.sync();
    await db.superuserQuery(`UPDATE access_tokens SET revoked_at = now() WHERE token_hash = sha256($1::text::bytea)`, [token]);
    await cache.sync();
    expect(await auth.authenticate(token)).toBeNull();
  });

  it('with CUSTODIA_TOKEN_CACHE_S=0 never subscribes nor caches', async () => {
    const off = new TokenCache(ds, { tokenCacheSeconds: 0 });
    await off.onApplicationBootstrap();
    expect(off.active).toBe(false);
    const offAuth = new AuthService(ds, loadConfig({ CUSTODIA_DATA_DIR: dataDir, DATABASE_URL: db.url }), new CustodyLog(ds), off);
    const token = await tokenOf();
    await offAuth.authenticate(token);
    await db.superuserQuery(UNANNOUNCED(`UPDATE users SET display_name = 'uncached' WHERE id = '${userId}'`));
    expect((await offAuth.authenticate(token))?.displayName).toBe('uncached');
    await off.onModuleDestroy();
  });
});
