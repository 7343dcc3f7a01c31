/**
 * Record search figures (issue 5): with 10^6 incidents and 10^6 evidence items in one case,
 * p50/p95 of a 5 km radius query, a city-sized bounding box with a time range and a full-text
 * query, each through the HTTP API (the first page, 50 items); and the load time of the rows.
 * Evidence (issue 9) carries a declared and/or an embedded position (some embedded ones stale,
 * far away) and a capture time that is an instant, a zone-less 26-hour window or none (then the
 * receipt time): searched by either position (`locationSource`) and by window overlap.
 * Usage: npm run build && node dist/bench/records.js [-- --incidents 1000000 --evidence 1000000 --queries 200]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { searchText } from '#custodia/search';
import { benchApp, fmt, now, percentiles, timedQueries } from './support.js';

const { values } = parseArgs({
  options: {
    incidents: { type: 'string', default: '1000000' },
    evidence: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '200' },
  },
});
const INCIDENTS = Number(values.incidents);
const EVIDENCE = Number(values.evidence);
const QUERIES = Number(values.queries);
const BATCH = 100_000;

// Place and word pools; search_text is stored as the application folds it (`searchText`: lower
// case, Ukrainian and Russian nouns stemmed). FORMS are other case forms of the same words, as
// a search may ask them.
const WORDS = ['удар', 'шахед', 'дрон', 'житловий', 'будинок', 'пожежа', 'школа', 'лікарня', 'підстанція', 'енергетика',
  'strike', 'drone', 'apartment', 'fire', 'school', 'hospital', 'substation', 'харків', 'київ', 'одеса', 'дніпро', 'запоріжжя',
  'суми', 'львів', 'полтава', 'миколаїв', 'херсон', 'салтівка', 'оболонь'];
const FORMS = ['ударом', 'шахеда', 'дронів', 'житлового', 'будинку', 'пожежі', 'школі', 'лікарні', 'підстанції', 'енергетики',
  'strike', 'drone', 'apartment', 'fire', 'school', 'hospital', 'substation', 'харкові', 'києва', 'одесі', 'дніпрі', 'запоріжжі',
  'сумах', 'львові', 'полтаві', 'миколаєва', 'херсоні', 'салтівці', 'оболоні'];
const STORED = WORDS.map((w) => searchText(w));

async function load(client: pg.Client, caseId: string, userId: string): Promise<{ incidentsS: number; evidenceS: number; indexS: number }> {
  const array = (list: string[]): string => `(ARRAY[${list.map((w) => `'${w}'`).join(',')}])`;
  const pick = (list: string[], i: string): string => `${array(list)}[${i}]`;
  const four = (list: string[]): string => ['i1', 'i2', 'i3', 'i4'].map((i) => pick(list, i)).join(` || ' ' || `);
  const index = `1 + floor(random() * ${WORDS.length})::int`;
  let started = now();
  for (let from = 0; from < INCIDENTS; from += BATCH) {
    const count = Math.min(BATCH, INCIDENTS - from);
    // 80 % over Ukraine, 20 % anywhere; four years of start times.
    await client.query(
      `INSERT INTO incidents (case_id, code, record, type, start_at, lat, lon, grade, verification_status, weapon_types, search_text, created_by)
       SELECT $1, 'B-' || n, jsonb_build_object('title', t, 'type', 'air_drone_strike', 'startAt', s, 'weapons', '[]'::jsonb,
                'attributions', '[]'::jsonb, 'relatedIncidents', '[]'::jsonb, 'evidence', '[]'::jsonb, 'verificationStatus', 'reported',
                'breakdown', jsonb_build_object('killed', null, 'injured', null)),
              'air_drone_strike', s, lat, lon, 'fair', 'reported', ARRAY['uav.owa.shahed_136'], st, $2
         FROM (SELECT n, ${four(WORDS)} AS t, ${four(STORED)} AS st, lat, lon, s
                 FROM (SELECT n,
                      CASE WHEN random() < 0.8 THEN 44 + random() * 8 ELSE degrees(asin(2 * random() - 1)) END AS lat,
                      CASE WHEN random() < 0.8 THEN 22 + random() * 18 ELSE random() * 360 - 180 END AS lon,
                      timestamptz '2022-02-24' + random() * interval '1460 days' AS s,
                      ${index} AS i1, ${index} AS i2, ${index} AS i3, ${index} AS i4
                 FROM generate_series($3::int, $4::int) AS n) r) g`,
      [caseId, userId, from, from + count - 1],
    );
  }
  const incidentsS = (now() - started) / 1000;
  started = now();
  for (let from = 0; from < EVIDENCE; from += BATCH) {
    const count = Math.min(BATCH, EVIDENCE - from);
    // 70 % declare a position and a capture time (within minutes of the file's; one in twenty
    // of those days away: a camera clock left wrong), 60 % embed a position (a tenth of those
    // stale, about 5 degrees away); 60 % of the file's capture times are instants, 30 % zone-less
    // windows, 10 % unknown.
    await client.query(
      `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, submitted_by, declared_lat, declared_lon,
         declared_captured_at, extracted_lat, extracted_lon, captured_at, captured_from, captured_to, title, processing)
       SELECT $1, md5(n::text || 'a') || md5(n::text || 'b'), 1000, 'image/jpeg', $2,
              CASE WHEN d < 0.7 THEN lat END, CASE WHEN d < 0.7 THEN lon END,
              CASE WHEN d < 0.035 THEN at + interval '9 days' WHEN d < 0.7 THEN at + random() * interval '10 minutes' END,
              CASE WHEN g < 0.6 THEN lat + CASE WHEN g < 0.06 THEN 5 ELSE 0.0003 END END,
              CASE WHEN g < 0.6 THEN lon + CASE WHEN g < 0.06 THEN 5 ELSE 0.0003 END END,
              CASE WHEN k < 0.6 THEN at END,
              CASE WHEN k < 0.6 THEN at WHEN k < 0.9 THEN at - interval '14 hours' END,
              CASE WHEN k < 0.6 THEN at WHEN k < 0.9 THEN at + interval '12 hours' END,
              'bench ' || n, 'done'
         FROM (SELECT n, random() AS d, random() AS g, random() AS k, 44 + random() * 8 AS lat, 22 + random() * 18 AS lon,
                      timestamptz '2022-02-24' + random() * interval '1460 days' AS at
                 FROM generate_series($3::int, $4::int) AS n) g`,
      [caseId, userId, from, from + count - 1],
    );
  }
  const evidenceS = (now() - started) / 1000;
  started = now();
  await client.query('VACUUM ANALYZE incidents');
  await client.query('VACUUM ANALYZE evidence_items');
  return { incidentsS, evidenceS, indexS: (now() - started) / 1000 };
}

async function timed(url: string, token: string, queries: string[]): Promise<{ p50: number; p95: number; max: number; meanItems: number }> {
  const { ms, items } = await timedQueries(url, token, queries);
  return { ...percentiles(ms), meanItems: items / queries.length };
}

const app = await benchApp('records');
const client = new pg.Client({ connectionString: app.databaseUrl });
await client.connect();
try {
  const [user] = (await client.query(`SELECT id FROM users LIMIT 1`)).rows;
  const loaded = await load(client, app.caseId, user.id);
  const base = `/api/v1/cases/${app.caseId}`;
  const centre = () => ({ lat: 46 + Math.random() * 4, lon: 24 + Math.random() * 14 });
  const many = (make: () => string): string[] => Array.from({ length: QUERIES }, make);
  // Warm the plan cache and the buffers a little, as a running server would be.
  await timed(app.url, app.token, many(() => `${base}/incidents?near=${centre().lat},${centre().lon}&radiusM=5000`).slice(0, 20));
  const results: [string, Awaited<ReturnType<typeof timed>>][] = [
    ['incidents, 5 km radius', await timed(app.url, app.token, many(() => { const c = centre(); return `${base}/incidents?near=${c.lat},${c.lon}&radiusM=5000`; }))],
    ['incidents, city bbox (0.3 x 0.2 deg) + one year', await timed(app.url, app.token, many(() => {
      const c = centre();
      return `${base}/incidents?bbox=${c.lon},${c.lat},${c.lon + 0.3},${c.lat + 0.2}&from=2024-01-01T00:00:00Z&to=2024-12-31T23:59:59Z`;
    }))],
    ['incidents, text (two words)', await timed(app.url, app.token, many(() => {
      const a = WORDS[Math.floor(Math.random() * WORDS.length)]!;
      const b = WORDS[Math.floor(Math.random() * WORDS.length)]!;
      return `${base}/incidents?q=${encodeURIComponent(`${a} ${b.toUpperCase()}`)}`;
    }))],
    ['incidents, text (two words in other case forms)', await timed(app.url, app.token, many(() => {
      const a = FORMS[Math.floor(Math.random() * FORMS.length)]!;
      const b = FORMS[Math.floor(Math.random() * FORMS.length)]!;
      return `${base}/incidents?q=${encodeURIComponent(`${a} ${b}`)}`;
    }))],
    ['evidence, 5 km radius (either position)', await timed(app.url, app.token, many(() => { const c = centre(); return `${base}/evidence?near=${c.lat},${c.lon}&radiusM=5000`; }))],
    ['evidence, 5 km radius (embedded position)', await timed(app.url, app.token, many(() => {
      const c = centre();
      return `${base}/evidence?near=${c.lat},${c.lon}&radiusM=5000&locationSource=embedded`;
    }))],
    ['evidence, one day (instants and overlapping 26 h windows)', await timed(app.url, app.token, many(() => {
      const day = new Date(Date.parse('2022-03-01T00:00:00Z') + Math.floor(Math.random() * 1400) * 86_400_000);
      return `${base}/evidence?from=${day.toISOString()}&to=${new Date(day.getTime() + 86_400_000 - 1).toISOString()}`;
    }))],
    ['evidence, city bbox (0.3 x 0.2 deg, either position) + one year', await timed(app.url, app.token, many(() => {
      const c = centre();
      return `${base}/evidence?bbox=${c.lon},${c.lat},${c.lon + 0.3},${c.lat + 0.2}&from=2024-01-01T00:00:00Z&to=2024-12-31T23:59:59Z`;
    }))],
  ];
  console.log(`PostgreSQL ${app.server}; ${INCIDENTS} incidents, ${EVIDENCE} evidence items, ${QUERIES} queries each`);
  console.log(`load: incidents ${fmt(loaded.incidentsS, 1)} s, evidence ${fmt(loaded.evidenceS, 1)} s, VACUUM ANALYZE ${fmt(loaded.indexS, 1)} s`);
  for (const [name, r] of results) {
    console.log(`${name}: p50 ${fmt(r.p50)} ms, p95 ${fmt(r.p95)} ms, max ${fmt(r.max)} ms, mean items ${fmt(r.meanItems, 1)}`);
  }
} finally {
  await client.end();
  await app.close();
}
