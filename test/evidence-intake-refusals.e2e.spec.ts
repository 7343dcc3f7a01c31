// Intake refusals and flags over real HTTP (issue 9, item 7): a 0-byte file is refused with 422
// and leaves nothing behind (no row, custody event, blob or temporary file); a declared media
// type that contradicts the sniffed one is flagged `type_mismatch` (the rule of
// libs/evidence/src/flags.ts `typeMismatch`), and the flag filter finds it.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { whileChangeCommits } from './support/database.js';
import { bearer, createCase, expectNothingStored, fixture, listen, multipart, quietState, sha256hex, submissionParts, submit } from './support/evidence.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * Sends a request's head with `Expect: 100-continue` and its body only once the server answers
 * 100 Continue, as curl and HTTP libraries do for large bodies; returns all the server wrote.
 */
function continueExchange(port: number, head: string, body: Buffer): Promise<{ answer: string; bodySent: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let bodySent = false;
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (!bodySent && answer.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        bodySent = true;
        socket.write(body);
      }
    });
    socket.on('close', () => resolve({ answer, bodySent }));
    socket.on('error', reject);
    socket.write(head);
  });
}

describe('intake refusals and flags (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let caseId: string;

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigator = await t.user('investigator', 'Iryna');
    documenter = await t.user('documenter', 'Dmytro');
    caseId = await createCase(t, investigator, 'Refusals', [documenter]);
  });
  afterAll(async () => t?.close());

  describe('a 0-byte file', () => {
    it.each([
      ['with metadata', { metadata: { title: 'empty', capturedAt: '2026-11-20T01:10:00+02:00' } }],
      ['without metadata', { metadata: null }],
      ['with the metadata after the file', { metadata: { title: 'late' }, metadataLast: true }],
      ['with the hash of nothing and an idempotency key', { metadata: { sha256: EMPTY_SHA256, clientSubmissionId: randomUUID() } }],
      ['declared as a JPEG', { metadata: {}, contentType: 'image/jpeg', filename: 'IMG_0001.JPG' }],
    ])('%s: 422 naming file, nothing stored', async (_label, opts) => {
      const before = await quietState(t);
      const res = await submit(t, documenter, caseId, Buffer.alloc(0), opts);
      const problem = expectProblem(res, 422);
      expect(problem.errors).toContainEqual({ field: 'file', message: 'must not be empty' });
      expect(problem.detail).toMatch(/empty/);
      await expectNothingStored(t, before);
      expect(existsSync(path.join(t.config.dataDir, 'blobs', 'sha256', EMPTY_SHA256.slice(0, 2), EMPTY_SHA256.slice(2, 4), EMPTY_SHA256))).toBe(false);
    });

    it('the same idempotency key then works for real bytes, and one byte is enough', async () => {
      const key = randomUUID();
      expectProblem(await submit(t, documenter, caseId, Buffer.alloc(0), { metadata: { clientSubmissionId: key } }), 422);
      const one = await submit(t, documenter, caseId, Buffer.from('x'), { metadata: { clientSubmissionId: key } });
      expect(one.status, JSON.stringify(one.body)).toBe(201);
      expect(one.body.sizeBytes).toBe(1);
    });

    it('malformed metadata is still a 400 first (the request is wrong before the file is)', async () => {
      const before = await quietState(t);
      const res = await submit(t, documenter, caseId, Buffer.alloc(0), { metadata: '{"title": ' });
      expect(expectProblem(res, 400).errors?.map((e) => e.field)).toContain('metadata');
      await expectNothingStored(t, before);
    });
  });

  it('a metadata part that gives a field twice (two device hashes): 400 naming it, nothing stored', async () => {
    const before = await quietState(t);
    const file = randomBytes(100);
    const metadata = `{"sha256":"${sha256hex(randomBytes(8))}","title":"twice","sha256":"${sha256hex(file)}"}`;
    const res = await submit(t, documenter, caseId, file, { metadata });
    expect(expectProblem(res, 400)).toMatchObject({
      detail: 'The metadata part gives the field "sha256" more than once',
      errors: [{ field: 'metadata.sha256', message: 'is given more than once' }],
    });
    await expectNothingStored(t, before, 5_000);
  });

  describe('text that is not UTF-8', () => {
    // Clients that send latin1 or cp1251 bytes: the parser turned them into U+FFFD and the
    // item was stored with a title or file name of replacement marks.
    const latin1Title = Buffer.concat([Buffer.from('{"title":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    it.each([
      ['a metadata part with a latin1 byte', [{ name: 'metadata', value: latin1Title }, { name: 'file', value: randomBytes(50), filename: 'a.jpg', contentType: 'image/jpeg' }], 'metadata'],
      ['a metadata part with a literal U+FFFD', [{ name: 'metadata', value: '{"title":"\uFFFD"}' }, { name: 'file', value: randomBytes(50), filename: 'a.jpg', contentType: 'image/jpeg' }], 'metadata'],
      [
        'a file name with bytes that are not UTF-8',
        [{ name: 'metadata', value: '{}' }, { name: 'file', value: randomBytes(50), filename: 'NOT-UTF-8.jpg', contentType: 'image/jpeg' }],
        'file',
      ],
    ] as const)('%s: 400 naming it, nothing stored', async (_label, parts, field) => {
      const before = await quietState(t);
      const built = multipart(parts.map((part) => ({ ...part })));
      const contentType = built.contentType;
      // The file name's bytes as a latin1 client sends them (0xFF 0xFE), not UTF-8.
      const at = built.body.indexOf('NOT-UTF-8');
      const body = at < 0 ? built.body : Buffer.concat([built.body.subarray(0, at), Buffer.from([0xff, 0xfe]), built.body.subarray(at + 'NOT-UTF-8'.length)]);
      const res = await t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(documenter)).set('Content-Type', contentType).send(body);
      expect(expectProblem(res, 400).errors).toEqual([{ field, message: 'must be UTF-8' }]);
      await expectNothingStored(t, before, 5_000);
    });

    // An outside audit: a metadata part declaring a charset the parser cannot decode came with no
    // value, and reading it ended the API process.
    it.each(['application/json; charset=x-unknown', 'application/json; charset=utf-16', 'text/plain; charset=UTF-32'])(
      'a metadata part declared as %s: 415 naming it, nothing stored, the archive keeps serving',
      async (contentType) => {
        const before = await quietState(t);
        const built = multipart([
          { name: 'metadata', value: '{}', contentType },
          { name: 'file', value: randomBytes(50), filename: 'a.jpg', contentType: 'image/jpeg' },
        ]);
        const res = await t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(documenter)).set('Content-Type', built.contentType).send(built.body);
        expect(expectProblem(res, 415).errors).toEqual([{ field: 'metadata', message: 'must be UTF-8' }]);
        await expectNothingStored(t, before, 5_000);
        expect((await t.http.get('/api/v1/health')).status).toBe(200);
      },
    );

    it('takes the escape \\ufffd in the metadata JSON, and UTF-8 names as they are', async () => {
      const { body, contentType } = multipart([
        { name: 'metadata', value: '{"title":"\\ufffd"}' },
        { name: 'file', value: randomBytes(50), filename: 'Салтівка.jpg', contentType: 'image/jpeg' },
      ]);
      const res = await t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(documenter)).set('Content-Type', contentType).send(body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect([res.body.title, res.body.originalFileName]).toEqual(['\uFFFD', 'Салтівка.jpg']);
    });
  });

  describe('a body that ends before its closing boundary', () => {
    // Seen against a running archive: a file part whose body ended cleanly (Content-Length met)
    // without the closing boundary made busboy fail the file's stream before intake read it, an
    // 'error' nobody listened to, and the whole process died.
    const complete = (file: Buffer) =>
      multipart([
        { name: 'metadata', value: JSON.stringify({ title: 'cut' }) },
        { name: 'file', value: file, filename: 'cut.jpg', contentType: 'image/jpeg' },
      ]);
    it.each([
      ['a small file, no closing boundary', (body: Buffer, boundaryLength: number) => body.subarray(0, body.length - boundaryLength - 2)],
      ['a small file, half the closing boundary', (body: Buffer, boundaryLength: number) => body.subarray(0, body.length - Math.ceil(boundaryLength / 2))],
      ['a small file, its last bytes missing', (body: Buffer, boundaryLength: number) => body.subarray(0, body.length - boundaryLength - 6)],
      ['a 3 MB file cut in the middle', (body: Buffer) => body.subarray(0, Math.floor(body.length / 2)), 3_000_000],
      ['the metadata part only, cut', (body: Buffer) => body.subarray(0, body.indexOf('"cut"') + 3)],
      ['a file part of another name, cut', (body: Buffer, boundaryLength: number) => Buffer.from(body.subarray(0, body.length - boundaryLength - 2).toString('latin1').replace('name="file"', 'name="photo"'), 'latin1')],
    ])('%s: 400, nothing stored, the archive keeps serving', async (_label, cut, size = 40) => {
      const before = await quietState(t);
      const { body, contentType } = complete(randomBytes(size));
      const boundaryLength = `--${contentType.split('boundary=')[1]}--\r\n`.length;
      const res = await t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(documenter)).set('Content-Type', contentType).send(cut(body, boundaryLength));
      expect(expectProblem(res, 400).detail).toMatch(/malformed or ended early|no file part|Unknown file part/);
      await expectNothingStored(t, before, 5_000);
      expect((await t.http.get('/api/v1/health')).status).toBe(200);
    });
  });

  describe('type_mismatch', () => {
    let flagCase: string;
    const ids: Record<string, string> = {};
    const flagged: string[] = [];

    beforeAll(async () => {
      flagCase = await createCase(t, investigator, 'Types');
    });

    // [label, fixture or bytes, declared Content-Type (undefined: no Content-Type header), sniffed, flagged]
    const cases: Array<[string, string | Buffer, string | undefined, string, boolean]> = [
      ['a JPEG declared image/jpeg', 'exif-ne-offset.jpg', 'image/jpeg', 'image/jpeg', false],
      ['a JPEG declared image/jpg (the same type)', 'exif-ne-offset.jpg', 'image/jpg', 'image/jpeg', false],
      ['a JPEG declared IMAGE/JPEG', 'scene-a.jpg', 'IMAGE/JPEG', 'image/jpeg', false],
      ['a JPEG declared application/octet-stream (nothing declared)', 'scene-b.jpg', 'application/octet-stream', 'image/jpeg', false],
      ['a JPEG sent without a Content-Type (nothing declared)', 'orientation-1.jpg', undefined, 'image/jpeg', false],
      ['a PNG declared image/jpeg', 'png-named.jpg', 'image/jpeg', 'image/png', true],
      ['a JPEG declared video/mp4', 'orientation-3.jpg', 'video/mp4', 'image/jpeg', true],
      ['a PDF declared application/pdf', 'not-an-image.pdf', 'application/pdf', 'application/pdf', false],
      ['a PDF declared image/jpeg', 'not-an-image.pdf', 'image/jpeg', 'application/pdf', true],
      ['an MP4 declared video/quicktime (one container family)', 'movie-header.mp4', 'video/quicktime', 'video/mp4', false],
      ['an MP4 declared video/webm', 'movie-header.mp4', 'video/webm', 'video/mp4', true],
      ['unrecognisable bytes declared image/jpeg (a JPEG always shows its signature)', randomBytes(2000), 'image/jpeg', 'application/octet-stream', true],
      ['unrecognisable bytes declared text/csv (no signature to check)', Buffer.from('date,place\n2026-11-20,Kharkiv\n'), 'text/csv', 'application/octet-stream', false],
    ];
    for (const [label, source, declared, sniffed, expected] of cases) {
      it(`${label} → ${expected ? 'type_mismatch' : 'no type_mismatch'}`, async () => {
        const file = typeof source === 'string' ? fixture(source) : source;
        const { body, contentType } = multipart([
          { name: 'metadata', value: JSON.stringify({ title: label }) },
          { name: 'file', value: file, filename: typeof source === 'string' ? source : 'upload.bin', ...(declared === undefined ? {} : { contentType: declared }) },
        ]);
        const res = await t.http.post(`/api/v1/cases/${flagCase}/evidence`).set('Authorization', bearer(investigator)).set('Content-Type', contentType).send(body);
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(res.body.mediaType).toBe(sniffed);
        // What was declared is kept as sent (a part without Content-Type is text/plain, RFC 7578 §4.4).
        expect(res.body.declaredMediaType).toBe(declared === undefined ? 'text/plain' : declared.toLowerCase());
        expect(res.body.flags.includes('type_mismatch'), JSON.stringify(res.body.flags)).toBe(expected);
        ids[label] = res.body.id;
        if (expected) flagged.push(res.body.id);
        // The flag is in the custody log's record of the intake too.
        const custody = await t.http.get(`/api/v1/evidence/${res.body.id}/custody`).set('Authorization', bearer(investigator));
        const extracted = custody.body.events.find((e: { event: { action: string } }) => e.event.action === 'evidence.metadata_extracted');
        expect((extracted.event.details.flags as string[]).includes('type_mismatch')).toBe(expected);
      });
    }

    it('flag=type_mismatch lists exactly the flagged items', async () => {
      expect(Object.keys(ids)).toHaveLength(cases.length);
      const res = await t.http.get(`/api/v1/cases/${flagCase}/evidence?flag=type_mismatch`).set('Authorization', bearer(investigator));
      expect(res.status).toBe(200);
      expect(res.body.items.map((i: { id: string }) => i.id).sort()).toEqual(flagged.slice().sort());
      expect(flagged).toHaveLength(cases.filter((c) => c[4]).length);
      const unknown = await t.http.get(`/api/v1/cases/${flagCase}/evidence?flag=wrong_type`).set('Authorization', bearer(investigator));
      expect(expectProblem(unknown, 400).errors?.[0]).toMatchObject({ field: 'flag', message: expect.stringContaining('type_mismatch') });
    });

    it('the same bytes declared rightly are not flagged: the flag belongs to the submission', async () => {
      const file = fixture('png-named.jpg');
      const right = await submit(t, investigator, flagCase, file, { contentType: 'image/png', metadata: { sha256: sha256hex(file) } });
      expect(right.status).toBe(201);
      expect(right.body.flags).toContain('exact_duplicate');
      expect(right.body.flags).not.toContain('type_mismatch');
    });
  });

  describe('a client that waits for 100 Continue (Expect: 100-continue)', () => {
    it('gets a refusal before it sends its bytes (401, 413 on the declared length, 404 for a chunk of no upload of theirs), nothing stored; 100 only when the body is read', async () => {
      const port = await listen(t);
      const before = await quietState(t);
      const { body, contentType } = multipart(submissionParts(randomBytes(2 * 1024 * 1024), { filename: 'night.bin' }));
      const head = (authorization: string, length: number = body.length) =>
        `POST /api/v1/cases/${caseId}/evidence HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n` +
        `Content-Type: ${contentType}\r\nContent-Length: ${length}\r\nAuthorization: ${authorization}\r\n\r\n`;
      const chunk =
        `PATCH /api/v1/uploads/${'a'.repeat(32)} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n` +
        `Content-Type: application/offset+octet-stream\r\nContent-Length: ${body.length}\r\nAuthorization: ${bearer(documenter)}\r\n\r\n`;
      for (const [request, status] of [[head('Bearer not-a-token'), 401], [head(bearer(documenter), 10 ** 12), 413], [chunk, 404]] as const) {
        const refused = await continueExchange(port, request, body);
        expect(refused.bodySent).toBe(false);
        expect(refused.answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
        expect(refused.answer).toContain('Content-Type: application/problem+json');
      }
      await expectNothingStored(t, before);
      const taken = await continueExchange(port, head(bearer(documenter)), body);
      expect(taken.bodySent).toBe(true);
      expect(taken.answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    });
  });

  describe('access that ends while a submission is being received', () => {
    /** A documenter of the case, and the state of the store once their account exists. */
    async function newMember() {
      const member = await t.user('documenter');
      const added = await t.http.post(`/api/v1/cases/${caseId}/members`).set('Authorization', bearer(investigator)).send({ userId: member.id });
      expect(added.status).toBe(201);
      return { member, before: await quietState(t) };
    }

    it('a documenter removed from the case meanwhile: 404, nothing stored', async () => {
      const { member, before } = await newMember();
      const res = await whileChangeCommits(
        t.db.url,
        { sql: 'SELECT 1 FROM case_members WHERE case_id = $1 AND user_id = $2 FOR UPDATE', params: [caseId, member.id] },
        () => submit(t, member, caseId, randomBytes(4096), { filename: 'sent-while-removed.bin' }),
        (tx) => tx.query('DELETE FROM case_members WHERE case_id = $1 AND user_id = $2', [caseId, member.id]),
      );
      expectProblem(res, 404);
      await expectNothingStored(t, before);
    });

    it.each([
      ['their tokens revoked (a seized phone)', 'UPDATE access_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL'],
      ['their account disabled', 'UPDATE users SET disabled_at = now() WHERE id = $1'],
      ['their role changed to one that may not submit', "UPDATE users SET role = 'auditor' WHERE id = $1"],
    ])('a documenter with %s meanwhile: 401, nothing stored', async (_label, sql) => {
      const { member, before } = await newMember();
      const res = await whileChangeCommits(
        t.db.url,
        { sql: 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', params: [member.id] },
        () => submit(t, member, caseId, randomBytes(4096), { filename: 'sent-while-revoked.bin' }),
        (tx) => tx.query(sql, [member.id]),
      );
      expectProblem(res, 401);
      await expectNothingStored(t, before);
    });
  });
});
