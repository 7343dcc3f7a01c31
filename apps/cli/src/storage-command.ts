import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import type { CustodiaConfig } from '#custodia/config';
import { leftoverUploadFiles } from '#custodia/uploads';
import { checkStore, LocalBlobStore, openS3BlobStore, s3StagingDir, type CheckableStore, type Reference, type StoreCheck } from '#custodia/storage';

export const STORAGE_USAGE = `  storage check [--remove-temporary]
      Lists blobs the records name that the store lacks (MISSING: lost files, or the archive
      pointed at another store), blobs that no evidence item, derivative or export refers to
      (never deletes them: a crash between storing a file and committing its record leaves
      evidence there), and
      temporary upload files no running process will finish (a crash leaves those), and
      resumable uploads' files left behind (data/uploads: one whose upload became evidence, or
      one no upload names, last written longer ago than an upload lives); removes the
      temporary files only with --remove-temporary. With CUSTODIA_S3_ENDPOINT set, evidence blobs
      are listed from the bucket (s3:ListBucket). Exit code 0 when clean, 1 when it found any.`;

/**
 * Every SHA-256 the archive's records name, distinct and ascending, from a cursor in one
 * read-only snapshot: every text column named sha256 or *_sha256 (originals, thumbnails,
 * previews and any derivative column a migration adds, export packages, uploads' declared
 * hashes); `required` when a column of `holds` (the table whose files the checked store keeps)
 * names it.
 */
async function* referencedHashes(db: DataSource, holds: string): AsyncGenerator<Reference> {
  const runner = db.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const columns: { table_name: string; column_name: string }[] = await runner.query(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND data_type = 'text' AND (column_name = 'sha256' OR column_name LIKE '%\\_sha256')
        ORDER BY table_name, column_name`,
    );
    if (columns.length === 0) return;
    const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
    const union = columns
      .map(
        ({ table_name, column_name }) =>
          `SELECT ${quote(column_name)} AS sha256, ${table_name === holds} AS required FROM ${quote(table_name)} WHERE ${quote(column_name)} IS NOT NULL`,
      )
      .join(' UNION ALL ');
    // COLLATE "C": the byte order the store's folders are walked in, whatever the server's locale.
    await runner.query(
      `DECLARE referenced NO SCROLL CURSOR FOR SELECT sha256, bool_or(required) AS required FROM (${union}) AS hashes GROUP BY sha256 ORDER BY sha256 COLLATE "C"`,
    );
    for (;;) {
      const rows: Reference[] = await runner.query('FETCH FORWARD 10000 FROM referenced');
      if (rows.length === 0) return;
      yield* rows;
    }
  } finally {
    await runner.query('ROLLBACK').catch(() => undefined);
    await runner.release();
  }
}

const size = (bytes: number): string =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : bytes < 1024 ** 3 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/**
 * The archive's two stores: evidence blobs (in the bucket when CUSTODIA_S3_ENDPOINT is set,
 * with their staging area on local disk) and export packages (always local).
 */
async function storesOf(config: CustodiaConfig): Promise<{ name: string; store: CheckableStore; holds: string; close?: () => void }[]> {
  const packages = { name: path.join(config.dataDir, 'exports'), store: new LocalBlobStore(path.join(config.dataDir, 'exports')), holds: 'exports' };
  if (!config.s3) return [{ name: path.join(config.dataDir, 'blobs'), store: new LocalBlobStore(path.join(config.dataDir, 'blobs')), holds: 'evidence_items' }, packages];
  const bucket = await openS3BlobStore({ ...config.s3, stagingDir: s3StagingDir(config.dataDir) });
  return [{ name: `s3://${config.s3.bucket} at ${config.s3.endpoint}`, store: bucket, holds: 'evidence_items', close: () => bucket.close() }, packages];
}

/** `custodia storage check`: both stores of the archive (evidence blobs and export packages), and the resumable uploads' files. */
export async function storageCheck(db: DataSource, config: CustodiaConfig, removeTemporary: boolean, out: (text: string) => void): Promise<number> {
  let missing = 0;
  let unreferenced = 0;
  let leftover = 0;
  let removed = 0;
  for (const { name, store, holds, close } of await storesOf(config)) {
    let report: StoreCheck;
    try {
      report = await checkStore(store, referencedHashes(db, holds), { removeTemporary });
    } finally {
      close?.();
    }
    out(`Store ${name}: ${report.blobs} blobs, ${size(report.blobBytes)}\n`);
    for (const sha256 of report.missing) out(`  MISSING sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}\n`);
    if (report.missingCount > report.missing.length) out(`  ... and ${report.missingCount - report.missing.length} more missing\n`);
    for (const blob of report.unreferenced) {
      out(`  UNREFERENCED sha256/${blob.sha256.slice(0, 2)}/${blob.sha256.slice(2, 4)}/${blob.sha256} (${size(blob.sizeBytes)})\n`);
    }
    for (const file of report.leftoverTemporary) {
      out(`  LEFTOVER ${file.path} (${size(file.sizeBytes)}, last written ${file.modifiedAt.toISOString()})\n`);
    }
    if (report.temporaryInUse > 0) out(`  ${report.temporaryInUse} temporary files are being written by running processes.\n`);
    missing += report.missingCount;
    unreferenced += report.unreferenced.length;
    leftover += report.leftoverTemporary.length;
    removed += report.removedTemporary;
  }
  // Resumable uploads' files (data/uploads; with S3 too, where uploads stay until finished).
  const uploadsDir = path.join(config.dataDir, 'uploads');
  const uploads = await leftoverUploadFiles(db, uploadsDir, config.uploadTtlSeconds);
  out(`Uploads ${uploadsDir}: ${uploads.count} files\n`);
  for (const file of uploads.leftovers) {
    out(`  LEFTOVER ${path.join('uploads', file.name)} (${size(file.sizeBytes)}, last written ${file.modifiedAt.toISOString()})\n`);
    if (removeTemporary) {
      await rm(file.file, { force: true });
      removed++;
    }
  }
  if (uploads.recent > 0) out(`  ${uploads.recent} files no upload names yet, written within an upload's lifetime: kept (an upload may be being created).\n`);
  leftover += uploads.leftovers.length;
  if (missing === 0 && unreferenced === 0 && leftover === 0) {
    out('CLEAN: every blob the records name is there, every blob is referenced and no temporary file is left over.\n');
    return 0;
  }
  const found: string[] = [];
  if (missing > 0) {
    found.push(`${missing} blobs the records name are MISSING from the store (if all are, the archive was started with other storage settings than its evidence is in)`);
  }
  if (unreferenced > 0) {
    found.push(`${unreferenced} unreferenced blobs, kept (one may be evidence whose record a crash lost: look at it before deleting anything)`);
  }
  if (leftover > 0) {
    found.push(
      removeTemporary
        ? `${leftover} leftover temporary files, ${removed} removed`
        : `${leftover} leftover temporary files (remove them with --remove-temporary)`,
    );
  }
  out(`FOUND: ${found.join('; ')}.\n`);
  return 1;
}
