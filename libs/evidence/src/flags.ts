import { UNKNOWN_MEDIA_TYPE, type ExtractedMetadata } from '#custodia/media';
import { greatCircleMetres, zonelessWindow } from '#custodia/search';

export const EVIDENCE_FLAGS = [
  'exact_duplicate',
  'near_duplicate',
  'location_mismatch',
  'time_mismatch',
  'no_embedded_metadata',
  'type_mismatch',
] as const;
export type EvidenceFlag = (typeof EVIDENCE_FLAGS)[number];

/** The UTC instant the file gives for its capture, or null when it gives none or no zone. */
export function extractedInstant(extracted: ExtractedMetadata | null): Date | null {
  if (!extracted?.capturedAt || extracted.capturedAtOffset === null) return null;
  const instant = new Date(extracted.capturedAt);
  return Number.isNaN(instant.getTime()) ? null : instant;
}

/**
 * When an item was captured, as a time search sees it: the closed interval [from, to] of the
 * instants it may have been captured at, `approximate` when that is a zone-less window. The
 * rule, first that applies:
 *  1. the file gives a time with its offset: that instant (from = to);
 *  2. the file gives a wall-clock time with no zone: its 26-hour window (see `zonelessWindow`),
 *     never narrowed by a guessed zone nor by the declaration (the file's word comes first, as
 *     it always has for search; a contradicting declaration is flagged `time_mismatch`);
 *  3. the submitter declared a time (always with a zone): that instant;
 *  4. nothing says when: null, and searches use the receipt time (an exact instant) instead, so
 *     no item drops out of a time search (the `search_from`/`search_to` columns).
 */
export function captureInterval(declaredCapturedAt: string | null | undefined, extracted: ExtractedMetadata | null): { from: Date; to: Date; approximate: boolean } | null {
  const instant = extractedInstant(extracted);
  if (instant) return { from: instant, to: instant, approximate: false };
  const window = extracted?.capturedAt && extracted.capturedAtOffset === null ? zonelessWindow(extracted.capturedAt) : null;
  if (window) return { ...window, approximate: true };
  const declared = declaredCapturedAt ? new Date(declaredCapturedAt) : null;
  if (declared && !Number.isNaN(declared.getTime())) return { from: declared, to: declared, approximate: false };
  return null;
}

/**
 * The offset a declared capture time carries, as `+hh:mm`: `+02:00` for `...T01:10:00+02:00`.
 * Null for `Z` and `-00:00`, which say the instant in UTC and that the local offset is unknown
 * (RFC 9557 §2, updating RFC 3339 §4.3); `+00:00` says the local time was UTC. A declaration
 * without an offset is refused at intake (see submission.ts).
 */
export function declaredOffset(capturedAt: string | null | undefined): string | null {
  const offset = capturedAt ? /([+-])(\d\d):(\d\d)$/.exec(capturedAt) : null;
  if (!offset || (offset[1] === '-' && offset[2] === '00' && offset[3] === '00')) return null;
  return `${offset[1]}${offset[2]}:${offset[3]}`;
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
    // Without an embedded offset the wall clock may be in any zone from UTC-12 to UTC+14: the
    // declaration contradicts it only when it lies beyond the tolerance from that whole window.
    const interval = captureInterval(null, extracted);
    if (interval) {
      const gapMs = Math.max(0, interval.from.getTime() - declaredMs, declaredMs - interval.to.getTime());
      if (gapMs / 1000 > tolerance.timeS) flags.push('time_mismatch');
    }
  }
  return flags;
}

/** Names of one format, mapped to the name the sniffer (file-type) gives it. */
const MEDIA_TYPE_ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/jpe': 'image/jpeg',
  'image/x-png': 'image/png',
  'image/apng': 'image/png',
  'image/vnd.mozilla.apng': 'image/png',
  'image/tif': 'image/tiff',
  'image/x-tiff': 'image/tiff',
  'image/x-ms-bmp': 'image/bmp',
  'image/x-bmp': 'image/bmp',
  'image/x-windows-bmp': 'image/bmp',
  'image/vnd.microsoft.icon': 'image/x-icon',
  'image/ico': 'image/x-icon',
  'image/psd': 'image/vnd.adobe.photoshop',
  'image/x-photoshop': 'image/vnd.adobe.photoshop',
  'application/x-photoshop': 'image/vnd.adobe.photoshop',
  'application/photoshop': 'image/vnd.adobe.photoshop',
  'audio/mp3': 'audio/mpeg',
  'audio/mpeg3': 'audio/mpeg',
  'audio/x-mp3': 'audio/mpeg',
  'audio/x-mpeg': 'audio/mpeg',
  'audio/x-mpeg-3': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-pn-wav': 'audio/wav',
  'audio/x-flac': 'audio/flac',
  'audio/x-aiff': 'audio/aiff',
  'audio/x-aac': 'audio/aac',
  'video/avi': 'video/vnd.avi',
  'video/msvideo': 'video/vnd.avi',
  'video/x-msvideo': 'video/vnd.avi',
  'application/x-pdf': 'application/pdf',
  'application/acrobat': 'application/pdf',
  'application/x-zip-compressed': 'application/zip',
  'application/x-zip': 'application/zip',
  'application/x-gzip': 'application/gzip',
  'text/xml': 'application/xml',
  // RTF as macOS and Linux desktops name it (the sniffer: application/rtf).
  'text/rtf': 'application/rtf',
  'application/x-rtf': 'application/rtf',
  // What file(1) calls a compound file it cannot tell apart (Linux tools declare it so).
  'application/vnd.ms-office': 'application/x-cfb',
};

/**
 * Formats that share one container, which writers label either way (a phone's `.mov` sent as
 * video/mp4, an `.m4a` sniffed as video/mp4 by its brand, a camera's DNG sniffed as TIFF): one
 * family, no contradiction within it.
 */
const MEDIA_TYPE_FAMILIES: Record<string, readonly string[]> = {
  'iso-bmff': ['video/mp4', 'video/quicktime', 'video/x-m4v', 'video/3gpp', 'video/3gpp2', 'audio/mp4', 'audio/x-m4a', 'audio/m4a', 'audio/3gpp', 'audio/3gpp2', 'application/mp4'],
  heif: ['image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence'],
  avif: ['image/avif', 'image/avif-sequence'],
  'jpeg-2000': ['image/jp2', 'image/jpx', 'image/jpm'],
  // Raw formats built on TIFF; the sniffer names some of them, and calls others TIFF.
  tiff: ['image/tiff', 'image/x-adobe-dng', 'image/x-nikon-nef', 'image/x-sony-arw', 'image/x-canon-cr2', 'image/x-olympus-orf', 'image/x-panasonic-rw2', 'image/x-pentax-pef', 'image/x-samsung-srw'],
  matroska: ['video/matroska', 'video/x-matroska', 'video/webm', 'audio/webm', 'audio/matroska', 'audio/x-matroska'],
  ogg: ['application/ogg', 'audio/ogg', 'video/ogg', 'audio/opus'],
  asf: ['application/vnd.ms-asf', 'video/x-ms-asf', 'audio/x-ms-asf', 'video/x-ms-wmv', 'audio/x-ms-wma'],
  'mpeg-ps': ['video/mpeg', 'video/mp1s', 'video/mp2p'],
  // An e-mail and a web page saved as one (MHTML, RFC 2557: Windows names .mht message/rfc822,
  // Chrome multipart/related, Linux desktops application/x-mimearchive).
  'mime-message': ['message/rfc822', 'multipart/related', 'application/x-mimearchive'],
  // MPEG-TS as systems name a camcorder's .MTS/.M2TS or a dashcam's .TS (Windows: vnd.dlna;
  // Apache's mime.types: model/vnd.mts, a 3D format that shares the extension).
  'mpeg-ts': ['video/mp2t', 'video/vnd.dlna.mpeg-tts', 'video/m2ts', 'video/x-m2ts', 'video/mts', 'video/avchd', 'model/vnd.mts'],
};
const FAMILY_OF = new Map(Object.entries(MEDIA_TYPE_FAMILIES).flatMap(([family, types]) => types.map((type) => [type, family] as const)));

/**
 * Formats with a fixed signature the sniffer always recognises: bytes it cannot name are not
 * one of these, whatever was declared. (Text, JSON, CSV, SVG, MP3 without a tag... have none,
 * so bytes the sniffer cannot name do not contradict them.)
 */
const SIGNED_FAMILIES = new Set([
  'image/jpeg', 'image/png', 'image/gif', 'image/webp', 'tiff', 'image/bmp', 'heif', 'avif', 'image/jxl', 'jpeg-2000',
  'iso-bmff', 'matroska', 'video/vnd.avi', 'audio/wav', 'audio/flac', 'ogg', 'application/pdf', 'application/zip',
]);

/** Generic containers, and what may be declared or sniffed inside them. */
const CONTAINERS: Record<string, RegExp> = {
  'application/zip': /^application\/(zip|java-archive|epub\+zip|x-xpinstall|vnd\.android\.package-archive|vnd\.google-earth\.kmz|vnd\.openxmlformats-officedocument\..+|vnd\.oasis\.opendocument\..+|vnd\.ms-[a-z]+\.[a-z.]*macroenabled\.12|[a-z0-9.-]+\+zip)$/,
  'application/x-cfb': /^application\/(x-cfb|msword|vnd\.ms-(excel|powerpoint|outlook|project)|vnd\.visio|x-msi|x-ole-storage)$/,
  'application/xml': /^(application|image|text)\/(xml|[a-z0-9.-]+\+xml)$/,
};

/** What a declaration declares nothing by: no type, the generic binary type, or busboy's default. */
const DECLARES_NOTHING = new Set(['', UNKNOWN_MEDIA_TYPE, 'binary/octet-stream', 'application/unknown', 'application/x-unknown', '*/*', 'text/plain']);

const canonical = (type: string): string => {
  const bare = type.split(';')[0]!.trim().toLowerCase();
  return MEDIA_TYPE_ALIASES[bare] ?? bare;
};
const familyOf = (type: string): string => FAMILY_OF.get(type) ?? type;

/**
 * Whether the declared media type (the multipart part's Content-Type) contradicts the one
 * sniffed from the bytes, the `type_mismatch` flag. The rule:
 *  - a missing type, application/octet-stream (or its kin) and text/plain declare nothing: a
 *    multipart part without a Content-Type reaches us as text/plain (RFC 7578 §4.4), and phones
 *    and browsers send octet-stream for what they cannot name;
 *  - types are compared case-insensitively, without parameters, aliases folded (image/jpg is
 *    image/jpeg), and formats of one container family are one (video/quicktime and video/mp4,
 *    video/webm and video/x-matroska, image/heic and image/heif, DNG and TIFF);
 *  - bytes the sniffer cannot name contradict only a declared format with a fixed signature it
 *    always recognises (JPEG, PNG, MP4, PDF...), not text, JSON, CSV or SVG;
 *  - a generic container and a format inside it agree either way (application/zip and a .docx,
 *    application/xml and image/svg+xml, application/x-cfb and a .doc);
 *  - anything else that differs is a contradiction: another top-level type (image/jpeg declared,
 *    video/mp4 sniffed), another image or video format (image/jpeg declared, image/png sniffed).
 */
export function typeMismatch(declaredMediaType: string | null | undefined, sniffedMediaType: string): boolean {
  const declared = canonical(declaredMediaType ?? '');
  const sniffed = canonical(sniffedMediaType);
  if (DECLARES_NOTHING.has(declared) || !/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(declared)) return false;
  if (sniffed === UNKNOWN_MEDIA_TYPE) return SIGNED_FAMILIES.has(familyOf(declared));
  if (familyOf(declared) === familyOf(sniffed)) return false;
  for (const [container, members] of Object.entries(CONTAINERS)) {
    if ((declared === container && members.test(sniffed)) || (sniffed === container && members.test(declared))) return false;
  }
  return true;
}
