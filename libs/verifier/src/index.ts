export { openBag, UnreadablePackageError, type BagFile, type BagSource } from './bag-source.js';
export { apiBase, loadLaterHead } from './later-head.js';
export {
  verifyPackage,
  type Check,
  type CheckStatus,
  type ItemVerdict,
  type LaterHead,
  type PackageVerdict,
  type VerifyOptions,
} from './verify-package.js';
