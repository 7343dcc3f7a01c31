import { CUSTODY_ACTIONS } from '#custodia/custody-core';
import { LISTING_FIELDS, readListingFilters } from '#custodia/search';
import { dateTime, latitude, longitude, sha256Hex, text, timestamp, UPLOAD_ID_PATTERN, uuid, wrong, z } from '#custodia/schema';
import { EVIDENCE_FLAGS, type EvidenceFlag } from './flags.js';
import { EVIDENCE_LINK_ROLES } from './links.js';

/**
 * Every body evidence routes take and give, declared once: the same schemas validate the input,
 * check the answers in tests and write the OpenAPI document.
 */

export const SOURCE_TYPES = ['field_capture', 'witness_submission', 'open_source', 'official_record', 'other'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const EVIDENCE_STATUSES = ['received', 'under_review', 'verified', 'disputed'] as const;
export type EvidenceStatus = (typeof EVIDENCE_STATUSES)[number];

/** Which of an item's positions a place search looks at. */
export const LOCATION_SOURCES = ['any', 'declared', 'embedded'] as const;
export type LocationSource = (typeof LOCATION_SOURCES)[number];

const tag = () => z.string().trim().min(1).max(100);
/** A set of tags: one given twice (a capture app's double tap) is kept once, in the order first given. */
const tags = () =>
  z
    .array(tag())
    .max(50)
    .transform((list) => [...new Set(list)]);
const incidentRole = () => z.enum(EVIDENCE_LINK_ROLES).describe("What the item shows of its incident (default: other)");

/** A declared capture time: RFC 3339 with its zone, not more than a day ahead of the archive's clock. */
const declaredTime = () =>
  dateTime()
    .refine((value) => Date.parse(value) <= Date.now() + 24 * 3600 * 1000, wrong('lies in the future'))
    .describe('RFC 3339 with Z or ±hh:mm; the offset is kept as declared.capturedAtOffset');

/** The `metadata` part of a submission (api.md, "Submit"); every field optional. */
export const SubmissionMetadata = z
  .strictObject({
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters')
      .transform((hex) => hex.toLowerCase())
      .optional()
      .describe('SHA-256 computed on the capturing device; bytes that differ are refused (422)'),
    clientSubmissionId: z.string().min(1).max(200).optional().describe('Idempotency key, unique per submitter'),
    capturedAt: declaredTime().optional(),
    location: z
      .strictObject({
        lat: latitude(),
        lon: longitude(),
        accuracyM: z
          .number()
          .refine((v) => v >= 0, wrong('must not be negative'))
          .optional(),
      })
      .optional(),
    title: text(500).optional(),
    description: text(20_000).optional(),
    tags: tags().optional(),
    incidentId: uuid().optional().describe('An incident of the same case (422 otherwise)'),
    incidentRole: incidentRole().optional(),
    sourceType: z.enum(SOURCE_TYPES).optional(),
    sourceUrl: z
      .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
      .max(2000)
      .optional(),
    language: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag such as uk or uk-UA')
      .optional(),
  })
  .superRefine((metadata, context) => {
    if (metadata.incidentRole !== undefined && metadata.incidentId === undefined) {
      context.addIssue({ code: 'custom', path: ['incidentRole'], ...wrong('needs incidentId') });
    }
  })
  .meta({ id: 'SubmissionMetadata', description: 'The JSON of the multipart part `metadata`' });
export type SubmissionMetadata = z.output<typeof SubmissionMetadata>;

/** A finished resumable upload made evidence: its id and the submission's metadata, as JSON. */
export const UploadSubmission = SubmissionMetadata.safeExtend({
  uploadId: z
    .string()
    .regex(new RegExp(UPLOAD_ID_PATTERN), 'must be the id of an upload (the last part of its tus Location)')
    .describe('A finished upload of the caller (POST /uploads); it becomes this item and is gone from /uploads'),
}).meta({ id: 'UploadSubmission', description: 'POST /cases/:caseId/evidence as application/json: a finished tus upload and its metadata' });

/** `PATCH /evidence/:id`: what may change of an item (never what was received). */
export const EvidencePatchBody = z
  .strictObject({
    title: text(500).nullable().optional(),
    description: text(20_000).nullable().optional(),
    tags: tags().optional(),
    incidentId: uuid().nullable().optional().describe('An incident of the same case (422 otherwise); null unlinks'),
    incidentRole: incidentRole().optional(),
    status: z.enum(EVIDENCE_STATUSES).optional(),
    reason: z.string().trim().min(1).max(2000).optional().describe('Why: kept with every event this change records (optional, as api.md has it)'),
  })
  .meta({ id: 'EvidencePatch' });
export type EvidencePatch = z.output<typeof EvidencePatchBody>;

const once = (description: string) => z.string({ message: 'must be given once' }).describe(description);
/** One of a closed list, given once (documented as an enum). */
const choice = (values: readonly string[], description: string) =>
  once(description)
    .refine((value) => values.includes(value), `must be one of ${values.join(', ')}`)
    .meta({ enum: [...values] });

/** `mediaType`'s value: up to 20 comma-separated types, each whole, a type's every subtype (`image/*`) or a family by the start of its subtype. */
const MEDIA_TYPE_PATTERNS = /^[a-z0-9.+-]+\/([a-z0-9.+-]+\*?|\*)(,[a-z0-9.+-]+\/([a-z0-9.+-]+\*?|\*)){0,19}$/i;

/** `GET /cases/:caseId/evidence`: the shared listing parameters and evidence's own filters. */
export const EvidenceListQuery = z
  .strictObject({
    ...LISTING_FIELDS,
    locationSource: choice(
      LOCATION_SOURCES,
      'The position near/bbox look at: declared, embedded, or any (default: either matches); without near or bbox it has no effect',
    ).optional(),
    flag: choice(EVIDENCE_FLAGS, 'Items carrying this flag').optional(),
    mediaType: once(
      'The sniffed type: type/subtype, type/*, or a family by its start (application/vnd.oasis.opendocument.*); several comma-separated (up to 20) match any of them',
    )
      .regex(MEDIA_TYPE_PATTERNS, 'must be type/subtype, type/* or type/prefix*, or up to 20 of them separated by commas')
      .optional(),
    status: choice(EVIDENCE_STATUSES, 'Items with this status').optional(),
    tag: once('Items carrying this tag (exactly)').trim().min(1).max(100).optional(),
    incidentId: uuid().optional().describe('Items linked to this incident'),
    ids: once('These items (comma-separated ids, up to 200), as a screen naming the items a record cites needs them')
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(,[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})*$/i, 'must be item ids separated by commas')
      .refine((value) => value.split(',').length <= 200, 'must name at most 200 items')
      .optional(),
    sha256: once("Items whose file has one of these SHA-256 hashes (comma-separated, up to 200): is a file, such as an e-mail's attachment, already in the case?")
      .regex(/^[0-9a-f]{64}(,[0-9a-f]{64})*$/i, 'must be SHA-256 hashes (64 hex digits) separated by commas')
      .refine((value) => value.split(',').length <= 200, 'must name at most 200 hashes')
      .optional(),
  })
  .transform((raw, context) => ({
    ...readListingFilters(raw, context),
    locationSource: (raw.locationSource ?? 'any') as LocationSource,
    flag: (raw.flag ?? null) as EvidenceFlag | null,
    mediaType: raw.mediaType ?? null,
    status: (raw.status ?? null) as EvidenceStatus | null,
    tag: raw.tag ?? null,
    incidentId: raw.incidentId ?? null,
    ids: raw.ids ? [...new Set(raw.ids.toLowerCase().split(','))] : null,
    sha256: raw.sha256 ? [...new Set(raw.sha256.toLowerCase().split(','))] : null,
  }));
export type EvidenceListFilters = z.output<typeof EvidenceListQuery>;

const ExtractedLocation = z.strictObject({ lat: z.number(), lon: z.number(), altitudeM: z.number().nullable() });

export const ExtractedMetadata = z
  .strictObject({
    capturedAt: z.string().nullable().describe('UTC instant when the file gives an offset, else the zone-less camera time'),
    capturedAtOffset: z.string().nullable(),
    location: ExtractedLocation.nullable(),
    device: z.strictObject({ make: z.string().nullable(), model: z.string().nullable(), software: z.string().nullable() }).nullable(),
    orientation: z.number().nullable(),
    width: z.number().nullable(),
    height: z.number().nullable(),
    durationS: z.number().nullable(),
    notes: z.array(z.string()).optional(),
    document: z
      .strictObject({
        pages: z.number().nullable(),
        title: z.string().nullable(),
        author: z.string().nullable(),
        lastModifiedBy: z
          .string()
          .nullable()
          .optional()
          .describe("Who saved it last: OOXML's cp:lastModifiedBy, OpenDocument's dc:creator, Word 97-2003's Last Author; null for a PDF; absent on items read before 2026-12-07"),
        creator: z.string().nullable(),
        producer: z.string().nullable(),
        savedFrom: z
          .string()
          .nullable()
          .optional()
          .describe("A saved web page's address (MHTML's Snapshot-Content-Location, as Chrome and Edge write it); only on saved pages"),
        recipients: z
          .strictObject({ to: z.array(z.string()), cc: z.array(z.string()), bcc: z.array(z.string()) })
          .nullable()
          .optional()
          .describe('Who an e-mail was addressed to, each as "name <address>" (up to 1,000 of each kind; a note says when there were more); only on e-mails of up to 64 MiB read since 2026-12-08; null in partner copies'),
        attachments: z
          .array(
            z.strictObject({
              name: z.string().nullable().describe('The name the message gives it, or its path in an archive ("DCIM/IMG_0001.JPG"); null in partner copies'),
              mediaType: z.string().nullable().describe('As the message declares it, not sniffed; null in an archive, which declares none'),
              sizeBytes: z.number().int(),
              sha256: sha256Hex().describe('Of the decoded file, as a mail program or an unzip tool saves it: the same as an item\'s sha256 when that file was submitted too'),
              inline: z.boolean().describe('Shown in the message\'s text (an inline picture) rather than attached; false in an archive'),
              modifiedAt: z
                .string()
                .optional()
                .describe('Archives only: when the archive says the file was last changed, a UTC instant (Info-ZIP\'s or NTFS\'s time field) or, from the DOS time alone, the zipping machine\'s local time with no zone'),
              from: z.string().nullable().optional().describe('Mailboxes only: the message\'s sender, "name <address>"; null in partner copies'),
              sentAt: z.string().nullable().optional().describe('Mailboxes only: the message\'s Date, a UTC instant (or local time with no zone when its zone is not one RFC 5322 defines)'),
            }),
          )
          .optional()
          .describe('The files an e-mail carries (a forwarded message as one file), up to 1,000, on e-mails of up to 64 MiB read since 2026-12-08; or the files a ZIP archive holds (directories left out), up to 1,000 and 1 GiB hashed, on archives read since 2026-12-08; or the messages a mailbox (mbox) holds, each as the .eml a mail program saves (its subject as the name), up to 1,000 and 1 GiB hashed'),
        createdAt: z.string().nullable(),
        createdAtOffset: z.string().nullable(),
        modifiedAt: z.string().nullable(),
        modifiedAtOffset: z.string().nullable(),
      })
      .optional(),
  })
  .meta({ id: 'ExtractedMetadata', description: 'What the file itself says (EXIF/XMP/QuickTime/PDF/office documents/e-mail headers), never overwritten by declarations' });

/** The evidence resource of api.md. */
export const Evidence = z
  .strictObject({
    id: uuid(),
    caseId: uuid(),
    sha256: sha256Hex(),
    sizeBytes: z.number().int(),
    mediaType: z.string().describe('Sniffed from the bytes'),
    declaredMediaType: z.string().nullable(),
    originalFileName: z.string().nullable(),
    submittedBy: z.strictObject({ id: uuid(), displayName: z.string() }),
    receivedAt: timestamp(),
    sourceType: z.enum(SOURCE_TYPES),
    sourceUrl: z.string().nullable(),
    language: z.string().nullable(),
    title: z.string().nullable(),
    description: z.string().nullable(),
    tags: z.array(z.string()),
    incidentId: uuid().nullable(),
    incidentRole: z.enum(EVIDENCE_LINK_ROLES).nullable().describe('What the item shows of its incident; null when unlinked'),
    status: z.enum(EVIDENCE_STATUSES),
    declared: z.strictObject({
      capturedAt: timestamp().nullable(),
      capturedAtOffset: z.string().nullable(),
      location: z.strictObject({ lat: z.number(), lon: z.number(), accuracyM: z.number().nullable() }).nullable(),
    }),
    extracted: ExtractedMetadata.nullable(),
    flags: z.array(z.enum(EVIDENCE_FLAGS)),
    duplicateOf: uuid().nullable(),
    nearDuplicates: z
      .array(z.strictObject({ id: uuid(), distance: z.number().int() }))
      .describe('Items of the case whose perceptual hash is within CUSTODIA_NEAR_DUPLICATE_DISTANCE bits: the 50 nearest, then first received (of those, the ones the caller may read)'),
    perceptualHash: z.string().nullable().describe('64-bit perceptual hash (DCT pHash of the picture or poster frame), 16 hex digits; null for items that are not pictures or videos, before processing, and for a flat picture (no detail to hash: a black frame, a blank page), which would otherwise be a near duplicate of every other'),
    processing: z.enum(['pending', 'done', 'failed']),
    processingError: z.string().nullable(),
    derivatives: z.strictObject({ thumbnail: z.string().nullable(), preview: z.string().nullable() }),
  })
  .meta({ id: 'Evidence' });
export type EvidenceView = z.output<typeof Evidence>;

/** An item of a case listing: the resource, and whether its capture time is only a window. */
export const EvidenceListItem = Evidence.extend({
  timeApproximate: z.boolean().describe('The capture time is a zone-less camera time: a 26-hour window, matched by overlap'),
}).meta({ id: 'EvidenceListItem' });
export type EvidenceListItem = z.output<typeof EvidenceListItem>;

export const EvidencePage = z
  .strictObject({ items: z.array(EvidenceListItem), nextCursor: z.string().nullable() })
  .meta({ id: 'EvidencePage', description: 'Newest received first' });

const hex = () => z.string().regex(/^[0-9a-f]*$/, 'must be lowercase hex');

/** A custody event as custody.md writes it (the exact object its leaf hash covers). */
const CustodyEventShape = z.strictObject({
  index: z.number().int(),
  action: z.enum(CUSTODY_ACTIONS),
  at: timestamp(),
  actor: z.strictObject({ id: z.string(), role: z.string() }),
  caseId: uuid().nullable(),
  subject: z.strictObject({ type: z.string(), id: z.string(), sha256: z.string().optional() }),
  details: z.record(z.string(), z.unknown()),
  reason: z.string().optional(),
});

/** A signed tree head as kept (with its RFC 3161 token where an authority is configured). */
const KeptTreeHeadShape = z.strictObject({
  treeSize: z.number().int(),
  rootHash: hex(),
  timestamp: timestamp(),
  keyId: hex(),
  signature: z.string().describe('Ed25519 over the head\'s RFC 8785 bytes, base64'),
  timestampToken: z.string().nullable().describe('RFC 3161 token (base64 DER), if an authority is configured'),
});

/** custody.md's receipt: the event, its leaf, a signed head that includes it, the proof. */
export const Receipt = z
  .strictObject({
    event: CustodyEventShape,
    leafHash: hex(),
    leafIndex: z.number().int(),
    treeHead: KeptTreeHeadShape,
    inclusionProof: z.array(hex()),
  })
  .meta({ id: 'Receipt' });

export type Receipt = z.output<typeof Receipt>;

export const EvidenceWithReceipt = Evidence.extend({
  receipt: Receipt.nullable().describe(
    'null when the event was not integrated within CUSTODIA_RECEIPT_WAIT_MS (custody.md): fetch it from receiptUrl',
  ),
  receiptUrl: z.string().describe('Where the receipt can be fetched again (GET /evidence/{id}/receipt)'),
}).meta({ id: 'EvidenceWithReceipt' });
export type EvidenceWithReceipt = z.output<typeof EvidenceWithReceipt>;

/** The most events one page of an item's custody holds (and the default). */
export const CUSTODY_PAGE = 1000;

/** `GET /evidence/:id/custody?limit=&cursor=`: every read of an item is an event, so they are paged. */
export const EvidenceCustodyQuery = z.strictObject({
  limit: z
    .string({ message: 'must be given once' })
    .regex(/^\d{1,4}$/, `must be a whole number from 1 to ${CUSTODY_PAGE}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= CUSTODY_PAGE, `must be a whole number from 1 to ${CUSTODY_PAGE}`)
    .optional()
    .describe(`1 to ${CUSTODY_PAGE} events (default ${CUSTODY_PAGE})`),
  cursor: z
    .string({ message: 'must be given once' })
    .regex(/^\d{1,15}$/, "must be a previous page's nextCursor")
    .transform(Number)
    .optional()
    .describe("The previous page's nextCursor"),
});
export type EvidenceCustodyQuery = z.output<typeof EvidenceCustodyQuery>;

/** `GET /evidence/:id/custody`: one page. */
export const EvidenceCustody = z
  .strictObject({
    events: z.array(z.strictObject({ event: CustodyEventShape, leafIndex: z.number().int(), leafHash: hex() })),
    treeHead: KeptTreeHeadShape,
    proofs: z.record(z.string(), z.array(hex())).describe('Inclusion proof of each event, by leaf index, in treeHead'),
    nextCursor: z.string().nullable().describe('Where the next page starts (the cursor parameter); null on the last page'),
  })
  .meta({ id: 'EvidenceCustody' });
export type EvidenceCustody = z.output<typeof EvidenceCustody>;

/** `POST /evidence/:id/verify`. */
export const VerificationResult = z
  .strictObject({
    intact: z.boolean(),
    storedSha256: sha256Hex(),
    computedSha256: sha256Hex().nullable().describe('null when the stored bytes are missing'),
    checkedAt: timestamp(),
    custody: z.strictObject({ events: z.number().int(), allIncluded: z.boolean(), treeSize: z.number().int() }),
  })
  .meta({ id: 'EvidenceVerification' });
export type VerificationResult = z.output<typeof VerificationResult>;

/** A tag's value as ExifTool reports it: text, a number, true/false, null, or lists and objects of them. */
const TagValue = z.unknown().describe('A JSON value: text, number, boolean, null, or lists and objects of them');

/** `GET /evidence/:id/metadata`: every tag of the original, grouped as ExifTool groups them. */
export const EvidenceTags = z
  .strictObject({
    evidenceId: uuid(),
    sha256: sha256Hex(),
    reader: z.string().describe('"ExifTool <version>"'),
    groups: z
      .record(z.string(), z.record(z.string(), TagValue))
      .describe(
        'Tags by ExifTool family-1 group ("IFD0", "ExifIFD", "GPS", "XMP-dc", ...); and, read by the archive since ExifTool reads none, "MessageHeader": an e-mail\'s, a saved web page\'s or an Outlook message\'s header fields as the file holds them (unfolded, encoded words as written), in order, a repeated field (Received) as the list of its values',
      ),
  })
  .meta({ id: 'EvidenceTags' });
export type EvidenceTags = z.output<typeof EvidenceTags>;
