// Every tag a file carries, as ExifTool reads it: the reference investigators and court experts
// use, for `GET /evidence/:id/metadata`. exifr stays the fast reader of what intake needs.
import { execFile, type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import { CFB_SIGNATURE } from './compound-file.js';
import { headerBlockOf, headerFields } from './email-metadata.js';
import { outlookInternetHeaders } from './outlook-message.js';

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
/** The group of an e-mail's, a saved page's or an Outlook message's header fields, which ExifTool does not read. */
export const MESSAGE_HEADER_GROUP = 'MessageHeader';

function bounded(value: unknown, depth = 0): TagValue {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value as TagValue;
  if (typeof value === 'string') return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}… (${value.length} characters)` : value;
  if (depth >= MAX_DEPTH) return '(nested too deep)';
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => bounded(v, depth + 1));
  // fromEntries: a key such as "__proto__" (a hostile e-mail's field) stays a key.
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value as Record<string, unknown>).slice(0, 200).map(([k, v]) => [k, bounded(v, depth + 1)]));
  return String(value);
}

/**
 * The header fields of an e-mail or a saved web page, or the copy of its internet headers an
 * Outlook message keeps: the Received chain, authentication results and DKIM signatures are what
 * an examiner reads to tell where a message came from.
 */
async function messageHeader(path: string): Promise<Record<string, string | string[]> | null> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const block = await headerBlockOf(handle, size);
    if (block) return await headerFields(block.header);
    const signature = Buffer.alloc(8);
    await handle.read(signature, 0, 8, 0);
    if (!signature.equals(CFB_SIGNATURE)) return null;
    const headers = await outlookInternetHeaders(handle, size);
    return headers === null ? null : await headerFields(headers);
  } finally {
    await handle.close();
  }
}

/** ExifTool did not finish reading a file within the time limit (its process was killed). */
export class TagsTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`ExifTool did not finish reading the file within ${timeoutMs} ms`);
    this.name = 'TagsTimeout';
  }
}

/** ExifTool's answer for a file passed the output cap (its process was killed). */
export class TagsTooLarge extends Error {
  constructor(readonly limitBytes: number) {
    super(`ExifTool's reading of the file passed ${limitBytes} bytes`);
    this.name = 'TagsTooLarge';
  }
}

/** What one reading may print: a camera's maker notes are tens of KB; a text block of GBs is not read. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Readings at once: on a 2-core server, one hostile file leaves room for the others. */
const AT_ONCE = 2;

/**
 * Reads every tag of files with ExifTool, one process per file: its answer is capped in size and
 * time (a compressed text block a few hundred KB long inflates to hundreds of MB, which a
 * long-lived ExifTool would print in full into our process), and at most AT_ONCE run at once.
 * Perl and the ExifTool script shipped in the `exiftool-vendored.pl` package; nothing passes
 * through a shell, and the path is our own stored file's.
 */
export class AllTagsReader {
  private script: Promise<string> | undefined;
  private versionRead: Promise<string> | undefined;
  private readonly timeoutMs: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly children = new Set<ChildProcess>();

  constructor(options: { timeoutMs?: number } = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Every tag of the file at `path`, grouped; binary values appear as ExifTool's "(Binary data N
   * bytes)". Rejects with TagsTimeout or TagsTooLarge when ExifTool takes too long or says too much.
   */
  async read(path: string): Promise<TagGroups> {
    // -G1: family-1 groups; -a: duplicates too (a maker note may repeat a tag); -n: values as stored.
    const output = await this.exiftool(['-charset', 'filename=utf8', '-json', '-G1', '-a', '-n', path]);
    const raw = (JSON.parse(output) as Record<string, unknown>[])[0] ?? {};
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
    const header = await messageHeader(path).catch(() => null);
    if (header) groups[MESSAGE_HEADER_GROUP] = bounded(header) as Record<string, TagValue>;
    return groups;
  }

  /** The ExifTool version answering, e.g. "13.59". */
  version(): Promise<string> {
    this.versionRead ??= this.exiftool(['-ver']).then((out) => out.trim());
    // A failure (no Perl) is not kept: the next ask tries again.
    this.versionRead.catch(() => (this.versionRead = undefined));
    return this.versionRead;
  }

  /** Stops the readings under way. */
  async end(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
  }

  private async exiftool(args: string[]): Promise<string> {
    // The wrapper package says where its vendored script is; loaded on first use, not at start.
    this.script ??= import('exiftool-vendored').then(({ exiftoolPath }) => exiftoolPath());
    const script = await this.script;
    await this.turn();
    try {
      return await new Promise<string>((resolve, reject) => {
        const child = execFile(
          'perl',
          [script, ...args],
          { encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES, timeout: this.timeoutMs, killSignal: 'SIGKILL', windowsHide: true },
          (error, stdout) => {
            this.children.delete(child);
            if (!error) return resolve(stdout);
            const failure = error as NodeJS.ErrnoException & { killed?: boolean };
            if (failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new TagsTooLarge(MAX_OUTPUT_BYTES));
            if (failure.killed) return reject(new TagsTimeout(this.timeoutMs));
            // ExifTool exits 1 for a file it cannot make sense of, and still prints what it found.
            if (typeof failure.code === 'number' && stdout.trimStart().startsWith('[')) return resolve(stdout);
            reject(error);
          },
        );
        this.children.add(child);
      });
    } finally {
      // The place goes to the next waiting reading, if any, else it is free.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Waits for one of the AT_ONCE places. */
  private async turn(): Promise<void> {
    if (this.running < AT_ONCE) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
}
