// Evidence intake over real HTTP (issue 4, "Tests that must exist"): POST /cases/:caseId/evidence
// with hand-built multipart bodies, checked against api.md and the media fixtures' README, and,
// for every refusal, that nothing at all was stored (no row, no custody event, no blob, no
// temporary file).
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { EXPECTED_METADATA } from './fixtures/media/expected-metadata.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipOf } from '../libs/media/src/test-support/archives.js';
import { verifyReceipt, type CustodyEvent, type PublishedKey, type Receipt } from '../libs/custody-core/src/index.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import {
  bearer,
  binary,
  createCase,
  expectNothingStored,
  fixture,
  listen,
  multipart,
  oggTheora,
  quietState,
  rawPost,
  sha256hex,
  sleep,
  storeState,
  submit,
  submissionParts,
  waitProcessed,
} from './support/evidence.js';

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Extracted {
  capturedAt: string | null;
  capturedAtOffset: string | null;
  location: { lat: number; lon: number; altitudeM: number | null } | null;
  device: { make: string | null; model: string | null; software: string | null } | null;
  orientation: number | null;
  width: number | null;
  height: number | null;
  durationS: number | null;
}

/** The media type of each fixture's bytes, and whether it carries no useful metadata. */
const MEDIA: Record<string, { mediaType: string; noMetadata?: boolean; extracted?: null }> = {
  'exif-ne-offset.jpg': { mediaType: 'image/jpeg' },
  'exif-nw-no-offset.jpg': { mediaType: 'image/jpeg' },
  'exif-se-digitized.jpg': { mediaType: 'image/jpeg' },
  'exif-sw-offset.jpg': { mediaType: 'image/jpeg' },
  'gps-below-sea-level.jpg': { mediaType: 'image/jpeg' },
  'gps-empty-block.jpg': { mediaType: 'image/jpeg' },
  'gps-null-island.jpg': { mediaType: 'image/jpeg' },
  'device-padded.jpg': { mediaType: 'image/jpeg' },
  'exif.png': { mediaType: 'image/png' },
  'xmp-itxt.png': { mediaType: 'image/png' },
  'xmp-text.png': { mediaType: 'image/png' },
  'metadata-rich.jpg': { mediaType: 'image/jpeg' },
  'exif.webp': { mediaType: 'image/webp' },
  'exif.tif': { mediaType: 'image/tiff' },
  'exif.heic': { mediaType: 'image/heic' },
  'grid.heic': { mediaType: 'image/heic' },
  // Stored turned, with irot: extracted width/height are the stored 48x64 (ExifTool's), not libvips' 64x48.
  'hevc-irot.heic': { mediaType: 'image/heic' },
  'avif-irot.avif': { mediaType: 'image/avif' },
  'truncated.jpg': { mediaType: 'image/jpeg' },
  'orientation-6.jpg': { mediaType: 'image/jpeg', noMetadata: true },
  'scene-a.jpg': { mediaType: 'image/jpeg', noMetadata: true },
  'movie-header.mp4': { mediaType: 'video/mp4' },
  'camera-idit.avi': { mediaType: 'video/vnd.avi' },
  // A Sony AVCHD camcorder's .MTS: its recording time, zone and maker from the H.264 stream's MDPM.
  'camcorder-mdpm.m2ts': { mediaType: 'video/mp2t' },
  // A dashcam's .TS: duration and size only, so still no_embedded_metadata.
  'video-a.m2t': { mediaType: 'video/mp2t', noMetadata: true },
  'not-an-image.pdf': { mediaType: 'application/pdf', noMetadata: true },
  // A witness statement from Word and from LibreOffice: their title, author, application and dates.
  'statement.docx': { mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
  'statement.odt': { mediaType: 'application/vnd.oasis.opendocument.text' },
  // The same from Word 97-2003 and Excel 97-2003 files (LibreOffice's): a compound file's summary.
  'statement-libreoffice.doc': { mediaType: 'application/msword' },
  'losses-libreoffice.xls': { mediaType: 'application/vnd.ms-excel' },
  // RTF, as Word and as LibreOffice write it.
  'statement.rtf': { mediaType: 'application/rtf' },
  'statement-libreoffice.rtf': { mediaType: 'application/rtf' },
  // An e-mail tip and a page saved by the browser: their header blocks.
  'tip.eml': { mediaType: 'message/rfc822' },
  'tip-outlook-express.eml': { mediaType: 'message/rfc822' },
  'tip-forwarded.eml': { mediaType: 'message/rfc822' },
  'saved-page.mhtml': { mediaType: 'multipart/related' },
  // An Outlook message saved as a file: a compound file of its own properties.
  'outlook.msg': { mediaType: 'application/vnd.ms-outlook' },
  'outlook-attachments.msg': { mediaType: 'application/vnd.ms-outlook' },
  // A mailbox (mbox) of three e-mails: counted, none of them read as the file's own.
  'mailbox.mbox': { mediaType: 'application/mbox', noMetadata: true },
  // ZIP archives: the files they hold (a phone's export as a stream would write it, one with an encrypted file).
  'photos-export.zip': { mediaType: 'application/zip', noMetadata: true },
  'encrypted.zip': { mediaType: 'application/zip', noMetadata: true },
  'random.bin': { mediaType: 'application/octet-stream', noMetadata: true, extracted: null },
};

/** What test/fixtures/media/README.md says each file holds, and the media type of its bytes. */
const FIXTURES: Record<string, { mediaType: string; extracted: Extracted | null; noMetadata?: boolean }> = Object.fromEntries(
  Object.entries(MEDIA).map(([name, media]) => [
    name,
    { ...media, extracted: media.extracted === null ? null : (EXPECTED_METADATA[name] as Extracted) },
  ]),
);

function expectExtracted(actual: Extracted | null, expected: Extracted | null, name: string): void {
  if (expected === null) {
    expect(actual, name).toBeNull();
    return;
  }
  expect(actual, name).not.toBeNull();
  const { location, ...rest } = actual!;
  const { location: expectedLocation, ...expectedRest } = expected;
  expect(rest, name).toEqual(expectedRest);
  if (expectedLocation === null) {
    expect(location, `${name}: location`).toBeNull();
  } else {
    expect(location, `${name}: location`).not.toBeNull();
    expect(location!.lat, `${name}: lat`).toBeCloseTo(expectedLocation.lat, 6);
    expect(location!.lon, `${name}: lon`).toBeCloseTo(expectedLocation.lon, 6);
    expect(location!.altitudeM, `${name}: altitude`).toBe(expectedLocation.altitudeM);
  }
}

const MISMATCH_FLAGS = ['location_mismatch', 'time_mismatch'];
const mismatchFlags = (flags: string[]): string[] => flags.filter((f) => MISMATCH_FLAGS.includes(f)).sort();

describe('evidence intake (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let documenter: TestUser;
  let auditor: TestUser;
  let outsider: TestUser;
  let caseId: string;
  let keys: PublishedKey[];
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigator = await t.user('investigator', 'Ivana Investigator');
    documenter = await t.user('documenter', 'Dmytro Documenter');
    auditor = await t.user('auditor', 'Aurelia Auditor');
    outsider = await t.user('investigator', 'Otto Outsider');
    caseId = await createCase(t, investigator, 'Intake', [documenter, auditor]);
    keys = (await t.http.get('/api/v1/log/keys').set('Authorization', bearer(auditor))).body;
    expect(keys.length).toBeGreaterThan(0);
    port = await listen(t);
  });
  afterAll(async () => t?.close());

  it('accepts a submission: 201, the resource of api.md, the blob stored once by hash, and a receipt that verifies', async () => {
    const file = fixture('exif-ne-offset.jpg');
    const sha256 = sha256hex(file);
    const before = await quietState(t);
    const started = Date.now();
    const metadata = {
      sha256,
      clientSubmissionId: `phone-7-${randomUUID()}`,
      capturedAt: '2008-05-30T15:56:30+03:00',
      location: { lat: 33.3128, lon: 44.3615, accuracyM: 12 },
      title: 'Market square, morning',
      description: 'Taken from the roof of the pharmacy',
      tags: ['market', 'drone'],
      sourceType: 'field_capture',
      language: 'ar',
    };
    const res = await submit(t, documenter, caseId, file, { metadata, filename: 'IMG_0001.JPG', contentType: 'image/jpeg' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.body;
    for (const key of [
      'id', 'caseId', 'sha256', 'sizeBytes', 'mediaType', 'declaredMediaType', 'originalFileName', 'submittedBy', 'receivedAt', 'sourceType',
      'sourceUrl', 'title', 'description', 'tags', 'incidentId', 'status', 'declared', 'extracted', 'flags', 'duplicateOf', 'nearDuplicates',
      'perceptualHash', 'derivatives', 'receipt',
    ]) {
      expect(body, `resource lacks "${key}"`).toHaveProperty(key);
    }
    expect(body).toMatchObject({
      caseId,
      sha256,
      sizeBytes: file.length,
      mediaType: 'image/jpeg',
      declaredMediaType: 'image/jpeg',
      originalFileName: 'IMG_0001.JPG',
      submittedBy: { id: documenter.id, displayName: 'Dmytro Documenter' },
      sourceType: 'field_capture',
      sourceUrl: null,
      title: 'Market square, morning',
      description: 'Taken from the roof of the pharmacy',
      tags: ['market', 'drone'],
      incidentId: null,
      status: 'received',
      declared: { capturedAt: '2008-05-30T12:56:30.000Z', location: { lat: 33.3128, lon: 44.3615, accuracyM: 12 } },
      flags: [],
      duplicateOf: null,
      nearDuplicates: [],
    });
    expect(body.id).toMatch(UUID);
    expect(body.receivedAt).toMatch(ISO_MS);
    expect(Date.parse(body.receivedAt)).toBeGreaterThanOrEqual(started - 1000);
    expect(Date.parse(body.receivedAt)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(body.perceptualHash === null || /^[0-9a-f]{16}$/.test(body.perceptualHash)).toBe(true);
    expect(Object.keys(body.derivatives).sort()).toEqual(['preview', 'thumbnail']);
    expectExtracted(body.extracted, FIXTURES['exif-ne-offset.jpg']!.extracted, 'exif-ne-offset.jpg');

    // The receipt: the evidence.submitted event, its leaf, a signed head and an inclusion proof.
    const receipt: Receipt = body.receipt;
    expect(Object.keys(receipt).sort()).toEqual(['event', 'inclusionProof', 'leafHash', 'leafIndex', 'treeHead']);
    expect(Object.keys(receipt.treeHead)).toEqual(expect.arrayContaining(['treeSize', 'rootHash', 'timestamp', 'keyId', 'signature']));
    expect(verifyReceipt(receipt, keys)).toEqual({ valid: true });
    expect(receipt.event).toMatchObject({
      action: 'evidence.submitted',
      caseId,
      actor: { id: documenter.id, role: 'documenter' },
      subject: { type: 'evidence', id: body.id, sha256 },
      index: receipt.leafIndex,
    });
    expect(receipt.treeHead.treeSize).toBeGreaterThan(receipt.leafIndex);
    // A receipt that lies about the bytes does not verify.
    const forged = structuredClone(receipt);
    forged.event.subject.sha256 = sha256hex(Buffer.from('other bytes'));
    expect(verifyReceipt(forged, keys).valid).toBe(false);
    // The declared position and the file's own position stay out of the log: no position field,
    // and none of their digits (to four places, which no time's seconds and milliseconds have: a
    // time of hh:mm:33.312Z once matched "33.31").
    expect(JSON.stringify(receipt)).not.toMatch(/"(lat|lon|latitude|longitude|location|gps)"/i);
    expect(JSON.stringify(receipt)).not.toMatch(/33\.3128|44\.361[45]/);

    // Stored: one row, one blob at its content address, byte for byte; no temporary file (once
    // the derivative job, which also passes through the temporary area, is done).
    const after = await quietState(t);
    expect(after.rows).toBe(before.rows + 1);
    expect(after.temporary).toEqual([]);
    const blobPath = path.join(t.config.dataDir, 'blobs', 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
    expect(readFileSync(blobPath).equals(file)).toBe(true);
    expect(after.blobs).toContain(path.relative(path.join(t.config.dataDir, 'blobs'), blobPath));
    const [row] = await t.db.superuserQuery(`SELECT sha256, size_bytes::int AS size, submitted_by FROM evidence_items WHERE id = $1`, [body.id]);
    expect(row).toEqual({ sha256, size: file.length, submitted_by: documenter.id });

    // GET answers the same resource (without the receipt).
    const got = await t.http.get(`/api/v1/evidence/${body.id}`).set('Authorization', bearer(documenter));
    expect(got.status).toBe(200);
    const { receipt: _receipt, receiptUrl: _url, perceptualHash: _p, derivatives: _d, processing: _s, processingError: _e, flags: _f, nearDuplicates: _n, ...stable } = body;
    expect(got.body).toMatchObject(stable);

    // And the log holds the submission and the extraction.
    const custody = await t.http.get(`/api/v1/evidence/${body.id}/custody`).set('Authorization', bearer(documenter));
    expect(custody.status).toBe(200);
    const actions = custody.body.events.map((e: { event: { action: string } }) => e.event.action);
    expect(actions.slice(0, 2)).toEqual(['evidence.submitted', 'evidence.metadata_extracted']);
    expect(custody.body.events[0].leafIndex).toBe(receipt.leafIndex);
    expect(custody.body.events[0].leafHash).toBe(receipt.leafHash);
    // Neither the declared nor the embedded position is written into the log (as for the receipt).
    expect(JSON.stringify(custody.body.events)).not.toMatch(/"(lat|lon|latitude|longitude|location|gps)"/i);
    expect(JSON.stringify(custody.body.events)).not.toMatch(/33\.3128|44\.361[45]/);
    // Nor the capture time or the device (an auditor reads the log, never content), nor a hash of
    // them (guessable from a working copy's rounded record).
    const read = custody.body.events[1].event.details;
    expect(Object.keys(detailsOf({ details: read })).sort()).toEqual(['flags', 'found', 'hasLocation', 'onBehalfOf']);
    expect(read).toMatchObject({ found: true, hasLocation: true });
    expect(JSON.stringify(custody.body.events)).not.toContain(got.body.extracted.device.model);
  });

  it('the metadata part may come after the file part, and may be left out', async () => {
    const file = randomBytes(3000);
    const late = await submit(t, investigator, caseId, file, { metadata: { sha256: sha256hex(file), title: 'late metadata' }, metadataLast: true });
    expect(late.status, JSON.stringify(late.body)).toBe(201);
    expect(late.body.title).toBe('late metadata');
    const bare = await submit(t, investigator, caseId, randomBytes(100), { metadata: null });
    expect(bare.status, JSON.stringify(bare.body)).toBe(201);
    expect(bare.body).toMatchObject({ title: null, tags: [], sourceType: 'other', declared: { capturedAt: null, location: null } });
  });

  describe('embedded metadata, field by field against the fixtures README', () => {
    let tableCase: string;
    beforeAll(async () => {
      tableCase = await createCase(t, investigator, 'Fixture table');
    });

    for (const [name, expected] of Object.entries(FIXTURES)) {
      it(`${name}: mediaType ${expected.mediaType}, extracted as written${expected.noMetadata ? ', no_embedded_metadata' : ''}`, async () => {
        const file = fixture(name);
        const res = await submit(t, investigator, tableCase, file, { metadata: { sha256: sha256hex(file) }, filename: name });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(res.body.mediaType).toBe(expected.mediaType);
        expectExtracted(res.body.extracted, expected.extracted, name);
        expect(res.body.flags).toEqual(expected.noMetadata ? ['no_embedded_metadata'] : []);
        // The stored record says the same as the answer.
        const got = await t.http.get(`/api/v1/evidence/${res.body.id}`).set('Authorization', bearer(investigator));
        expectExtracted(got.body.extracted, expected.extracted, `${name} (GET)`);
        // The file's position is searchable: the generated column holds the embedded fix, and none for 0,0 or an empty block.
        const [row] = await t.db.superuserQuery(`SELECT lat, lon FROM evidence_items WHERE id = $1`, [res.body.id]);
        if (expected.extracted?.location) {
          expect(row.lat).toBeCloseTo(expected.extracted.location.lat, 6);
          expect(row.lon).toBeCloseTo(expected.extracted.location.lon, 6);
        } else {
          expect(row).toEqual({ lat: null, lon: null });
        }
      });
    }
  });

  describe('location_mismatch and time_mismatch (tolerances 1000 m and 3600 s)', () => {
    let flagCase: string;
    // exif-sw-offset.jpg: -22.951916, -43.210487 at 2008-05-30T18:56:01.000Z (offset -03:00).
    const file = fixture('exif-sw-offset.jpg');
    const at = Date.parse('2008-05-30T18:56:01.000Z');
    const iso = (ms: number): string => new Date(ms).toISOString();
    const northBy = (metres: number) => ({ lat: -22.951916 + metres / 111_195, lon: -43.210487 });

    beforeAll(async () => {
      flagCase = await createCase(t, investigator, 'Flags');
    });

    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      ['agreeing declarations', { location: northBy(20), capturedAt: '2008-05-30T15:56:00-03:00' }, []],
      ['a position 950 m away', { location: northBy(950) }, []],
      ['a position 1050 m away', { location: northBy(1050) }, ['location_mismatch']],
      ['a position in another country', { location: { lat: 50.45, lon: 30.52 } }, ['location_mismatch']],
      ['a time 3500 s off', { capturedAt: iso(at + 3_500_000) }, []],
      ['a time 3700 s off', { capturedAt: iso(at - 3_700_000) }, ['time_mismatch']],
      ['the same wall-clock time read as UTC (the offset ignored)', { capturedAt: '2008-05-30T15:56:01Z' }, ['time_mismatch']],
      ['both wrong', { location: northBy(5000), capturedAt: iso(at + 86_400_000) }, ['location_mismatch', 'time_mismatch']],
    ];
    for (const [label, declared, flags] of cases) {
      it(`${label} → ${flags.length ? flags.join(' + ') : 'no mismatch flag'}`, async () => {
        const res = await submit(t, investigator, flagCase, file, { metadata: declared });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(mismatchFlags(res.body.flags)).toEqual(flags);
        expect(res.body.extracted.location.lat).toBeCloseTo(-22.951916, 6); // declarations never overwrite the file's word
      });
    }

    it('a camera time without offset is never given a guessed zone: a plausible zone is no mismatch, days apart is', async () => {
      const nw = fixture('exif-nw-no-offset.jpg'); // 2008-05-30T15:56:01, no offset
      const local = await submit(t, investigator, flagCase, nw, { metadata: { capturedAt: '2008-05-30T15:56:01-04:00' } });
      expect(local.status).toBe(201);
      expect(mismatchFlags(local.body.flags)).toEqual([]);
      expect(local.body.extracted.capturedAt).toBe('2008-05-30T15:56:01');
      const later = await submit(t, investigator, flagCase, nw, { metadata: { capturedAt: '2008-06-02T15:56:01Z' } });
      expect(later.status).toBe(201);
      expect(mismatchFlags(later.body.flags)).toEqual(['time_mismatch']);
    });
  });

  it('a hash that differs from the bytes: 422 naming metadata.sha256, nothing stored', async () => {
    const file = randomBytes(20_000);
    const before = await quietState(t);
    const res = await submit(t, documenter, caseId, file, { metadata: { sha256: sha256hex(randomBytes(10)), clientSubmissionId: randomUUID() } });
    const problem = expectProblem(res, 422);
    expect(problem.errors?.map((e) => e.field)).toContain('metadata.sha256');
    await expectNothingStored(t, before);
    // Upper-case hex of the right hash is the same hash.
    const ok = await submit(t, documenter, caseId, file, { metadata: { sha256: sha256hex(file).toUpperCase() } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });

  it('idempotency: the same key and bytes answer 200 with the first record; other bytes 409 and nothing stored', async () => {
    const key = `device-42-${randomUUID()}`;
    const file = randomBytes(10_000);
    const first = await submit(t, documenter, caseId, file, { metadata: { clientSubmissionId: key, sha256: sha256hex(file), title: 'first' } });
    expect(first.status, JSON.stringify(first.body)).toBe(201);

    const before = await quietState(t);
    const again = await submit(t, documenter, caseId, file, { metadata: { clientSubmissionId: key, sha256: sha256hex(file), title: 'retry' } });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.title).toBe('first');
    expect(again.body.receipt.leafIndex).toBe(first.body.receipt.leafIndex);
    expect(verifyReceipt(again.body.receipt, keys)).toEqual({ valid: true });
    await expectNothingStored(t, before);

    const other = randomBytes(10_000);
    const conflict = await submit(t, documenter, caseId, other, { metadata: { clientSubmissionId: key, sha256: sha256hex(other) } });
    expectProblem(conflict, 409);
    await expectNothingStored(t, before);
    expect(existsSync(path.join(t.config.dataDir, 'blobs', 'sha256', sha256hex(other).slice(0, 2), sha256hex(other).slice(2, 4), sha256hex(other)))).toBe(false);

    // The same key and bytes sent to another case: not a repeat of the first, and nothing stored.
    const secondCase = await createCase(t, investigator, 'Another case for a key', [documenter]);
    const beforeElsewhere = await quietState(t);
    const elsewhere = await submit(t, documenter, secondCase, file, { metadata: { clientSubmissionId: key, sha256: sha256hex(file) } });
    expect(expectProblem(elsewhere, 409).detail).toMatch(/another case/);
    await expectNothingStored(t, beforeElsewhere);

    // The key is the submitter's own: another user may use the same one.
    const byOther = await submit(t, investigator, caseId, other, { metadata: { clientSubmissionId: key } });
    expect(byOther.status, JSON.stringify(byOther.body)).toBe(201);
  });

  it('the same key and bytes sent twice at once: one 201, one 200 with the same record, one blob', async () => {
    const before = await quietState(t);
    const key = `burst-${randomUUID()}`;
    const file = randomBytes(300_000);
    const same = await Promise.all([0, 1].map(() => submit(t, documenter, caseId, file, { metadata: { clientSubmissionId: key } })));
    expect(same.map((r) => r.status).sort(), JSON.stringify(same.map((r) => r.body))).toEqual([200, 201]);
    expect(same[0]!.body.id).toBe(same[1]!.body.id);
    const after = await quietState(t);
    expect(after.rows).toBe(before.rows + 1);
    expect(after.blobs.length).toBe(before.blobs.length + 1);
    expect(after.temporary).toEqual([]);
  });

  it('the same key with other bytes sent at once: one 201, one 409, and nothing of the refused bytes is stored', async () => {
    const before = await quietState(t);
    const key = `burst-${randomUUID()}`;
    const files = [randomBytes(300_000), randomBytes(300_000)];
    const answers = await Promise.all(files.map((bytes) => submit(t, documenter, caseId, bytes, { metadata: { clientSubmissionId: key } })));
    expect(answers.map((r) => r.status).sort(), JSON.stringify(answers.map((r) => r.body))).toEqual([201, 409]);
    const refused = files[answers.findIndex((r) => r.status === 409)]!;
    const after = await quietState(t);
    expect(after.rows).toBe(before.rows + 1);
    expect(after.temporary).toEqual([]);
    // Every stored blob belongs to an evidence item (original or derivative): no orphan bytes.
    const referenced = new Set(
      (await t.db.superuserQuery<{ h: string }>(
        `SELECT sha256 AS h FROM evidence_items UNION SELECT thumbnail_sha256 FROM evidence_items UNION SELECT preview_sha256 FROM evidence_items`,
      )).map((r) => r.h),
    );
    const orphans = after.blobs.map((b) => path.basename(b)).filter((h) => !referenced.has(h));
    expect(orphans, 'blobs no evidence item refers to').toEqual([]);
    expect(after.blobs.some((b) => b.endsWith(sha256hex(refused))), 'the refused bytes were stored').toBe(false);
  });

  it('an empty file is refused (422 naming file), nothing stored (api.md; more in evidence-intake-refusals)', async () => {
    const empty = Buffer.alloc(0);
    const before = await quietState(t);
    const res = await submit(t, documenter, caseId, empty, { metadata: { sha256: sha256hex(empty) }, filename: 'empty.txt' });
    expect(expectProblem(res, 422).errors?.map((e) => e.field)).toContain('file');
    await expectNothingStored(t, before);
  });

  it('the same bytes again without a key: a new record flagged exact_duplicate of the first, the blob kept once', async () => {
    const file = randomBytes(8_000);
    const first = await submit(t, documenter, caseId, file);
    expect(first.status).toBe(201);
    expect(first.body.flags).not.toContain('exact_duplicate');
    expect(first.body.duplicateOf).toBeNull();
    const before = await quietState(t);
    const second = await submit(t, investigator, caseId, file);
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
    expect(second.body.flags).toContain('exact_duplicate');
    expect(second.body.duplicateOf).toBe(first.body.id);
    const after = await quietState(t);
    expect(after.rows).toBe(before.rows + 1);
    expect(after.blobs).toEqual(before.blobs);
    // Duplicates are per case: the same bytes in another case are not a duplicate there.
    const otherCase = await createCase(t, investigator, 'Other case for duplicates');
    const elsewhere = await submit(t, investigator, otherCase, file);
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.flags).not.toContain('exact_duplicate');
    expect(elsewhere.body.duplicateOf).toBeNull();
    // A documenter sending bytes someone else sent does not learn that someone did: neither the
    // resource (flag, duplicateOf), nor a search by the flag, nor the receipt's signed event, nor
    // their view of the log says so.
    const others = randomBytes(8_000);
    const investigators = await submit(t, investigator, caseId, others);
    const theirs = await submit(t, documenter, caseId, others);
    expect(theirs.status, JSON.stringify(theirs.body)).toBe(201);
    expect(theirs.body.flags).not.toContain('exact_duplicate');
    expect(theirs.body.duplicateOf).toBeNull();
    expect((await t.http.get(`/api/v1/cases/${caseId}/evidence?flag=exact_duplicate`).set('Authorization', bearer(documenter))).body.items).toEqual([]);
    const leak = (value: unknown) => JSON.stringify(value).includes(investigators.body.id);
    expect(theirs.body.receipt.event.details).not.toHaveProperty('duplicateOf');
    expect(leak(theirs.body), 'the answer names another item').toBe(false);
    const entries = await t.http.get(`/api/v1/log/entries?start=${theirs.body.receipt.leafIndex}&end=${theirs.body.receipt.leafIndex}`).set('Authorization', bearer(documenter));
    expect(entries.status).toBe(200);
    expect(entries.body.map((entry: { event?: { action: string } }) => entry.event?.action)).toEqual(['evidence.submitted']);
    expect(leak(entries.body), 'the log entries name another item').toBe(false);
    const custody = await t.http.get(`/api/v1/evidence/${theirs.body.id}/custody`).set('Authorization', bearer(documenter));
    expect(custody.status).toBe(200);
    expect(JSON.stringify(custody.body)).not.toContain('exact_duplicate');
    expect(leak(custody.body), 'the item custody names another item').toBe(false);
    // Who may read both still sees which item it copies.
    const asInvestigator = await t.http.get(`/api/v1/evidence/${theirs.body.id}`).set('Authorization', bearer(investigator));
    expect(asInvestigator.body.duplicateOf).toBe(investigators.body.id);
    expect(asInvestigator.body.flags).toContain('exact_duplicate');
  });

  it('the same bytes sent twice at the same moment: one is the first, the other its exact_duplicate (in each of six cases)', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, async (_, n) => {
        const pairCase = await createCase(t, investigator, `Same bytes together ${n}`, [documenter]);
        const file = randomBytes(8_000);
        return Promise.all([submit(t, documenter, pairCase, file), submit(t, investigator, pairCase, file)]);
      }),
    );
    for (const [n, pair] of results.entries()) {
      expect(pair.map((res) => res.status), `pair ${n}`).toEqual([201, 201]);
      // As the investigator sees them (a documenter is not shown the id of someone else's item).
      const [a, b] = await Promise.all(pair.map(async (res) => (await t.http.get(`/api/v1/evidence/${res.body.id}`).set('Authorization', bearer(investigator))).body));
      expect([a, b].filter((item) => item.flags.includes('exact_duplicate')).length, `pair ${n}: exactly one is the duplicate`).toBe(1);
      const [original, copy] = a.flags.includes('exact_duplicate') ? [b, a] : [a, b];
      expect(copy.duplicateOf, `pair ${n}`).toBe(original.id);
      expect(original.duplicateOf, `pair ${n}`).toBeNull();
    }
  });

  it('a client that goes away mid-file leaves no record and no temporary file', async () => {
    const before = await quietState(t);
    const file = randomBytes(4 * 1024 * 1024);
    const { body, contentType } = multipart(submissionParts(file, { metadata: { sha256: sha256hex(file) }, filename: 'video.mp4' }));
    const sent = body.subarray(0, body.length / 2);
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/api/v1/cases/${caseId}/evidence`,
      headers: { 'Content-Type': contentType, 'Content-Length': String(body.length), Authorization: bearer(documenter) },
      agent: false,
    });
    req.on('error', () => undefined);
    req.write(sent);
    // Wait until the server streams the file into its temporary area, then drop the connection.
    const deadline = Date.now() + 10_000;
    while ((await storeState(t)).temporary.length === 0) {
      if (Date.now() > deadline) throw new Error('the upload never reached the temporary area');
      await sleep(20);
    }
    req.destroy();
    await expectNothingStored(t, before, 5_000);
    // The server is fine afterwards.
    const next = await submit(t, documenter, caseId, randomBytes(500));
    expect(next.status).toBe(201);
  });

  describe('malformed submissions: 400 and nothing stored', () => {
    const post = (contentType: string, body: Buffer | string, user: TestUser = documenter) =>
      t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(user)).set('Content-Type', contentType).send(body);

    it('garbage under a multipart boundary', async () => {
      const before = await quietState(t);
      expectProblem(await post('multipart/form-data; boundary=XyZ123', Buffer.from('this is not a multipart body at all\r\n'.repeat(50))), 400);
      await expectNothingStored(t, before);
    });

    it('multipart without a boundary parameter', async () => {
      const before = await quietState(t);
      expectProblem(await post('multipart/form-data', 'whatever'), 400);
      await expectNothingStored(t, before);
    });

    it('a file part whose body ends before the closing boundary', async () => {
      const before = await quietState(t);
      const file = randomBytes(200_000);
      const { body, contentType } = multipart(submissionParts(file));
      // Cut just before the final "\r\n--boundary--\r\n": the content length is honest, the structure is not.
      const cut = body.subarray(0, body.length - 200);
      expectProblem(await post(contentType, cut), 400);
      await expectNothingStored(t, before);
    });

    it('a missing file part', async () => {
      const before = await quietState(t);
      const { body, contentType } = multipart([{ name: 'metadata', value: JSON.stringify({ title: 'no file' }) }]);
      const problem = expectProblem(await post(contentType, body), 400);
      expect(problem.errors?.map((e) => e.field)).toContain('file');
      await expectNothingStored(t, before);
    });

    it('a file part without a filename (read as a field) is named, before or after the metadata', async () => {
      const before = await quietState(t);
      const metadata = { name: 'metadata', value: JSON.stringify({ title: 'no file name' }) };
      const file = { name: 'file', value: randomBytes(5000), contentType: 'image/jpeg' };
      // An outside audit: after the metadata, it was refused as a second metadata part.
      for (const parts of [[metadata, file], [file, metadata]]) {
        const built = multipart(parts);
        const problem = expectProblem(await post(built.contentType, built.body), 400);
        expect(problem.detail).toMatch(/^The part "file" has no filename/);
        expect(problem.errors).toEqual([{ field: 'file', message: 'needs a filename parameter' }]);
      }
      // Two metadata parts are still refused as that.
      const twice = multipart([metadata, metadata, { name: 'file', value: randomBytes(50), filename: 'a.jpg', contentType: 'image/jpeg' }]);
      expect(expectProblem(await post(twice.contentType, twice.body), 400).errors).toEqual([{ field: 'metadata', message: 'only one metadata part' }]);
      await expectNothingStored(t, before);
      // Without a filename but as application/octet-stream, the part is the file.
      const octets = multipart([metadata, { name: 'file', value: randomBytes(5000), contentType: 'application/octet-stream' }]);
      const stored = await post(octets.contentType, octets.body);
      expect(stored.status, JSON.stringify(stored.body)).toBe(201);
      expect(stored.body.originalFileName).toBeNull();
    });

    it('a metadata part that is not JSON names metadata', async () => {
      const before = await quietState(t);
      const res = await submit(t, documenter, caseId, randomBytes(5000), { metadata: '{"title": "unterminated' });
      const problem = expectProblem(res, 400);
      expect(problem.errors?.map((e) => e.field)).toContain('metadata');
      await expectNothingStored(t, before);
    });

    it('metadata that is JSON but not an object', async () => {
      const before = await quietState(t);
      expectProblem(await submit(t, documenter, caseId, randomBytes(500), { metadata: '["a", "b"]' }), 400);
      await expectNothingStored(t, before);
    });

    it('an unknown metadata field is named', async () => {
      const before = await quietState(t);
      const res = await submit(t, documenter, caseId, randomBytes(5000), { metadata: { title: 'x', colour: 'red' } });
      const problem = expectProblem(res, 400);
      expect(problem.errors?.map((e) => e.field)).toContain('metadata.colour');
      await expectNothingStored(t, before);
    });

    it('mistyped metadata fields are named', async () => {
      const before = await quietState(t);
      const res = await submit(t, documenter, caseId, randomBytes(500), {
        metadata: { sha256: 'abc', tags: 'one', sourceType: 'rumour', capturedAt: 'yesterday', location: { lat: 'north', lon: 3 } },
      });
      const fields = expectProblem(res, 400).errors?.map((e) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['metadata.sha256', 'metadata.tags', 'metadata.sourceType', 'metadata.capturedAt', 'metadata.location.lat']));
      await expectNothingStored(t, before);
    });

    it('an unknown extra part', async () => {
      const before = await quietState(t);
      const { body, contentType } = multipart([...submissionParts(randomBytes(500)), { name: 'comment', value: 'hello' }]);
      expectProblem(await post(contentType, body), 400);
      await expectNothingStored(t, before);
    });

    it('two file parts', async () => {
      const before = await quietState(t);
      const parts = submissionParts(randomBytes(500));
      const { body, contentType } = multipart([...parts, { name: 'file', value: randomBytes(500), filename: 'second.bin' }]);
      expectProblem(await post(contentType, body), 400);
      await expectNothingStored(t, before);
    });
  });

  it('coordinates out of range: 422 naming metadata.location.lat (and .lon), nothing stored', async () => {
    const before = await quietState(t);
    const lat = await submit(t, documenter, caseId, randomBytes(5000), { metadata: { location: { lat: 91, lon: 30 } } });
    expect(expectProblem(lat, 422).errors?.map((e) => e.field)).toContain('metadata.location.lat');
    const lon = await submit(t, documenter, caseId, randomBytes(5000), { metadata: { location: { lat: -45, lon: -180.5 } } });
    expect(expectProblem(lon, 422).errors?.map((e) => e.field)).toContain('metadata.location.lon');
    await expectNothingStored(t, before);
  });

  it('a capture time without a zone, or in the future, is refused (422), nothing stored', async () => {
    const before = await quietState(t);
    const noZone = await submit(t, documenter, caseId, randomBytes(500), { metadata: { capturedAt: '2024-03-01T10:00:00' } });
    const status = noZone.status;
    expect([400, 422]).toContain(status);
    expect(expectProblem(noZone, status).errors?.map((e) => e.field)).toContain('metadata.capturedAt');
    const future = await submit(t, documenter, caseId, randomBytes(500), { metadata: { capturedAt: new Date(Date.now() + 7 * 86_400_000).toISOString() } });
    expect(expectProblem(future, 422).errors?.map((e) => e.field)).toContain('metadata.capturedAt');
    await expectNothingStored(t, before);
  });

  it('a filename with ../ and control characters is kept as a label only: no control characters, nothing outside the blob store', async () => {
    const before = await quietState(t);
    const marker = `escape-${randomBytes(4).toString('hex')}`;
    const file = randomBytes(2000);
    // A quoted filename may carry HTAB raw (other C0 controls make the part header malformed: 400).
    const { body, contentType } = multipart([
      { name: 'metadata', value: '{}' },
      { name: 'file', value: file, filename: `../../../../${marker}\t\tname.jpg`, contentType: 'image/jpeg' },
    ]);
    const res = await t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(documenter)).set('Content-Type', contentType).send(body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const name: string = res.body.originalFileName;
    expect(name).toContain(marker);
    expect(name).not.toContain('../');
    expect(name).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);

    // The same with RFC 5987 percent-encoding, which can smuggle CR LF and slashes.
    const file2 = randomBytes(2000);
    const encoded = await t.http
      .post(`/api/v1/cases/${caseId}/evidence`)
      .set('Authorization', bearer(documenter))
      .set('Content-Type', 'multipart/form-data; boundary=b0undary')
      .send(
        multipart(
          [
            { name: 'metadata', value: '{}' },
            { name: 'file', value: file2, disposition: `form-data; name="file"; filename*=UTF-8''..%2F..%2F${marker}-2%0D%0AX-Injected%3A%201%07.jpg` },
          ],
          'b0undary',
        ).body,
      );
    expect(encoded.status, JSON.stringify(encoded.body)).toBe(201);
    expect(encoded.body.originalFileName).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);

    // Only content-addressed blobs appeared, named by their hashes; nothing escaped the data folder.
    const after = await quietState(t);
    const added = after.dataFiles.filter((f) => !before.dataFiles.includes(f));
    const blobOf = (bytes: Buffer) => {
      const h = sha256hex(bytes);
      return path.join('blobs', 'sha256', h.slice(0, 2), h.slice(2, 4), h);
    };
    expect(added.sort()).toEqual([blobOf(file), blobOf(file2)].sort());
    expect(existsSync(path.join(os.tmpdir(), `${marker}.jpg`))).toBe(false);
    expect(after.dataFiles.some((f) => f.includes(marker))).toBe(false);

    // Downloading it answers a well-formed attachment header, without the control characters.
    for (const id of [res.body.id, encoded.body.id]) {
      const download = await t.http.get(`/api/v1/evidence/${id}/content`).set('Authorization', bearer(documenter)).buffer(true).parse(binary);
      expect(download.status).toBe(200);
      expect(download.headers['content-disposition']).toMatch(/^attachment;/);
      expect(download.headers['content-disposition']).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(download.headers['x-injected']).toBeUndefined();
    }
  });

  it('a UTF-8 filename, as browsers send it, is kept as written', async () => {
    const name = 'Харків — фото №1 (سوق).jpg';
    const res = await submit(t, documenter, caseId, randomBytes(300), { filename: name, contentType: 'image/jpeg' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.originalFileName).toBe(name);
    const download = await t.http.get(`/api/v1/evidence/${res.body.id}/content`).set('Authorization', bearer(documenter)).buffer(true).parse(binary);
    const star = /filename\*=UTF-8''([^;\s]+)/i.exec(download.headers['content-disposition'] ?? '');
    expect(star, download.headers['content-disposition']).not.toBeNull();
    expect(decodeURIComponent(star![1]!)).toBe(name);
  });

  it('a filename with a bidirectional override is kept as sent, and downloads under a name without it', async () => {
    const name = 'invoice\u202egpj.exe';
    const res = await submit(t, documenter, caseId, randomBytes(300), { filename: name, contentType: 'application/octet-stream' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const download = await t.http.get(`/api/v1/evidence/${res.body.id}/content`).set('Authorization', bearer(documenter)).buffer(true).parse(binary);
    const star = /filename\*=UTF-8''([^;\s]+)/i.exec(download.headers['content-disposition'] ?? '');
    expect(star, download.headers['content-disposition']).not.toBeNull();
    expect(decodeURIComponent(star![1]!)).toBe('invoicegpj.exe');
    expect((await t.http.get(`/api/v1/evidence/${res.body.id}`).set('Authorization', bearer(documenter))).body.originalFileName).toBe(name);
  });

  it('a decompression-bomb PNG is stored (201), its derivative job fails cleanly, and the item and its bytes stay', async () => {
    const file = fixture('bomb.png');
    const res = await submit(t, documenter, caseId, file, { metadata: { sha256: sha256hex(file) }, filename: 'bomb.png', contentType: 'image/png' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.mediaType).toBe('image/png');
    expect(res.body.extracted).toMatchObject({ width: 20000, height: 20000 });
    const done = await waitProcessed(t, documenter, res.body.id);
    expect(done.processing).toBe('failed');
    expect(done.processingError).toMatch(/too_many_pixels/);
    expect(done.derivatives).toEqual({ thumbnail: null, preview: null });
    expectProblem(await t.http.get(`/api/v1/evidence/${res.body.id}/thumbnail`).set('Authorization', bearer(documenter)), 404);
    const content = await t.http.get(`/api/v1/evidence/${res.body.id}/content`).set('Authorization', bearer(documenter)).buffer(true).parse(binary);
    expect(content.status).toBe(200);
    expect((content.body as Buffer).equals(file)).toBe(true);
    // The server still answers.
    expect((await t.http.get('/api/v1/health')).status).toBe(200);
  });

  it('a voice note (Ogg Opus, as WhatsApp sends it) and an MP3 recording: their duration, and no_embedded_metadata', async () => {
    for (const [name, type, duration] of [['voice.opus', 'audio/ogg', 3.25], ['voice.mp3', 'audio/mpeg', 3.384]] as const) {
      const res = await submit(t, documenter, caseId, fixture(name), { filename: name, contentType: type });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.extracted, name).toMatchObject({ durationS: duration, capturedAt: null, location: null, device: null });
      expect(res.body.flags, name).toContain('no_embedded_metadata');
      expect(res.body.flags, name).not.toContain('type_mismatch');
    }
  });

  it('an RTF statement sent as a Mac or a Linux desktop names it (text/rtf) is no type_mismatch; what it says of itself is read', async () => {
    const res = await submit(t, documenter, caseId, fixture('statement.rtf'), { filename: 'Свідчення.rtf', contentType: 'text/rtf' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.mediaType).toBe('application/rtf');
    expect(res.body.flags).toEqual([]);
    expect(res.body.extracted.document).toMatchObject({ author: 'Олена Коваль', lastModifiedBy: 'Investigator', pages: 2 });
  });

  it('an e-mail tip and a page saved by the browser: who sent it and when, the page address; found by their subject and type', async () => {
    // Before, both were application/octet-stream with nothing read and no_embedded_metadata.
    const tip = await submit(t, documenter, caseId, fixture('tip.eml'), { filename: 'Свідчення.eml', contentType: 'message/rfc822' });
    expect(tip.status, JSON.stringify(tip.body)).toBe(201);
    expect(tip.body).toMatchObject({ mediaType: 'message/rfc822', flags: [] });
    expect(tip.body.extracted.document).toMatchObject({ author: 'Олена Коваль <olena.koval@example.org>', createdAt: '2025-11-04T01:12:07.000Z', createdAtOffset: '+02:00' });
    // Linux desktops name an .mhtml application/x-mimearchive: one family with multipart/related.
    const page = await submit(t, documenter, caseId, fixture('saved-page.mhtml'), { filename: 'saltivka.mhtml', contentType: 'application/x-mimearchive' });
    expect(page.status, JSON.stringify(page.body)).toBe(201);
    expect(page.body).toMatchObject({ mediaType: 'multipart/related', flags: [] });
    expect(page.body.extracted.document).toMatchObject({ savedFrom: 'http://news.example.org/2025/11/04/saltivka.html', author: null });
    const list = async (query: string) =>
      ((await t.http.get(`/api/v1/cases/${caseId}/evidence?${query}`).set('Authorization', bearer(investigator))).body.items as Array<{ id: string }>).map((item) => item.id).sort();
    expect(await list('mediaType=message/rfc822,multipart/related')).toEqual([tip.body.id, page.body.id].sort());
    // The subject's words, in another case form, and the sender's name.
    expect(await list(`q=${encodeURIComponent('уламок школа')}`)).toEqual([tip.body.id, page.body.id].sort());
    expect(await list(`q=${encodeURIComponent('Олени Коваль')}&mediaType=message/rfc822`)).toEqual([tip.body.id]);
  });

  it("an e-mail's recipients and the files it carries: each file hashed, so the case shows which are already items; found by a recipient's name or a file's", async () => {
    const mailCase = await createCase(t, investigator, 'A forwarded tip', [documenter]);
    const mail = await submit(t, documenter, mailCase, fixture('tip-forwarded.eml'), { filename: 'Fwd.eml' });
    expect(mail.status, JSON.stringify(mail.body)).toBe(201);
    expect(mail.body.extracted.document.recipients).toEqual(EXPECTED_METADATA['tip-forwarded.eml']!.document!.recipients);
    const files = mail.body.extracted.document.attachments as { name: string; sha256: string }[];
    expect(files.map((file) => file.name)).toEqual(['IMG_4512.jpg', 'акт огляду.pdf', 'Первинне повідомлення.eml']);
    // The photo shown in it was also submitted on its own: its hash finds that item (and not the e-mail).
    const photo = await submit(t, documenter, mailCase, fixture('exif-nw-no-offset.jpg'), { filename: 'IMG_4512.jpg' });
    expect(photo.body.sha256).toBe(files[0]!.sha256);
    const list = async (query: string) =>
      ((await t.http.get(`/api/v1/cases/${mailCase}/evidence?${query}`).set('Authorization', bearer(investigator))).body.items as Array<{ id: string }>).map((item) => item.id).sort();
    expect(await list(`sha256=${files.map((file) => file.sha256).join(',')}`)).toEqual([photo.body.id]);
    // A recipient's name in another case form, a Cc's, and an attached file's name find the e-mail.
    expect(await list(`q=${encodeURIComponent('Марка Ткача')}`)).toEqual([mail.body.id]);
    expect(await list(`q=${encodeURIComponent('правова служба')}`)).toEqual([mail.body.id]);
    expect(await list(`q=${encodeURIComponent('акт огляду')}`)).toEqual([mail.body.id]);
  });

  it("a file an e-mail or an Outlook message carries becomes an item of its own: its exact bytes, read as any submission, both custody trails naming the other", async () => {
    const mailCase = await createCase(t, investigator, 'Files out of messages', [documenter, auditor]);
    const mail = await submit(t, documenter, mailCase, fixture('tip-forwarded.eml'), { filename: 'Fwd.eml', metadata: { sourceType: 'witness_submission' } });
    expect(mail.status, JSON.stringify(mail.body)).toBe(201);
    const as = (user: TestUser, index: string | number, body: object = {}, item = mail.body.id as string) =>
      t.http.post(`/api/v1/evidence/${item}/attachments/${index}`).set('Authorization', bearer(user)).send(body);

    const photo = await as(documenter, 0, { title: 'Фото з листа' });
    expect(photo.status, JSON.stringify(photo.body)).toBe(201);
    expect(photo.body).toMatchObject({
      caseId: mailCase,
      sha256: mail.body.extracted.document.attachments[0].sha256,
      sizeBytes: fixture('exif-nw-no-offset.jpg').length,
      mediaType: 'image/jpeg',
      declaredMediaType: 'image/jpeg',
      originalFileName: 'IMG_4512.jpg',
      title: 'Фото з листа',
      sourceType: 'witness_submission',
      flags: [],
    });
    // Read as any submission: the photo's own EXIF (position, camera time), a receipt that verifies, derivatives.
    expect(photo.body.extracted).toEqual(EXPECTED_METADATA['exif-nw-no-offset.jpg']);
    expect(verifyReceipt(photo.body.receipt as Receipt, keys)).toEqual({ valid: true });
    expect((await waitProcessed(t, documenter, photo.body.id)).processing).toBe('done');
    // The new item's submission names the message; the message's trail names the read and the new item.
    const events = async (id: string) =>
      ((await t.http.get(`/api/v1/evidence/${id}/custody`).set('Authorization', bearer(investigator))).body.events as { event: CustodyEvent }[]).map((e) => e.event);
    await t.logged();
    const submitted = (await events(photo.body.id)).find((e) => e.action === 'evidence.submitted')!;
    expect(submitted.details).toMatchObject({ extractedFrom: { evidenceId: mail.body.id, sha256: mail.body.sha256, attachment: 0 }, declaredMediaType: 'image/jpeg' });
    const read = (await events(mail.body.id)).filter((e) => e.action === 'evidence.viewed' && e.details['part'] === 'attachment');
    // (A read's event carries a nonce of its own, as every read's does.)
    expect(read.map(({ actor, details: { nonce: _, ...details } }) => [actor.id, details])).toEqual([[documenter.id, { part: 'attachment', attachment: 0, sha256: photo.body.sha256, evidenceId: photo.body.id }]]);

    // A video out of an Outlook message (past its mini stream), read as a video.
    const msg = await submit(t, investigator, mailCase, fixture('outlook-attachments.msg'), { filename: 'sent.msg' });
    const video = await as(investigator, 2, {}, msg.body.id);
    expect(video.status, JSON.stringify(video.body)).toBe(201);
    expect(video.body).toMatchObject({ sha256: msg.body.extracted.document.attachments[2].sha256, mediaType: 'video/mp4', originalFileName: 'VID_20250714_035501.mp4', sourceType: 'other' });
    expect(video.body.extracted).toEqual(EXPECTED_METADATA['android.mp4']);

    // The same file again is a new item flagged exact_duplicate, as any repeated bytes are.
    const again = await as(investigator, 0);
    expect(again.status).toBe(201);
    expect(again.body.flags).toContain('exact_duplicate');
    // Their pictures made (the derivative jobs' own events), before what the refusals leave is compared.
    for (const id of [video.body.id, again.body.id]) await waitProcessed(t, investigator, id);

    // Refusals, each storing nothing: no such place in the list, a place that is no number or out
    // of range, an item that carries no files, a field the metadata does not have, a role that
    // may not submit, someone outside the case.
    const before = await storeState(t);
    expectProblem(await as(investigator, 3), 404);
    for (const index of ['x', '-1', '01', '1000', '1e2']) {
      expect(expectProblem(await as(investigator, index), 400).errors?.map((e) => e.field), index).toEqual(['attachment']);
    }
    expectProblem(await as(investigator, 0, {}, photo.body.id), 404);
    expect(expectProblem(await as(investigator, 0, { colour: 'red' }), 400).errors?.map((e) => e.field)).toEqual(['colour']);
    expectProblem(await as(auditor, 0), 403);
    expectProblem(await as(outsider, 0), 404);
    await expectNothingStored(t, before);
  });

  it("a ZIP archive lists the files it holds, and any of them becomes an item of its own, named by the last part of its path", async () => {
    const zipCase = await createCase(t, investigator, 'A phone export', [documenter]);
    const zip = await submit(t, documenter, zipCase, fixture('photos-export.zip'), { filename: 'export.zip', metadata: { sourceType: 'witness_submission' } });
    expect(zip.status, JSON.stringify(zip.body)).toBe(201);
    expect(zip.body.extracted).toEqual(EXPECTED_METADATA['photos-export.zip']);
    const as = (index: number) => t.http.post(`/api/v1/evidence/${zip.body.id}/attachments/${index}`).set('Authorization', bearer(documenter)).send({});

    const statement = await as(1);
    expect(statement.status, JSON.stringify(statement.body)).toBe(201);
    // An archive declares no type: the item's is sniffed, and none is declared.
    expect(statement.body).toMatchObject({ sha256: zip.body.extracted.document.attachments[1].sha256, mediaType: 'application/pdf', declaredMediaType: null, originalFileName: 'акт огляду.pdf', sourceType: 'witness_submission' });
    expect(statement.body.flags).not.toContain('type_mismatch');
    const photo = await as(0);
    expect(photo.body).toMatchObject({ mediaType: 'image/jpeg', originalFileName: 'IMG_20251104_030507.jpg', flags: [] });
    expect(photo.body.extracted).toEqual(EXPECTED_METADATA['exif-nw-no-offset.jpg']);
    // The archive's second copy of the photo is the same bytes: a duplicate, as any repeat is.
    const copy = await as(4);
    expect(copy.body.flags).toContain('exact_duplicate');
    const list = async (query: string) =>
      ((await t.http.get(`/api/v1/cases/${zipCase}/evidence?${query}`).set('Authorization', bearer(investigator))).body.items as Array<{ id: string }>).map((item) => item.id).sort();
    expect(await list(`sha256=${zip.body.extracted.document.attachments.map((file: { sha256: string }) => file.sha256).join(',')}`)).toEqual([statement.body.id, photo.body.id, copy.body.id].sort());
    // A path's words find the archive.
    expect(await list(`q=${encodeURIComponent('акт огляду')}`)).toEqual([zip.body.id, statement.body.id].sort());
    for (const id of [statement.body.id, photo.body.id, copy.body.id]) await waitProcessed(t, documenter, id);
  });

  it("a mailbox (mbox) lists its messages, none taken as the file's own; any becomes an .eml item of its own, read as an e-mail", async () => {
    const boxCase = await createCase(t, investigator, 'A mailbox', [documenter]);
    const box = await submit(t, documenter, boxCase, fixture('mailbox.mbox'), { filename: 'Inbox' });
    expect(box.status, JSON.stringify(box.body)).toBe(201);
    expect(box.body).toMatchObject({ mediaType: 'application/mbox', flags: ['no_embedded_metadata'] });
    expect(box.body.extracted).toEqual(EXPECTED_METADATA['mailbox.mbox']);
    const message = await t.http.post(`/api/v1/evidence/${box.body.id}/attachments/1`).set('Authorization', bearer(documenter)).send({});
    expect(message.status, JSON.stringify(message.body)).toBe(201);
    expect(message.body).toMatchObject({ sha256: box.body.extracted.document.attachments[1].sha256, mediaType: 'message/rfc822', declaredMediaType: 'message/rfc822', originalFileName: 'Fwd: Фото з Салтівки.eml' });
    // Read as the e-mail it is: its sender, its recipients and the files it carries.
    expect(message.body.extracted.document).toMatchObject({ title: 'Fwd: Фото з Салтівки', author: 'Ірина Бондар <iryna.bondar@example.net>', recipients: EXPECTED_METADATA['tip-forwarded.eml']!.document!.recipients });
    // The photo and the PDF decode to the same bytes; the forwarded message differs, as the mailbox holds it with LF line ends.
    const carried = EXPECTED_METADATA['tip-forwarded.eml']!.document!.attachments!.map((file) => file.sha256);
    expect(message.body.extracted.document.attachments.map((file: { sha256: string }) => file.sha256).slice(0, 2)).toEqual(carried.slice(0, 2));
    // A message's sender finds the mailbox, in another case form.
    const list = async (query: string) =>
      ((await t.http.get(`/api/v1/cases/${boxCase}/evidence?${query}`).set('Authorization', bearer(investigator))).body.items as Array<{ id: string }>).map((item) => item.id).sort();
    expect(await list(`q=${encodeURIComponent('Петра Шевченка')}`)).toEqual([box.body.id]);
    await waitProcessed(t, documenter, message.body.id);
  });

  it('a video or picture in a format the archive does not decode says why it has no picture; audio does not', async () => {
    // An outside audit: an AVI from a compact camera and an MPEG transport stream came back done,
    // with no picture and no reason. Both get one now; Ogg Theora has no decoder here.
    const res = await submit(t, documenter, caseId, oggTheora(), { filename: 'clip.ogv', contentType: 'video/ogg' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ mediaType: 'video/ogg', processing: 'done', derivatives: { thumbnail: null, preview: null } });
    expect(res.body.processingError).toBe('no picture is made of video/ogg: the archive does not decode this format; the original is kept as received');
    // AVI (a compact camera's Motion JPEG, a dashcam's H.264, Xvid, a DV camcorder's tape), a DVD
    // camcorder's MPEG-2, an MPEG-1 clip, a DVR's WMV, Flash video and H.265 or MPEG-2 in MPEG-TS
    // (a newer dashcam, an HDV camcorder) get their picture and size; an AVI
    // that is not readable fails its processing saying so.
    for (const [name, mediaType] of [
      ['camera-idit.avi', 'video/vnd.avi'],
      ['dashcam-h264.avi', 'video/vnd.avi'],
      ['camera-xvid.avi', 'video/vnd.avi'],
      ['camcorder-dv.avi', 'video/vnd.avi'],
      ['camcorder-mpeg2.vob', 'video/MP2P'],
      ['clip-mpeg1.mpg', 'video/MP1S'],
      ['dvr-wmv2.wmv', 'video/x-ms-asf'],
      ['clip-flv1.flv', 'video/x-flv'],
      ['video-a-hevc.m2t', 'video/mp2t'],
      ['video-a-mpeg2.m2t', 'video/mp2t'],
    ] as const) {
      const camera = await submit(t, documenter, caseId, fixture(name), { filename: name.toUpperCase(), contentType: 'application/octet-stream' });
      expect(camera.body, name).toMatchObject({ mediaType, processing: 'pending' });
      const { width, height, durationS } = EXPECTED_METADATA[name]!;
      expect(camera.body.extracted, name).toMatchObject({ width, height, durationS });
      const cameraDone = await waitProcessed(t, documenter, camera.body.id);
      expect(cameraDone.processing, cameraDone.processingError).toBe('done');
      expect(cameraDone.derivatives).toEqual({ thumbnail: `/api/v1/evidence/${camera.body.id}/thumbnail`, preview: `/api/v1/evidence/${camera.body.id}/preview` });
    }
    const avi = Buffer.concat([Buffer.from('RIFF'), Buffer.from([200, 0, 0, 0]), Buffer.from('AVI LIST'), randomBytes(192)]);
    const other = await submit(t, documenter, caseId, avi, { filename: 'MVI_0002.AVI', contentType: 'video/avi' });
    const otherDone = await waitProcessed(t, documenter, other.body.id);
    expect(otherDone).toMatchObject({ processing: 'failed', derivatives: { thumbnail: null, preview: null } });
    expect(otherDone.processingError).toBe('unsupported_format: no video stream');
    const voice = await submit(t, documenter, caseId, fixture('voice.mp3'), { filename: 'voice.mp3', contentType: 'audio/mpeg' });
    expect(voice.body).toMatchObject({ processing: 'done', processingError: null });
  });

  it('a file whose extension lies: mediaType sniffed from the bytes, the declared type kept beside it', async () => {
    const file = fixture('png-named.jpg');
    const res = await submit(t, documenter, caseId, file, { filename: 'png-named.jpg', contentType: 'image/jpeg' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ mediaType: 'image/png', declaredMediaType: 'image/jpeg', originalFileName: 'png-named.jpg' });
    const [row] = await t.db.superuserQuery(`SELECT media_type, declared_media_type FROM evidence_items WHERE id = $1`, [res.body.id]);
    expect(row).toEqual({ media_type: 'image/png', declared_media_type: 'image/jpeg' });
    // Served as an attachment that browsers may not sniff.
    const content = await t.http.get(`/api/v1/evidence/${res.body.id}/content`).set('Authorization', bearer(documenter)).buffer(true).parse(binary);
    expect(content.headers['x-content-type-options']).toBe('nosniff');
    expect(content.headers['content-disposition']).toMatch(/^attachment/);
  });

  it('a body that is not multipart: 415, nothing stored', async () => {
    const before = await quietState(t);
    for (const [type, body] of [
      ['text/plain', 'just some text'],
      ['application/octet-stream', randomBytes(1000)],
      ['application/x-www-form-urlencoded', 'metadata=%7B%7D&file=abc'],
    ] as const) {
      const res = await t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', bearer(documenter)).set('Content-Type', type).send(body);
      expectProblem(res, 415);
    }
    await expectNothingStored(t, before);
  });

  it('refuses callers: 401 without a token, 403 for an auditor, 404 for a non-member or an unknown case; nothing stored', async () => {
    // Made first: an account is a system event of the log.
    const outsideDocumenter = await t.user('documenter', 'Not a member');
    const before = await quietState(t);
    expectProblem(await submit(t, null, caseId, randomBytes(1000)), 401);
    expectProblem(await t.http.post(`/api/v1/cases/${caseId}/evidence`).set('Authorization', 'Bearer not-a-token').send('x'), 401);
    expectProblem(await submit(t, auditor, caseId, randomBytes(1000)), 403);
    const hidden = expectProblem(await submit(t, outsider, caseId, randomBytes(1000)), 404);
    const missing = expectProblem(await submit(t, outsider, randomUUID(), randomBytes(1000)), 404);
    expect(hidden.detail).toBe(missing.detail);
    expectProblem(await submit(t, outsideDocumenter, caseId, randomBytes(1000)), 404);
    expect(expectProblem(await submit(t, investigator, 'not-a-uuid', randomBytes(1000)), 400).errors?.[0]?.field).toBe('caseId');
    await expectNothingStored(t, before);
    // An administrator may submit to any case.
    expect((await submit(t, t.admin, caseId, randomBytes(1000))).status).toBe(201);
  });
});

describe('evidence intake with a small upload limit (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let caseId: string;
  let port: number;
  const LIMIT = 100_000;

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50', CUSTODIA_MAX_UPLOAD_BYTES: String(LIMIT) });
    investigator = await t.user('investigator');
    caseId = await createCase(t, investigator, 'Limits');
    port = await listen(t);
  });
  afterAll(async () => t?.close());

  const upload = (file: Buffer, headers: Record<string, string> = {}) => {
    const { body, contentType } = multipart(submissionParts(file, { metadata: { sha256: sha256hex(file) } }));
    return rawPost(port, `/api/v1/cases/${caseId}/evidence`, { 'Content-Type': contentType, Authorization: bearer(investigator), ...headers }, body);
  };
  const problemOf = (res: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }) => {
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(res.body.toString('utf8'));
    expect(problem).toMatchObject({ status: res.status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    return problem;
  };

  it('a 1 MB file: 413 problem+json, nothing stored, and the server keeps serving', async () => {
    const before = await quietState(t);
    const res = await upload(randomBytes(1024 * 1024));
    expect(res.status).toBe(413);
    problemOf(res);
    await expectNothingStored(t, before, 2_000);
    expect((await t.http.get('/api/v1/health')).status).toBe(200);
    const small = await submit(t, investigator, caseId, randomBytes(LIMIT));
    expect(small.status, JSON.stringify(small.body)).toBe(201);
    expect(small.body.sizeBytes).toBe(LIMIT);
  });

  it("a file an archive holds that is over the limit: 413 when it is asked for, nothing stored; the archive's smaller file is taken", async () => {
    const zip = await zipOf([['note.txt', 'a note\n'], ['zeros.bin', Buffer.alloc(LIMIT + 1)]]);
    const archive = await submit(t, investigator, caseId, zip, { filename: 'small.zip' });
    expect(archive.status, JSON.stringify(archive.body)).toBe(201);
    expect(archive.body.extracted.document.attachments.map((file: { sizeBytes: number }) => file.sizeBytes)).toEqual([7, LIMIT + 1]);
    await waitProcessed(t, investigator, archive.body.id);
    const take = (index: number) => t.http.post(`/api/v1/evidence/${archive.body.id}/attachments/${index}`).set('Authorization', bearer(investigator)).send({});
    const before = await quietState(t);
    expect(expectProblem(await take(1), 413).detail).toBe(`This file (${LIMIT + 1} bytes) is larger than a submission may be (${LIMIT} bytes): nothing was stored`);
    await expectNothingStored(t, before, 2_000);
    expect((await take(0)).status).toBe(201);
  });

  it('a file one byte over the limit, its length only learnt while streaming: 413, nothing stored', async () => {
    const before = await quietState(t);
    const res = await upload(randomBytes(LIMIT + 1));
    expect(res.status).toBe(413);
    problemOf(res);
    await expectNothingStored(t, before, 2_000);
  });

  it('a 1 MB file sent chunked (no Content-Length): 413, nothing stored', async () => {
    const before = await quietState(t);
    const file = randomBytes(1024 * 1024);
    const { body, contentType } = multipart(submissionParts(file));
    const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/api/v1/cases/${caseId}/evidence`,
          headers: { 'Content-Type': contentType, 'Transfer-Encoding': 'chunked', Authorization: bearer(investigator) },
          agent: false,
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
          r.on('error', reject);
        },
      );
      req.on('error', () => undefined);
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
      setTimeout(() => reject(new Error('no answer')), 20_000).unref();
    });
    expect(res.status).toBe(413);
    problemOf(res);
    await expectNothingStored(t, before, 2_000);
    expect((await t.http.get('/api/v1/health')).status).toBe(200);
  });
});
