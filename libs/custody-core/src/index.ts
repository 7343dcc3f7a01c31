export { canonicalBytes, canonicalBytesOfParsed, isCanonicalEncoding, type JsonValue } from './canonical.js';
export {
  canonicalJson,
  type CanonicalJson,
  checkReplayPage,
  REPLAY_PAGE_COLUMNS,
  scanReplayCopy,
  type ReplayPage,
  type ReplayPageVerdict,
  type ReplayTools,
} from './replay-page.js';
export { EMPTY_ROOT, EMPTY_ROOT_HEX, HASH_SIZE, fromHex, isHashHex, leafHash, nodeHash, parseHash, toHex } from './hash.js';
export {
  MemoryTree,
  appendNodes,
  consistencyProof,
  consistencyProofFromNodes,
  inclusionProof,
  inclusionProofFromNodes,
  nodeKey,
  nodesCompletedByAppend,
  nodesForAppend,
  nodesForConsistencyProof,
  nodesForInclusionProof,
  nodesForRoot,
  proofFromHex,
  proofToHex,
  rootFromNodes,
  treeRoot,
  type NodeKey,
  type NodeMap,
  type PerfectNodeReader,
  type StoredNode,
} from './tree.js';
export { compromisedKeys, compromisedKeysNote, followHandovers, handoverProblem, type CarriedHandover, type HandoverChain, type KeyHandover } from './handover.js';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion, type ConsistencyOptions } from './verify.js';
export { formatTimestamp, isTimestamp } from './timestamp.js';
export {
  generateSigningKey,
  keyIdOf,
  signTreeHead,
  treeHeadBytes,
  verifyTreeHead,
  type PublishedKey,
  type SignedTreeHead,
  type SigningKey,
  type TreeHead,
  type Verdict,
} from './tree-head.js';
export {
  CUSTODY_ACTIONS,
  SYSTEM_ACTIONS,
  SYSTEM_ACTOR,
  custodyEventProblem,
  custodyEventShapeProblem,
  eventBytes,
  parsedEventBytes,
  eventLeafHash,
  isCustodyAction,
  isSystemAction,
  type CustodyAction,
  type CustodyEvent,
} from './event.js';
export {
  verifyEventsAgainstHead,
  verifyReceipt,
  type EventToVerify,
  type EventVerification,
  type EventsReport,
  type Receipt,
} from './receipt.js';
