import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { startCustodia } from '../apps/api/src/server.js';
import { loadConfig } from '../libs/config/src/index.js';
import { createLogger } from '../libs/logging/src/index.js';
import { runCliWith } from '../apps/cli/src/test-support/run-cli.js';
import { freePort } from './support/postgres-server.js';
import { startApiProcess } from './support/processes.js';

const portAnswers = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('the archive on the embedded PostgreSQL (e2e)', () => {
  let dataDir: string;
  // As root the cluster lives outside the data folder (/var/lib/custodia/clusters/...).
  let clusterDir: string | undefined;
  afterAll(async () => {
    if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps users and cases across a restart on the same data folder, and stops PostgreSQL on shutdown', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'custodia-restart-'));
    const pgPort = await freePort();
    const config = loadConfig({
      CUSTODIA_DATA_DIR: dataDir,
      CUSTODIA_EMBEDDED_PG_PORT: String(pgPort),
      PORT: '0',
      CUSTODIA_ADMIN_EMAIL: 'first.admin@custodia.test',
      CUSTODIA_ADMIN_PASSWORD: 'first admin password',
      LOG_LEVEL: 'silent',
    });
    const logger = createLogger('silent');

    const first = await startCustodia(config, logger);
    clusterDir = first.embedded?.clusterDir;
    expect(first.embedded?.initialised).toBe(true);
    const http1 = request(first.url);
    const login1 = await http1.post('/api/v1/auth/login').send({ email: 'first.admin@custodia.test', password: 'first admin password' });
    expect(login1.status).toBe(200);
    const created = await http1.post('/api/v1/cases').auth(login1.body.accessToken, { type: 'bearer' }).send({ title: 'Odesa port, 2026-11-02' });
    expect(created.status).toBe(201);
    const user = await http1
      .post('/api/v1/users')
      .auth(login1.body.accessToken, { type: 'bearer' })
      .send({ email: 'doc@custodia.test', password: 'documenter password', displayName: 'Doc', role: 'documenter' });
    expect(user.status).toBe(201);
    await first.stop();
    expect(await portAnswers(pgPort)).toBe(false);

    // A changed admin password in the environment does not overwrite the existing account.
    const second = await startCustodia({ ...config, adminPassword: 'another admin password' }, logger);
    try {
      expect(second.embedded?.initialised).toBe(false);
      const http2 = request(second.url);
      const login2 = await http2.post('/api/v1/auth/login').send({ email: 'first.admin@custodia.test', password: 'first admin password' });
      expect(login2.status).toBe(200);
      const cases = await http2.get('/api/v1/cases').auth(login2.body.accessToken, { type: 'bearer' });
      expect(cases.body.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
      const doc = await http2.post('/api/v1/auth/login').send({ email: 'doc@custodia.test', password: 'documenter password' });
      expect(doc.status).toBe(200);
      // The session token issued before the restart still works: tokens live in the database.
      expect((await http2.get('/api/v1/auth/me').auth(login1.body.accessToken, { type: 'bearer' })).status).toBe(200);

      // The CLI given another port than the API's (the README's `npm run cli` without the API's
      // CUSTODIA_EMBEDDED_PG_PORT) says where it found the running server, and uses it.
      const otherPort = await freePort();
      const cli = await runCliWith({ CUSTODIA_DATA_DIR: dataDir, CUSTODIA_EMBEDDED_PG_PORT: String(otherPort) }, ['log', 'verify'], { cwd: dataDir });
      expect(cli.code, cli.err).toBe(0);
      expect(cli.err).toContain(
        `The archive's embedded PostgreSQL already runs on port ${pgPort} (started by another Custodia process), not ${otherPort}: using it there.`,
      );
      expect(cli.out).toContain('INTACT');
    } finally {
      await second.stop();
    }

    // The master key lost (a data folder restored without it): the start stops in a sentence and
    // puts no new key in its place, which would open none of the archive's sealed secrets.
    const keyFile = path.join(dataDir, 'master.key');
    const key = await readFile(keyFile, 'utf8');
    await rm(keyFile);
    await expect(startCustodia(config, logger)).rejects.toMatchObject({ name: 'StartupError', message: expect.stringMatching(/master\.key is missing .* restore master\.key from your backup/) });
    await expect(readFile(keyFile)).rejects.toThrow(/ENOENT/);
    // Another key in its place: the same, in a sentence.
    await writeFile(keyFile, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    await expect(startCustodia(config, logger)).rejects.toMatchObject({ name: 'StartupError', message: expect.stringMatching(/cannot be opened with this master key/) });
    // The right one back: the archive starts as before.
    await writeFile(keyFile, key, { mode: 0o600 });
    const third = await startCustodia(config, logger);
    await third.stop();
    expect(await portAnswers(pgPort)).toBe(false);
  });
});

describe('a bare start with no admin variables', () => {
  it('creates an administrator with a generated password written to a 0600 file, not the log', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-bare-'));
    const lines: string[] = [];
    const { Writable } = await import('node:stream');
    const logger = createLogger('debug', new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }));
    const running = await startCustodia(
      loadConfig({ CUSTODIA_DATA_DIR: dir, CUSTODIA_EMBEDDED_PG_PORT: String(await freePort()), PORT: '0' }),
      logger,
    );
    try {
      expect(running.initialAdmin?.email).toBe('admin@custodia.local');
      const file = running.initialAdmin!.passwordFile!;
      const { readFile, stat } = await import('node:fs/promises');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const password = (await readFile(file, 'utf8')).trim();
      expect(password.length).toBeGreaterThanOrEqual(20);
      const login = await request(running.url).post('/api/v1/auth/login').send({ email: 'admin@custodia.local', password });
      expect(login.status).toBe(200);
      expect(lines.join('')).not.toContain(password);
    } finally {
      await running.stop();
      if (running.embedded) await rm(running.embedded.clusterDir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Ctrl-C in the terminal that runs `npm start`', () => {
  it('shuts down in order: SIGINT reaches the whole process group, yet nothing fails and PostgreSQL stops after the app', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-ctrl-c-'));
    const pgPort = await freePort();
    // The embedded PostgreSQL, whatever server the suite runs on (DATABASE_URL, or a .env beside
    // the checkout, would point the API there): an empty settings file of its own.
    const settings = path.join(dir, 'none.env');
    await writeFile(settings, '');
    let api: Awaited<ReturnType<typeof startApiProcess>> | undefined;
    try {
      // Its own process group, as a shell gives a foreground job; the terminal's Ctrl-C signals the group.
      api = await startApiProcess(
        { CUSTODIA_ENV_FILE: settings, CUSTODIA_DATA_DIR: dir, CUSTODIA_EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info', CUSTODIA_ADMIN_EMAIL: 'ctrl.c@custodia.test', CUSTODIA_ADMIN_PASSWORD: 'ctrl c admin password' },
        { detached: true, unset: ['DATABASE_URL'] },
      );
      expect((await request(api.url).post('/api/v1/auth/login').send({ email: 'ctrl.c@custodia.test', password: 'ctrl c admin password' })).status).toBe(200);
      const exited = once(api.child, 'exit');
      process.kill(-api.child.pid!, 'SIGINT');
      const [code] = await exited;
      expect(code).toBe(0);
      // No error on the way out: PostgreSQL was not cut away under the app's connections.
      const errors = api.output().split('\n').filter((line) => /"level":(50|60)/.test(line));
      expect(errors).toEqual([]);
      expect(await portAnswers(pgPort)).toBe(false);
    } finally {
      if (api && api.child.exitCode === null && api.child.signalCode === null) process.kill(-api.child.pid!, 'SIGKILL');
      const cluster = (await readFile(path.join(dir, 'postgres.location'), 'utf8').catch(() => '')).trim();
      if (cluster && cluster !== path.join(dir, 'postgres')) await rm(cluster, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
