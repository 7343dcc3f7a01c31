import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../apps/worker/src/worker.js';
import { createLogger } from '../libs/logging/src/index.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { fixture, submit } from './support/evidence.js';

describe('apps/worker: the job queue worked by its own process (e2e)', () => {
  let t: TestApp;
  let worker: RunningWorker | undefined;
  let investigator: TestUser;
  let caseId: string;

  beforeAll(async () => {
    // An API instance that takes requests and works no job, as API instances run beside a worker.
    t = await startTestApp({ CUSTODIA_WORK_QUEUE: 'false', CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigator = await t.user('investigator');
    caseId = (await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title: 'Worked elsewhere' })).body.id;
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  const processing = async (id: string): Promise<string> =>
    (await t.db.superuserQuery<{ processing: string }>(`SELECT processing FROM evidence_items WHERE id = $1`, [id]))[0]!.processing;

  it('leaves derivatives to the worker: pending while none runs, done once one does, by the system actor', async () => {
    const item = await submit(t, investigator, caseId, fixture('orientation-6.jpg'));
    expect(item.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await processing(item.body.id)).toBe('pending');

    worker = await startWorker(t.config, createLogger('silent'));
    const deadline = Date.now() + 30_000;
    while ((await processing(item.body.id)) !== 'done' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await processing(item.body.id)).toBe('done');
    const thumbnail = await t.http.get(`/api/v1/evidence/${item.body.id}/thumbnail`).auth(investigator.token, { type: 'bearer' });
    expect(thumbnail.status).toBe(200);
    const custody = await t.http.get(`/api/v1/evidence/${item.body.id}/custody`).auth(investigator.token, { type: 'bearer' });
    const derived = custody.body.events.filter((e: { event: { action: string } }) => e.event.action === 'evidence.derivative_created');
    expect(derived).toHaveLength(2);
    for (const { event } of derived) expect(event).toMatchObject({ actor: { id: 'system', role: 'system' }, details: { onBehalfOf: investigator.id } });
  });

  it('works new jobs as they come, and stops letting the running ones finish', async () => {
    const item = await submit(t, investigator, caseId, fixture('orientation-3.jpg'));
    const deadline = Date.now() + 30_000;
    while ((await processing(item.body.id)) !== 'done' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await processing(item.body.id)).toBe('done');
    await worker!.stop();
    worker = undefined;
    // The API stays up without it.
    expect((await t.http.get('/api/v1/health')).status).toBe(200);
  });

  it('an item whose job was given up (its retries spent while the store was away) is processed when a worker next starts', async () => {
    expect(worker).toBeUndefined();
    const item = await submit(t, investigator, caseId, fixture('orientation-8.jpg'));
    expect(item.status).toBe(201);
    expect(await processing(item.body.id)).toBe('pending');
    // What pg-boss leaves once the last retry failed: the job failed, the item pending for ever.
    const failed = await t.db.superuserQuery(
      `UPDATE pgboss.job SET state = 'failed', completed_on = now() WHERE name = 'evidence.derivatives' AND data->>'evidenceId' = $1 AND state = 'created' RETURNING id`,
      [item.body.id],
    );
    expect(failed).toHaveLength(1);
    const restarted = await startWorker(t.config, createLogger('silent'));
    try {
      const deadline = Date.now() + 30_000;
      while ((await processing(item.body.id)) !== 'done' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await processing(item.body.id)).toBe('done');
    } finally {
      await restarted.stop();
    }
  });
});
