import { describe, expect, it } from 'vitest';
import { socketDirOf } from './embedded-postgres.js';

describe('the embedded PostgreSQL socket folder', () => {
  it('is the cluster folder when the socket path fits and needs no quoting', () => {
    expect(socketDirOf({ dir: '/var/lib/custodia/clusters/0f3a9c' }, 54329)).toBe('/var/lib/custodia/clusters/0f3a9c');
    expect(socketDirOf({ dir: '/home/ngo-admin/custodia.data/postgres' }, 5432)).toBe('/home/ngo-admin/custodia.data/postgres');
  });

  it('is none (TCP only) for a path too long for a Unix socket (sun_path) or one that would need quoting or is relative', () => {
    const deep = `/srv/${'a'.repeat(80)}/postgres`;
    expect(`${deep}/.s.PGSQL.54329`.length).toBeGreaterThan(103);
    expect(socketDirOf({ dir: deep }, 54329)).toBeNull();
    // 103 bytes fit; one more does not.
    const fits = `/${'b'.repeat(103 - '/.s.PGSQL.5432'.length - 1)}`;
    expect(`${fits}/.s.PGSQL.5432`.length).toBe(103);
    expect(socketDirOf({ dir: fits }, 5432)).toBe(fits);
    expect(socketDirOf({ dir: `${fits}c` }, 5432)).toBeNull();
    for (const dir of ['data/postgres', './data/postgres', '/data/my archive/postgres', '/data/a,b/postgres', "/data/o'neil/postgres", '/data/архів/postgres']) {
      expect(socketDirOf({ dir }, 5432)).toBeNull();
    }
  });
});
