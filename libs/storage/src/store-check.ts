import type { StoredBlob, TemporaryFile } from './local-blob-store.js';

/** What a check reads of a store: its blobs in SHA-256 order, its temporary files, and their sweep. */
export interface CheckableStore {
  blobs(): AsyncIterable<StoredBlob>;
  temporaryFiles(): Promise<TemporaryFile[]>;
  sweepTemporary(): Promise<number>;
}

/** A SHA-256 the archive's records name; `required` when this store must hold it (an item's original or derivative, a package). */
export interface Reference {
  sha256: string;
  required: boolean;
}

/** At most this many missing blobs are named; the rest are counted. */
const MISSING_NAMED = 100;

/** What `custodia storage check` found in one store. */
export interface StoreCheck {
  blobs: number;
  blobBytes: number;
  /** Blobs the records say this store holds and it does not: the first MISSING_NAMED of them. */
  missing: string[];
  missingCount: number;
  /** Blobs nothing in the archive refers to. Never removed: a crash between placing a blob and committing its record leaves evidence here. */
  unreferenced: StoredBlob[];
  /** Temporary files no live process will finish. */
  leftoverTemporary: TemporaryFile[];
  /** Temporary files other processes are writing now. */
  temporaryInUse: number;
  /** Leftover temporary files removed (with `removeTemporary`). */
  removedTemporary: number;
}

/**
 * Compares a store with what the archive refers to. `referenced` yields every SHA-256 the
 * archive's records name, distinct and in ascending order (a database cursor), so both sides are
 * walked once, side by side, in flat memory whatever the store's size: a blob nothing names is
 * unreferenced, a required reference the store lacks is missing (a lost file, or the archive
 * pointed at another store). Removes only leftover temporary files, and only when asked.
 */
export async function checkStore(
  store: CheckableStore,
  referenced: AsyncIterable<Reference>,
  options: { removeTemporary?: boolean } = {},
): Promise<StoreCheck> {
  const report: StoreCheck = { blobs: 0, blobBytes: 0, missing: [], missingCount: 0, unreferenced: [], leftoverTemporary: [], temporaryInUse: 0, removedTemporary: 0 };
  const references = referenced[Symbol.asyncIterator]();
  const lacking = (reference: Reference) => {
    if (!reference.required) return;
    report.missingCount += 1;
    if (report.missing.length < MISSING_NAMED) report.missing.push(reference.sha256);
  };
  try {
    let next = await references.next();
    let previous = '';
    for await (const blob of store.blobs()) {
      // Both sides are walked once in step: a store listing out of order (some S3-compatible
      // stores may) would make referenced blobs look unreferenced.
      if (blob.sha256 <= previous) throw new Error(`the store listed ${blob.sha256} after ${previous}: it does not list in order, so it cannot be checked this way`);
      previous = blob.sha256;
      report.blobs += 1;
      report.blobBytes += blob.sizeBytes;
      for (; !next.done && next.value.sha256 < blob.sha256; next = await references.next()) lacking(next.value);
      if (next.done || next.value.sha256 !== blob.sha256) report.unreferenced.push(blob);
      else next = await references.next();
    }
    for (; !next.done; next = await references.next()) lacking(next.value);
  } finally {
    await references.return?.();
  }
  for (const file of await store.temporaryFiles()) {
    if (file.leftover) report.leftoverTemporary.push(file);
    else report.temporaryInUse += 1;
  }
  if (options.removeTemporary && report.leftoverTemporary.length > 0) report.removedTemporary = await store.sweepTemporary();
  return report;
}
