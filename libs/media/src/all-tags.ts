// Every tag a file carries, as ExifTool reads it: the reference investigators and court experts
// use, for `GET /evidence/:id/metadata`. exifr stays the fast reader of what intake needs.
import type { ExifTool } from 'exiftool-vendored';

/** A tag's value as ExifTool reports it (numbers with -n, text otherwise), shortened when huge. */
export type TagValue = string | number | boolean | null | TagValue[] | { [key: string]: TagValue };

/** Tags by ExifTool family-1 group ("IFD0", "ExifIFD", "GPS", "XMP-dc", "QuickTime", ...). */
export type TagGroups = Record<string, Record<string, TagValue>>;

/**
 * Groups that describe our copy of the file (its path on our disk, our permissions and
 * timestamps), not the evidence: they would leak server paths and mean nothing to a court.
 */
const LOCAL_GROUPS = new Set(['System']);
const MAX_TEXT = 4096;
const MAX_TAGS = 5000;
const MAX_DEPTH = 8;

function bounded(value: unknown, depth = 0): TagValue {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value as TagValue;
  if (typeof value === 'string') return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}… (${value.length} characters)` : value;
  if (depth >= MAX_DEPTH) return '(nested too deep)';
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => bounded(v, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, TagValue> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, 200)) out[k] = bounded(v, depth + 1);
    return out;
  }
  return String(value);
}

/** Reads every tag of files with one long-running ExifTool process; `end()` stops it. */
export class AllTagsReader {
  private started: Promise<ExifTool> | undefined;

  constructor(private readonly options: { timeoutMs?: number } = {}) {}

  /** The wrapper is loaded on first use, not at every start of the API. */
  private exiftool(): Promise<ExifTool> {
    this.started ??= import('exiftool-vendored').then(
      // One process, a bounded time per file: a hostile file cannot hold the reader.
      ({ ExifTool }) => new ExifTool({ maxProcs: 1, taskTimeoutMillis: this.options.timeoutMs ?? 30_000, maxTasksPerProcess: 500 }),
    );
    return this.started;
  }

  /** Every tag of the file at `path`, grouped; binary values appear as ExifTool's "(Binary data N bytes)". */
  async read(path: string): Promise<TagGroups> {
    // -G1: family-1 groups; -a: duplicates too (a maker note may repeat a tag); -n: values as stored.
    const raw = (await (await this.exiftool()).readRaw(path, { readArgs: ['-G1', '-a', '-n'], useMWG: false })) as Record<string, unknown>;
    const groups: TagGroups = {};
    let count = 0;
    for (const [key, value] of Object.entries(raw)) {
      const colon = key.indexOf(':');
      if (colon < 0 || count >= MAX_TAGS) continue; // SourceFile and the like: our path, not the file's tags.
      const group = key.slice(0, colon);
      if (LOCAL_GROUPS.has(group)) continue;
      (groups[group] ??= {})[key.slice(colon + 1)] = bounded(value);
      count++;
    }
    return groups;
  }

  /** The ExifTool version answering, e.g. "13.59". */
  async version(): Promise<string> {
    return (await this.exiftool()).version();
  }

  async end(): Promise<void> {
    // Nothing to stop when the reader never started (or its wrapper failed to load).
    const exiftool = await this.started?.catch(() => undefined);
    await exiftool?.end();
  }
}
