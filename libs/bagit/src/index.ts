export { BagWriter, type EntryOptions, type PackedFile } from './bag-writer.js';
export { DigestThread, type BagDigests } from './digest-thread.js';
export {
  BAG_ALGORITHMS,
  BAGIT_TXT,
  decodeManifestPath,
  encodeManifestPath,
  formatBagInfo,
  formatManifest,
  formatOxum,
  parseBagInfo,
  parseManifest,
  parseOxum,
  pathProblem,
  type BagAlgorithm,
  type ManifestEntry,
  type ManifestProblem,
} from './manifest.js';
export { MAX_NAME_BYTES, sanitiseFileName } from './names.js';
