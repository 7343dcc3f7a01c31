export { MAX_RESPONSE_BYTES, SHA256_OID, TimestampError } from './errors.js';
export { buildTimeStampRequest, parseTimeStampResponse, type TimeStampResponse } from './protocol.js';
export {
  readCertificatesPem,
  readTimeStampToken,
  verifyTimeStampToken,
  type TimeStampTokenInfo,
  type TimestampCheck,
  type TimestampChecks,
  type TimestampSigner,
  type TimestampVerification,
  type TimestampVerifyOptions,
} from './token.js';
export { TimestampAuthority, type TimestampAuthorityOptions } from './authority.js';
