import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BLOB_STORE } from '../libs/evidence/src/index.js';
import type { BlobStore } from '../libs/storage/src/index.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, createCase, fixture, submit } from './support/evidence.js';

describe('GET /evidence/:id/metadata: every tag, as ExifTool reads it (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let auditor: TestUser;
  let outsider: TestUser;
  let caseId: string;
  let photoId: string;

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator');
    documenter = await t.user('documenter');
    auditor = await t.user('auditor');
    outsider = await t.user('investigator', 'outsider');
    caseId = await createCase(t, investigator, 'tags', [documenter, auditor]);
    photoId = (await submit(t, documenter, caseId, fixture('metadata-rich.jpg'), { filename: 'drone.jpg', contentType: 'image/jpeg' })).body.id;
  });
  afterAll(async () => t?.close());

  const get = (user: TestUser, id: string) => t.http.get(`/api/v1/evidence/${id}/metadata`).set('Authorization', bearer(user));
  /** The item's `evidence.viewed` events whose bytes match `like` (t.db waits for the log to settle first). */
  const views = async (id: string, like: string): Promise<Record<string, any>[]> =>
    (
      await t.db.superuserQuery<{ event: string }>(
        `SELECT convert_from(event_bytes, 'UTF8') AS event FROM custody_events WHERE subject_id = $1 AND action = 'evidence.viewed' AND convert_from(event_bytes, 'UTF8') LIKE $2`,
        [id, like],
      )
    ).map((r) => JSON.parse(r.event));

  it('gives every group and tag of the original, never our copy of it, and logs the read', async () => {
    const res = await get(investigator, photoId);
    expect(res.status).toBe(200);
    expect(res.body.reader).toMatch(/^ExifTool \d+\.\d+/);
    expect(res.body.groups).toMatchObject({
      IFD0: { Make: 'DJI', Model: 'FC3411' },
      ExifIFD: { DateTimeOriginal: '2020:02:02 02:02:02' },
      GPS: { GPSLatitude: expect.closeTo(33.312806, 5), GPSLongitude: expect.closeTo(44.361488, 5) },
      IPTC: { 'Caption-Abstract': 'Secret caption' },
    });
    expect(Object.keys(res.body.groups)).not.toContain('System');
    // Our data folder, the blob's name and the temporary path never show.
    expect(res.text).not.toContain(t.config.dataDir);
    expect(res.text).not.toContain('blobs/sha256');
    const [event] = await views(photoId, '%"part":"metadata"%');
    expect(event).toMatchObject({ actor: { id: investigator.id }, details: { part: 'metadata' } });
  });

  it("gives an e-mail's header fields, which ExifTool does not read, as the file holds them; a hostile field name stays a field", async () => {
    const tip = (await submit(t, documenter, caseId, fixture('tip.eml'), { filename: 'tip.eml', contentType: 'message/rfc822' })).body.id;
    const res = await get(investigator, tip);
    expect(res.status, res.text).toBe(200);
    expect(res.body.groups.MessageHeader).toMatchObject({ Date: 'Tue, 04 Nov 2025 03:12:07 +0200', 'User-Agent': 'Mozilla Thunderbird 128.4.0' });
    const hostile = Buffer.from('Received: by b\r\nReceived: by a\r\n__proto__: p\r\nFrom: x@example.org\r\nDate: 4 Nov 2025 03:12 +0200\r\n\r\nbody');
    const id = (await submit(t, documenter, caseId, hostile, { filename: 'hops.eml', contentType: 'message/rfc822' })).body.id;
    const fields = (await get(investigator, id)).body.groups.MessageHeader;
    expect(fields.Received).toEqual(['by b', 'by a']);
    expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('p');
  });

  it('reads the file once for many asks, from any item with those bytes, and logs every read', async () => {
    const bytes = fixture('metadata-rich.jpg');
    const [one, other] = [
      (await submit(t, investigator, caseId, Buffer.concat([bytes, Buffer.from('one')]), { filename: 'one.jpg' })).body.id,
      (await submit(t, investigator, caseId, Buffer.concat([bytes, Buffer.from('one')]), { filename: 'again.jpg' })).body.id,
    ];
    const opened = vi.spyOn(t.app.get<BlobStore>(BLOB_STORE), 'withLocalFile');
    try {
      const answers = await Promise.all([get(investigator, one), get(investigator, one), get(investigator, other)]);
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(answers[2]!.body.groups).toEqual(answers[0]!.body.groups);
      expect((await get(investigator, one)).status).toBe(200);
      expect(opened).toHaveBeenCalledTimes(1);
    } finally {
      opened.mockRestore();
    }
    expect(await views(one, '%"part":"metadata"%')).toHaveLength(3);
    expect(await views(other, '%"part":"metadata"%')).toHaveLength(1);
  });

  it('logs a HEAD as a read of the headers only', async () => {
    const head = await t.http.head(`/api/v1/evidence/${photoId}/metadata`).set('Authorization', bearer(investigator));
    expect(head.status).toBe(200);
    const events = await views(photoId, '%"method":"HEAD"%');
    expect(events.map((e) => detailsOf(e as { details: Record<string, unknown> }))).toEqual([{ part: 'metadata', method: 'HEAD' }]);
  });

  it('reads what it can of any file', async () => {
    const pdf = (await submit(t, investigator, caseId, fixture('not-an-image.pdf'), { filename: 'statement.pdf' })).body.id;
    expect((await get(investigator, pdf)).body.groups.File).toMatchObject({ FileType: 'PDF', MIMEType: 'application/pdf' });
    const opaque = (await submit(t, investigator, caseId, randomBytes(4096))).body.id;
    expect((await get(investigator, opaque)).status).toBe(200);
  });

  it('answers a file whose tags would be hundreds of MB with 422 at once, keeps that answer, and keeps serving the others', async () => {
    // A 1x1 PNG with a zTXt comment of 100 MB of one letter: 100 KB compressed.
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(body));
      return Buffer.concat([length, body, crc]);
    };
    const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer();
    const text = deflateSync(Buffer.alloc(100 * 1024 * 1024, 'A'), { level: 9 });
    const bomb = Buffer.concat([png.subarray(0, -12), chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), text])), png.subarray(-12)]);
    const submitted = await submit(t, documenter, caseId, bomb, { filename: 'bomb.png' });
    const [bombId, bombSha256] = [submitted.body.id as string, submitted.body.sha256 as string];
    const opened = vi.spyOn(t.app.get<BlobStore>(BLOB_STORE), 'withLocalFile');
    const rssBefore = process.memoryUsage().rss;
    try {
      const [refused, other] = await Promise.all([get(investigator, bombId), get(investigator, photoId)]);
      expect(other.status).toBe(200);
      expect(expectProblem(refused, 422).detail).toMatch(/passes 16 MiB/);
      // Not read again: the same bytes would say as much again.
      expectProblem(await get(investigator, bombId), 422);
      expect(opened.mock.calls.filter(([sha256]) => sha256 === bombSha256)).toHaveLength(1);
    } finally {
      opened.mockRestore();
    }
    // Its text never came into the archive's process whole.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('is for investigators and admins of the case only (api.md)', async () => {
    expect((await get(t.admin, photoId)).status).toBe(200);
    expectProblem(await get(documenter, photoId), 403);
    expectProblem(await get(auditor, photoId), 403);
    expectProblem(await get(outsider, photoId), 404);
    expectProblem(await t.http.get(`/api/v1/evidence/${photoId}/metadata`), 401);
    expectProblem(await get(investigator, 'not-a-uuid'), 400);
  });
});
