/**
 * Resumable upload figures (issue 11): a 1 GiB file over tus (8 MiB chunks) and made evidence,
 * against the same bytes through multipart in the same run (both clients in their own process:
 * curl, and tus-js-client); the cost of a resume; the bulk uploader's files per minute on many
 * small files. Multipart and tus-js-client as `custodia upload` runs it take turns in rounds (each
 * round in another order), optionally with tus-js-client as it comes (`stock`: its own file reader
 * and HTTP stack) and a lean tus client; the ratios are per round, with their medians. An upload
 * before the rounds, not counted, takes the disk's burst (see the warm-up below).
 * `turns` is the lean client with its chunks sent to two API instances in turn (a second API
 * process on the same database and data folder), as a load balancer's round robin sends them.
 * Usage: npm run bench:uploads [-- --mib 1024 --files 500 --rounds 3 --chunk-mib 8 --ways multipart,tus,stock,lean,turns]
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bulkUpload } from '#custodia/bulk-upload';
import { benchApp, fmt, median, now, startBuilt } from './support.js';

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '1024' }, files: { type: 'string', default: '500' }, rounds: { type: 'string', default: '3' }, ways: { type: 'string', default: 'multipart,tus,stock' }, 'chunk-mib': { type: 'string', default: '8' } },
});
const TOTAL = Number(values.mib) * 1024 * 1024;
const FILES = Number(values.files);
const ROUNDS = Number(values.rounds);
const CHUNK_MIB = values['chunk-mib'];
const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tus-client.js');

const run = (command: string, args: string[]): Promise<string> =>
  new Promise((resolve, reject) => execFile(command, args, { maxBuffer: 1 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));

async function finish(app: { url: string; token: string; caseId: string }, uploadUrl: string): Promise<void> {
  const res = await fetch(`${app.url}/api/v1/cases/${app.caseId}/evidence`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${app.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ uploadId: uploadUrl.split('/').pop(), title: 'tus bench' }),
  });
  if (res.status !== 201) throw new Error(`finishing answered ${res.status}: ${await res.text()}`);
}

const app = await benchApp('uploads', { CUSTODIA_MAX_UPLOAD_BYTES: String(TOTAL + 1) });
/** The second API instance of `turns`: the built API in a process of its own, started when first needed. */
let second: ReturnType<typeof startBuilt> | undefined;
const secondInstance = async () => {
  second ??= startBuilt(app, 'dist/apps/api/src/main.js', /Custodia is listening on (http:\/\/\S+)\/api\/v1/, {
    PORT: '0', CUSTODIA_WORK_QUEUE: 'false', CUSTODIA_SEQUENCER: 'false', CUSTODIA_MAX_UPLOAD_BYTES: String(TOTAL + 1),
  });
  return { url: (await second).ready[1]! };
};
try {
  const scratch = await mkdtemp(path.join(app.dataDir, 'bench-'));
  // Distinct bytes per file (else an item is a duplicate of an earlier one): an 8 MiB random
  // block repeated, with a different first byte per block and per file.
  const makeFile = async (name: string): Promise<string> => {
    const file = path.join(scratch, name);
    const handle = await open(file, 'w');
    const block = randomBytes(8 * 1024 * 1024);
    for (let written = 0; written < TOTAL; written += block.length) {
      await handle.write(block.subarray(0, Math.min(block.length, TOTAL - written)));
      block[0]! ^= 1;
    }
    await handle.sync();
    await handle.close();
    return file;
  };
  const endpoint = `${app.url}/api/v1/uploads`;
  const mib = TOTAL / 1024 / 1024;

  /** The server's CPU seconds (this process: the API; PostgreSQL is apart) during `work`. */
  const serverCpu = async <T>(work: () => Promise<T>): Promise<T & { serverCpu: number }> => {
    const before = process.cpuUsage();
    const result = await work();
    const used = process.cpuUsage(before);
    return { ...result, serverCpu: (used.user + used.system) / 1e6 };
  };
  /** Seconds to 201 of one way of sending a fresh file (and the client's CPU seconds, where known). */
  const ways = {
    multipart: async (file: string) => {
      const started = now();
      const status = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${app.token}`,
        '-F', 'metadata={"title":"multipart bench"};type=application/json', '-F', `file=@${file};type=application/octet-stream`,
        `${app.url}/api/v1/cases/${app.caseId}/evidence`]);
      if (status !== '201') throw new Error(`multipart answered ${status}`);
      return { seconds: (now() - started) / 1000, finishing: 0, clientCpu: NaN };
    },
    tus: async (file: string, mode = '') => {
      const started = now();
      const sent = JSON.parse(await run('node', [CLIENT, endpoint, app.token, file, CHUNK_MIB, '', '', mode])) as { url: string; cpuSeconds: number };
      const sentAt = now();
      await finish(app, sent.url);
      return { seconds: (now() - started) / 1000, finishing: (now() - sentAt) / 1000, clientCpu: sent.cpuSeconds };
    },
    stock: (file: string) => ways.tus(file, 'stock'),
    lean: (file: string) => ways.tus(file, 'lean'),
    turns: async (file: string) => ways.tus(file, `turns=${(await secondInstance()).url}`),
  };
  type Way = keyof typeof ways;
  const order = values.ways.split(',') as Way[];
  const results: Record<Way, { seconds: number; finishing: number; clientCpu: number; serverCpu: number }[]> = { multipart: [], tus: [], stock: [], lean: [], turns: [] };
  console.log(`${fmt(mib, 0)} MiB per upload, tus chunks of ${CHUNK_MIB} MiB, ${ROUNDS} rounds, PostgreSQL ${app.server}`);
  // The machine's disk takes the first gigabyte or two written after a quiet spell at about
  // twice its sustained rate, which only the first upload of a run would get (in the first round,
  // always multipart): one upload of the same size goes first, not counted.
  const warmup = await makeFile('warm-up.bin');
  const warm = await ways.multipart(warmup);
  await rm(warmup);
  console.log(`warm-up (multipart, not counted): ${fmt(mib / warm.seconds, 1)} MiB/s`);
  for (let round = 0; round < ROUNDS; round++) {
    // Each round in another order, so a drift of the machine does not favour one way.
    const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
    const line: string[] = [];
    for (const way of rotated) {
      const file = await makeFile(`${way}-${round}.bin`);
      const result = await serverCpu(() => ways[way](file));
      await rm(file);
      results[way].push(result);
      line.push(`${way} ${fmt(mib / result.seconds, 1)} MiB/s`);
    }
    const others = rotated.filter((way) => way !== 'multipart' && results[way][round]);
    const r = (way: Way) => fmt((results.multipart[round]?.seconds ?? NaN) / (results[way][round]?.seconds ?? NaN), 3);
    console.log(`round ${round + 1}: ${line.join(', ')}; ${others.map((way) => `${way} / multipart ${r(way)}`).join(', ')}`);
  }
  const rates = (way: Way) => results[way].map((x) => mib / x.seconds);
  const ratios = (way: Way) => results.multipart.map((m, i) => m.seconds / (results[way][i]?.seconds ?? NaN));
  const cpu = (way: Way, side: 'serverCpu' | 'clientCpu') => fmt(median(results[way].map((x) => x[side])), 2);
  const label: Record<Way, string> = {
    multipart: 'multipart (curl)',
    tus: `tus (tus-js-client as custodia upload runs it, ${CHUNK_MIB} MiB chunks)`,
    stock: `tus (tus-js-client's own reader and HTTP stack, ${CHUNK_MIB} MiB chunks)`,
    lean: `tus (lean client, ${CHUNK_MIB} MiB chunks)`,
    turns: `tus (lean client, ${CHUNK_MIB} MiB chunks to two API instances in turn; server CPU: the first's only)`,
  };
  for (const way of order) {
    const finishing = way === 'multipart' ? '' : ` and POST { uploadId }; making it evidence ${results[way].map((x) => fmt(x.finishing, 2)).join(', ')} s`;
    console.log(`${label[way]}${finishing}: median ${fmt(median(rates(way)), 1)} MiB/s to 201; CPU s per ${fmt(mib, 0)} MiB (medians) server ${cpu(way, 'serverCpu')}, client ${way === 'multipart' ? 'n/a' : cpu(way, 'clientCpu')}`);
    if (way !== 'multipart') console.log(`  ratio ${way} / multipart: ${ratios(way).map((x) => fmt(x, 3)).join(', ')} (median ${fmt(median(ratios(way)), 3)})`);
  }
  const tusS = median(results.tus.map((x) => x.seconds));

  // A resume: the first client stops half-way (as when the network drops), a second one asks
  // where the upload stands (HEAD) and sends the rest.
  const resumedFile = await makeFile('resumed.bin');
  let started = now();
  const half = JSON.parse(await run('node', [CLIENT, endpoint, app.token, resumedFile, CHUNK_MIB, String(TOTAL / 2)])) as { url: string; offset: number };
  const rest = JSON.parse(await run('node', [CLIENT, endpoint, app.token, resumedFile, CHUNK_MIB, '', half.url])) as { url: string };
  await finish(app, rest.url);
  const resumedS = (now() - started) / 1000;

  // On another instance, or after a restart, the running hash is gone: the file is read once
  // more when its last byte arrives. That read, alone:
  started = now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(resumedFile, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  hash.digest();
  const rereadS = (now() - started) / 1000;

  console.log(`interrupted half-way and resumed by a new client: ${fmt(resumedS)} s (${resumedS >= tusS ? '+' : ''}${fmt(resumedS - tusS)} s against the median of one client)`);
  console.log(`resumed on another instance or after a restart: + the file read again at the end, ${fmt(rereadS)} s for ${fmt(mib, 0)} MiB`);

  // The bulk uploader on many small files (phone photos, documents).
  const folder = path.join(scratch, 'dump');
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < FILES; i++) await writeFile(path.join(folder, `file-${i}.bin`), randomBytes(20_000 + ((i * 7919) % 80_000)));
  started = now();
  const summary = await bulkUpload({ baseUrl: app.url, token: app.token }, { caseId: app.caseId, paths: [folder], outDir: path.join(scratch, 'out'), parallel: 4 });
  const bulkS = (now() - started) / 1000;
  const stored = summary.files.filter((f) => f.status === 'stored').length;
  console.log(`custodia upload, ${FILES} files of 20-100 KB, 4 at a time: ${stored} stored in ${fmt(bulkS, 1)} s, ${fmt((stored / bulkS) * 60, 0)} files/min`);
} finally {
  if (second) (await second).child.kill('SIGTERM');
  await app.close();
}
