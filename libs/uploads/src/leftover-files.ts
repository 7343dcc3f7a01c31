import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UPLOAD_ID_PATTERN } from '#custodia/schema';

export const UPLOAD_ID = new RegExp(UPLOAD_ID_PATTERN);

/** A resumable upload's file no upload will write to again. */
export interface LeftoverUploadFile {
  name: string;
  file: string;
  sizeBytes: number;
  modifiedAt: Date;
}

/**
 * The files in the uploads folder no upload will finish: one whose upload became evidence (its
 * bytes are in the blob store since that commit; the process died before removing the file), and
 * one no upload names, last written longer ago than an upload lives (a crash between creating
 * the file and its record). One no upload names written more recently is counted as `recent`: an
 * upload may be being created. The API's sweep removes these; `custodia storage check` lists them.
 */
export async function leftoverUploadFiles(
  db: { query(sql: string, parameters: unknown[]): Promise<unknown> },
  directory: string,
  ttlSeconds: number,
): Promise<{ count: number; leftovers: LeftoverUploadFile[]; recent: number }> {
  const names = (await readdir(directory).catch(() => [] as string[])).filter((name) => UPLOAD_ID.test(name));
  const becameEvidence = new Map<string, boolean>();
  for (let at = 0; at < names.length; at += 10_000) {
    const rows = (await db.query(`SELECT id, evidence_id IS NOT NULL AS used FROM uploads WHERE id = ANY ($1::text[])`, [names.slice(at, at + 10_000)])) as { id: string; used: boolean }[];
    for (const row of rows) becameEvidence.set(row.id, row.used);
  }
  const cutoff = Date.now() - ttlSeconds * 1000;
  const leftovers: LeftoverUploadFile[] = [];
  let recent = 0;
  for (const name of names) {
    if (becameEvidence.get(name) === false) continue; // an upload still under way
    const file = path.join(directory, name);
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) continue;
    if (!becameEvidence.has(name) && info.mtimeMs >= cutoff) {
      recent++;
      continue;
    }
    leftovers.push({ name, file, sizeBytes: info.size, modifiedAt: info.mtime });
  }
  return { count: names.length, leftovers, recent };
}
