/**
 * Evidence intake figures (issue 4), part 1: one 1 GiB file over HTTP into the archive, as a
 * ratio of the raw limit measured in the same run (the same bytes hashed with SHA-256 and
 * written with fsync, without HTTP or the database), and the server's resident-memory growth.
 * The client is curl in its own process, as a phone or a partner tool would be.
 * Usage: npm run bench:ingest [-- --mib 1024]
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchApp, fmt, now } from './support.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' } } });
const MIB = Number(values.mib);
const CHUNK = randomBytes(8 * 1024 * 1024);
const TOTAL = MIB * 1024 * 1024;

/** The same bytes for every run: an 8 MiB random block repeated. */
async function* source(): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < TOTAL; sent += CHUNK.length) yield CHUNK.subarray(0, Math.min(CHUNK.length, TOTAL - sent));
}

/** MiB/s of hashing and writing the bytes to the data folder's filesystem, then fsync. */
async function rawLimit(dir: string): Promise<number> {
  const target = path.join(dir, 'raw.bin');
  const file = await open(target, 'w', 0o600);
  const hash = createHash('sha256');
  const started = now();
  for await (const chunk of source()) {
    hash.update(chunk);
    await file.write(chunk);
  }
  await file.sync();
  await file.close();
  hash.digest();
  const seconds = (now() - started) / 1000;
  await rm(target);
  return TOTAL / 1024 / 1024 / seconds;
}

function curlUpload(url: string, token: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${token}`,
        '-F', 'metadata={"title":"1 GiB bench"};type=application/json', '-F', `file=@${file};type=application/octet-stream`, url],
      (error, stdout) => (error ? reject(error) : resolve(Number(stdout))),
    );
  });
}

const app = await benchApp('ingest', { CUSTODIA_MAX_UPLOAD_BYTES: String(TOTAL + 1) });
try {
  // The file curl sends is written and flushed first, so its write-back competes with neither run.
  const scratch = await mkdtemp(path.join(app.dataDir, 'raw-'));
  const upload = path.join(scratch, 'upload.bin');
  const file = await open(upload, 'w');
  for await (const chunk of source()) await file.write(chunk);
  await file.sync();
  await file.close();
  const raw = await rawLimit(scratch);

  if (global.gc) global.gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let peakExternal = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peak = Math.max(peak, usage.rss);
    peakExternal = Math.max(peakExternal, usage.arrayBuffers);
  }, 20);
  const started = now();
  const status = await curlUpload(`${app.url}/api/v1/cases/${app.caseId}/evidence`, app.token, upload);
  const seconds = (now() - started) / 1000;
  clearInterval(sampler);
  await rm(scratch, { recursive: true, force: true });
  if (status !== 201) throw new Error(`upload answered ${status}`);
  const rate = TOTAL / 1024 / 1024 / seconds;
  console.log(`file: ${MIB} MiB; PostgreSQL ${app.server}`);
  console.log(`raw limit (SHA-256 + write + fsync, no HTTP, no DB): ${fmt(raw, 1)} MiB/s`);
  console.log(`HTTP multipart ingest to 201 (hash, fsync, link, metadata, DB, receipt): ${fmt(rate, 1)} MiB/s`);
  console.log(`ratio to the raw limit: ${fmt(rate / raw, 3)} (target >= 0.8)`);
  console.log(`server resident memory growth during the upload: ${fmt((peak - baseline) / 1024 / 1024, 1)} MiB (target < 64 MiB)`);
  console.log(`peak of Node's array buffers (sockets, streams) during the upload: ${fmt(peakExternal / 1024 / 1024, 1)} MiB`);
} finally {
  await app.close();
}
