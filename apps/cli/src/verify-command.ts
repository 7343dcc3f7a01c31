import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { terminalJson, visibleText } from '#custodia/text';
import { readCertificatesPem } from '#custodia/timestamp';
import { loadLaterHead, verifyPackage, type PackageVerdict } from '#custodia/verifier';
import { archiveAccess, fetchFor, type AccessIo } from './archive-access.js';
import { fileProblem, reportingFetch } from './failures.js';

/** What the verify command needs of its surroundings (a part of CliIo): the archive's settings only for --against. */
export interface VerifyIo extends AccessIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Draw a progress bar on stderr (a terminal that is watched). */
  progress?: boolean;
  fetch?: typeof fetch;
}

export const VERIFY_USAGE = `  verify <package.zip | folder> [--trusted-key KEYID]... [--tsa-cert FILE.pem]...
         [--against ARCHIVE-URL | HEAD.json] [--json]
      Checks a court package offline, with no database, configuration or network (except
      --against with a URL): the BagIt bag (manifests, Payload-Oxum, tag manifests), every
      original against the SHA-256 its custody events record, every event against its leaf hash
      and inclusion proof, the tree head's signature (--trusted-key refuses any key but those
      given and those they handed over to at a rotation), the RFC 3161 time-stamp (chain to
      --tsa-cert when given), and with --against a consistency proof from the package's head to
      a later one (which --trusted-key binds too); against an archive whose log the token may
      read, also the archive's export.created event of the package (it records the .zip's
      SHA-256). Where the --against archive is the one CUSTODIA_URL names, the token of
      CUSTODIA_TOKEN (or CUSTODIA_TOKEN_FILE) is sent to it; to no other address. One line per
      item, then a verdict: VERIFIED, or INTACT, SIGNER NOT CHECKED without --trusted-key.
      Exit code 0 when everything verifies, 1 when anything fails.`;

const MIB = 1024 * 1024;
/** Problems printed in full; --json has every one. */
const MAX_LISTED = 50;

function bar(done: number, total: number): string {
  const share = total > 0 ? done / total : 1;
  const width = 30;
  const filled = Math.round(share * width);
  return `\r  hashing [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${(done / MIB).toFixed(0)} of ${(total / MIB).toFixed(0)} MiB`;
}

/**
 * The verdict as lines a person reads. Names, ids and problems come from the package, which may be
 * hostile: every line is shown with its hidden characters made visible, so no terminal escape or
 * bidirectional override in a file name can redraw the screen or forge a "VERIFIED".
 */
function printVerdict(v: PackageVerdict, print: (text: string) => void, keyPinned: boolean): void {
  const out = (line: string): void => print(`${visibleText(line.replace(/\n$/, ''))}\n`);
  out(`Package ${v.bag}${v.purpose ? ` (${v.purpose === 'partner' ? 'partner working copy' : 'court package'})` : ''}\n`);
  for (const check of v.checks) {
    out(`  ${check.name.padEnd(12)} ${(check.status === 'ok' ? 'OK' : check.status === 'failed' ? 'FAIL' : 'SKIP').padEnd(5)} ${check.detail}\n`);
  }
  if (v.items.length) out(`Items (${v.items.length}):\n`);
  for (const item of v.items) {
    const what = item.fileName ?? (item.kind === null ? '(no file)' : '');
    const detail = item.ok ? `sha256 ${item.sha256 ? `${item.sha256.slice(0, 16)}…` : '-'}, ${item.events} events proven` : item.problem;
    out(`  ${item.ok ? 'OK  ' : 'FAIL'}  ${item.evidenceId}  ${what}  ${detail}\n`);
  }
  if (v.problems.length) {
    out(`Problems (${v.problems.length}):\n`);
    for (const problem of v.problems.slice(0, MAX_LISTED)) out(`  - ${problem}\n`);
    if (v.problems.length > MAX_LISTED) out(`  ... and ${v.problems.length - MAX_LISTED} more (--json lists them all)\n`);
  }
  const failedItems = v.items.filter((i) => !i.ok).length;
  if (v.ok) {
    // The package's own keys.json can hold any key: whoever made the package could have signed it,
    // so without a pinned key the verdict is that the package is intact, not who made it.
    out(
      `${keyPinned ? 'VERIFIED' : 'INTACT, SIGNER NOT CHECKED'}: ${v.items.length} item(s), ${v.stats.events} custody event(s), ${v.stats.files} files (${(v.stats.bytes / MIB).toFixed(1)} MiB) in ${v.stats.seconds.toFixed(1)} s; ` +
        `tree head size ${v.treeHead?.treeSize} signed by key ${v.treeHead?.keyId}\n`,
    );
    if (!keyPinned) out(`The signing key is the package's own: give the archive's published key id with --trusted-key to check it was the archive that signed.\n`);
  } else {
    const first = v.problems[0] ?? v.items.find((i) => !i.ok)?.problem;
    out(`FAILED: ${v.problems.length} problem(s), ${failedItems} item(s) failed; first: ${first}\n`);
  }
}

/** The PEM of each `--tsa-cert` file, each checked to hold X.509 certificates; a UsageError naming the file otherwise. */
export async function readTsaCertificates(files: readonly string[]): Promise<string[]> {
  const pems: string[] = [];
  for (const file of files) {
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--tsa-cert ${file} cannot be read (${fileProblem(error)})`);
    }
    try {
      readCertificatesPem([pem]);
    } catch (error) {
      throw new UsageError(`--tsa-cert ${file}: ${(error as Error).message}`);
    }
    pems.push(pem);
  }
  return pems;
}

/** `custodia verify`; returns the exit code. */
export async function verifyCommand(args: string[], io: VerifyIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      'trusted-key': { type: 'string', multiple: true },
      'tsa-cert': { type: 'string', multiple: true },
      against: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('verify takes exactly one package (a .zip file or a folder)');
  const trustedKeys = values['trusted-key'] ?? [];
  if (!trustedKeys.every((key) => /^[0-9a-f]{64}$/.test(key))) throw new UsageError('--trusted-key must be a key id: 64 lowercase hex digits');
  const tsaCertificatesPem = await readTsaCertificates(values['tsa-cert'] ?? []);
  const against = values.against;
  const fetchAgainst = against && /^https?:\/\//i.test(against) ? fetchFor(against, await archiveAccess(io), reportingFetch(io.fetch ?? fetch, 'the --against address')) : undefined;
  let lastDraw = 0;
  const verdict = await verifyPackage(positionals[0]!, {
    ...(trustedKeys.length ? { trustedKeyIds: trustedKeys } : {}),
    ...(tsaCertificatesPem.length ? { tsaCertificatesPem } : {}),
    ...(against ? { against: (head) => loadLaterHead(against, head, fetchAgainst) } : {}),
    ...(io.progress
      ? {
          onProgress: (done: number, total: number) => {
            const now = Date.now();
            if (now - lastDraw < 200 && done < total) return;
            lastDraw = now;
            io.stderr(bar(done, total));
          },
        }
      : {}),
  });
  if (io.progress && lastDraw) io.stderr('\n');
  if (values.json) io.stdout(`${terminalJson(verdict, 2)}\n`);
  else printVerdict(verdict, io.stdout, trustedKeys.length > 0);
  return verdict.ok ? 0 : 1;
}

/** Wrong arguments: exit code 2 with the usage. */
export class UsageError extends Error {}
