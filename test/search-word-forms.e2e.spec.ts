// Word forms in text search (issue 10, item 8), over HTTP on the real database: incidents and
// evidence are found by another case form of a word of their title, description, place or tags;
// and migration 1764000800000 gives rows stored before it the same folding.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MIGRATIONS } from '../libs/db/src/migrations/index.js';
import { WordForms1764000800000 } from '../libs/db/src/migrations/1764000800000-word-forms.js';
import { IncidentCodesInSearch1764002700000 } from '../libs/db/src/migrations/1764002700000-incident-codes-in-search.js';
import { searchText } from '../libs/search/src/index.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, createCase, submit } from './support/evidence.js';
import { onServer, withDatabase } from './support/postgres-server.js';

describe('text search finds other forms of Ukrainian and Russian words (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let caseId: string;
  const incidents: Record<string, string> = {};
  const evidence: Record<string, string> = {};

  const get = (path: string) => t.http.get(`/api/v1${path}`).set('Authorization', bearer(investigator));
  const incident = async (label: string, record: Record<string, unknown>) => {
    const res = await t.http
      .post(`/api/v1/cases/${caseId}/incidents`)
      .set('Authorization', bearer(investigator))
      .send({ type: 'air_drone_strike', startAt: '2026-11-20T01:40:00+02:00', ...record });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    incidents[label] = res.body.id;
  };
  const item = async (label: string, metadata: Record<string, unknown>, filename = 'photo.jpg') => {
    const res = await submit(t, investigator, caseId, randomBytes(64), { metadata, filename });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    evidence[label] = res.body.id;
  };
  const found = async (what: 'incidents' | 'evidence', q: string): Promise<string[]> => {
    const res = await get(`/cases/${caseId}/${what}?q=${encodeURIComponent(q)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const ids = what === 'incidents' ? incidents : evidence;
    const label = new Map(Object.entries(ids).map(([k, v]) => [v, k]));
    return res.body.items.map((i: { id: string }) => label.get(i.id) ?? i.id).sort();
  };

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator');
    caseId = await createCase(t, investigator, 'Word forms');
    await incident('saltivka', { title: 'Удар шахеда по Салтівці', description: 'Пошкоджено дах будинку та вікна лікарні', placeName: 'Харків, Салтівка' });
    await incident('kyiv', { title: 'Обстріл Києва', description: 'Ракети влучили в підстанцію на Оболоні', placeName: 'Київ' });
    await incident('russian', { title: 'Удар беспилотника по дому', description: 'Повреждены окна больницы', placeName: 'Харьков' });
    await incident('english', { title: 'Drone strike on a school', placeName: 'Mykolaiv', code: 'MYK/2026/7' });
    await item('school', { title: 'Зруйнована школа в Миколаєві', tags: ['шахеди'] });
    await item('hospital', { title: 'Пошкоджені лікарні', description: 'Уламки ракет біля Ірпеня' });
    await item('russian', { title: 'Последствия взрыва', description: 'Ребёнок не пострадал', tags: ['больница'] });
    await item('file', { title: 'untitled' }, 'Saltivka_Kharkiv-2026.jpg');
  });
  afterAll(async () => t?.close());

  it.each([
    ['шахед', ['saltivka']],
    ['Шахеди', ['saltivka']],
    ['Салтівка', ['saltivka']],
    ['САЛТІВКУ', ['saltivka']],
    ['Харків', ['saltivka']],
    ['харкові будинок', ['saltivka']],
    ['лікарня', ['saltivka']],
    ['даху', ['saltivka']],
    ['Київ', ['kyiv']],
    ['Киев', ['kyiv']],
    ['обстріли', ['kyiv']],
    ['ракета', ['kyiv']],
    ['Оболонь підстанції', ['kyiv']],
    ['удар', ['russian', 'saltivka']],
    ['ударом', ['russian', 'saltivka']],
    ['беспилотники', ['russian']],
    ['дом', ['russian']],
    ['больница окно', ['russian']],
    ['Харькове', ['russian']],
    ['drone', ['english']],
    ['SCHOOL', ['english']],
    ['Mykolaiv', ['english']],
    ['Одеса', []],
    ['шахта', []],
    ['Салтівка Київ', []],
    // By code: the one given, or INC-0002 (the second reported), as typed or in part.
    ['MYK/2026/7', ['english']],
    ['myk 2026', ['english']],
    ['INC-0002', ['kyiv']],
    ['inc-0003', ['russian']],
    ['0001', ['saltivka']],
    ['INC-0009', []],
  ])('incidents: q=%s', async (q, expected) => {
    expect(await found('incidents', q)).toEqual(expected);
  });

  it.each([
    ['школи', ['school']],
    ['Миколаїв', ['school']],
    ['шахедом', ['school']],
    ['лікарня', ['hospital']],
    ['ракета уламок', ['hospital']],
    ['Ірпінь', ['hospital']],
    ['взрыв', ['russian']],
    ['ребенка', ['russian']],
    ['больницы', ['russian']],
    ['saltivka', ['file']],
    ['kharkiv 2026', ['file']],
    ['Микола', []],
    ['школа лікарня', []],
  ])('evidence: q=%s', async (q, expected) => {
    expect(await found('evidence', q)).toEqual(expected);
  });

  it('finds a changed title by the forms of its new words only', async () => {
    const patched = await t.http
      .patch(`/api/v1/incidents/${incidents['english']}`)
      .set('Authorization', bearer(investigator))
      .send({ title: 'Атака дронів на Херсон', code: 'KHE-12', reason: 'translated' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(await found('incidents', 'Херсоні')).toEqual(['english']);
    expect(await found('incidents', 'KHE-12')).toEqual(['english']);
    expect(await found('incidents', 'MYK/2026/7')).toEqual([]);
    expect(await found('incidents', 'дрон')).toEqual(['english']);
    expect(await found('incidents', 'school')).toEqual([]);
  });
});

/** Runs (or undoes the last of) `migrations` on the database at `url`. */
async function migrate(url: string, migrations: typeof MIGRATIONS, undo = false): Promise<void> {
  const dataSource = new DataSource({ type: 'postgres', url, migrations, migrationsTransactionMode: 'each', logging: false, poolSize: 1 });
  await dataSource.initialize();
  try {
    if (undo) await dataSource.undoLastMigration({ transaction: 'each' });
    else await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}

describe('migration WordForms1764000800000 on rows stored before it', () => {
  const serverUrl = inject('pgServerUrl');
  const name = `custodia_t_${process.ppid}_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(serverUrl, name);
  let client: pg.Client;
  let caseId: string;
  const before = MIGRATIONS.filter((m) => m !== WordForms1764000800000);
  const lower = (...parts: (string | null)[]) => parts.filter(Boolean).join(' ').toLowerCase();
  const matches = async (table: 'incidents' | 'evidence_items', q: string): Promise<number> =>
    (await client.query(`SELECT count(*)::int AS n FROM ${table} WHERE case_id = $1 AND search @@ plainto_tsquery('simple', $2)`, [caseId, searchText(q)])).rows[0].n;

  beforeAll(async () => {
    await onServer(serverUrl, [`CREATE DATABASE ${name}`]);
    await migrate(url, before);
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const [user] = (await client.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('w@x.test', 'w', 'investigator', 'x') RETURNING id`)).rows;
    caseId = (await client.query(`INSERT INTO cases (title, created_by) VALUES ('before', $1) RETURNING id`, [user.id])).rows[0].id;
    // 2500 incidents (three batches) and 1200 evidence items, folded as before: lower case only.
    await client.query(
      `INSERT INTO incidents (case_id, code, record, type, start_at, verification_status, search_text, created_by)
       SELECT $1, 'W-' || n, jsonb_build_object('title', 'Удар по Салтівці ' || n, 'description', 'Пошкоджено будинки', 'placeName', 'Харків'),
              'air_drone_strike', now(), 'reported', lower('Удар по Салтівці ' || n || ' Пошкоджено будинки Харків'), $2
         FROM generate_series(1, 2500) AS n`,
      [caseId, user.id],
    );
    await client.query(
      `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, submitted_by, received_at, processing, title, description, tags, original_file_name, search_text)
       SELECT $1, md5(n::text) || md5(n::text || 'x'), 1, 'image/jpeg', $2, now(), 'done', 'Уламки ракети', 'Біля лікарні', ARRAY['Шахеди'],
              'IMG_' || n || '_Ірпінь.jpg', lower('Уламки ракети Біля лікарні Шахеди IMG ' || n || ' Ірпінь jpg')
         FROM generate_series(1, 1200) AS n`,
      [caseId, user.id],
    );
  });
  afterAll(async () => {
    await client?.end();
    await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  });

  it('stores every row as the application now folds it, so other forms find them', async () => {
    expect(await matches('incidents', 'Салтівка')).toBe(0);
    await migrate(url, MIGRATIONS);
    const incidentRows = (await client.query(`SELECT record, search_text FROM incidents WHERE case_id = $1`, [caseId])).rows;
    expect(incidentRows).toHaveLength(2500);
    for (const row of incidentRows) expect(row.search_text).toBe(searchText(row.record.title, row.record.description, row.record.placeName));
    const itemRows = (await client.query(`SELECT title, description, tags, original_file_name, search_text FROM evidence_items WHERE case_id = $1`, [caseId])).rows;
    expect(itemRows).toHaveLength(1200);
    for (const row of itemRows) {
      expect(row.search_text).toBe(searchText(row.title, row.description, ...row.tags, row.original_file_name.replace(/[._-]+/g, ' ')));
    }
    expect(await matches('incidents', 'Салтівка')).toBe(2500);
    expect(await matches('incidents', 'харкові будинок 17')).toBe(1);
    expect(await matches('evidence_items', 'ракета лікарня шахед Ірпеня')).toBe(1200);
    expect(await matches('evidence_items', 'img 1199')).toBe(1);
  });

  it('goes back to lower case only', async () => {
    await migrate(url, MIGRATIONS, true);
    const [row] = (await client.query(`SELECT record, search_text FROM incidents WHERE case_id = $1 AND code = 'W-7'`, [caseId])).rows;
    expect(row.search_text).toBe(lower(row.record.title, row.record.description, row.record.placeName));
    await migrate(url, MIGRATIONS);
    expect(await matches('incidents', 'Салтівку')).toBe(2500);
  });
});

describe('migration IncidentCodesInSearch1764002700000 on incidents stored before it', () => {
  const serverUrl = inject('pgServerUrl');
  const name = `custodia_t_${process.ppid}_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(serverUrl, name);
  let client: pg.Client;
  let caseId: string;
  const texts = async (): Promise<Map<string, string>> =>
    new Map((await client.query(`SELECT code, search_text FROM incidents WHERE case_id = $1`, [caseId])).rows.map((r: { code: string; search_text: string }) => [r.code, r.search_text]));
  const byCode = async (q: string): Promise<string[]> =>
    (await client.query(`SELECT code FROM incidents WHERE case_id = $1 AND search @@ plainto_tsquery('simple', $2) ORDER BY code`, [caseId, searchText(q)])).rows.map((r: { code: string }) => r.code);

  beforeAll(async () => {
    await onServer(serverUrl, [`CREATE DATABASE ${name}`]);
    await migrate(url, MIGRATIONS.filter((m) => m !== IncidentCodesInSearch1764002700000));
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const [user] = (await client.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('w@x.test', 'w', 'investigator', 'x') RETURNING id`)).rows;
    caseId = (await client.query(`INSERT INTO cases (title, created_by) VALUES ('before', $1) RETURNING id`, [user.id])).rows[0].id;
    // 1,500 incidents (two batches) stored as before: their text without the code.
    const rows = Array.from({ length: 1500 }, (_, n) => ({ code: n === 0 ? 'ХАР/2025/7' : `INC-${String(n).padStart(4, '0')}`, title: `Удар по Салтівці ${n}` }));
    await client.query(
      `INSERT INTO incidents (case_id, code, record, type, start_at, verification_status, search_text, created_by)
       SELECT $1, r.code, jsonb_build_object('title', r.title), 'air_drone_strike', now(), 'reported', r.text, $2
         FROM unnest($3::text[], $4::text[], $5::text[]) AS r(code, title, text)`,
      [caseId, user.id, rows.map((r) => r.code), rows.map((r) => r.title), rows.map((r) => searchText(r.title))],
    );
  });
  afterAll(async () => {
    await client?.end();
    await onServer(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  });

  it('adds each code to its incident\'s text, and takes it out again when undone', async () => {
    expect(await byCode('INC-1234')).toEqual([]);
    await migrate(url, MIGRATIONS);
    const migrated = await texts();
    expect(migrated.size).toBe(1500);
    for (const [code, text] of migrated) expect(text).toBe(searchText(code, `Удар по Салтівці ${code === 'ХАР/2025/7' ? 0 : Number(code.slice(4))}`));
    expect(await byCode('INC-1234')).toEqual(['INC-1234']);
    expect(await byCode('хар/2025/7')).toEqual(['ХАР/2025/7']);
    await migrate(url, MIGRATIONS, true);
    expect(await byCode('INC-1234')).toEqual([]);
    expect((await texts()).get('INC-0042')).toBe(searchText('Удар по Салтівці 42'));
  });
});
