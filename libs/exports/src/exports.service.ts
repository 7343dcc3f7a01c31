import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { assertMay, type Actor, type Purpose } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import { CustodyLog } from '#custodia/custody';
import { conflict, notFound, tooManyRequests, unprocessable } from '#custodia/errors';
import { JobQueue } from '#custodia/jobs';
import { readDetails, type BlobRead, type BlobStore, type ByteRange } from '#custodia/storage';
import { EXPORT_STORE, toExportView, type ExportPurpose, type ExportRow, type ExportView } from './export-row.js';
import { assertSelectionExists, type ExportSelection } from './selection.js';

const API_BASE = '/api/v1';

/** What `POST /cases/:caseId/exports` asks for, already checked for shape. */
export interface ExportRequest extends ExportSelection {
  purpose: ExportPurpose;
  includeNames?: boolean;
  note?: string;
}

/** Exports one person may have waiting or being built at once (429 beyond). */
const MAX_WAITING_EXPORTS = 3;

/**
 * Court packages: requested here, built by the `exports.build` job (PackageBuilder), downloaded
 * here. Who may do what is the policy's (`export.create`, `export.read`, `export.download`,
 * `export.names`): today investigators and administrators of the case make and fetch them,
 * auditors see that they exist but never their content, documenters neither, and a package
 * with victims' names is for investigators only.
 */
@Injectable()
export class ExportsService {
  constructor(
    private readonly db: DataSource,
    private readonly cases: CasesService,
    private readonly custody: CustodyLog,
    private readonly queue: JobQueue,
    @Inject(EXPORT_STORE) private readonly packages: BlobStore,
  ) {}

  /** 404 ("not found", as `what`) unless the case is visible to the caller; 403 when their role never may. */
  private assertMayInCase(actor: Actor, caseId: string, purpose: Purpose, what = 'The case'): Promise<void> {
    return this.cases.assertMay(actor, caseId, purpose, undefined, what);
  }

  async create(actor: Actor, caseId: string, request: ExportRequest): Promise<ExportView> {
    await this.assertMayInCase(actor, caseId, 'export.create');
    if (request.includeNames) {
      assertMay(actor, 'export.names');
      if (request.purpose === 'partner') {
        throw unprocessable('A partner copy never carries names', [{ field: 'includeNames', message: 'must be false for purpose partner' }]);
      }
    }
    const selection: ExportSelection = {
      ...(request.evidenceIds?.length ? { evidenceIds: [...new Set(request.evidenceIds)] } : {}),
      ...(request.incidentIds?.length ? { incidentIds: [...new Set(request.incidentIds)] } : {}),
      ...(request.from !== undefined ? { from: new Date(request.from).toISOString() } : {}),
      ...(request.to !== undefined ? { to: new Date(request.to).toISOString() } : {}),
    };
    const id = await this.db.transaction(async (tx) => {
      // Each package is a full copy of its selection, built one at a time: one person's queue of
      // them must not hold everyone else's for days, nor fill the disk.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`exports:${actor.id}`]);
      const [{ waiting }] = await tx.query(`SELECT count(*)::int AS waiting FROM exports WHERE created_by = $1 AND status IN ('pending', 'running')`, [actor.id]);
      if (waiting >= MAX_WAITING_EXPORTS) {
        throw tooManyRequests(`${waiting} exports of yours are waiting or being built, the most at a time: ask again when one is ready`, 60);
      }
      await assertSelectionExists(tx, caseId, selection);
      const [row] = await tx.query(
        `INSERT INTO exports (case_id, purpose, include_names, selection, note, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [caseId, request.purpose, request.includeNames ?? false, JSON.stringify(selection), request.note?.trim() || null, actor.id],
      );
      await this.queue.enqueue(tx, 'exports.build', { exportId: row.id }, row.id);
      return row.id as string;
    });
    this.queue.wake('exports.build');
    return this.get(actor, id);
  }

  private async row(id: string): Promise<ExportRow> {
    const [row] = await this.db.query(`SELECT * FROM exports WHERE id = $1`, [id]);
    if (!row) throw notFound('The export');
    return row;
  }

  async get(actor: Actor, id: string): Promise<ExportView> {
    const row = await this.row(id);
    await this.assertMayInCase(actor, row.case_id, 'export.read', 'The export');
    return toExportView(row, API_BASE);
  }

  async list(actor: Actor, caseId: string): Promise<{ items: ExportView[] }> {
    await this.assertMayInCase(actor, caseId, 'export.read');
    const rows: ExportRow[] = await this.db.query(`SELECT * FROM exports WHERE case_id = $1 ORDER BY created_at DESC, id DESC LIMIT 500`, [caseId]);
    return { items: rows.map((row) => toExportView(row, API_BASE)) };
  }

  /**
   * The export, if the caller may download it now (a member with `export.download`, names only
   * for those who may read them, and ready): 404, 403 or 409 otherwise. Nothing is recorded.
   */
  async downloadable(actor: Actor, id: string): Promise<ExportRow & { sha256: string }> {
    const row = await this.row(id);
    await this.assertMayInCase(actor, row.case_id, 'export.download', 'The export');
    if (row.include_names) assertMay(actor, 'export.names');
    if (row.status !== 'ready' || !row.sha256) {
      throw conflict(row.status === 'failed' ? 'This export failed; request a new one' : `This export is not ready yet (${row.status})`);
    }
    return { ...row, sha256: row.sha256 };
  }

  /**
   * Opens a ready package for download (recorded as `export.downloaded`); `read` chooses the
   * bytes from the package's size and hash (null: all of it; a HEAD opens nothing); what it throws comes back to the caller.
   */
  async openPackage(
    actor: Actor,
    id: string,
    read: BlobRead,
  ): Promise<{ view: ExportView; range: ByteRange | null; stream: Readable | null }> {
    const row = await this.downloadable(actor, id);
    const range = read.pickRange(Number(row.size_bytes), row.sha256);
    await this.db.transaction((tx) =>
      this.custody.append(tx, {
        action: 'export.downloaded',
        actor,
        caseId: row.case_id,
        subject: { type: 'export', id, sha256: row.sha256 },
        details: { purpose: row.purpose, includeNames: row.include_names, ...readDetails(read, range) },
      }),
    );
    return { view: toExportView(row, API_BASE), range, stream: read.headersOnly ? null : await this.packages.open(row.sha256, range ?? undefined) };
  }
}
