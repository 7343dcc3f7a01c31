import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../apps/cli/src/cli.js';
import { logSettled } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startApiProcess, startWorkerProcess, type AppProcess } from './support/processes.js';
import { startS3, type TestS3 } from './support/s3.js';

const ADMIN = { email: 'scale.admin@custodia.test', password: 'scale admin password' };

/**
 * Issue 12's set-up in processes of their own: two API processes (they work no job) and a worker
 * against one PostgreSQL and one S3 server (s3rver), sharing one data folder as compose does.
 */
describe('two API processes and a worker on one database and one S3 store (e2e)', () => {
  let db: TestDatabase;
  let s3: TestS3;
  let dataDir: string;
  const processes: AppProcess[] = [];
  let apis: (AppProcess & { url: string })[] = [];
  let apiEnv: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    s3 = await startS3();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'custodia-scale-'));
    apiEnv = {
      DATABASE_URL: db.url,
      CUSTODIA_DATA_DIR: dataDir,
      ...s3.env,
      CUSTODIA_ADMIN_EMAIL: ADMIN.email,
      CUSTODIA_ADMIN_PASSWORD: ADMIN.password,
      CUSTODIA_WORK_QUEUE: 'false',
      CUSTODIA_FIXITY_ENABLED: 'false',
      CUSTODIA_JOB_EXPIRE_S: '3',
      CUSTODIA_JOB_MAINTENANCE_S: '1',
      LOG_LEVEL: 'warn',
    };
    // The first start makes the master key file in the data folder; the second reads it.
    apis = [await startApiProcess(apiEnv)];
    apis.push(await startApiProcess(apiEnv));
    processes.push(...apis);
  }, 240_000);
  afterAll(async () => {
    for (const process of processes) await process.kill('SIGKILL');
    await s3?.close();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const workerEnv = () => ({
    DATABASE_URL: db.url,
    CUSTODIA_DATA_DIR: dataDir,
    ...s3.env,
    CUSTODIA_FIXITY_ENABLED: 'false',
    CUSTODIA_JOB_EXPIRE_S: '3',
    CUSTODIA_JOB_MAINTENANCE_S: '1',
    CUSTODIA_WORKER_CONCURRENCY: '2',
    LOG_LEVEL: 'warn',
  });

  it('takes uploads on both APIs at once; the worker makes every derivative, also after being killed mid-job; nothing acknowledged is lost', async () => {
    const login = await fetch(`${apis[0]!.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ADMIN),
    }).then((r) => r.json() as Promise<{ accessToken: string }>);
    const auth = { Authorization: `Bearer ${login.accessToken}` };
    const created = await fetch(`${apis[1]!.url}/api/v1/cases`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Two APIs, one worker' }),
    }).then((r) => r.json() as Promise<{ id: string }>);

    let worker = await startWorkerProcess(workerEnv());
    processes.push(worker);

    // Killed while it works (watched for from the first upload on: a fast worker may finish a
    // job before the last upload is answered); a new worker takes over (the killed one's jobs
    // once they expire).
    const active = async () => Number((await db.superuserQuery<{ n: string }>(`SELECT count(*) AS n FROM pgboss.job WHERE name = 'evidence.derivatives' AND state = 'active'`))[0]!.n);
    const killer = (async () => {
      const deadline = Date.now() + 60_000;
      while ((await active()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await active()).toBeGreaterThan(0);
      await worker.kill('SIGKILL');
      worker = await startWorkerProcess(workerEnv());
      processes.push(worker);
    })();

    // 24 photos, 12 to each API at the same time; large enough that the worker is busy a while.
    const noise = Buffer.alloc(400 * 300 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const base = await sharp(noise, { raw: { width: 400, height: 300, channels: 3 } }).resize(4000, 3000).jpeg({ quality: 90 }).toBuffer();
    const acknowledged = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const form = new FormData();
        form.set('metadata', JSON.stringify({ title: `photo ${i}` }));
        form.set('file', new Blob([base, randomBytes(16)], { type: 'image/jpeg' }), `photo-${i}.jpg`);
        const res = await fetch(`${apis[i % 2]!.url}/api/v1/cases/${created.id}/evidence`, { method: 'POST', headers: auth, body: form });
        expect(res.status).toBe(201);
        return ((await res.json()) as { id: string; receipt: { leafIndex: number } }).id;
      }),
    );
    await killer;

    const pending = async () =>
      Number((await db.superuserQuery<{ n: string }>(`SELECT count(*) AS n FROM evidence_items WHERE case_id = $1 AND processing <> 'done'`, [created.id]))[0]!.n);
    const until = Date.now() + 120_000;
    while ((await pending()) > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await pending()).toBe(0);
    // At least one job the killed worker held was taken for dead and done again.
    const retried = await db.superuserQuery<{ n: string }>(
      `SELECT count(*) AS n FROM pgboss.job WHERE name = 'evidence.derivatives' AND retry_count > 0`,
    );
    expect(Number(retried[0]!.n)).toBeGreaterThan(0);

    // The elected sequencer's process killed in the middle of a batch, twice, while both APIs
    // take submissions: another is elected, and the killed process is replaced by one like it.
    const leaderBackend = `
      SELECT a.application_name AS name, a.xact_start IS NOT NULL AS in_batch
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
         AND l.objid::bigint = (hashtext('custodia.custody.sequencer')::bigint & 4294967295)
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    const photos = new Set(acknowledged);
    const during: string[] = [];
    let unanswered = 0;
    let writing = true;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let n = 0; writing; n++) {
        const form = new FormData();
        form.set('file', new Blob([randomBytes(2048)], { type: 'application/octet-stream' }), `note-${w}-${n}.bin`);
        const res = await fetch(`${apis[(w + n) % 2]!.url}/api/v1/cases/${created.id}/evidence`, { method: 'POST', headers: auth, body: form }).catch(() => null);
        // A request to a process being killed may fail: only what was acknowledged counts.
        if (res?.status === 201) during.push(((await res.json()) as { id: string }).id);
        else unanswered++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
    let kills = 0;
    const killDeadline = Date.now() + 90_000;
    while (kills < 2 && Date.now() < killDeadline) {
      const [leader] = await db.superuserQuery<{ name: string; in_batch: boolean }>(leaderBackend);
      const pid = Number(leader?.name.split(':')[1]);
      const victim = processes.find((p) => p.child.pid === pid && p.child.exitCode === null && p.child.signalCode === null);
      if (!leader?.in_batch || !victim) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      await victim.kill('SIGKILL');
      kills++;
      const api = apis.findIndex((a) => a === victim);
      if (api >= 0) apis[api] = await startApiProcess(apiEnv);
      else worker = await startWorkerProcess(workerEnv());
      processes.push(api >= 0 ? apis[api]! : worker);
    }
    expect(kills).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    writing = false;
    await Promise.all(writers);
    expect(during.length).toBeGreaterThan(10);
    acknowledged.push(...during);
    // Every event of every acknowledged submission integrated once, whoever led.
    await logSettled((sql) => db.superuserQuery(sql));
    const submittedTwice = await db.superuserQuery(
      `SELECT subject_id FROM custody_events WHERE action = 'evidence.submitted' GROUP BY subject_id HAVING count(*) <> 1`,
    );
    expect(submittedTwice).toEqual([]);
    const submitted = await db.superuserQuery<{ n: string }>(
      `SELECT count(*) AS n FROM custody_events WHERE action = 'evidence.submitted' AND subject_id = ANY ($1::text[])`,
      [acknowledged],
    );
    expect(Number(submitted[0]!.n)).toBe(acknowledged.length);

    // Every acknowledged item is there, with exactly one thumbnail and one preview event each
    // (photos; the notes get none), and its original in the bucket (read back through the other API).
    const items = await db.superuserQuery<{ id: string; n: string }>(
      `SELECT e.id, (SELECT count(*) FROM custody_events c WHERE c.subject_id = e.id::text AND c.action = 'evidence.derivative_created') AS n
         FROM evidence_items e WHERE e.case_id = $1`,
      [created.id],
    );
    // Every acknowledged item; besides them at most the submissions cut off by a kill, whose
    // answer never came (committed just before their process died).
    expect(items.map((i) => i.id)).toEqual(expect.arrayContaining(acknowledged));
    expect(items.length - acknowledged.length).toBeLessThanOrEqual(unanswered);
    for (const item of items) expect(Number(item.n), item.id).toBe(photos.has(item.id) ? 2 : 0);
    for (const [i, id] of [...photos, ...during.slice(0, 24)].entries()) {
      const verified = await fetch(`${apis[(i + 1) % 2]!.url}/api/v1/evidence/${id}/verify`, { method: 'POST', headers: auth }).then((r) => r.json() as Promise<{ intact: boolean }>);
      expect(verified.intact).toBe(true);
    }

    // The log replays whole: every event, head and stored node as recorded.
    const lines: string[] = [];
    const code = await runCli(['log', 'verify'], {
      env: { DATABASE_URL: db.url, CUSTODIA_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
      cwd: dataDir,
      stdout: (text) => lines.push(text),
      stderr: (text) => lines.push(text),
      readStdin: async () => '',
    });
    expect(lines.join(''), lines.join('')).toContain('INTACT');
    expect(code).toBe(0);
  }, 300_000);
});
