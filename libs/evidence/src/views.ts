import { ownerFilter, type Actor } from '#custodia/auth';
import type { ExtractedMetadata } from '#custodia/media';
import type { EvidenceStatus, EvidenceView, SourceType } from './evidence.schema.js';
import type { EvidenceFlag } from './flags.js';
import type { EvidenceLinkRole } from './links.js';

/** A row of evidence_items joined with its submitter's display name. */
export interface EvidenceRow {
  id: string;
  case_id: string;
  sha256: string;
  size_bytes: string;
  media_type: string;
  declared_media_type: string | null;
  original_file_name: string | null;
  submitted_by: string;
  submitter_name: string;
  /** The device's SHA-256 matched the bytes received (true), or the device sent none (null). */
  client_sha256_matched: boolean | null;
  received_at: Date;
  /** received_at in microseconds since the epoch: the listing cursor needs PostgreSQL's full precision. */
  received_us: string;
  duplicate_submitter: string | null;
  /** Who reported the incident the item is linked to (null without a link). */
  incident_reporter: string | null;
  /** Who made that link (null without one, or for a link older than the column). */
  incident_linked_by: string | null;
  source_type: SourceType;
  source_url: string | null;
  language: string | null;
  title: string | null;
  description: string | null;
  tags: string[];
  incident_id: string | null;
  incident_link_role: EvidenceLinkRole | null;
  status: EvidenceStatus;
  declared_captured_at: Date | null;
  /** The offset the declared time carried (`+02:00`); null for `Z`, and for items from before it was kept. */
  declared_captured_offset: string | null;
  declared_lat: number | null;
  declared_lon: number | null;
  declared_accuracy_m: number | null;
  extracted: ExtractedMetadata | null;
  /** When it was captured as a time search sees it (see `captureInterval`); null when nothing says when. */
  captured_from: Date | null;
  captured_to: Date | null;
  flags: EvidenceFlag[];
  duplicate_of: string | null;
  perceptual_hash: string | null;
  processing: 'pending' | 'done' | 'failed';
  processing_error: string | null;
  thumbnail_sha256: string | null;
  preview_sha256: string | null;
}

/** Another item of the case whose perceptual hash is within the configured distance of this one's. */
export interface NearDuplicateRow {
  id: string;
  distance: number;
  submitted_by: string;
}

/** A row as a view of the item needs it: with its near duplicates, nearest first, whoever submitted them. */
export interface EvidenceViewRow extends EvidenceRow {
  near_duplicates: NearDuplicateRow[];
}

/** True when the item's searched capture time is a window rather than an instant. */
export const isTimeApproximate = (row: Pick<EvidenceRow, 'captured_from' | 'captured_to'>): boolean =>
  row.captured_from !== null && row.captured_to !== null && row.captured_from.getTime() !== row.captured_to.getTime();

/** Signed 64-bit (as PostgreSQL stores it) to 16 hex digits, and back. */
export const perceptualHashToHex = (signed: string): string => BigInt.asUintN(64, BigInt(signed)).toString(16).padStart(16, '0');
export const perceptualHashFromHex = (hex: string): string => BigInt.asIntN(64, BigInt(`0x${hex}`)).toString();

/**
 * The resource as `viewer` may see it: a viewer who reads only their own items (the policy's
 * `own` scope) is not shown someone else's identical submission or near duplicates, nor told
 * that they exist: `exact_duplicate` and `near_duplicate` are theirs only when the other item
 * is (else a documenter could learn whether anyone in the case holds a picture by sending one).
 */
export function toEvidenceView(row: EvidenceViewRow, apiBase: string, viewer: Actor): EvidenceView {
  const onlyOwn = ownerFilter(viewer, 'evidence.read');
  const duplicateOf = onlyOwn !== null && row.duplicate_submitter !== onlyOwn ? null : row.duplicate_of;
  const nearDuplicates = row.near_duplicates
    .filter((near) => onlyOwn === null || near.submitted_by === onlyOwn)
    .map((near) => ({ id: near.id, distance: near.distance }));
  // The incident it is linked to, only where the viewer may read that incident or made the link
  // (at intake, say, to an incident whose id they were given): an investigator's link tells a
  // documenter of an incident they cannot see, and how they judged the item (its role, such as
  // depicts_casualty).
  const incidentShown = onlyOwn === null || row.incident_reporter === onlyOwn || row.incident_linked_by === onlyOwn;
  const flags =
    onlyOwn === null
      ? row.flags
      : row.flags.filter((flag) => (flag === 'exact_duplicate' ? duplicateOf !== null : flag === 'near_duplicate' ? nearDuplicates.length > 0 : true));
  return {
    id: row.id,
    caseId: row.case_id,
    sha256: row.sha256,
    sizeBytes: Number(row.size_bytes),
    mediaType: row.media_type,
    declaredMediaType: row.declared_media_type,
    originalFileName: row.original_file_name,
    submittedBy: { id: row.submitted_by, displayName: row.submitter_name },
    receivedAt: row.received_at.toISOString(),
    sourceType: row.source_type,
    sourceUrl: row.source_url,
    language: row.language,
    title: row.title,
    description: row.description,
    tags: row.tags,
    incidentId: incidentShown ? row.incident_id : null,
    incidentRole: row.incident_id === null || !incidentShown ? null : (row.incident_link_role ?? 'other'),
    status: row.status,
    declared: {
      capturedAt: row.declared_captured_at?.toISOString() ?? null,
      capturedAtOffset: row.declared_captured_offset,
      location:
        row.declared_lat === null || row.declared_lon === null
          ? null
          : { lat: row.declared_lat, lon: row.declared_lon, accuracyM: row.declared_accuracy_m },
    },
    extracted: row.extracted,
    flags,
    duplicateOf,
    nearDuplicates,
    perceptualHash: row.perceptual_hash === null ? null : perceptualHashToHex(row.perceptual_hash),
    processing: row.processing,
    processingError: row.processing_error,
    derivatives: {
      thumbnail: row.thumbnail_sha256 ? `${apiBase}/evidence/${row.id}/thumbnail` : null,
      preview: row.preview_sha256 ? `${apiBase}/evidence/${row.id}/preview` : null,
    },
  };
}
