/**
 * The text formats of a BagIt 1.0 bag (RFC 8493): manifests, bag-info.txt, Payload-Oxum.
 */

export type BagAlgorithm = 'sha256' | 'sha512';
export const BAG_ALGORITHMS: readonly BagAlgorithm[] = ['sha256', 'sha512'];
const DIGEST_LENGTH: Record<BagAlgorithm, number> = { sha256: 64, sha512: 128 };

export const BAGIT_TXT = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';

/** One line of a manifest: a file's path relative to the bag and its digest. */
export interface ManifestEntry {
  path: string;
  digest: string;
}

/** RFC 8493 §2.1.3: CR, LF and % in a manifest path are percent-encoded. */
export function encodeManifestPath(path: string): string {
  return path.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** The inverse of `encodeManifestPath`; other %-sequences stay as they are, as the RFC asks. */
export function decodeManifestPath(path: string): string {
  return path.replace(/%(0D|0A|25)/gi, (_, code: string) => String.fromCharCode(parseInt(code, 16)));
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A manifest's text: `<digest>  <encoded path>` lines sorted by path, LF-terminated. */
export function formatManifest(entries: readonly ManifestEntry[]): string {
  return [...entries]
    .sort((a, b) => byCodePoint(a.path, b.path))
    .map((e) => `${e.digest}  ${encodeManifestPath(e.path)}\n`)
    .join('');
}

/** What is wrong with one line of a manifest, with its line number (1-based). */
export interface ManifestProblem {
  line: number;
  problem: string;
}

/** Reads a manifest strictly; every line that is not `<digest> <path>` is reported, never skipped. */
export function parseManifest(text: string, algorithm: BagAlgorithm): { entries: ManifestEntry[]; problems: ManifestProblem[] } {
  const entries: ManifestEntry[] = [];
  const problems: ManifestProblem[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const digestPattern = new RegExp(`^[0-9a-fA-F]{${DIGEST_LENGTH[algorithm]}}$`);
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const match = /^(\S+)[ \t]+(.+)$/.exec(line);
    if (!match) return problems.push({ line: i + 1, problem: 'is not "<checksum> <file path>"' });
    const [, digest, encodedPath] = match;
    if (!digestPattern.test(digest!)) return problems.push({ line: i + 1, problem: `is not a ${algorithm} checksum` });
    const path = decodeManifestPath(encodedPath!);
    const unsafe = pathProblem(path);
    if (unsafe) return problems.push({ line: i + 1, problem: `names ${JSON.stringify(path)}, ${unsafe}` });
    entries.push({ path, digest: digest!.toLowerCase() });
  });
  return { entries, problems };
}

/** Why a manifest path could reach outside the bag, or undefined when it cannot. */
export function pathProblem(path: string): string | undefined {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'an absolute path';
  if (path.includes('\\')) return 'a path with a backslash';
  if (path.split('/').some((part) => part === '..' || part === '.' || part === '')) return 'a path with an empty, "." or ".." part';
  return undefined;
}

/** bag-info.txt from ordered label/value pairs; a value never spans lines. */
export function formatBagInfo(fields: readonly (readonly [string, string])[]): string {
  return fields.map(([label, value]) => `${label}: ${value.replace(/\s*[\r\n]+\s*/g, ' ').trim()}\n`).join('');
}

/** The labels and values of bag-info.txt (continuation lines joined); a label may repeat. */
export function parseBagInfo(text: string): [string, string][] {
  const fields: [string, string][] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw === '') continue;
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(raw) && last) last[1] = `${last[1]} ${raw.trim()}`;
    else {
      const colon = raw.indexOf(':');
      if (colon > 0) fields.push([raw.slice(0, colon).trim(), raw.slice(colon + 1).trim()]);
    }
  }
  return fields;
}

/** Payload-Oxum: `<octets>.<streams>`. */
export const formatOxum = (bytes: number, files: number): string => `${bytes}.${files}`;

/** Reads a Payload-Oxum value, or null when it is not `<octets>.<streams>`. */
export function parseOxum(value: string | undefined): { bytes: number; files: number } | null {
  const match = /^(\d+)\.(\d+)$/.exec(value ?? '');
  return match ? { bytes: Number(match[1]), files: Number(match[2]) } : null;
}
