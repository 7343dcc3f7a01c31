import type { ExtractedMetadata } from '#custodia/media';
import { greatCircleMetres } from '#custodia/search';

export const EVIDENCE_FLAGS = ['exact_duplicate', 'near_duplicate', 'location_mismatch', 'time_mismatch', 'no_embedded_metadata'] as const;
export type EvidenceFlag = (typeof EVIDENCE_FLAGS)[number];


/** The UTC instant the file gives for its capture, or null when it gives none or no zone. */
export function extractedInstant(extracted: ExtractedMetadata | null): Date | null {
  if (!extracted?.capturedAt || extracted.capturedAtOffset === null) return null;
  const instant = new Date(extracted.capturedAt);
  return Number.isNaN(instant.getTime()) ? null : instant;
}

export interface Declared {
  capturedAt?: string;
  location?: { lat: number; lon: number };
}

/**
 * Where the file contradicts its submitter: positions further apart than the tolerance, or
 * capture times further apart after applying the embedded offset. A camera time without an
 * offset could be in any zone, and we never guess one: it is a mismatch only when no zone
 * (UTC-12 to UTC+14) could reconcile it with the declaration.
 */
export function contradictionFlags(
  declared: Declared,
  extracted: ExtractedMetadata | null,
  tolerance: { locationM: number; timeS: number },
): EvidenceFlag[] {
  const flags: EvidenceFlag[] = [];
  if (declared.location && extracted?.location && greatCircleMetres(declared.location, extracted.location) > tolerance.locationM) {
    flags.push('location_mismatch');
  }
  if (declared.capturedAt && extracted?.capturedAt) {
    const declaredMs = Date.parse(declared.capturedAt);
    const instant = extractedInstant(extracted);
    const embeddedMs = instant ? instant.getTime() : Date.parse(`${extracted.capturedAt}Z`);
    // Without an embedded offset the wall clock may be in any zone from UTC-12 to UTC+14.
    const slackS = instant ? 0 : 14 * 3600;
    if (Number.isFinite(embeddedMs) && Math.abs(declaredMs - embeddedMs) / 1000 > tolerance.timeS + slackS) flags.push('time_mismatch');
  }
  return flags;
}
