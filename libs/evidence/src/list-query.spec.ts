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
  ])('%s is a search', (_, query) => {
    expect(sql(query).searched).toBe(true);
  });
});
