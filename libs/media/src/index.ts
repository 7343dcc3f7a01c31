// libs/media: the only importer of sharp, exifr and file-type. Plain functions, no NestJS, no
// database, so the worker, the API and the CLI share one reading of every file.
export { extractEmbeddedMetadata, hasNoEmbeddedMetadata } from './metadata.js';
export type { ExtractedDocument, ExtractedMetadata, ExtractedDevice, ExtractedLocation } from './metadata.js';
export { CarriedFileStoppedError, MetadataThreads, METADATA_TIME_LIMIT_MS } from './metadata-threads.js';
export type { MetadataThreadOptions } from './metadata-threads.js';
export { sniffMediaType, UNKNOWN_MEDIA_TYPE } from './sniff.js';
export { messageAttachmentBytes, takeCarriedFile } from './message-attachment.js';
/** Most recipients of each kind, and most files, a message's reading lists. */
export { MAX_LISTED as MAX_MESSAGE_FILES } from './email-metadata.js';
export { createDerivatives, configureSharp, makesPicture, THUMBNAIL_SIZE, PREVIEW_SIZE } from './derivatives.js';
export type { DerivativeOptions, MediaDerivatives, SharpSettings } from './derivatives.js';
export { DEFAULT_DECODE_LIMITS } from './sandbox.js';
export type { DecodeLimits } from './sandbox.js';
export { hammingDistance } from './perceptual-hash.js';
export { UndecodableMediaError } from './errors.js';
export type { UndecodableReason } from './errors.js';
export { AllTagsReader, TagsTimeout, TagsTooLarge, type TagGroups, type TagValue } from './all-tags.js';
