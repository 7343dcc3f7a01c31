/**
 * Evidence intake figures (issue 4), part 2: photos per second end to end (upload to
 * `processing: done`) for N twelve-megapixel JPEGs, against sharp + exifr + SHA-256 alone on
 * the same files in the same run. Usage: npm run bench:photos [-- --photos 200 --concurrency 4]
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { configureSharp, createDerivatives, extractEmbeddedMetadata } from '#custodia/media';
import { benchApp, fmt, now, pool, upload, waitUntilProcessed } from './support.js';

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
    ids.push(await upload(app, file, 'image/jpeg'));
  });
  const uploadedAt = now();
  await waitUntilProcessed(app, ids.length);
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
