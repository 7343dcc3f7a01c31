import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  CUSTODY_ACTIONS,
  SYSTEM_ACTIONS,
  SYSTEM_ACTOR,
  custodyEventProblem,
  eventBytes,
  isSystemAction,
  type CustodyEvent,
} from './index.js';

// Every action custody.md names, in its order: the vocabulary must hold each of them.
const CUSTODY_MD_ACTIONS =
  'evidence.submitted evidence.metadata_extracted evidence.derivative_created evidence.viewed evidence.downloaded ' +
  'evidence.annotated evidence.linked evidence.status_changed evidence.verified evidence.exported evidence.redacted ' +
  'case.created case.member_added case.member_removed incident.created incident.updated casualty.recorded ' +
  'casualty.updated damage.recorded damage.updated export.created export.downloaded key.rotated user.created ' +
  'user.updated user.disabled user.password_set tokens.revoked evidence.unlinked evidence.fixity_checked evidence.fixity_failed';

const systemEvent = (overrides: Partial<CustodyEvent> = {}): CustodyEvent => ({
  index: 7,
  action: 'user.disabled',
  at: '2026-11-24T21:04:05.123Z',
  actor: { id: '6f1c2a9e-0c7b-4c55-9d0e-3f6c1b7a8e21', role: 'admin' },
  caseId: null,
  subject: { type: 'user', id: '0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d' },
  details: { sessionsEnded: 2, deviceTokensRevoked: 1 },
  reason: 'phone seized at a checkpoint',
  ...overrides,
});

describe('the custody vocabulary', () => {
  it('holds every action custody.md lists, then those added since, and nothing twice', () => {
    // Added since custody.md was written: munition remnants (issue 14), device tokens an administrator issues (issue 13),
    // a court package's seal (PACKAGE-FORMAT.md).
    expect([...CUSTODY_ACTIONS]).toEqual([...CUSTODY_MD_ACTIONS.split(' '), 'remnant.recorded', 'remnant.updated', 'remnant.transferred', 'tokens.created', 'export.sealed', 'key.compromised']);
  });

  it('has each action added since custody.md said in the README, for verifiers written from the documents', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf("**Actions added to custody.md's vocabulary**"));
    const added = CUSTODY_ACTIONS.filter((action) => !CUSTODY_MD_ACTIONS.split(' ').includes(action));
    expect(added.filter((action) => !section.slice(0, 2000).includes(`\`${action}\``))).toEqual([]);
  });

  it('names the system events: account administration and key rotation', () => {
    expect([...SYSTEM_ACTIONS].sort()).toEqual(
      ['key.compromised', 'key.rotated', 'tokens.created', 'tokens.revoked', 'user.created', 'user.disabled', 'user.password_set', 'user.updated'].sort(),
    );
    expect(isSystemAction('key.rotated')).toBe(true);
    expect(isSystemAction('case.created')).toBe(false);
  });
});

describe('system events (caseId: null)', () => {
  it('are well formed with a null caseId, by a person or by the system actor', () => {
    expect(custodyEventProblem(systemEvent())).toBeUndefined();
    const rotated = systemEvent({
      action: 'key.rotated',
      actor: { ...SYSTEM_ACTOR },
      subject: { type: 'key', id: 'ab'.repeat(32) },
      details: { previousKeyId: 'cd'.repeat(32), keyId: 'ab'.repeat(32) },
    });
    delete rotated.reason;
    expect(custodyEventProblem(rotated)).toBeUndefined();
    // null is kept in the RFC 8785 bytes, so the leaf commits to "no case".
    expect(eventBytes(rotated).toString()).toContain('"caseId":null');
  });

  it('refuse a case on a system action, and a missing case on any other', () => {
    expect(custodyEventProblem(systemEvent({ caseId: '7d8e2f8c-43a7-4bb1-9d34-3f2cf0e3c001' }))).toMatch(/system event/);
    const { caseId: _caseId, ...noCase } = systemEvent();
    expect(custodyEventProblem(noCase)).toMatch(/system event/);
    expect(custodyEventProblem(systemEvent({ action: 'case.created', subject: { type: 'case', id: 'c' } }))).toMatch(/caseId/);
    expect(
      custodyEventProblem(systemEvent({ action: 'case.created', caseId: 'c', subject: { type: 'case', id: 'c' } })),
    ).toBeUndefined();
  });

  it('refuse an actor named system with another role', () => {
    expect(custodyEventProblem(systemEvent({ actor: { id: 'system', role: 'admin' } }))).toMatch(/system actor/);
  });
});
