/**
 * Court package figures (issue 8): the export build rate and the `custodia verify` rate, each as a
 * ratio of reading and hashing the same bytes with `sha256sum` in the same run, and the server's
 * resident-memory growth while it builds a package of several GiB.
 * Usage: npm run bench:exports [-- --gib 5 --files 5]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs, promisify } from 'node:util';
import { benchApp, fmt, now } from './support.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: { gib: { type: 'string', default: '5' }, files: { type: 'string', default: '5' } } });
const MIB = 1024 * 1024;
const TOTAL = Math.round(Number(values.gib) * 1024) * MIB;
const FILES = Number(values.files);
const PER_FILE = Math.floor(TOTAL / FILES / MIB) * MIB;
const BLOCK = randomBytes(8 * MIB);

/** Distinct bytes per file (the first block is marked), so the store keeps every one. */
async function* fileBytes(n: number): AsyncGenerator<Buffer> {
  const first = Buffer.from(BLOCK);
  first.write(`file ${n} `, 0);
  for (let sent = 0; sent < PER_FILE; sent += BLOCK.length) yield (sent === 0 ? first : BLOCK).subarray(0, Math.min(BLOCK.length, PER_FILE - sent));
}

async function upload(url: string, token: string, caseId: string, n: number): Promise<{ sha256: string }> {
  const boundary = `----custodia-bench-${n}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="video-${n}.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;
  const { hostname, port } = new URL(url);
  const req = http.request({ host: hostname, port, method: 'POST', path: `/api/v1/cases/${caseId}/evidence`, headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` } });
  const answer = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 201 ? resolve(body) : reject(new Error(`upload answered ${res.statusCode}: ${body}`))));
    });
    req.on('error', reject);
  });
  await pipeline(Readable.from((async function* () { yield Buffer.from(head); yield* fileBytes(n); yield Buffer.from(`\r\n--${boundary}--\r\n`); })()), req);
  return JSON.parse(await answer);
}

async function api(url: string, token: string, method: string, route: string, body?: unknown): Promise<Record<string, any>> {
  const res = await fetch(`${url}/api/v1${route}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return res.json() as Promise<Record<string, any>>;
}

async function timed(command: string, args: string[]): Promise<number> {
  const started = now();
  await run(command, args, { maxBuffer: 64 * MIB });
  return (now() - started) / 1000;
}

const blobPath = (dataDir: string, store: string, sha256: string) => path.join(dataDir, store, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);

const app = await benchApp('exports', { CUSTODIA_MAX_UPLOAD_BYTES: String(PER_FILE + MIB) });
try {
  const blobs: string[] = [];
  for (let n = 0; n < FILES; n++) blobs.push(blobPath(app.dataDir, 'blobs', (await upload(app.url, app.token, app.caseId, n)).sha256));
  const payloadMiB = (PER_FILE * FILES) / MIB;
  console.log(`originals: ${FILES} x ${PER_FILE / MIB} MiB = ${payloadMiB} MiB; PostgreSQL ${app.server}; ${new Date().toISOString()}`);

  // The limit: read and hash the same originals with coreutils, in this run, on this disk.
  const limitSeconds = await timed('sha256sum', blobs);
  const limitRate = payloadMiB / limitSeconds;

  if (global.gc) global.gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const requested = now();
  const created = await api(app.url, app.token, 'POST', `/cases/${app.caseId}/exports`, { purpose: 'court', note: 'bench' });
  let view: Record<string, any>;
  for (;;) {
    view = await api(app.url, app.token, 'GET', `/exports/${created['id']}`);
    if (view['status'] === 'ready' || view['status'] === 'failed') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const wallSeconds = (now() - requested) / 1000;
  clearInterval(sampler);
  if (view['status'] !== 'ready') throw new Error(`export failed: ${view['error']}`);
  const buildSeconds = (Date.parse(view['finishedAt']) - Date.parse(view['startedAt'])) / 1000;
  const packageFile = blobPath(app.dataDir, 'exports', view['sha256']);
  const packageMiB = view['sizeBytes'] / MIB;
  const buildRate = payloadMiB / buildSeconds;

  const packageHashSeconds = await timed('sha256sum', [packageFile]);
  const verifySeconds = await timed(process.execPath, ['dist/apps/cli/src/main.js', 'verify', packageFile]);
  const unzipSeconds = await timed('unzip', ['-tq', packageFile]);
  const pythonZipSeconds = await timed('python3', ['-m', 'zipfile', '-t', packageFile]);

  console.log(`limit: sha256sum of the originals: ${fmt(limitRate, 1)} MiB/s (${fmt(limitSeconds, 1)} s)`);
  console.log(`export build (job start to ready: read, SHA-256 check, SHA-512, ZIP, SHA-256 of the package, fsync; report, proofs): ${fmt(buildRate, 1)} MiB/s (${fmt(buildSeconds, 1)} s; ${fmt(wallSeconds, 1)} s from the request)`);
  console.log(`build rate / sha256sum rate: ${fmt(buildRate / limitRate, 3)}`);
  console.log(`package: ${fmt(packageMiB, 1)} MiB; sha256sum of it: ${fmt(packageMiB / packageHashSeconds, 1)} MiB/s`);
  console.log(`custodia verify (own process: both manifests' SHA-256 and SHA-512 of every file, events, proofs, head): ${fmt(packageMiB / verifySeconds, 1)} MiB/s (${fmt(verifySeconds, 1)} s)`);
  console.log(`verify rate / sha256sum rate of the package: ${fmt(packageHashSeconds / verifySeconds, 3)}`);
  console.log(`server resident memory growth during the build: ${fmt((peak - baseline) / MIB, 1)} MiB (target < 64 MiB)`);
  console.log(`unzip -t (Info-ZIP): OK in ${fmt(unzipSeconds, 1)} s; python3 -m zipfile -t: OK in ${fmt(pythonZipSeconds, 1)} s (ZIP64 read by tools we did not write)`);
} finally {
  await app.close();
}
