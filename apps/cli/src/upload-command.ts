import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bulkUpload, checkReceipts, type ProgressEvent } from '#custodia/bulk-upload';
import { visibleText } from '#custodia/text';
import { archiveAccess, type AccessIo } from './archive-access.js';
import { fileProblem, reportingFetch, uploadFailure } from './failures.js';
import { UsageError } from './verify-command.js';

export const UPLOAD_USAGE = `  upload <files or folders...> --case CASE_ID [--out DIR] [--parallel N] [--source-type TYPE] [--tag TAG ...] [--trusted-key KEYID ...]
      Sends files to a case as evidence over resumable uploads: hashes each file first, sends it
      with tus (a broken connection resumes; a second run sends only what is missing), and writes
      each receipt to DIR/receipts with DIR/summary.json and DIR/summary.txt (DIR: ./custodia-upload-CASE_ID).
      The archive's address and token come from CUSTODIA_URL and CUSTODIA_TOKEN (or CUSTODIA_TOKEN_FILE),
      in the environment or the configuration file; never from the command line. Each receipt is
      checked as it arrives; --trusted-key (the log key id the archive's operator gave you) refuses
      receipts signed with any other key, and a run against an archive that does not publish it.

  upload --check DIR/summary.json [--trusted-key KEYID ...]
      Re-checks a run's receipts offline: each receipt's signature and inclusion proof against the
      log keys saved in the summary (only the trusted ones, if the run or this check names them),
      and each local file against the hash its receipt names.`;

const KEY_ID = /^[0-9a-f]{64}$/;

interface UploadIo extends AccessIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  progress: boolean;
  /** Ctrl-C: the run stops, writes its summary and ends with 130. */
  interrupt?: AbortSignal;
}

/** The exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
const INTERRUPTED_EXIT = 130;

/** Where the archive's address comes from, named when it cannot be reached. */
const ADDRESS = 'CUSTODIA_URL';

/** Draws one line per file in flight on a terminal, or prints a line when each file ends. */
function progressPrinter(io: UploadIo): (event: ProgressEvent) => void {
  const live = new Map<string, string>();
  let drawn = 0;
  const redraw = (): void => {
    if (!io.progress) return;
    const lines = [...live.values()];
    io.stderr(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((line) => `\x1b[2K${line}\n`).join('')}`);
    drawn = lines.length;
  };
  const bar = (bytes: number, total: number): string => {
    const share = total ? bytes / total : 1;
    const filled = Math.round(share * 24);
    return `[${'#'.repeat(filled)}${'.'.repeat(24 - filled)}] ${(share * 100).toFixed(0).padStart(3)}%`;
  };
  return (event) => {
    // File names are whatever the phone or the messenger wrote, and errors are the server's words:
    // shown inert, so no escape in them moves the cursor or redraws these lines.
    const name = visibleText(path.basename(event.file));
    const file = visibleText(event.file);
    if (event.kind === 'hashing' || event.kind === 'sending') {
      live.set(event.file, `${event.kind === 'hashing' ? 'hash' : 'send'} ${bar(event.bytes, event.total)} ${name}`);
      redraw();
      return;
    }
    live.delete(event.file);
    if (io.progress && drawn) io.stderr(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
    if (event.kind === 'done') io.stderr(`${event.reused ? 'already stored' : 'stored'}  ${visibleText(event.evidenceId)}  ${file}\n`);
    else if (event.kind === 'failed') io.stderr(`FAILED  ${file}: ${visibleText(uploadFailure(event.error, ADDRESS))}\n`);
    redraw();
  };
}

export async function uploadCommand(args: string[], io: UploadIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      case: { type: 'string' },
      out: { type: 'string' },
      parallel: { type: 'string' },
      'source-type': { type: 'string' },
      tag: { type: 'string', multiple: true },
      check: { type: 'string' },
      'trusted-key': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const trustedKeyIds = values['trusted-key'];
  if (trustedKeyIds?.some((id) => !KEY_ID.test(id))) throw new UsageError('--trusted-key must be a key id: 64 lowercase hex digits');
  if (values.check !== undefined) {
    const checks = await checkReceipts(path.resolve(io.cwd, values.check), undefined, trustedKeyIds);
    let bad = 0;
    for (const check of checks) {
      const ok = check.receiptValid && check.fileMatches !== false;
      if (!ok) bad++;
      io.stdout(`${ok ? 'OK    ' : 'FAILED'}  ${visibleText(check.file)}${check.fileMatches === null ? ' (file not here; receipt only)' : ''}${check.reason ? `: ${visibleText(check.reason)}` : ''}\n`);
    }
    io.stdout(`${checks.length - bad} of ${checks.length} receipts check out.\n`);
    return bad ? 1 : 0;
  }
  if (!values.case || !/^[0-9a-f-]{36}$/i.test(values.case)) throw new UsageError('--case must be the id of a case (a UUID)');
  if (positionals.length === 0) throw new UsageError('Name the files or folders to send');
  const parallel = values.parallel === undefined ? 3 : Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 16) throw new UsageError('--parallel must be a whole number from 1 to 16');
  if (args.some((arg) => /^--token(=|$)/.test(arg))) throw new UsageError('The token is never given on the command line: set CUSTODIA_TOKEN or CUSTODIA_TOKEN_FILE');

  // A mistyped name is said as typed, before anything is sent, rather than as a raw ENOENT from deep in the walk.
  for (const given of positionals) {
    try {
      await lstat(path.resolve(io.cwd, given));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(code === 'ENOENT' || code === 'ENOTDIR' ? `${given}: no such file or folder` : `${given} cannot be read (${fileProblem(error)})`);
    }
  }

  const { baseUrl, token, file } = await archiveAccess(io);
  if (!baseUrl || !/^https?:\/\//.test(baseUrl)) throw new UsageError('Set CUSTODIA_URL to the archive\'s address (https://...), in the environment or the configuration file');
  if (!token) throw new UsageError('Set CUSTODIA_TOKEN (a device token from POST /auth/tokens) or CUSTODIA_TOKEN_FILE');
  io.stderr(`Archive: ${baseUrl} (settings from ${file ?? 'the environment'}), case ${values.case}\n`);

  const outDir = path.resolve(io.cwd, values.out ?? `custodia-upload-${values.case}`);
  const summary = await bulkUpload(
    { baseUrl, token },
    {
      caseId: values.case,
      paths: positionals.map((p) => path.resolve(io.cwd, p)),
      outDir,
      parallel,
      metadata: { ...(values['source-type'] ? { sourceType: values['source-type'] } : {}), ...(values.tag?.length ? { tags: values.tag } : {}) },
      onProgress: progressPrinter(io),
      ...(trustedKeyIds ? { trustedKeyIds } : {}),
      ...(io.interrupt ? { signal: io.interrupt } : {}),
      fetchImpl: reportingFetch(fetch, ADDRESS),
    },
  );
  if (!trustedKeyIds) {
    const ids = summary.keys.map((key) => visibleText(String(key.keyId))).join(', ');
    io.stdout(`Receipts were checked against the log keys this archive publishes (${ids}): give the key id its operator gives you with --trusted-key to check it was that archive that signed.\n`);
  }
  const failed = summary.files.filter((f) => f.status === 'failed' || f.status === 'not_sent').length;
  io.stdout(`${summary.files.length - failed} of ${summary.files.length} files are in the archive; receipts and the summary are in ${outDir}\n`);
  if (failed) io.stdout(`${failed} not sent: run the same command again to send them.\n`);
  if (io.interrupt?.aborted) return INTERRUPTED_EXIT;
  return failed ? 1 : 0;
}
