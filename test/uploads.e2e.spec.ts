import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import request from 'supertest';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fileOnDisk, TUS_FILE_OPTIONS } from '../libs/bulk-upload/src/index.js';
import { verifyReceipt } from '../libs/custody-core/src/index.js';
import { EvidenceService } from '../libs/evidence/src/index.js';
import { UploadsService } from '../libs/uploads/src/index.js';
import { expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { loopbackProxy } from './support/proxy.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const b64 = (text: string): string => Buffer.from(text).toString('base64');
/** The reason phrase of an answer's status line, as the client read it. */
const reasonOf = (res: request.Response): string | undefined => (res as unknown as { res: http.IncomingMessage }).res.statusMessage;

/**
 * Uploads `bytes` with the real tus-js-client; resolves with the upload's URL. With `fromFile`
 * the bytes are that file's, read and sent as `custodia upload` has tus-js-client do.
 */
function tusUpload(
  endpoint: string,
  token: string,
  bytes: Buffer,
  options: Partial<tus.UploadOptions> & { metadata?: Record<string, string>; fromFile?: string } = {},
): Promise<string> {
  const { fromFile, ...rest } = options;
  return new Promise((resolve, reject) => {
    const upload: tus.Upload = new tus.Upload(fromFile ? fileOnDisk(fromFile) : bytes, {
      ...(fromFile ? TUS_FILE_OPTIONS : {}),
      endpoint,
      headers: { Authorization: `Bearer ${token}` },
      chunkSize: 1 * MiB,
      retryDelays: [],
      metadata: { filename: 'strike.jpg', filetype: 'image/jpeg', sha256: sha256(bytes) },
      ...rest,
      onError: reject,
      onSuccess: () => resolve(upload.url!),
    });
    upload.start();
  });
}

describe('resumable uploads: tus 1.0.0 at /api/v1/uploads (e2e)', () => {
  let t: TestApp;
  let url: string;
  let documenter: TestUser;
  let other: TestUser;
  let auditor: TestUser;

  beforeAll(async () => {
    t = await startTestApp({
      CUSTODIA_MAX_UPLOAD_BYTES: String(256 * MiB),
      CUSTODIA_UPLOAD_MAX_OPEN: '3',
      CUSTODIA_UPLOAD_MAX_OPEN_BYTES: String(300 * MiB),
      CUSTODIA_UPLOAD_MAX_WRITING: '2',
    });
    url = await t.listen();
    documenter = await t.user('documenter');
    other = await t.user('documenter', 'someone else');
    auditor = await t.user('auditor');
  });
  afterAll(async () => t?.close());

  /** A new case with `user` as a member. */
  const caseOf = async (user: TestUser): Promise<string> => {
    const created = await t.http.post('/api/v1/cases').auth(t.admin.token, { type: 'bearer' }).send({ title: `uploads ${user.email}` });
    await t.http.post(`/api/v1/cases/${created.body.id}/members`).auth(t.admin.token, { type: 'bearer' }).send({ userId: user.id }).expect(201);
    return created.body.id as string;
  };
  const uploadsRow = async (id: string) => (await t.db.superuserQuery<Record<string, unknown>>(`SELECT * FROM uploads WHERE id = $1`, [id]))[0];
  const idOf = (location: string): string => location.split('/').pop()!;
  const create = (token: string, length: number, metadata = `filename ${b64('a.jpg')}`) =>
    t.http.post('/api/v1/uploads').auth(token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').set('Upload-Length', String(length)).set('Upload-Metadata', metadata);
  /** A PATCH of `body` at `offset`, to this instance or to `via` (another one). */
  const patch = (token: string, id: string, offset: number, body: Buffer, via: { patch(url: string): request.Test } = t.http) =>
    via
      .patch(`/api/v1/uploads/${id}`)
      .auth(token, { type: 'bearer' })
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Offset', String(offset))
      .set('Content-Type', 'application/offset+octet-stream')
      .send(body);
  const head = (token: string, id: string) => t.http.head(`/api/v1/uploads/${id}`).auth(token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0');

  it('advertises tus 1.0.0 with its extensions, the size limit and its checksums (sha1, which tus requires, sha256, sha512)', async () => {
    const res = await t.http.options('/api/v1/uploads').auth(documenter.token, { type: 'bearer' });
    expect(res.status).toBe(204);
    expect(res.headers['tus-version']).toBe('1.0.0');
    expect(res.headers['tus-extension']!.split(',').sort()).toEqual(['checksum', 'creation', 'creation-with-upload', 'expiration', 'termination']);
    expect(res.headers['tus-max-size']).toBe(String(256 * MiB));
    expect(res.headers['tus-checksum-algorithm']).toBe('sha1,sha256,sha512');
    // No cross-origin access.
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers OPTIONS (tus discovery) to anyone, with no token, as tus clients ask it; every other tus request still needs one', async () => {
    const discovered = [
      await t.http.options('/api/v1/uploads').set('Tus-Resumable', '1.0.0'),
      await t.http.options('/api/v1/uploads'),
      // Auditors never upload; the server's capabilities are no secret to them either.
      await t.http.options('/api/v1/uploads').auth(auditor.token, { type: 'bearer' }),
      // A token that is no longer valid does not stand in the way of discovery.
      await t.http.options('/api/v1/uploads').auth('not-a-token', { type: 'bearer' }),
    ];
    for (const res of discovered) {
      expect(res.status).toBe(204);
      expect(reasonOf(res)).toBe('No Content');
      expect(res.headers['tus-version']).toBe('1.0.0');
      expect(res.headers['tus-extension']!.split(',').sort()).toEqual(['checksum', 'creation', 'creation-with-upload', 'expiration', 'termination']);
      expect(res.headers['tus-max-size']).toBe(String(256 * MiB));
      expect(res.headers['tus-checksum-algorithm']).toBe('sha1,sha256,sha512');
    }
    // A browser's CORS preflight from another origin is answered too, but allowed nothing: the
    // app configures no cross-origin access, so no Access-Control-Allow-Origin (nor credentials).
    const preflight = await t.http
      .options('/api/v1/uploads')
      .set('Origin', 'https://elsewhere.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,tus-resumable,upload-length');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    // No upload is named or touched: POST, HEAD, PATCH and DELETE still answer 401 without a token,
    // also when an OPTIONS request names them in X-HTTP-Method-Override.
    const id = idOf((await create(documenter.token, 10)).headers['location']!);
    const anonymous = [
      await t.http.post('/api/v1/uploads').set('Tus-Resumable', '1.0.0').set('Upload-Length', '10'),
      await t.http.head(`/api/v1/uploads/${id}`).set('Tus-Resumable', '1.0.0'),
      await t.http.patch(`/api/v1/uploads/${id}`).set('Tus-Resumable', '1.0.0').set('Upload-Offset', '0').set('Content-Type', 'application/offset+octet-stream').send(Buffer.from('0123456789')),
      await t.http.delete(`/api/v1/uploads/${id}`).set('Tus-Resumable', '1.0.0'),
      await t.http.options('/api/v1/uploads').set('X-HTTP-Method-Override', 'POST').set('Tus-Resumable', '1.0.0').set('Upload-Length', '10'),
      await t.http.options(`/api/v1/uploads/${id}`).set('X-HTTP-Method-Override', 'DELETE').set('Tus-Resumable', '1.0.0'),
    ];
    expect(anonymous.map((res) => res.status)).toEqual([401, 401, 401, 401, 401, 401]);
    // The server answers OPTIONS on the collection only: on an upload, 404 to anyone.
    expectProblem(await t.http.options(`/api/v1/uploads/${id}`), 404);
    expectProblem(await t.http.options(`/api/v1/uploads/${id}`).auth(documenter.token, { type: 'bearer' }), 404);
    expect((await head(documenter.token, id)).headers['upload-offset']).toBe('0');
    await t.http.delete(`/api/v1/uploads/${id}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').expect(204);
  });

  it('answers with the reason phrases of its statuses (201 Created, 200 OK, 204 No Content, 404 Not Found), not empty ones', async () => {
    const created = await create(documenter.token, 10);
    expect([created.status, reasonOf(created)]).toEqual([201, 'Created']);
    const id = idOf(created.headers['location']!);
    const probed = await head(documenter.token, id);
    expect([probed.status, reasonOf(probed)]).toEqual([200, 'OK']);
    const sent = await patch(documenter.token, id, 0, Buffer.from('01234'));
    expect([sent.status, reasonOf(sent)]).toEqual([204, 'No Content']);
    const discovered = await t.http.options('/api/v1/uploads').auth(documenter.token, { type: 'bearer' });
    expect([discovered.status, reasonOf(discovered)]).toEqual([204, 'No Content']);
    const missing = await head(other.token, id);
    expect([missing.status, reasonOf(missing)]).toEqual([404, 'Not Found']);
    const terminated = await t.http.delete(`/api/v1/uploads/${id}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0');
    expect([terminated.status, reasonOf(terminated)]).toEqual([204, 'No Content']);
    const gone = await t.http.delete(`/api/v1/uploads/${id}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0');
    expectProblem(gone, 404);
    expect([reasonOf(gone), JSON.parse(gone.text).title]).toEqual(['Not Found', 'Not Found']);
  });

  it('refuses an upload over the size limit at creation (413) with Tus-Max-Size and the limit in its detail', async () => {
    const user = await t.user('documenter', 'over the limit');
    const refused = await create(user.token, 256 * MiB + 1);
    const problem = expectProblem(refused, 413);
    expect(refused.headers['tus-max-size']).toBe(String(256 * MiB));
    expect(refused.headers['tus-resumable']).toBe('1.0.0');
    expect(problem.detail).toContain(String(256 * MiB));
    expect(problem.detail).toContain(String(256 * MiB + 1));
    expect(JSON.parse(refused.text)).toMatchObject({ type: 'https://custodia.invalid/problems/content-too-large', title: 'Content Too Large' });
    expect(reasonOf(refused)).toBe('Payload Too Large');
    // The limit itself is taken.
    const atLimit = await create(user.token, 256 * MiB);
    expect(atLimit.status).toBe(201);
    expect(atLimit.headers['tus-max-size']).toBeUndefined();
    await t.http.delete(atLimit.headers['location']!).auth(user.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').expect(204);
  });

  it('names each tus refusal: a checksum mismatch (460) as tus does, "Checksum Mismatch", and the others by their statuses, never a generic "Error"', async () => {
    const user = await t.user('documenter', 'refusals named');
    const bytes = randomBytes(100);
    const wrong = `sha256 ${createHash('sha256').update('something else').digest('base64')}`;
    const id = idOf((await create(user.token, bytes.length)).headers['location']!);
    const named = (res: request.Response, status: number) => {
      expectProblem(res, status);
      const body = JSON.parse(res.text) as { type: string; title: string };
      return { type: body.type.replace('https://custodia.invalid/problems/', ''), title: body.title, reason: reasonOf(res) };
    };
    const mismatch = { type: 'checksum-mismatch', title: 'Checksum Mismatch', reason: 'Checksum Mismatch' };
    // A PATCH, and the first bytes sent with the creation (creation-with-upload).
    expect(named(await patch(user.token, id, 0, bytes).set('Upload-Checksum', wrong), 460)).toEqual(mismatch);
    const withUpload = await create(user.token, bytes.length).set('Content-Type', 'application/offset+octet-stream').set('Upload-Checksum', wrong).send(bytes);
    expect(named(withUpload, 460)).toEqual(mismatch);
    // That creation's upload, which its client cannot reach (no Location), is not kept.
    expect(withUpload.headers['location']).toBeUndefined();
    expect((await t.db.superuserQuery<{ id: string }>(`SELECT id FROM uploads WHERE owner_id = $1`, [user.id])).map((row) => row.id)).toEqual([id]);
    // Nor one whose first bytes are more than its Upload-Length: neither its record nor its file
    // (else each such refusal held one of its owner's places among open uploads for a day).
    const filesBefore = (await readdir(t.app.get(UploadsService).directory)).sort();
    for (let i = 0; i < 3; i++) {
      const longer = await create(user.token, 5).set('Content-Type', 'application/offset+octet-stream').send(randomBytes(10));
      expectProblem(longer, 413);
      expect(longer.headers['location']).toBeUndefined();
    }
    expect((await t.db.superuserQuery<{ id: string }>(`SELECT id FROM uploads WHERE owner_id = $1`, [user.id])).map((row) => row.id)).toEqual([id]);
    expect((await readdir(t.app.get(UploadsService).directory)).sort()).toEqual(filesBefore);
    expect(named(await patch(user.token, id, 5, bytes.subarray(5)), 409)).toEqual({ type: 'conflict', title: 'Conflict', reason: 'Conflict' });
    expect(named(await patch(user.token, id, 0, bytes).set('Content-Type', 'text/plain'), 415)).toEqual({ type: 'unsupported-media-type', title: 'Unsupported Media Type', reason: 'Unsupported Media Type' });
    expect(named(await patch(user.token, id, 0, Buffer.concat([bytes, Buffer.from('x')])), 413)).toMatchObject({ type: 'content-too-large', title: 'Content Too Large' });
    const precondition = { type: 'precondition-failed', title: 'Precondition Failed', reason: 'Precondition Failed' };
    // Without Tus-Resumable, whatever the method: 412 naming the version spoken (tus 1.0.0, "Tus-Resumable").
    for (const unversioned of [patch(user.token, id, 0, bytes), create(user.token, 10), head(user.token, id), t.http.delete(`/api/v1/uploads/${id}`).auth(user.token, { type: 'bearer' })]) {
      const res = await unversioned.unset('Tus-Resumable');
      if (res.request.method === 'HEAD') expect(res.status).toBe(412); // no body to name it
      else expect(named(res, 412)).toEqual(precondition);
      expect(res.headers['tus-version'], res.request.method).toBe('1.0.0');
    }
    expect((await head(user.token, id)).status).toBe(200);
    // Past its expiry (the record's expires_at), the upload is gone for HEAD as for PATCH.
    await t.db.superuserQuery(`UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expect(named(await patch(user.token, id, 0, bytes), 410)).toEqual({ type: 'gone', title: 'Gone', reason: 'Gone' });
    expect((await head(user.token, id)).status).toBe(410);
  });

  it('takes a file in chunks from tus-js-client and hashes it itself', async () => {
    const bytes = randomBytes(3 * MiB + 123);
    const location = await tusUpload(`${url}/api/v1/uploads`, documenter.token, bytes);
    expect(location).toMatch(/\/api\/v1\/uploads\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const row = await uploadsRow(idOf(location));
    expect(row).toMatchObject({ owner_id: documenter.id, size_bytes: String(bytes.length), file_name: 'strike.jpg', media_type: 'image/jpeg' });
    expect(row!['computed_sha256']).toBe(sha256(bytes));
    expect(row!['finished_at']).not.toBeNull();
    const state = await head(documenter.token, idOf(location));
    expect(state.headers['upload-offset']).toBe(String(bytes.length));
  });

  it("reads filename, filetype and sha256 of the metadata and ignores other clients' keys (Uppy's name, type, relativePath)", async () => {
    const bytes = randomBytes(64 * 1024 + 5);
    // What @uppy/tus sends for a file picked in a browser: its meta fields, then filetype and filename.
    // The device's hash in capitals (some platforms' hex formatters), as multipart takes it too: kept in lowercase.
    const metadata = { relativePath: 'null', name: 'звіт.jpg', type: 'image/jpeg', filetype: 'image/jpeg', filename: 'звіт.jpg', sha256: sha256(bytes).toUpperCase() };
    const location = await tusUpload(`${url}/api/v1/uploads`, documenter.token, bytes, { metadata });
    const row = await uploadsRow(idOf(location));
    expect(row).toMatchObject({ file_name: 'звіт.jpg', media_type: 'image/jpeg', declared_sha256: sha256(bytes), computed_sha256: sha256(bytes) });
    // HEAD gives the metadata back as the client specified it at creation (tus 1.0.0): every key, in its order.
    const sent = Object.entries(metadata).map(([key, value]) => `${key} ${b64(value)}`).join(',');
    expect((await head(documenter.token, idOf(location))).headers['upload-metadata']).toBe(sent);
    await t.http.delete(`/api/v1/uploads/${idOf(location)}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').expect(204);
  });

  it('takes X-HTTP-Method-Override as the method, as tus 1.0.0 requires (clients behind proxies that drop PATCH and DELETE)', async () => {
    // tus-js-client's own switch: every PATCH sent as POST with the header.
    const bytes = randomBytes(2 * MiB + 7);
    const location = await tusUpload(`${url}/api/v1/uploads`, documenter.token, bytes, { overridePatchMethod: true });
    const id = idOf(location);
    expect((await uploadsRow(id))!['computed_sha256']).toBe(sha256(bytes));
    const as = (method: string, upload: string) =>
      t.http.post(`/api/v1/uploads/${upload}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').set('X-HTTP-Method-Override', method);
    const offset = await as('HEAD', id);
    expect(offset.status).toBe(200);
    expect(offset.headers['upload-offset']).toBe(String(bytes.length));
    // The same rules as the real methods: someone else's upload is not there, whatever the method says.
    const foreign = await t.http
      .post(`/api/v1/uploads/${id}`)
      .auth(other.token, { type: 'bearer' })
      .set('Tus-Resumable', '1.0.0')
      .set('X-HTTP-Method-Override', 'DELETE');
    expectProblem(foreign, 404);
    expect(await uploadsRow(id)).toBeDefined();
    // A HEAD that came as a POST is refused with the whole problem the length announces: its
    // client reads a POST's answer (a body cut short left it waiting for the connection's end).
    for (const token of [null, 'cst_not-a-token']) {
      const refused = await fetch(`${url}/api/v1/uploads/${id}`, {
        method: 'POST',
        headers: { 'Tus-Resumable': '1.0.0', 'X-HTTP-Method-Override': 'HEAD', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        signal: AbortSignal.timeout(3000),
      });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const text = await refused.text();
      expect(Buffer.byteLength(text)).toBe(Number(refused.headers.get('content-length')));
      expect(JSON.parse(text)).toMatchObject({ status: 401 });
    }
    // Only tus's own methods; anything else is a 400 problem that changes nothing.
    for (const method of ['GET', 'PUT', 'TRACE', 'patch; DELETE', '']) {
      const refused = await as(method, id);
      expect(expectProblem(refused, 400).detail, method).toMatch(/X-HTTP-Method-Override/);
      expect(refused.headers['tus-resumable'], method).toBe('1.0.0');
    }
    const removed = await as('DELETE', id);
    expect(removed.status).toBe(204);
    expect(await uploadsRow(id)).toBeUndefined();
  });

  it.each(['its own reader and HTTP stack', 'the reader and HTTP stack of custodia upload'])('finishes a large upload through a connection cut every 20 MiB, resuming where the server says (tus-js-client with %s)', async (client) => {
    const user = await t.user('documenter', `on mobile data, ${client}`);
    const bytes = randomBytes(96 * MiB);
    const fromFile = client.includes('custodia') ? path.join(t.config.dataDir, `to-send-${randomBytes(4).toString('hex')}.bin`) : undefined;
    if (fromFile) await writeFile(fromFile, bytes);
    const proxy = await loopbackProxy(url, { cutEvery: 20 * MiB });
    try {
      const location = await tusUpload(`${proxy.url}/api/v1/uploads`, user.token, bytes, {
        chunkSize: 8 * MiB,
        retryDelays: Array.from({ length: 30 }, () => 50),
        fromFile,
      });
      expect(proxy.cuts()).toBeGreaterThanOrEqual(4);
      const row = await uploadsRow(idOf(location));
      expect(row!['computed_sha256']).toBe(sha256(bytes));
      expect((await stat(path.join(t.app.get(UploadsService).directory, idOf(location)))).size).toBe(bytes.length);
      // ...and becomes evidence with a receipt that verifies.
      const caseId = await caseOf(user);
      const made = await t.http.post(`/api/v1/cases/${caseId}/evidence`).auth(user.token, { type: 'bearer' }).send({ uploadId: idOf(location), sha256: sha256(bytes), title: 'Night strike, Saltivka' });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ sha256: sha256(bytes), sizeBytes: bytes.length, originalFileName: 'strike.jpg' });
      expect(made.body.receipt.event).toMatchObject({ action: 'evidence.submitted', subject: { sha256: sha256(bytes) } });
      const keys = (await t.http.get('/api/v1/log/keys')).body;
      expect(verifyReceipt(made.body.receipt, keys)).toEqual({ valid: true });
    } finally {
      await proxy.close();
    }
  });

  it('makes a finished upload evidence once, through the same intake as multipart, moving its bytes without a copy', async () => {
    const user = await t.user('documenter', 'finisher');
    const caseId = await caseOf(user);
    const bytes = randomBytes(2 * MiB + 7);
    const location = await tusUpload(`${url}/api/v1/uploads`, user.token, bytes);
    const id = idOf(location);
    const uploadFile = path.join(t.app.get(UploadsService).directory, id);
    const inode = (await stat(uploadFile)).ino;
    const submit = (who: TestUser, body: Record<string, unknown>) => t.http.post(`/api/v1/cases/${caseId}/evidence`).auth(who.token, { type: 'bearer' }).send(body);
    const counts = async () =>
      (await t.db.superuserQuery<{ items: number; events: number }>(`SELECT (SELECT count(*)::int FROM evidence_items) AS items, (SELECT count(*)::int FROM custody_events) AS events`))[0];
    const before = await counts();
    // Refusals store nothing: someone else's upload, other bytes than the body's hash, unknown fields.
    expectProblem(await submit(other, { uploadId: id }), 404);
    expectProblem(await submit(user, { uploadId: id, sha256: sha256(Buffer.from('other bytes')) }), 422);
    expect(expectProblem(await submit(user, { uploadId: id, surprise: 1 }), 400).errors).toEqual([{ field: 'surprise', message: 'is not a known field' }]);
    expectProblem(await submit(user, { uploadId: 'nope' }), 400);
    expectProblem(await submit(user, { uploadId: '0'.repeat(32) }), 404);
    expectProblem(await submit(user, { uploadId: randomUUID() }), 404);
    expectProblem(await submit(user, { uploadId: randomUUID().toUpperCase() }), 400);
    expect(await counts()).toEqual(before);
    const made = await submit(user, { uploadId: id, sha256: sha256(bytes), capturedAt: '2026-11-20T01:10:00+02:00', tags: ['tus'] });
    expect(made.status).toBe(201);
    expect(made.body.receipt.event.details).toMatchObject({ sizeBytes: bytes.length, clientSha256Matched: true });
    // The blob is the upload's file itself (a hard link), and the upload is gone from /uploads.
    const stored = path.join(t.config.dataDir, 'blobs', 'sha256', sha256(bytes).slice(0, 2), sha256(bytes).slice(2, 4), sha256(bytes));
    expect((await stat(stored)).ino).toBe(inode);
    await expect(stat(uploadFile)).rejects.toThrow(/ENOENT/);
    expect((await head(user.token, id)).status).toBe(404);
    expect((await uploadsRow(id))!['evidence_id']).toBe(made.body.id);
    // A process that died between the commit and the removal leaves the file: the sweep removes it, the blob stays.
    await writeFile(uploadFile, bytes);
    expect(await t.app.get(UploadsService).sweepExpired()).toBeGreaterThanOrEqual(1);
    await expect(stat(uploadFile)).rejects.toThrow(/ENOENT/);
    expect((await stat(stored)).size).toBe(bytes.length);
    // Once only.
    expectProblem(await submit(user, { uploadId: id }), 409);
    const content = await t.http.get(`/api/v1/evidence/${made.body.id}/content`).auth(user.token, { type: 'bearer' }).buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
    expect(sha256(content.body as Buffer)).toBe(sha256(bytes));
  });

  it('answers a finish sent again with its clientSubmissionId as a repeat (200, the first item), as multipart does; without it or with another key 409', async () => {
    const user = await t.user('documenter', 'finish-again');
    const [caseId, otherCase] = [await caseOf(user), await caseOf(user)];
    const bytes = randomBytes(64 * 1024 + 3);
    const id = idOf(await tusUpload(`${url}/api/v1/uploads`, user.token, bytes));
    const submit = (to: string, body: Record<string, unknown>) => t.http.post(`/api/v1/cases/${to}/evidence`).auth(user.token, { type: 'bearer' }).send(body);
    const body = { uploadId: id, clientSubmissionId: 'phone-7-finish', sha256: sha256(bytes), title: 'after the strike' };
    const made = await submit(caseId, body);
    expect(made.status).toBe(201);
    const counts = async () =>
      (await t.db.superuserQuery<{ items: number; events: number }>(`SELECT (SELECT count(*)::int FROM evidence_items) AS items, (SELECT count(*)::int FROM custody_queue) + (SELECT count(*)::int FROM custody_events) AS events`))[0];
    const before = await counts();
    // The app did not get the 201 (the network dropped) and sends the same finish again.
    const again = await submit(caseId, body);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(made.body.id);
    expect(again.body.receipt.event).toEqual(made.body.receipt.event);
    // Not a repeat: no key, another key, the key with the other case, another hash in the body.
    expect(expectProblem(await submit(caseId, { uploadId: id }), 409).detail).toContain(made.body.id);
    expectProblem(await submit(caseId, { ...body, clientSubmissionId: 'phone-7-other' }), 409);
    expectProblem(await submit(otherCase, body), 409);
    expectProblem(await submit(caseId, { ...body, sha256: sha256(Buffer.from('other bytes')) }), 422);
    expect(expectProblem(await submit(caseId, { ...body, surprise: 1 }), 400).errors).toEqual([{ field: 'surprise', message: 'is not a known field' }]);
    expect(await counts()).toEqual(before);
  });

  it("a termination racing the upload's intake: the intake answers 409 if it came first, else the item is made whole and the termination answers 404", async () => {
    const user = await t.user('documenter', 'changed mind');
    const caseId = await caseOf(user);
    const service = t.app.get(UploadsService);
    const terminate = (id: string) => t.http.delete(`/api/v1/uploads/${id}`).auth(user.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0');
    const submit = (id: string) => t.http.post(`/api/v1/cases/${caseId}/evidence`).auth(user.token, { type: 'bearer' }).send({ uploadId: id });
    const stored = (digest: string) => path.join(t.config.dataDir, 'blobs', 'sha256', digest.slice(0, 2), digest.slice(2, 4), digest);
    const itemsOf = async (digest: string) => t.db.superuserQuery(`SELECT 1 FROM evidence_items WHERE sha256 = $1`, [digest]);

    // The DELETE lands after intake found the upload finished, before it took the file in.
    const early = randomBytes(100_000);
    const earlyId = idOf(await tusUpload(`${url}/api/v1/uploads`, user.token, early));
    const finished = service.finished.bind(service);
    vi.spyOn(service, 'finished').mockImplementationOnce(async (...args) => {
      const claimed = await finished(...args);
      await terminate(earlyId).expect(204);
      return claimed;
    });
    expect(expectProblem(await submit(earlyId), 409).detail).toMatch(/terminated/);
    expect(await itemsOf(sha256(early))).toEqual([]);
    await expect(stat(stored(sha256(early)))).rejects.toThrow(/ENOENT/);
    expect(await uploadsRow(earlyId)).toBeUndefined();

    // The DELETE lands while the item's transaction holds the upload: it waits, and finds it evidence.
    const late = randomBytes(100_000);
    const lateId = idOf(await tusUpload(`${url}/api/v1/uploads`, user.token, late));
    const markUsed = service.markUsed.bind(service);
    let termination: Promise<request.Response> | undefined;
    vi.spyOn(service, 'markUsed').mockImplementationOnce(async (...args) => {
      await markUsed(...args);
      termination = terminate(lateId).then((res) => res);
      // Until the DELETE waits for the row this transaction holds (the file left as it was).
      await vi.waitFor(async () => {
        const waiting = await t.db.superuserQuery(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM uploads%'`);
        expect(waiting).toHaveLength(1);
      }, { timeout: 5000, interval: 20 });
    });
    const made = await submit(lateId);
    expect(made.status).toBe(201);
    expectProblem(await termination!, 404);
    expect(sha256(await readFile(stored(sha256(late))))).toBe(sha256(late));
    expect((await uploadsRow(lateId))!['evidence_id']).toBe(made.body.id);
    expect((await t.http.get('/api/v1/health').expect(200)).status).toBe(200);
  });

  it('a termination that takes the lock as the last PATCH lets go of it: the PATCH answers 404, not 500, and nothing is left', async () => {
    const user = await t.user('documenter', 'late terminator');
    const service = t.app.get(UploadsService);
    const bytes = randomBytes(50_000);
    const id = idOf((await create(user.token, bytes.length)).headers['location']!);
    const finish = (service as unknown as { finish: (id: string, size: number) => Promise<void> }).finish.bind(service);
    vi.spyOn(service as unknown as { finish: typeof finish }, 'finish').mockImplementationOnce(async (...args) => {
      await t.http.delete(`/api/v1/uploads/${id}`).auth(user.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').expect(204);
      return finish(...args);
    });
    expect(expectProblem(await patch(user.token, id, 0, bytes), 404).detail).toMatch(/terminated/);
    expect(await uploadsRow(id)).toBeUndefined();
    await expect(stat(path.join(service.directory, id))).rejects.toThrow(/ENOENT/);
    expect((await head(user.token, id)).status).toBe(404);
  });

  it('refuses to make evidence of an unfinished upload, or of one whose bytes differ from the hash given at its creation', async () => {
    const user = await t.user('documenter', 'impatient');
    const caseId = await caseOf(user);
    const created = await create(user.token, 100);
    const id = idOf(created.headers['location']!);
    await patch(user.token, id, 0, randomBytes(60)).expect(204);
    expect(expectProblem(await t.http.post(`/api/v1/cases/${caseId}/evidence`).auth(user.token, { type: 'bearer' }).send({ uploadId: id }), 409).detail).toMatch(/60 of 100/);
    const bytes = randomBytes(1000);
    const lying = await create(user.token, bytes.length, `sha256 ${b64(sha256(Buffer.from('what the device claims')))}`);
    const lyingId = idOf(lying.headers['location']!);
    await patch(user.token, lyingId, 0, bytes).expect(204);
    const refused = expectProblem(await t.http.post(`/api/v1/cases/${caseId}/evidence`).auth(user.token, { type: 'bearer' }).send({ uploadId: lyingId }), 422);
    expect(refused.errors![0]!.field).toBe('uploadId');
    expect(await t.db.superuserQuery(`SELECT 1 FROM evidence_items WHERE sha256 = $1`, [sha256(bytes)])).toEqual([]);
  });

  it('puts Tus-Resumable on every answer but OPTIONS, once, and answers a version it does not speak with 412 and Tus-Version', async () => {
    const created = await create(documenter.token, 10);
    const id = idOf(created.headers['location']!);
    const answers = [
      created,
      await head(documenter.token, id),
      await patch(documenter.token, id, 0, Buffer.from('01234')),
      await patch(documenter.token, id, 3, Buffer.from('x')),
      await t.http.post('/api/v1/uploads').set('Tus-Resumable', '1.0.0').set('Upload-Length', '10'),
      await head(other.token, id),
      await t.http.delete(`/api/v1/uploads/${id}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0'),
    ];
    expect(answers.map((res) => res.status)).toEqual([201, 200, 204, 409, 401, 404, 204]);
    for (const res of answers) expect(res.headers['tus-resumable']).toBe('1.0.0');
    for (const old of [
      t.http.post('/api/v1/uploads').auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '0.2.2').set('Upload-Length', '10'),
      t.http.head(`/api/v1/uploads/${id}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '0.2.2'),
      patch(documenter.token, id, 5, Buffer.from('x')).set('Tus-Resumable', '2.0.0'),
    ]) {
      const res = await old;
      expect(res.status).toBe(412);
      expect(res.headers['tus-version']).toBe('1.0.0');
    }
  });

  it('keeps uploads to their creator: anyone else gets 404 and changes nothing', async () => {
    const created = await create(documenter.token, 10);
    expect(created.status).toBe(201);
    const id = idOf(created.headers['location']!);
    expect((await head(other.token, id)).status).toBe(404); // HEAD answers carry no body
    expectProblem(await patch(other.token, id, 0, Buffer.from('0123456789')), 404);
    expectProblem(await t.http.delete(`/api/v1/uploads/${id}`).auth(other.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0'), 404);
    expect((await head(documenter.token, id)).headers['upload-offset']).toBe('0');
    // Auditors never submit evidence; anonymous callers are not let in at all.
    expectProblem(await create(auditor.token, 10), 403);
    expectProblem(await t.http.post('/api/v1/uploads').set('Tus-Resumable', '1.0.0').set('Upload-Length', '10'), 401);
    expect((await head(documenter.token, 'not-an-upload')).status).toBe(404);
    expectProblem(await patch(documenter.token, 'not-an-upload', 0, Buffer.from('x')), 404);
    await t.http.delete(`/api/v1/uploads/${id}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').expect(204);
  });

  it('refuses what it cannot take, as problem+json, and stores nothing of it', async () => {
    const before = await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM uploads`);
    expect(expectProblem(await create(documenter.token, 256 * MiB + 1), 413).detail).toBeTruthy();
    expectProblem(await create(documenter.token, 0), 422);
    expectProblem(await create(documenter.token, 10, `sha256 ${b64('not hex')}`), 400);
    // A digest other than the one checked is refused, so that nobody takes it as checked.
    for (const key of ['md5', 'SHA256', 'sha-256', 'sha1', 'checksum']) {
      expect(expectProblem(await create(documenter.token, 10, `${key} ${b64('0'.repeat(32))}`), 400).detail).toMatch(new RegExp(`^Upload-Metadata: ${key}: the only digest checked is sha256`));
    }
    expectProblem(await create(documenter.token, 10, `filename ${b64('a\u0000b')}`), 400);
    // Bytes that are not UTF-8 (@tus/server alone would keep U+FFFD in their place).
    const latin1 = Buffer.from('zvit-\xe9.jpg', 'latin1').toString('base64');
    expect(expectProblem(await create(documenter.token, 10, `filename ${latin1}`), 400).detail).toMatch(/filename is not valid UTF-8/);
    expectProblem(await t.http.post('/api/v1/uploads').auth(documenter.token, { type: 'bearer' }).set('Upload-Length', '10'), 412);
    // Extensions this server does not offer (Tus-Extension does not name them): a length given
    // later (creation-defer-length), parts to be concatenated (concatenation, which tus-js-client's
    // parallelUploads sends).
    const bare = () => t.http.post('/api/v1/uploads').auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0');
    expectProblem(await bare().set('Upload-Defer-Length', '1'), 400);
    expectProblem(await create(documenter.token, 10).set('Upload-Concat', 'partial'), 400);
    expectProblem(await bare().set('Upload-Concat', 'final;/api/v1/uploads/0123456789abcdef0123456789abcdef'), 400);
    expect(await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM uploads`)).toEqual(before);
  });

  it('answers a wrong offset with 409 and a chunk that does not match its Upload-Checksum with 460, keeping the offset', async () => {
    const bytes = randomBytes(4096);
    const created = await create(documenter.token, bytes.length);
    const id = idOf(created.headers['location']!);
    expectProblem(await patch(documenter.token, id, 5, bytes.subarray(0, 10)), 409);
    const first = bytes.subarray(0, 1000);
    const wrongDigest = createHash('sha256').update('something else').digest('base64');
    expectProblem(await patch(documenter.token, id, 0, first).set('Upload-Checksum', `sha256 ${wrongDigest}`), 460);
    expect((await head(documenter.token, id)).headers['upload-offset']).toBe('0');
    for (const checksum of [`md5 ${createHash('md5').update(first).digest('base64')}`, `sha1 ${wrongDigest}`, 'sha256 !!!!', `__proto__ ${wrongDigest}`]) {
      expectProblem(await patch(documenter.token, id, 0, first).set('Upload-Checksum', checksum), 400);
    }
    expectProblem(await patch(documenter.token, id, 0, first).set('Upload-Checksum', `sha1 ${createHash('sha1').update('other').digest('base64')}`), 460);
    // sha1, as tus 1.0.0 requires of a server offering the checksum extension, then sha512.
    const ok = await patch(documenter.token, id, 0, first.subarray(0, 600)).set('Upload-Checksum', `sha1 ${createHash('sha1').update(first.subarray(0, 600)).digest('base64')}`);
    expect(ok.status).toBe(204);
    expect(ok.headers['upload-offset']).toBe('600');
    const more = first.subarray(600);
    expect((await patch(documenter.token, id, 600, more).set('Upload-Checksum', `sha512 ${createHash('sha512').update(more).digest('base64')}`)).headers['upload-offset']).toBe('1000');
    // A refused chunk after good ones also leaves the offset where it was, and the end hash right.
    expectProblem(await patch(documenter.token, id, 1000, bytes.subarray(1000)).set('Upload-Checksum', `sha256 ${wrongDigest}`), 460);
    expect((await head(documenter.token, id)).headers['upload-offset']).toBe('1000');
    const rest = bytes.subarray(1000);
    expect((await patch(documenter.token, id, 1000, rest).set('Upload-Checksum', `sha256 ${createHash('sha256').update(rest).digest('base64')}`)).status).toBe(204);
    expect((await uploadsRow(id))!['computed_sha256']).toBe(sha256(bytes));
  });

  /**
   * A PATCH by hand (node:http): `head` bytes of `body` are sent, then the request waits for
   * `then()` to decide: 'finish' sends the rest, 'cut' breaks the connection, 'hold' leaves it
   * open and silent. `chunked` sends no Content-Length.
   */
  const rawPatch = (
    token: string,
    id: string,
    offset: number,
    body: Buffer,
    options: { sendFirst?: number; chunked?: boolean; then?: () => Promise<'finish' | 'cut' | 'hold'> } = {},
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string } | 'cut'> =>
    new Promise((resolve, reject) => {
      const req = http.request(`${url}/api/v1/uploads/${id}`, {
        method: 'PATCH',
        agent: false,
        headers: {
          Authorization: `Bearer ${token}`,
          'Tus-Resumable': '1.0.0',
          'Upload-Offset': String(offset),
          'Content-Type': 'application/offset+octet-stream',
          ...(options.chunked ? {} : { 'Content-Length': String(body.length) }),
        },
      });
      let cut = false;
      req.on('error', (error) => (cut ? resolve('cut') : reject(error)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      const first = options.sendFirst ?? body.length;
      req.write(body.subarray(0, first));
      if (!options.then) return void req.end(body.subarray(first));
      options.then().then((next) => {
        if (next === 'finish') req.end(body.subarray(first));
        if (next === 'cut') {
          cut = true;
          req.destroy();
          resolve('cut');
        }
      }, reject);
    });
  const fileSize = async (id: string) => (await stat(path.join(t.app.get(UploadsService).directory, id))).size;
  /** Resolves once the upload's file holds `bytes`. */
  const fileReaches = async (id: string, bytes: number) => {
    for (let i = 0; i < 500 && (await fileSize(id)) < bytes; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await fileSize(id)).toBe(bytes);
  };

  it('PATCH: refuses a wrong content type (415), a missing Tus-Resumable (412) or offset (400), and a chunk beyond the length (413), keeping nothing', async () => {
    const user = await t.user('documenter', 'patcher');
    const bytes = randomBytes(64 * 1024);
    const created = await create(user.token, bytes.length);
    const id = idOf(created.headers['location']!);
    const send = (type: string) =>
      t.http.patch(`/api/v1/uploads/${id}`).auth(user.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').set('Upload-Offset', '0').set('Content-Type', type).send(bytes);
    expectProblem(await send('application/octet-stream'), 415);
    expectProblem(await send('text/plain'), 415);
    const noVersion = await t.http.patch(`/api/v1/uploads/${id}`).auth(user.token, { type: 'bearer' }).set('Upload-Offset', '0').set('Content-Type', 'application/offset+octet-stream').send(bytes);
    expectProblem(noVersion, 412);
    expect(noVersion.headers['tus-version']).toBe('1.0.0');
    expectProblem(await t.http.patch(`/api/v1/uploads/${id}`).auth(user.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').set('Content-Type', 'application/offset+octet-stream').send(bytes), 400);
    expectProblem(await patch(user.token, id, 0, bytes).set('Upload-Offset', '-1'), 400);
    expectProblem(await patch(user.token, id, 0, bytes).set('Upload-Length', String(bytes.length)), 400);
    // Beyond the declared length: by Content-Length (refused before a byte is read)...
    const longer = Buffer.concat([bytes, Buffer.from('one too many')]);
    const tooLong = await patch(user.token, id, 0, longer);
    expectProblem(tooLong, 413);
    expect(tooLong.headers['tus-resumable']).toBe('1.0.0');
    expect(await fileSize(id)).toBe(0);
    // ...and by a chunked body that turns out longer: cut back to where it started.
    const half = bytes.length / 2;
    // The media type in any case, with a parameter: the same type (RFC 9110 §8.3.1).
    expect((await patch(user.token, id, 0, bytes.subarray(0, half)).set('Content-Type', 'Application/Offset+Octet-Stream; x=1')).status).toBe(204);
    const chunked = await rawPatch(user.token, id, half, longer.subarray(half), { chunked: true });
    expect(chunked).not.toBe('cut');
    const answer = chunked as Exclude<typeof chunked, 'cut'>;
    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await fileSize(id)).toBe(half);
    expect((await head(user.token, id)).headers['upload-offset']).toBe(String(half));
    // The rest, chunked and of the right length, finishes the upload with the right hash.
    const rest = await rawPatch(user.token, id, half, bytes.subarray(half), { chunked: true });
    expect(rest).toMatchObject({ status: 204, headers: { 'upload-offset': String(bytes.length), 'tus-resumable': '1.0.0' } });
    expect((rest as { headers: http.IncomingHttpHeaders }).headers['upload-expires']).toBeUndefined();
    expect((await uploadsRow(id))!['computed_sha256']).toBe(sha256(bytes));
    // A finished upload takes no more bytes.
    expectProblem(await patch(user.token, id, bytes.length, Buffer.from('x')), 413);
  });

  it('PATCH: answers with the new offset and the expiry, and refuses an expired upload (410)', async () => {
    const user = await t.user('documenter', 'expiry');
    const created = await create(user.token, 100);
    const id = idOf(created.headers['location']!);
    const first = await patch(user.token, id, 0, randomBytes(40));
    expect(first.status).toBe(204);
    expect(first.headers['upload-offset']).toBe('40');
    const expires = new Date(first.headers['upload-expires']!);
    expect(expires.getTime()).toBeGreaterThan(Date.now());
    expect(new Date(String((await uploadsRow(id))!['expires_at'])).toUTCString()).toBe(first.headers['upload-expires']);
    // A PATCH of 0 bytes is a valid no-op.
    expect((await patch(user.token, id, 40, Buffer.alloc(0))).headers['upload-offset']).toBe('40');
    await t.db.superuserQuery(`UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expectProblem(await patch(user.token, id, 40, randomBytes(10)), 410);
    expect(await fileSize(id)).toBe(40);
  });

  it('PATCH: keeps the bytes of a body cut off mid-way, and the finished hash is still right', async () => {
    const user = await t.user('documenter', 'cut off');
    const bytes = randomBytes(6 * MiB + 5);
    const created = await create(user.token, bytes.length, `sha256 ${b64(sha256(bytes))}`);
    const id = idOf(created.headers['location']!);
    const sent = 3 * MiB + 1;
    const cut = await rawPatch(user.token, id, 0, bytes.subarray(0, 5 * MiB), {
      sendFirst: sent,
      then: async () => (await fileReaches(id, sent), 'cut'),
    });
    expect(cut).toBe('cut');
    // The server notices, writes what it has and lets go of the upload.
    let offset = '';
    for (let i = 0; i < 200 && offset !== String(sent); i++) {
      offset = (await head(user.token, id)).headers['upload-offset'] ?? '';
      if (offset !== String(sent)) await new Promise((r) => setTimeout(r, 20));
    }
    expect(offset).toBe(String(sent));
    expect((await patch(user.token, id, sent, bytes.subarray(sent))).status).toBe(204);
    expect((await uploadsRow(id))!['computed_sha256']).toBe(sha256(bytes));
  });

  it('PATCH: a cut-off body that carried an Upload-Checksum keeps nothing (it cannot be checked)', async () => {
    const user = await t.user('documenter', 'cut off with checksum');
    const bytes = randomBytes(2 * MiB);
    const created = await create(user.token, bytes.length);
    const id = idOf(created.headers['location']!);
    const req = http.request(`${url}/api/v1/uploads/${id}`, {
      method: 'PATCH',
      agent: false,
      headers: {
        Authorization: `Bearer ${user.token}`,
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(bytes.length),
        'Upload-Checksum': `sha256 ${createHash('sha256').update(bytes).digest('base64')}`,
      },
    });
    req.on('error', () => undefined);
    req.write(bytes.subarray(0, MiB));
    await fileReaches(id, MiB);
    req.destroy();
    let offset = '';
    for (let i = 0; i < 200 && offset !== '0'; i++) {
      offset = (await head(user.token, id)).headers['upload-offset'] ?? '';
      if (offset !== '0') await new Promise((r) => setTimeout(r, 20));
    }
    expect(offset).toBe('0');
    expect(await fileSize(id)).toBe(0);
  });

  /** A 2 MiB upload whose PATCH sent its first MiB and stalls (the client's connection lost, not closed). */
  const stallHalfWay = async (name: string) => {
    const user = await t.user('documenter', name);
    const bytes = randomBytes(2 * MiB);
    const created = await create(user.token, bytes.length);
    const id = idOf(created.headers['location']!);
    let hold: (next: 'hold') => void = () => undefined;
    const stalled = rawPatch(user.token, id, 0, bytes, { sendFirst: MiB, then: () => new Promise((r) => (hold = r)) });
    await fileReaches(id, MiB);
    return { user, bytes, id, stalled, release: () => hold('hold') };
  };

  it('PATCH: one account has at most CUSTODIA_UPLOAD_MAX_WRITING requests receiving bytes at once (423 beyond), and others are served meanwhile', async () => {
    const user = await t.user('documenter', 'many at once');
    const bytes = randomBytes(2 * MiB);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(idOf((await create(user.token, bytes.length)).headers['location']!));
    const holds: ((next: 'finish') => void)[] = [];
    const slow = ids.slice(0, 2).map((id) => rawPatch(user.token, id, 0, bytes, { sendFirst: MiB, then: () => new Promise((r) => holds.push(r)) }));
    await fileReaches(ids[0]!, MiB);
    await fileReaches(ids[1]!, MiB);
    const third = await patch(user.token, ids[2]!, 0, bytes);
    expect(third.status).toBe(423);
    expect(third.text).toMatch(/CUSTODIA_UPLOAD_MAX_WRITING/);
    expect(JSON.parse(third.text)).toMatchObject({ type: 'https://custodia.invalid/problems/locked', title: 'Locked' });
    const someoneElse = await t.user('documenter', 'served meanwhile');
    const theirs = idOf((await create(someoneElse.token, bytes.length)).headers['location']!);
    expect((await patch(someoneElse.token, theirs, 0, bytes)).status).toBe(204);
    for (const hold of holds) hold('finish');
    expect((await Promise.all(slow)).map((answer) => (answer === 'cut' ? answer : answer.status))).toEqual([204, 204]);
    expect((await patch(user.token, ids[2]!, 0, bytes)).status).toBe(204);
    expect(await fileSize(ids[2]!)).toBe(bytes.length);
  });

  it('one user streams at most 16 multipart submissions at once (429 beyond), apart from their tus uploads', async () => {
    const user = await t.user('documenter', 'multipart at once');
    const caseId = await caseOf(user);
    const boundary = 'b0undary';
    const slowSubmission = (bytes: Buffer) => {
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      const req = http.request(`${url}/api/v1/cases/${caseId}/evidence`, {
        method: 'POST',
        agent: false,
        headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + bytes.length + tail.length) },
      });
      const answer = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
      });
      req.write(Buffer.concat([head, bytes.subarray(0, 1000)]));
      return { answer, finish: () => req.end(Buffer.concat([bytes.subarray(1000), tail])) };
    };
    const submitting = t.app.get(EvidenceService).submitting;
    const slow = Array.from({ length: 16 }, () => slowSubmission(randomBytes(4000)));
    await expect.poll(() => submitting.of(user.id)).toBe(16);
    const refused = await t.http.post(`/api/v1/cases/${caseId}/evidence`).auth(user.token, { type: 'bearer' }).attach('file', randomBytes(100), 'one-more.bin');
    expectProblem(refused, 429);
    expect(refused.headers['retry-after']).toBe('5');
    const upload = idOf((await create(user.token, 100)).headers['location']!);
    expect((await patch(user.token, upload, 0, randomBytes(100))).status).toBe(204);
    for (const submission of slow) submission.finish();
    expect(await Promise.all(slow.map((submission) => submission.answer))).toEqual(Array(16).fill(201));
    expect(submitting.of(user.id)).toBe(0);
  });

  it('PATCH: a request that stalls holding an upload lets go of it when the client comes back, keeping what it received', async () => {
    const { user, bytes, id, stalled, release } = await stallHalfWay('stalled');
    // The client, having lost its connection, asks where the upload stands: it is told once the
    // stalled request let go (after a drain of 3 s), and that request answers with what it kept.
    const started = Date.now();
    const state = await head(user.token, id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect(state.headers['upload-offset']).toBe(String(MiB));
    const answer = await stalled;
    release();
    expect(answer).toMatchObject({ status: 204, headers: { 'upload-offset': String(MiB), connection: 'close' } });
    expect((await patch(user.token, id, MiB, bytes.subarray(MiB))).status).toBe(204);
    expect((await uploadsRow(id))!['computed_sha256']).toBe(sha256(bytes));
  });

  it("PATCH: a request whose lock's database session breaks stops at once, with what it received (another instance may take the upload)", async () => {
    const { user, bytes, id, stalled, release } = await stallHalfWay('lock lost');
    try {
      // PostgreSQL restarted, a failover, an operator's pg_terminate_backend: the lock goes with
      // the session, and another instance may write the upload from then on.
      const [{ ended }] = await t.db.superuserQuery<{ ended: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
        [`tus:${id}`],
      );
      expect(ended).toBe(1);
      const started = Date.now();
      const answer = await stalled;
      // At once, not after the 3 s a request is given to let go when another asks.
      expect(Date.now() - started).toBeLessThan(2000);
      expect(answer).toMatchObject({ status: 204, headers: { 'upload-offset': String(MiB) } });
      expect(await fileSize(id)).toBe(MiB);
      expect((await patch(user.token, id, MiB, bytes.subarray(MiB))).status).toBe(204);
      expect((await uploadsRow(id))!['computed_sha256']).toBe(sha256(bytes));
    } finally {
      release();
    }
  });

  it('PATCH: a request stalled on one instance lets go when the client comes back through another', async () => {
    const { user, bytes, id, stalled, release } = await stallHalfWay('stalled elsewhere');
    // Behind a load balancer the client's next request lands on another instance, which cannot
    // reach the stalled request in this process but for the database: it asks there, and is told
    // after the same drain, not after its lock's 30 s timeout (then a 500).
    const sibling = await t.sibling();
    try {
      const started = Date.now();
      const state = await request(sibling.url).head(`/api/v1/uploads/${id}`).auth(user.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0');
      expect(state.status).toBe(200);
      expect(state.headers['upload-offset']).toBe(String(MiB));
      expect(Date.now() - started).toBeLessThan(15_000);
      const answer = await stalled;
      release();
      expect(answer).toMatchObject({ status: 204, headers: { 'upload-offset': String(MiB) } });
      expect((await patch(user.token, id, MiB, bytes.subarray(MiB), request(sibling.url))).status).toBe(204);
      expect((await uploadsRow(id))!['computed_sha256']).toBe(sha256(bytes));
    } finally {
      release();
      await sibling.close();
    }
  });

  it('limits how many uploads and bytes one user holds open', async () => {
    const user = await t.user('documenter', 'limited');
    for (let i = 0; i < 3; i++) expect((await create(user.token, 10)).status).toBe(201);
    expect(expectProblem(await create(user.token, 10), 429).detail).toMatch(/CUSTODIA_UPLOAD_MAX_OPEN/);
    const bytesUser = await t.user('documenter', 'big files');
    expect((await create(bytesUser.token, 200 * MiB)).status).toBe(201);
    expect(expectProblem(await create(bytesUser.token, 150 * MiB), 429).detail).toMatch(/CUSTODIA_UPLOAD_MAX_OPEN_BYTES/);
    // Others are not held back by them.
    expect((await create(other.token, 10)).status).toBe(201);
  });

  it('removes expired uploads and their bytes, and answers for them no more; a finished one does not expire', async () => {
    const documenter = await t.user('documenter', 'expiring');
    const created = await create(documenter.token, 100);
    const id = idOf(created.headers['location']!);
    await patch(documenter.token, id, 0, randomBytes(50)).expect(204);
    const directory = t.app.get(UploadsService).directory;
    expect((await stat(path.join(directory, id))).size).toBe(50);
    await t.db.superuserQuery(`UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expect(await t.app.get(UploadsService).sweepExpired()).toBeGreaterThanOrEqual(1);
    expect(await uploadsRow(id)).toBeUndefined();
    expect(await readdir(directory)).not.toContain(id);
    expect((await head(documenter.token, id)).status).toBe(404);

    // A finished upload no longer expires (api.md: "unless finished"): days later it is still whole.
    const bytes = randomBytes(64);
    const finished = idOf((await create(documenter.token, bytes.length)).headers['location']!);
    await patch(documenter.token, finished, 0, bytes).expect(204);
    const [kept] = await t.db.superuserQuery<{ forever: boolean }>(`SELECT expires_at = 'infinity' AS forever FROM uploads WHERE id = $1`, [finished]);
    expect(kept).toEqual({ forever: true });
    // Two days after its creation (the TTL is one): HEAD still finds it whole, not 410.
    await t.db.superuserQuery(`UPDATE uploads SET info = jsonb_set(info, '{creation_date}', to_jsonb((now() - interval '2 days')::text)) WHERE id = $1`, [finished]);
    await t.app.get(UploadsService).sweepExpired();
    expect((await stat(path.join(directory, finished))).size).toBe(bytes.length);
    const late = await head(documenter.token, finished);
    expect(late.status).toBe(200);
    expect(late.headers['upload-offset']).toBe(String(bytes.length));
    await t.http.delete(`/api/v1/uploads/${finished}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0').expect(204);
  });

  it('the last bytes of an upload and its name reach the disk before it is recorded finished', async () => {
    // Bytes are flushed every 64 MiB only; the record of a finished upload names their hash.
    const user = await t.user('documenter', 'durable finish');
    const service = t.app.get(UploadsService);
    const synced: { path: string; recorded: boolean }[] = [];
    let uploadId = '';
    const store = service['store'] as unknown as { syncToDisk(path: string): Promise<void> };
    const syncToDisk = store.syncToDisk.bind(store);
    const sync = vi.spyOn(store, 'syncToDisk').mockImplementation(async (file: string) => {
      const [row] = await t.db.superuserQuery<{ finished: boolean }>(`SELECT finished_at IS NOT NULL AS finished FROM uploads WHERE id = $1`, [uploadId]);
      synced.push({ path: file, recorded: row?.finished ?? false });
      await syncToDisk(file);
    });
    try {
      const bytes = randomBytes(MiB + 11);
      const created = await create(user.token, bytes.length);
      uploadId = idOf(created.headers['location']!);
      await patch(user.token, uploadId, 0, bytes.subarray(0, MiB)).expect(204);
      expect(synced).toEqual([]);
      await patch(user.token, uploadId, MiB, bytes.subarray(MiB)).expect(204);
    } finally {
      sync.mockRestore();
    }
    expect(synced).toEqual([
      { path: path.join(service.directory, uploadId), recorded: false },
      { path: service.directory, recorded: false },
    ]);
    expect((await uploadsRow(uploadId))!['finished_at']).not.toBeNull();
  });

  it('an upload whose every byte arrived but whose finish was never recorded (its process died) still becomes evidence', async () => {
    // tus-js-client sees the whole length in HEAD and sends no more: intake must not answer 409
    // "send the rest" for ever.
    const user = await t.user('documenter', 'unrecorded finish');
    const caseId = await caseOf(user);
    const bytes = randomBytes(MiB + 3);
    const id = idOf(await tusUpload(`${url}/api/v1/uploads`, user.token, bytes));
    await t.db.superuserQuery(`UPDATE uploads SET finished_at = NULL, computed_sha256 = NULL WHERE id = $1`, [id]);
    expect((await head(user.token, id)).headers['upload-offset']).toBe(String(bytes.length));
    const made = await t.http.post(`/api/v1/cases/${caseId}/evidence`).auth(user.token, { type: 'bearer' }).send({ uploadId: id, sha256: sha256(bytes) });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ sha256: sha256(bytes), sizeBytes: bytes.length });
    // An upload still short of its length is refused as before, naming what arrived.
    const short = idOf((await create(user.token, 100)).headers['location']!);
    await patch(user.token, short, 0, randomBytes(40)).expect(204);
    const refused = expectProblem(await t.http.post(`/api/v1/cases/${caseId}/evidence`).auth(user.token, { type: 'bearer' }).send({ uploadId: short }), 409);
    expect(refused.detail).toMatch(/40 of 100 bytes/);
  });

  it('an upload finished after the sweep listed it as expired keeps its bytes', async () => {
    // The PATCH that receives the last byte lets go of the upload's lock before it records the
    // upload finished (and its new expiry). A sweep that listed it as expired and took the lock
    // in between removed the file first, then found the record no longer expired: the client
    // had its 204, the record said finished, the bytes were gone.
    const documenter = await t.user('documenter', 'finishing late');
    const bytes = randomBytes(100);
    const id = idOf((await create(documenter.token, 100)).headers['location']!);
    await patch(documenter.token, id, 0, bytes).expect(204);
    await t.db.superuserQuery(`UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    const service = t.app.get(UploadsService);
    const asked = vi.spyOn(service['locker'], 'newLock');
    const holder = new pg.Client({ connectionString: t.db.url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [`tus:${id}`]);
      const sweep = service.sweepExpired();
      while (!asked.mock.calls.some(([lockId]) => lockId === id)) await new Promise((resolve) => setTimeout(resolve, 5));
      // What the PATCH's finish records, while the sweep waits for the lock.
      await t.db.superuserQuery(`UPDATE uploads SET expires_at = 'infinity' WHERE id = $1`, [id]);
      await holder.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [`tus:${id}`]);
      await sweep;
    } finally {
      asked.mockRestore();
      await holder.end();
    }
    expect(await uploadsRow(id)).toBeDefined();
    expect((await stat(path.join(service.directory, id))).size).toBe(100);
    expect((await head(documenter.token, id)).headers['upload-offset']).toBe('100');
  });

  it('removes at start the file of an upload that became evidence, left by a process killed before removing it', async () => {
    // An outside crash audit: such files (a second copy, with S3) waited for the first periodic
    // sweep, ten minutes after each start, and survived a dozen restarts.
    const user = await t.user('documenter', 'killed mid-way');
    const bytes = randomBytes(1000);
    const id = idOf((await create(user.token, bytes.length)).headers['location']!);
    await patch(user.token, id, 0, bytes).expect(204);
    const made = await t.http.post(`/api/v1/cases/${await caseOf(user)}/evidence`).auth(user.token, { type: 'bearer' }).send({ uploadId: id });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const file = path.join(t.app.get(UploadsService).directory, id);
    await writeFile(file, bytes);
    const sibling = await t.sibling();
    try {
      await sibling.app.get(UploadsService).startSweep;
      expect(await readdir(path.dirname(file))).not.toContain(id);
    } finally {
      await sibling.close();
    }
  });

  it('resumes an upload on another API instance sharing the database and data folder, and after a restart', async () => {
    const documenter = await t.user('documenter', 'travelling');
    const bytes = randomBytes(2 * MiB);
    const created = await create(documenter.token, bytes.length, `filename ${b64('video.mp4')},sha256 ${b64(sha256(bytes))}`);
    const id = idOf(created.headers['location']!);
    await patch(documenter.token, id, 0, bytes.subarray(0, MiB)).expect(204);
    // A second instance takes over (as after this one's restart): no running hash there, so it
    // reads the file back at the end.
    const sibling = await t.sibling();
    try {
      const other = request(sibling.url);
      const state = await other.head(`/api/v1/uploads/${id}`).auth(documenter.token, { type: 'bearer' }).set('Tus-Resumable', '1.0.0');
      expect(state.headers['upload-offset']).toBe(String(MiB));
      expect((await patch(documenter.token, id, MiB, bytes.subarray(MiB), other)).status).toBe(204);
      expect((await uploadsRow(id))!['computed_sha256']).toBe(sha256(bytes));
      // tus-js-client finishing a file through the second instance after the first started it.
      const more = randomBytes(3 * MiB);
      const location = await tusUpload(`${sibling.url}/api/v1/uploads`, documenter.token, more);
      expect((await uploadsRow(idOf(location)))!['computed_sha256']).toBe(sha256(more));
    } finally {
      await sibling.close();
    }
  });
});
