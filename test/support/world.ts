import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { ROLES, type Role } from '../../libs/auth/src/index.js';
import type { TestApp, TestUser } from './app.js';
import { createCase, submit } from './evidence.js';

/**
 * One case that holds one of everything, for tests that call every operation of the OpenAPI
 * document (test/role-matrix.e2e.spec.ts, test/hostile-input.e2e.spec.ts): a member and an
 * outsider of each role, an item, an unfinished upload, an incident with a casualty, damage and a
 * remnant, an export, spare users and tokens; minimal valid bodies and required queries by
 * operation, and paths filled with the world's ids.
 */
export interface World {
  members: Record<Role, TestUser>;
  outsiders: Record<Role, TestUser>;
  fixtures: Fixtures;
}

/** The ids of the world's things. */
export interface Fixtures {
  caseId: string;
  uploadId: string;
  evidenceId: string;
  incidentId: string;
  casualtyId: string;
  damageId: string;
  remnantId: string;
  exportId: string;
  spareUserId: string;
  spareTokenId: string;
  removableMember: string;
  newcomer: string;
  /** A user whose password no operation changes. */
  credentials: { email: string; password: string };
}

/** Minimal valid bodies; an operation not listed gets `{}` (then 400/422 for who may call it). */
export const BODIES: Record<string, (fixtures: Fixtures) => object> = {
  login: (fixtures) => fixtures.credentials,
  updateMe: () => ({ language: 'en' }),
  createApiToken: () => ({ name: 'matrix phone' }),
  issueUserToken: () => ({ name: 'matrix phone' }),
  createUser: () => ({ email: `matrix-${randomBytes(6).toString('hex')}@custodia.test`, password: 'a matrix password', displayName: 'Matrix', role: 'auditor' }),
  updateUser: () => ({ displayName: 'Spare user', reason: 'role matrix' }),
  setUserPassword: () => ({ password: 'another matrix password' }),
  createCase: () => ({ title: 'Opened by the role matrix' }),
  addCaseMember: (fixtures) => ({ userId: fixtures.newcomer }),
  createExport: () => ({ purpose: 'partner' }),
  reportIncident: () => ({ title: 'Reported by the role matrix', type: 'air_drone_strike', startAt: '2026-11-20T01:40:00+02:00' }),
  amendIncident: () => ({ title: 'Retitled by the role matrix', reason: 'role matrix' }),
  recordCasualty: () => ({ harmStatus: 'injured' }),
  amendCasualty: () => ({ harmStatus: 'killed', reason: 'role matrix' }),
  recordDamage: () => ({ damageLevel: 'minor' }),
  amendDamage: () => ({ damageLevel: 'severe', reason: 'role matrix' }),
  recordRemnant: () => ({ component: 'airframe', markings: [{ text: 'Ш136.02.1' }] }),
  amendRemnant: () => ({ condition: 'damaged', reason: 'role matrix' }),
  // Each later than the last, so every caller allowed to hand it over may.
  transferRemnant: () => ({ holder: 'Matrix laboratory', place: 'Store 1', from: new Date().toISOString() }),
  // A finished upload that does not exist: past the access check, refused as not found.
  submitEvidence: () => ({ uploadId: '0'.repeat(32) }),
  annotateEvidence: () => ({ title: 'Annotated by the role matrix' }),
};

/** Required query parameters, by operation. */
export const QUERIES: Record<string, string> = {
  listLogLeaves: 'start=0&end=1',
  listLogEntries: 'start=0&end=1',
  getInclusionProof: 'leafIndex=0',
  getConsistencyProof: 'first=1&second=1',
};

/** The path with its parameters filled from the fixtures: the thing a `{id}` names is read from the segment before it. */
export function fillPath(fixtures: Fixtures, path: string): string {
  return path.replace(/\/([^/]+)\/\{(\w+)\}/g, (_, segment: string, name: string) => {
    const value =
      name === 'caseId'
        ? fixtures.caseId
        : name === 'userId'
          ? fixtures.removableMember
          : name === 'name'
            ? 'incident_type'
            : ({
                evidence: fixtures.evidenceId,
                incidents: fixtures.incidentId,
                casualties: fixtures.casualtyId,
                damage: fixtures.damageId,
                remnants: fixtures.remnantId,
                exports: fixtures.exportId,
                users: fixtures.spareUserId,
                tokens: fixtures.spareTokenId,
                uploads: fixtures.uploadId,
                // The evidence fixture carries no files: past the access checks, 404.
                attachments: '0',
              } as Record<string, string>)[segment];
    if (!value) throw new Error(`No fixture for {${name}} after /${segment}/ in ${path}`);
    return `/${segment}/${value}`;
  });
}

export async function buildWorld(t: TestApp): Promise<World> {
  const members = {} as Record<Role, TestUser>;
  const outsiders = {} as Record<Role, TestUser>;
  const fixtures = {} as Fixtures;
  for (const role of ROLES) {
    members[role] = await t.user(role, `member ${role}`);
    outsiders[role] = await t.user(role, `outsider ${role}`);
  }
  const removable = await t.user('documenter', 'removable');
  fixtures.caseId = await createCase(t, members.investigator, 'The matrix case', [members.admin, members.documenter, members.auditor, removable]);
  fixtures.removableMember = removable.id;
  const newcomer = await t.user('auditor', 'newcomer');
  fixtures.newcomer = newcomer.id;
  fixtures.credentials = { email: newcomer.email, password: newcomer.password };
  const spare = await t.user('documenter', 'spare');
  fixtures.spareUserId = spare.id;
  fixtures.spareTokenId = (await t.http.post('/api/v1/auth/tokens').auth(spare.token, { type: 'bearer' }).send({ name: 'spare phone' })).body.id;

  const as = (user: TestUser) => ({ Authorization: `Bearer ${user.token}` });
  const item = await submit(t, members.documenter, fixtures.caseId, randomBytes(2048), { metadata: { title: 'A documenter item' } });
  expect(item.status).toBe(201);
  fixtures.evidenceId = item.body.id;
  // A resumable upload of the documenter member: everyone else gets 404 for it, whatever their role.
  const upload = await t.http.post('/api/v1/uploads').set(as(members.documenter)).set('Tus-Resumable', '1.0.0').set('Upload-Length', '10');
  expect(upload.status).toBe(201);
  fixtures.uploadId = upload.headers['location']!.split('/').pop()!;
  const incident = await t.http
    .post(`/api/v1/cases/${fixtures.caseId}/incidents`)
    .set(as(members.documenter))
    .send({ title: 'Reported by a documenter', type: 'air_drone_strike', startAt: '2026-11-20T01:40:00+02:00' });
  expect(incident.status).toBe(201);
  fixtures.incidentId = incident.body.id;
  const casualty = await t.http.post(`/api/v1/incidents/${fixtures.incidentId}/casualties`).set(as(members.investigator)).send({ harmStatus: 'killed' });
  expect(casualty.status).toBe(201);
  fixtures.casualtyId = casualty.body.id;
  const damage = await t.http.post(`/api/v1/incidents/${fixtures.incidentId}/damage`).set(as(members.investigator)).send({ damageLevel: 'severe' });
  expect(damage.status).toBe(201);
  fixtures.damageId = damage.body.id;
  const remnant = await t.http.post(`/api/v1/incidents/${fixtures.incidentId}/remnants`).set(as(members.investigator)).send({ component: 'airframe' });
  expect(remnant.status).toBe(201);
  fixtures.remnantId = remnant.body.id;
  const exported = await t.http.post(`/api/v1/cases/${fixtures.caseId}/exports`).set(as(members.investigator)).send({ purpose: 'court' });
  expect(exported.status).toBe(202);
  fixtures.exportId = exported.body.id;
  return { members, outsiders, fixtures };
}
