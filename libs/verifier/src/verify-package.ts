import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BAG_ALGORITHMS, DigestThread, parseBagInfo, parseManifest, parseOxum, type BagAlgorithm } from '#custodia/bagit';
import {
  canonicalBytes,
  custodyEventShapeProblem,
  eventLeafHash,
  compromisedKeys,
  compromisedKeysNote,
  followHandovers,
  isHashHex,
  leafHash,
  parseHash,
  toHex,
  treeHeadBytes,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
  type CustodyEvent,
  type PublishedKey,
  type SignedTreeHead,
} from '#custodia/custody-core';
import { verifyTimeStampToken } from '#custodia/timestamp';
import { openBag, UnreadablePackageError, type BagSource } from './bag-source.js';

/** A later signed head to check the package's head against (`--against`), with the proof between them. */
export interface LaterHead {
  head: SignedTreeHead;
  /** RFC 9162 consistency proof (hex) from the package's tree size to `head.treeSize`. */
  consistencyProof: string[];
  /** Keys that may have signed it, besides the package's own. */
  keys: PublishedKey[];
  /** The archive's key handovers under it, each with its consistency proof to it: how a pinned key leads to a newer one. */
  handovers?: unknown[];
  /** Looks up the package's `export.created` event in the archive's log (from leaf `from` on), when the later head came from an archive. */
  exportEvent?: (exportId: string, from: number) => Promise<ExportEventLookup>;
  /** Where it came from, for the report. */
  source: string;
}

/** What the archive's log says of the package: its export.created event (untrusted until checked), none, or nothing it would show. */
export type ExportEventLookup = { found: { leafIndex: unknown; leafHash: unknown; event: unknown; inclusionProof: unknown } } | { missing: true } | { unavailable: string };

export interface VerifyOptions {
  /**
   * Refuse a head signed by any other key: the package's own and the later one (`against`). Each
   * key the archive has signed with (after a rotation, the old and the new) may be trusted.
   */
  trustedKeyIds?: readonly string[];
  /** The time-stamping authority's root (or own) certificates, PEM: the token's chain must lead to one. */
  tsaCertificatesPem?: string[];
  /** Fetches or reads a later head (and the proof from the package's head to it): `--against`. */
  against?: (packageHead: SignedTreeHead) => Promise<LaterHead>;
  /** Called as bytes are hashed. */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export type CheckStatus = 'ok' | 'failed' | 'skipped';

/** One area of the package checked as a whole. */
export interface Check {
  name: 'container' | 'bag' | 'manifests' | 'tree-head' | 'events' | 'seal' | 'time-stamp' | 'consistency' | 'recorded';
  status: CheckStatus;
  detail: string;
}

/** One evidence item: its file, its record and its custody events. */
export interface ItemVerdict {
  evidenceId: string;
  /** The packed file's name, null when the item has none in the package. */
  fileName: string | null;
  kind: 'original' | 'preview' | null;
  sha256: string | null;
  events: number;
  ok: boolean;
  /** The first thing that failed for this item. */
  problem?: string;
}

export interface PackageVerdict {
  ok: boolean;
  bag: string;
  purpose: string | null;
  checks: Check[];
  items: ItemVerdict[];
  /** Every failure found, in the order found. */
  problems: string[];
  treeHead: SignedTreeHead | null;
  timestamp: { genTime: string; authority: string | null; chainChecked: boolean } | null;
  stats: { files: number; bytes: number; events: number; seconds: number };
}

/** Per-file cap on the small files read whole (manifests, JSON); larger ones are refused, not read. */
const MAX_TEXT_BYTES = 256 * 1024 * 1024;

interface Digests {
  sha256: string;
  sha512: string;
}

/** An event line as read and checked. */
interface CheckedEvent {
  leafIndex: number;
  event: CustodyEvent | null;
  problem?: string;
}

async function readAll(stream: Readable, limit = MAX_TEXT_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      stream.destroy();
      throw new Error(`is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** An event line is a few KiB; longer is not one (and is not read into memory whole). */
const MAX_EVENT_LINE_BYTES = 16 * 1024 * 1024;

/**
 * The lines of a stream, split at LF only: a CR stays in its line (so the check of the line's
 * bytes sees it, as verify_proofs.py does); a line longer than `max` bytes ends the reading
 * with `tooLong`. A last line without its LF is a line.
 */
async function* linesOf(stream: Readable, max: number): AsyncGenerator<Buffer | 'tooLong'> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, start)) {
      size += at - start;
      if (size > max) break;
      pending.push(chunk.subarray(start, at));
      yield Buffer.concat(pending);
      pending = [];
      size = 0;
      start = at + 1;
    }
    if (size <= max) {
      size += chunk.length - start;
      if (chunk.length > start) pending.push(chunk.subarray(start));
    }
    if (size > max) {
      stream.destroy();
      yield 'tooLong';
      return;
    }
  }
  if (size > 0) yield Buffer.concat(pending);
}

/** More values than one per this many bytes is no file of a package (a bomb of `[0,0,0,...]` that JSON.parse cannot hold). */
const MIN_BYTES_PER_VALUE = 8;

function parseJson(bytes: Buffer, what: string): { value?: unknown; problem?: string } {
  let separators = 0;
  for (let i = bytes.indexOf(0x2c); i !== -1; i = bytes.indexOf(0x2c, i + 1)) separators++;
  if (separators > bytes.length / MIN_BYTES_PER_VALUE) return { problem: `${what} holds more values than any such file does for its size (${separators} in ${bytes.length} bytes)` };
  try {
    return { value: JSON.parse(bytes.toString('utf8')) };
  } catch (error) {
    return { problem: `${what} is not valid JSON (${(error as Error).message})` };
  }
}

/** The seal (PACKAGE-FORMAT.md): the export.sealed event with its proof, and the manifest it seals. */
const SEAL = 'data/custody/seal.json';
const SEALED_MANIFEST = 'data/custody/sealed-manifest-sha256.txt';
/** Each retired key's handover under the head (PACKAGE-FORMAT.md, "Key rotation"). */
const HANDOVERS = 'data/custody/handovers.json';

/** Why trusted keys marked compromised were left out, for a signer that is then not trusted. */
const compromisedNotes = (compromised: ReadonlyMap<string, string>): string => (compromised.size ? `; ${compromisedKeysNote(compromised)}` : '');
/** Packages whose head was signed from this instant on carry a seal (the version that began sealing). */
const SEALED_SINCE = '2026-12-06T05:00:00.000Z';
/** Payload files written after the seal: those that depend on the head signed over it. */
const AFTER_SEAL = /^data\/custody\/(seal\.json|sealed-manifest-sha256\.txt|proofs\.json|tree-head\.(json|tbs|sig|tsr)|keys\.json|handovers\.json|keys\/[0-9a-f]{64}\.pem)$/;

const shortHash = (hex: string | null | undefined): string => (hex ? `${hex.slice(0, 16)}…` : 'none');

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Checks a court package (PACKAGE-FORMAT.md) offline, trusting nothing in it but the keys it is
 * told to trust: the bag (manifests, Payload-Oxum, tag manifests), every file against both
 * manifests, every original against the SHA-256 its custody events record, every event line
 * against its leaf hash and its inclusion proof, the head's signature, the RFC 3161 token, and
 * optionally the head's consistency with a later one. Never throws on a hostile package.
 */
export async function verifyPackage(location: string, options: VerifyOptions = {}): Promise<PackageVerdict> {
  const started = Date.now();
  const verdict: PackageVerdict = {
    ok: false,
    bag: location,
    purpose: null,
    checks: [],
    items: [],
    problems: [],
    treeHead: null,
    timestamp: null,
    stats: { files: 0, bytes: 0, events: 0, seconds: 0 },
  };
  let source: BagSource;
  try {
    source = await openBag(location);
  } catch (error) {
    const message = error instanceof UnreadablePackageError ? error.message : `the package cannot be opened: ${(error as Error).message}`;
    verdict.checks.push({ name: 'container', status: 'failed', detail: message });
    verdict.problems.push(message);
    verdict.stats.seconds = (Date.now() - started) / 1000;
    return verdict;
  }
  try {
    await new PackageCheck(source, options, verdict, location).run();
  } catch (error) {
    // A bug or an I/O failure mid-way must not pass for a verdict: say what broke.
    const message = `the check stopped: ${(error as Error).message}`;
    verdict.problems.push(message);
    verdict.checks.push({ name: 'container', status: 'failed', detail: message });
  } finally {
    await source.close();
  }
  verdict.ok = verdict.problems.length === 0 && verdict.items.every((i) => i.ok);
  verdict.stats.seconds = (Date.now() - started) / 1000;
  return verdict;
}

class PackageCheck {
  private readonly files: Map<string, number>;
  private readonly digests = new Map<string, Digests>();
  /** Files whose bytes differ from a manifest: path -> what differed. */
  private readonly changed = new Map<string, string>();
  private readonly sha512 = new DigestThread(['sha512']);

  constructor(
    private readonly source: BagSource,
    private readonly options: VerifyOptions,
    private readonly verdict: PackageVerdict,
    /** The .zip or folder given: a .zip's own SHA-256 is compared with the archive's export.created event. */
    private readonly location: string,
  ) {
    this.files = new Map(source.files.map((f) => [f.path, f.sizeBytes]));
    verdict.bag = source.name;
    this.trusted = options.trustedKeyIds?.length ? new Set(options.trustedKeyIds) : null;
  }

  private check(name: Check['name'], problems: string[], okDetail: string): void {
    this.verdict.checks.push(problems.length ? { name, status: 'failed', detail: problems[0]! } : { name, status: 'ok', detail: okDetail });
    this.verdict.problems.push(...problems);
  }

  /** A bag-info.txt field by its label (RFC 8493 labels are case-insensitive). */
  private async bagInfo(): Promise<(label: string) => string | undefined> {
    const info = parseBagInfo((await this.text('bag-info.txt'))?.toString('utf8') ?? '');
    return (label) => info.find(([l]) => l.toLowerCase() === label.toLowerCase())?.[1];
  }

  private async text(path: string): Promise<Buffer | null> {
    if (!this.files.has(path)) return null;
    try {
      return await readAll(await this.source.open(path));
    } catch (error) {
      throw new Error(`${path} ${(error as Error).message}`);
    }
  }

  async run(): Promise<void> {
    try {
      await this.checkAll();
    } finally {
      await this.sha512.close();
    }
  }

  private async checkAll(): Promise<void> {
    const containerProblems = [...this.source.problems];
    this.check('container', containerProblems, `${this.source.files.length} files`);
    await this.checkBag();
    const head = await this.checkHead();
    const events = await this.checkEvents(head);
    await this.checkSeal(head);
    await this.checkItems(events);
    await this.checkTimestamp(head);
    await this.checkConsistency(head);
  }

  // --- The bag: structure, manifests, every byte ------------------------------------------------

  private async checkBag(): Promise<void> {
    const problems: string[] = [];
    const bagit = await this.text('bagit.txt');
    if (!bagit) problems.push('bagit.txt is missing: this is not a BagIt bag');
    else if (!/^BagIt-Version: 1\.0\r?\nTag-File-Character-Encoding: UTF-8\r?\n?$/.test(bagit.toString('utf8'))) {
      problems.push('bagit.txt does not declare BagIt-Version 1.0 with UTF-8 tag files');
    }
    if (!this.files.has('bag-info.txt')) problems.push('bag-info.txt is missing');
    const field = await this.bagInfo();
    this.verdict.purpose = field('Custodia-Purpose') ?? null;
    const payload = this.source.files.filter((f) => f.path.startsWith('data/'));
    const oxum = parseOxum(field('Payload-Oxum'));
    const actualBytes = payload.reduce((sum, f) => sum + f.sizeBytes, 0);
    if (!oxum) problems.push('bag-info.txt has no valid Payload-Oxum');
    else if (oxum.files !== payload.length || oxum.bytes !== actualBytes) {
      problems.push(`Payload-Oxum says ${oxum.bytes} bytes in ${oxum.files} files, data/ holds ${actualBytes} bytes in ${payload.length} files`);
    }
    this.check('bag', problems, `BagIt 1.0, Payload-Oxum ${actualBytes}.${payload.length}`);

    const manifestProblems: string[] = [];
    const listed = new Map<string, Partial<Record<BagAlgorithm, string>>>();
    const tagListed = new Map<string, Partial<Record<BagAlgorithm, string>>>();
    const readManifest = async (name: string, algorithm: BagAlgorithm, into: typeof listed, required: boolean): Promise<Set<string> | null> => {
      const bytes = await this.text(name);
      if (!bytes) {
        if (required) manifestProblems.push(`${name} is missing`);
        return null;
      }
      const { entries, problems: lineProblems } = parseManifest(bytes.toString('utf8'), algorithm);
      for (const p of lineProblems) manifestProblems.push(`${name} line ${p.line} ${p.problem}`);
      const paths = new Set<string>();
      for (const e of entries) {
        if (paths.has(e.path)) manifestProblems.push(`${name} lists ${e.path} twice`);
        paths.add(e.path);
        into.set(e.path, { ...into.get(e.path), [algorithm]: e.digest });
      }
      return paths;
    };
    for (const algorithm of BAG_ALGORITHMS) {
      const name = `manifest-${algorithm}.txt`;
      const paths = await readManifest(name, algorithm, listed, true);
      if (!paths) continue;
      for (const f of payload) if (!paths.has(f.path)) manifestProblems.push(`${f.path} is in data/ but not in ${name} (a file was added)`);
      for (const p of paths) {
        if (!p.startsWith('data/')) manifestProblems.push(`${name} lists ${p}, which is not a payload file`);
        else if (!this.files.has(p)) manifestProblems.push(`${p} is listed in ${name} but missing (a file was removed)`);
      }
    }
    const tagFiles = this.source.files.filter((f) => !f.path.startsWith('data/') && !/^tagmanifest-[a-z0-9]+\.txt$/.test(f.path));
    for (const algorithm of BAG_ALGORITHMS) {
      const name = `tagmanifest-${algorithm}.txt`;
      const paths = await readManifest(name, algorithm, tagListed, algorithm === 'sha256');
      if (!paths) continue;
      for (const f of tagFiles) if (!paths.has(f.path)) manifestProblems.push(`${f.path} is not listed in ${name} (a file was added)`);
      for (const p of paths) if (!this.files.has(p)) manifestProblems.push(`${p} is listed in ${name} but missing`);
    }

    // Every byte once: both digests of every file, checked against every manifest that lists it.
    const total = this.source.files.reduce((sum, f) => sum + f.sizeBytes, 0);
    let done = 0;
    for (const file of this.source.files) {
      let digests: Digests;
      try {
        digests = await this.hash(file.path, (n) => {
          done += n;
          this.options.onProgress?.(done, total);
        });
      } catch (error) {
        const what = `cannot be read from the package (${(error as Error).message}): it is damaged`;
        manifestProblems.push(`${file.path} ${what}`);
        this.changed.set(file.path, what);
        continue;
      }
      this.digests.set(file.path, digests);
      const expected = file.path.startsWith('data/') ? listed.get(file.path) : tagListed.get(file.path);
      for (const algorithm of BAG_ALGORITHMS) {
        const want = expected?.[algorithm];
        if (want && want !== digests[algorithm]) {
          const manifest = `${file.path.startsWith('data/') ? '' : 'tag'}manifest-${algorithm}.txt`;
          const what = `its ${algorithm.toUpperCase()} ${shortHash(digests[algorithm])} differs from ${manifest} (${shortHash(want)})`;
          manifestProblems.push(`${file.path}: ${what}`);
          if (!this.changed.has(file.path)) this.changed.set(file.path, what);
        }
      }
    }
    this.verdict.stats.files = this.source.files.length;
    this.verdict.stats.bytes = total;
    this.check('manifests', manifestProblems, `${payload.length} payload and ${tagFiles.length} tag files match SHA-256 and SHA-512 manifests`);
  }

  /** SHA-256 here and SHA-512 on the digest thread: every byte read once, both hashes at once on two cores. */
  private async hash(path: string, onBytes: (n: number) => void): Promise<Digests> {
    const sha256 = createHash('sha256');
    const file = this.sha512.start();
    for await (const chunk of await this.source.open(path)) {
      sha256.update(chunk as Buffer);
      await this.sha512.update(file, chunk as Buffer);
      onBytes((chunk as Buffer).length);
    }
    const { sha512 } = await this.sha512.end(file);
    return { sha256: sha256.digest('hex'), sha512 };
  }

  // --- The signed head ---------------------------------------------------------------------------

  private keys: PublishedKey[] = [];

  private async checkHead(): Promise<SignedTreeHead | null> {
    const problems: string[] = [];
    const bytes = await this.text('data/custody/tree-head.json');
    const keysBytes = await this.text('data/custody/keys.json');
    if (!bytes) problems.push('data/custody/tree-head.json is missing');
    if (!keysBytes) problems.push('data/custody/keys.json is missing');
    let head: SignedTreeHead | null = null;
    if (bytes) {
      const { value, problem } = parseJson(bytes, 'tree-head.json');
      if (problem) problems.push(problem);
      else if (typeof value !== 'object' || value === null || Array.isArray(value)) problems.push('tree-head.json is not a signed tree head');
      else head = value as SignedTreeHead;
    }
    if (keysBytes) {
      const { value, problem } = parseJson(keysBytes, 'keys.json');
      if (problem) problems.push(problem);
      else if (!Array.isArray(value)) problems.push('keys.json is not a list of keys');
      else this.keys = value.filter((k): k is PublishedKey => typeof k === 'object' && k !== null && typeof k.keyId === 'string' && typeof k.publicKeyPem === 'string');
    }
    let handedOver = '';
    if (head && bytes) {
      const verdict = verifyTreeHead(head, this.keys);
      if (!verdict.valid) problems.push(`the tree head does not verify: ${verdict.reason}`);
      else handedOver = await this.checkSigner(head, problems);
      if (verdict.valid && !canonicalBytes(head).equals(bytes)) problems.push('tree-head.json is not the RFC 8785 form of the signed head');
      const field = await this.bagInfo();
      if (field('Custodia-Tree-Size') !== undefined && field('Custodia-Tree-Size') !== String(head.treeSize)) problems.push('bag-info.txt names another tree size than tree-head.json');
      if (field('Custodia-Root-Hash') !== undefined && field('Custodia-Root-Hash') !== head.rootHash) problems.push('bag-info.txt names another root hash than tree-head.json');
      if (field('Custodia-Key-Id') !== undefined && field('Custodia-Key-Id') !== head.keyId) problems.push('bag-info.txt names another key than tree-head.json');
      const tbs = await this.text('data/custody/tree-head.tbs');
      if (tbs && verdict.valid && !tbs.equals(treeHeadBytes(head))) problems.push('tree-head.tbs is not the signed bytes of tree-head.json');
      const sig = await this.text('data/custody/tree-head.sig');
      if (sig && typeof head.signature === 'string' && !sig.equals(Buffer.from(head.signature, 'base64'))) problems.push('tree-head.sig is not the signature in tree-head.json');
    }
    for (const key of this.keys) {
      const pem = await this.text(`data/custody/keys/${key.keyId}.pem`);
      if (pem && pem.toString('utf8').trim() !== key.publicKeyPem.trim()) problems.push(`keys/${key.keyId}.pem differs from keys.json`);
    }
    const valid = problems.length === 0 && head !== null;
    this.check('tree-head', problems, head ? `size ${head.treeSize}, root ${shortHash(head.rootHash)}, signed by key ${shortHash(head.keyId)} at ${head.timestamp}${handedOver}` : '');
    // Kept in the verdict (and its --json) only when it is one: a hostile tree-head.json may be anything.
    this.verdict.treeHead = valid ? head : null;
    return valid ? head : null;
  }

  // --- Events and their proofs -------------------------------------------------------------------

  private async checkEvents(head: SignedTreeHead | null): Promise<Map<string, CheckedEvent[]>> {
    const bySubject = new Map<string, CheckedEvent[]>();
    const problems: string[] = [];
    const proofsBytes = await this.text('data/custody/proofs.json');
    if (!proofsBytes) problems.push('data/custody/proofs.json is missing');
    if (!this.files.has('data/custody/events.jsonl')) problems.push('data/custody/events.jsonl is missing');
    const proofs = new Map<number, { leafHash: string; inclusionProof: string[] }>();
    if (proofsBytes) {
      const { value, problem } = parseJson(proofsBytes, 'proofs.json');
      if (problem) problems.push(problem);
      else if (!Array.isArray(value)) problems.push('proofs.json is not a list');
      else {
        value.forEach((p, k) => {
          const ok = typeof p === 'object' && p !== null && Number.isSafeInteger(p.leafIndex) && isHashHex(p.leafHash) && Array.isArray(p.inclusionProof) && p.inclusionProof.every(isHashHex);
          if (!ok) problems.push(`proofs.json entry ${k} is not { leafIndex, leafHash, inclusionProof }`);
          else if (proofs.has(p.leafIndex)) problems.push(`proofs.json lists leaf ${p.leafIndex} twice`);
          else proofs.set(p.leafIndex, { leafHash: p.leafHash, inclusionProof: p.inclusionProof });
        });
      }
    }
    const seen = new Set<number>();
    let count = 0;
    if (this.files.has('data/custody/events.jsonl')) {
      let lineNo = 0;
      let previous = -1;
      for await (const bytes of linesOf(await this.source.open('data/custody/events.jsonl'), MAX_EVENT_LINE_BYTES)) {
        lineNo++;
        if (bytes === 'tooLong') {
          problems.push(`events.jsonl line ${lineNo} is longer than ${MAX_EVENT_LINE_BYTES} bytes: no event is; the rest was not read`);
          break;
        }
        if (bytes.length === 0) {
          problems.push(`events.jsonl line ${lineNo} is empty: the file holds one event per line, nothing else`);
          continue;
        }
        count++;
        const { value, problem } = parseJson(bytes, `events.jsonl line ${lineNo}`);
        const event = (problem ? null : value) as CustodyEvent | null;
        const index = event && Number.isSafeInteger(event.index) ? event.index : NaN;
        const subjectId = event?.subject && typeof event.subject.id === 'string' ? event.subject.id : null;
        const fail = (message: string) => {
          const full = `events.jsonl line ${lineNo}${Number.isNaN(index) ? '' : ` (leaf ${index})`}: ${message}`;
          problems.push(full);
          return full;
        };
        let eventProblem: string | undefined;
        if (problem || !event || typeof event !== 'object') eventProblem = fail(problem ?? 'is not an event');
        else if (Number.isNaN(index)) eventProblem = fail('has no index');
        else {
          if (index <= previous) eventProblem = fail(`comes after leaf ${previous}: the lines are out of order (reordered?)`);
          previous = Math.max(previous, index);
          seen.add(index);
          const proof = proofs.get(index);
          const computed = toHex(leafHash(bytes));
          let canonical = false;
          try {
            canonical = canonicalBytes(event).equals(bytes);
          } catch {
            canonical = false;
          }
          if (!proof) eventProblem ??= fail('has no inclusion proof in proofs.json');
          else if (computed !== proof.leafHash) eventProblem ??= fail(`was altered: it hashes to leaf ${shortHash(computed)}, the log's leaf is ${shortHash(proof.leafHash)}`);
          else if (!canonical) eventProblem ??= fail('is not in RFC 8785 form');
          else if (head && !verifyInclusion(index, head.treeSize, parseHash(computed), proof.inclusionProof.map(parseHash), parseHash(head.rootHash))) {
            eventProblem ??= fail(`its inclusion proof does not lead to the tree head's root at size ${head.treeSize} (a proof hash was changed?)`);
          } else if (!head) {
            eventProblem ??= `leaf ${index}: its inclusion proof was not checked, the tree head is not valid`;
          }
        }
        if (subjectId !== null) {
          const list = bySubject.get(subjectId) ?? [];
          list.push({ leafIndex: index, event, ...(eventProblem ? { problem: eventProblem } : {}) });
          bySubject.set(subjectId, list);
        }
      }
    }
    for (const index of proofs.keys()) if (!seen.has(index)) problems.push(`leaf ${index} has a proof in proofs.json but no line in events.jsonl (an event was dropped)`);
    if (!head && count > 0) problems.push('no inclusion proof was checked: the tree head is not valid');
    this.verdict.stats.events = count;
    this.check('events', problems, `${count} events: canonical, hashed to their leaves, included under the signed head`);
    return bySubject;
  }

  // --- Items -------------------------------------------------------------------------------------

  private async checkItems(events: Map<string, CheckedEvent[]>): Promise<void> {
    const folders = new Map<string, string[]>();
    for (const f of this.source.files) {
      const match = /^data\/evidence\/([^/]+)\/(.+)$/.exec(f.path);
      if (match) {
        const names = folders.get(match[1]!);
        if (names) names.push(match[2]!);
        else folders.set(match[1]!, [match[2]!]);
      }
    }
    const partner = this.verdict.purpose === 'partner';
    for (const [id, names] of folders) {
      const itemEvents = events.get(id) ?? [];
      const problems: string[] = [];
      type RecordJson = { id?: unknown; sha256?: unknown };
      let record = null as RecordJson | null;
      if (!names.includes('record.json')) problems.push('record.json is missing');
      else {
        const bytes = await this.text(`data/evidence/${id}/record.json`);
        const { value, problem } = parseJson(bytes ?? Buffer.alloc(0), 'record.json');
        if (problem) problems.push(problem);
        else record = value as RecordJson;
        if (this.changed.has(`data/evidence/${id}/record.json`)) problems.push(`record.json changed: ${this.changed.get(`data/evidence/${id}/record.json`)}`);
        if (record && record.id !== id) problems.push(`record.json describes ${String(record.id)}, not ${id}`);
      }
      const originals = names.filter((n) => n.startsWith('original/'));
      const files = partner ? names.filter((n) => n === 'preview.jpg') : originals;
      const unexpected = names.filter((n) => n !== 'record.json' && !files.includes(n));
      if (unexpected.length) problems.push(`unexpected file(s) ${unexpected.join(', ')}`);
      if (!partner && files.length !== 1) problems.push(files.length ? 'more than one original' : 'the original is missing');
      const previewEvent = itemEvents.find((e) => !e.problem && e.event?.action === 'evidence.derivative_created' && e.event.details?.['kind'] === 'preview');
      if (partner && files.length === 0 && previewEvent) {
        problems.push(`the preview is missing, though the log records one (SHA-256 ${shortHash(String(previewEvent.event!.details['sha256']))})`);
      }
      const fileName = files[0] ?? null;
      const path = fileName ? `data/evidence/${id}/${fileName}` : null;
      const digest = path ? this.digests.get(path) : undefined;
      if (path && this.changed.has(path)) problems.unshift(`${partner ? 'preview' : 'original'}: ${this.changed.get(path)}: the file changed`);
      if (!partner && digest && record && typeof record.sha256 === 'string' && record.sha256 !== digest.sha256) {
        problems.push(`original: its SHA-256 ${shortHash(digest.sha256)} differs from record.json (${shortHash(record.sha256)})`);
      }
      const badEvent = itemEvents.find((e) => e.problem);
      if (badEvent) problems.push(badEvent.problem!);
      if (digest) {
        const good = itemEvents.filter((e) => !e.problem && e.event);
        const bound = partner
          ? good.some((e) => e.event!.action === 'evidence.derivative_created' && e.event!.details?.['kind'] === 'preview' && e.event!.details?.['sha256'] === digest.sha256)
          : good.some((e) => e.event!.action === 'evidence.submitted' && e.event!.subject.sha256 === digest.sha256);
        if (!bound) {
          problems.push(
            partner
              ? `preview: no proven evidence.derivative_created event records its SHA-256 ${shortHash(digest.sha256)}`
              : `original: no proven evidence.submitted event records its SHA-256 ${shortHash(digest.sha256)} (the file is not the one received)`,
          );
        }
      }
      this.verdict.items.push({
        evidenceId: id,
        fileName: fileName ? fileName.replace(/^original\//, '') : null,
        kind: fileName ? (partner ? 'preview' : 'original') : null,
        sha256: digest?.sha256 ?? null,
        events: itemEvents.length,
        ok: problems.length === 0,
        ...(problems.length ? { problem: problems[0] } : {}),
      });
    }
    // An item whose folder is gone still shows through its events.
    for (const [subjectId, list] of events) {
      if (folders.has(subjectId) || !list.some((e) => e.event?.subject?.type === 'evidence')) continue;
      this.verdict.items.push({ evidenceId: subjectId, fileName: null, kind: null, sha256: null, events: list.length, ok: false, problem: 'has custody events but no folder in data/evidence (removed?)' });
    }
  }

  /** The pinned keys and those they handed over to (handovers.json); null when none is pinned. */
  private trusted: Set<string> | null = null;
  /** The package's handovers.json, as read. */
  private handovers: unknown[] = [];
  /** Why the package's signer is not trusted on its own, when a later head may yet vouch for its head (`--against`). */
  private signerDoubt: string | null = null;

  /**
   * The head's signer, its signature already checked: a pinned key, or one a pinned key handed
   * over to. handovers.json (absent in packages made before keys signed handovers) is read
   * whether or not keys are pinned: a handover that does not hold is a fault of the package.
   * Adds what fails to `problems`; answers the detail to show.
   */
  private async checkSigner(head: SignedTreeHead, problems: string[]): Promise<string> {
    const pinned = this.options.trustedKeyIds ?? [];
    let handovers: unknown[] = [];
    const bytes = await this.text(HANDOVERS);
    if (bytes) {
      const { value, problem } = parseJson(bytes, 'handovers.json');
      if (problem || !Array.isArray(value)) problems.push(problem ?? 'handovers.json is not a list of key handovers');
      else handovers = value;
    }
    this.handovers = handovers;
    const chain = followHandovers(pinned, handovers, this.keys, head);
    problems.push(...chain.problems.map((p) => `handovers.json: ${p}`));
    // A package made after its key was marked cannot be signed by it: the archive signs with its active key.
    const since = compromisedKeys(this.keys).get(head.keyId);
    if (since) {
      problems.push(`the tree head is signed by key ${head.keyId}, which keys.json marks compromised since ${since}: a head it signed proves nothing on its own`);
      return '';
    }
    if (!this.trusted) return '';
    this.trusted = chain.trusted;
    if (!this.trusted.has(head.keyId)) {
      const doubt = `the tree head is signed by key ${head.keyId}, not ${this.trustedKeys()}${handovers.length ? ' nor any key they handed over to' : ''}${compromisedNotes(chain.compromised)}`;
      // A key made after the package (a court given the archive's current key) cannot be in it:
      // the head may still stand on a later head that key signed (checkConsistency decides).
      if (this.options.against) {
        this.signerDoubt = doubt;
        return `; not by a trusted key: it must stand on the later head (--against)`;
      }
      problems.push(doubt);
      return '';
    }
    const reached = [...chain.trusted].filter((k) => !pinned.includes(k));
    return reached.includes(head.keyId) ? `, a key the trusted key handed over to (${reached.length} handover${reached.length === 1 ? '' : 's'} followed)` : '';
  }

  /** Whether a head signed by `keyId` may be taken: any key when none is pinned, else a pinned one or one it handed over to. */
  private trusts(keyId: string): boolean {
    return !this.trusted || this.trusted.has(keyId);
  }

  private trustedKeys(): string {
    const pinned = this.options.trustedKeyIds ?? [];
    return pinned.length === 1 ? `the trusted key ${pinned[0]}` : `any of the trusted keys ${pinned.join(', ')}`;
  }

  // --- The seal: the payload packed before the head, recorded in the log ------------------------

  private async checkSeal(head: SignedTreeHead | null): Promise<void> {
    const sealBytes = await this.text(SEAL);
    const manifestBytes = await this.text(SEALED_MANIFEST);
    if (!sealBytes && !manifestBytes) {
      // The head's time is signed: a package on a head from after seals began had one, removed since.
      if (head && Date.parse(head.timestamp) >= Date.parse(SEALED_SINCE)) {
        this.check('seal', [`the package has no seal, though its head was signed at ${head.timestamp}, after packages were sealed (${SEALED_SINCE}): seal.json and the sealed manifest were removed`], '');
        return;
      }
      this.verdict.checks.push({
        name: 'seal',
        status: 'skipped',
        detail: "no seal (a package made before 2026-12-06): its records and list of events are tied to the log only through the .zip's SHA-256 in its export.created event",
      });
      return;
    }
    const problems: string[] = [];
    if (!sealBytes) problems.push(`${SEAL} is missing, though the package has a sealed manifest`);
    if (!manifestBytes) problems.push(`${SEALED_MANIFEST} is missing, though the package has a seal`);
    let leafIndex: number | null = null;
    if (sealBytes) {
      const { value, problem } = parseJson(sealBytes, 'seal.json');
      const entry = value as { leafIndex?: unknown; leafHash?: unknown; inclusionProof?: unknown; event?: unknown } | null;
      if (problem) problems.push(problem);
      else if (
        typeof entry !== 'object' || entry === null || !Number.isSafeInteger(entry.leafIndex) || !isHashHex(entry.leafHash) ||
        !Array.isArray(entry.inclusionProof) || !entry.inclusionProof.every(isHashHex) || typeof entry.event !== 'object' || entry.event === null
      ) {
        problems.push('seal.json is not { leafIndex, leafHash, inclusionProof, event }');
      } else {
        leafIndex = entry.leafIndex as number;
        const event = entry.event as CustodyEvent;
        let bytes: Buffer | null = null;
        try {
          bytes = canonicalBytes(event);
        } catch (error) {
          problems.push(`seal.json: its event has no RFC 8785 form (${(error as Error).message})`);
        }
        if (bytes && toHex(leafHash(bytes)) !== entry.leafHash) problems.push('seal.json: its event does not hash to its leafHash (the event was altered)');
        else if (bytes && head && !verifyInclusion(leafIndex, head.treeSize, leafHash(bytes), (entry.inclusionProof as string[]).map(parseHash), parseHash(head.rootHash))) {
          problems.push(`seal.json: the inclusion proof of leaf ${leafIndex} does not lead to the signed head`);
        }
        if (event.index !== leafIndex) problems.push(`seal.json: the event's index is not its leafIndex ${leafIndex}`);
        if (event.action !== 'export.sealed') problems.push(`seal.json holds a ${String(event.action)} event, not export.sealed`);
        const exportId = (await this.bagInfo())('External-Identifier');
        if (event.subject?.type !== 'export' || event.subject.id !== exportId) {
          problems.push(`the seal is of export ${String(event.subject?.id)}, not of this package (External-Identifier ${String(exportId)})`);
        }
        const digest = this.digests.get(SEALED_MANIFEST)?.sha256;
        if (digest && event.subject?.sha256 !== digest) problems.push(`${SEALED_MANIFEST} is not the manifest the log sealed (its SHA-256 differs from the export.sealed event's)`);
      }
    }
    let sealedCount = 0;
    if (manifestBytes) {
      const { entries, problems: lineProblems } = parseManifest(manifestBytes.toString('utf8'), 'sha256');
      for (const p of lineProblems) problems.push(`${SEALED_MANIFEST} line ${p.line} ${p.problem}`);
      const sealed = new Set<string>();
      for (const { path, digest } of entries) {
        sealed.add(path);
        const actual = this.digests.get(path);
        if (!this.files.has(path)) problems.push(`${path} was sealed but is missing (removed)`);
        else if (actual && actual.sha256 !== digest) problems.push(`${path} is not what the log sealed: its SHA-256 ${shortHash(actual.sha256)}, sealed ${shortHash(digest)}`);
      }
      sealedCount = sealed.size;
      for (const f of this.source.files) {
        if (f.path.startsWith('data/') && !sealed.has(f.path) && !AFTER_SEAL.test(f.path)) problems.push(`${f.path} was not sealed: it was added after the package was made`);
      }
    }
    this.check('seal', problems, `${sealedCount} payload files (originals, records, events) are those the log's export.sealed event (leaf ${leafIndex}) records`);
  }

  // --- The RFC 3161 time-stamp ---------------------------------------------------------------------

  private async checkTimestamp(head: SignedTreeHead | null): Promise<void> {
    const token = await this.text('data/custody/tree-head.tsr');
    const declared = (await this.bagInfo())('Custodia-Timestamp-Token');
    if (!token) {
      if (declared === 'yes') this.check('time-stamp', ['bag-info.txt says the head was time-stamped, but tree-head.tsr is missing (removed?)'], '');
      // Asked to check a time-stamp's chain: a package without one fails rather than pass unstamped
      // (a token removed, with bag-info.txt edited to match, looks like an unreachable authority).
      else if (this.options.tsaCertificatesPem?.length) {
        this.check('time-stamp', ['the package carries no RFC 3161 time-stamp, though --tsa-cert asks for one (removed, or the authority did not answer when it was made)'], '');
      } else this.verdict.checks.push({ name: 'time-stamp', status: 'skipped', detail: 'the package carries no RFC 3161 time-stamp' });
      return;
    }
    const data = await this.text('data/custody/tree-head.json');
    const result = await verifyTimeStampToken(token, { data: data ?? Buffer.alloc(0), trustedCertificatesPem: this.options.tsaCertificatesPem });
    const problems = result.valid ? [] : [`the RFC 3161 time-stamp does not verify: ${result.reason}`];
    if (result.valid && head && result.genTimeDate && result.genTimeDate.getTime() + 5 * 60_000 < Date.parse(head.timestamp)) {
      problems.push(`the time-stamp (${result.genTimeDate.toISOString()}) is older than the head it stamps (${head.timestamp})`);
    }
    if (result.genTimeDate) this.verdict.timestamp = { genTime: result.genTimeDate.toISOString(), authority: result.tsaName ?? result.signer?.subject ?? null, chainChecked: result.chainChecked };
    this.check(
      'time-stamp',
      problems,
      `${result.genTimeDate?.toISOString()} by ${result.signer?.subject ?? 'an unnamed authority'}; ${result.chainChecked ? 'chain to the given certificate checked' : 'chain NOT checked (give --tsa-cert)'}`,
    );
  }

  // --- Consistency with a later head -------------------------------------------------------------

  private async checkConsistency(head: SignedTreeHead | null): Promise<void> {
    if (!this.options.against) {
      this.verdict.checks.push({ name: 'consistency', status: 'skipped', detail: 'no later head given (--against)' });
      return;
    }
    if (!head) {
      this.check('consistency', ['the package has no valid tree head to compare with a later one'], '');
      return;
    }
    let later: LaterHead;
    try {
      later = await this.options.against(head);
    } catch (error) {
      this.check('consistency', [`no later head to compare with: ${(error as Error).message}`, ...(this.signerDoubt ? [this.signerDoubt] : [])], '');
      return;
    }
    const problems: string[] = [];
    const keys = [...this.keys, ...later.keys];
    // The archive's keys may mark a key compromised since the package was made.
    const marked = compromisedKeys(keys);
    const signed = verifyTreeHead(later.head, keys);
    let refused = new Map<string, string>();
    /** Whether the package's own signer is still trusted once the archive's marks count. */
    let signerTrusted = !this.options.trustedKeyIds?.length;
    if (signed.valid && this.trusted) {
      // The trust is followed again from the pinned keys with the archive's marks: a handover in
      // the package by a key marked since is not followed any more.
      const inPackage = followHandovers(this.options.trustedKeyIds ?? [], this.handovers, keys, head);
      signerTrusted = inPackage.trusted.has(head.keyId);
      // Keys rotated since the package: the archive's handovers lead from a trusted key to the later head's.
      const chain = followHandovers(inPackage.trusted, later.handovers ?? [], keys, later.head);
      problems.push(...chain.problems.map((p) => `the later head's ${p}`));
      this.trusted = chain.trusted;
      refused = new Map([...inPackage.compromised, ...chain.compromised]);
    }
    if (!signed.valid) problems.push(`the later head from ${later.source} does not verify: ${signed.reason}`);
    else if (marked.has(later.head.keyId)) {
      problems.push(`the later head from ${later.source} is signed by key ${later.head.keyId}, which the archive marks compromised since ${marked.get(later.head.keyId)}`);
    } else if (!this.trusts(later.head.keyId)) {
      problems.push(`the later head from ${later.source} is signed by key ${later.head.keyId}, not ${this.trustedKeys()}${compromisedNotes(refused)}`);
    } else if (later.head.treeSize < head.treeSize) problems.push(`the later head (size ${later.head.treeSize}) is older than the package's (size ${head.treeSize})`);
    else if (
      !Array.isArray(later.consistencyProof) ||
      !later.consistencyProof.every(isHashHex) ||
      !verifyConsistency(head.treeSize, later.head.treeSize, later.consistencyProof.map(parseHash), parseHash(head.rootHash), parseHash(later.head.rootHash))
    ) {
      problems.push(`the log at size ${later.head.treeSize} (${later.source}) does not extend the package's head at size ${head.treeSize}: the log was rewritten or forked`);
    }
    // The package's head did not stand on its own signature: say why, beside what failed here.
    if (problems.length && this.signerDoubt) problems.push(this.signerDoubt);
    const signerSince = marked.get(head.keyId);
    this.check(
      'consistency',
      problems,
      `the log at size ${later.head.treeSize} (${later.source}) extends this package's head` +
        (signerSince
          ? `; the package's signer ${head.keyId} was marked compromised at ${signerSince}, after the package was made: its head stands on this later head, not on that key's signature`
          : !signerTrusted
            ? `; the package's signer ${head.keyId} is not a trusted key nor one a trusted key handed over to: its head stands on this later head, signed by a trusted key`
            : ''),
    );
    if (problems.length === 0) await this.checkRecorded(head, later);
  }

  /**
   * The archive's own record of the package: its export.created event, proved under the later
   * head, names this package's head and (for a .zip) the .zip's SHA-256. This settles what the seal
   * cannot: a package rebuilt on an older head from a public log, its seal left out.
   */
  private async checkRecorded(head: SignedTreeHead, later: LaterHead): Promise<void> {
    const skip = (detail: string): void => void this.verdict.checks.push({ name: 'recorded', status: 'skipped', detail });
    if (!later.exportEvent) return skip('the later head came from a file: the package\'s export.created event was not looked up (give the archive\'s URL)');
    const exportId = (await this.bagInfo())('External-Identifier');
    if (!exportId) return this.check('recorded', ['bag-info.txt names no External-Identifier: the archive\'s record of the package cannot be looked up'], '');
    let lookup: ExportEventLookup;
    try {
      lookup = await later.exportEvent(exportId, head.treeSize);
    } catch (error) {
      return this.check('recorded', [`the archive's log could not be read for the package's export.created event: ${(error as Error).message}`], '');
    }
    if ('unavailable' in lookup) return skip(lookup.unavailable);
    if ('missing' in lookup) {
      return this.check(
        'recorded',
        [`the archive's log holds no export.created event for export ${exportId} between sizes ${head.treeSize} and ${later.head.treeSize}: the archive did not make this package from this head`],
        '',
      );
    }
    const { leafIndex, leafHash, event, inclusionProof } = lookup.found;
    const problems: string[] = [];
    const shape = custodyEventShapeProblem(event);
    const proven =
      !shape &&
      Number.isSafeInteger(leafIndex) &&
      leafHash === toHex(eventLeafHash(event as CustodyEvent)) &&
      Array.isArray(inclusionProof) &&
      inclusionProof.every(isHashHex) &&
      verifyInclusion(leafIndex as number, later.head.treeSize, parseHash(leafHash), inclusionProof.map(parseHash), parseHash(later.head.rootHash));
    if (!proven) problems.push(`the archive's export.created event for export ${exportId} is not proved under its head at size ${later.head.treeSize}${shape ? ` (${shape})` : ''}`);
    const recorded = event as CustodyEvent;
    if (proven && (recorded.details['treeSize'] !== head.treeSize || recorded.details['rootHash'] !== head.rootHash)) {
      problems.push(`the archive's export.created event (leaf ${String(leafIndex)}) names the head at size ${String(recorded.details['treeSize'])}, not this package's (size ${head.treeSize})`);
    }
    const zip = (await stat(this.location)).isFile();
    const zipSha256 = zip ? await fileSha256(this.location) : null;
    if (proven && zipSha256 && recorded.subject.sha256 !== zipSha256) {
      problems.push(`the .zip's SHA-256 ${shortHash(zipSha256)} is not the one the archive's export.created event (leaf ${String(leafIndex)}) records (${shortHash(recorded.subject.sha256)}): this is not the file the archive made`);
    }
    this.check(
      'recorded',
      problems,
      `the archive's export.created event (leaf ${String(leafIndex)}) records this head${zipSha256 ? ' and this .zip\'s SHA-256' : '; the .zip\'s SHA-256 was not compared (a folder was given)'}`,
    );
  }
}
