import type { ExportSelection } from './selection.js';

/** The store of finished packages: content-addressed and write-once, like the evidence store, but apart from it. */
export const EXPORT_STORE = Symbol('EXPORT_STORE');

export type ExportPurpose = 'court' | 'partner';
export type ExportStatus = 'pending' | 'running' | 'ready' | 'failed';

/** A row of `exports`. */
export interface ExportRow {
  id: string;
  case_id: string;
  purpose: ExportPurpose;
  include_names: boolean;
  selection: ExportSelection;
  note: string | null;
  status: ExportStatus;
  items: number;
  items_done: number;
  bytes: string;
  bytes_done: string;
  bag_name: string | null;
  tree_size: string | null;
  sha256: string | null;
  size_bytes: string | null;
  error: string | null;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** An export as the API shows it (api.md, Exports). */
export interface ExportView {
  id: string;
  caseId: string;
  purpose: ExportPurpose;
  includeNames: boolean;
  selection: ExportSelection;
  note: string | null;
  status: ExportStatus;
  progress: { items: number; itemsDone: number; bytes: number; bytesDone: number };
  sha256: string | null;
  sizeBytes: number | null;
  fileName: string | null;
  treeSize: number | null;
  createdAt: string;
  createdBy: string;
  startedAt: string | null;
  finishedAt: string | null;
  error?: string;
  contentUrl: string | null;
}

export function toExportView(row: ExportRow, apiBase: string): ExportView {
  return {
    id: row.id,
    caseId: row.case_id,
    purpose: row.purpose,
    includeNames: row.include_names,
    selection: row.selection,
    note: row.note,
    status: row.status,
    progress: { items: row.items, itemsDone: row.items_done, bytes: Number(row.bytes), bytesDone: Number(row.bytes_done) },
    sha256: row.sha256,
    sizeBytes: row.size_bytes === null ? null : Number(row.size_bytes),
    fileName: row.bag_name ? `${row.bag_name}.zip` : null,
    treeSize: row.tree_size === null ? null : Number(row.tree_size),
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    ...(row.error ? { error: row.error } : {}),
    contentUrl: row.status === 'ready' ? `${apiBase}/exports/${row.id}/content` : null,
  };
}
