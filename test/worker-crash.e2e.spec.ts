import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../apps/worker/src/worker.js';
import { JobQueue } from '../libs/jobs/src/index.js';
import { createLogger } from '../libs/logging/src/index.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { submit } from './support/evidence.js';
import { startWorkerProcess, type AppProcess } from './support/processes.js';

/** A 48 MP photo: its derivatives take long enough to kill the worker while it makes them. */
async function largePhoto(): Promise<Buffer> {
  const noise = Buffer.alloc(800 * 600 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  return sharp(noise, { raw: { width: 800, height: 600, channels: 3 } }).resize(8000, 6000, { kernel: 'cubic' }).jpeg({ quality: 92 }).toBuffer();
}

describe('a worker killed mid-job (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let caseId: string;
  let child: AppProcess | undefined;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    // Jobs are taken for dead after 3 s and looked for every second (15 min and 2 min by default).
    t = await startTestApp({ CUSTODIA_WORK_QUEUE: 'false', CUSTODIA_JOB_EXPIRE_S: '3', CUSTODIA_JOB_MAINTENANCE_S: '1' });
    investigator = await t.user('investigator');
    caseId = (await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title: 'Killed worker' })).body.id;
  });
  afterAll(async () => {
    await child?.kill('SIGKILL');
    await worker?.stop();
    await t?.close();
  });

  it('leaves its job to be retried by another worker once it expires, and the retry records each derivative once', async () => {
    child = await startWorkerProcess({
      DATABASE_URL: t.db.url,
      CUSTODIA_DATA_DIR: t.config.dataDir,
      CUSTODIA_JOB_EXPIRE_S: '3',
      CUSTODIA_JOB_MAINTENANCE_S: '1',
      CUSTODIA_FIXITY_ENABLED: 'false',
      LOG_LEVEL: 'warn',
    });
    const photo = await largePhoto();
    const item = await submit(t, investigator, caseId, photo, { filename: 'large.jpg', contentType: 'image/jpeg' });
    expect(item.status).toBe(201);
    const state = async (): Promise<string | undefined> =>
      (await t.db.superuserQuery<{ state: string }>(`SELECT state FROM pgboss.job WHERE id = $1`, [item.body.id]))[0]?.state;
    const deadline = Date.now() + 30_000;
    while ((await state()) !== 'active' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await state()).toBe('active');
    await child.kill('SIGKILL');
    child = undefined;
    const processing = async (): Promise<string> =>
      (await t.db.superuserQuery<{ processing: string }>(`SELECT processing FROM evidence_items WHERE id = $1`, [item.body.id]))[0]!.processing;
    expect(await processing()).toBe('pending');

    // Another worker takes it up once it has expired (3 s), through the queue's retry.
    worker = await startWorker(t.config, createLogger('silent'));
    const until = Date.now() + 60_000;
    while ((await processing()) !== 'done' && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await processing()).toBe('done');
    const [job] = await t.db.superuserQuery<{ retry_count: number }>(`SELECT retry_count FROM pgboss.job WHERE id = $1`, [item.body.id]);
    expect(job!.retry_count).toBeGreaterThanOrEqual(1);
    const custody = await t.http.get(`/api/v1/evidence/${item.body.id}/custody`).auth(investigator.token, { type: 'bearer' });
    const derived = custody.body.events.filter((e: { event: { action: string } }) => e.event.action === 'evidence.derivative_created');
    expect(derived.map((e: { event: { details: { kind: string } } }) => e.event.details.kind).sort()).toEqual(['preview', 'thumbnail']);
  });
});

describe('a worker killed mid-job, its job far from expiring (e2e)', () => {
  let t: TestApp;
  let child: AppProcess | undefined;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    // The jobs' own expiry (15 min for derivatives, 12 h for a package); orphans looked for every 2 s.
    t = await startTestApp({ CUSTODIA_WORK_QUEUE: 'false', CUSTODIA_JOB_ORPHAN_S: '2' });
  });
  afterAll(async () => {
    await child?.kill('SIGKILL');
    await worker?.stop();
    await t?.close();
  });

  it('is handed back to the queue as soon as its lease is seen to be nobody\'s, and done by another worker', async () => {
    const investigator = await t.user('investigator');
    const caseId = (await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title: 'Killed worker, long expiry' })).body.id;
    child = await startWorkerProcess({ DATABASE_URL: t.db.url, CUSTODIA_DATA_DIR: t.config.dataDir, CUSTODIA_JOB_ORPHAN_S: '2', CUSTODIA_FIXITY_ENABLED: 'false', LOG_LEVEL: 'warn' });
    const photo = await largePhoto();
    const item = await submit(t, investigator, caseId, photo, { filename: 'large.jpg', contentType: 'image/jpeg' });
    expect(item.status).toBe(201);
    const job = async () => (await t.db.superuserQuery<{ state: string; retry_count: number }>(`SELECT state, retry_count FROM pgboss.job WHERE id = $1`, [item.body.id]))[0];
    const deadline = Date.now() + 30_000;
    while ((await job())?.state !== 'active' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await job())?.state).toBe('active');
    await child.kill('SIGKILL');
    child = undefined;

    // Within seconds, not the 15 minutes of its expiry: handed back (a failure pg-boss retries) and done.
    const started = Date.now();
    worker = await startWorker(t.config, createLogger('silent'));
    const processing = async (): Promise<string> =>
      (await t.db.superuserQuery<{ processing: string }>(`SELECT processing FROM evidence_items WHERE id = $1`, [item.body.id]))[0]!.processing;
    while ((await processing()) !== 'done' && Date.now() - started < 60_000) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await processing()).toBe('done');
    expect((await job())!.retry_count).toBe(1);
    const custody = await t.http.get(`/api/v1/evidence/${item.body.id}/custody`).auth(investigator.token, { type: 'bearer' });
    const derived = custody.body.events.filter((e: { event: { action: string } }) => e.event.action === 'evidence.derivative_created');
    expect(derived.map((e: { event: { details: { kind: string } } }) => e.event.details.kind).sort()).toEqual(['preview', 'thumbnail']);
  });

  it('leaves a job alone while its process holds the lease', async () => {
    // Only this queue may take the job: the worker of the test before also works evidence.fixity,
    // and on a loaded machine it once took the job first, so this queue never ran it.
    await worker?.stop();
    worker = undefined;
    const queue = new JobQueue({ connectionString: t.db.url, orphanCheckSeconds: 1 });
    await queue.start();
    let release!: () => void;
    const running = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    await queue.work('evidence.fixity', async () => {
      runs++;
      await running;
    });
    await t.app.get(DataSource).transaction((tx) => queue.enqueue(tx, 'evidence.fixity', {}, '6f0a4b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b'));
    queue.wake('evidence.fixity');
    const deadline = Date.now() + 30_000;
    while (runs === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await queue.reclaimOrphans()).toBe(0);
    release();
    await queue.stop();
    expect(runs).toBe(1);
  });
});

