import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { createCase, submit } from './support/evidence.js';

/**
 * Changes that meet on the same rows at the same moment, from different sides: each is answered
 * as if it had come alone (PostgreSQL may end one of them for a deadlock; it is run again), never
 * with a 500, and the log records exactly what was answered.
 */
describe('changes that meet on the same rows (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let caseId: string;

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator');
    caseId = await createCase(t, investigator, 'concurrent changes');
  });
  afterAll(async () => t?.close());

  const patch = (path: string, body: object) => t.http.patch(`/api/v1${path}`).auth(investigator.token, { type: 'bearer' }).send(body);

  it("an item linked from its own side while its incident's evidence list changes: both answered 200, every time", async () => {
    const incident = await t.http
      .post(`/api/v1/cases/${caseId}/incidents`)
      .auth(investigator.token, { type: 'bearer' })
      .send({ title: 'Strike', type: 'air_drone_strike', startAt: '2026-11-20T01:10:00+02:00' });
    expect(incident.status).toBe(201);
    const item = await submit(t, investigator, caseId, randomBytes(256));
    expect(item.status).toBe(201);
    const statuses: number[] = [];
    for (let round = 0; round < 80; round++) {
      expect((await patch(`/evidence/${item.body.id}`, { incidentId: null })).status).toBe(200);
      const answers = await Promise.all([
        patch(`/incidents/${incident.body.id}`, { reason: 'list revised', title: `Strike ${round}`, evidence: round % 2 ? [{ evidenceId: item.body.id }] : [] }),
        sleep(round % 8).then(() => patch(`/evidence/${item.body.id}`, { incidentId: incident.body.id })),
      ]);
      statuses.push(...answers.map((answer) => answer.status));
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });
});
