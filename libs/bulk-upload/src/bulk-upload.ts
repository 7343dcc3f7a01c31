import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { compromisedKeysNote, followHandovers, verifyReceipt, type PublishedKey, type Receipt } from '#custodia/custody-core';
import { syncToDisk } from '#custodia/storage';
import { visibleText } from '#custodia/text';
import { fileOnDisk, TUS_FILE_OPTIONS } from './tus-node.js';

/**
 * The bulk uploader behind `custodia upload`: for the investigator with a phone dump of
 * thousands of files and the documenter with a laptop. Each file is hashed first (SHA-256, our
 * own reading), sent with tus (resumable: across broken connections within a run through
 * tus-js-client's retries, and across runs through a state file that remembers each upload's
 * URL), turned into evidence with the hash given (the archive refuses other bytes), and its
 * receipt written beside a summary. A second run sends only what is missing.
 */

/** Where to send, as whom: from the CLI's configuration (never the command line, for the token). */
export interface ArchiveAccess {
  /** The archive's address, e.g. https://archive.example.org */
  baseUrl: string;
  token: string;
}

export interface BulkUploadOptions {
  caseId: string;
  /** Files and folders (walked recursively; hidden files and symbolic links are skipped). */
  paths: string[];
  /** Folder for receipts, summary.json and summary.txt. */
  outDir: string;
  /** The state file that makes a second run resume (default: <outDir>/state.json). */
  stateFile?: string;
  /** Files in flight at once (default 3). */
  parallel?: number;
  chunkSizeBytes?: number;
  /** Pauses between tus retries, in ms (default: 1 s doubling to 60 s, 12 tries). */
  retryDelays?: number[];
  /** Extra metadata for every item (sourceType, tags, incidentId, ...). */
  metadata?: Record<string, unknown>;
  /** Progress of each file (bytes sent of its size), and when one is done or failed. */
  onProgress?: (event: ProgressEvent) => void;
  /** For tests: stop starting new files after this many have finished in this run. */
  stopAfter?: number;
  /**
   * Stops the run (Ctrl-C): no new file is started, transfers under way are cut (resumed by the
   * next run), submissions already sent are waited for, and the summary is written.
   */
  signal?: AbortSignal;
  /** How long to wait for a receipt the archive's log has not integrated yet (default 60 s); a later run fetches it otherwise. */
  receiptWaitSeconds?: number;
  /**
   * The log keys (ids: SHA-256 of the key) receipts must be signed with, as learnt from the
   * archive's operator out of band. Without them, receipts are checked against the keys the
   * same archive publishes, which an archive that is not the one meant (or not honest) controls.
   */
  trustedKeyIds?: readonly string[];
  fetchImpl?: typeof fetch;
}

export type ProgressEvent =
  | { kind: 'hashing' | 'sending'; file: string; bytes: number; total: number }
  | { kind: 'done'; file: string; evidenceId: string; reused: boolean }
  | { kind: 'failed'; file: string; error: string };

/** One file's line in the summary. */
export interface FileOutcome {
  file: string;
  sizeBytes: number;
  sha256: string;
  status: 'stored' | 'already_stored' | 'failed' | 'not_sent';
  evidenceId?: string;
  leafIndex?: number;
  receiptFile?: string;
  error?: string;
}

export interface Summary {
  archive: string;
  caseId: string;
  finishedAt: string;
  /** The log's published keys when the run ended (only the trusted ones, if given): what the receipts are checked against offline. */
  keys: PublishedKey[];
  /** The key ids the run was given to trust (`--trusted-key`); a later check holds the receipts to them too. */
  trustedKeyIds?: string[];
  files: FileOutcome[];
}

interface FileState {
  sizeBytes: number;
  mtimeMs: number;
  sha256: string;
  uploadUrl?: string;
  evidenceId?: string;
  receiptFile?: string;
  leafIndex?: number;
}

interface StateFile {
  version: 1;
  caseId: string;
  archive: string;
  files: Record<string, FileState>;
}

const DEFAULT_RETRIES = [1000, 2000, 4000, 8000, 16_000, 30_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000];

const MEDIA_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.heic': 'image/heic', '.heif': 'image/heif', '.avif': 'image/avif',
  '.webp': 'image/webp', '.gif': 'image/gif', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.dng': 'image/x-adobe-dng',
  '.mp4': 'video/mp4', '.mov': 'video/quicktime', '.3gp': 'video/3gpp', '.mkv': 'video/x-matroska', '.webm': 'video/webm', '.m2ts': 'video/mp2t',
  '.m4a': 'audio/mp4', '.mp3': 'audio/mpeg', '.ogg': 'audio/ogg', '.opus': 'audio/opus', '.wav': 'audio/wav',
  '.pdf': 'application/pdf', '.txt': 'text/plain', '.json': 'application/json',
};

/**
 * The regular files under `paths`, in a stable order; hidden names and symbolic links inside
 * folders are skipped. A path given that is a symbolic link is refused, saying so, rather than
 * skipped in silence.
 */
export async function listFiles(paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const entry of paths) {
    if ((await lstat(entry)).isSymbolicLink()) throw new Error(`${visibleText(entry)} is a symbolic link: give the file or folder it points to`);
  }
  const visit = async (entry: string): Promise<void> => {
    const info = await lstat(entry);
    if (info.isSymbolicLink()) return;
    if (info.isDirectory()) {
      for (const name of (await readdir(entry)).sort()) if (!name.startsWith('.')) await visit(path.join(entry, name));
    } else if (info.isFile()) found.push(path.resolve(entry));
  };
  for (const entry of paths) await visit(entry);
  return [...new Set(found)];
}

async function sha256OfFile(file: string, onBytes: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onBytes(bytes);
  }
  return hash.digest('hex');
}

/**
 * Writes a file whole or not at all, durably: a crash mid-write leaves the previous version, and
 * once this returns the new one survives a power cut (its folder is synced after the rename, so
 * a state file never goes back to naming as unsent what the archive already holds).
 */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  await syncToDisk(path.dirname(file));
}

/**
 * Removes the temporary files of earlier runs that died mid-write (`<name>.<pid>.tmp` of a
 * process no longer running): what they held was never renamed into place.
 */
async function removeDeadRunsTemporaries(folder: string): Promise<void> {
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const pid = /\.(\d+)\.tmp$/.exec(name)?.[1];
    if (!pid || Number(pid) === process.pid || isRunning(Number(pid))) continue;
    await rm(path.join(folder, name), { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readState(file: string, caseId: string, archive: string): Promise<StateFile> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as StateFile;
    if (state.version === 1 && state.caseId === caseId && state.archive === archive) return state;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`The state file ${file} cannot be read: ${(error as Error).message}`);
  }
  return { version: 1, caseId, archive, files: {} };
}

/** Answers of the archive are small (a receipt, the keys, a problem): more than this is not one. */
const ANSWER_LIMIT_BYTES = 1024 * 1024;

/** How long one request to the archive may take, its answer included, before it is given up. */
const REQUEST_TIMEOUT_MS = 60_000;

/** An answer's body as text, refused (and the transfer stopped) once it grows past ANSWER_LIMIT_BYTES. */
async function bodyText(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  for (let size = 0; ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > ANSWER_LIMIT_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`the archive's answer is larger than ${ANSWER_LIMIT_BYTES} bytes, more than any answer it gives`);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

async function bodyJson<T>(res: Response): Promise<T> {
  const text = await bodyText(res);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`the archive's answer (${res.status}) is not JSON`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Why `receipt` does not prove that the archive logged the submission of these bytes as item
 * `evidenceId` under one of `keys` (the archive's published keys), or null when it does.
 */
function receiptProblem(receipt: unknown, evidenceId: string, sha256: string, keys: readonly PublishedKey[]): string | null {
  if (typeof receipt !== 'object' || receipt === null) return 'the archive gave no receipt';
  const r = receipt as Receipt;
  const verdict = verifyReceipt(r, keys);
  if (!verdict.valid) return `the receipt does not verify: ${verdict.reason}`;
  const { action, subject } = r.event;
  if (action !== 'evidence.submitted' || subject.type !== 'evidence' || subject.id !== evidenceId) return `the receipt is of another event (${action} about ${subject.type} ${subject.id})`;
  if (subject.sha256 !== sha256) return `the receipt names other bytes (${subject.sha256}) than the file's (${sha256})`;
  return null;
}

/** A tus request the archive sent to another host: not followed, and not retried. */
class ForeignAddress extends Error {}

/** A file's transfer cut by the run's signal: not sent, and the next run resumes it. */
class Interrupted extends Error {}

/** A problem+json answer's detail, or the status. */
async function failure(res: Response): Promise<string> {
  const text = await bodyText(res).catch((error: Error) => error.message);
  try {
    const body = JSON.parse(text) as { detail?: string; errors?: { field: string; message: string }[] };
    return `${res.status}: ${body.detail ?? text}${body.errors?.length ? ` (${body.errors.map((e) => `${e.field} ${e.message}`).join('; ')})` : ''}`;
  } catch {
    return `${res.status}: ${text.slice(0, 200)}`;
  }
}

/** Sends every file not yet stored; returns the summary (also written to outDir). */
export async function bulkUpload(access: ArchiveAccess, options: BulkUploadOptions): Promise<Summary> {
  const fetchWith = options.fetchImpl ?? fetch;
  // Every request is bounded in time (a server that never answers) and sends the token only to the archive's own address.
  const fetchImpl = (url: string, init: RequestInit = {}) => fetchWith(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const base = access.baseUrl.replace(/\/+$/, '');
  const origin = new URL(base).origin;
  const api = `${base}/api/v1`;
  const auth = { Authorization: `Bearer ${access.token}` };
  const outDir = path.resolve(options.outDir);
  const receiptsDir = path.join(outDir, 'receipts');
  await mkdir(receiptsDir, { recursive: true });
  const stateFile = path.resolve(options.stateFile ?? path.join(outDir, 'state.json'));
  for (const folder of new Set([outDir, receiptsDir, path.dirname(stateFile)])) await removeDeadRunsTemporaries(folder);
  const state = await readState(stateFile, options.caseId, base);
  // One writer at a time, so concurrent files do not interleave their saves; a save that failed
  // (disk full, the folder gone) fails its own caller only, and the next one tries again.
  let saving = Promise.resolve();
  const save = (): Promise<void> =>
    (saving = saving.catch(() => undefined).then(() => writeAtomically(stateFile, JSON.stringify(state, null, 2))));

  // Fail early and clearly on a wrong address, token or case.
  const caseAnswer = await fetchImpl(`${api}/cases/${options.caseId}`, { headers: auth });
  if (!caseAnswer.ok) throw new Error(`The archive at ${base} refused case ${options.caseId}: ${await failure(caseAnswer)}`);
  await caseAnswer.body?.cancel();
  // The keys each receipt is checked against as it arrives (again once, should the log's key change during the run).
  const publishedKeys = async (): Promise<PublishedKey[]> => {
    const answer = await fetchImpl(`${api}/log/keys`, { headers: auth });
    if (!answer.ok) throw new Error(`The archive at ${base} did not give its log's keys: ${await failure(answer)}`);
    return pinnedKeys(await bodyJson<PublishedKey[]>(answer), options.trustedKeyIds, `the archive at ${base} publishes`);
  };
  let keys = await publishedKeys();
  let keysRenewed = false;
  /**
   * The item's receipt, checked: from the submission's answer, else from the archive (202 while
   * pending, for up to a minute). Whatever stops it (no receipt, one that does not verify, the
   * connection lost) fails the file as stored without a receipt, which a later run fetches.
   */
  const confirmedReceipt = async (evidenceId: string, sha256: string, given: unknown): Promise<Receipt> => {
    try {
      let receipt = given;
      for (let tries = 0; !receipt && tries < (options.receiptWaitSeconds ?? 60) && !options.signal?.aborted; tries++) {
        const late = await fetchImpl(`${api}/evidence/${evidenceId}/receipt`, { headers: auth });
        if (late.status === 200) receipt = await bodyJson<Receipt>(late);
        else {
          await late.body?.cancel();
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
      let problem = receiptProblem(receipt, evidenceId, sha256, keys);
      if (problem?.includes('tree head') && !keysRenewed) {
        keysRenewed = true;
        keys = await publishedKeys();
        problem = receiptProblem(receipt, evidenceId, sha256, keys);
      }
      if (problem) throw new Error(problem);
      return receipt as Receipt;
    } catch (error) {
      throw new Error(`the archive holds it as item ${evidenceId} but ${(error as Error).message}; a later run fetches the receipt again`);
    }
  };

  const files = await listFiles(options.paths);
  const outcomes = new Map<string, FileOutcome>();
  const receiptNames = new Set(Object.values(state.files).flatMap((f) => (f.receiptFile ? [f.receiptFile] : [])));
  let finishedThisRun = 0;

  /** Writes a checked receipt beside the summary and notes it in the state. */
  const keepReceipt = async (file: string, entry: FileState, evidenceId: string, receipt: Receipt): Promise<void> => {
    let receiptName = `${path.basename(file)}.receipt.json`;
    for (let n = 2; receiptNames.has(receiptName); n++) receiptName = `${path.basename(file)}.${n}.receipt.json`;
    receiptNames.add(receiptName);
    await writeAtomically(path.join(receiptsDir, receiptName), JSON.stringify({ file, evidenceId, receipt }, null, 2));
    Object.assign(entry, { receiptFile: `receipts/${receiptName}`, leafIndex: receipt.leafIndex });
    await save();
  };

  const sendOne = async (file: string): Promise<void> => {
    const info = await stat(file);
    let known = state.files[file];
    if (!known || known.sizeBytes !== info.size || known.mtimeMs !== info.mtimeMs) {
      const sha256 = await sha256OfFile(file, (bytes) => options.onProgress?.({ kind: 'hashing', file, bytes, total: info.size }));
      known = { sizeBytes: info.size, mtimeMs: info.mtimeMs, sha256 };
      state.files[file] = known;
      await save();
    }
    if (known.evidenceId && !known.receiptFile) {
      // Stored by an earlier run that got no valid receipt for it: that receipt, now.
      await keepReceipt(file, known, known.evidenceId, await confirmedReceipt(known.evidenceId, known.sha256, null));
      outcomes.set(file, { file, sizeBytes: known.sizeBytes, sha256: known.sha256, status: 'already_stored', evidenceId: known.evidenceId, leafIndex: known.leafIndex, receiptFile: known.receiptFile });
      options.onProgress?.({ kind: 'done', file, evidenceId: known.evidenceId, reused: true });
      return;
    }
    if (known.evidenceId) {
      outcomes.set(file, { file, sizeBytes: known.sizeBytes, sha256: known.sha256, status: 'already_stored', evidenceId: known.evidenceId, leafIndex: known.leafIndex, receiptFile: known.receiptFile });
      options.onProgress?.({ kind: 'done', file, evidenceId: known.evidenceId, reused: true });
      return;
    }
    const entry = known;
    if (entry.uploadUrl && (await uploadGone(entry.uploadUrl))) {
      // An earlier run's upload the archive no longer serves: expired, or it became evidence and
      // the answer to its finish was lost on the way. A finish sent again tells which (the same
      // clientSubmissionId answers with the first item) before a byte is sent again. The upload is
      // gone: there is nothing to terminate (null).
      const answer = await finish(file, entry, entry.uploadUrl);
      if (answer.status === 200 || answer.status === 201 || answer.status === 409) return settle(file, entry, null, answer);
      delete entry.uploadUrl;
      await save();
    }
    const uploadUrl = await new Promise<string>((resolve, reject) => {
      const upload = new tus.Upload(fileOnDisk(file), {
        ...TUS_FILE_OPTIONS,
        endpoint: `${api}/uploads`,
        uploadUrl: entry.uploadUrl ?? null,
        uploadSize: entry.sizeBytes,
        chunkSize: options.chunkSizeBytes ?? 8 * 1024 * 1024,
        retryDelays: options.retryDelays ?? DEFAULT_RETRIES,
        headers: auth,
        metadata: { filename: path.basename(file), filetype: MEDIA_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream', sha256: entry.sha256 },
        // tus-js-client drops what this returns: a save that fails here (the state file cannot be
        // written) fails this file, heard, instead of going unheard and ending the process.
        onUploadUrlAvailable: () => {
          entry.uploadUrl = upload.url!;
          save().catch((error: Error) => {
            void upload.abort();
            reject(new Error(`the state file ${stateFile} could not be written: ${error.message}`));
          });
        },
        onBeforeRequest: (req) => {
          const target = new URL(req.getURL());
          if (target.origin !== origin) throw new ForeignAddress(`the archive sent an upload address on another host (${visibleText(target.origin)}): not followed`);
        },
        onShouldRetry: (error) => {
          if (error.causingError instanceof ForeignAddress) return false;
          // tus-js-client's own rule: not a 4xx, except 409 and 423.
          const status = error.originalResponse?.getStatus() ?? 0;
          return status < 400 || status >= 500 || status === 409 || status === 423;
        },
        onProgress: (bytes, total) => options.onProgress?.({ kind: 'sending', file, bytes, total }),
        onError: (error) => {
          options.signal?.removeEventListener('abort', cut);
          reject(error);
        },
        onSuccess: () => {
          options.signal?.removeEventListener('abort', cut);
          resolve(upload.url!);
        },
      });
      function cut(): void {
        void upload.abort();
        reject(new Interrupted('interrupted'));
      }
      if (options.signal?.aborted) return cut();
      options.signal?.addEventListener('abort', cut, { once: true });
      upload.start();
    });
    await settle(file, entry, uploadUrl, await finish(file, entry, uploadUrl));
  };

  /** Makes a finished upload evidence (api.md, "Resumable uploads"). */
  const finish = (file: string, entry: FileState, uploadUrl: string): Promise<Response> =>
    fetchImpl(`${api}/cases/${options.caseId}/evidence`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        uploadId: uploadUrl.split('/').pop()!,
        sha256: entry.sha256,
        // The same file sent again to the same case (a rerun after a crash before the state was
        // saved) is the same item; sent to another case, another submission (the key is unique per
        // submitter, so without the case the archive would refuse it as a repeat elsewhere).
        clientSubmissionId: `custodia-upload:${options.caseId}:${entry.sha256}:${createHash('sha256').update(file).digest('hex').slice(0, 16)}`,
        ...options.metadata,
      }),
    });

  /** The archive's answer to a finish: the item kept in the state, its receipt beside the summary. */
  const settle = async (file: string, entry: FileState, uploadUrl: string | null, answer: Response): Promise<void> => {
    if (answer.status === 404 || answer.status === 410 || answer.status === 409) {
      // The upload expired or was removed: the next run starts it again. A conflict (the key
      // already used for other bytes) is not undone by sending again: the finished upload, which
      // would otherwise count against its owner's open uploads until removed, is terminated (a
      // failure leaves it to its owner); without an uploadUrl it is gone already.
      if (answer.status === 409 && uploadUrl) await tusRequest(uploadUrl, 'DELETE');
      delete entry.uploadUrl;
      await save();
    }
    if (answer.status !== 201 && answer.status !== 200) throw new Error(await failure(answer));
    const evidence = await bodyJson<{ id?: unknown; receipt?: unknown }>(answer);
    if (typeof evidence.id !== 'string' || !UUID.test(evidence.id)) throw new Error(`the archive answered ${answer.status} without an evidence id`);
    // Stored: a later run does not send it again, whatever becomes of its receipt here.
    Object.assign(entry, { evidenceId: evidence.id });
    delete entry.uploadUrl;
    await save();
    // The archive may answer before its log integrated the submission: the receipt then comes later.
    await keepReceipt(file, entry, evidence.id, await confirmedReceipt(evidence.id, entry.sha256, evidence.receipt));
    outcomes.set(file, { file, sizeBytes: entry.sizeBytes, sha256: entry.sha256, status: answer.status === 201 ? 'stored' : 'already_stored', evidenceId: evidence.id, leafIndex: entry.leafIndex, receiptFile: entry.receiptFile });
    options.onProgress?.({ kind: 'done', file, evidenceId: evidence.id, reused: answer.status === 200 });
  };

  /** A tus request without a body to one of the archive's uploads: the status it answered, or null (another origin, no answer). */
  const tusRequest = async (uploadUrl: string, method: 'HEAD' | 'DELETE'): Promise<number | null> => {
    const target = new URL(uploadUrl, base);
    if (target.origin !== origin) return null;
    const answer = await fetchImpl(target.href, { method, headers: { ...auth, 'Tus-Resumable': '1.0.0' } }).catch(() => null);
    await answer?.body?.cancel();
    return answer?.status ?? null;
  };
  /** Whether the archive answers an upload's tus HEAD with 404 or 410 (a network failure is not an answer). */
  const uploadGone = async (uploadUrl: string): Promise<boolean> => [404, 410].includes((await tusRequest(uploadUrl, 'HEAD')) ?? 0);

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length && !options.signal?.aborted) {
      if (options.stopAfter !== undefined && finishedThisRun >= options.stopAfter) return;
      const file = files[next++]!;
      try {
        await sendOne(file);
        finishedThisRun++;
      } catch (error) {
        if (error instanceof Interrupted) continue; // not sent: the summary says so
        const message = error instanceof Error ? error.message : String(error);
        const known = state.files[file];
        outcomes.set(file, { file, sizeBytes: known?.sizeBytes ?? 0, sha256: known?.sha256 ?? '', status: 'failed', error: message });
        options.onProgress?.({ kind: 'failed', file, error: message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 3) }, worker));
  // The last save's failure was its file's; the summary is written whatever became of it.
  await saving.catch(() => undefined);

  keys = await publishedKeys().catch(() => keys);
  const summary: Summary = {
    archive: base,
    caseId: options.caseId,
    finishedAt: new Date().toISOString(),
    keys,
    ...(options.trustedKeyIds?.length ? { trustedKeyIds: [...options.trustedKeyIds] } : {}),
    files: files.map((file) => outcomes.get(file) ?? { file, sizeBytes: state.files[file]?.sizeBytes ?? 0, sha256: state.files[file]?.sha256 ?? '', status: 'not_sent' }),
  };
  await writeAtomically(path.join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
  await writeAtomically(path.join(outDir, 'summary.txt'), summaryTable(summary));
  return summary;
}

/** The summary as a table a person reads (names and errors with their hidden characters shown, as `custodia upload` prints them). */
export function summaryTable(summary: Summary): string {
  const rows = summary.files.map((f) => [f.status, visibleText(f.evidenceId ?? ''), f.leafIndex?.toString() ?? '', f.sha256.slice(0, 16), visibleText(f.file + (f.error ? `  (${f.error})` : ''))]);
  const header = ['status', 'evidence id', 'leaf', 'sha256 (start)', 'file'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const counts = Object.entries(
    summary.files.reduce<Record<string, number>>((acc, f) => ({ ...acc, [f.status]: (acc[f.status] ?? 0) + 1 }), {}),
  )
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  const handedTo = summary.keys.map((k) => visibleText(String(k.keyId))).filter((id) => !summary.trustedKeyIds?.includes(id));
  const signers = summary.trustedKeyIds?.length
    ? `receipts signed with the trusted log key ${summary.trustedKeyIds.join(', ')}${handedTo.length ? ` or a key it handed over to at a rotation (${handedTo.join(', ')})` : ''}`
    : `receipts checked against the log keys the archive published (${summary.keys.map((k) => visibleText(String(k.keyId))).join(', ')}); none was given to trust (--trusted-key)`;
  return `Custodia upload to ${summary.archive}, case ${summary.caseId}, ${summary.finishedAt}\n${counts}; ${signers}\n\n${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** One receipt's offline check. */
export interface ReceiptCheck {
  file: string;
  receiptFile: string;
  /** The receipt's signature, inclusion proof and event hash hold under the summary's keys. */
  receiptValid: boolean;
  /** The local file still hashes to what the receipt says the archive received (null: file gone). */
  fileMatches: boolean | null;
  reason?: string;
}

/**
 * The keys among `keys` whose ids are trusted (all of them when no id is), and those a trusted
 * key handed over to at a rotation (each retired key's `handover`, as GET /log/keys gives it): a
 * key's id is the SHA-256 of the key itself, which the receipt check holds it to, so a key
 * published under a trusted id but not that key does not pass. None of them there: an error,
 * `holder` (the archive that publishes them, the summary that holds them) saying whose.
 */
function pinnedKeys(keys: unknown, trustedKeyIds: readonly string[] | undefined, holder: string): PublishedKey[] {
  const list = (Array.isArray(keys) ? keys : []).filter((key): key is PublishedKey & { handover?: unknown } => typeof key === 'object' && key !== null);
  if (!trustedKeyIds?.length) return list;
  const handovers = list.flatMap((key) => (key.handover ? [key.handover] : []));
  const { trusted, compromised } = followHandovers(trustedKeyIds, handovers, list);
  const pinned = list.filter((key) => trusted.has(key.keyId));
  if (pinned.length === 0) {
    throw new Error(
      compromised.size > 0
        ? `${holder} no log key to trust: ${compromisedKeysNote(compromised)}`
        : `${holder} no log key with the trusted id (${trustedKeyIds.join(', ')}): it is not the archive meant, or its key changed; ask its operator`,
    );
  }
  return pinned;
}

/**
 * Re-checks a run's receipts without the archive: each receipt against the keys the summary
 * holds (or `keys`), and each local file against the hash its receipt names.
 */
export async function checkReceipts(summaryFile: string, keys?: PublishedKey[], trustedKeyIds?: readonly string[]): Promise<ReceiptCheck[]> {
  const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as Summary;
  const trusted = pinnedKeys(keys ?? summary.keys, trustedKeyIds ?? summary.trustedKeyIds, `the summary ${summaryFile} holds`);
  const checks: ReceiptCheck[] = [];
  for (const outcome of summary.files) {
    if (!outcome.receiptFile) continue;
    const receiptFile = path.join(path.dirname(summaryFile), outcome.receiptFile);
    const receipt = await readFile(receiptFile, 'utf8')
      .then((text) => (JSON.parse(text) as { receipt?: Receipt | null }).receipt ?? null)
      .catch(() => null);
    const shaped = receipt !== null && typeof receipt === 'object' && typeof receipt.event?.subject === 'object' && receipt.event.subject !== null;
    if (!shaped) {
      checks.push({ file: outcome.file, receiptFile, receiptValid: false, fileMatches: null, reason: 'the receipt file holds no receipt (a later run fetches it from the archive)' });
      continue;
    }
    const verdict = verifyReceipt(receipt, trusted);
    const received = receipt.event.subject.sha256;
    const local = await sha256OfFile(outcome.file, () => undefined).catch(() => null);
    checks.push({
      file: outcome.file,
      receiptFile,
      receiptValid: verdict.valid,
      fileMatches: local === null ? null : local === received,
      ...(verdict.valid ? (local !== null && local !== received ? { reason: 'the local file changed since it was sent' } : {}) : { reason: verdict.reason }),
    });
  }
  return checks;
}
