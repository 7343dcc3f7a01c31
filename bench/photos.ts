/**
 * Evidence intake figures (issue 4), part 2: photos per second end to end (upload to
 * `processing: done`) for N twelve-megapixel JPEGs, against sharp + exifr + SHA-256 alone on
 * the same files in the same run. Usage: npm run bench:photos [-- --photos 200 --concurrency 4]
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { configureSharp, createDerivatives, extractEmbeddedMetadata } from '#custodia/media';
import { benchApp, fmt, now } from './support.js';

const { values } = parseArgs({ options: { photos: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '4' } } });
const PHOTOS = Number(values.photos);
const CONCURRENCY = Number(values.concurrency);
const BASES = 8;

/** 12 MP camera-like JPEGs with EXIF; distinct bytes per photo (a marker after EOI, which decoders ignore). */
async function makePhotos(dir: string): Promise<string[]> {
  const bases: Buffer[] = [];
  for (let b = 0; b < BASES; b++) {
    const noise = Buffer.alloc(400 * 300 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * (b + 7) * 2654435761) >>> 24;
    bases.push(
      await sharp(noise, { raw: { width: 400, height: 300, channels: 3 } })
        .resize(4000, 3000, { kernel: 'cubic' })
        .withExif({ IFD0: { Make: 'Bench', Model: `Camera ${b}`, DateTime: '2026:11:20 01:10:00' } })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
  }
  const files: string[] = [];
  for (let i = 0; i < PHOTOS; i++) {
    const file = path.join(dir, `photo-${i}.jpg`);
    await writeFile(file, Buffer.concat([bases[i % BASES]!, Buffer.from(`custodia-bench-${i}`)]));
    files.push(file);
  }
  return files;
}

/**
 * POSTs one file as multipart/form-data with node:http and a body assembled once: the client
 * runs in this process, on the same cores as the archive, so it does as little as it can
 * (fetch with FormData copies the file through web streams several times).
 */
async function upload(url: string, token: string, file: string): Promise<string> {
  const boundary = `custodia-${randomUUID()}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n` +
        `${JSON.stringify({ sourceType: 'field_capture' })}\r\n--${boundary}\r\n` +
        `Content-Disposition: form-data; name="file"; filename="${path.basename(file)}"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    await readFile(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 201) reject(new Error(`upload answered ${res.statusCode}: ${text}`));
        else resolve((JSON.parse(text) as { id: string }).id);
      });
    });
    req.end(body);
  });
}

async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-photos-'));
const app = await benchApp('photos', { CUSTODIA_WORKER_CONCURRENCY: process.env['CUSTODIA_WORKER_CONCURRENCY'] ?? String(2 * os.availableParallelism()) });
try {
  const files = await makePhotos(dir);
  configureSharp();

  // The limit: what the archive must do per photo, without HTTP, database or queue.
  let started = now();
  await pool(files, CONCURRENCY, async (file) => {
    createHash('sha256').update(await readFile(file)).digest();
    await extractEmbeddedMetadata(file);
    await createDerivatives(file, { maxInputPixels: 100_000_000 });
  });
  const limitRate = PHOTOS / ((now() - started) / 1000);

  started = now();
  const ids: string[] = [];
  await pool(files, CONCURRENCY, async (file) => {
    ids.push(await upload(`${app.url}/api/v1/cases/${app.caseId}/evidence`, app.token, file));
  });
  const uploadedAt = now();
  // The case's listing, a page at a time (reading each item would record an evidence.viewed each).
  for (;;) {
    const states: string[] = [];
    for (let cursor: string | null = null; ; ) {
      const res = await fetch(`${app.url}/api/v1/cases/${app.caseId}/evidence?limit=200${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: { Authorization: `Bearer ${app.token}` },
      });
      const page = (await res.json()) as { items: { processing: string }[]; nextCursor: string | null };
      states.push(...page.items.map((item) => item.processing));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    if (states.length !== ids.length) throw new Error(`the case lists ${states.length} items, ${ids.length} were uploaded`);
    if (states.includes('failed')) throw new Error('a derivative job failed');
    if (states.every((state) => state === 'done')) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = (now() - started) / 1000;
  const e2eRate = PHOTOS / seconds;
  console.log(`${PHOTOS} photos of 4000x3000 (12 MP) JPEG, ${CONCURRENCY} uploads at a time; PostgreSQL ${app.server}`);
  console.log(`sharp + exifr + SHA-256 alone on the same files: ${fmt(limitRate)} photos/s`);
  console.log(`end to end (upload to processing: done): ${fmt(e2eRate)} photos/s (uploads took ${fmt((uploadedAt - started) / 1000, 1)} s of ${fmt(seconds, 1)} s)`);
  console.log(`ratio: ${fmt(e2eRate / limitRate, 3)}`);
} finally {
  await app.close();
  await rm(dir, { recursive: true, force: true });
}
