// Shared by specs (libs/verifier, libs/exports/src/verify-proofs.spec.ts): small court and partner
// packages built exactly as libs/exports/PACKAGE-FORMAT.md describes, independently of the
// exporter, so readers of the format are checked against the format and not against our writer.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ZipArchive } from 'archiver';
import { BagWriter } from '#custodia/bagit';
import {
  MemoryTree,
  canonicalBytes,
  generateSigningKey,
  proofToHex,
  signTreeHead,
  toHex,
  treeHeadBytes,
  type SigningKey,
  type TreeHead,
} from '#custodia/custody-core';

// ---- A small log and the package of one case's selection --------------------------------------

export const CASE_ID = '5f0c2a7e-3b1d-4c8e-9a6f-2d4b8e1c7a90';
export const OTHER_CASE_ID = '91d3e6b2-7c4a-4f1e-8b2d-6a0c9e3f5b17';
export const DOCUMENTER = { id: 'a3f1c9e2-5b7d-4e8a-9c1f-0d2e4b6a8c13', role: 'documenter' };
export const INVESTIGATOR = { id: 'b8e2d4f6-1a3c-4b5e-8d7f-9e0a2c4b6d21', role: 'investigator' };
export const SYSTEM = { id: 'system', role: 'system' };

/** The bag folder's name, as the exporter names it (case id prefix, bagging time). */
export const BAG_NAME = 'custodia-5f0c2a7e-20261124T100000Z';
export const BAGGING_TIME = new Date('2026-11-24T10:00:00.000Z');

export interface Item {
  id: string;
  fileName: string;
  bytes: Buffer;
  mediaType: string;
  /** The preview a partner package carries; none for items without one. */
  preview?: Buffer;
}

/** A JPEG-looking preview: SOI, random bytes, EOI. */
const jpeg = (size: number): Buffer => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xdb]), randomBytes(size), Buffer.from([0xff, 0xd9])]);

export const ITEMS: Item[] = [
  { id: '0e6b1f3a-8c2d-4e7f-a1b3-5c9d2e8f4a61', fileName: 'IMG_2041.jpg', bytes: randomBytes(3000), mediaType: 'image/jpeg', preview: jpeg(800) },
  // A sanitised name may hold "%": manifests then write it as %25 (RFC 8493 §2.1.3). No preview.
  { id: '7d2c9a4e-1f6b-4a3d-8e5c-b0f2a7d1c936', fileName: 'звіт 100% ОСББ.pdf', bytes: randomBytes(1200), mediaType: 'application/pdf' },
  { id: 'c4a8e1d7-2b9f-4c6a-9d3e-7f1b5a0c2e84', fileName: 'вибух 😮 відео.mp4', bytes: randomBytes(5000), mediaType: 'video/mp4', preview: jpeg(600) },
];

export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
export const sha512 = (bytes: Uint8Array | string): string => createHash('sha512').update(bytes).digest('hex');

export type EventFields = Record<string, unknown> & { caseId: string | null };
export type Event = EventFields & { index: number };

/** Custody events of two cases and the system, interleaved as a real log is, in leaf order. */
export function logEvents(): Event[] {
  const events: EventFields[] = [];
  const at = (minute: number, second = 5) => new Date(Date.UTC(2026, 10, 24, 9, minute, second, 123)).toISOString();
  const other = (minute: number) =>
    events.push({
      action: 'evidence.viewed',
      at: at(minute),
      actor: INVESTIGATOR,
      caseId: OTHER_CASE_ID,
      subject: { type: 'evidence', id: '3b7e0d1a-9c4f-4d2b-8a6e-1f5c3d7b9e02' },
      details: {},
    });
  events.push({ action: 'user.created', at: at(0), actor: SYSTEM, caseId: null, subject: { type: 'user', id: DOCUMENTER.id }, details: { role: 'documenter' } });
  events.push({ action: 'case.created', at: at(1), actor: INVESTIGATOR, caseId: CASE_ID, subject: { type: 'case', id: CASE_ID }, details: { title: 'Обстріл 14.03' } });
  ITEMS.forEach((item, i) => {
    other(2 + i * 10);
    events.push({
      action: 'evidence.submitted',
      at: at(3 + i * 10),
      actor: DOCUMENTER,
      caseId: CASE_ID,
      subject: { type: 'evidence', id: item.id, sha256: sha256(item.bytes) },
      details: { sizeBytes: item.bytes.length, mediaType: item.mediaType, clientSha256Matched: true },
      reason: 'Знято на місці, "як є"\nпередано через Signal 📷',
    });
    events.push({
      action: 'evidence.metadata_extracted',
      at: at(4 + i * 10),
      actor: SYSTEM,
      caseId: CASE_ID,
      subject: { type: 'evidence', id: item.id, sha256: sha256(item.bytes) },
      // Numbers that exercise ECMAScript formatting in RFC 8785: fractions, tiny and huge values.
      details: { onBehalfOf: DOCUMENTER.id, exposureSeconds: 0.000125, fNumber: 1.8, focalLengthMm: 4.25, maxValue: 1e21, flags: [] },
    });
    if (item.preview) {
      // What binds a partner package's preview.jpg to its item.
      events.push({
        action: 'evidence.derivative_created',
        at: at(4 + i * 10, 35),
        actor: SYSTEM,
        caseId: CASE_ID,
        subject: { type: 'evidence', id: item.id, sha256: sha256(item.bytes) },
        details: { kind: 'preview', sha256: sha256(item.preview), sizeBytes: item.preview.length, mediaType: 'image/jpeg' },
      });
    }
    other(5 + i * 10);
    events.push({
      action: 'evidence.viewed',
      at: at(6 + i * 10),
      actor: INVESTIGATOR,
      caseId: CASE_ID,
      subject: { type: 'evidence', id: item.id },
      details: {},
    });
  });
  // keyB hands over to keyA: the package carries keyB's handover (handovers.json).
  events.push({ action: 'key.rotated', at: at(40), actor: SYSTEM, caseId: null, subject: { type: 'key', id: keyA.keyId }, details: { previousKeyId: keyB.keyId, keyId: keyA.keyId } });
  events.push({ action: 'evidence.verified', at: at(41), actor: INVESTIGATOR, caseId: CASE_ID, subject: { type: 'evidence', id: ITEMS[0]!.id }, details: { matched: true } });
  // Appended after the head the package carries: not in the package.
  events.push({ action: 'export.created', at: at(42), actor: INVESTIGATOR, caseId: CASE_ID, subject: { type: 'export', id: 'e1' }, details: {} });
  return events.map((event, index): Event => ({ index, ...event }));
}

export const keyA = generateSigningKey(); // the archive's current key
export const keyB = generateSigningKey(); // an older key, still published
export const outsider = generateSigningKey(); // a key the archive never published
/** The package's head covers every leaf but the last (export.created). */
export const HEAD_SIZE = logEvents().length - 1;

export interface Custody {
  /** The selected events' lines (leaf data), in leaf order. */
  lines: Buffer[];
  proofs: { leafIndex: number; leafHash: string; inclusionProof: string[] }[];
  head: TreeHead;
  /** The whole log (one leaf past the head): for later heads and consistency proofs. */
  tree: MemoryTree;
}

/** The case's events and their proofs; `leafData` may replace an event's bytes in the log itself. */
export function custody(leafData: (event: Event, bytes: Buffer) => Buffer = (_, bytes) => bytes): Custody {
  const tree = new MemoryTree();
  const lines: Buffer[] = [];
  const selected: number[] = [];
  for (const event of logEvents()) {
    const bytes = leafData(event, canonicalBytes(event));
    tree.append(bytes);
    if (event.caseId === CASE_ID && event.index < HEAD_SIZE) {
      lines.push(bytes);
      selected.push(event.index);
    }
  }
  const proofs = selected.map((leafIndex, i) => ({
    leafIndex,
    leafHash: sha256(Buffer.concat([Buffer.from([0]), lines[i]!])),
    inclusionProof: proofToHex(tree.inclusionProof(leafIndex, HEAD_SIZE)),
  }));
  const head: TreeHead = { treeSize: HEAD_SIZE, rootHash: toHex(tree.root(HEAD_SIZE)), timestamp: '2026-11-24T10:00:00.000Z', keyId: keyA.keyId };
  return { lines, proofs, head, tree };
}

/** handovers.json's one entry: keyB's head ending with the rotation to keyA, proved consistent with `c`'s head. */
export function handover(c: Custody = custody()): Record<string, unknown> {
  const rotation = logEvents().find((e) => e.action === 'key.rotated')!;
  const size = rotation.index + 1;
  return {
    head: signTreeHead({ treeSize: size, rootHash: toHex(c.tree.root(size)), timestamp: '2026-11-24T09:40:06.000Z', keyId: keyB.keyId }, keyB.privateKey),
    event: rotation,
    leafIndex: rotation.index,
    inclusionProof: proofToHex(c.tree.inclusionProof(rotation.index, size)),
    consistencyProof: proofToHex(c.tree.consistencyProof(size, c.head.treeSize)),
  };
}

/** tree-head.json, .tbs and .sig of a head signed by `key`. */
export function headFiles(head: TreeHead, key: SigningKey): Record<string, Buffer> {
  const signed = signTreeHead({ ...head, keyId: key.keyId }, key.privateKey);
  return {
    'data/custody/tree-head.json': canonicalBytes(signed),
    'data/custody/tree-head.tbs': treeHeadBytes(signed),
    'data/custody/tree-head.sig': Buffer.from(signed.signature, 'base64'),
  };
}

export type Files = Map<string, Buffer>;
export type Purpose = 'court' | 'partner';

const round = (degrees: number): number => Math.round(degrees * 100) / 100;

/**
 * Every payload file (under data/) of the package, by path relative to the bag. A court package
 * carries the originals; a partner package each item's preview.jpg (none for an item without a
 * preview), coordinates rounded to 0.01 degree and no submitter's name.
 */
export function payload(c: Custody = custody(), purpose: Purpose = 'court'): Files {
  const files: Files = new Map();
  // Only the hashed or signed custody files are RFC 8785; the other JSON files are indented for people.
  const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  const partner = purpose === 'partner';
  const place = (latitude: number, longitude: number) => (partner ? { latitude: round(latitude), longitude: round(longitude) } : { latitude, longitude });
  for (const item of ITEMS) {
    if (!partner) files.set(`data/evidence/${item.id}/original/${item.fileName}`, item.bytes);
    else if (item.preview) files.set(`data/evidence/${item.id}/preview.jpg`, item.preview);
    files.set(
      `data/evidence/${item.id}/record.json`,
      json({
        id: item.id,
        caseId: CASE_ID,
        originalFileName: item.fileName,
        sha256: sha256(item.bytes),
        sizeBytes: item.bytes.length,
        mediaType: item.mediaType,
        ...place(50.45013, 30.52341),
        submittedBy: partner ? { id: DOCUMENTER.id } : { id: DOCUMENTER.id, displayName: 'Олена Коваль' },
      }),
    );
  }
  files.set('data/incidents.json', json([{ id: 'f2b6d8a0-4c1e-4e3a-9b5d-7a9c1e3f5b68', title: 'Обстріл житлового будинку', ...place(50.4501, 30.5234), sources: ITEMS.map((i) => i.id) }]));
  files.set('data/casualties.json', json([]));
  files.set('data/damage.json', json([]));
  files.set('data/custody/events.jsonl', Buffer.concat(c.lines.flatMap((line) => [line, Buffer.from('\n')])));
  files.set('data/custody/proofs.json', json(c.proofs));
  for (const [name, bytes] of Object.entries(headFiles(c.head, keyA))) files.set(name, bytes);
  const keys = [
    { keyId: keyB.keyId, algorithm: 'Ed25519', publicKeyPem: keyB.publicKeyPem, activeFrom: '2026-01-01T00:00:00.000Z', activeTo: '2026-11-24T09:40:05.123Z' },
    { keyId: keyA.keyId, algorithm: 'Ed25519', publicKeyPem: keyA.publicKeyPem, activeFrom: '2026-11-24T09:40:05.123Z', activeTo: null },
  ];
  files.set('data/custody/keys.json', json(keys));
  for (const key of keys) files.set(`data/custody/keys/${key.keyId}.pem`, Buffer.from(key.publicKeyPem));
  files.set('data/custody/handovers.json', json([handover(c)]));
  return files;
}

/** The custody files of the payload replaced by the given events and proofs. */
export function withCustody(c: Custody, files: Files = payload()): Files {
  const changed = new Map(files);
  changed.set('data/custody/events.jsonl', Buffer.concat(c.lines.flatMap((line) => [line, Buffer.from('\n')])));
  changed.set('data/custody/proofs.json', Buffer.from(`${JSON.stringify(c.proofs, null, 2)}\n`));
  changed.set('data/custody/handovers.json', Buffer.from(`${JSON.stringify([handover(c)], null, 2)}\n`));
  return changed;
}

const encodePath = (p: string): string => p.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const byCodePoint = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function manifest(files: Files, names: string[], digest: (bytes: Buffer) => string): string {
  return [...names].sort(byCodePoint).map((name) => `${digest(files.get(name)!)}  ${encodePath(name)}\n`).join('');
}

export interface BagOptions {
  /** court (the default) or partner: bag-info.txt's Custodia-Purpose and External-Description. */
  purpose?: Purpose;
  /** Changes bag-info.txt's lines (`Label: value`) before the tag manifests are computed. */
  bagInfo?: (lines: string[]) => string[];
  /** The bag folder's name; by default BAG_NAME with a number that makes it unique. */
  name?: string;
  /** Bytes of verify_proofs.py (a stand-in by default). */
  verifyScript?: Buffer;
}

let bagCount = 0;

/** bag-info.txt's lines for `data`, Payload-Oxum included (after Bag-Software-Agent, as the format orders them). */
function bagInfoLines(data: Files, options: BagOptions): string[] {
  // What tree-head.json says, if it is a head at all (a test may put anything there).
  let head: Partial<TreeHead> = {};
  try {
    head = (JSON.parse(data.get('data/custody/tree-head.json')?.toString() ?? '{}') as Partial<TreeHead> | null) ?? {};
  } catch {
    head = {};
  }
  const bytes = [...data.values()].reduce((sum, content) => sum + content.length, 0);
  const purpose = options.purpose ?? 'court';
  const info = [
    'Source-Organization: Правозахисна група «Свідок»',
    'Bagging-Date: 2026-11-24',
    'Bag-Software-Agent: Custodia 0.1.0',
    `Payload-Oxum: ${bytes}.${data.size}`,
    'External-Identifier: 2c8e4a6f-0b1d-4f3e-9a5c-7e9b1d3f5a72',
    `External-Description: ${purpose === 'partner' ? 'Custodia partner working copy' : 'Custodia court package'}`,
    `Custodia-Case-Id: ${CASE_ID}`,
    `Custodia-Purpose: ${purpose}`,
    ...(head.treeSize === undefined ? [] : [`Custodia-Tree-Size: ${head.treeSize}`]),
    ...(head.rootHash === undefined ? [] : [`Custodia-Root-Hash: ${head.rootHash}`]),
    ...(head.keyId === undefined ? [] : [`Custodia-Key-Id: ${head.keyId}`]),
    'Custodia-Timestamp-Token: no',
  ];
  return options.bagInfo ? options.bagInfo(info) : info;
}

/** The tag files other than bagit.txt, bag-info.txt and the manifests. */
function otherTagFiles(options: BagOptions): Files {
  return new Map([
    ['README.txt', Buffer.from('Check this package with: python3 verify_proofs.py\n')],
    ['report.html', Buffer.from('<!doctype html><title>Chain of custody</title>')],
    ['report.pdf', Buffer.from('%PDF-1.7\n%âãÏÓ\n')],
    ['verify_proofs.py', options.verifyScript ?? Buffer.from('# verify_proofs.py stands here in a real package\n')],
  ]);
}

/** Every file of a complete, consistent bag holding `data`: manifests, bag-info.txt and tag files computed. */
export function bagFiles(data: Files = payload(), options: BagOptions = {}): Files {
  const files: Files = new Map(data);
  const payloadNames = [...data.keys()];
  files.set('bagit.txt', Buffer.from('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'));
  files.set('bag-info.txt', Buffer.from(bagInfoLines(data, options).map((line) => `${line}\n`).join('')));
  files.set('manifest-sha256.txt', Buffer.from(manifest(files, payloadNames, sha256)));
  files.set('manifest-sha512.txt', Buffer.from(manifest(files, payloadNames, sha512)));
  for (const [name, bytes] of otherTagFiles(options)) files.set(name, bytes);
  const tagNames = [...files.keys()].filter((name) => !name.startsWith('data/'));
  files.set('tagmanifest-sha256.txt', Buffer.from(manifest(files, tagNames, sha256)));
  files.set('tagmanifest-sha512.txt', Buffer.from(manifest(files, tagNames, sha512)));
  return files;
}

const bagName = (options: BagOptions): string => options.name ?? `${BAG_NAME}-${++bagCount}`;

/** Writes a complete, consistent bag holding `data` as a folder under `parent`; returns the bag folder. */
export async function writeBag(parent: string, data: Files = payload(), options: BagOptions = {}): Promise<string> {
  const bag = path.join(parent, bagName(options));
  for (const [name, content] of bagFiles(data, options)) {
    await mkdir(path.dirname(path.join(bag, name)), { recursive: true });
    await writeFile(path.join(bag, name), content);
  }
  return bag;
}

/** Originals and previews are stored in the ZIP (method 0), everything else deflated. */
const isMedia = (name: string): boolean => /^data\/evidence\/[^/]+\/(original\/|preview\.jpg$)/.test(name);

/**
 * Writes the same bag as a ZIP under `parent` with BagWriter (the exporter's writer: it computes
 * the manifests, bag-info.txt's Payload-Oxum and the tag manifests itself); returns the ZIP's path.
 * A `bagInfo` edit applies to the lines without Payload-Oxum.
 */
export async function writeBagZip(parent: string, data: Files = payload(), options: BagOptions = {}): Promise<string> {
  const name = bagName(options);
  const file = path.join(parent, `${name}.zip`);
  const writer = await BagWriter.open(name, { date: BAGGING_TIME });
  const written = pipeline(writer.output, createWriteStream(file));
  try {
    for (const [entry, content] of data) {
      if (!entry.startsWith('data/')) throw new Error(`writeBagZip: ${entry} is not a payload file`);
      await writer.addPayload(entry.slice('data/'.length), content, { store: isMedia(entry) });
    }
    for (const [entry, content] of otherTagFiles(options)) await writer.addTag(entry, content);
    const lines = bagInfoLines(data, { ...options, bagInfo: undefined }).filter((line) => !line.startsWith('Payload-Oxum:'));
    const fields = (options.bagInfo ? options.bagInfo(lines) : lines).map((line): [string, string] => {
      const at = line.indexOf(': ');
      return [line.slice(0, at), line.slice(at + 2)];
    });
    await writer.finish(fields, 'Bag-Software-Agent');
  } catch (error) {
    writer.abort(error as Error);
    await written.catch(() => undefined);
    throw error;
  }
  await written;
  return file;
}

/**
 * A ZIP of exactly these entries, in this order, written with archiver's ZipArchive: duplicates
 * allowed. archiver strips a leading `../` from names, so a name holding `..` segments is written
 * with a placeholder of the same length and the name bytes are patched afterwards (CRCs cover
 * the data, not the names).
 */
export async function writeRawZip(file: string, entries: readonly (readonly [string, Buffer | string])[]): Promise<string> {
  const archive = new ZipArchive({ zlib: { level: 6 } });
  const written = pipeline(archive, createWriteStream(file));
  const patches = new Map<string, string>();
  for (const [name, content] of entries) {
    const segments = name.split('/');
    let stored = name;
    if (segments.includes('..')) {
      stored = segments.map((s) => (s === '..' ? '~~' : s)).join('/');
      patches.set(stored, name);
    }
    archive.append(Buffer.from(content), { name: stored, date: BAGGING_TIME });
  }
  await archive.finalize();
  await written;
  if (patches.size) {
    const bytes = await readFile(file);
    for (const [placeholder, name] of patches) {
      const from = Buffer.from(placeholder);
      const to = Buffer.from(name);
      let at = bytes.indexOf(from);
      if (at < 0) throw new Error(`writeRawZip: ${placeholder} not found in the ZIP`);
      while (at >= 0) {
        to.copy(bytes, at);
        at = bytes.indexOf(from, at + to.length);
      }
    }
    await writeFile(file, bytes);
  }
  return file;
}

/** Rewrites one file of a bag folder in place (manifests untouched). */
export const editFile = async (bag: string, name: string, edit: (bytes: Buffer) => Buffer): Promise<void> =>
  writeFile(path.join(bag, name), edit(await readFile(path.join(bag, name))));
