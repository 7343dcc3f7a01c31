import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import exifr from 'exifr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { CustodyLog, TreeHeads } from '../libs/custody/src/index.js';
import { PYTHON } from './support/python.js';
import { openssl, startLocalTsa, type LocalTsa } from './support/tsa/local-tsa.js';
import { expectProblem, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, binary, createCase, fixture, sha256base64, sha256hex, submit, waitProcessed } from './support/evidence.js';
import { cliVerify, coreutilsCheck, download, filesIn, makeExport, run, unpack, waitExport } from './support/exports.js';

const NAME = 'Олена Ковальчук';
const TRICKY_NAME = '100% Салтівка: вибух\u202egpj.jpg';
/** A damaged building's street address and an incident's place name: either places it more precisely than 0.01°. */
const ADDRESS = 'вул. Академіка Павлова, 140';
const PLACE_NAME = 'Харків, просп. Тракторобудівників, 59';

describe('court packages (e2e)', () => {
  let t: TestApp;
  let tsa: LocalTsa;
  let investigator: TestUser;
  let colleague: TestUser;
  let documenter: TestUser;
  let auditor: TestUser;
  let outsider: TestUser;
  let caseId: string;
  let photoId: string;
  let pdfId: string;
  let otherId: string;
  let incidentId: string;
  const photo = fixture('metadata-rich.jpg');
  const pdf = fixture('not-an-image.pdf');
  const dirs: string[] = [];

  const as = (user: TestUser) => ({
    get: (p: string) => t.http.get(`/api/v1${p}`).set('Authorization', bearer(user)),
    post: (p: string, body: unknown) => t.http.post(`/api/v1${p}`).set('Authorization', bearer(user)).send(body as object),
  });
  const events = (subjectId: string) =>
    t.db.superuserQuery<{ action: string; event: string }>(
      `SELECT action, convert_from(event_bytes, 'UTF8') AS event FROM custody_events WHERE subject_id = $1 ORDER BY leaf_index`,
      [subjectId],
    );

  beforeAll(async () => {
    tsa = await startLocalTsa();
    // With the authority's root configured, every token is checked down to its chain when it arrives.
    t = await startTestApp({ CUSTODIA_TSA_URL: tsa.url, CUSTODIA_TSA_CERT: tsa.caPem, CUSTODIA_ORGANIZATION: 'Kharkiv Human Rights Group' });
    investigator = await t.user('investigator', 'irina');
    colleague = await t.user('investigator', 'colleague');
    documenter = await t.user('documenter', 'dasha');
    auditor = await t.user('auditor');
    outsider = await t.user('investigator', 'outsider');
    caseId = await createCase(t, investigator, 'Saltivka, 2026-11-20', [colleague, documenter, auditor]);
    const submitted = await submit(t, documenter, caseId, photo, {
      filename: TRICKY_NAME,
      contentType: 'image/jpeg',
      metadata: { sha256: sha256hex(photo), capturedAt: '2026-11-20T01:50:00+02:00', location: { lat: 50.02684, lon: 36.34581 }, title: 'Під\'їзд 3' },
    });
    expect(submitted.status).toBe(201);
    photoId = submitted.body.id;
    pdfId = (await submit(t, investigator, caseId, pdf, { filename: 'witness statement.pdf', contentType: 'application/pdf' })).body.id;
    otherId = (await submit(t, investigator, caseId, randomBytes(2048), { filename: 'other.bin' })).body.id;
    await waitProcessed(t, investigator, photoId);
    const incident = await as(investigator).post(`/cases/${caseId}/incidents`, {
      title: 'Удар по Салтівці',
      type: 'air_drone_strike',
      startAt: '2026-11-20T01:40:00+02:00',
      datePrecision: 'exact',
      location: { lat: 50.02684, lon: 36.34581 },
      geoPrecision: 'exact',
      weapons: [{ weaponType: 'uav.owa.shahed_136' }],
      evidence: [{ evidenceId: photoId, role: 'depicts_aftermath' }],
    });
    expect(incident.status, JSON.stringify(incident.body)).toBe(201);
    incidentId = incident.body.id;
    const casualty = await as(investigator).post(`/incidents/${incidentId}/casualties`, {
      harmStatus: 'killed',
      fullName: NAME,
      sex: 'female',
      ageGroup: 'adult',
      civilianStatus: 'civilian',
      sources: [{ evidenceId: pdfId, reliability: 'reliable' }],
    });
    expect(casualty.status, JSON.stringify(casualty.body)).toBe(201);
  });

  afterAll(async () => {
    await t?.close();
    await tsa?.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  describe('a whole-case court package', () => {
    let exported: Record<string, any>;
    let zip: string;
    let zipBytes: Buffer;
    let bag: string;

    beforeAll(async () => {
      exported = await makeExport(t, investigator, caseId, { purpose: 'court', note: 'for the prosecutor, case 12/2026' });
      const got = await download(t, investigator, exported.id);
      dirs.push(got.dir);
      zip = got.zip;
      zipBytes = got.bytes;
      bag = await unpack(zip, path.join(got.dir, 'out'));
    });

    it('reports progress and its SHA-256, size and file name', async () => {
      expect(exported).toMatchObject({
        caseId,
        purpose: 'court',
        includeNames: false,
        status: 'ready',
        selection: {},
        note: 'for the prosecutor, case 12/2026',
        progress: { items: 3, itemsDone: 3 },
        sha256: sha256hex(zipBytes),
        sizeBytes: zipBytes.length,
        createdBy: investigator.id,
        contentUrl: `/api/v1/exports/${exported.id}/content`,
      });
      expect(exported.progress.bytes).toBe(photo.length + pdf.length + 2048);
      expect(exported.progress.bytesDone).toBe(exported.progress.bytes);
      expect(exported.fileName).toMatch(new RegExp(`^custodia-${caseId.slice(0, 8)}-\\d{8}T\\d{6}Z\\.zip$`));
      const list = await as(investigator).get(`/cases/${caseId}/exports`);
      expect(list.body.items.map((e: { id: string }) => e.id)).toContain(exported.id);
    });

    it('is a BagIt bag that unzip, sha256sum and sha512sum accept', async () => {
      await run('unzip', ['-tq', zip]);
      const sha256 = await coreutilsCheck(bag, 'manifest-sha256.txt');
      expect(sha256).toContain(`data/evidence/${photoId}/original/`);
      expect(sha256).not.toMatch(/FAILED/);
      await coreutilsCheck(bag, 'manifest-sha512.txt');
      const tags = await coreutilsCheck(bag, 'tagmanifest-sha256.txt');
      for (const name of ['README.txt', 'report.html', 'report.pdf', 'verify_proofs.py', 'bag-info.txt', 'bagit.txt', 'manifest-sha256.txt', 'manifest-sha512.txt']) {
        expect(tags).toContain(`${name}: OK`);
      }
      await coreutilsCheck(bag, 'tagmanifest-sha512.txt');
      const info = await readFile(path.join(bag, 'bag-info.txt'), 'utf8');
      const files = (await filesIn(path.join(bag, 'data'))).length;
      const bytes = (await Promise.all((await filesIn(path.join(bag, 'data'))).map(async (f) => (await readFile(path.join(bag, 'data', f))).length))).reduce((a, b) => a + b, 0);
      expect(info).toContain(`Payload-Oxum: ${bytes}.${files}\n`);
      expect(info).toContain('Source-Organization: Kharkiv Human Rights Group\n');
      expect(info).toContain(`External-Identifier: ${exported.id}\n`);
      expect(info).toContain('Custodia-Timestamp-Token: yes\n');
    });

    it('holds the originals byte for byte under sanitised names, the records and the custody files', async () => {
      const files = await filesIn(bag);
      const original = files.find((f) => f.startsWith(`data/evidence/${photoId}/original/`))!;
      // `%` too is replaced: no manifest line needs BagIt's percent-encoding, which sha256sum -c and bagit-python do not undo.
      expect(path.basename(original)).toBe('100_ Салтівка_ вибухgpj.jpg');
      expect(await readFile(path.join(bag, original))).toEqual(photo);
      const record = JSON.parse(await readFile(path.join(bag, `data/evidence/${photoId}/record.json`), 'utf8'));
      expect(record).toMatchObject({ id: photoId, sha256: sha256hex(photo), originalFileName: TRICKY_NAME.normalize('NFC') });
      expect(await readFile(path.join(bag, `data/evidence/${pdfId}/original/witness statement.pdf`))).toEqual(pdf);
      for (const name of ['incidents.json', 'casualties.json', 'damage.json', 'custody/events.jsonl', 'custody/proofs.json', 'custody/tree-head.json', 'custody/keys.json', 'custody/tree-head.tsr']) {
        expect(files).toContain(`data/${name}`);
      }
      expect(files).not.toContain('data/records/names.json');
      const incidents = JSON.parse(await readFile(path.join(bag, 'data/incidents.json'), 'utf8'));
      expect(incidents.map((i: { id: string }) => i.id)).toEqual([incidentId]);
      // No victim's name anywhere in a package made without includeNames, not even in the report.
      for (const file of files) expect((await readFile(path.join(bag, file))).includes(Buffer.from(NAME))).toBe(false);
    });

    it("carries every event about the selection with proofs to one signed, time-stamped head", async () => {
      const lines = (await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8')).trimEnd().split('\n');
      const proofs = JSON.parse(await readFile(path.join(bag, 'data/custody/proofs.json'), 'utf8'));
      expect(proofs).toHaveLength(lines.length);
      const head = JSON.parse(await readFile(path.join(bag, 'data/custody/tree-head.json'), 'utf8'));
      expect(exported.treeSize).toBe(head.treeSize);
      const stored = [...(await events(photoId)), ...(await events(incidentId)), ...(await events(caseId))].filter((e) => JSON.parse(e.event).index < head.treeSize);
      for (const e of stored) expect(lines).toContain(e.event);
      lines.forEach((line, k) => expect(proofs[k].leafHash).toBe(createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(line)])).digest('hex')));
      // The seal records the log's size when the events were listed: they all lie below it.
      const seal = JSON.parse(await readFile(path.join(bag, 'data/custody/seal.json'), 'utf8'));
      const listed = seal.event.details.listedTreeSize;
      expect(Number.isInteger(listed) && listed <= seal.leafIndex).toBe(true);
      for (const line of lines) expect(JSON.parse(line).index).toBeLessThan(listed);
      // The standard tools of README.txt: OpenSSL for the signature and the time-stamp, Python for the proofs.
      const key = `data/custody/keys/${head.keyId}.pem`;
      const signature = await run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', key, '-rawin', '-in', 'data/custody/tree-head.tbs', '-sigfile', 'data/custody/tree-head.sig'], { cwd: bag });
      expect(signature.stdout).toContain('Signature Verified Successfully');
      const keyId = await run('sh', ['-c', `openssl pkey -pubin -in ${key} -outform DER | sha256sum`], { cwd: bag });
      expect(keyId.stdout.slice(0, 64)).toBe(head.keyId);
      const stamp = await run('openssl', ['ts', '-verify', '-token_in', '-in', 'data/custody/tree-head.tsr', '-data', 'data/custody/tree-head.json', '-CAfile', tsa.caPem, '-untrusted', tsa.tsaPem], { cwd: bag });
      expect(stamp.stdout).toContain('Verification: OK');
      const python = await run(PYTHON, [path.join(bag, 'verify_proofs.py'), bag]);
      expect(python.stdout).toContain('ALL CHECKS PASSED');
      // The script checks the token too, with the certificate it carries: the one openssl checked above.
      const tsaDer = (await openssl(['x509', '-in', tsa.tsaPem, '-outform', 'DER'])).stdout;
      expect(python.stdout).toContain(`by Custodia Test TSA; the signature verifies with the certificate it carries (SHA-256 ${createHash('sha256').update(tsaDer).digest('hex')})`);
    });

    it('passes `custodia verify` on the ZIP and on the unpacked folder, pinned to the key and the TSA root', async () => {
      const head = JSON.parse(await readFile(path.join(bag, 'data/custody/tree-head.json'), 'utf8'));
      const zipped = await cliVerify([zip, '--trusted-key', head.keyId, '--tsa-cert', tsa.caPem]);
      expect(zipped.code, zipped.out).toBe(0);
      expect(zipped.out).toMatch(/time-stamp\s+OK .*chain to the given certificate checked/);
      expect(zipped.out).toMatch(new RegExp(`OK\\s+${photoId}\\s+100_ Салтівка`));
      expect(zipped.out).toMatch(/^VERIFIED: 3 item\(s\)/m);
      expect(zipped.out).not.toContain('--trusted-key');
      // Without a pinned key the verdict says what it cannot: that the archive signed it.
      const unpinned = await cliVerify([zip]);
      expect(unpinned.code, unpinned.out).toBe(0);
      expect(unpinned.out).not.toMatch(/VERIFIED/);
      expect(unpinned.out).toMatch(/^INTACT, SIGNER NOT CHECKED: 3 item\(s\).*\nThe signing key is the package's own: give the archive's published key id with --trusted-key/m);
      const folder = await cliVerify([bag, '--json']);
      expect(folder.code).toBe(0);
      expect(JSON.parse(folder.out)).toMatchObject({ ok: true, purpose: 'court', items: expect.arrayContaining([expect.objectContaining({ evidenceId: pdfId, ok: true })]) });
    });

    it('records export.created with the package hash and counts, and evidence.exported for each item', async () => {
      const created = (await events(exported.id)).map((e) => JSON.parse(e.event));
      // Sealed before the package's head, then created once stored (the seal's manifest is in the package).
      expect(created.map((e) => e.action).slice(0, 2)).toEqual(['export.sealed', 'export.created']);
      expect(created[0]).toMatchObject({ subject: { type: 'export', id: exported.id }, details: { manifest: 'data/custody/sealed-manifest-sha256.txt' } });
      expect(created[0].subject.sha256).toBe(sha256hex(await readFile(path.join(bag, 'data/custody/sealed-manifest-sha256.txt'))));
      expect(created[1]).toMatchObject({
        action: 'export.created',
        actor: { id: investigator.id, role: 'investigator' },
        caseId,
        subject: { type: 'export', id: exported.id, sha256: exported.sha256 },
        details: { sha256: exported.sha256, sizeBytes: exported.sizeBytes, purpose: 'court', selection: { wholeCase: true }, counts: { evidence: 3, incidents: 1, casualties: 1, damage: 0 } },
        reason: 'for the prosecutor, case 12/2026',
      });
      for (const id of [photoId, pdfId, otherId]) {
        const exportedEvent = (await events(id)).map((e) => JSON.parse(e.event)).find((e) => e.action === 'evidence.exported');
        expect(exportedEvent).toMatchObject({ details: { exportId: exported.id, purpose: 'court', packageSha256: exported.sha256, packed: 'original' } });
      }
    });

    it('streams with Range, ETag and Repr-Digest, and logs each download', async () => {
      const before = (await events(exported.id)).length;
      const whole = await as(colleague).get(`/exports/${exported.id}/content`).buffer(true).parse(binary);
      expect(whole.status).toBe(200);
      expect(whole.headers['content-type']).toBe('application/zip');
      expect(whole.headers['etag']).toBe(`"sha256-${exported.sha256}"`);
      expect(whole.headers['repr-digest']).toBe(`sha-256=:${sha256base64(zipBytes)}:`);
      expect(whole.headers['content-disposition']).toContain(exported.fileName);
      const part = await as(investigator).get(`/exports/${exported.id}/content`).set('Range', 'bytes=100-199').buffer(true).parse(binary);
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes 100-199/${zipBytes.length}`);
      expect(part.body).toEqual(zipBytes.subarray(100, 200));
      expectProblem(await as(investigator).get(`/exports/${exported.id}/content`).set('Range', `bytes=${zipBytes.length}-`), 416);
      const after = (await events(exported.id)).map((e) => JSON.parse(e.event)).slice(before);
      expect(after.map((e) => [e.action, e.actor.id, e.details.range ?? null])).toEqual([
        ['export.downloaded', colleague.id, null],
        ['export.downloaded', investigator.id, 'bytes=100-199'],
      ]);
    });
  });

  describe('selections', () => {
    it('packs only the named items, or an incident with the evidence it cites and its records', async () => {
      const one = await makeExport(t, investigator, caseId, { purpose: 'court', evidenceIds: [otherId] });
      expect(one.progress.items).toBe(1);
      const byIncident = await makeExport(t, investigator, caseId, { purpose: 'court', incidentIds: [incidentId] });
      const got = await download(t, investigator, byIncident.id);
      dirs.push(got.dir);
      const bag = await unpack(got.zip, path.join(got.dir, 'out'));
      const folders = (await filesIn(path.join(bag, 'data/evidence'))).map((f) => f.split('/')[0]);
      // The photo is linked to the incident; the PDF is the casualty record's source.
      expect([...new Set(folders)].sort()).toEqual([photoId, pdfId].sort());
      expect(JSON.parse(await readFile(path.join(bag, 'data/casualties.json'), 'utf8'))).toHaveLength(1);
      expect((await cliVerify([got.zip])).code).toBe(0);
    });

    it('selects by time: evidence captured (else received) and incidents starting in the range', async () => {
      const night = await makeExport(t, investigator, caseId, { purpose: 'court', from: '2026-11-19T22:00:00Z', to: '2026-11-20T03:00:00Z' });
      // The incident (started 23:40 UTC), which brings the photo linked to it (whose own camera
      // clock, 2020-02-02 with no zone, is what a time search sees of it) and the PDF its casualty
      // record cites; the opaque file was received today and captured never.
      expect(night.progress.items).toBe(2);
      const got = await download(t, investigator, night.id);
      dirs.push(got.dir);
      const bag = await unpack(got.zip, path.join(got.dir, 'out'));
      expect(JSON.parse(await readFile(path.join(bag, 'data/incidents.json'), 'utf8')).map((i: { id: string }) => i.id)).toEqual([incidentId]);
      expect((await filesIn(path.join(bag, 'data/evidence'))).some((f) => f.startsWith(otherId))).toBe(false);
    });
  });

  describe('names, roles and refusals', () => {
    it("puts victims' names in records/names.json only for an investigator who asks, and only they may fetch it", async () => {
      const named = await makeExport(t, investigator, caseId, { purpose: 'court', includeNames: true });
      const got = await download(t, colleague, named.id);
      dirs.push(got.dir);
      const bag = await unpack(got.zip, path.join(got.dir, 'out'));
      const names = JSON.parse(await readFile(path.join(bag, 'data/records/names.json'), 'utf8'));
      expect(names).toEqual([expect.objectContaining({ incidentId, fullName: NAME })]);
      expect(await readFile(path.join(bag, 'data/casualties.json'), 'utf8')).not.toContain(NAME);
      expectProblem(await as(t.admin).get(`/exports/${named.id}/content`), 403);
      expectProblem(await as(t.admin).post(`/cases/${caseId}/exports`, { purpose: 'court', includeNames: true }), 403);
      expectProblem(await as(investigator).post(`/cases/${caseId}/exports`, { purpose: 'partner', includeNames: true }), 422);
    });

    it('lets investigators and admins export, auditors see that exports exist, and nobody else anything', async () => {
      const [first] = (await as(investigator).get(`/cases/${caseId}/exports`)).body.items;
      const adminExport = await as(t.admin).post(`/cases/${caseId}/exports`, { purpose: 'court', evidenceIds: [otherId] });
      expect(adminExport.status).toBe(202);
      expect((await waitExport(t, t.admin, adminExport.body.id)).status).toBe('ready');
      expect((await as(auditor).get(`/cases/${caseId}/exports`)).status).toBe(200);
      expect((await as(auditor).get(`/exports/${first.id}`)).status).toBe(200);
      expectProblem(await as(auditor).get(`/exports/${first.id}/content`), 403);
      expectProblem(await as(auditor).post(`/cases/${caseId}/exports`, { purpose: 'court' }), 403);
      for (const request of [
        as(documenter).post(`/cases/${caseId}/exports`, { purpose: 'court' }),
        as(documenter).get(`/cases/${caseId}/exports`),
        as(documenter).get(`/exports/${first.id}`),
        as(documenter).get(`/exports/${first.id}/content`),
      ]) {
        expectProblem(await request, 403);
      }
      for (const request of [
        as(outsider).post(`/cases/${caseId}/exports`, { purpose: 'court' }),
        as(outsider).get(`/cases/${caseId}/exports`),
        as(outsider).get(`/exports/${first.id}`),
        as(outsider).get(`/exports/${first.id}/content`),
      ]) {
        expectProblem(await request, 404);
      }
      expectProblem(await t.http.get(`/api/v1/exports/${first.id}/content`), 401);
    });

    it('refuses malformed, unknown and foreign selections with a problem naming the field, storing nothing', async () => {
      const otherCase = await createCase(t, outsider, 'another case');
      const foreign = (await submit(t, outsider, otherCase, randomBytes(100))).body.id;
      const [{ count: before }] = await t.db.superuserQuery<{ count: string }>(`SELECT count(*) FROM exports`);
      const cases: [unknown, number, string][] = [
        [{}, 400, 'purpose'],
        [{ purpose: 'press' }, 400, 'purpose'],
        [{ purpose: 'court', evidenceIds: ['not-a-uuid'] }, 400, 'evidenceIds[0]'],
        [{ purpose: 'court', evidenceIds: 'x' }, 400, 'evidenceIds'],
        [{ purpose: 'court', from: 'yesterday' }, 400, 'from'],
        [{ purpose: 'court', note: 'x'.repeat(2001) }, 400, 'note'],
        [{ purpose: 'court', includeNames: 'yes' }, 400, 'includeNames'],
        [{ purpose: 'court', extra: 1 }, 400, 'extra'],
        [{ purpose: 'court', evidenceIds: [foreign] }, 422, 'evidenceIds[0]'],
        [{ purpose: 'court', incidentIds: [photoId] }, 422, 'incidentIds[0]'],
        [{ purpose: 'court', from: '2026-11-21T00:00:00Z', to: '2026-11-20T00:00:00Z' }, 422, 'to'],
        // An empty list selects nothing, not the whole case.
        [{ purpose: 'court', evidenceIds: [] }, 422, 'evidenceIds'],
        [{ purpose: 'court', incidentIds: [], evidenceIds: [photoId] }, 422, 'incidentIds'],
      ];
      for (const [body, status, field] of cases) {
        const problem = expectProblem(await as(investigator).post(`/cases/${caseId}/exports`, body), status);
        expect(problem.errors?.map((e) => e.field), JSON.stringify(body)).toContain(field);
      }
      expectProblem(await as(investigator).post(`/cases/not-a-uuid/exports`, { purpose: 'court' }), 400);
      expectProblem(await as(investigator).get(`/exports/${randomUUID()}`), 404);
      expectProblem(await as(investigator).get(`/exports/${randomUUID()}/content`), 404);
      const [{ count: after }] = await t.db.superuserQuery<{ count: string }>(`SELECT count(*) FROM exports`);
      expect(after).toBe(before);
    });

    it('queues at most three exports per person (429 beyond), and others export meanwhile', async () => {
      const busy = await t.user('investigator', 'many packages');
      await as(investigator).post(`/cases/${caseId}/members`, { userId: busy.id });
      // Three packages of theirs waiting (rows as create makes them, their jobs not yet taken).
      await t.db.superuserQuery(
        `INSERT INTO exports (case_id, purpose, include_names, selection, created_by) SELECT $1, 'court', false, '{}', $2 FROM generate_series(1, 3)`,
        [caseId, busy.id],
      );
      const before = await t.db.superuserQuery(`SELECT count(*)::int AS n FROM exports`);
      const refused = await as(busy).post(`/cases/${caseId}/exports`, { purpose: 'court', evidenceIds: [otherId] });
      expectProblem(refused, 429);
      expect(refused.headers['retry-after']).toBe('60');
      expect(await t.db.superuserQuery(`SELECT count(*)::int AS n FROM exports`)).toEqual(before);
      const theirs = await as(colleague).post(`/cases/${caseId}/exports`, { purpose: 'court', evidenceIds: [otherId] });
      expect(theirs.status).toBe(202);
      expect((await waitExport(t, colleague, theirs.body.id)).status).toBe('ready');
    });

    it('answers 409 for a package that is not ready, and never deletes or rewrites an export row', async () => {
      const pending = await as(investigator).post(`/cases/${caseId}/exports`, { purpose: 'court', evidenceIds: [otherId] });
      const early = await as(investigator).get(`/exports/${pending.body.id}/content`);
      if (early.status !== 200) expectProblem(early, 409);
      await waitExport(t, investigator, pending.body.id);
      await expect(t.db.superuserQuery(`DELETE FROM exports WHERE id = $1`, [pending.body.id])).rejects.toThrow(/never deleted/);
      await expect(t.db.superuserQuery(`UPDATE exports SET sha256 = $2 WHERE id = $1`, [pending.body.id, 'f'.repeat(64)])).rejects.toThrow(/never changes/);
    });
  });

  describe('a partner working copy', () => {
    let bag: string;
    let zip: string;
    let authoredId: string;

    beforeAll(async () => {
      // A building's footprint (GeoJSON [lon, lat]) and a PDF that names its author.
      const damage = await as(investigator).post(`/incidents/${incidentId}/damage`, {
        objectName: 'Житловий будинок', address: ADDRESS, objectCategory: 'residential.apartment', damageLevel: 'severe', location: { lat: 50.02684, lon: 36.34581 },
        footprint: { type: 'Polygon', coordinates: [[[36.3459, 50.0269], [36.3462, 50.0269], [36.3462, 50.0271], [36.3459, 50.0269]]] },
      });
      expect(damage.status, JSON.stringify(damage.body)).toBe(201);
      authoredId = (await submit(t, investigator, caseId, fixture('document.pdf'), { filename: 'statement.pdf', contentType: 'application/pdf' })).body.id;
      expect((await waitProcessed(t, investigator, authoredId)).extracted.document.author).toBe('Оксана Коваленко');
      // A change whose reason names a witness: its event's signed bytes hold the name.
      const retitled = await t.http.patch(`/api/v1/evidence/${photoId}`).set('Authorization', bearer(investigator)).send({
        title: 'Уламки на подвір’ї',
        reason: 'Назву уточнено зі слів свідка Марії Шевчук',
      });
      expect(retitled.status, JSON.stringify(retitled.body)).toBe(200);
      const placed = await t.http.patch(`/api/v1/incidents/${incidentId}`).set('Authorization', bearer(investigator)).send({
        placeName: PLACE_NAME,
        admin1: 'Харківська',
        reason: 'Place from the field visit',
      });
      expect(placed.status, JSON.stringify(placed.body)).toBe(200);
      // Intake's metadata events as written before 2026-12-05, naming the capture time and the
      // device, or no device (later ones name neither).
      for (const device of [{ make: 'DJI', model: 'FC3411', software: null }, null]) {
        await t.app.get(DataSource).transaction((tx) =>
          t.app.get(CustodyLog).append(tx, {
            action: 'evidence.metadata_extracted',
            actor: { id: 'system', role: 'system' },
            caseId,
            subject: { type: 'evidence', id: photoId, sha256: sha256hex(photo) },
            details: { found: true, capturedAt: '2008-05-30T12:56:01.250Z', capturedAtOffset: '+03:00', hasLocation: true, device, flags: [], onBehalfOf: documenter.id },
          }),
        );
      }
      const partner = await makeExport(t, investigator, caseId, { purpose: 'partner' });
      const got = await download(t, investigator, partner.id);
      dirs.push(got.dir);
      zip = got.zip;
      bag = await unpack(zip, path.join(got.dir, 'out'));
    });

    it('holds previews with no embedded metadata instead of originals', async () => {
      const files = await filesIn(path.join(bag, 'data/evidence'));
      expect(files.some((f) => f.includes('/original/'))).toBe(false);
      const preview = await readFile(path.join(bag, `data/evidence/${photoId}/preview.jpg`));
      expect(await exifr.parse(preview, { tiff: true, xmp: true, icc: true, iptc: true, gps: true })).toBeUndefined();
      // Items without a preview (the PDF, the opaque file) carry their record only.
      expect(files.filter((f) => f.startsWith(pdfId))).toEqual([`${pdfId}/record.json`]);
    });

    it('rounds every position (footprints too) to 0.01 degree and names no submitter or document author', async () => {
      const record = JSON.parse(await readFile(path.join(bag, `data/evidence/${photoId}/record.json`), 'utf8'));
      expect(record.declared.location).toMatchObject({ lat: 50.03, lon: 36.35 });
      if (record.extracted?.location) {
        for (const v of [record.extracted.location.lat, record.extracted.location.lon]) expect(Math.round(v * 100) / 100).toBe(v);
      }
      expect(record.submittedBy).toEqual({ id: documenter.id });
      const incidents = JSON.parse(await readFile(path.join(bag, 'data/incidents.json'), 'utf8'));
      expect(incidents[0].location).toMatchObject({ lat: 50.03, lon: 36.35 });
      const [damage] = JSON.parse(await readFile(path.join(bag, 'data/damage.json'), 'utf8'));
      expect(damage.location).toMatchObject({ lat: 50.03, lon: 36.35 });
      expect(damage.footprint.coordinates.flat(2)).toEqual([36.35, 50.03, 36.35, 50.03, 36.35, 50.03, 36.35, 50.03]);
      const authored = JSON.parse(await readFile(path.join(bag, `data/evidence/${authoredId}/record.json`), 'utf8'));
      expect(authored.extracted.document).toMatchObject({ title: expect.any(String), author: null });
      const report = await readFile(path.join(bag, 'report.html'), 'utf8');
      expect(report).not.toContain('dasha');
      expect(report).not.toContain('Коваленко');
      expect(await readFile(path.join(bag, 'bag-info.txt'), 'utf8')).toContain('Custodia-Purpose: partner\n');
    });

    it('holds no file name the submitter chose, no device, no street address or place name: not in the records, the events, the report or the tag files', async () => {
      const photoRecord = JSON.parse(await readFile(path.join(bag, `data/evidence/${photoId}/record.json`), 'utf8'));
      expect(photoRecord).toMatchObject({ originalFileName: null, extracted: { device: null } });
      const authored = JSON.parse(await readFile(path.join(bag, `data/evidence/${authoredId}/record.json`), 'utf8'));
      expect(authored).toMatchObject({ originalFileName: null, extracted: { document: { creator: null, producer: null } } });
      const [damage] = JSON.parse(await readFile(path.join(bag, 'data/damage.json'), 'utf8'));
      expect(damage).toMatchObject({ objectName: 'Житловий будинок', address: null });
      const [incident] = JSON.parse(await readFile(path.join(bag, 'data/incidents.json'), 'utf8'));
      expect(incident).toMatchObject({ placeName: null, admin1: 'Харківська' });
      // What was submitted and entered, as the archive holds it (a court package carries it all, see below).
      const held = (await as(investigator).get(`/evidence/${photoId}`)).body;
      expect(held.extracted.device).toMatchObject({ make: 'DJI', model: 'FC3411' });
      const leaks = [
        TRICKY_NAME.normalize('NFC'), 'вибух', 'witness statement.pdf', 'statement.pdf', 'other.bin',
        held.extracted.device.model, 'LibreOffice', ADDRESS, PLACE_NAME, 'Тракторобудівників',
      ];
      const files = (await filesIn(bag)).filter((f) => !/\.(jpg|pdf|tsr|sig)$/.test(f));
      expect(files).toEqual(expect.arrayContaining([`data/evidence/${photoId}/record.json`, 'data/damage.json', 'data/incidents.json', 'data/custody/events.jsonl', 'report.html', 'README.txt', 'bag-info.txt']));
      for (const file of files) {
        const text = await readFile(path.join(bag, file), 'utf8');
        for (const leak of leaks) expect(text.includes(leak), `${file} holds "${leak}"`).toBe(false);
      }
      // The report's item counts the events its package carries.
      const report = await readFile(path.join(bag, 'report.html'), 'utf8');
      const section = report.slice(report.indexOf(`id="item-${photoId}"`));
      const shown = Number(/\/ Custody events<\/span> \((\d+)\)<\/h3>/.exec(section)?.[1]);
      const carried = (await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8')).trim().split('\n').filter((line) => JSON.parse(line).subject.id === photoId);
      expect(shown).toBe(carried.length);
    });

    it('names as an item\'s copies only items the copy holds; a court package names them all', async () => {
      // The same photo again: an exact duplicate, and a near duplicate at distance 0, of photoId.
      const again = await submit(t, investigator, caseId, photo, { filename: 'again.jpg', contentType: 'image/jpeg' });
      expect(again.status, JSON.stringify(again.body)).toBe(201);
      const item = await waitProcessed(t, investigator, again.body.id);
      expect(item.duplicateOf).toBe(photoId);
      expect(item.nearDuplicates.map((near: { id: string }) => near.id)).toContain(photoId);
      const recordIn = async (purpose: string) => {
        const made = await makeExport(t, investigator, caseId, { purpose, evidenceIds: [again.body.id] });
        const got = await download(t, investigator, made.id);
        dirs.push(got.dir);
        const out = await unpack(got.zip, path.join(got.dir, 'out'));
        return JSON.parse(await readFile(path.join(out, `data/evidence/${again.body.id}/record.json`), 'utf8'));
      };
      const partnerRecord = await recordIn('partner');
      expect(partnerRecord).toMatchObject({ duplicateOf: null, nearDuplicates: [] });
      // The flags still say the archive holds copies.
      expect(partnerRecord.flags).toEqual(expect.arrayContaining(['exact_duplicate', 'near_duplicate']));
      const courtRecord = await recordIn('court');
      expect(courtRecord.duplicateOf).toBe(photoId);
      expect(courtRecord.nearDuplicates.map((near: { id: string }) => near.id)).toContain(photoId);
    });

    it('leaves out the events that carry a free-text reason (it may name anyone), from events.jsonl and the report, and says how many', async () => {
      const partnerEvents = await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8');
      const { treeSize } = JSON.parse(await readFile(path.join(bag, 'data/custody/tree-head.json'), 'utf8')) as { treeSize: number };
      for (const file of ['data/custody/events.jsonl', 'report.html', 'data/evidence/' + photoId + '/record.json']) {
        expect(await readFile(path.join(bag, file), 'utf8')).not.toContain('Шевчук');
      }
      // A court package of the same case keeps them: exactly the events with a reason are the difference.
      const court = await makeExport(t, investigator, caseId, { purpose: 'court' });
      const got = await download(t, investigator, court.id);
      dirs.push(got.dir);
      const courtBag = await unpack(got.zip, path.join(got.dir, 'court'));
      const courtLines = (await readFile(path.join(courtBag, 'data/custody/events.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .filter((line) => (JSON.parse(line) as { index: number }).index < treeSize);
      const partnerLines = new Set(partnerEvents.trim().split('\n'));
      const withReason = courtLines.filter((line) => 'reason' in JSON.parse(line));
      expect(withReason.some((line) => line.includes('Шевчук'))).toBe(true);
      // And the events whose details name the device a file came from (the drone's model): the
      // one in the old form only; the intake's own event names neither capture time nor device, and stays.
      const metadataEvents = courtLines.filter((line) => JSON.parse(line).action === 'evidence.metadata_extracted');
      const withDevice = metadataEvents.filter((line) => JSON.parse(line).details.device != null);
      expect(withDevice).toHaveLength(1);
      expect(withDevice[0]).toContain('FC3411');
      // The intake's own events, and an old one naming no device, stay.
      const kept = metadataEvents.filter((line) => !withDevice.includes(line));
      expect(kept.filter((line) => 'capturedAt' in JSON.parse(line).details)).toHaveLength(1);
      expect(kept.length).toBeGreaterThan(1);
      expect(kept.every((line) => partnerLines.has(line))).toBe(true);
      // And the events about incidents, damage records and remnants, whose record hashes give back what the copy rounds.
      const aboutRecords = courtLines.filter((line) => ['incident', 'damage', 'remnant'].includes(JSON.parse(line).subject.type) && !withReason.includes(line));
      expect(aboutRecords.length).toBeGreaterThan(0);
      const withheld = courtLines.filter((line) => withReason.includes(line) || withDevice.includes(line) || aboutRecords.includes(line));
      expect(courtLines.filter((line) => !partnerLines.has(line))).toEqual(withheld);
      expect(await readFile(path.join(bag, 'README.txt'), 'utf8')).toContain(`${withheld.length} custody event(s) left out`);
      const report = await readFile(path.join(bag, 'report.html'), 'utf8');
      expect(report).toMatch(new RegExp(`left out \\(they name a holder or the device a file came from, or carry a free-text reason\\)</span>\\s*(<[^>]+>\\s*)*: ${withReason.length + withDevice.length}<`));
      expect(report).toMatch(new RegExp(`left out \\(they hold the hash of a whole incident, damage or remnant record\\)</span>\\s*(<[^>]+>\\s*)*: ${aboutRecords.length}<`));
      expect(await readFile(path.join(courtBag, 'report.html'), 'utf8')).toContain('Шевчук');
      // A court package keeps what the partner's leaves out: the file names, the device, the address and place.
      const courtPhoto = JSON.parse(await readFile(path.join(courtBag, `data/evidence/${photoId}/record.json`), 'utf8'));
      expect(courtPhoto).toMatchObject({ originalFileName: TRICKY_NAME.normalize('NFC'), extracted: { device: { make: 'DJI', model: 'FC3411' } } });
      expect(JSON.parse(await readFile(path.join(courtBag, 'data/damage.json'), 'utf8'))[0].address).toBe(ADDRESS);
      expect(JSON.parse(await readFile(path.join(courtBag, 'data/incidents.json'), 'utf8'))[0].placeName).toBe(PLACE_NAME);
      const courtReport = await readFile(path.join(courtBag, 'report.html'), 'utf8');
      for (const value of ['witness statement.pdf', 'DJI FC3411']) expect(courtReport).toContain(value);
    });

    it('carries the same proofs, and verifies with our verifier and with the bag\'s own script', async () => {
      const verdict = await cliVerify([zip]);
      expect(verdict.code, verdict.out).toBe(0);
      expect(verdict.out).toMatch(/partner working copy/);
      expect((await run(PYTHON, [path.join(bag, 'verify_proofs.py')])).stdout).toContain('ALL CHECKS PASSED');
    });
  });

  describe('an item read many times', () => {
    it('lists every one of its events in the report, read a page at a time', async () => {
      // More than a page (1,000) of reads of one item, then its package: every event below the
      // head is listed once, in log order, across the page boundary.
      const reads = Array.from({ length: 1_005 }, () => ({
        action: 'evidence.viewed' as const,
        actor: { id: investigator.id, role: 'investigator' },
        caseId,
        subject: { type: 'evidence', id: pdfId, sha256: sha256hex(pdf) },
        details: { part: 'record' },
      }));
      await t.app.get(DataSource).transaction((tx) => t.app.get(CustodyLog).appendAll(tx, reads));
      await t.logged();
      const done = await makeExport(t, investigator, caseId, { purpose: 'court', evidenceIds: [pdfId] });
      const { zip, dir } = await download(t, investigator, done.id);
      const bag = await unpack(zip, path.join(dir, 'many-bag'));
      const head = JSON.parse(await readFile(path.join(bag, 'data/custody/tree-head.json'), 'utf8'));
      const about = (await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { index: number; subject: { id: string } })
        .filter((e) => e.subject.id === pdfId)
        .map((e) => e.index);
      expect(about.length).toBeGreaterThan(1_005);
      expect(about.every((index) => index < head.treeSize)).toBe(true);
      const report = await readFile(path.join(bag, 'report.html'), 'utf8');
      const section = report.slice(report.indexOf(`id="item-${pdfId}"`));
      expect(section).toContain(`(${about.length})</h3>`);
      const listed = [...section.matchAll(/<tbody><tr><td class="mono">(\d+)<\/td>/g)].map((m) => Number(m[1]));
      expect(listed).toEqual(about);
    });
  });

  describe('a head signed while the time-stamping authority was down', () => {
    it('made while the authority is down: its head is unstamped and says so; --tsa-cert then refuses it, and the head is stamped later beside its row', async () => {
      await t.logged();
      const heads = t.app.get(TreeHeads);
      tsa.intercept = (_query, res) => {
        res.writeHead(503, { 'Content-Type': 'text/plain' }).end('down for maintenance');
        return true;
      };
      let done: Record<string, any>;
      try {
        done = await makeExport(t, investigator, caseId, { purpose: 'court', evidenceIds: [otherId] });
      } finally {
        tsa.intercept = undefined;
      }
      const { zip, dir } = await download(t, investigator, done.id);
      const bag = await unpack(zip, path.join(dir, 'late-bag'));
      const head = JSON.parse(await readFile(path.join(bag, 'data/custody/tree-head.json'), 'utf8'));
      expect(await readFile(path.join(bag, 'bag-info.txt'), 'utf8')).toContain('Custodia-Timestamp-Token: no');
      expect((await filesIn(bag)).includes('data/custody/tree-head.tsr')).toBe(false);
      const plain = await cliVerify([zip]);
      expect(plain.code, plain.out).toBe(0);
      expect(plain.out).toMatch(/time-stamp\s+SKIP/);
      const asked = await cliVerify([zip, '--tsa-cert', tsa.caPem]);
      expect(asked.code).toBe(1);
      expect(asked.out).toMatch(/time-stamp\s+FAIL\s+the package carries no RFC 3161 time-stamp, though --tsa-cert asks for one/);
      // Once the authority answers, the head is stamped beside its row, which stays as signed.
      const unstamped = (await heads.atSize(head.treeSize))!;
      const late = await heads.stampLate(unstamped);
      expect(late.timestampToken).toEqual(expect.any(String));
      const [row] = await t.db.superuserQuery<{ own: Buffer | null; late: Buffer }>(
        `SELECT h.tsa_token AS own, l.tsa_token AS late FROM custody_tree_heads h JOIN custody_head_timestamps l USING (tree_size) WHERE tree_size = $1`,
        [head.treeSize],
      );
      expect(row!.own).toBeNull();
      expect(row!.late.toString('base64')).toBe(late.timestampToken);
    });
  });
});
