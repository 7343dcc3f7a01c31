import type { DataSource } from 'typeorm';
import type { CustodiaConfig } from '#custodia/config';
import { StartupError } from '#custodia/errors';
import type { BlobStore } from '#custodia/storage';

/** How many of the newest originals a start looks for. */
const SAMPLE = 5;

/** The evidence store as an operator names it. */
export const evidenceStoreName = (config: Pick<CustodiaConfig, 's3' | 'dataDir'>): string =>
  config.s3 ? `the S3 bucket ${config.s3.bucket} at ${config.s3.endpoint}` : `the folder ${config.dataDir}/blobs`;

/**
 * Stops the start when the evidence store holds none of the archive's newest originals. An
 * archive whose evidence is in a bucket, started without its CUSTODIA_S3_* settings (or with
 * another bucket, or another CUSTODIA_DATA_DIR) would otherwise serve, answer 500 for every
 * item, and write verifications and fixity checks calling every item "not intact" into the
 * custody log, where they stay. One lost blob among present ones is not this (fixity reports it).
 */
export async function assertStoreHoldsArchive(store: Pick<BlobStore, 'stat'>, db: DataSource, storeName: string): Promise<void> {
  const newest: { sha256: string }[] = await db.query(`SELECT sha256 FROM evidence_items ORDER BY received_at DESC LIMIT ${SAMPLE}`);
  if (newest.length === 0) return;
  const held = await Promise.all(newest.map(({ sha256 }) => store.stat(sha256).then((found) => found !== null)));
  if (held.some(Boolean)) return;
  throw new StartupError(
    `${storeName} holds none of the archive's ${newest.length} newest originals: this database's evidence is stored elsewhere. ` +
      'Start with the storage settings it was stored with (CUSTODIA_S3_ENDPOINT, CUSTODIA_S3_BUCKET and the rest for a bucket; the same CUSTODIA_DATA_DIR for local storage); ' +
      '`custodia storage check` lists what the store lacks.',
  );
}
