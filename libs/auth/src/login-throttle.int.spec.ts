import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '#custodia/db';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { LoginThrottle } from './login-throttle.js';

describe('LoginThrottle (real PostgreSQL): attempts whose check has not settled', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let throttle: LoginThrottle;
  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url, [], { poolSize: 12 });
    await ds.initialize();
    throttle = new LoginThrottle(ds, { freeFailures: 3, maxDelaySeconds: 900, addressFailures: 12 });
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** Ten attempts at once, none settled: how many are admitted (the rest wait, then are refused). */
  const burst = async (email: string, address: string): Promise<number> => {
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => throttle.admit(email, address)));
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect(String(outcome.reason)).toMatch(/Too many failed logins/);
    return outcomes.filter((o) => o.status === 'fulfilled').length;
  };

  it('admits no more unsettled attempts than free failures remain, however old the last failure', async () => {
    expect(await burst('fresh@custodia.test', '198.51.100.1')).toBe(3);
    // One failure an hour ago: two free tries left, not ten.
    const old = await throttle.admit('old@custodia.test', '198.51.100.2');
    await throttle.failed(old);
    await ds.query(`UPDATE login_failures SET at = at - interval '1 hour' WHERE email_key = 'old@custodia.test'`);
    expect(await burst('old@custodia.test', '198.51.100.2')).toBe(2);
  }, 30_000);
});
