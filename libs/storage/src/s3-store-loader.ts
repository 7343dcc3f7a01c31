import path from 'node:path';
import type { S3BlobStore, S3BlobStoreOptions } from './s3-blob-store.js';

export type { S3BlobStore, S3BlobStoreOptions };

/**
 * The S3 store, with the AWS SDK loaded only now: an archive on local disk never loads it (it
 * adds about 0.2 s to every start).
 */
export async function openS3BlobStore(options: S3BlobStoreOptions): Promise<S3BlobStore> {
  const { S3BlobStore } = await import('./s3-blob-store.js');
  return new S3BlobStore(options);
}

/** The staging root for an S3 store kept under a data folder. */
export function s3StagingDir(dataDir: string): string {
  return path.join(dataDir, 's3-staging');
}
