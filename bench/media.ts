/**
 * Evidence intake figures (issue 9): HEIC photos and videos per second end to end (upload to
 * `processing: done`: metadata, poster or decoded image, thumbnail, preview, perceptual hash).
 * The inputs are made here with Debian's heif-enc (libheif-examples) and ffmpeg, as phones make
 * them: 12 MP HEVC HEIC stills, and 1080p H.264 MP4 clips of 10 s. Each copy gets a distinct
 * trailing ISO BMFF `free` box, so every upload is a new item (readers skip `free` boxes).
 * Usage: npm run bench:media [-- --heic 40 --videos 20 --concurrency 2]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { benchApp, fmt, now, pool, upload, waitUntilProcessed } from './support.js';

const { values } = parseArgs({
  options: { heic: { type: 'string', default: '40' }, videos: { type: 'string', default: '20' }, concurrency: { type: 'string', default: '2' } },
});
const CONCURRENCY = Number(values.concurrency);

const has = (tool: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** `count` copies of `base`, each followed by its own ISO BMFF `free` box. */
async function copies(base: Buffer, count: number, dir: string, extension: string): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const payload = Buffer.from(`custodia-bench-${i}`);
    const box = Buffer.alloc(8);
    box.writeUInt32BE(8 + payload.length, 0);
    box.write('free', 4, 'latin1');
    const file = path.join(dir, `item-${i}${extension}`);
    await writeFile(file, Buffer.concat([base, box, payload]));
    files.push(file);
  }
  return files;
}

async function heicBase(dir: string): Promise<Buffer> {
  const noise = Buffer.alloc(400 * 300 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const png = path.join(dir, 'base.png');
  await sharp(noise, { raw: { width: 400, height: 300, channels: 3 } }).resize(4032, 3024, { kernel: 'cubic' }).png().toFile(png);
  const heic = path.join(dir, 'base.heic');
  execFileSync('heif-enc', ['-q', '50', '-o', heic, png], { stdio: 'ignore' });
  return readFile(heic);
}

async function videoBase(dir: string): Promise<Buffer> {
  const mp4 = path.join(dir, 'base.mp4');
  execFileSync(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=10', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
      '-metadata', 'creation_time=2026-11-20T01:10:00Z', '-movflags', '+faststart', mp4],
    { stdio: 'ignore' },
  );
  return readFile(mp4);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-media-'));
try {
  for (const [kind, tool, count, make, extension, mediaType] of [
    ['HEIC 12 MP (4032x3024, HEVC)', 'heif-enc', Number(values.heic), heicBase, '.heic', 'image/heic'],
    ['MP4 1080p H.264, 10 s', 'ffmpeg', Number(values.videos), videoBase, '.mp4', 'video/mp4'],
  ] as const) {
    if (!has(tool)) {
      console.log(`${kind}: skipped, ${tool} is not installed (Debian: apt-get install ${tool === 'ffmpeg' ? 'ffmpeg' : 'libheif-examples'})`);
      continue;
    }
    const base = await make(dir);
    const files = await copies(base, count, dir, extension);
    const app = await benchApp(`media_${extension.slice(1)}`);
    try {
      const started = now();
      await pool(files, CONCURRENCY, async (file) => {
        await upload(app, file, mediaType);
      });
      const uploaded = now();
      await waitUntilProcessed(app, files.length);
      const seconds = (now() - started) / 1000;
      console.log(
        `${kind}, ${fmt(base.length / 1024 / 1024, 1)} MiB each, ${count} items, ${CONCURRENCY} uploads at a time; PostgreSQL ${app.server}: ` +
          `${fmt(count / seconds)} items/s end to end (${fmt(seconds / count, 2)} s each; uploads took ${fmt((uploaded - started) / 1000, 1)} s of ${fmt(seconds, 1)} s)`,
      );
    } finally {
      await app.close();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
