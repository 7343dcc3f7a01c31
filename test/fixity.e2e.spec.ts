// Fixity checks (issue 12 item 4): stored blobs re-hashed on a schedule; a byte flipped in the
// store becomes `evidence.fixity_failed` in the item's custody and a failure in /health/ready;
// intact items get `evidence.fixity_checked`; nothing is checked again before its interval.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixityJob, fixityRunId, type FixityRunResult } from '../libs/evidence/src/index.js';
import { JobQueue } from '../libs/jobs/src/index.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, createCase, fixture, sha256hex, sleep, submit, waitProcessed } from './support/evidence.js';

interface CustodyEventView {
  action: string;
  actor: { id: string; role: string };
  caseId: string | null;
  subject: { type: string; id: string; sha256?: string };
  details: Record<string, any>;
}

describe('fixity checks (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let caseId: string;

  const blobPath = (sha: string) => path.join(t.config.dataDir, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha);
  const fixityEvents = async (id: string): Promise<CustodyEventView[]> => {
    const res = await t.http.get(`/api/v1/evidence/${id}/custody`).set('Authorization', bearer(investigator));
    expect(res.status).toBe(200);
    return (res.body.events as { event: CustodyEventView }[]).map((e) => e.event).filter((e) => e.action.startsWith('evidence.fixity_'));
  };
  /** Runs checks as the job does; a run enqueued by the schedule at a slice boundary may hold the lock for a moment. */
  const runFixity = async (): Promise<FixityRunResult> => {
    for (let attempt = 0; ; attempt++) {
      const result = await t.app.get(FixityJob).run();
      if (result.ran || attempt > 50) return result;
      await sleep(100);
    }
  };
  const ready = async () => {
    const res = await t.http.get('/api/v1/health/ready');
    expect(res.status).toBe(200);
    return res.body;
  };
  const submitBytes = async (bytes: Buffer, filename = 'capture.bin', contentType = 'application/octet-stream') => {
    const res = await submit(t, investigator, caseId, bytes, { metadata: { sha256: sha256hex(bytes) }, filename, contentType });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_FIXITY_ENABLED: 'true', CUSTODIA_FIXITY_INTERVAL_S: '3600', CUSTODIA_FIXITY_BATCH: '2' });
    investigator = await t.user('investigator', 'Ines Investigator');
    caseId = await createCase(t, investigator, 'Fixity');
  });
  afterAll(async () => t?.close());

  it('before any check: ready, fixity ok with no failures and no check yet', async () => {
    expect(await ready()).toEqual({ status: 'ok', database: 'ok', storage: 'ok', fixity: { status: 'ok', failures: 0, lastCheckedAt: null } });
  });

  it('checks intact items and their derivatives, records one event each, and catches a byte flipped in the store', async () => {
    const photo = fixture('orientation-1.jpg');
    const photoId = await submitBytes(photo, 'photo.jpg', 'image/jpeg');
    const processed = await waitProcessed(t, investigator, photoId);
    expect(processed.processing).toBe('done');
    const intact = randomBytes(300_000);
    const intactId = await submitBytes(intact);
    const tampered = randomBytes(200_000);
    const tamperedId = await submitBytes(tampered);
    const missing = randomBytes(1000);
    const missingId = await submitBytes(missing);

    // Bit rot: one bit of the stored original flipped (blobs are read-only, as on disk).
    const sha = sha256hex(tampered);
    const stored = await readFile(blobPath(sha));
    stored[123_456] = stored[123_456]! ^ 0x10;
    await chmod(blobPath(sha), 0o644);
    await writeFile(blobPath(sha), stored);
    await chmod(blobPath(sha), 0o444);
    // And a blob gone from the store.
    await rm(blobPath(sha256hex(missing)));

    // Batches of 2: the run goes on batch after batch until nothing is due.
    const result = await runFixity();
    expect(result).toEqual({ ran: true, checked: 4, failed: 2 });

    const [photoEvent] = await fixityEvents(photoId);
    expect(photoEvent).toMatchObject({
      action: 'evidence.fixity_checked',
      actor: { id: 'system', role: 'system' },
      caseId,
      subject: { type: 'evidence', id: photoId, sha256: sha256hex(photo) },
      details: { sha256Matched: true, sizeBytes: photo.length, blobs: 3 },
    });
    expect(photoEvent!.details.ms).toEqual(expect.any(Number));
    expect(await fixityEvents(intactId)).toMatchObject([{ action: 'evidence.fixity_checked', details: { sha256Matched: true, sizeBytes: intact.length, blobs: 1 } }]);
    expect(await fixityEvents(tamperedId)).toMatchObject([
      {
        action: 'evidence.fixity_failed',
        actor: { id: 'system', role: 'system' },
        caseId,
        subject: { type: 'evidence', id: tamperedId, sha256: sha },
        details: { problems: [{ blob: 'original', problem: 'altered', expectedSha256: sha, computedSha256: sha256hex(stored) }] },
      },
    ]);
    expect(await fixityEvents(missingId)).toMatchObject([
      { action: 'evidence.fixity_failed', details: { problems: [{ blob: 'original', problem: 'missing', expectedSha256: sha256hex(missing), computedSha256: null }] } },
    ]);

    const health = await ready();
    expect(health).toMatchObject({ status: 'degraded', database: 'ok', storage: 'ok', fixity: { status: 'failed', failures: 2 } });
    expect(Date.now() - Date.parse(health.fixity.lastCheckedAt)).toBeLessThan(60_000);

    // In the log at error level, with ids and hashes and no path of the store.
    const log = t.logText();
    const errors = log.split('\n').filter((line) => line.includes('fixity check failed'));
    expect(errors).toHaveLength(2);
    expect(errors.join('\n')).toContain(tamperedId);
    expect(errors.join('\n')).toContain(`now hashes to ${sha256hex(stored)}`);
    expect(errors.join('\n')).not.toContain(t.config.dataDir);
    expect(errors.join('\n')).not.toContain('capture.bin');
    for (const line of errors) expect(JSON.parse(line).level).toBeGreaterThanOrEqual(50);

    // Nothing is due again before its interval: a second run checks nothing and adds no event.
    expect(await runFixity()).toEqual({ ran: true, checked: 0, failed: 0 });
    expect(await fixityEvents(intactId)).toHaveLength(1);

    // The blob restored (from a backup): once the interval has passed, the check passes and the failure clears.
    await chmod(blobPath(sha), 0o644);
    await writeFile(blobPath(sha), tampered);
    await t.db.superuserQuery(`UPDATE evidence_items SET fixity_checked_at = now() - interval '2 hours' WHERE id = '${tamperedId}'`);
    expect(await runFixity()).toEqual({ ran: true, checked: 1, failed: 0 });
    expect((await fixityEvents(tamperedId)).map((e) => e.action)).toEqual(['evidence.fixity_failed', 'evidence.fixity_checked']);
    expect(await fixityEvents(intactId)).toHaveLength(1);
    expect(await ready()).toMatchObject({ status: 'degraded', fixity: { status: 'failed', failures: 1 } });
  });

  it('runs as the evidence.fixity job, once per id however often it is enqueued', async () => {
    const bytes = randomBytes(5000);
    const id = await submitBytes(bytes);
    const queue = t.app.get(JobQueue);
    const runId = fixityRunId(Date.now(), 60_000);
    await queue.enqueue(t.dataSource.manager, 'evidence.fixity', {}, runId);
    await queue.enqueue(t.dataSource.manager, 'evidence.fixity', {}, runId);
    queue.wake('evidence.fixity');
    const deadline = Date.now() + 20_000;
    while ((await fixityEvents(id)).length === 0 && Date.now() < deadline) await sleep(100);
    expect(await fixityEvents(id)).toMatchObject([{ action: 'evidence.fixity_checked' }]);
    const [jobs] = await t.db.superuserQuery(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'evidence.fixity' AND id = '${runId}'`);
    expect(jobs.n).toBe(1);
  });
});
