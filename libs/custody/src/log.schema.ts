import { CUSTODY_ACTIONS } from '#custodia/custody-core';
import { sha256Hex, timestamp, wrong, z } from '#custodia/schema';

/**
 * The custody log's answers (api.md, "Custody log"; custody.md), declared once: the log routes
 * answer with them and the OpenAPI document describes them, so monitors can build on them.
 */

const index = () => z.int().min(0);
const hex = () => sha256Hex();

export const SignedTreeHead = z
  .strictObject({
    treeSize: index(),
    rootHash: hex().describe('Hex SHA-256 tree hash (RFC 9162)'),
    timestamp: timestamp(),
    keyId: hex().describe("Hex SHA-256 of the signing key's SPKI DER"),
    signature: z.string().describe('Base64 Ed25519 signature over the RFC 8785 bytes of the four fields above'),
    timestampToken: z
      .string()
      .nullable()
      .describe('Base64 DER RFC 3161 token over the RFC 8785 bytes of the five fields above, when CUSTODIA_TSA_URL is set; a head signed while the authority did not answer gets one later (its genTime then after the head\'s timestamp), null until then'),
  })
  .meta({ id: 'SignedTreeHead' });

export const LogLeaf = z
  .strictObject({
    leafIndex: index(),
    leafHash: hex().describe('Hex SHA-256(0x00 || event bytes)'),
  })
  .meta({ id: 'LogLeaf' });

/** One event of the log, exactly as hashed into its leaf (custody.md). */
export const CustodyEventSchema = z
  .strictObject({
    index: index().describe('Position in the log, equal to the leaf index'),
    action: z.enum(CUSTODY_ACTIONS),
    at: timestamp(),
    actor: z
      .strictObject({ id: z.string(), role: z.string() })
      .describe('The person whose request caused the event, or { id: "system", role: "system" }'),
    caseId: z.string().nullable().describe('null for system events (account administration, key rotation)'),
    subject: z.strictObject({ type: z.string(), id: z.string(), sha256: hex().optional() }),
    details: z.record(z.string(), z.unknown()).describe('Never secrets, tokens or device locations'),
    reason: z.string().optional(),
  })
  .meta({ id: 'CustodyEvent' });

/** A retired key's handover (PACKAGE-FORMAT.md, "Key rotation"): how whoever trusts it reaches the next key. */
export const KeyHandoverSchema = z
  .strictObject({
    head: SignedTreeHead.omit({ timestampToken: true }).describe('A signed tree head, signed by the retiring key, whose last leaf is the event'),
    event: CustodyEventSchema.describe('The key.rotated event: details.previousKeyId is the head\'s key, details.keyId the next one'),
    leafIndex: index().describe("The event's leaf: the head's treeSize - 1"),
    inclusionProof: z.array(hex()).describe("RFC 9162 inclusion proof of the event's leaf in the head's tree"),
  })
  .meta({ id: 'KeyHandover' });

export const LogKey = z
  .strictObject({
    keyId: hex(),
    algorithm: z.literal('Ed25519'),
    publicKeyPem: z.string(),
    activeFrom: timestamp(),
    activeTo: timestamp().nullable(),
    compromisedAt: timestamp()
      .nullable()
      .describe(
        'When the archive marked the key compromised (it leaked, or may have): nothing it signed is to be trusted on its own and its handover, if any, is not to be followed. null for a key not marked',
      ),
    handover: KeyHandoverSchema.nullable().describe(
      'For a retired key, the head it signed last, over the rotation that names its successor: whoever trusts this key can follow it to the next one. null for the active key',
    ),
  })
  .meta({ id: 'LogKey' });

export const LogEntrySchema = z
  .strictObject({
    leafIndex: index(),
    leafHash: hex(),
    event: CustodyEventSchema.nullable().describe('null where the caller may not see the event'),
  })
  .meta({ id: 'LogEntry' });

export const InclusionProof = z
  .strictObject({
    leafIndex: index(),
    treeSize: index(),
    leafHash: hex(),
    auditPath: z.array(hex()),
  })
  .meta({ id: 'InclusionProof' });

export const ConsistencyProof = z
  .strictObject({
    first: index(),
    second: index(),
    proof: z.array(hex()),
  })
  .meta({ id: 'ConsistencyProof' });

/** A whole number in a query string (they arrive as text). */
const whole = (description?: string) => {
  const field = z.string({ message: 'must be given once' }).regex(/^\d{1,15}$/, 'must be a whole number').transform(Number);
  return description ? field.describe(description) : field;
};

const MAX_PAGE = 1000;
export const LOG_PAGE = MAX_PAGE;

export const TreeHeadsQuery = z.strictObject({
  from: whole('The smallest tree size to list (default 0)').optional(),
  limit: whole(`1 to ${MAX_PAGE} (default 100)`)
    .refine((n) => n >= 1 && n <= MAX_PAGE, `must be from 1 to ${MAX_PAGE}`)
    .optional(),
});

/** A case's entries, newest first: those below `before`, `limit` at a time. */
export const CaseLogQuery = z.strictObject({
  before: whole('Entries below this leaf index (default: from the latest)').optional(),
  limit: whole(`1 to ${MAX_PAGE} (default 50)`)
    .refine((n) => n >= 1 && n <= MAX_PAGE, `must be from 1 to ${MAX_PAGE}`)
    .optional(),
});

export const CaseLogPage = z
  .strictObject({
    items: z.array(LogEntrySchema),
    nextBefore: index().nullable().describe('`before` for the next, older page; null on the last'),
  })
  .meta({ id: 'CaseLogPage' });

/** `start` and `end` inclusive, at most MAX_PAGE leaves; an end before the start is wrong (422). */
export const LeavesQuery = z
  .strictObject({
    start: whole('The first leaf index'),
    end: whole(`The last leaf index (inclusive; at most ${MAX_PAGE} leaves per call)`),
  })
  .superRefine((query, context) => {
    if (query.end < query.start) context.addIssue({ code: 'custom', path: ['end'], ...wrong('must be >= start') });
    else if (query.end - query.start >= MAX_PAGE) {
      context.addIssue({ code: 'custom', path: ['end'], ...wrong(`must be < start + ${MAX_PAGE}`) });
    }
  });

export const InclusionQuery = z.strictObject({
  leafIndex: whole('The leaf to prove'),
  treeSize: whole("The tree size to prove it in (default: the newest signed head's)").optional(),
});

export const ConsistencyQuery = z.strictObject({
  first: whole('The earlier tree size'),
  second: whole('The later tree size'),
});
