/**
 * Read figures (issue 12): requests per second over HTTP with N concurrent clients (keep-alive)
 * for the bare `/health` route, an authenticated read that is no custody event (`GET
 * /cases/:id`), the case's evidence listing, and a read that is one (an item's record: `evidence.viewed`). Prints each rate and
 * the ratios the issue names: authenticated reads against `/health` (target >= 0.5) and logged
 * reads against unlogged ones (target >= 0.8). The clients run in their own process
 * (bench/read-load.ts), so that only the archive's work is on its main thread. Usage: npm run bench:reads [-- --clients 32 --seconds 10 --routes health,case,listing,record,unlogged]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CustodyLog } from '#custodia/custody';
import { benchApp, fmt, startWorkers } from './support.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '10' },
    /** Which reads to time (comma-separated), e.g. `case` alone under a profiler. */
    routes: { type: 'string', default: 'health,case,listing,record,unlogged' },
    /**
     * Where the custody log's sequencer runs: `api` (the default, one process as `npm start`
     * runs it) or `worker` (the API with CUSTODIA_SEQUENCER=false and a worker process that
     * integrates; in docker/ every process stands for election and one of them leads).
     */
    sequencer: { type: 'string', default: 'api' },
  },
});
const ROUTES = new Set(values.routes.split(','));
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);

/** Requests per second of `url` with CLIENTS clients for SECONDS seconds (after a 1 s warm-up), the clients in their own process. */
async function rate(route: string, url: string, token?: string): Promise<number> {
  if (!ROUTES.has(route)) return NaN;
  const child = spawn(process.execPath, [fileURLToPath(new URL('./read-load.js', import.meta.url)), url, String(CLIENTS), String(SECONDS)], {
    env: { ...process.env, READ_LOAD_TOKEN: token ?? '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the clients of ${url} exited with ${code}`);
  return (JSON.parse(out) as { perSecond: number }).perSecond;
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
  const health = await rate('health', `${app.url}/api/v1/health`);
  const caseRead = await rate('case', `${app.url}/api/v1/cases/${app.caseId}`, app.token);
  const listing = await rate('listing', `${app.url}/api/v1/cases/${app.caseId}/evidence?limit=10`, app.token);
  const record = await rate('record', `${app.url}/api/v1/evidence/${item.id}`, app.token);
  // The same route with its event left out (this bench only: the log's group commit answered at
  // once, nothing recorded), to tell the cost of logging a read from the cost of the read.
  const log = app.nest.get(CustodyLog);
  const recordEvent = log.record.bind(log);
  log.record = () => Promise.resolve();
  const unloggedItem = await rate('unlogged', `${app.url}/api/v1/evidence/${item.id}`, app.token);
  log.record = recordEvent;
  console.log(`${CLIENTS} clients, ${SECONDS} s each; PostgreSQL ${app.server}; the sequencer in ${inWorker ? 'a worker process' : 'the API process'}`);
  console.log(`GET /health: ${fmt(health, 0)} requests/s`);
  console.log(`GET /cases/:id (authenticated, no custody event): ${fmt(caseRead, 0)} requests/s`);
  console.log(`GET /cases/:id/evidence?limit=10 (authenticated, no custody event): ${fmt(listing, 0)} requests/s`);
  console.log(`GET /evidence/:id (authenticated, records evidence.viewed): ${fmt(record, 0)} requests/s`);
  console.log(`authenticated reads (GET /cases/:id) / health: ${fmt(caseRead / health, 3)} (target >= 0.5)`);
  console.log(`GET /evidence/:id with its event left out (bench only): ${fmt(unloggedItem, 0)} requests/s`);
  console.log(`logged reads (GET /evidence/:id) / unlogged reads (GET /cases/:id): ${fmt(record / caseRead, 3)} (target >= 0.8)`);
  console.log(`logged reads (GET /evidence/:id) / the same read with its event left out: ${fmt(record / unloggedItem, 3)}`);
} finally {
  for (const worker of workers) worker.kill('SIGTERM');
  await app.close();
}
