// libs/storage: the blob store behind an interface, and its content-addressed implementations on
// local disk (Node built-ins only) and in an S3-compatible bucket (AWS SDK v3). No NestJS, no
// database: the API, the worker and the CLI verifier share one way of keeping original files byte-exact.
export type {
  BlobRead,
  BlobSource,
  BlobStat,
  BlobStore,
  ByteRange,
  CommittedBlob,
  IngestOptions,
  IngestResult,
} from './blob-store.js';
export { readDetails } from './blob-store.js';
export { FileSink, FLUSH_EVERY_BYTES, LocalBlobStore, syncToDisk, type StoredBlob, type TemporaryFile } from './local-blob-store.js';
export { openS3BlobStore, s3StagingDir, type S3BlobStore, type S3BlobStoreOptions } from './s3-store-loader.js';
export { checkStore, type CheckableStore, type Reference, type StoreCheck } from './store-check.js';
export { prepareDataDirectory } from './data-directory.js';
export { assertSha256Hex, contentKey, isSha256Hex } from './content-address.js';
export {
  BlobNotFoundError,
  BlobRangeError,
  BlobStoreUnavailableError,
  BlobTooLargeError,
  InvalidBlobHashError,
} from './errors.js';
