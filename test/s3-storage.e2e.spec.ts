// Evidence kept in an S3-compatible bucket (issue 12, item 5): the API started with CUSTODIA_S3_*
// pointing at a real S3 server (s3rver, in this process), then intake over multipart and over a
// finished resumable upload, downloads with Range, derivatives, verify (including a byte flipped
// in the bucket) and readiness, with no original left on local disk.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../apps/api/src/app.js';
import { ENTITIES } from '../apps/api/src/entities.js';
import { runCli } from '../apps/cli/src/cli.js';
import { loadConfig } from '../libs/config/src/index.js';
import { createDataSource } from '../libs/db/src/index.js';
import { StartupError } from '../libs/errors/src/index.js';
import { createLogger } from '../libs/logging/src/index.js';
import { contentKey } from '../libs/storage/src/index.js';
import { S3BlobStore } from '../libs/storage/src/s3-blob-store.js';
import { BLOB_STORE } from '../libs/evidence/src/index.js';
import { UploadsService } from '../libs/uploads/src/index.js';
import { expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { loopbackProxy, type LoopbackProxy } from './support/proxy.js';
import { bearer, binary, createCase, fixture, sha256base64, sha256hex, submit, waitProcessed } from './support/evidence.js';
import { startS3, type TestS3 } from './support/s3.js';

const MiB = 1024 * 1024;

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('evidence in an S3-compatible bucket (e2e, s3rver)', () => {
  let s3: TestS3;
  let t: TestApp;
  let documenter: TestUser;
  let investigator: TestUser;
  let caseId: string;

  const getBytes = (user: TestUser, url: string, headers: Record<string, string> = {}) =>
    t.http.get(`/api/v1${url}`).set('Authorization', bearer(user)).set(headers).buffer(true).parse(binary);
  const verify = (user: TestUser, id: string) => t.http.post(`/api/v1/evidence/${id}/verify`).set('Authorization', bearer(user));

  beforeAll(async () => {
    s3 = await startS3();
    t = await startTestApp({ ...s3.env, CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    documenter = await t.user('documenter', 'Dana Documenter');
    investigator = await t.user('investigator', 'Ines Investigator');
    caseId = await createCase(t, investigator, 'Stored in S3', [documenter]);
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  it('the app picked the S3 store and is ready (the bucket takes a probe write)', async () => {
    expect(t.app.get(BLOB_STORE)).toBeInstanceOf(S3BlobStore);
    const ready = await t.http.get('/api/v1/health/ready');
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    expect(ready.body).toMatchObject({ storage: 'ok' });
    // The secret is in no log line.
    expect(t.logText()).not.toContain(`"${s3.env['CUSTODIA_S3_SECRET_ACCESS_KEY']}"`);
  });

  it('a multipart submission lands in the bucket under its content key; content with Range, derivatives, verify', async () => {
    const bytes = fixture('exif-ne-offset.jpg');
    const sha = sha256hex(bytes);
    const res = await submit(t, documenter, caseId, bytes, { metadata: { sha256: sha, title: 'street' }, filename: 'street.jpg', contentType: 'image/jpeg' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.id as string;

    // In the bucket, byte-exact; nothing under the local blob folder (the staging area is
    // checked once the derivative job, which reads a local copy, is done).
    expect((await readFile(s3.objectFile(contentKey(sha)))).equals(bytes)).toBe(true);
    expect(await filesUnder(path.join(t.config.dataDir, 'blobs'))).toEqual([]);

    const whole = await getBytes(investigator, `/evidence/${id}/content`);
    expect(whole.status).toBe(200);
    expect((whole.body as Buffer).equals(bytes)).toBe(true);
    expect(whole.headers['repr-digest']).toBe(`sha-256=:${sha256base64(bytes)}:`);
    for (const [range, start, end] of [
      ['bytes=0-0', 0, 1],
      ['bytes=100-599', 100, 600],
      ['bytes=-10', bytes.length - 10, bytes.length],
    ] as const) {
      const part = await getBytes(investigator, `/evidence/${id}/content`, { Range: range });
      expect(part.status, range).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${start}-${end - 1}/${bytes.length}`);
      expect((part.body as Buffer).equals(bytes.subarray(start, end)), range).toBe(true);
    }
    const outside = await getBytes(investigator, `/evidence/${id}/content`, { Range: `bytes=${bytes.length}-` });
    expect(outside.status).toBe(416);

    // The worker read the original from the bucket (a temporary local copy) and stored the derivatives there too.
    const item = await waitProcessed(t, investigator, id);
    expect(item.processing).toBe('done');
    const thumbnail = await getBytes(investigator, `/evidence/${id}/thumbnail`);
    expect(thumbnail.status).toBe(200);
    const thumbnailKey = contentKey(createHash('sha256').update(thumbnail.body as Buffer).digest('hex'));
    expect((await readFile(s3.objectFile(thumbnailKey))).equals(thumbnail.body as Buffer)).toBe(true);
    // Nothing left staged: the upload went to the bucket, the job's local copy was removed.
    expect(await filesUnder(path.join(t.config.dataDir, 's3-staging', 'tmp'))).toEqual([]);

    const ok = await verify(investigator, id);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ intact: true, storedSha256: sha, computedSha256: sha });
  });

  it('a submission naming an incident the case does not hold is refused before its bytes go to the bucket', async () => {
    const bytes = randomBytes(3000);
    const res = await submit(t, documenter, caseId, bytes, { metadata: { incidentId: randomUUID() } });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'metadata.incidentId' })]);
    expect(existsSync(s3.objectFile(contentKey(sha256hex(bytes))))).toBe(false);
  });

  it('verify reports a byte flipped in the bucket', async () => {
    const bytes = randomBytes(5000);
    const sha = sha256hex(bytes);
    const res = await submit(t, investigator, caseId, bytes);
    expect(res.status).toBe(201);
    const object = s3.objectFile(contentKey(sha));
    const stored = await readFile(object);
    stored[2500] = stored[2500]! ^ 0x01;
    await writeFile(object, stored);
    const broken = await verify(investigator, res.body.id);
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({ intact: false, storedSha256: sha, computedSha256: sha256hex(stored) });
  });

  it('a finished resumable upload stays on local disk until it becomes evidence, then goes to the bucket', async () => {
    const url = await t.listen();
    const bytes = randomBytes(3 * MiB + 11);
    const sha = sha256hex(bytes);
    const location = await new Promise<string>((resolve, reject) => {
      const upload: tus.Upload = new tus.Upload(bytes, {
        endpoint: `${url}/api/v1/uploads`,
        headers: { Authorization: bearer(documenter) },
        chunkSize: MiB,
        retryDelays: [],
        metadata: { filename: 'long.bin', filetype: 'application/octet-stream', sha256: sha },
        onError: reject,
        onSuccess: () => resolve(upload.url!),
      });
      upload.start();
    });
    const uploadId = location.split('/').pop()!;
    const uploadFile = path.join(t.app.get(UploadsService).directory, uploadId);
    expect(existsSync(uploadFile)).toBe(true);
    expect(existsSync(s3.objectFile(contentKey(sha)))).toBe(false);

    const made = await t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(documenter)).send({ uploadId, sha256: sha });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect((await readFile(s3.objectFile(contentKey(sha)))).equals(bytes)).toBe(true);
    expect(existsSync(uploadFile)).toBe(false);
    expect(await filesUnder(path.join(t.config.dataDir, 'blobs'))).toEqual([]);
    const content = await getBytes(documenter, `/evidence/${made.body.id}/content`, { Range: `bytes=${2 * MiB}-${2 * MiB + 99}` });
    expect(content.status).toBe(206);
    expect((content.body as Buffer).equals(bytes.subarray(2 * MiB, 2 * MiB + 100))).toBe(true);
    expect((await verify(investigator, made.body.id)).body).toMatchObject({ intact: true, computedSha256: sha });
  });
  it('the same archive started without its S3 settings stops with a sentence, and storage check says what the store lacks', async () => {
    const config = loadConfig({ CUSTODIA_DATA_DIR: t.config.dataDir, DATABASE_URL: t.db.url, CUSTODIA_FIXITY_ENABLED: 'false' });
    const source = createDataSource(t.db.appUrl, ENTITIES, { poolSize: 2 });
    await source.initialize();
    try {
      const started = createApp(config, source, createLogger('silent'));
      await expect(started).rejects.toBeInstanceOf(StartupError);
      await expect(started).rejects.toThrow(`the folder ${t.config.dataDir}/blobs holds none of the archive's`);
    } finally {
      await source.destroy();
    }
    let out = '';
    const code = await runCli(['storage', 'check'], {
      env: { DATABASE_URL: t.db.url, CUSTODIA_DATA_DIR: t.config.dataDir, CUSTODIA_MASTER_KEY: 'cd'.repeat(32) },
      stdout: (text) => (out += text),
      stderr: () => undefined,
      readStdin: async () => '',
      logger: createLogger('silent'),
    });
    expect(code).toBe(1);
    expect(out).toMatch(/FOUND: \d+ blobs the records name are MISSING from the store/);
    // With its settings, it starts (the app of this file is one).
    expect((await t.http.get('/api/v1/health/ready')).status).toBe(200);
  });
});

describe('a submission to a bucket that is slow to take it (e2e, s3rver behind a held proxy)', () => {
  let s3: TestS3;
  let proxy: LoopbackProxy;
  let t: TestApp;

  beforeAll(async () => {
    s3 = await startS3();
    proxy = await loopbackProxy(s3.endpoint);
    t = await startTestApp({ ...s3.env, CUSTODIA_S3_ENDPOINT: proxy.url });
  });
  afterAll(async () => {
    proxy?.release();
    await t?.close();
    await proxy?.close();
    await s3?.close();
  });

  it('sends the bytes before its transaction: no connection or account row waits on the transfer; refused after it, nothing names the object', async () => {
    const documenter = await t.user('documenter', 'Dana Documenter');
    const investigator = await t.user('investigator', 'Ines Investigator');
    const caseId = await createCase(t, investigator, 'Slow bucket', [documenter]);
    const bytes = randomBytes(2 * MiB);
    const sha = sha256hex(bytes);

    proxy.hold();
    const before = proxy.received();
    const submission = Promise.resolve(submit(t, documenter, caseId, bytes, { metadata: { sha256: sha }, filename: 'slow.bin' }));
    // The push's first bytes (its headers: the SDK then waits for 100 Continue) reach the proxy.
    for (const deadline = Date.now() + 10_000; proxy.received() === before; await new Promise((resolve) => setTimeout(resolve, 20))) {
      if (Date.now() > deadline) throw new Error('the push to the bucket never began');
    }
    // While the bucket holds the transfer, no transaction of the archive's stays open. Polled: a
    // background one (the sequencer integrating the events above, a head being signed) is caught
    // between its statements now and then, and is gone at the next look; one that waited on the
    // transfer would be there at every look until the bucket is let go.
    const open = async () =>
      (await t.db.superuserQuery<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      ))[0]!.n;
    await expect.poll(open, { timeout: 3000, interval: 50 }).toBe(0);
    // ...and an administrator signing the documenter out everywhere (a seized phone) is done at
    // once, not once the file has travelled.
    const revoked = await t.http.delete(`/api/v1/users/${documenter.id}/tokens`).set('Authorization', bearer(t.admin)).timeout(5000);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    proxy.release();

    // The submission then finds its token revoked: no item, no event; the object it sent is in
    // the bucket, named by no item (what a crash between the push and the commit leaves too).
    const res = await submission;
    expectProblem(res, 401);
    expect(await t.db.superuserQuery(`SELECT 1 FROM evidence_items WHERE sha256 = $1`, [sha])).toEqual([]);
    expect((await readFile(s3.objectFile(contentKey(sha)))).equals(bytes)).toBe(true);

    // `custodia storage check` lists it from the bucket, and only it: the readiness probe's
    // object and the evidence of the other test are not blobs no item names.
    let out = '';
    const code = await runCli(['storage', 'check'], {
      env: { ...s3.env, DATABASE_URL: t.db.url, CUSTODIA_DATA_DIR: t.config.dataDir, CUSTODIA_MASTER_KEY: 'cd'.repeat(32) },
      stdout: (text) => (out += text),
      stderr: () => undefined,
      readStdin: async () => '',
      logger: createLogger('silent'),
    });
    expect(out).toContain(`Store s3://${s3.bucket} at ${s3.endpoint}: 1 blobs, 2.0 MiB`);
    expect(out).toContain(`UNREFERENCED ${contentKey(sha)} (2.0 MiB)`);
    expect(out).toMatch(/FOUND: 1 unreferenced blobs, kept/);
    expect(code).toBe(1);
  });

});
