/**
 * Read figures (issue 12): requests per second over HTTP with N concurrent clients (keep-alive)
 * for the bare `/health` route, an authenticated read that is no custody event (`GET
 * /cases/:id`), the case's evidence listing, and a read that is one (an item's record: `evidence.viewed`). Prints each rate and
 * the ratios the issue names: authenticated reads against `/health` (target >= 0.5) and logged
 * reads against unlogged ones (target >= 0.8). The clients run in their own process
 * (bench/read-load.ts), so that only the archive's work is on its main thread. Rounds alternate
 * the routes' order and the ratios are medians of the rounds' own ratios, since the machine drifts
 * within minutes; beside each rate, the archive's CPU per request (its process, all threads).
 * Usage: npm run bench:reads [-- --clients 32 --seconds 10 --rounds 3 --routes health,case,listing,record,unlogged,photos,photo --photos 200]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { CustodyLog } from '#custodia/custody';
import { remakeNearDuplicatePairs } from '#custodia/evidence';
import { benchApp, fmt, median, startWorkers } from './support.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '10' },
    /** Rounds of every route, each round in another order; the figures are the medians of rounds (the machine drifts). */
    rounds: { type: 'string', default: '3' },
    /** Which reads to time (comma-separated), e.g. `case` alone under a profiler. */
    routes: { type: 'string', default: 'health,case,listing,record,unlogged,photos,photo' },
    /**
     * Where the custody log's sequencer runs: `api` (the default, one process as `npm start`
     * runs it) or `worker` (the API with CUSTODIA_SEQUENCER=false and a worker process that
     * integrates; in docker/ every process stands for election and one of them leads).
     */
    sequencer: { type: 'string', default: 'api' },
    /** Photos in the case of the `photos` and `photo` reads (each of their reads looks up its kept near-duplicate pairs). */
    photos: { type: 'string', default: '200' },
  },
});
type Route = 'health' | 'case' | 'listing' | 'record' | 'unlogged' | 'photos' | 'photo';
const ROUTES = new Set(values.routes.split(','));
const ROUNDS = Number(values.rounds);
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);

/**
 * Requests per second of `url` with CLIENTS clients for SECONDS seconds (after a 1 s warm-up), the
 * clients in their own process; and the CPU time this process (the archive, all its threads)
 * spent per request.
 */
async function rate(url: string, token?: string): Promise<{ perSecond: number; cpuUs: number }> {
  const cpu = process.cpuUsage();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./read-load.js', import.meta.url)), url, String(CLIENTS), String(SECONDS)], {
    env: { ...process.env, READ_LOAD_TOKEN: token ?? '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the clients of ${url} exited with ${code}`);
  const used = process.cpuUsage(cpu);
  const { perSecond, requests } = JSON.parse(out) as { perSecond: number; requests: number };
  return { perSecond, cpuUs: (used.user + used.system) / requests };
}

const PHOTOS = Number(values.photos);

/**
 * A case of PHOTOS items as photos are after their derivative job: each with a perceptual hash,
 * one in ten a near duplicate of the one before it (a few bits apart), so that every read of one
 * also looks for its near duplicates among the case's items. The items are random bytes whose
 * hashes are set as the job sets them (decoding 200 photos would only slow the setup).
 */
async function photoCase(app: Awaited<ReturnType<typeof benchApp>>): Promise<{ caseId: string; itemId: string }> {
  const headers = { Authorization: `Bearer ${app.token}` };
  const created = (await (await fetch(`${app.url}/api/v1/cases`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'photos' }) })).json()) as { id: string };
  const ids: string[] = [];
  // Eight uploads at a time.
  let next = 0;
  const send = async (i: number): Promise<string> => {
    const form = new FormData();
    form.set('metadata', JSON.stringify({ title: `photo ${i}` }));
    form.set('file', new Blob([randomBytes(2048)], { type: 'application/octet-stream' }), `photo-${i}.bin`);
    return ((await (await fetch(`${app.url}/api/v1/cases/${created.id}/evidence`, { method: 'POST', headers, body: form })).json()) as { id: string }).id;
  };
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < PHOTOS) {
      const i = next++;
      ids[i] = await send(i);
    }
  }));
  let hash = 0n;
  const hashes = ids.map((_, i) => (hash = i % 10 === 9 ? hash ^ 0b101n : BigInt.asIntN(64, BigInt(`0x${randomBytes(8).toString('hex')}`))).toString());
  await app.nest.get(DataSource).query(`UPDATE evidence_items e SET perceptual_hash = h.hash FROM unnest($1::uuid[], $2::bigint[]) AS h(id, hash) WHERE e.id = h.id`, [ids, hashes]);
  await remakeNearDuplicatePairs(app.nest.get(DataSource), created.id);
  // The last one: a near duplicate of the one before it.
  return { caseId: created.id, itemId: ids[ids.length - 1]! };
}

if (!['api', 'worker'].includes(values.sequencer)) throw new Error('--sequencer is api or worker');
const inWorker = values.sequencer === 'worker';
const app = await benchApp('reads', inWorker ? { CUSTODIA_SEQUENCER: 'false', CUSTODIA_WORK_QUEUE: 'false' } : {});
const workers = await startWorkers(app, inWorker ? 1 : 0);
try {
  const form = new FormData();
  form.set('metadata', JSON.stringify({ title: 'read bench' }));
  form.set('file', new Blob([randomBytes(4096)], { type: 'application/octet-stream' }), 'item.bin');
  const item = (await (await fetch(`${app.url}/api/v1/cases/${app.caseId}/evidence`, { method: 'POST', headers: { Authorization: `Bearer ${app.token}` }, body: form })).json()) as { id: string };
  // Made only when read: at --photos 20000 it takes a minute.
  const photos = ROUTES.has('photos') || ROUTES.has('photo') ? await photoCase(app) : { caseId: '', itemId: '' };
  const log = app.nest.get(CustodyLog);
  const recordEvent = log.record.bind(log);
  const routes = ([
    { name: 'health', label: 'GET /health', url: `${app.url}/api/v1/health` },
    { name: 'case', label: 'GET /cases/:id (authenticated, no custody event)', url: `${app.url}/api/v1/cases/${app.caseId}`, token: app.token },
    { name: 'listing', label: 'GET /cases/:id/evidence?limit=10 (authenticated, no custody event)', url: `${app.url}/api/v1/cases/${app.caseId}/evidence?limit=10`, token: app.token },
    { name: 'record', label: 'GET /evidence/:id (authenticated, records evidence.viewed)', url: `${app.url}/api/v1/evidence/${item.id}`, token: app.token },
    { name: 'unlogged', label: 'GET /evidence/:id with its event left out (bench only)', url: `${app.url}/api/v1/evidence/${item.id}`, token: app.token },
    { name: 'photos', label: `GET /cases/:id/evidence?limit=10 of a case of ${PHOTOS} photos (perceptual hashes, near duplicates)`, url: `${app.url}/api/v1/cases/${photos.caseId}/evidence?limit=10`, token: app.token },
    { name: 'photo', label: 'GET /evidence/:id of one of those photos (records evidence.viewed)', url: `${app.url}/api/v1/evidence/${photos.itemId}`, token: app.token },
  ] satisfies { name: Route; label: string; url: string; token?: string }[]).filter((route) => ROUTES.has(route.name));
  const ratios: { label: string; of: Route; to: Route; target?: string }[] = [
    { label: 'authenticated reads (GET /cases/:id) / health', of: 'case', to: 'health', target: '>= 0.5' },
    { label: 'logged reads (GET /evidence/:id) / unlogged reads (GET /cases/:id)', of: 'record', to: 'case', target: '>= 0.8' },
    { label: 'logged reads (GET /evidence/:id) / the same read with its event left out', of: 'record', to: 'unlogged' },
    { label: 'a logged read of a photo / the item read above', of: 'photo', to: 'record' },
    { label: 'a page of 10 photos / a page of one item', of: 'photos', to: 'listing' },
  ];
  const timed = ratios.filter((ratio) => ROUTES.has(ratio.of) && ROUTES.has(ratio.to));
  console.log(`${CLIENTS} clients, ${SECONDS} s per route and round, ${ROUNDS} rounds (each in another order); PostgreSQL ${app.server}; the sequencer in ${inWorker ? 'a worker process' : 'the API process'}`);
  const perRound: Record<string, number>[] = [];
  const cpuPerRound: Record<string, number>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rates: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    for (let i = 0; i < routes.length; i++) {
      const route = routes[(i + round) % routes.length]!;
      // The same route with its event left out (this bench only: the log's group commit answers at
      // once, nothing recorded), to tell the cost of logging a read from the cost of the read.
      if (route.name === 'unlogged') log.record = () => Promise.resolve();
      try {
        const measured = await rate(route.url, route.token);
        rates[route.name] = measured.perSecond;
        cpu[route.name] = measured.cpuUs;
      } finally {
        log.record = recordEvent;
      }
    }
    perRound.push(rates);
    cpuPerRound.push(cpu);
    const line = [...routes.map((r) => `${r.name} ${fmt(rates[r.name]!, 0)}/s (${fmt(cpu[r.name]!, 0)} us CPU)`), ...timed.map((r) => `${r.of}/${r.to} ${fmt(rates[r.of]! / rates[r.to]!, 3)}`)];
    console.log(`round ${round + 1}: ${line.join(', ')}`);
  }
  for (const route of routes) {
    const perSecond = median(perRound.map((r) => r[route.name]!));
    const cpuUs = median(cpuPerRound.map((r) => r[route.name]!));
    console.log(`${route.label}: ${fmt(perSecond, 0)} requests/s, the archive's CPU ${fmt(cpuUs, 0)} us per request (medians of rounds)`);
  }
  for (const ratio of timed) {
    const each = perRound.map((r) => r[ratio.of]! / r[ratio.to]!);
    console.log(`${ratio.label}: ${fmt(median(each), 3)} (median of rounds ${each.map((x) => fmt(x, 3)).join(', ')})${ratio.target ? ` (target ${ratio.target})` : ''}`);
  }
} finally {
  for (const worker of workers) worker.kill('SIGTERM');
  await app.close();
}
