import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Time and place of evidence as api.md states them (issue 9, items 6 and 7).
 *
 * - `declared_captured_offset`: the offset the submitter's capture time carried (`+02:00`);
 *   null for `Z` (UTC, local offset unknown), and for items from before, whose offset was not
 *   kept. Part of what was received: it never changes.
 * - `captured_from`, `captured_to`: when the item was captured, as a time search sees it: the
 *   file's instant when it gives an offset; else the 26-hour window of its zone-less camera
 *   time (UTC+14 to UTC-12); else the declared instant; null when nothing says when.
 * - `search_from`, `search_to`: the same, or the receipt time when nothing says when, so no item
 *   drops out of a time search. At most 26 hours long, so a range scan of
 *   (case_id, search_from) from `from - 26 h` to `to` finds every overlap.
 * - Both positions are indexed (declared and embedded), so a place search may use either.
 * - `type_mismatch` is added to the flags of items received before whose declared media type
 *   contradicts the sniffed one (the rule of libs/evidence `typeMismatch`, frozen below as it
 *   stood when this migration was written).
 */
export class EvidenceTimePlace1764000600000 implements MigrationInterface {
  name = 'EvidenceTimePlace1764000600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE evidence_items
        ADD COLUMN declared_captured_offset text CHECK (declared_captured_offset ~ '^[+-][0-9]{2}:[0-9]{2}$'),
        ADD COLUMN captured_from timestamptz,
        ADD COLUMN captured_to timestamptz`);

    // Items from before: the same rule, from what each row holds. A value that does not read
    // as a time is no time (the application's reading would have found none either).
    await db.query(`
      CREATE FUNCTION pg_temp.custodia_time(value text, zoned boolean) RETURNS timestamptz LANGUAGE plpgsql STRICT AS $$
      BEGIN
        IF zoned AND value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' THEN
          RETURN value::timestamptz;
        ELSIF NOT zoned AND value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?$' THEN
          -- The wall clock read as if it were UTC; the window is placed around it below.
          RETURN value::timestamp AT TIME ZONE 'UTC';
        END IF;
        RETURN NULL;
      EXCEPTION WHEN others THEN
        RETURN NULL;
      END $$`);
    await db.query(`
      UPDATE evidence_items e SET captured_from = t.from_at, captured_to = t.to_at
        FROM (SELECT id,
                     CASE WHEN instant IS NOT NULL THEN instant
                          WHEN clock IS NOT NULL THEN clock - interval '14 hours'
                          ELSE declared_captured_at END AS from_at,
                     CASE WHEN instant IS NOT NULL THEN instant
                          WHEN clock IS NOT NULL THEN clock + interval '12 hours'
                          ELSE declared_captured_at END AS to_at
                FROM (SELECT id, declared_captured_at,
                             CASE WHEN extracted ->> 'capturedAtOffset' IS NOT NULL
                                  THEN pg_temp.custodia_time(extracted ->> 'capturedAt', true) END AS instant,
                             CASE WHEN extracted ->> 'capturedAtOffset' IS NULL
                                  THEN pg_temp.custodia_time(extracted ->> 'capturedAt', false) END AS clock
                        FROM evidence_items) r) t
       WHERE e.id = t.id AND t.from_at IS NOT NULL`);
    await db.query(`DROP FUNCTION pg_temp.custodia_time(text, boolean)`);

    await db.query(`
      ALTER TABLE evidence_items
        ADD CONSTRAINT evidence_items_captured_window CHECK (
          (captured_from IS NULL) = (captured_to IS NULL)
          AND captured_from <= captured_to
          AND captured_to - captured_from <= interval '26 hours'),
        ADD COLUMN search_from timestamptz GENERATED ALWAYS AS (coalesce(captured_from, received_at)) STORED,
        ADD COLUMN search_to timestamptz GENERATED ALWAYS AS (coalesce(captured_to, received_at)) STORED`);
    await db.query(`CREATE INDEX evidence_items_search_time_idx ON evidence_items (case_id, search_from) INCLUDE (search_to)`);
    // The time search no longer reads captured_at (kept: the file's instant, else the declared one).
    await db.query(`DROP INDEX evidence_items_captured_idx`);

    await db.query(`CREATE INDEX evidence_items_declared_position_idx ON evidence_items
                      USING gist (point(declared_lon, declared_lat)) WHERE declared_lat IS NOT NULL`);
    await db.query(`CREATE INDEX evidence_items_embedded_position_idx ON evidence_items
                      USING gist (point(extracted_lon, extracted_lat)) WHERE extracted_lat IS NOT NULL`);
    // Searches name the position they look at; the coalesced one is not searched any more.
    await db.query(`DROP INDEX evidence_items_position_idx`);

    // The declared offset joins what was received and never changes.
    await db.query(`
      CREATE OR REPLACE FUNCTION evidence_original_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'evidence items are never deleted' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF (NEW.id, NEW.case_id, NEW.sha256, NEW.size_bytes, NEW.media_type, NEW.declared_media_type,
            NEW.original_file_name, NEW.submitted_by, NEW.received_at, NEW.client_submission_id,
            NEW.client_sha256_matched, NEW.extracted, NEW.declared_captured_at, NEW.declared_lat, NEW.declared_lon,
            NEW.declared_captured_offset)
           IS DISTINCT FROM
           (OLD.id, OLD.case_id, OLD.sha256, OLD.size_bytes, OLD.media_type, OLD.declared_media_type,
            OLD.original_file_name, OLD.submitted_by, OLD.received_at, OLD.client_submission_id,
            OLD.client_sha256_matched, OLD.extracted, OLD.declared_captured_at, OLD.declared_lat, OLD.declared_lon,
            OLD.declared_captured_offset) THEN
          RAISE EXCEPTION 'what was received for an evidence item never changes' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);

    // type_mismatch for items received before: one decision per distinct pair of types.
    const pairs: { declared: string; sniffed: string }[] = await db.query(
      `SELECT DISTINCT declared_media_type AS declared, media_type AS sniffed FROM evidence_items
        WHERE declared_media_type IS NOT NULL AND lower(declared_media_type) <> lower(media_type)`,
    );
    const contradicting = pairs.filter((pair) => frozenTypeMismatch(pair.declared, pair.sniffed));
    if (contradicting.length) {
      await db.query(
        `UPDATE evidence_items e SET flags = array_append(e.flags, 'type_mismatch')
           FROM unnest($1::text[], $2::text[]) AS p (declared, sniffed)
          WHERE e.declared_media_type = p.declared AND e.media_type = p.sniffed AND NOT ('type_mismatch' = ANY (e.flags))`,
        [contradicting.map((p) => p.declared), contradicting.map((p) => p.sniffed)],
      );
    }
  }

  async down(): Promise<void> {
    throw new Error('Evidence is never rolled back: restore from a backup instead');
  }
}

// The type_mismatch rule as libs/evidence/src/flags.ts states it at this migration (see there
// for the reasons); frozen here so this migration does the same on any later code.
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'image/jpe': 'image/jpeg', 'image/x-png': 'image/png',
  'image/apng': 'image/png', 'image/vnd.mozilla.apng': 'image/png', 'image/tif': 'image/tiff', 'image/x-tiff': 'image/tiff',
  'image/x-ms-bmp': 'image/bmp', 'image/x-bmp': 'image/bmp', 'image/x-windows-bmp': 'image/bmp',
  'image/vnd.microsoft.icon': 'image/x-icon', 'image/ico': 'image/x-icon', 'image/psd': 'image/vnd.adobe.photoshop',
  'image/x-photoshop': 'image/vnd.adobe.photoshop', 'application/x-photoshop': 'image/vnd.adobe.photoshop',
  'application/photoshop': 'image/vnd.adobe.photoshop', 'audio/mp3': 'audio/mpeg', 'audio/mpeg3': 'audio/mpeg',
  'audio/x-mp3': 'audio/mpeg', 'audio/x-mpeg': 'audio/mpeg', 'audio/x-mpeg-3': 'audio/mpeg', 'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav', 'audio/vnd.wave': 'audio/wav', 'audio/x-pn-wav': 'audio/wav', 'audio/x-flac': 'audio/flac',
  'audio/x-aiff': 'audio/aiff', 'audio/x-aac': 'audio/aac', 'video/avi': 'video/vnd.avi', 'video/msvideo': 'video/vnd.avi',
  'video/x-msvideo': 'video/vnd.avi', 'application/x-pdf': 'application/pdf', 'application/acrobat': 'application/pdf',
  'application/x-zip-compressed': 'application/zip', 'application/x-zip': 'application/zip',
  'application/x-gzip': 'application/gzip', 'text/xml': 'application/xml',
};
const FAMILIES: Record<string, readonly string[]> = {
  'iso-bmff': ['video/mp4', 'video/quicktime', 'video/x-m4v', 'video/3gpp', 'video/3gpp2', 'audio/mp4', 'audio/x-m4a', 'audio/m4a', 'audio/3gpp', 'audio/3gpp2', 'application/mp4'],
  heif: ['image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence'],
  avif: ['image/avif', 'image/avif-sequence'],
  'jpeg-2000': ['image/jp2', 'image/jpx', 'image/jpm'],
  tiff: ['image/tiff', 'image/x-adobe-dng', 'image/x-nikon-nef', 'image/x-sony-arw', 'image/x-canon-cr2', 'image/x-olympus-orf', 'image/x-panasonic-rw2', 'image/x-pentax-pef', 'image/x-samsung-srw'],
  matroska: ['video/matroska', 'video/x-matroska', 'video/webm', 'audio/webm', 'audio/matroska', 'audio/x-matroska'],
  ogg: ['application/ogg', 'audio/ogg', 'video/ogg', 'audio/opus'],
  asf: ['application/vnd.ms-asf', 'video/x-ms-asf', 'audio/x-ms-asf', 'video/x-ms-wmv', 'audio/x-ms-wma'],
  'mpeg-ps': ['video/mpeg', 'video/mp1s', 'video/mp2p'],
};
const FAMILY_OF = new Map(Object.entries(FAMILIES).flatMap(([family, types]) => types.map((type) => [type, family] as const)));
const SIGNED = new Set([
  'image/jpeg', 'image/png', 'image/gif', 'image/webp', 'tiff', 'image/bmp', 'heif', 'avif', 'image/jxl', 'jpeg-2000',
  'iso-bmff', 'matroska', 'video/vnd.avi', 'audio/wav', 'audio/flac', 'ogg', 'application/pdf', 'application/zip',
]);
const CONTAINERS: Record<string, RegExp> = {
  'application/zip': /^application\/(zip|java-archive|epub\+zip|x-xpinstall|vnd\.android\.package-archive|vnd\.google-earth\.kmz|vnd\.openxmlformats-officedocument\..+|vnd\.oasis\.opendocument\..+|vnd\.ms-[a-z]+\.[a-z.]*macroenabled\.12|[a-z0-9.-]+\+zip)$/,
  'application/x-cfb': /^application\/(x-cfb|msword|vnd\.ms-(excel|powerpoint|outlook|project)|vnd\.visio|x-msi|x-ole-storage)$/,
  'application/xml': /^(application|image|text)\/(xml|[a-z0-9.-]+\+xml)$/,
};
const NOTHING = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown', 'application/x-unknown', '*/*', 'text/plain']);

function frozenTypeMismatch(declaredType: string, sniffedType: string): boolean {
  const canonical = (type: string): string => {
    const bare = type.split(';')[0]!.trim().toLowerCase();
    return ALIASES[bare] ?? bare;
  };
  const family = (type: string): string => FAMILY_OF.get(type) ?? type;
  const declared = canonical(declaredType);
  const sniffed = canonical(sniffedType);
  if (NOTHING.has(declared) || !/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(declared)) return false;
  if (sniffed === 'application/octet-stream') return SIGNED.has(family(declared));
  if (family(declared) === family(sniffed)) return false;
  for (const [container, members] of Object.entries(CONTAINERS)) {
    if ((declared === container && members.test(sniffed)) || (sniffed === container && members.test(declared))) return false;
  }
  return true;
}
