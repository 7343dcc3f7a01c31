/**
 * Evidence intake figures (issue 4), part 1: one 1 GiB file over HTTP into the archive, as a
 * ratio of the raw limit measured in the same run (the same bytes hashed with SHA-256 and
 * written with fsync, without HTTP or the database), and the process's resident-memory growth.
 * Usage: npm run bench:ingest [-- --mib 1024]
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
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

async function rawLimit(dir: string): Promise<number> {
  const file = await open(path.join(dir, 'raw.bin'), 'w', 0o600);
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
  await rm(path.join(dir, 'raw.bin'));
  return TOTAL / 1024 / 1024 / seconds;
}

const app = await benchApp('ingest', { CUSTODIA_MAX_UPLOAD_BYTES: String(TOTAL + 1) });
try {
  const scratch = await mkdtemp(path.join(app.dataDir, 'raw-'));
  const raw = await rawLimit(scratch);
  await rm(scratch, { recursive: true, force: true });

  const boundary = '----custodia-bench-' + randomBytes(8).toString('hex');
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"title":"1 GiB bench"}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="video.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  if (global.gc) global.gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = now();
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      `${app.url}/api/v1/cases/${app.caseId}/evidence`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${app.token}`,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': head.length + TOTAL + tail.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    (async () => {
      req.write(head);
      for await (const chunk of source()) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      req.end(tail);
    })().catch(reject);
  });
  const seconds = (now() - started) / 1000;
  clearInterval(sampler);
  if (status !== 201) throw new Error(`upload answered ${status}`);
  const http_ = TOTAL / 1024 / 1024 / seconds;
  console.log(`file: ${MIB} MiB; PostgreSQL ${app.server}; data folder on ${os.platform()} ${app.dataDir}`);
  console.log(`raw limit (SHA-256 + write + fsync, no HTTP, no DB): ${fmt(raw, 1)} MiB/s`);
  console.log(`HTTP multipart ingest to 201 (hash, fsync, rename, metadata, DB, receipt): ${fmt(http_, 1)} MiB/s`);
  console.log(`ratio to the raw limit: ${fmt(http_ / raw, 3)} (target >= 0.8)`);
  console.log(`resident memory growth during the upload: ${fmt((peak - baseline) / 1024 / 1024, 1)} MiB (target < 64 MiB; client and server share this process)`);
} finally {
  await app.close();
}
