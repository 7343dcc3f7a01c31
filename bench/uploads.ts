/**
 * Resumable upload figures (issue 11): a 1 GiB file over tus (8 MiB chunks) and made evidence,
 * against the same bytes through multipart in the same run (both clients in their own process:
 * curl, and tus-js-client); the cost of a resume; the bulk uploader's files per minute on many
 * small files. Usage: npm run bench:uploads [-- --mib 1024 --files 500]
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bulkUpload } from '#custodia/bulk-upload';
import { benchApp, fmt, now } from './support.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, files: { type: 'string', default: '500' } } });
const TOTAL = Number(values.mib) * 1024 * 1024;
const FILES = Number(values.files);
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
try {
  const scratch = await mkdtemp(path.join(app.dataDir, 'bench-'));
  // Distinct bytes per run (else the second item is a duplicate of the first): an 8 MiB random
  // block repeated, with a different first block per file.
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

  const multipartFile = await makeFile('multipart.bin');
  let started = now();
  const status = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${app.token}`,
    '-F', 'metadata={"title":"multipart bench"};type=application/json', '-F', `file=@${multipartFile};type=application/octet-stream`,
    `${app.url}/api/v1/cases/${app.caseId}/evidence`]);
  if (status !== '201') throw new Error(`multipart answered ${status}`);
  const multipartS = (now() - started) / 1000;

  const tusFile = await makeFile('tus.bin');
  started = now();
  const sent = JSON.parse(await run('node', [CLIENT, endpoint, app.token, tusFile, '8'])) as { url: string; seconds: number };
  const sentS = (now() - started) / 1000;
  await finish(app, sent.url);
  const tusS = (now() - started) / 1000;

  // A resume: the first client stops half-way (as when the network drops), a second one asks
  // where the upload stands (HEAD) and sends the rest.
  const resumedFile = await makeFile('resumed.bin');
  started = now();
  const half = JSON.parse(await run('node', [CLIENT, endpoint, app.token, resumedFile, '8', String(TOTAL / 2)])) as { url: string; offset: number };
  const rest = JSON.parse(await run('node', [CLIENT, endpoint, app.token, resumedFile, '8', '', half.url])) as { url: string };
  await finish(app, rest.url);
  const resumedS = (now() - started) / 1000;

  // On another instance, or after a restart, the running hash is gone: the file is read once
  // more when its last byte arrives. That read, alone:
  started = now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(resumedFile, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  hash.digest();
  const rereadS = (now() - started) / 1000;

  const mib = TOTAL / 1024 / 1024;
  console.log(`${fmt(mib, 0)} MiB, PostgreSQL ${app.server}`);
  console.log(`multipart (curl) to 201: ${fmt(multipartS)} s, ${fmt(mib / multipartS, 1)} MiB/s`);
  console.log(`tus (tus-js-client, 8 MiB chunks) and POST { uploadId } to 201: ${fmt(tusS)} s, ${fmt(mib / tusS, 1)} MiB/s`);
  console.log(`  of which: the client process ${fmt(sentS, 2)} s (its own timer: ${fmt(sent.seconds, 2)} s), making it evidence ${fmt(tusS - sentS, 2)} s`);
  console.log(`ratio tus / multipart: ${fmt(multipartS / tusS, 3)}`);
  console.log(`interrupted half-way and resumed by a new client: ${fmt(resumedS)} s (+${fmt(resumedS - tusS)} s against one client)`);
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
  await app.close();
}
