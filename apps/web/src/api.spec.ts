import { afterEach, describe, expect, it, vi } from 'vitest';
import { firstItems } from './api.js';

/** A listing of `total` items served as the API pages it (at most `limit` a page, cursor = the next index). */
function listing(total: number): string[] {
  const asked: string[] = [];
  vi.stubGlobal('sessionStorage', { getItem: () => 'cst_token', setItem() {}, removeItem() {} });
  vi.stubGlobal('fetch', async (url: string) => {
    asked.push(url);
    const query = new URL(url, 'http://archive').searchParams;
    const from = Number(query.get('cursor') ?? 0);
    const to = Math.min(total, from + Number(query.get('limit')));
    const items = Array.from({ length: to - from }, (_, i) => ({ id: from + i }));
    return new Response(JSON.stringify({ items, nextCursor: to < total ? String(to) : null }), { headers: { 'Content-Type': 'application/json' } });
  });
  return asked;
}

afterEach(() => vi.unstubAllGlobals());

describe('firstItems', () => {
  it('follows the pages to the end of a listing shorter than the most asked for', async () => {
    const asked = listing(450);
    const found = await firstItems<{ id: number }>('/cases/c/evidence', 2000);
    expect(found.items.map((i) => i.id)).toEqual(Array.from({ length: 450 }, (_, i) => i));
    expect(found.more).toBe(false);
    expect(asked).toEqual(['/api/v1/cases/c/evidence?limit=200', '/api/v1/cases/c/evidence?limit=200&cursor=200', '/api/v1/cases/c/evidence?limit=200&cursor=400']);
  });

  it('stops at the most asked for, and says the listing holds more', async () => {
    listing(1000);
    const found = await firstItems<{ id: number }>('/cases/c/incidents?type=shelling', 450);
    expect(found.items).toHaveLength(450);
    expect(found.more).toBe(true);
  });

  it('says there is no more when the last page ends exactly at the most asked for', async () => {
    listing(400);
    expect(await firstItems('/x', 400)).toMatchObject({ more: false });
  });
});
