import { canonicalBytes, canonicalBytesOfParsed, exactJsonProblem, type JsonValue } from './canonical.js';
import { isHashHex, leafHash } from './hash.js';
import { isTimestamp } from './timestamp.js';

/** The closed vocabulary of custody actions (docs/custody.md): add names, never reuse one. */
export const CUSTODY_ACTIONS = [
  'evidence.submitted',
  'evidence.metadata_extracted',
  'evidence.derivative_created',
  'evidence.viewed',
  'evidence.downloaded',
  'evidence.annotated',
  'evidence.linked',
  'evidence.status_changed',
  'evidence.verified',
  'evidence.exported',
  'evidence.redacted',
  'case.created',
  'case.member_added',
  'case.member_removed',
  'incident.created',
  'incident.updated',
  'casualty.recorded',
  'casualty.updated',
  'damage.recorded',
  'damage.updated',
  'export.created',
  'export.downloaded',
  'key.rotated',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.password_set',
  'tokens.revoked',
  'evidence.unlinked',
  'evidence.fixity_checked',
  'evidence.fixity_failed',
  'remnant.recorded',
  'remnant.updated',
  'remnant.transferred',
  'tokens.created',
  'export.sealed',
  'key.compromised',
] as const;

/** One of the custody actions. */
export type CustodyAction = (typeof CUSTODY_ACTIONS)[number];

/**
 * System events (custody.md): account administration and key rotation concern no case, so
 * their `caseId` is null; every other action belongs to a case.
 */
export const SYSTEM_ACTIONS: readonly CustodyAction[] = [
  'user.created',
  'user.updated',
  'user.disabled',
  'user.password_set',
  'tokens.revoked',
  'tokens.created',
  'key.rotated',
  'key.compromised',
];

/** Whether an action is a system event, recorded with `caseId: null`. */
export function isSystemAction(action: CustodyAction): boolean {
  return SYSTEM_ACTIONS.includes(action);
}

/** What the archive does by itself (custody.md, "Who acted"). */
export const SYSTEM_ACTOR = Object.freeze({ id: 'system', role: 'system' } as const);

/** One leaf of the custody log: who did what to which item, when and why. */
export interface CustodyEvent {
  /** Position in the log, equal to the leaf index. */
  index: number;
  action: CustodyAction;
  /** RFC 3339 UTC with milliseconds. */
  at: string;
  actor: { id: string; role: string };
  /** The case the event belongs to; null for system events (SYSTEM_ACTIONS). */
  caseId: string | null;
  /** The item acted on; sha256 is its content hash at that moment, when it has content. */
  subject: { type: string; id: string; sha256?: string };
  /** Never secrets, tokens, or the submitting device's location. */
  details: { [key: string]: JsonValue };
  reason?: string;
}

/** Whether a string is a known custody action. */
export function isCustodyAction(value: unknown): value is CustodyAction {
  return typeof value === 'string' && (CUSTODY_ACTIONS as readonly string[]).includes(value);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Why a value is not a well-formed CustodyEvent to append, or undefined if it is one. */
export function custodyEventProblem(value: unknown): string | undefined {
  return custodyEventShapeProblem(value) ?? exactJsonProblem(value);
}

const KNOWN_FIELDS = new Set(['index', 'action', 'at', 'actor', 'caseId', 'subject', 'details', 'reason']);

/**
 * The checks of `custodyEventProblem` but the walk that finds values JSON cannot represent
 * exactly: for an event made of JSON.parse's output, exact by construction but for a lone
 * surrogate, which `parsedEventBytes` refuses.
 */
export function custodyEventShapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'event is not an object';
  const { index, action, at, actor, caseId, subject, details, reason } = value;
  const extra = Object.keys(value).find((k) => !KNOWN_FIELDS.has(k));
  if (extra !== undefined) return `unknown field ${extra}`;
  if (!Number.isSafeInteger(index) || (index as number) < 0) return 'index is not a non-negative integer';
  if (!isCustodyAction(action)) return `action ${String(action)} is not in the custody vocabulary`;
  if (!isTimestamp(at)) return 'at is not RFC 3339 UTC with milliseconds';
  if (!isObject(actor) || !isText(actor.id) || !isText(actor.role)) return 'actor needs an id and a role';
  if (actor.id === SYSTEM_ACTOR.id && actor.role !== SYSTEM_ACTOR.role) return 'the system actor has the role system';
  if (isSystemAction(action)) {
    if (caseId !== null) return `caseId of a system event (${action}) is null`;
  } else if (!isText(caseId)) return 'caseId is missing';
  if (!isObject(subject) || !isText(subject.type) || !isText(subject.id)) return 'subject needs a type and an id';
  if (subject.sha256 !== undefined && !isHashHex(subject.sha256)) return 'subject.sha256 is not lowercase hex SHA-256';
  if (!isObject(details)) return 'details is not an object';
  if (reason !== undefined && typeof reason !== 'string') return 'reason is not a string';
  return undefined;
}

/** The event's leaf data: its RFC 8785 bytes. */
export function eventBytes(event: CustodyEvent): Buffer {
  return canonicalBytes(event);
}

/** The same bytes for an event made of JSON.parse's output (a queue entry and its index), faster. */
export function parsedEventBytes(event: CustodyEvent): Buffer {
  return canonicalBytesOfParsed(event as unknown as JsonValue);
}

/** The event's leaf hash, SHA-256(0x00 || RFC 8785 bytes). */
export function eventLeafHash(event: CustodyEvent): Buffer {
  return leafHash(eventBytes(event));
}
