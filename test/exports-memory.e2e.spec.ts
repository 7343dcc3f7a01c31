import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, createCase, listen, sleep } from './support/evidence.js';
import { cliVerify, waitExport } from './support/exports.js';

const MIB = 1024 * 1024;
/** Past 2 GiB, where signed 32-bit offsets in a ZIP writer or reader would break. */
const SIZE = 2304 * MIB;
const BLOCK = randomBytes(8 * MIB);

async function* bytes(): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < SIZE; sent += BLOCK.length) yield BLOCK.subarray(0, Math.min(BLOCK.length, SIZE - sent));
}

/** Streams a multipart submission of SIZE bytes over real HTTP; memory stays flat on the client too. */
async function uploadLarge(port: number, user: TestUser, caseId: string): Promise<{ status: number; body: string }> {
  const boundary = `----custodia-large-${randomBytes(6).toString('hex')}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"title":"2.25 GiB video"}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="night.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: `/api/v1/cases/${caseId}/evidence`,
    headers: { Authorization: bearer(user), 'Content-Type': `multipart/form-data; boundary=${boundary}` },
  });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  await pipeline(
    Readable.from(
      (async function* () {
        yield Buffer.from(head);
        yield* bytes();
        yield Buffer.from(tail);
      })(),
    ),
    req,
  );
  return answered;
}

describe('a multi-gigabyte court package (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let caseId: string;

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_MAX_UPLOAD_BYTES: String(4 * 1024 * MIB) });
    investigator = await t.user('investigator');
    caseId = await createCase(t, investigator, 'large video');
  });
  afterAll(async () => t?.close());

  it('streams a 2.25 GiB export with the server resident memory growing by under 128 MiB (the file is 2,304), and the package verifies', async () => {
    const uploaded = await uploadLarge(await listen(t), investigator, caseId);
    expect(uploaded.status, uploaded.body).toBe(201);
    const expected = createHash('sha256');
    for await (const chunk of bytes()) expected.update(chunk);
    expect(JSON.parse(uploaded.body).sha256).toBe(expected.digest('hex'));

    await sleep(500);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
    let done: Record<string, any>;
    try {
      const created = await t.http.post(`/api/v1/cases/${caseId}/exports`).set('Authorization', bearer(investigator)).send({ purpose: 'court' });
      expect(created.status).toBe(202);
      done = await waitExport(t, investigator, created.body.id, 600_000);
    } finally {
      clearInterval(sampler);
    }
    const growthMiB = (peak - baseline) / MIB;
    console.log(`2.25 GiB export: resident memory ${(baseline / MIB).toFixed(0)} -> peak ${(peak / MIB).toFixed(0)} MiB (+${growthMiB.toFixed(1)} MiB)`);
    expect(done.status, done.error).toBe('ready');
    expect(done.sizeBytes).toBeGreaterThan(SIZE);
    // Node 20 stays under 64 MiB; Node 24's collector leaves more garbage between collections (67 MiB seen).
    expect(growthMiB).toBeLessThan(128);

    // The stored package is checked whole by our verifier (yauzl reads it past the 2 GiB mark).
    const stored = path.join(t.config.dataDir, 'exports', 'sha256', done.sha256.slice(0, 2), done.sha256.slice(2, 4), done.sha256);
    const verdict = await cliVerify([stored]);
    expect(verdict.code, verdict.out).toBe(0);
  }, 900_000);
});
