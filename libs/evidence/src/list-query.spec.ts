import { describe, expect, it } from 'vitest';
import { encodeCursor } from '#custodia/search';
import { EvidenceListQuery } from './evidence.schema.js';
import { listQuerySql } from './list-query.js';

const CASE = '7d4f1c52-8a3e-4b6f-9c1d-2e5a7b9c0d13';
const sql = (query: Record<string, string>, onlySubmitter: string | null = null) => listQuerySql(EvidenceListQuery.parse(query), CASE, onlySubmitter, 10);

describe('the listing SQL', () => {
  // Browsing is prepared (one generic plan); a search must be planned for its values.
  it.each([
    ['a case page by page', {}],
    ['the next page', { cursor: encodeCursor('1764754290494948', '7d4f1c52-8a3e-4b6f-9c1d-2e5a7b9c0d14') }],
  ])('%s is no search', (_, query) => {
    expect(sql(query).searched).toBe(false);
    expect(sql(query, CASE).searched).toBe(false);
  });

  it.each([
    ['near', { near: '49.99,36.23', radiusM: '5000' }],
    ['bbox', { bbox: '36.1,49.9,36.4,50.1' }],
    ['from', { from: '2026-11-30T00:00:00Z' }],
    ['to', { to: '2026-11-30T00:00:00Z' }],
    ['flag', { flag: 'type_mismatch' }],
    ['mediaType', { mediaType: 'image/*' }],
    ['status', { status: 'verified' }],
    ['tag', { tag: 'Салтівка' }],
    ['incidentId', { incidentId: CASE }],
    ['q', { q: 'шахед' }],
    ['ids', { ids: CASE }],
    ['sha256', { sha256: '489608b5e784b41a4d464efe54c7a409d66b6aca4bc44dfd2dff93ac8b4b8ef0' }],
  ])('%s is a search', (_, query) => {
    expect(sql(query).searched).toBe(true);
  });

  it('looks hashes up in lower case, each once, as the column holds them', () => {
    const upper = '489608B5E784B41A4D464EFE54C7A409D66B6ACA4BC44DFD2DFF93AC8B4B8EF0';
    const { where, params } = sql({ sha256: `${upper},${upper.toLowerCase()}` });
    expect(where).toContain('e.sha256 = ANY ($2::text[])');
    expect(params[1]).toEqual([upper.toLowerCase()]);
  });

  it.each([
    ['not hex', 'zz'.repeat(32), 'must be SHA-256 hashes (64 hex digits) separated by commas'],
    ['too short', 'ab'.repeat(31), 'must be SHA-256 hashes (64 hex digits) separated by commas'],
    ['a trailing comma', `${'ab'.repeat(32)},`, 'must be SHA-256 hashes (64 hex digits) separated by commas'],
    ['201 of them', Array.from({ length: 201 }, () => 'ab'.repeat(32)).join(','), 'must name at most 200 hashes'],
  ])('refuses a sha256 list that is %s', (_, sha256, message) => {
    const parsed = EvidenceListQuery.safeParse({ sha256 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message)).toEqual([message]);
  });
});
