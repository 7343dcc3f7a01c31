import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { preparedQuery } from '#custodia/db';
import type { EvidenceListFilters, EvidenceStatus, SourceType } from './evidence.schema.js';
import type { EvidenceFlag } from './flags.js';
import { listQuerySql } from './list-query.js';
import type { EvidenceRow, EvidenceViewRow } from './views.js';

/**
 * The items' columns EvidenceRow has, named one by one: `e.*` also brought the search columns (the
 * tsvector as text), the fixity times and the generated position, each parsed on every read of an
 * item and thrown away.
 */
const ITEM_COLUMNS = [
  'id', 'case_id', 'sha256', 'size_bytes', 'media_type', 'declared_media_type', 'original_file_name', 'submitted_by',
  'client_sha256_matched', 'received_at', 'source_type', 'source_url', 'language', 'title', 'description', 'tags',
  'incident_id', 'incident_link_role', 'incident_linked_by', 'status', 'declared_captured_at', 'declared_captured_offset', 'declared_lat',
  'declared_lon', 'declared_accuracy_m', 'extracted', 'captured_from', 'captured_to', 'flags', 'duplicate_of',
  'processing', 'processing_error', 'thumbnail_sha256', 'preview_sha256',
] as const satisfies readonly (keyof EvidenceRow)[];
/** Fails to compile when EvidenceRow gains a field that neither ITEM_COLUMNS nor the computed columns below fill. */
const everyFieldSelected: Exclude<keyof EvidenceRow, (typeof ITEM_COLUMNS)[number] | 'perceptual_hash' | 'submitter_name' | 'received_us' | 'duplicate_submitter' | 'incident_reporter'> extends never
  ? true
  : never = true;
void everyFieldSelected;

/** EvidenceRow's times, which the JSON row carries as milliseconds since the epoch (see rowOf). */
const TIME_COLUMNS: ReadonlySet<string> = new Set(['received_at', 'declared_captured_at', 'captured_from', 'captured_to'] satisfies (keyof EvidenceRow)[]);

/** A column's value in the JSON row: times as epoch milliseconds (floored, as node-postgres' Date did), the size as text. */
const jsonValue = (column: (typeof ITEM_COLUMNS)[number]): string =>
  TIME_COLUMNS.has(column) ? `floor(extract(epoch FROM e.${column}) * 1000)` : column === 'size_bytes' ? `e.size_bytes::text` : `e.${column}`;

/**
 * The items as EvidenceRow has them (with the submitter's name, the submitter of the item it
 * duplicates and the reporter of the incident it is linked to) in one JSON column, `item`, with `extra` columns (each followed by a comma) before
 * it. PostgreSQL builds the row's JSON and the API parses one value: node-postgres made a parser
 * per column and an object of 37 fields for every statement (addFields, 20 to 25 us of the API's
 * main thread per item read, profiled), and parsed each column apart. With `near`, the SQL of
 * `near_duplicates` (see nearDuplicatesSql) joins it.
 */
const evidenceSelect = (extra = '', near = '') => `
  SELECT ${extra} json_build_object(${ITEM_COLUMNS.map((column) => `'${column}', ${jsonValue(column)}`).join(', ')},
         'perceptual_hash', e.perceptual_hash::text, 'submitter_name', u.display_name,
         'received_us', (extract(epoch FROM e.received_at) * 1000000)::bigint::text,
         'duplicate_submitter', d.submitted_by, 'incident_reporter', i.created_by${near ? `, 'near_duplicates', ${near}` : ''}) AS item
    FROM evidence_items e JOIN users u ON u.id = e.submitted_by
    LEFT JOIN evidence_items d ON d.id = e.duplicate_of
    LEFT JOIN incidents i ON i.id = e.incident_id`;

/**
 * Near duplicates listed with an item, at most: the same photo sent a thousand times would
 * otherwise put 999 entries in each of its views (200,000 in a page of 200).
 */
export const MAX_NEAR_DUPLICATES = 50;

/**
 * The most bits two perceptual hashes may differ by and still be kept as a pair (and the most
 * CUSTODIA_NEAR_DUPLICATE_DISTANCE may be): unrelated photos differ by 32 on average.
 */
export const MAX_NEAR_DUPLICATE_DISTANCE = 16;

/**
 * The item's kept pairs (evidence_near_duplicates, made by the derivative job) within
 * `maxDistance` bits, the MAX_NEAR_DUPLICATES nearest (then first received), as a JSON array of
 * { id, distance, submitted_by }, computed in the item's own statement: an index lookup per item,
 * where comparing with every photo of the case made a view linear in the case's size.
 */
const nearDuplicatesSql = (maxDistance: number): string => {
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > MAX_NEAR_DUPLICATE_DISTANCE) {
    throw new RangeError(`near-duplicate distance ${maxDistance} is not 0 to ${MAX_NEAR_DUPLICATE_DISTANCE} bits`);
  }
  return `(SELECT coalesce(json_agg(json_build_object('id', n.id, 'distance', n.distance, 'submitted_by', n.submitted_by) ORDER BY n.distance, n.received_at), '[]'::json)
       FROM (SELECT o.id, o.submitted_by, o.received_at, p.distance
               FROM evidence_near_duplicates p JOIN evidence_items o ON o.id = p.other_id
              WHERE p.evidence_id = e.id AND p.distance <= ${maxDistance}
              ORDER BY p.distance, o.received_at
              LIMIT ${MAX_NEAR_DUPLICATES}) n)`;
};

/**
 * Makes the kept pairs of a case's photos again from their hashes, quadratic in the case's
 * photos: for hashes set outside the derivative job (a repair, tests, benches).
 */
export async function remakeNearDuplicatePairs(db: DataSource | EntityManager, caseId: string): Promise<void> {
  await db.query(`DELETE FROM evidence_near_duplicates p USING evidence_items e WHERE e.id = p.evidence_id AND e.case_id = $1`, [caseId]);
  await db.query(
    `INSERT INTO evidence_near_duplicates (evidence_id, other_id, distance)
     SELECT a.id, b.id, bit_count((a.perceptual_hash # b.perceptual_hash)::bit(64))
       FROM evidence_items a JOIN evidence_items b ON b.case_id = a.case_id AND b.id <> a.id
      WHERE a.case_id = $1 AND a.perceptual_hash IS NOT NULL AND b.perceptual_hash IS NOT NULL
        AND bit_count((a.perceptual_hash # b.perceptual_hash)::bit(64)) <= ${MAX_NEAR_DUPLICATE_DISTANCE}`,
    [caseId],
  );
}

/** An item's row from its JSON column: the times become Dates again. */
function rowOf<R extends EvidenceRow = EvidenceRow>({ item }: { item: Record<string, unknown> }): R {
  for (const column of TIME_COLUMNS) if (item[column] !== null) item[column] = new Date(item[column] as number);
  return item as unknown as R;
}

/** Whether `$2` is a member of the item's case, beside the item. */
const VIEWER_IS_MEMBER = 'EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = e.case_id AND m.user_id = $2) AS viewer_is_member,';
/** An item and whether `$2` is a member of its case: the first statement of every read of an item's bytes or parts. */
const ITEM_WITH_MEMBERSHIP = `${evidenceSelect(VIEWER_IS_MEMBER)}
  WHERE e.id = $1`;

/** What intake writes of a new item; the link to an incident is made after, through EvidenceLinks. */
export interface NewEvidenceItem {
  caseId: string;
  sha256: string;
  sizeBytes: number;
  mediaType: string;
  declaredMediaType: string | null;
  originalFileName: string | null;
  submittedBy: string;
  clientSubmissionId: string | null;
  clientSha256Matched: boolean | null;
  sourceType: SourceType;
  sourceUrl: string | null;
  language: string | null;
  title: string | null;
  description: string | null;
  tags: string[];
  declaredCapturedAt: string | null;
  declaredCapturedOffset: string | null;
  declaredLat: number | null;
  declaredLon: number | null;
  declaredAccuracyM: number | null;
  extracted: object | null;
  extractedLat: number | null;
  extractedLon: number | null;
  capturedAt: Date | null;
  capturedFrom: Date | null;
  capturedTo: Date | null;
  flags: EvidenceFlag[];
  duplicateOf: string | null;
  processing: 'pending' | 'done';
  /** Why an item done at once has no picture (a picture's format the archive does not decode); null otherwise. */
  processingError: string | null;
  searchText: string;
}

/** What an annotation may change (never what was received: a trigger refuses that). */
export interface EvidenceAnnotation {
  title?: string | null;
  description?: string | null;
  tags?: string[];
  status?: EvidenceStatus;
  searchText?: string;
}

const ANNOTATION_COLUMNS: Record<keyof EvidenceAnnotation, string> = {
  title: 'title',
  description: 'description',
  tags: 'tags',
  status: 'status',
  searchText: 'search_text',
};

type Db = DataSource | EntityManager;

/** Page sizes at which paging through a case uses prepared statements (see `list`). */
const PREPARED_PAGE_SIZES: ReadonlySet<number> = new Set([10, 20, 25, 50, 100, 200]);

/** The SQL of evidence items: rows typed in and out, each query written once. */
@Injectable()
export class EvidenceRepository {
  /** The items with their near duplicates, as their views need them. */
  private readonly viewSelect: string;
  /** An item with its near duplicates and whether `$2` is a member of its case: a read of the item's record. */
  private readonly viewWithMembership: string;
  /** The prepared statement's name, which its text (the configured distance) is part of. */
  private readonly viewWithMembershipName: string;

  /** The most bits apart two items' perceptual hashes are for `near_duplicate`. */
  private readonly nearDuplicateDistance: number;

  constructor(
    private readonly db: DataSource,
    @Inject(CUSTODIA_CONFIG) config: Pick<CustodiaConfig, 'nearDuplicateDistance'>,
  ) {
    this.nearDuplicateDistance = config.nearDuplicateDistance;
    const near = nearDuplicatesSql(config.nearDuplicateDistance);
    this.viewSelect = evidenceSelect('', near);
    this.viewWithMembership = `${evidenceSelect(VIEWER_IS_MEMBER, near)}
  WHERE e.id = $1`;
    this.viewWithMembershipName = `custodia_item_view_${config.nearDuplicateDistance}`;
  }

  /** One item with its near duplicates. */
  async find(id: string): Promise<EvidenceViewRow | null> {
    const [found] = await this.db.query(`${this.viewSelect} WHERE e.id = $1`, [id]);
    return found ? rowOf<EvidenceViewRow>(found) : null;
  }

  /** One item with its near duplicates and whether `viewerId` is a member of its case, in one statement. */
  async findViewWithMembership(id: string, viewerId: string): Promise<{ row: EvidenceViewRow; viewerIsMember: boolean } | null> {
    const [found]: { item: Record<string, unknown>; viewer_is_member: boolean }[] = await preparedQuery(
      this.db,
      this.viewWithMembershipName,
      this.viewWithMembership,
      [id, viewerId],
    );
    return found ? { row: rowOf<EvidenceViewRow>(found), viewerIsMember: found.viewer_is_member } : null;
  }

  /**
   * The item and whether `viewerId` is a member of its case, in one statement (every read of an
   * item asks both; `lock` locks the item's row for the caller's transaction).
   */
  async findWithMembership(id: string, viewerId: string, tx: Db = this.db, lock = false): Promise<{ row: EvidenceRow; viewerIsMember: boolean } | null> {
    const [found]: { item: Record<string, unknown>; viewer_is_member: boolean }[] = lock
      ? await tx.query(`${ITEM_WITH_MEMBERSHIP} FOR NO KEY UPDATE OF e`, [id, viewerId])
      : await preparedQuery(tx, 'custodia_item_with_membership', ITEM_WITH_MEMBERSHIP, [id, viewerId]);
    if (!found) return null;
    return { row: rowOf(found), viewerIsMember: found.viewer_is_member };
  }

  /** Items of one case by id, with their near duplicates (any order; ids of other cases are left out). */
  async inCase(caseId: string, ids: readonly string[]): Promise<EvidenceViewRow[]> {
    return (await this.db.query(`${this.viewSelect} WHERE e.case_id = $1 AND e.id = ANY ($2::uuid[])`, [caseId, ids])).map((row: { item: Record<string, unknown> }) => rowOf<EvidenceViewRow>(row));
  }

  /**
   * A page of a case listing with the items' near duplicates, newest received first; one row more
   * than `limit` says there is a next page.
   */
  async list(filters: EvidenceListFilters, caseId: string, onlySubmitter: string | null): Promise<EvidenceViewRow[]> {
    const { where, params, searched } = listQuerySql(filters, caseId, onlySubmitter, this.nearDuplicateDistance);
    const sql = `${this.viewSelect} WHERE ${where} ORDER BY e.received_at DESC, e.id DESC LIMIT ${filters.limit + 1}`;
    // Paging through a case (the console's most frequent read) has a few forms whose one right
    // plan is the (case_id, received_at, id) index: they are prepared, named by their text, since
    // planning took PostgreSQL 0.3 to 0.6 ms, more than running them (bench:reads' listing 850 ->
    // 1,430-1,510 requests/s). Only at the usual page sizes, so a connection holds at most 24 of
    // them. A search is planned for its values each time (a generic plan could not know how much a
    // place or a time range selects).
    const rows =
      searched || !PREPARED_PAGE_SIZES.has(filters.limit)
        ? await this.db.query(sql, params)
        : await preparedQuery(this.db, `custodia_browse_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`, sql, params);
    return rows.map((row: { item: Record<string, unknown> }) => rowOf<EvidenceViewRow>(row));
  }

  /**
   * Serialises, until the caller's transaction commits, the submissions of the same bytes to one
   * case: two sent at the same moment otherwise each looked for the other before it was
   * committed, and neither was flagged exact_duplicate. Taken before `firstWithBytes`, whose
   * snapshot (a statement after it) then sees the item the transaction before committed.
   */
  async lockSameBytes(tx: EntityManager, caseId: string, sha256: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('custodia.same-bytes'), hashtext($1 || $2))`, [caseId, sha256]);
  }

  /** The first item received of the case with these bytes, if any. */
  async firstWithBytes(tx: EntityManager, caseId: string, sha256: string): Promise<{ id: string } | null> {
    const [row] = await tx.query(`SELECT id FROM evidence_items WHERE case_id = $1 AND sha256 = $2 ORDER BY received_at, id LIMIT 1`, [caseId, sha256]);
    return row ?? null;
  }

  /** The item a submitter sent under an idempotency key. */
  async bySubmission(submittedBy: string, clientSubmissionId: string): Promise<{ id: string; sha256: string; case_id: string } | null> {
    const [row] = await this.db.query(`SELECT id, sha256, case_id FROM evidence_items WHERE submitted_by = $1 AND client_submission_id = $2`, [
      submittedBy,
      clientSubmissionId,
    ]);
    return row ?? null;
  }

  /** Writes a new item; a repeated idempotency key is refused by `evidence_items_client_submission_key`. */
  async insert(tx: EntityManager, item: NewEvidenceItem): Promise<string> {
    const columns: [string, unknown][] = [
      ['case_id', item.caseId],
      ['sha256', item.sha256],
      ['size_bytes', item.sizeBytes],
      ['media_type', item.mediaType],
      ['declared_media_type', item.declaredMediaType],
      ['original_file_name', item.originalFileName],
      ['submitted_by', item.submittedBy],
      ['client_submission_id', item.clientSubmissionId],
      ['client_sha256_matched', item.clientSha256Matched],
      ['source_type', item.sourceType],
      ['source_url', item.sourceUrl],
      ['language', item.language],
      ['title', item.title],
      ['description', item.description],
      ['tags', item.tags],
      ['declared_captured_at', item.declaredCapturedAt],
      ['declared_captured_offset', item.declaredCapturedOffset],
      ['declared_lat', item.declaredLat],
      ['declared_lon', item.declaredLon],
      ['declared_accuracy_m', item.declaredAccuracyM],
      ['extracted', item.extracted === null ? null : JSON.stringify(item.extracted)],
      ['extracted_lat', item.extractedLat],
      ['extracted_lon', item.extractedLon],
      ['captured_at', item.capturedAt],
      ['captured_from', item.capturedFrom],
      ['captured_to', item.capturedTo],
      ['flags', item.flags],
      ['duplicate_of', item.duplicateOf],
      ['processing', item.processing],
      ['processing_error', item.processingError],
      ['search_text', item.searchText],
    ];
    const [row] = await tx.query(
      `INSERT INTO evidence_items (${columns.map(([name]) => name).join(', ')})
       VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
      columns.map(([, value]) => value),
    );
    return row.id as string;
  }

  /** Writes an annotation's changed fields (none: nothing). */
  async annotate(tx: EntityManager, id: string, changes: EvidenceAnnotation): Promise<void> {
    const entries = (Object.keys(changes) as (keyof EvidenceAnnotation)[]).filter((key) => changes[key] !== undefined);
    if (entries.length === 0) return;
    await tx.query(
      `UPDATE evidence_items SET ${entries.map((key, i) => `${ANNOTATION_COLUMNS[key]} = $${i + 2}`).join(', ')} WHERE id = $1`,
      [id, ...entries.map((key) => changes[key])],
    );
  }

  /** What the derivative job needs of an item. */
  async forDerivatives(id: string): Promise<{ id: string; case_id: string; sha256: string; media_type: string; submitted_by: string; processing: string } | null> {
    const [row] = await this.db.query(`SELECT id, case_id, sha256, media_type, submitted_by, processing FROM evidence_items WHERE id = $1`, [id]);
    return row ?? null;
  }

  /** The item's processing state, locked for the caller's transaction. */
  async lockProcessing(tx: EntityManager, id: string): Promise<string | null> {
    const [row] = await tx.query(`SELECT processing FROM evidence_items WHERE id = $1 FOR NO KEY UPDATE`, [id]);
    return row?.processing ?? null;
  }

  /**
   * Items still waiting for their derivatives that no job will make: their job was given up
   * (retries spent while the store or the database was away) or lost. Intake enqueues the job in
   * the item's own transaction, so a pending item without a live job has none coming.
   */
  async pendingWithoutJob(limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT e.id FROM evidence_items e
        WHERE e.processing = 'pending'
          AND NOT EXISTS (SELECT 1 FROM pgboss.job j
                           WHERE j.name = 'evidence.derivatives' AND j.state < 'completed' AND j.data->>'evidenceId' = e.id::text)
        ORDER BY e.received_at LIMIT $1`,
      [limit],
    );
    return rows.map((row) => row.id);
  }

  /** Marks a pending item's derivatives as impossible (a file no decoder reads), with why. */
  async derivativesFailed(id: string, error: string): Promise<void> {
    await this.db.query(`UPDATE evidence_items SET processing = 'failed', processing_error = $2 WHERE id = $1 AND processing = 'pending'`, [id, error]);
  }

  /**
   * Serialises, per case, the transactions that store a perceptual hash and look for its
   * neighbours, until the caller's commits: two near-identical photos processed side by side
   * otherwise each looked before the other's hash was committed, and neither was flagged.
   * Taken first in the transaction, so the search's snapshot (a statement after it) sees the
   * hashes committed by the transaction before.
   */
  async lockNearDuplicateSearch(tx: EntityManager, caseId: string): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('custodia.near-duplicates'), hashtext($1))`, [caseId]);
  }

  /**
   * Keeps the item's pairs: every other photo of the case whose perceptual hash (signed 64-bit)
   * is within MAX_NEAR_DUPLICATE_DISTANCE bits, both ways (pairs it had are replaced, should its
   * hash be made again); returns those within `maxDistance`, the item's near duplicates now.
   */
  async keepNearDuplicatePairs(tx: EntityManager, caseId: string, id: string, perceptualHash: string, maxDistance: number): Promise<string[]> {
    await tx.query(`DELETE FROM evidence_near_duplicates WHERE evidence_id = $1 OR other_id = $1`, [id]);
    const rows: { id: string; distance: number }[] = await tx.query(
      `WITH near AS (
         SELECT id AS other_id, bit_count((perceptual_hash # $3::bigint)::bit(64))::int AS distance
           FROM evidence_items
          WHERE case_id = $1 AND id <> $2 AND perceptual_hash IS NOT NULL
            AND bit_count((perceptual_hash # $3::bigint)::bit(64)) <= ${MAX_NEAR_DUPLICATE_DISTANCE}
       ), kept AS (
         INSERT INTO evidence_near_duplicates (evidence_id, other_id, distance)
         SELECT $2, other_id, distance FROM near UNION ALL SELECT other_id, $2, distance FROM near
       )
       SELECT other_id AS id, distance FROM near`,
      [caseId, id, perceptualHash],
    );
    return rows.filter((row) => row.distance <= maxDistance).map((row) => row.id);
  }

  /** Writes the derivatives of an item: done, the blobs' hashes, its perceptual hash (null: none), near_duplicate when it has neighbours. */
  async saveDerivatives(tx: EntityManager, id: string, made: { thumbnail: string; preview: string; perceptualHash: string | null; nearDuplicate: boolean }): Promise<void> {
    await tx.query(
      `UPDATE evidence_items SET processing = 'done', thumbnail_sha256 = $2, preview_sha256 = $3, perceptual_hash = $4,
         flags = CASE WHEN $5 AND NOT ('near_duplicate' = ANY (flags)) THEN array_append(flags, 'near_duplicate') ELSE flags END
       WHERE id = $1`,
      [id, made.thumbnail, made.preview, made.perceptualHash, made.nearDuplicate],
    );
  }

  /** Adds the near_duplicate flag to these items (once). */
  async flagNearDuplicates(tx: EntityManager, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await tx.query(`UPDATE evidence_items SET flags = array_append(flags, 'near_duplicate') WHERE id = ANY ($1::uuid[]) AND NOT ('near_duplicate' = ANY (flags))`, [ids]);
  }
}
