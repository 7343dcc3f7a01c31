// Derivatives made by the background worker (pg-boss inside the app): thumbnails and previews
// are upright, bounded in size and carry no embedded metadata at all (read back with exifr and
// sharp); each is recorded as evidence.derivative_created; near duplicates are marked; files the
// worker cannot decode fail their job and the evidence stays.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Exifr from 'exifr';
import { verifyEventsAgainstHead, type CustodyEvent, type PublishedKey } from '../libs/custody-core/src/index.js';
import { PicturesForOlderVideos1764002800000 } from '../libs/db/src/migrations/1764002800000-pictures-for-older-videos.js';
import { PicturesForCameraRaws1764002900000 } from '../libs/db/src/migrations/1764002900000-pictures-for-camera-raws.js';
import { PicturesForOlympusRaws1764003000000 } from '../libs/db/src/migrations/1764003000000-pictures-for-olympus-raws.js';
import { remakeNearDuplicatePairs } from '../libs/evidence/src/evidence.repository.js';
import { detailsOf, expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { canonCr3, flatJpeg, olympusOrf, phoneDng } from '../libs/media/src/test-support/tiff.js';
import { bearer, binary, createCase, fixture, oggTheora, pixels, sha256hex, submit, waitProcessed } from './support/evidence.js';

const exifr = createRequire(import.meta.url)('exifr') as typeof Exifr;

type Rgb = [number, number, number];
const isRed = ([r, g, b]: Rgb) => r > 180 && g < 80 && b < 80;
const isGreen = ([r, g, b]: Rgb) => g > 150 && r < 100 && b < 100;
const isWhite = ([r, g, b]: Rgb) => r > 200 && g > 200 && b > 200;

/** Asserts an image carries no EXIF, XMP, IPTC, ICC profile, GPS or comment. */
async function expectNoEmbeddedMetadata(image: Buffer, label: string): Promise<void> {
  const meta = await sharp(image).metadata();
  expect(meta.format, label).toBe('jpeg');
  expect(meta.exif, `${label}: exif`).toBeUndefined();
  expect(meta.xmp, `${label}: xmp`).toBeUndefined();
  expect(meta.iptc, `${label}: iptc`).toBeUndefined();
  expect(meta.icc, `${label}: icc`).toBeUndefined();
  expect(meta.orientation ?? 1, `${label}: orientation`).toBe(1);
  expect(meta.comments ?? [], `${label}: comments`).toEqual([]);
  const everything = await exifr.parse(image, { tiff: true, exif: true, gps: true, ifd1: true, xmp: true, icc: true, iptc: true, jfif: false, ihdr: false });
  expect(everything, `${label}: exifr found ${JSON.stringify(everything)}`).toBeUndefined();
  expect(await exifr.gps(image), `${label}: gps`).toBeUndefined();
  const text = image.toString('latin1');
  for (const marker of ['Exif\0\0', 'http://ns.adobe.com/xap/1.0/', 'ICC_PROFILE', 'Photoshop 3.0', 'Secret']) {
    expect(text.includes(marker), `${label} holds ${JSON.stringify(marker)}`).toBe(false);
  }
}

describe('evidence derivatives (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let caseId: string;
  let keys: PublishedKey[];

  const download = async (user: TestUser, url: string): Promise<Buffer> => {
    const res = await t.http.get(url).set('Authorization', bearer(user)).buffer(true).parse(binary);
    expect(res.status, url).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    // Kept by no browser: a view from its cache would go unrecorded, and a picture of the wounded
    // would stay on a shared computer after sign-out.
    expect(res.headers['cache-control']).toBe('private, no-store');
    return res.body as Buffer;
  };

  beforeAll(async () => {
    t = await startTestApp({ CUSTODIA_TREE_HEAD_INTERVAL_MS: '50' });
    investigator = await t.user('investigator');
    caseId = await createCase(t, investigator, 'Derivatives');
    keys = (await t.http.get('/api/v1/log/keys').set('Authorization', bearer(investigator))).body;
  });
  afterAll(async () => t?.close());

  it('all eight orientations: thumbnail and preview upright (red top-left, green top-right), 64x48, no metadata', async () => {
    const ids: Record<number, string> = {};
    for (let n = 1; n <= 8; n++) {
      const file = fixture(`orientation-${n}.jpg`);
      const res = await submit(t, investigator, caseId, file, { filename: `orientation-${n}.jpg` });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.processing).toBe('pending');
      ids[n] = res.body.id;
    }
    for (let n = 1; n <= 8; n++) {
      const item = await waitProcessed(t, investigator, ids[n]!);
      expect(item.processing, `orientation ${n}: ${item.processingError}`).toBe('done');
      expect(item.derivatives).toEqual({ thumbnail: `/api/v1/evidence/${ids[n]}/thumbnail`, preview: `/api/v1/evidence/${ids[n]}/preview` });
      expect(item.perceptualHash).toMatch(/^[0-9a-f]{16}$/);
      for (const kind of ['thumbnail', 'preview'] as const) {
        const image = await download(investigator, item.derivatives[kind]);
        const label = `orientation-${n}.jpg ${kind}`;
        const px = await pixels(image);
        expect([px.width, px.height], label).toEqual([64, 48]);
        expect(isRed(px.at(8, 6)), `${label} top-left ${px.at(8, 6)}`).toBe(true);
        expect(isGreen(px.at(55, 6)), `${label} top-right ${px.at(55, 6)}`).toBe(true);
        expect(isWhite(px.at(8, 40)), `${label} bottom-left ${px.at(8, 40)}`).toBe(true);
        expect(isWhite(px.at(55, 40)), `${label} bottom-right ${px.at(55, 40)}`).toBe(true);
        await expectNoEmbeddedMetadata(image, label);
      }
    }
  });

  it('PNG, WebP and TIFF with EXIF and GPS: derivatives made, upright, without any of it', async () => {
    for (const name of ['exif.png', 'exif.webp', 'exif.tif', 'xmp-itxt.png']) {
      const res = await submit(t, investigator, caseId, fixture(name), { filename: name });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const item = await waitProcessed(t, investigator, res.body.id);
      expect(item.processing, `${name}: ${item.processingError}`).toBe('done');
      for (const kind of ['thumbnail', 'preview'] as const) {
        const image = await download(investigator, item.derivatives[kind]);
        const px = await pixels(image);
        expect([px.width, px.height], `${name} ${kind}`).toEqual([64, 48]);
        expect(isRed(px.at(8, 6)), `${name} ${kind} top-left`).toBe(true);
        expect(isGreen(px.at(55, 6)), `${name} ${kind} top-right`).toBe(true);
        await expectNoEmbeddedMetadata(image, `${name} ${kind}`);
      }
    }
  });

  it('a large turned photo with GPS: thumbnail longest side 320, preview 1600, upright, no metadata', async () => {
    // 2400x1200 stored, EXIF orientation 6 (shown 1200x2400), a red block in the stored top-left
    // corner, which an upright picture shows in its top-right corner.
    const file = await sharp({ create: { width: 2400, height: 1200, channels: 3, background: '#ffffff' } })
      .composite([{ input: { create: { width: 600, height: 300, channels: 3, background: '#ff0000' } }, top: 0, left: 0 }])
      .jpeg({ quality: 90 })
      .withExif({
        IFD0: { Make: 'TestCam', Model: 'Turned 6', DateTime: '2024:02:24 05:00:00' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '50/1 27/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '30/1 31/1 0/1' },
      })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await exifr.gps(file))?.latitude).toBeCloseTo(50.45, 4);
    const res = await submit(t, investigator, caseId, file, { filename: 'turned.jpg', contentType: 'image/jpeg' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.extracted).toMatchObject({ orientation: 6, width: 2400, height: 1200, location: { lat: expect.closeTo(50.45, 5), lon: expect.closeTo(30.516667, 5) } });
    const item = await waitProcessed(t, investigator, res.body.id);
    expect(item.processing, item.processingError).toBe('done');
    for (const [kind, side] of [['thumbnail', 320], ['preview', 1600]] as const) {
      const image = await download(investigator, item.derivatives[kind]);
      const px = await pixels(image);
      expect([px.width, px.height], kind).toEqual([side / 2, side]);
      expect(Math.max(px.width, px.height)).toBeLessThanOrEqual(side);
      expect(isRed(px.at(px.width - 5, 5)), `${kind} top-right ${px.at(px.width - 5, 5)}`).toBe(true);
      expect(isWhite(px.at(5, 5)), `${kind} top-left ${px.at(5, 5)}`).toBe(true);
      expect(isWhite(px.at(px.width - 5, px.height - 5)), `${kind} bottom-right`).toBe(true);
      await expectNoEmbeddedMetadata(image, `turned ${kind}`);
      // HEAD: the GET's headers and length, no body, and the log says no image was sent.
      const head = await t.http.head(item.derivatives[kind]).set('Authorization', bearer(investigator));
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(image.length));
      expect(head.headers['etag']).toBe(`"sha256-${sha256hex(image)}"`);
      const custody = await t.http.get(`/api/v1/evidence/${item.id}/custody`).set('Authorization', bearer(investigator));
      const viewed = custody.body.events.map((e: { event: CustodyEvent }) => e.event).filter((e: CustodyEvent) => e.action === 'evidence.viewed');
      expect(detailsOf(viewed.at(-1))).toEqual({ part: kind, method: 'HEAD' });
    }
  });

  it('metadata-rich.jpg (EXIF, GPS, XMP, IPTC, P3 ICC, comment): derivatives carry none of it, colours as sRGB', async () => {
    const file = fixture('metadata-rich.jpg');
    const res = await submit(t, investigator, caseId, file, { filename: 'metadata-rich.jpg' });
    expect(res.status).toBe(201);
    const item = await waitProcessed(t, investigator, res.body.id);
    expect(item.processing, item.processingError).toBe('done');
    for (const kind of ['thumbnail', 'preview'] as const) {
      const image = await download(investigator, item.derivatives[kind]);
      await expectNoEmbeddedMetadata(image, `metadata-rich ${kind}`);
      const px = await pixels(image);
      expect([px.width, px.height]).toEqual([160, 120]);
      // Four vertical bars: red, green, blue, yellow.
      const [red, green, blue, yellow] = [20, 60, 100, 140].map((x) => px.at(x, 60));
      expect(isRed(red!), `red bar ${red}`).toBe(true);
      expect(isGreen(green!), `green bar ${green}`).toBe(true);
      expect(blue![2] > 180 && blue![0] < 80 && blue![1] < 80, `blue bar ${blue}`).toBe(true);
      expect(yellow![0] > 180 && yellow![1] > 180 && yellow![2] < 80, `yellow bar ${yellow}`).toBe(true);
    }
  });

  it('each derivative is recorded as evidence.derivative_created with its own hash, and the events verify', async () => {
    const file = fixture('exif-ne-offset.jpg');
    const res = await submit(t, investigator, caseId, file);
    expect(res.status).toBe(201);
    const item = await waitProcessed(t, investigator, res.body.id);
    expect(item.processing).toBe('done');
    const custody = await t.http.get(`/api/v1/evidence/${item.id}/custody`).set('Authorization', bearer(investigator));
    expect(custody.status).toBe(200);
    const events: CustodyEvent[] = custody.body.events.map((e: { event: CustodyEvent }) => e.event);
    const derived = events.filter((e) => e.action === 'evidence.derivative_created');
    expect(derived.map((e) => e.details['kind']).sort()).toEqual(['preview', 'thumbnail']);
    for (const event of derived) {
      const kind = event.details['kind'] as 'thumbnail' | 'preview';
      const bytes = await download(investigator, item.derivatives[kind]);
      expect(event.details['sha256']).toBe(sha256hex(bytes));
      expect(event.details['sizeBytes']).toBe(bytes.length);
      expect(event.subject).toEqual({ type: 'evidence', id: item.id, sha256: sha256hex(file) });
      expect(event.caseId).toBe(caseId);
    }
    const report = verifyEventsAgainstHead(
      custody.body.events.map((e: { event: CustodyEvent; leafIndex: number; leafHash: string }) => ({
        event: e.event,
        leafIndex: e.leafIndex,
        leafHash: e.leafHash,
        proof: custody.body.proofs[String(e.leafIndex)],
      })),
      custody.body.treeHead,
      keys,
    );
    expect(report.valid, report.firstFailure).toBe(true);
  });

  it('near duplicates: a re-encoded copy (png-named.jpg) is flagged against scene-a.jpg, scene-b.jpg is not', async () => {
    const nearCase = await createCase(t, investigator, 'Near duplicates');
    const a = await submit(t, investigator, nearCase, fixture('scene-a.jpg'));
    const b = await submit(t, investigator, nearCase, fixture('scene-b.jpg'));
    expect([a.status, b.status]).toEqual([201, 201]);
    await waitProcessed(t, investigator, a.body.id);
    await waitProcessed(t, investigator, b.body.id);
    const copy = await submit(t, investigator, nearCase, fixture('png-named.jpg'));
    expect(copy.status).toBe(201);
    const copyDone = await waitProcessed(t, investigator, copy.body.id);
    expect(copyDone.processing).toBe('done');
    expect(copyDone.flags).toContain('near_duplicate');
    expect(copyDone.flags).not.toContain('exact_duplicate');
    expect(copyDone.nearDuplicates.map((n: { id: string }) => n.id)).toEqual([a.body.id]);
    expect(copyDone.nearDuplicates[0].distance).toBeLessThanOrEqual(6);
    const aNow = (await t.http.get(`/api/v1/evidence/${a.body.id}`).set('Authorization', bearer(investigator))).body;
    expect(aNow.flags).toContain('near_duplicate');
    expect(aNow.nearDuplicates.map((n: { id: string }) => n.id)).toEqual([copy.body.id]);
    const bNow = (await t.http.get(`/api/v1/evidence/${b.body.id}`).set('Authorization', bearer(investigator))).body;
    expect(bNow.flags).not.toContain('near_duplicate');
    expect(bNow.nearDuplicates).toEqual([]);

    // A documenter of the case (who reads only their own items) sends another copy, re-encoded by sharp.
    const documenter = await t.user('documenter');
    expect((await t.http.post(`/api/v1/cases/${nearCase}/members`).set('Authorization', bearer(investigator)).send({ userId: documenter.id })).status).toBe(201);
    const theirs = await submit(t, documenter, nearCase, await sharp(fixture('scene-a.jpg')).jpeg({ quality: 40 }).toBuffer(), { filename: 'repost.jpg' });
    expect(theirs.status, JSON.stringify(theirs.body)).toBe(201);
    const theirsDone = await waitProcessed(t, documenter, theirs.body.id);
    // They see neither the investigator's items it is near nor that there are any: not the flag,
    // and a search by the flag does not find it (the investigator sees both).
    expect(theirsDone.nearDuplicates).toEqual([]);
    expect(theirsDone.flags).not.toContain('near_duplicate');
    const flagged = async (who: TestUser) =>
      (await t.http.get(`/api/v1/cases/${nearCase}/evidence?flag=near_duplicate`).set('Authorization', bearer(who))).body.items.map((item: { id: string }) => item.id);
    expect(await flagged(documenter)).toEqual([]);
    expect(await flagged(investigator)).toContain(theirs.body.id);
    expect((await t.http.get(`/api/v1/evidence/${theirs.body.id}`).set('Authorization', bearer(investigator))).body.flags).toContain('near_duplicate');
    // The investigator sees both copies of scene-a, nearest first, in the item and in the listing alike.
    const aLast = (await t.http.get(`/api/v1/evidence/${a.body.id}`).set('Authorization', bearer(investigator))).body;
    expect(new Set(aLast.nearDuplicates.map((n: { id: string }) => n.id))).toEqual(new Set([copy.body.id, theirs.body.id]));
    const distances = aLast.nearDuplicates.map((n: { distance: number }) => n.distance);
    expect(distances).toEqual([...distances].sort((x, y) => x - y));
    const listing = await t.http.get(`/api/v1/cases/${nearCase}/evidence`).set('Authorization', bearer(investigator));
    expect(listing.status).toBe(200);
    const listed = new Map(listing.body.items.map((item: { id: string; nearDuplicates: unknown }) => [item.id, item.nearDuplicates]));
    expect(listed.get(a.body.id)).toEqual(aLast.nearDuplicates);
    expect(listed.get(b.body.id)).toEqual([]);
    expect((listed.get(theirs.body.id) as { id: string }[]).map((n) => n.id)).toEqual(expect.arrayContaining([a.body.id, copy.body.id]));
    const theirListing = await t.http.get(`/api/v1/cases/${nearCase}/evidence`).set('Authorization', bearer(documenter));
    expect(theirListing.body.items.map((item: { id: string; nearDuplicates: unknown }) => [item.id, item.nearDuplicates])).toEqual([[theirs.body.id, []]]);
    // A near copy of their own is theirs to see: the flag, the pair, and the search.
    const again = await submit(t, documenter, nearCase, await sharp(fixture('scene-a.jpg')).jpeg({ quality: 60 }).toBuffer(), { filename: 'repost-2.jpg' });
    const againDone = await waitProcessed(t, documenter, again.body.id);
    expect(againDone.flags).toContain('near_duplicate');
    expect(againDone.nearDuplicates.map((n: { id: string }) => n.id)).toEqual([theirs.body.id]);
    expect(new Set(await flagged(documenter))).toEqual(new Set([theirs.body.id, again.body.id]));
  });

  it('an item lists its 50 nearest near duplicates, nearest then first received, not all of them', async () => {
    const crowded = await createCase(t, investigator, 'The same photo, sixty times');
    const ids: string[] = [];
    for (let i = 0; i < 61; i++) ids.push((await submit(t, investigator, crowded, randomBytes(100), { filename: `copy-${i}.bin` })).body.id);
    // Hashes as the derivative job sets them: the first item 0, every other one bit away (distance
    // 1), but the last ten at distance 0.
    await t.db.superuserQuery(`UPDATE evidence_items SET perceptual_hash = CASE WHEN id = ANY ($2::uuid[]) THEN 0 ELSE 1 END WHERE case_id = $1`, [crowded, [ids[0]!, ...ids.slice(51)]]);
    await remakeNearDuplicatePairs(t.app.get(DataSource), crowded);
    const item = (await t.http.get(`/api/v1/evidence/${ids[0]}`).set('Authorization', bearer(investigator))).body;
    expect(item.nearDuplicates).toHaveLength(50);
    expect(item.nearDuplicates.map((n: { id: string }) => n.id)).toEqual([...ids.slice(51), ...ids.slice(1, 41)]);
    expect(item.nearDuplicates.map((n: { distance: number }) => n.distance)).toEqual([...Array(10).fill(0), ...Array(40).fill(1)]);
  });

  it('near duplicates processed at the same moment flag each other: two copies of a photo sent together, in each of six cases', async () => {
    // Each pair's jobs run side by side; a job that looked for neighbours before the other had
    // committed its hash would leave both unflagged.
    const photo = await sharp(fixture('scene-a.jpg')).resize(64, 48).jpeg({ quality: 80 }).toBuffer();
    const copy = await sharp(fixture('scene-a.jpg')).resize(64, 48).jpeg({ quality: 60 }).toBuffer();
    const pairs = await Promise.all(
      Array.from({ length: 6 }, async (_, n) => {
        const pairCase = await createCase(t, investigator, `Sent together ${n}`);
        return Promise.all([submit(t, investigator, pairCase, photo, { filename: 'a.jpg' }), submit(t, investigator, pairCase, copy, { filename: 'b.jpg' })]);
      }),
    );
    for (const [n, [a, b]] of pairs.entries()) {
      expect([a.status, b.status], `pair ${n}`).toEqual([201, 201]);
      expect((await waitProcessed(t, investigator, a.body.id)).processing, `pair ${n}`).toBe('done');
      const bDone = await waitProcessed(t, investigator, b.body.id);
      expect(bDone.processing, `pair ${n}`).toBe('done');
      const aDone = (await t.http.get(`/api/v1/evidence/${a.body.id}`).set('Authorization', bearer(investigator))).body;
      expect(aDone.nearDuplicates.map((near: { id: string }) => near.id), `pair ${n}`).toEqual([b.body.id]);
      expect([aDone.flags.includes('near_duplicate'), bDone.flags.includes('near_duplicate')], `pair ${n}: flags`).toEqual([true, true]);
    }
  });

  it('flat pictures (a black pocket shot, a blank grey page) get no perceptual hash, so they are nobody\'s near duplicates', async () => {
    // Every black picture hashed to 0: two unrelated pocket shots were "near duplicates" (distance 0).
    const flatCase = await createCase(t, investigator, 'Flat pictures');
    const files = [
      await sharp({ create: { width: 640, height: 480, channels: 3, background: '#000000' } }).jpeg({ quality: 90 }).toBuffer(),
      await sharp({ create: { width: 800, height: 600, channels: 3, background: '#000000' } }).jpeg({ quality: 70 }).toBuffer(),
      await sharp({ create: { width: 300, height: 400, channels: 3, background: '#808080' } }).png().toBuffer(),
    ];
    const ids: string[] = [];
    for (const [n, file] of files.entries()) {
      const res = await submit(t, investigator, flatCase, file, { filename: `flat-${n}` });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids.push(res.body.id);
    }
    const scene = await submit(t, investigator, flatCase, fixture('scene-a.jpg'));
    for (const id of ids) {
      const item = await waitProcessed(t, investigator, id);
      expect(item.processing).toBe('done');
      expect(item.perceptualHash).toBeNull();
      expect(item.flags).not.toContain('near_duplicate');
      expect(item.nearDuplicates).toEqual([]);
      expect((await download(investigator, item.derivatives.thumbnail)).length).toBeGreaterThan(0);
      const custody = await t.http.get(`/api/v1/evidence/${id}/custody`).set('Authorization', bearer(investigator));
      const derived = custody.body.events.map((e: { event: CustodyEvent }) => e.event).filter((e: CustodyEvent) => e.action === 'evidence.derivative_created');
      expect(derived.map((e: CustodyEvent) => e.details['kind']).sort()).toEqual(['preview', 'thumbnail']);
      for (const event of derived) expect(event.details).not.toHaveProperty('perceptualHash');
    }
    expect((await waitProcessed(t, investigator, scene.body.id)).perceptualHash).toMatch(/^[0-9a-f]{16}$/);
    // A photo that has one keeps it in its record, not in the log (read by who may not see the item).
    const sceneCustody = await t.http.get(`/api/v1/evidence/${scene.body.id}/custody`).set('Authorization', bearer(investigator));
    const sceneDerived = sceneCustody.body.events.map((e: { event: CustodyEvent }) => e.event).filter((e: CustodyEvent) => e.action === 'evidence.derivative_created');
    expect(sceneDerived).toHaveLength(2);
    for (const event of sceneDerived) expect(event.details).not.toHaveProperty('perceptualHash');
  });

  it('after an upgrade, items of the formats this release draws (older videos, camera raws) and older ones did not get their picture', async () => {
    const xvid = (await submit(t, investigator, caseId, fixture('camera-xvid.avi'), { filename: 'MVI_0042.AVI' })).body.id as string;
    const wmv = (await submit(t, investigator, caseId, fixture('dvr-wmv2.wmv'), { filename: 'CH01.wmv' })).body.id as string;
    const dng = (await submit(t, investigator, caseId, await phoneDng({ preview: await sharp(fixture('orientation-1.jpg')).jpeg().toBuffer() }), { filename: 'IMG_0001.DNG' })).body.id as string;
    const orf = (await submit(t, investigator, caseId, olympusOrf({ preview: await flatJpeg(1600, 1200, '#c04020'), thumbnail: await flatJpeg(160, 120, '#2040c0') }), { filename: 'P2240001.ORF' })).body.id as string;
    const ogv = (await submit(t, investigator, caseId, oggTheora(), { filename: 'clip.ogv' })).body.id as string;
    for (const id of [xvid, wmv, dng, orf, ogv]) await waitProcessed(t, investigator, id);
    // As the releases before left them: the AVI refused, the WMV and the DNG drawn by nobody.
    const older = {
      [xvid]: ['failed', 'unsupported_format: AVI with its video in XVID: a picture is made of Motion JPEG and H.264 AVI only; the original is kept as received'],
      [wmv]: ['done', 'no picture is made of video/x-ms-asf: the archive does not decode this format; the original is kept as received'],
      [dng]: ['done', 'no picture is made of image/x-adobe-dng: the archive does not decode this format; the original is kept as received'],
      [orf]: ['done', 'no picture is made of image/x-olympus-orf: the archive does not decode this format; the original is kept as received'],
    };
    for (const [id, [processing, error]] of Object.entries(older)) {
      await t.db.superuserQuery(`UPDATE evidence_items SET processing = $2, processing_error = $3, thumbnail_sha256 = NULL, preview_sha256 = NULL, perceptual_hash = NULL WHERE id = $1`, [id, processing, error]);
    }
    const runner = t.dataSource.createQueryRunner();
    try {
      await new PicturesForOlderVideos1764002800000().up(runner);
      await new PicturesForCameraRaws1764002900000().up(runner);
      await new PicturesForOlympusRaws1764003000000().up(runner);
    } finally {
      await runner.release();
    }
    // A process that starts (the upgraded worker) enqueues the pending items no job will make.
    const upgraded = await t.sibling();
    try {
      for (const id of [xvid, wmv, dng, orf]) {
        const item = await waitProcessed(t, investigator, id);
        expect(item, id).toMatchObject({ processing: 'done', processingError: null, derivatives: { thumbnail: `/api/v1/evidence/${id}/thumbnail`, preview: `/api/v1/evidence/${id}/preview` } });
      }
    } finally {
      await upgraded.close();
    }
    expect((await waitProcessed(t, investigator, ogv)).processingError).toBe('no picture is made of video/ogg: the archive does not decode this format; the original is kept as received');
  });

  it('files the worker cannot decode fail their job cleanly; the item and its bytes stay', async () => {
    const expectations: Array<[string, RegExp]> = [
      ['truncated.jpg', /corrupt/],
      ['bomb.png', /too_many_pixels/],
      ['movie-header.mp4', /unsupported_format: no video stream/],
    ];
    const ids: string[] = [];
    for (const [name] of expectations) {
      const res = await submit(t, investigator, caseId, fixture(name), { filename: name });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids.push(res.body.id);
    }
    for (const [i, [name, reason]] of expectations.entries()) {
      const item = await waitProcessed(t, investigator, ids[i]!);
      expect(item.processing, name).toBe('failed');
      expect(item.processingError, name).toMatch(reason);
      expect(item.derivatives).toEqual({ thumbnail: null, preview: null });
      expect(item.perceptualHash).toBeNull();
      for (const kind of ['thumbnail', 'preview']) {
        expectProblem(await t.http.get(`/api/v1/evidence/${item.id}/${kind}`).set('Authorization', bearer(investigator)), 404);
      }
      const content = await t.http.get(`/api/v1/evidence/${item.id}/content`).set('Authorization', bearer(investigator)).buffer(true).parse(binary);
      expect(content.status).toBe(200);
      expect((content.body as Buffer).equals(fixture(name))).toBe(true);
      const verify = await t.http.post(`/api/v1/evidence/${item.id}/verify`).set('Authorization', bearer(investigator));
      expect(verify.body.intact).toBe(true);
    }
  });

  it('files that are not images get no derivatives and no job: thumbnail 404', async () => {
    for (const name of ['not-an-image.pdf', 'random.bin']) {
      const res = await submit(t, investigator, caseId, fixture(name), { filename: name });
      expect(res.status).toBe(201);
      const item = await waitProcessed(t, investigator, res.body.id);
      expect(item.derivatives, name).toEqual({ thumbnail: null, preview: null });
      expectProblem(await t.http.get(`/api/v1/evidence/${item.id}/thumbnail`).set('Authorization', bearer(investigator)), 404);
      expectProblem(await t.http.get(`/api/v1/evidence/${item.id}/preview`).set('Authorization', bearer(investigator)), 404);
    }
  });
  it('HEVC HEIC (stored turned, irot plus EXIF orientation 6), the iPhone-like exif.heic and AVIF: upright thumbnail and preview, no metadata', async () => {
    for (const name of ['hevc-irot.heic', 'exif.heic', 'avif-irot.avif']) {
      const file = fixture(name);
      const res = await submit(t, investigator, caseId, file, { filename: name });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.mediaType).toMatch(/^image\/(heic|avif)$/);
      const item = await waitProcessed(t, investigator, res.body.id);
      expect(item.processing, `${name}: ${item.processingError}`).toBe('done');
      expect(item.perceptualHash).toMatch(/^[0-9a-f]{16}$/);
      for (const kind of ['thumbnail', 'preview'] as const) {
        const image = await download(investigator, item.derivatives[kind]);
        const px = await pixels(image);
        const label = `${name} ${kind}`;
        expect([px.width, px.height], label).toEqual([64, 48]);
        expect(isRed(px.at(8, 6)), `${label} top-left ${px.at(8, 6)}`).toBe(true);
        expect(isGreen(px.at(55, 6)), `${label} top-right ${px.at(55, 6)}`).toBe(true);
        expect(isWhite(px.at(8, 40)), `${label} bottom-left`).toBe(true);
        await expectNoEmbeddedMetadata(image, label);
      }
      // The original stays byte for byte what was sent.
      const content = await t.http.get(`/api/v1/evidence/${item.id}/content`).set('Authorization', bearer(investigator)).buffer(true).parse(binary);
      expect((content.body as Buffer).equals(file)).toBe(true);
    }
  });

  it("a phone's DNG (IFD0 a thumbnail, the picture a JPEG in a SubIFD) and a Canon CR3: their JPEG turned upright, the raw's size and EXIF in `extracted`, no metadata", async () => {
    // orientation-6.jpg's stored (turned) pixels without their EXIF, as the DNG's preview; IFD0 says 6.
    const stored = await sharp(fixture('orientation-6.jpg')).jpeg({ quality: 95 }).toBuffer();
    const file = await phoneDng({ preview: stored, orientation: 6, raw: { width: 480, height: 640 } });
    const res = await submit(t, investigator, caseId, file, { filename: 'PXL_20261207_031500.dng', contentType: 'application/octet-stream' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ mediaType: 'image/x-adobe-dng', extracted: { width: 480, height: 640, orientation: 6, device: { make: 'Google', model: 'Pixel 8' } } });
    const item = await waitProcessed(t, investigator, res.body.id);
    expect(item.processing, item.processingError).toBe('done');
    for (const kind of ['thumbnail', 'preview'] as const) {
      const image = await download(investigator, item.derivatives[kind]);
      const px = await pixels(image);
      expect([px.width, px.height], kind).toEqual([64, 48]);
      expect(isRed(px.at(8, 6)), `${kind} top-left ${px.at(8, 6)}`).toBe(true);
      expect(isGreen(px.at(55, 6)), `${kind} top-right ${px.at(55, 6)}`).toBe(true);
      await expectNoEmbeddedMetadata(image, kind);
    }
    const content = await t.http.get(`/api/v1/evidence/${item.id}/content`).set('Authorization', bearer(investigator)).buffer(true).parse(binary);
    expect((content.body as Buffer).equals(file)).toBe(true);
    // A Canon CR3: its EXIF from its own boxes, its picture from its PRVW JPEG.
    const cr3 = await canonCr3({ preview: await sharp(fixture('orientation-1.jpg')).resize(640, 480, { kernel: 'nearest' }).jpeg().toBuffer() });
    const canon = await submit(t, investigator, caseId, cr3, { filename: 'IMG_0001.CR3' });
    expect(canon.body).toMatchObject({ mediaType: 'image/x-canon-cr3', extracted: { capturedAt: '2024-02-24T03:12:33.000Z', capturedAtOffset: '+02:00', width: 6000, height: 4000, device: { make: 'Canon', model: 'Canon EOS R6' } } });
    const canonDone = await waitProcessed(t, investigator, canon.body.id);
    expect(canonDone.processing, canonDone.processingError).toBe('done');
    expect((await pixels(await download(investigator, canonDone.derivatives.preview))).width).toBe(640);
    // An OM System ORF: sniffed by its own magic, its picture from its maker note's preview.
    const orf = olympusOrf({ preview: await sharp(fixture('orientation-1.jpg')).resize(1600, 1200, { kernel: 'nearest' }).jpeg().toBuffer(), thumbnail: await flatJpeg(160, 120, '#2040c0'), header: 'om-system' });
    const olympus = await submit(t, investigator, caseId, orf, { filename: 'P2240001.ORF' });
    expect(olympus.body).toMatchObject({ mediaType: 'image/x-olympus-orf', extracted: { capturedAt: '2024-02-24T05:10:00', width: 4640, height: 3472, device: { make: 'OLYMPUS IMAGING CORP.', model: 'E-M5' } } });
    const olympusDone = await waitProcessed(t, investigator, olympus.body.id);
    expect(olympusDone.processing, olympusDone.processingError).toBe('done');
    const preview = await download(investigator, olympusDone.derivatives.preview);
    expect((await pixels(preview)).width).toBe(1600);
    await expectNoEmbeddedMetadata(preview, 'ORF preview');
  });

  it('Display P3 HEVC HEIC (profile in its colr, decoded in the sandbox): derivatives in sRGB, red and green pure, no profile', async () => {
    const file = fixture('hevc-p3.heic');
    const res = await submit(t, investigator, caseId, file, { filename: 'hevc-p3.heic' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.mediaType).toBe('image/heic');
    const item = await waitProcessed(t, investigator, res.body.id);
    expect(item.processing, item.processingError).toBe('done');
    for (const kind of ['thumbnail', 'preview'] as const) {
      const image = await download(investigator, item.derivatives[kind]);
      const label = `hevc-p3.heic ${kind}`;
      await expectNoEmbeddedMetadata(image, label);
      const px = await pixels(image);
      expect([px.width, px.height], label).toEqual([64, 48]);
      // Read as sRGB, the stored P3 numbers would be about (234,51,35) and (117,251,76).
      const checks: Array<[Rgb, Rgb, string]> = [
        [px.at(8, 6), [255, 0, 0], 'red'],
        [px.at(55, 6), [0, 255, 0], 'green'],
      ];
      for (const [actual, expected, name] of checks) {
        for (let c = 0; c < 3; c++) expect(Math.abs(actual[c]! - expected[c]!), `${label} ${name} ${actual}`).toBeLessThanOrEqual(10);
      }
    }
  });

  it('videos: the poster frame gives an upright thumbnail and preview without metadata; a re-encoded re-post is near_duplicate, another video is not', async () => {
    const videoCase = await createCase(t, investigator, 'Videos');
    const a = await submit(t, investigator, videoCase, fixture('video-a.mp4'), { filename: 'video-a.mp4' });
    const b = await submit(t, investigator, videoCase, fixture('video-b.mp4'), { filename: 'video-b.mp4' });
    const turned = await submit(t, investigator, videoCase, fixture('video-rotated.mp4'), { filename: 'video-rotated.mp4' });
    expect([a.status, b.status, turned.status]).toEqual([201, 201, 201]);
    expect(a.body.mediaType).toBe('video/mp4');
    expect(a.body.processing).toBe('pending');
    const aDone = await waitProcessed(t, investigator, a.body.id);
    expect(aDone.processing, aDone.processingError).toBe('done');
    expect((await waitProcessed(t, investigator, b.body.id)).processing).toBe('done');

    for (const kind of ['thumbnail', 'preview'] as const) {
      const image = await download(investigator, aDone.derivatives[kind]);
      const px = await pixels(image);
      expect([px.width, px.height], kind).toEqual([320, 240]);
      await expectNoEmbeddedMetadata(image, `video-a.mp4 ${kind}`);
    }
    const turnedDone = await waitProcessed(t, investigator, turned.body.id);
    expect(turnedDone.processing, turnedDone.processingError).toBe('done');
    for (const kind of ['thumbnail', 'preview'] as const) {
      const px = await pixels(await download(investigator, turnedDone.derivatives[kind]));
      expect([px.width, px.height], kind).toEqual([320, 240]);
      expect(isRed(px.at(30, 20)), `video-rotated ${kind} top-left ${px.at(30, 20)}`).toBe(true);
      expect(isGreen(px.at(290, 20)), `video-rotated ${kind} top-right ${px.at(290, 20)}`).toBe(true);
      expect(isWhite(px.at(30, 220)), `video-rotated ${kind} bottom-left`).toBe(true);
    }

    const copy = await submit(t, investigator, videoCase, fixture('video-a-reencoded.mp4'), { filename: 'repost.mp4' });
    expect(copy.status).toBe(201);
    const copyDone = await waitProcessed(t, investigator, copy.body.id);
    expect(copyDone.processing, copyDone.processingError).toBe('done');
    expect(copyDone.flags).toContain('near_duplicate');
    expect(copyDone.flags).not.toContain('exact_duplicate');
    expect(copyDone.nearDuplicates.map((n: { id: string }) => n.id)).toEqual([a.body.id]);
    const aNow = (await t.http.get(`/api/v1/evidence/${a.body.id}`).set('Authorization', bearer(investigator))).body;
    expect(aNow.flags).toContain('near_duplicate');
    const bNow = (await t.http.get(`/api/v1/evidence/${b.body.id}`).set('Authorization', bearer(investigator))).body;
    expect(bNow.flags).not.toContain('near_duplicate');
    expect(bNow.nearDuplicates).toEqual([]);

    // A camcorder's AVCHD .MTS of the same frames, as a Windows browser declares it: MPEG-TS,
    // its poster made, a near duplicate of the MP4, and no type contradiction.
    const mts = await submit(t, investigator, videoCase, fixture('video-a.m2ts'), { filename: '00012.MTS', contentType: 'video/vnd.dlna.mpeg-tts' });
    expect(mts.status, JSON.stringify(mts.body)).toBe(201);
    expect(mts.body.mediaType).toBe('video/mp2t');
    const mtsDone = await waitProcessed(t, investigator, mts.body.id);
    expect(mtsDone.processing, mtsDone.processingError).toBe('done');
    expect(mtsDone.flags).toContain('near_duplicate');
    expect(mtsDone.flags).not.toContain('type_mismatch');
    expect(mtsDone.nearDuplicates.map((n: { id: string }) => n.id)).toContain(a.body.id);
    const px = await pixels(await download(investigator, mtsDone.derivatives.preview));
    expect([px.width, px.height]).toEqual([320, 240]);
  });

  it('hostile videos (truncated, absurd dimensions, endless) fail their jobs cleanly within the limit, and the item after them is processed', async () => {
    const hostileCase = await createCase(t, investigator, 'Hostile videos');
    const hostile: Array<[string, RegExp]> = [
      ['video-endless.mp4', /^limit_exceeded: .*(memory|MiB)/],
      ['video-absurd-dimensions.mp4', /^too_many_pixels: .*16000x16000/],
      ['video-truncated.mp4', /^corrupt: /],
    ];
    const started = Date.now();
    const ids: string[] = [];
    for (const [name] of hostile) {
      const res = await submit(t, investigator, hostileCase, fixture(name), { filename: name });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.processing, name).toBe('pending');
      ids.push(res.body.id);
    }
    const next = await submit(t, investigator, hostileCase, fixture('scene-a.jpg'), { filename: 'after.jpg' });
    expect(next.status).toBe(201);

    for (const [i, [name, reason]] of hostile.entries()) {
      const item = await waitProcessed(t, investigator, ids[i]!, 90_000);
      expect(item.processing, name).toBe('failed');
      expect(item.processingError, name).toMatch(reason);
      expect(item.derivatives).toEqual({ thumbnail: null, preview: null });
      expect(item.perceptualHash).toBeNull();
      const content = await t.http.get(`/api/v1/evidence/${item.id}/content`).set('Authorization', bearer(investigator)).buffer(true).parse(binary);
      expect((content.body as Buffer).equals(fixture(name)), name).toBe(true);
    }
    // Every decode ran under the 60 s limit (each fails by its own check long before it).
    expect(Date.now() - started).toBeLessThan(60_000);
    const after = await waitProcessed(t, investigator, next.body.id);
    expect(after.processing, after.processingError).toBe('done');
    expect(after.derivatives.thumbnail).toBe(`/api/v1/evidence/${next.body.id}/thumbnail`);
  }, 120_000);
});
