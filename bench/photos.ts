/**
 * Evidence intake figures (issues 4 and 9): photos per second end to end (upload to
 * `processing: done`) for N twelve-megapixel JPEGs, against sharp + exifr + SHA-256 alone on
 * the same files in the same run. The machine's speed drifts by tens of percent from minute to
 * minute (a shared virtual machine), so the run alternates the two in rounds, each end-to-end
 * round between two limit rounds, and gives each round's ratio against the mean of the limits
 * around it, then their median. With `--workers N` the API works no job (CUSTODIA_WORK_QUEUE=false)
 * and N worker processes (apps/worker, built) make the derivatives, as compose runs them. The
 * uploads come from a process of their own (bench/upload-process.ts), as a camera would.
 * Usage: npm run bench:photos [-- --photos 200 --rounds 3 --concurrency 4 --workers 0]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { configureSharp, createDerivatives, extractEmbeddedMetadata } from '#custodia/media';
import { uploaderProcess } from './http-upload.js';
import { benchApp, cpuMeter, fmt, median, now, percentiles, pool, startWorkers, waitUntilProcessed } from './support.js';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    workers: { type: 'string', default: '0' },
  },
});
const WORKERS = Number(values.workers);
const PHOTOS = Number(values.photos);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const BASES = 8;

/** 12 MP camera-like JPEGs with EXIF; distinct bytes per photo and round (a marker after EOI, which decoders ignore). */
async function makePhotos(dir: string, round: number): Promise<string[]> {
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
    const file = path.join(dir, `photo-${round}-${i}.jpg`);
    await writeFile(file, Buffer.concat([bases[i % BASES]!, Buffer.from(`custodia-bench-${round}-${i}`)]));
    files.push(file);
  }
  return files;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-photos-'));
const concurrency = process.env['CUSTODIA_WORKER_CONCURRENCY'] ?? String(2 * os.availableParallelism());
const app = await benchApp('photos', { CUSTODIA_WORKER_CONCURRENCY: concurrency, ...(WORKERS > 0 ? { CUSTODIA_WORK_QUEUE: 'false' } : {}) });
const workers = await startWorkers(app, WORKERS, { CUSTODIA_WORKER_CONCURRENCY: concurrency });
/** The camera side, in a process of its own (its file reads and socket writes are not the archive's work). */
const uploader = await uploaderProcess(app);
try {
  configureSharp();
  /** A busy share of all CPUs (all processes), as a percentage. */
  const percent = (share: number | null): string => (share === null ? 'unknown' : `${fmt(100 * share, 0)} % of ${os.availableParallelism()}`);
  /** CPU time of all processes per photo, ms, from the busy share over `seconds`. */
  const perPhoto = (share: number | null, seconds: number, photos: number): string =>
    share === null ? '' : ` (${fmt((1000 * share * os.availableParallelism() * seconds) / photos, 0)} ms of CPU per photo)`;
  /** The limit: what the archive must do per photo, without HTTP, database or queue; photos/s. */
  const limit = async (files: string[]): Promise<number> => {
    const busy = cpuMeter();
    const started = now();
    await pool(files, CONCURRENCY, async (file) => {
      createHash('sha256').update(await readFile(file)).digest();
      await extractEmbeddedMetadata(file);
      await createDerivatives(file, { maxInputPixels: 100_000_000 });
    });
    const seconds = (now() - started) / 1000;
    const rate = files.length / seconds;
    const share = busy();
    console.log(`  limit ${fmt(rate)} photos/s, CPUs busy ${percent(share)}${perPhoto(share, seconds, files.length)}`);
    return rate;
  };
  /** Upload to `processing: done` through the API; photos/s. */
  let uploaded = 0;
  const endToEnd = async (files: string[]): Promise<number> => {
    const busy = cpuMeter();
    const started = now();
    /** Each upload's time to its 201 (the receipt waited for), ms. */
    const { answered, cpuSeconds } = await uploader.run(files, 'image/jpeg', CONCURRENCY);
    const { p50, p95 } = percentiles(answered);
    console.log(
      `  uploads answered within ${fmt((now() - started) / 1000, 2)} s; each to its 201 p50 ${fmt(p50, 0)} ms, p95 ${fmt(p95, 0)} ms; ` +
        `the uploader (the camera's side, on the same CPUs) ${fmt((1000 * cpuSeconds) / files.length, 1)} ms of CPU per photo`,
    );
    uploaded += files.length;
    await waitUntilProcessed(app, uploaded);
    const seconds = (now() - started) / 1000;
    const rate = files.length / seconds;
    const share = busy();
    console.log(`  end to end ${fmt(rate)} photos/s, CPUs busy ${percent(share)}${perPhoto(share, seconds, files.length)}`);
    return rate;
  };

  const where = WORKERS > 0 ? `derivatives by ${WORKERS} worker process(es)` : 'derivatives in the API process';
  console.log(`${PHOTOS} photos of 4000x3000 (12 MP) JPEG a round, ${ROUNDS} rounds, ${CONCURRENCY} at a time, ${where}; PostgreSQL ${app.server}`);
  const ratios: number[] = [];
  let before = await limit(await makePhotos(dir, 0));
  for (let round = 1; round <= ROUNDS; round++) {
    const photos = await makePhotos(dir, round);
    // The camera's side: the new photos reach the disk before the round, so their writeback
    // does not stall the archive's own fsyncs in it (the limit writes nothing).
    spawnSync('sync');
    const e2e = await endToEnd(photos);
    const after = await limit(await makePhotos(dir, 0));
    const ratio = e2e / ((before + after) / 2);
    ratios.push(ratio);
    console.log(`round ${round}: limit ${fmt(before)} then ${fmt(after)} photos/s, end to end ${fmt(e2e)} photos/s, ratio ${fmt(ratio, 3)}`);
    before = after;
  }
  console.log(`ratio (median of rounds): ${fmt(median(ratios), 3)}`);
} finally {
  for (const worker of workers) worker.kill('SIGTERM');
  uploader.close();
  await app.close();
  await rm(dir, { recursive: true, force: true });
}
