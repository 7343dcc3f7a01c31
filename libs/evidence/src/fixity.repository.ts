import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** An item whose stored bytes are due for a fixity check: its original and derivatives. */
export interface FixityDueItem {
  id: string;
  caseId: string;
  sha256: string;
  sizeBytes: number;
  thumbnailSha256: string | null;
  previewSha256: string | null;
}

/** What `/health/ready` says of fixity: items whose last check failed, and when the last check ran. */
export interface FixitySummary {
  failures: number;
  lastCheckedAt: Date | null;
}

/** The fixity schedule in evidence_items (migration 1764001100000): what is due, what was found. */
@Injectable()
export class FixityRepository {
  constructor(private readonly db: DataSource) {}

  /** Up to `limit` items never checked or last checked before `checkedBefore`: never checked first, then oldest check first. */
  async due(checkedBefore: Date, limit: number): Promise<FixityDueItem[]> {
    const rows: { id: string; case_id: string; sha256: string; size_bytes: string; thumbnail_sha256: string | null; preview_sha256: string | null }[] =
      await this.db.query(
        `SELECT id, case_id, sha256, size_bytes, thumbnail_sha256, preview_sha256
           FROM evidence_items
          WHERE fixity_checked_at IS NULL OR fixity_checked_at < $1
          ORDER BY fixity_checked_at ASC NULLS FIRST, id
          LIMIT $2`,
        [checkedBefore, limit],
      );
    return rows.map((row) => ({
      id: row.id,
      caseId: row.case_id,
      sha256: row.sha256,
      sizeBytes: Number(row.size_bytes),
      thumbnailSha256: row.thumbnail_sha256,
      previewSha256: row.preview_sha256,
    }));
  }

  /** Records checks in `tx`: checked now; failed now, or no longer failing once a check passes again. */
  async record(tx: EntityManager, checks: readonly { id: string; checkedAt: Date; failed: boolean }[]): Promise<void> {
    await tx.query(
      `UPDATE evidence_items e
          SET fixity_checked_at = c.checked_at,
              fixity_failed_at = CASE WHEN c.failed THEN c.checked_at END
         FROM unnest($1::uuid[], $2::timestamptz[], $3::boolean[]) AS c(id, checked_at, failed)
        WHERE e.id = c.id`,
      [checks.map((c) => c.id), checks.map((c) => c.checkedAt.toISOString()), checks.map((c) => c.failed)],
    );
  }

  /** Two index reads (the partial index of failures, the end of the schedule's index), cheap enough for every readiness probe. */
  async summary(): Promise<FixitySummary> {
    const [row]: { failures: string; last_checked_at: Date | null }[] = await this.db.query(
      `SELECT (SELECT count(*) FROM evidence_items WHERE fixity_failed_at IS NOT NULL) AS failures,
              (SELECT max(fixity_checked_at) FROM evidence_items) AS last_checked_at`,
    );
    return { failures: Number(row!.failures), lastCheckedAt: row!.last_checked_at };
  }
}
