import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReceipt, type PublishedKey } from '../libs/custody-core/src/index.js';
import { CustodyLog } from '../libs/custody/src/index.js';
import { expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, createCase, submit } from './support/evidence.js';

/**
 * Receipts with a batching sequencer (custody.md, "Rules"): a submission waits for its event's
 * integration at most CUSTODIA_RECEIPT_WAIT_MS, then answers `receipt: null` with `receiptUrl`,
 * where the receipt is fetched once integrated. Here no process runs the sequencer, so nothing
 * is integrated until the test says so.
 */
describe('receipts when the sequencer is behind', () => {
  let t: TestApp;
  let documenter: TestUser;
  let other: TestUser;
  let caseId: string;
  let keys: PublishedKey[];

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_SEQUENCER: 'false', CUSTODIA_RECEIPT_WAIT_MS: '150', CUSTODIA_TREE_HEAD_INTERVAL_MS: '3600000' });
    documenter = await t.user('documenter');
    other = await t.user('documenter');
    caseId = await createCase(t, t.admin, 'Receipts', [documenter, other]);
    keys = (await t.http.get('/api/v1/log/keys')).body;
  });
  afterAll(() => t?.close());

  it('answers receipt: null and receiptUrl past the wait; the URL answers 202 until integration, then the receipt, which verifies', async () => {
    const started = Date.now();
    const res = await submit(t, documenter, caseId, randomBytes(2000), { metadata: { title: 'late receipt' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(res.body.receipt).toBeNull();
    expect(res.body.receiptUrl).toBe(`/api/v1/evidence/${res.body.id}/receipt`);

    const pending = await t.http.get(res.body.receiptUrl).set('Authorization', bearer(documenter));
    expect(pending.status).toBe(202);
    expect(pending.headers['retry-after']).toBe('1');
    expect(pending.body).toEqual({ status: 'pending' });

    // The sequencer catches up (here: integration run by hand, as any process may).
    expect(await new CustodyLog(t.dataSource).integrateAll()).toBeGreaterThanOrEqual(2);
    const ready = await t.http.get(res.body.receiptUrl).set('Authorization', bearer(documenter));
    expect(ready.status).toBe(200);
    expect(ready.body.event).toMatchObject({ action: 'evidence.submitted', subject: { type: 'evidence', id: res.body.id, sha256: res.body.sha256 } });
    expect(verifyReceipt(ready.body, keys)).toEqual({ valid: true });
    // The same receipt again: the item's one submission event.
    const again = await t.http.get(res.body.receiptUrl).set('Authorization', bearer(documenter));
    expect(again.body.leafIndex).toBe(ready.body.leafIndex);
  });

  it("is the item's to read: another documenter of the case, an outsider and an unknown id get 404; no token 401", async () => {
    const res = await submit(t, documenter, caseId, randomBytes(1000));
    expect(res.status).toBe(201);
    expectProblem(await t.http.get(res.body.receiptUrl).set('Authorization', bearer(other)), 404);
    const outsider = await t.user('investigator');
    expectProblem(await t.http.get(res.body.receiptUrl).set('Authorization', bearer(outsider)), 404);
    expectProblem(await t.http.get(`/api/v1/evidence/${randomUUID()}/receipt`).set('Authorization', bearer(documenter)), 404);
    expectProblem(await t.http.get(`/api/v1/evidence/not-a-uuid/receipt`).set('Authorization', bearer(documenter)), 400);
    expectProblem(await t.http.get(res.body.receiptUrl), 401);
  });

  it('a repeated submission (same clientSubmissionId) answers with the receipt once it exists', async () => {
    const file = randomBytes(1500);
    const metadata = { clientSubmissionId: `phone-${randomUUID()}` };
    const first = await submit(t, documenter, caseId, file, { metadata });
    expect(first.body.receipt).toBeNull();
    const repeatEarly = await submit(t, documenter, caseId, file, { metadata });
    expect(repeatEarly.status).toBe(200);
    expect(repeatEarly.body.receipt).toBeNull();
    await new CustodyLog(t.dataSource).integrateAll();
    const repeat = await submit(t, documenter, caseId, file, { metadata });
    expect(repeat.status).toBe(200);
    expect(verifyReceipt(repeat.body.receipt, keys)).toEqual({ valid: true });
  });
});
