import { describe, expect, it } from 'vitest';
import { assertMay, ownerFilter, POLICY, PURPOSES, rolesFor, scopeOf } from './policy.js';
import { ROLES, type Actor, type Role } from './roles.js';

const actor = (role: Role, id = 'me'): Actor => ({ id, role, email: `${role}@x.test`, displayName: role, tokenId: 't' });

describe('the access policy (api.md, "Users, roles, cases")', () => {
  it('has a scope for every role and purpose', () => {
    for (const role of ROLES) for (const purpose of PURPOSES) expect(['any', 'member', 'own', 'none']).toContain(POLICY[role][purpose]);
  });

  it("shows victims' names to investigators only, never to administrators", () => {
    expect(rolesFor('casualty.names')).toEqual(['investigator']);
    expect(rolesFor('export.names')).toEqual(['investigator']);
  });

  it('lets documenters submit and report, and read only their own evidence, incidents and actions', () => {
    expect(scopeOf('documenter', 'evidence.submit')).toBe('member');
    expect(scopeOf('documenter', 'incident.report')).toBe('member');
    for (const purpose of ['evidence.read', 'evidence.content', 'incident.read', 'log.events'] as const) expect(scopeOf('documenter', purpose)).toBe('own');
    for (const purpose of ['casualty.read', 'damage.read', 'records.export', 'export.read', 'case.members.emails', 'evidence.annotate', 'incident.write'] as const) {
      expect(scopeOf('documenter', purpose)).toBe('none');
    }
  });

  it('lets auditors read the log, custody and verification of their cases, never content', () => {
    expect(PURPOSES.filter((purpose) => scopeOf('auditor', purpose) !== 'none').sort()).toEqual(
      ['case.members.read', 'case.read', 'evidence.custody', 'evidence.verify', 'export.read', 'log.events', 'remnant.custody', 'self', 'vocabularies.read'].sort(),
    );
    expect(scopeOf('auditor', 'remnant.read')).toBe('none');
  });

  it('lets documenters report a remnant they found and read their own; investigators all; auditors only its chain of custody', () => {
    expect([scopeOf('documenter', 'remnant.report'), scopeOf('documenter', 'remnant.read'), scopeOf('documenter', 'remnant.write'), scopeOf('documenter', 'remnant.custody')]).toEqual(['member', 'own', 'none', 'none']);
    for (const purpose of ['remnant.report', 'remnant.read', 'remnant.write', 'remnant.custody'] as const) expect(scopeOf('investigator', purpose)).toBe('member');
    expect(rolesFor('remnant.custody')).toEqual(['admin', 'investigator', 'auditor']);
  });

  it('lets every signed-in role read the vocabularies', () => {
    expect(rolesFor('vocabularies.read')).toEqual([...ROLES]);
  });

  it('lets every signed-in user manage their own account, and only administrators others\'', () => {
    for (const role of ROLES) expect(scopeOf(role, 'self')).toBe('any');
    expect(rolesFor('users.manage')).toEqual(['admin']);
  });

  it('shows members\' emails to administrators and investigators only', () => {
    expect(rolesFor('case.members.emails')).toEqual(['admin', 'investigator']);
  });

  it('refuses with 403 what a role never may, and with 404 what is someone else\'s in an own scope', () => {
    expect(() => assertMay(actor('auditor'), 'evidence.content')).toThrow(/never its content/);
    expect(() => assertMay(actor('documenter'), 'evidence.read', { ownerId: 'someone else', what: 'The evidence item' })).toThrow('The evidence item was not found');
    expect(() => assertMay(actor('documenter'), 'evidence.read', { ownerId: 'me' })).not.toThrow();
    expect(() => assertMay(actor('investigator'), 'evidence.read', { ownerId: 'someone else' })).not.toThrow();
    expect(ownerFilter(actor('documenter'), 'evidence.read')).toBe('me');
    expect(ownerFilter(actor('investigator'), 'evidence.read')).toBeNull();
  });
});
