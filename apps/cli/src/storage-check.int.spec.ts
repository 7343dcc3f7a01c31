import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore, type IngestResult } from '#custodia/storage';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { archiveSettings, runCliWith, runWithClosedPipe } from './test-support/run-cli.js';

describe('custodia storage check', () => {
  let db: TestDatabase;
  let dataDir: string;
  let blobs: LocalBlobStore;
  let inFlight: { source: PassThrough; pending: Promise<IngestResult> };
  const hashes: Record<string, string> = {};
  const crashedFolder = '0123456789abcdef-4242-777-0badc0de';
  const tusFiles = { crashed: randomUUID(), creating: randomUUID(), open: randomUUID(), used: randomUUID() };

  const run = (argv: string[]) => runCliWith(archiveSettings(db.url, dataDir), argv);

  const put = async (store: LocalBlobStore, text: string) => {
    const ingested = await store.ingest(Readable.from([Buffer.from(text)]), { maxBytes: 1000 });
    await ingested.commit();
    return ingested.sha256;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'custodia-storage-check-'));
    blobs = new LocalBlobStore(path.join(dataDir, 'blobs'));
    const packages = new LocalBlobStore(path.join(dataDir, 'exports'));
    hashes['original'] = await put(blobs, 'an original');
    hashes['thumbnail'] = await put(blobs, 'its thumbnail');
    hashes['orphan'] = await put(blobs, 'stored, then the process died before the commit');
    hashes['package'] = await put(packages, 'a court package');

    const [user] = await db.superuserQuery<{ id: string }>(
      `INSERT INTO users (email, display_name, role, password_hash) VALUES ('store@custodia.test', 's', 'admin', 'x') RETURNING id`,
    );
    const [kase] = await db.superuserQuery<{ id: string }>(`INSERT INTO cases (title, created_by) VALUES ('store', $1) RETURNING id`, [user!.id]);
    await db.superuserQuery(
      `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, submitted_by, thumbnail_sha256) VALUES ($1, $2, 11, 'image/jpeg', $3, $4)`,
      [kase!.id, hashes['original'], user!.id, hashes['thumbnail']],
    );
    await db.superuserQuery(
      `INSERT INTO exports (case_id, purpose, selection, created_by, status, sha256, size_bytes) VALUES ($1, 'court', '{}', $2, 'ready', $3, 15)`,
      [kase!.id, user!.id, hashes['package']],
    );

    // A crash elsewhere (another host or container): its folder has been silent for five minutes.
    const crashed = path.join(dataDir, 'blobs', 'tmp', crashedFolder);
    await mkdir(crashed, { recursive: true });
    await writeFile(path.join(crashed, `${randomUUID()}.part`), 'half an upload');
    const fiveMinutesAgo = new Date(Date.now() - 300_000);
    await utimes(crashed, fiveMinutesAgo, fiveMinutesAgo);
    // Resumable uploads' files: one a crash left before its record (two days ago), one being
    // created (no record yet, just written), one open, and one whose upload became evidence.
    const uploads = path.join(dataDir, 'uploads');
    await mkdir(uploads);
    await writeFile(path.join(uploads, tusFiles.crashed), 'partial bytes');
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(path.join(uploads, tusFiles.crashed), twoDaysAgo, twoDaysAgo);
    await writeFile(path.join(uploads, tusFiles.creating), 'first bytes');
    await writeFile(path.join(uploads, tusFiles.open), 'some of it');
    await writeFile(path.join(uploads, tusFiles.used), 'an original');
    await db.superuserQuery(`INSERT INTO uploads (id, owner_id, size_bytes, expires_at) VALUES ($1, $2, 100, now() + interval '1 day')`, [tusFiles.open, user!.id]);
    await db.superuserQuery(
      `INSERT INTO uploads (id, owner_id, size_bytes, expires_at, finished_at, evidence_id) SELECT $1, $2, 11, now() + interval '1 day', now(), id FROM evidence_items LIMIT 1`,
      [tusFiles.used, user!.id],
    );
    // And an upload in flight in this (live) process.
    const source = new PassThrough();
    inFlight = { source, pending: blobs.ingest(source, { maxBytes: 1000 }) };
    source.write('arriving');
  });

  afterAll(async () => {
    inFlight?.source.destroy();
    await inFlight?.pending.catch(() => undefined);
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lists the unreferenced blob and the leftover upload, removes nothing, and exits 1', async () => {
    const res = await run(['storage', 'check']);
    expect(res.err).toMatch(/^Archive: postgres:\/\/[^\n]*\n$/);
    expect(res.code).toBe(1);
    expect(res.out).toContain(`Store ${path.join(dataDir, 'blobs')}: 3 blobs`);
    expect(res.out).toContain(`Store ${path.join(dataDir, 'exports')}: 1 blobs`);
    expect(res.out).toContain(`UNREFERENCED sha256/${hashes['orphan']!.slice(0, 2)}/${hashes['orphan']!.slice(2, 4)}/${hashes['orphan']}`);
    expect(res.out).not.toContain(hashes['original']!);
    expect(res.out).not.toContain(hashes['thumbnail']!);
    expect(res.out).not.toContain(hashes['package']!);
    expect(res.out).toMatch(new RegExp(`LEFTOVER tmp/${crashedFolder}/[0-9a-f-]{36}\\.part \\(14 B, last written `));
    expect(res.out).toContain('1 temporary files are being written by running processes.');
    // The resumable uploads' files no upload will use; the open one and the one being created stay out of it.
    expect(res.out).toContain(`Uploads ${path.join(dataDir, 'uploads')}: 4 files`);
    expect(res.out).toMatch(new RegExp(`LEFTOVER uploads/${tusFiles.crashed} \\(13 B, last written `));
    expect(res.out).toMatch(new RegExp(`LEFTOVER uploads/${tusFiles.used} \\(11 B, last written `));
    expect(res.out).not.toContain(tusFiles.open);
    expect(res.out).not.toContain(tusFiles.creating);
    expect(res.out).toContain("1 files no upload names yet, written within an upload's lifetime: kept");
    expect(res.out).toMatch(/FOUND: 1 unreferenced blobs, kept .*; 3 leftover temporary files \(remove them with --remove-temporary\)\./);
    expect(await readdir(path.join(dataDir, 'blobs', 'tmp', crashedFolder))).toHaveLength(1);
    expect(await readdir(path.join(dataDir, 'uploads'))).toHaveLength(4);
  });

  it('ends quietly, with the exit code of a closed pipe, when its reader goes away (storage check | head -2)', async () => {
    const res = await runWithClosedPipe(['storage', 'check'], 'stdout', archiveSettings(db.url, dataDir));
    expect(res).toEqual({ code: 141, signal: null, err: expect.stringMatching(/^Archive: postgres:\/\/[^\n]*\n$/) });
  });

  it('removes only the leftover temporary files with --remove-temporary; the unreferenced blob and the live upload stay', async () => {
    const res = await run(['storage', 'check', '--remove-temporary']);
    expect(res.code).toBe(1);
    expect(res.out).toContain('3 leftover temporary files, 3 removed');
    expect(await readdir(path.join(dataDir, 'blobs', 'tmp'))).not.toContain(crashedFolder);
    expect((await readdir(path.join(dataDir, 'uploads'))).sort()).toEqual([tusFiles.creating, tusFiles.open].sort());
    const orphan = hashes['orphan']!;
    expect((await stat(path.join(dataDir, 'blobs', 'sha256', orphan.slice(0, 2), orphan.slice(2, 4), orphan))).isFile()).toBe(true);

    inFlight.source.end(' and done');
    const stored = await (await inFlight.pending).commit();
    expect(stored.created).toBe(true);
  });

  it('exits 0 when every blob is referenced and nothing is left over', async () => {
    const [row] = await db.superuserQuery<{ case_id: string; submitted_by: string }>(`SELECT case_id, submitted_by FROM evidence_items LIMIT 1`);
    const arrived = (await blobs.blobs().next()).value;
    expect(arrived).toBeTruthy();
    for await (const blob of blobs.blobs()) {
      await db.superuserQuery(
        `INSERT INTO evidence_items (case_id, sha256, size_bytes, media_type, submitted_by)
         SELECT $1, $2, $3, 'text/plain', $4 WHERE NOT EXISTS (SELECT 1 FROM evidence_items WHERE sha256 = $2 OR thumbnail_sha256 = $2)`,
        [row!.case_id, blob.sha256, blob.sizeBytes, row!.submitted_by],
      );
    }
    const res = await run(['storage', 'check']);
    expect(res.out).toContain('CLEAN: every blob the records name is there, every blob is referenced and no temporary file is left over.');
    expect(res.code).toBe(0);
  });

  it('names the blobs the records name and the store lacks: one lost, or all (another store than the evidence is in)', async () => {
    const thumbnail = hashes['thumbnail']!;
    const file = path.join(dataDir, 'blobs', 'sha256', thumbnail.slice(0, 2), thumbnail.slice(2, 4), thumbnail);
    await rename(file, `${file}.aside`);
    try {
      const lost = await run(['storage', 'check']);
      expect(lost.code).toBe(1);
      expect(lost.out).toContain(`MISSING sha256/${thumbnail.slice(0, 2)}/${thumbnail.slice(2, 4)}/${thumbnail}`);
      expect(lost.out).toMatch(/FOUND: 1 blobs the records name are MISSING from the store/);
    } finally {
      await rename(`${file}.aside`, file);
    }
    // The archive started with another data folder: every item's blob and the package are missing there.
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'custodia-storage-elsewhere-'));
    try {
      const res = await runCliWith(archiveSettings(db.url, elsewhere), ['storage', 'check']);
      expect(res.code).toBe(1);
      const [{ count }] = await db.superuserQuery<{ count: number }>(`SELECT count(*)::int AS count FROM evidence_items`) as [{ count: number }];
      for (const hash of [hashes['original']!, thumbnail, hashes['package']!]) expect(res.out).toContain(`MISSING sha256/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`);
      expect(res.out).toContain(`FOUND: ${count + 1 + 1} blobs the records name are MISSING from the store`);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses an unknown option with the usage', async () => {
    const res = await run(['storage', 'check', '--remove-everything']);
    expect(res.code).toBe(2);
    expect(res.err).toContain('storage check [--remove-temporary]');
  });
});
