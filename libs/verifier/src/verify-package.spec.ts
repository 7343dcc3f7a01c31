import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTree, canonicalBytes, generateSigningKey, leafHash, proofToHex, signTreeHead, toHex, type SignedTreeHead, type TreeHead } from '#custodia/custody-core';
import {
  BAG_NAME,
  CASE_ID,
  HEAD_SIZE,
  ITEMS,
  bagFiles,
  custody,
  editFile,
  headFiles,
  keyA,
  keyB,
  logEvents,
  outsider,
  payload,
  sha256,
  withCustody,
  writeBag,
  writeBagZip,
  writeRawZip,
  type BagOptions,
  type Files,
} from './test-support/synthetic-bag.js';
import { verifyPackage, type Check, type LaterHead, type PackageVerdict, type VerifyOptions } from './verify-package.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-verifier-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const folderBag = (data?: Files, options?: BagOptions): Promise<string> => writeBag(dir, data, options);
const zipBag = (data?: Files, options?: BagOptions): Promise<string> => writeBagZip(dir, data, options);
const partnerPayload = (): Files => payload(custody(), 'partner');
/** A package made before retired keys signed handovers. */
const withoutHandovers = (): Files => {
  const files = payload();
  files.delete('data/custody/handovers.json');
  return files;
};
const short = (hex: string): string => `${hex.slice(0, 16)}…`;
const original = (i: number): string => `data/evidence/${ITEMS[i]!.id}/original/${ITEMS[i]!.fileName}`;
const status = (verdict: PackageVerdict, name: Check['name']) => verdict.checks.find((c) => c.name === name)?.status;
const item = (verdict: PackageVerdict, i: number) => verdict.items.find((v) => v.evidenceId === ITEMS[i]!.id)!;
/** Every failure the verdict names: the package's problems, then each failing item's first problem. */
const failures = (verdict: PackageVerdict): string[] => [...verdict.problems, ...verdict.items.filter((i) => !i.ok).map((i) => `${i.evidenceId}: ${i.problem}`)];

function expectOk(verdict: PackageVerdict): void {
  expect(failures(verdict)).toEqual([]);
  expect(verdict.ok).toBe(true);
}

/** Not ok, and each message is (part of) one of the failures named. */
function expectFailure(verdict: PackageVerdict, ...messages: (string | RegExp)[]): void {
  expect(verdict.ok).toBe(false);
  const named = failures(verdict);
  for (const message of messages) expect(named).toContainEqual(typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message));
}

/** How many of the package's event lines are about evidence item i. */
const eventsOf = (i: number): number => custody().lines.filter((line) => JSON.parse(line.toString()).subject.id === ITEMS[i]!.id).length;

function expectGoodCourtVerdict(verdict: PackageVerdict): void {
  expectOk(verdict);
  expect(Object.fromEntries(verdict.checks.map((c) => [c.name, c.status]))).toEqual({
    container: 'ok',
    bag: 'ok',
    manifests: 'ok',
    'tree-head': 'ok',
    events: 'ok',
    // These synthetic bags are as packages were before seals; sealed packages are checked in test/exports-tamper.e2e.spec.ts.
    seal: 'skipped',
    'time-stamp': 'skipped',
    consistency: 'skipped',
  });
  expect(verdict.purpose).toBe('court');
  expect(verdict.treeHead).toMatchObject({ treeSize: HEAD_SIZE, rootHash: custody().head.rootHash, keyId: keyA.keyId });
  expect(verdict.timestamp).toBeNull();
  expect(verdict.stats.events).toBe(custody().lines.length);
  expect(verdict.items).toHaveLength(ITEMS.length);
  ITEMS.forEach((it, i) =>
    expect(item(verdict, i)).toEqual({ evidenceId: it.id, fileName: it.fileName, kind: 'original', sha256: sha256(it.bytes), events: eventsOf(i), ok: true }),
  );
}

describe('verifyPackage on a good package', () => {
  it('passes a court bag in a folder: every check and every item', async () => {
    const bag = await folderBag();
    const verdict = await verifyPackage(bag);
    expectGoodCourtVerdict(verdict);
    expect(verdict.bag).toBe(path.basename(bag));
    const files = bagFiles();
    expect(verdict.stats.files).toBe(files.size);
    expect(verdict.stats.bytes).toBe([...files.values()].reduce((sum, b) => sum + b.length, 0));
  });

  it('passes the same bag in a ZIP written by BagWriter, named by its top folder', async () => {
    const zip = await zipBag();
    const verdict = await verifyPackage(zip);
    expectGoodCourtVerdict(verdict);
    expect(verdict.bag).toBe(path.basename(zip, '.zip'));
    expect(verdict.bag.startsWith(BAG_NAME)).toBe(true);
  });

  it('passes a folder holding exactly one bag', async () => {
    const parent = path.join(dir, 'one-bag');
    await mkdir(parent);
    const bag = await writeBag(parent);
    const verdict = await verifyPackage(parent);
    expectGoodCourtVerdict(verdict);
    expect(verdict.bag).toBe(path.basename(bag));
  });

  it.each([
    ['folder', folderBag],
    ['ZIP', zipBag],
  ])('passes a partner bag in a %s: previews bound by evidence.derivative_created, an item without preview has no file', async (_, write) => {
    const verdict = await verifyPackage(await write(partnerPayload(), { purpose: 'partner' }));
    expectOk(verdict);
    expect(verdict.purpose).toBe('partner');
    for (const [i, it] of ITEMS.entries()) {
      expect(item(verdict, i)).toEqual(
        it.preview
          ? { evidenceId: it.id, fileName: 'preview.jpg', kind: 'preview', sha256: sha256(it.preview), events: eventsOf(i), ok: true }
          : { evidenceId: it.id, fileName: null, kind: null, sha256: null, events: eventsOf(i), ok: true },
      );
    }
  });

  it('passes a head signed by an older published key, and a trusted key naming the signing key', async () => {
    const files = payload();
    for (const [name, bytes] of Object.entries(headFiles(custody().head, keyB))) files.set(name, bytes);
    const bag = await folderBag(files);
    expectOk(await verifyPackage(bag));
    expectOk(await verifyPackage(bag, { trustedKeyIds: [keyB.keyId] }));
  });

  it('passes a package with an event and its proof left out: inclusion proofs prove presence, not completeness', async () => {
    const c = custody();
    const viewed = c.lines.findIndex((l) => JSON.parse(l.toString()).action === 'evidence.viewed');
    c.lines.splice(viewed, 1);
    c.proofs.splice(viewed, 1);
    expectOk(await verifyPackage(await folderBag(withCustody(c))));
  });

  it.each([
    ['folder', folderBag],
    ['ZIP', zipBag],
  ])('reports progress from a %s: increasing bytes up to the total', async (_, write) => {
    const calls: [number, number][] = [];
    const verdict = await verifyPackage(await write(), { onProgress: (done, total) => calls.push([done, total]) });
    expectOk(verdict);
    const total = verdict.stats.bytes;
    expect(total).toBeGreaterThan(0);
    expect(calls.length).toBeGreaterThan(1);
    for (const [k, [done, of]] of calls.entries()) {
      expect(of).toBe(total);
      if (k > 0) expect(done).toBeGreaterThan(calls[k - 1]![0]);
    }
    expect(calls.at(-1)![0]).toBe(total);
  });
});

describe.concurrent('verifyPackage on a tampered package', () => {
  it('catches a byte flipped in an original (folder): both manifests and the item', async () => {
    const bag = await folderBag();
    await editFile(bag, original(1), (bytes) => {
      bytes[100] ^= 0x01;
      return bytes;
    });
    const verdict = await verifyPackage(bag);
    expectFailure(
      verdict,
      new RegExp(`^${original(1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: its SHA256 [0-9a-f]{16}… differs from manifest-sha256\\.txt \\(${short(sha256(ITEMS[1]!.bytes))}\\)$`),
      `${original(1)}: its SHA512 `,
    );
    expect(item(verdict, 1).problem).toMatch(/^original: its SHA256 [0-9a-f]{16}… differs from manifest-sha256\.txt \(.*\): the file changed$/);
    expect(item(verdict, 0).ok).toBe(true);
    expect(status(verdict, 'manifests')).toBe('failed');
    expect(status(verdict, 'events')).toBe('ok');
  });

  it('catches a byte flipped in a stored original inside the ZIP', async () => {
    const zip = await zipBag();
    const bytes = await readFile(zip);
    const at = bytes.indexOf(ITEMS[2]!.bytes);
    expect(at).toBeGreaterThan(0);
    bytes[at + 2000] ^= 0x80;
    await writeFile(zip, bytes);
    const verdict = await verifyPackage(zip);
    expectFailure(verdict, `${original(2)}: its SHA256 `);
    expect(item(verdict, 2).problem).toMatch(/^original: .*: the file changed$/);
  });

  it('catches a changed original with manifests and record.json recomputed: no proven evidence.submitted event records it', async () => {
    const files = payload();
    const forged = Buffer.from(ITEMS[0]!.bytes);
    forged[10] ^= 0xff;
    files.set(original(0), forged);
    const record = JSON.parse(files.get(`data/evidence/${ITEMS[0]!.id}/record.json`)!.toString());
    files.set(`data/evidence/${ITEMS[0]!.id}/record.json`, canonicalBytes({ ...record, sha256: sha256(forged) }));
    const verdict = await verifyPackage(await folderBag(files));
    expectFailure(verdict);
    expect(item(verdict, 0).problem).toBe(`original: no proven evidence.submitted event records its SHA-256 ${short(sha256(forged))} (the file is not the one received)`);
    expect(status(verdict, 'manifests')).toBe('ok');
    expect(verdict.problems).toEqual([]);
  });

  it('catches a changed original with manifests recomputed but record.json left alone', async () => {
    const files = payload();
    const forged = Buffer.concat([ITEMS[0]!.bytes, Buffer.from('!')]);
    files.set(original(0), forged);
    const verdict = await verifyPackage(await folderBag(files));
    expect(item(verdict, 0).problem).toBe(`original: its SHA-256 ${short(sha256(forged))} differs from record.json (${short(sha256(ITEMS[0]!.bytes))})`);
    expect(verdict.ok).toBe(false);
  });

  it('refuses a bag declared as another BagIt version than 1.0 (exports.md fixes it)', async () => {
    const bag = await folderBag();
    await editFile(bag, 'bagit.txt', (bytes) => Buffer.from(bytes.toString().replace('1.0', '0.97')));
    expectFailure(await verifyPackage(bag), 'bagit.txt does not declare BagIt-Version 1.0 with UTF-8 tag files');
  });

  it('catches a record.json describing another item', async () => {
    const files = payload();
    const name = `data/evidence/${ITEMS[1]!.id}/record.json`;
    files.set(name, canonicalBytes({ ...JSON.parse(files.get(name)!.toString()), id: ITEMS[2]!.id }));
    const verdict = await verifyPackage(await folderBag(files));
    expect(item(verdict, 1).problem).toBe(`record.json describes ${ITEMS[2]!.id}, not ${ITEMS[1]!.id}`);
    expect(verdict.ok).toBe(false);
  });

  it('catches a record.json that is not JSON', async () => {
    const files = payload();
    files.set(`data/evidence/${ITEMS[1]!.id}/record.json`, Buffer.from('{"id":'));
    const verdict = await verifyPackage(await folderBag(files));
    expect(item(verdict, 1).problem).toMatch(/^record\.json is not valid JSON \(/);
    expect(verdict.ok).toBe(false);
  });

  it('catches an unexpected extra file in an evidence folder, even when listed in the manifests', async () => {
    const files = payload();
    files.set(`data/evidence/${ITEMS[0]!.id}/notes.txt`, Buffer.from('added later'));
    const verdict = await verifyPackage(await folderBag(files));
    expect(item(verdict, 0).problem).toBe('unexpected file(s) notes.txt');
    expect(status(verdict, 'manifests')).toBe('ok');
    expect(verdict.ok).toBe(false);
  });

  it('catches a second original in an evidence folder', async () => {
    const files = payload();
    files.set(`data/evidence/${ITEMS[0]!.id}/original/planted.jpg`, randomBytes(50));
    const verdict = await verifyPackage(await folderBag(files));
    expect(item(verdict, 0).problem).toBe('more than one original');
    expect(verdict.ok).toBe(false);
  });

  it('catches an original in a partner package', async () => {
    const files = partnerPayload();
    files.set(original(0), ITEMS[0]!.bytes);
    const verdict = await verifyPackage(await folderBag(files, { purpose: 'partner' }));
    expect(item(verdict, 0).problem).toBe(`unexpected file(s) original/${ITEMS[0]!.fileName}`);
    expect(verdict.ok).toBe(false);
  });

  it('catches a partner preview swapped for other bytes, manifests recomputed', async () => {
    const files = partnerPayload();
    const forged = randomBytes(700);
    files.set(`data/evidence/${ITEMS[2]!.id}/preview.jpg`, forged);
    const verdict = await verifyPackage(await folderBag(files, { purpose: 'partner' }));
    expect(item(verdict, 2).problem).toBe(`preview: no proven evidence.derivative_created event records its SHA-256 ${short(sha256(forged))}`);
    expect(verdict.ok).toBe(false);
  });

  it("catches an item's folder removed, manifests recomputed: its events still name it", async () => {
    const files = payload();
    for (const name of [...files.keys()]) if (name.startsWith(`data/evidence/${ITEMS[2]!.id}/`)) files.delete(name);
    const verdict = await verifyPackage(await folderBag(files));
    expect(item(verdict, 2)).toMatchObject({ ok: false, fileName: null, problem: 'has custody events but no folder in data/evidence (removed?)' });
    expect(verdict.ok).toBe(false);
  });

  it('catches a file added under data/ and not listed, and the wrong Payload-Oxum', async () => {
    const bag = await folderBag();
    const name = `data/evidence/${ITEMS[0]!.id}/original/planted.jpg`;
    await writeFile(path.join(bag, name), randomBytes(10));
    expectFailure(
      await verifyPackage(bag),
      `${name} is in data/ but not in manifest-sha256.txt (a file was added)`,
      `${name} is in data/ but not in manifest-sha512.txt (a file was added)`,
      /^Payload-Oxum says \d+ bytes in \d+ files, data\/ holds \d+ bytes in \d+ files$/,
    );
  });

  it('catches a file removed from data/', async () => {
    const bag = await folderBag();
    await rm(path.join(bag, original(2)));
    const verdict = await verifyPackage(bag);
    expectFailure(verdict, `${original(2)} is listed in manifest-sha256.txt but missing (a file was removed)`);
    expect(item(verdict, 2).problem).toBe('the original is missing');
  });

  it('catches an edited event line when the manifests were left alone', async () => {
    const bag = await folderBag();
    await editFile(bag, 'data/custody/events.jsonl', (bytes) => Buffer.from(bytes.toString().replace('"role":"documenter"', '"role":"investigator"')));
    const leaf = custody().proofs[1]!.leafIndex;
    const verdict = await verifyPackage(bag);
    expectFailure(verdict, /^data\/custody\/events\.jsonl: its SHA256 .* differs from manifest-sha256\.txt/, new RegExp(`^events\\.jsonl line 2 \\(leaf ${leaf}\\): was altered: it hashes to leaf [0-9a-f]{16}…, the log's leaf is [0-9a-f]{16}…$`));
    expect(item(verdict, 0).problem).toMatch(/^events\.jsonl line 2 .*was altered/);
  });

  const editLine = (line: Buffer) => Buffer.from(line.toString().replace('"role":"documenter"', '"role":"investigator"'));

  it('catches an edited event line with manifests recomputed, by its leaf hash', async () => {
    const c = custody();
    c.lines[1] = editLine(c.lines[1]!);
    const verdict = await verifyPackage(await folderBag(withCustody(c)));
    expectFailure(verdict, `events.jsonl line 2 (leaf ${c.proofs[1]!.leafIndex}): was altered: it hashes to leaf ${short(sha256(Buffer.concat([Buffer.from([0]), c.lines[1]!])))}, the log's leaf is ${short(c.proofs[1]!.leafHash)}`);
    expect(status(verdict, 'manifests')).toBe('ok');
    expect(status(verdict, 'events')).toBe('failed');
  });

  it('catches an edited event line with manifests and leaf hash recomputed, by its inclusion proof', async () => {
    const c = custody();
    c.lines[1] = editLine(c.lines[1]!);
    c.proofs[1]!.leafHash = sha256(Buffer.concat([Buffer.from([0]), c.lines[1]!]));
    expectFailure(
      await verifyPackage(await folderBag(withCustody(c))),
      `events.jsonl line 2 (leaf ${c.proofs[1]!.leafIndex}): its inclusion proof does not lead to the tree head's root at size ${HEAD_SIZE} (a proof hash was changed?)`,
    );
  });

  it('catches an event line dropped while its proofs.json entry stays', async () => {
    const c = custody();
    const [dropped] = c.lines.splice(1, 1);
    expect(JSON.parse(dropped!.toString()).action).toBe('evidence.submitted');
    const verdict = await verifyPackage(await folderBag(withCustody(c)));
    expectFailure(verdict, `leaf ${c.proofs[1]!.leafIndex} has a proof in proofs.json but no line in events.jsonl (an event was dropped)`);
    expect(item(verdict, 0).problem).toMatch(/^original: no proven evidence\.submitted event records its SHA-256/);
  });

  it('catches reordered event lines', async () => {
    const c = custody();
    [c.lines[3], c.lines[4]] = [c.lines[4]!, c.lines[3]!];
    expectFailure(
      await verifyPackage(await folderBag(withCustody(c))),
      `events.jsonl line 5 (leaf ${c.proofs[3]!.leafIndex}): comes after leaf ${c.proofs[4]!.leafIndex}: the lines are out of order (reordered?)`,
    );
  });

  it('catches a non-canonical event line even when the log, proofs, head and manifests all agree with it', async () => {
    const target = custody().proofs[1]!.leafIndex;
    const c = custody((event, bytes) => (event.index === target ? Buffer.from(bytes.toString().replace('{"action"', '{ "action"')) : bytes));
    const files = withCustody(c);
    for (const [name, bytes] of Object.entries(headFiles(c.head, keyA))) files.set(name, bytes);
    const verdict = await verifyPackage(await folderBag(files));
    expectFailure(verdict, `events.jsonl line 2 (leaf ${target}): is not in RFC 8785 form`);
    expect(status(verdict, 'tree-head')).toBe('ok');
  });

  it('catches event lines ended with CRLF, or a CR added to one, manifests recomputed (as verify_proofs.py does)', async () => {
    const crlf = withCustody(custody());
    crlf.set('data/custody/events.jsonl', Buffer.from(crlf.get('data/custody/events.jsonl')!.toString().replace(/\n/g, '\r\n')));
    expectFailure(await verifyPackage(await folderBag(crlf)), /^events\.jsonl line 1 \(leaf \d+\): /);
    const c = custody();
    c.lines[2] = Buffer.concat([c.lines[2]!, Buffer.from('\r')]);
    expectFailure(await verifyPackage(await folderBag(withCustody(c))), /^events\.jsonl line 3 \(leaf \d+\): /);
  });

  it('catches a blank line among the events, manifests recomputed', async () => {
    const files = withCustody(custody());
    const lines = files.get('data/custody/events.jsonl')!.toString().split('\n');
    lines.splice(2, 0, '');
    files.set('data/custody/events.jsonl', Buffer.from(lines.join('\n')));
    expectFailure(await verifyPackage(await folderBag(files)), 'events.jsonl line 3 is empty: the file holds one event per line, nothing else');
  });

  it('refuses an event line longer than any event, without reading it whole', async () => {
    const files = withCustody(custody());
    files.set('data/custody/events.jsonl', Buffer.concat([files.get('data/custody/events.jsonl')!, Buffer.alloc(17 * 1024 * 1024, 0x61)]));
    const verdict = await verifyPackage(await folderBag(files));
    expectFailure(verdict, `events.jsonl line ${custody().lines.length + 1} is longer than 16777216 bytes: no event is; the rest was not read`);
  });

  it('refuses a proofs.json (as any JSON file of the package) of more values than such a file holds (a few MB of [0,0,...] JSON.parse cannot hold at 256 MiB)', async () => {
    const files = withCustody(custody());
    files.set('data/custody/proofs.json', Buffer.from(`[${'0,'.repeat(2_000_000)}0]`));
    expectFailure(await verifyPackage(await folderBag(files)), /^proofs\.json holds more values than any such file does for its size \(2000000 in 4000003 bytes\)$/);
  });

  it('keeps a tree-head.json that is no head out of the verdict, so --json can print it', async () => {
    const files = withCustody(custody());
    files.set('data/custody/tree-head.json', Buffer.from(`{"treeSize":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`));
    const verdict = await verifyPackage(await folderBag(files));
    expect(verdict.ok).toBe(false);
    expect(verdict.treeHead).toBeNull();
    expect(() => JSON.stringify(verdict)).not.toThrow();
  });

  it('catches two hashes swapped within an inclusion proof', async () => {
    const c = custody();
    const proof = c.proofs[2]!.inclusionProof;
    [proof[0], proof[1]] = [proof[1]!, proof[0]!];
    expectFailure(await verifyPackage(await folderBag(withCustody(c))), `events.jsonl line 3 (leaf ${c.proofs[2]!.leafIndex}): its inclusion proof does not lead`);
  });

  it("catches two events' inclusion proofs swapped", async () => {
    const c = custody();
    [c.proofs[2]!.inclusionProof, c.proofs[5]!.inclusionProof] = [c.proofs[5]!.inclusionProof, c.proofs[2]!.inclusionProof];
    expectFailure(
      await verifyPackage(await folderBag(withCustody(c))),
      `events.jsonl line 3 (leaf ${c.proofs[2]!.leafIndex}): its inclusion proof does not lead`,
      `events.jsonl line 6 (leaf ${c.proofs[5]!.leafIndex}): its inclusion proof does not lead`,
    );
  });

  it("catches a changed rootHash in the head: the signature fails and no event counts as proven", async () => {
    const files = payload();
    const head = JSON.parse(files.get('data/custody/tree-head.json')!.toString());
    head.rootHash = sha256('another log');
    files.set('data/custody/tree-head.json', canonicalBytes(head));
    const verdict = await verifyPackage(await folderBag(files));
    expectFailure(verdict, 'the tree head does not verify: signature does not verify');
    expect(status(verdict, 'tree-head')).toBe('failed');
    for (const i of ITEMS.keys()) expect(item(verdict, i).problem).toMatch(/^leaf \d+: its inclusion proof was not checked, the tree head is not valid$/);
    expect(status(verdict, 'events')).toBe('failed');
    expectFailure(verdict, 'no inclusion proof was checked: the tree head is not valid');
  });

  it('refuses a head signed by another published key than the trusted one', async () => {
    expectFailure(await verifyPackage(await folderBag(withoutHandovers()), { trustedKeyIds: [keyB.keyId] }), `the tree head is signed by key ${keyA.keyId}, not the trusted key ${keyB.keyId}`);
    expectFailure(
      await verifyPackage(await folderBag(), { trustedKeyIds: [outsider.keyId] }),
      `the tree head is signed by key ${keyA.keyId}, not the trusted key ${outsider.keyId} nor any key they handed over to`,
    );
  });

  it("follows a retired key's handover to the key that signed the head", async () => {
    const verdict = await verifyPackage(await folderBag(), { trustedKeyIds: [keyB.keyId] });
    expectOk(verdict);
    expect(verdict.checks.find((c) => c.name === 'tree-head')!.detail).toMatch(/a key the trusted key handed over to \(1 handover followed\)$/);
    // A handover that does not hold is the package's fault, whether or not a key is pinned.
    const edit = (change: (h: Record<string, any>) => void): Files => {
      const files = payload();
      const list = JSON.parse(files.get('data/custody/handovers.json')!.toString());
      change(list[0]);
      files.set('data/custody/handovers.json', Buffer.from(JSON.stringify(list)));
      return files;
    };
    const cases: [string, (h: Record<string, any>) => void, RegExp][] = [
      ['the next key changed', (h) => (h.event.details.keyId = outsider.keyId), /handovers\.json: handover 0 its inclusion proof does not lead/],
      ['signed by the key it hands over to', (h) => (h.head = signTreeHead({ ...h.head, keyId: keyA.keyId }, keyA.privateKey)), /handover 0 its event retires .*, not the key that signed its head/],
      ['the signature changed', (h) => (h.head.treeSize += 1), /handover 0 its head does not verify/],
      ['another log', (h) => (h.consistencyProof = h.consistencyProof.slice(1)), /handover 0 .* consistency proof fails/],
    ];
    for (const [what, change, message] of cases) {
      const bag = await folderBag(edit(change));
      const pinned = await verifyPackage(bag, { trustedKeyIds: [keyB.keyId] });
      expect(failures(pinned), what).toContainEqual(expect.stringMatching(message));
      expect(failures(pinned), what).toContainEqual(expect.stringMatching(/not the trusted key .* nor any key they handed over to/));
      expect(failures(await verifyPackage(bag)), what).toContainEqual(expect.stringMatching(message));
    }
    expectFailure(await verifyPackage(await folderBag(edit((h) => Object.assign(h, { head: 'x' })))), /handovers\.json: handover 0 is not/);
  });

  it('refuses a head re-signed by a key that keys.json does not publish', async () => {
    const files = payload();
    for (const [name, bytes] of Object.entries(headFiles(custody().head, outsider))) files.set(name, bytes);
    expectFailure(await verifyPackage(await folderBag(files)), `the tree head does not verify: no published key has keyId ${outsider.keyId}`);
  });

  it("refuses a key published under another key's id", async () => {
    const files = payload();
    const keys = JSON.parse(files.get('data/custody/keys.json')!.toString());
    keys[1].publicKeyPem = outsider.publicKeyPem;
    files.set('data/custody/keys.json', canonicalBytes(keys));
    expectFailure(await verifyPackage(await folderBag(files)), `the tree head does not verify: published key ${keyA.keyId} does not hash to its keyId`, `keys/${keyA.keyId}.pem differs from keys.json`);
  });

  it('catches a keys/<keyId>.pem that differs from keys.json', async () => {
    const files = payload();
    files.set(`data/custody/keys/${keyB.keyId}.pem`, Buffer.from(outsider.publicKeyPem));
    expectFailure(await verifyPackage(await folderBag(files)), `keys/${keyB.keyId}.pem differs from keys.json`);
  });

  it.each([
    ['Custodia-Root-Hash', () => sha256('another root'), 'bag-info.txt names another root hash than tree-head.json'],
    ['Custodia-Tree-Size', () => String(HEAD_SIZE + 1), 'bag-info.txt names another tree size than tree-head.json'],
    ['Custodia-Key-Id', () => keyB.keyId, 'bag-info.txt names another key than tree-head.json'],
  ])('catches a bag-info.txt %s that disagrees with tree-head.json', async (label, value, message) => {
    const bag = await folderBag(payload(), { bagInfo: (lines) => lines.map((l) => (l.startsWith(`${label}:`) ? `${label}: ${value()}` : l)) });
    const verdict = await verifyPackage(bag);
    expectFailure(verdict, message);
    expect(status(verdict, 'bag')).toBe('ok');
  });

  it('reads bag-info.txt labels without regard to case, as RFC 8493 asks', async () => {
    const bag = await folderBag(payload(), { bagInfo: (lines) => lines.map((l) => (l.startsWith('Custodia-Root-Hash:') ? `custodia-root-hash: ${sha256('x')}` : l)) });
    expectFailure(await verifyPackage(bag), 'bag-info.txt names another root hash than tree-head.json');
  });

  it("catches a tree-head.tbs and a tree-head.sig that are not the head's", async () => {
    const files = payload();
    const other = headFiles({ ...custody().head, treeSize: HEAD_SIZE - 1 }, keyA);
    files.set('data/custody/tree-head.tbs', other['data/custody/tree-head.tbs']!);
    files.set('data/custody/tree-head.sig', other['data/custody/tree-head.sig']!);
    expectFailure(await verifyPackage(await folderBag(files)), 'tree-head.tbs is not the signed bytes of tree-head.json', 'tree-head.sig is not the signature in tree-head.json');
  });

  it('catches a tree-head.json that is not in RFC 8785 form', async () => {
    const files = payload();
    files.set('data/custody/tree-head.json', Buffer.from(JSON.stringify(JSON.parse(files.get('data/custody/tree-head.json')!.toString()), null, 2)));
    expectFailure(await verifyPackage(await folderBag(files)), 'tree-head.json is not the RFC 8785 form of the signed head');
  });

  it('catches a time-stamp token that bag-info.txt declares but the package lacks', async () => {
    const bag = await folderBag(payload(), { bagInfo: (lines) => lines.map((l) => (l.startsWith('Custodia-Timestamp-Token:') ? 'Custodia-Timestamp-Token: yes' : l)) });
    const verdict = await verifyPackage(bag);
    expectFailure(verdict, 'bag-info.txt says the head was time-stamped, but tree-head.tsr is missing (removed?)');
    expect(status(verdict, 'time-stamp')).toBe('failed');
  });

  /** A court package of incidents only: no evidence items, only the case's own events. */
  const withoutEvidence = (): Files => {
    const c = custody();
    const keep = c.lines.map((l, k) => [l, k] as const).filter(([l]) => JSON.parse(l.toString()).subject.type !== 'evidence');
    const files = withCustody({ ...c, lines: keep.map(([l]) => l), proofs: keep.map(([, k]) => c.proofs[k]!) });
    for (const name of [...files.keys()]) if (name.startsWith('data/evidence/')) files.delete(name);
    return files;
  };

  it('passes a court package without evidence items (control for the next test)', async () => {
    const verdict = await verifyPackage(await folderBag(withoutEvidence()));
    expectOk(verdict);
    expect(verdict.items).toEqual([]);
    expect(verdict.stats.events).toBeGreaterThan(0);
  });

  it('refuses a package without evidence items whose head signature fails', async () => {
    const files = withoutEvidence();
    for (const [name, bytes] of Object.entries(headFiles(custody().head, outsider))) files.set(name, bytes);
    expectFailure(await verifyPackage(await folderBag(files)), `the tree head does not verify: no published key has keyId ${outsider.keyId}`);
  });

  it('refuses a tree-head.json that holds JSON null, and says no proof was checked', async () => {
    const files = withoutEvidence();
    files.set('data/custody/tree-head.json', Buffer.from('null'));
    const verdict = await verifyPackage(await folderBag(files));
    expect(status(verdict, 'tree-head')).toBe('failed');
    expectFailure(verdict, 'tree-head.json is not a signed tree head');
    expect(verdict.ok).toBe(false);
  });

  it('catches a preview removed from a partner package, manifests recomputed', async () => {
    const files = partnerPayload();
    files.delete(`data/evidence/${ITEMS[0]!.id}/preview.jpg`);
    const verdict = await verifyPackage(await folderBag(files, { purpose: 'partner' }));
    expect(item(verdict, 0).ok).toBe(false);
    expect(item(verdict, 0).problem).toMatch(/^the preview is missing, though the log records one/);
    expect(verdict.ok).toBe(false);
  });
});

describe.concurrent('verifyPackage on a broken container', () => {
  it('refuses a symlink inside a folder bag', async () => {
    const bag = await folderBag();
    const link = `data/evidence/${ITEMS[0]!.id}/original/link.jpg`;
    await symlink(path.join(bag, original(0)), path.join(bag, link));
    const verdict = await verifyPackage(bag);
    expectFailure(verdict, `${link} is not a regular file (a link or a device)`);
    expect(status(verdict, 'container')).toBe('failed');
  });

  it('refuses an original replaced by a link to identical bytes outside the bag', async () => {
    const bag = await folderBag();
    const outside = path.join(dir, `outside-${randomBytes(4).toString('hex')}`);
    await rename(path.join(bag, original(0)), outside);
    await symlink(outside, path.join(bag, original(0)));
    const verdict = await verifyPackage(bag);
    expectFailure(verdict, `${original(0)} is not a regular file (a link or a device)`, `${original(0)} is listed in manifest-sha256.txt but missing (a file was removed)`);
    expect(item(verdict, 0).problem).toBe('the original is missing');
  });

  it('refuses a folder holding two bags', async () => {
    const parent = path.join(dir, 'two-bags');
    await mkdir(parent);
    await writeBag(parent);
    await writeBag(parent);
    const verdict = await verifyPackage(parent);
    expectFailure(verdict, 'more than one bag in the package');
    expect(status(verdict, 'container')).toBe('failed');
  });

  it('refuses a folder holding no bag', async () => {
    const parent = path.join(dir, 'no-bag');
    await mkdir(parent);
    await writeFile(path.join(parent, 'notes.txt'), 'hello');
    expectFailure(await verifyPackage(parent), 'no bagit.txt: this is not a BagIt bag', 'bagit.txt is missing: this is not a BagIt bag');
  });

  /** The entries of a good bag's ZIP: [name inside the ZIP, bytes]. */
  const zipEntries = (name = BAG_NAME): [string, Buffer][] => [...bagFiles()].map(([p, bytes]) => [`${name}/${p}`, bytes]);

  it('checks a ZIP written with ZipArchive directly, the same bag as BagWriter writes (control for the cases below)', async () => {
    const zip = await writeRawZip(path.join(dir, 'raw-good.zip'), zipEntries());
    const verdict = await verifyPackage(zip);
    expectOk(verdict);
    expect(verdict.bag).toBe(BAG_NAME);
  });

  it('refuses a ZIP holding an entry named ../evil, saying why', async () => {
    const zip = await writeRawZip(path.join(dir, 'evil.zip'), [...zipEntries(), ['../evil', 'outside the bag']]);
    const verdict = await verifyPackage(zip);
    expect(verdict.ok).toBe(false);
    expect(verdict.checks).toEqual([{ name: 'container', status: 'failed', detail: expect.stringContaining('invalid relative path: ../evil') }]);
    expect(verdict.problems).toEqual([expect.stringMatching(/^the ZIP's directory is damaged \(invalid relative path: \.\.\/evil\); nothing in it can be trusted$/)]);
  });

  it('refuses a ZIP holding an entry that climbs out of the bag folder', async () => {
    const zip = await writeRawZip(path.join(dir, 'climb.zip'), [...zipEntries(), [`${BAG_NAME}/data/../../evil`, 'outside the bag']]);
    const verdict = await verifyPackage(zip);
    expectFailure(verdict, `invalid relative path: ${BAG_NAME}/data/../../evil`);
    expect(status(verdict, 'container')).toBe('failed');
  });

  it('refuses a ZIP holding two entries of the same name', async () => {
    const record = `${BAG_NAME}/data/evidence/${ITEMS[0]!.id}/record.json`;
    const entries = zipEntries();
    const forged = canonicalBytes({ id: ITEMS[0]!.id, caseId: CASE_ID, note: 'the second copy' });
    const zip = await writeRawZip(path.join(dir, 'twice.zip'), [...entries, [record, forged]]);
    const verdict = await verifyPackage(zip);
    expectFailure(verdict, `the ZIP holds ${record} twice`);
    expect(status(verdict, 'container')).toBe('failed');
  });

  it('refuses a ZIP holding files beside the bag folder', async () => {
    const zip = await writeRawZip(path.join(dir, 'beside.zip'), [...zipEntries(), ['extra.txt', 'not in the bag']]);
    expectFailure(await verifyPackage(zip), `files outside the bag folder ${BAG_NAME}/: extra.txt`);
  });

  it('refuses a ZIP cut short in the middle', async () => {
    const zip = await zipBag();
    const { length } = await readFile(zip);
    await truncate(zip, Math.floor(length / 2));
    const verdict = await verifyPackage(zip);
    expect(verdict.ok).toBe(false);
    expect(verdict.checks).toEqual([{ name: 'container', status: 'failed', detail: expect.stringMatching(/^the ZIP is damaged or cut short \(.+\); nothing in it can be trusted$/) }]);
    expect(verdict.items).toEqual([]);
  });

  it.each([
    ['an empty file', Buffer.alloc(0)],
    ['garbage bytes', randomBytes(4096)],
    ['a text file', Buffer.from('BagIt-Version: 1.0\n')],
  ])('refuses %s given as the package', async (what, bytes) => {
    const file = path.join(dir, `${what.replace(/ /g, '-')}.zip`);
    await writeFile(file, bytes);
    const verdict = await verifyPackage(file);
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual([expect.stringMatching(/^the ZIP is damaged or cut short \(.+\); nothing in it can be trusted$/)]);
    expect(verdict.checks.map((c) => [c.name, c.status])).toEqual([['container', 'failed']]);
  });

  it('refuses a path that does not exist', async () => {
    const missing = path.join(dir, 'no-such-package.zip');
    const verdict = await verifyPackage(missing);
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual([`${missing} cannot be read: ENOENT`]);
    expect(verdict.checks).toEqual([{ name: 'container', status: 'failed', detail: `${missing} cannot be read: ENOENT` }]);
  });
});

describe.concurrent('verifyPackage against a later head', () => {
  const later = (head: TreeHead, key = keyA): SignedTreeHead => signTreeHead({ ...head, keyId: key.keyId }, key.privateKey);
  const against =
    (answer: Omit<LaterHead, 'source'>, seen: SignedTreeHead[] = []): VerifyOptions['against'] =>
    async (packageHead) => {
      seen.push(packageHead);
      return { ...answer, source: 'https://archive.example.org' };
    };
  const grown = () => {
    const { tree } = custody();
    expect(tree.size).toBe(HEAD_SIZE + 1);
    return { tree, head: later({ treeSize: tree.size, rootHash: toHex(tree.root()), timestamp: '2026-11-25T10:00:00.000Z', keyId: keyA.keyId }) };
  };

  it('passes a genuine later head with a correct consistency proof, and hands the package head to the resolver', async () => {
    const { tree, head } = grown();
    const seen: SignedTreeHead[] = [];
    const verdict = await verifyPackage(await folderBag(), { against: against({ head, consistencyProof: proofToHex(tree.consistencyProof(HEAD_SIZE)), keys: [] }, seen) });
    expectOk(verdict);
    expect(verdict.checks.find((c) => c.name === 'consistency')).toEqual({
      name: 'consistency',
      status: 'ok',
      detail: `the log at size ${HEAD_SIZE + 1} (https://archive.example.org) extends this package's head`,
    });
    expect(seen).toEqual([JSON.parse(headFiles(custody().head, keyA)['data/custody/tree-head.json']!.toString())]);
  });

  describe("the archive's export.created event (a later head from an archive)", () => {
    const EXPORT_ID = '2c8e4a6f-0b1d-4f3e-9a5c-7e9b1d3f5a72';
    /** The log as it grew after the package: its first HEAD_SIZE leaves, then the package's export.created event. */
    const archive = (fields: { zipSha256?: string; treeSize?: number; exportId?: string } = {}) => {
      const tree = new MemoryTree();
      for (const event of logEvents().slice(0, HEAD_SIZE)) tree.append(canonicalBytes(event));
      const packageHead = custody().head;
      const event = {
        index: HEAD_SIZE,
        action: 'export.created',
        at: '2026-11-24T10:00:01.000Z',
        actor: { id: 'b8e2d4f6-1a3c-4b5e-8d7f-9e0a2c4b6d21', role: 'investigator' },
        caseId: CASE_ID,
        subject: { type: 'export', id: fields.exportId ?? EXPORT_ID, sha256: fields.zipSha256 ?? sha256('a zip') },
        details: { treeSize: fields.treeSize ?? packageHead.treeSize, rootHash: packageHead.rootHash },
      };
      tree.append(canonicalBytes(event));
      const head = later({ treeSize: tree.size, rootHash: toHex(tree.root()), timestamp: '2026-11-25T10:00:00.000Z', keyId: keyA.keyId });
      const found = { leafIndex: HEAD_SIZE, leafHash: toHex(leafHash(canonicalBytes(event))), event, inclusionProof: proofToHex(tree.inclusionProof(HEAD_SIZE)) };
      return { head, consistencyProof: proofToHex(tree.consistencyProof(HEAD_SIZE)), keys: [], found };
    };
    const recorded = (verdict: PackageVerdict) => verdict.checks.find((c) => c.name === 'recorded');

    it("passes a .zip whose SHA-256 and head the event records, and names what a folder leaves unchecked", async () => {
      const zip = await zipBag();
      const zipSha256 = sha256(await readFile(zip));
      const { found, ...answer } = archive({ zipSha256 });
      const asked: [string, number][] = [];
      const exportEvent = async (id: string, from: number) => (asked.push([id, from]), { found });
      const verdict = await verifyPackage(zip, { against: against({ ...answer, exportEvent }) });
      expectOk(verdict);
      expect(asked).toEqual([[EXPORT_ID, HEAD_SIZE]]);
      expect(recorded(verdict)).toEqual({ name: 'recorded', status: 'ok', detail: `the archive's export.created event (leaf ${HEAD_SIZE}) records this head and this .zip's SHA-256` });
      const folder = await verifyPackage(await folderBag(), { against: against({ ...answer, exportEvent }) });
      expectOk(folder);
      expect(recorded(folder)!.detail).toMatch(/records this head; the \.zip's SHA-256 was not compared \(a folder was given\)$/);
    });

    it('fails a .zip the archive did not make, an event of another head, one not proved, and none at all', async () => {
      const zip = await zipBag();
      const other = archive();
      expectFailure(await verifyPackage(zip, { against: against({ ...other, exportEvent: async () => ({ found: other.found }) }) }), /the \.zip's SHA-256 .* is not the one the archive's export\.created event \(leaf \d+\) records .*: this is not the file the archive made/);
      const older = archive({ treeSize: 3 });
      expectFailure(await verifyPackage(await folderBag(), { against: against({ ...older, exportEvent: async () => ({ found: older.found }) }) }), `names the head at size 3, not this package's (size ${HEAD_SIZE})`);
      const altered = archive();
      const forged = { ...altered.found, leafHash: sha256('x') };
      expectFailure(await verifyPackage(await folderBag(), { against: against({ ...altered, exportEvent: async () => ({ found: forged }) }) }), /export\.created event for export .* is not proved under its head/);
      expectFailure(await verifyPackage(await folderBag(), { against: against({ ...altered, exportEvent: async () => ({ missing: true as const }) }) }), /holds no export\.created event for export .* between sizes/);
    });

    it('leaves the question open when the archive will not show its events, or the later head came from a file', async () => {
      const answer = archive();
      const closed = await verifyPackage(await folderBag(), { against: against({ ...answer, exportEvent: async () => ({ unavailable: 'not shown to this reader' }) }) });
      expectOk(closed);
      expect(recorded(closed)).toEqual({ name: 'recorded', status: 'skipped', detail: 'not shown to this reader' });
      const fromFile = await verifyPackage(await folderBag(), { against: against({ head: answer.head, consistencyProof: answer.consistencyProof, keys: [] }) });
      expect(recorded(fromFile)).toMatchObject({ status: 'skipped', detail: expect.stringMatching(/came from a file/) });
    });
  });

  it('passes a later head of the same size with no proof', async () => {
    const head = later(custody().head);
    expectOk(await verifyPackage(await folderBag(), { against: against({ head, consistencyProof: [], keys: [] }) }));
  });

  it('follows no handover of a key marked compromised, and refuses a head signed by one', async () => {
    const marking = (...keyIds: string[]): Files => {
      const files = payload();
      const keys = JSON.parse(files.get('data/custody/keys.json')!.toString()) as Record<string, unknown>[];
      for (const key of keys) if (keyIds.includes(key['keyId'] as string)) key['compromisedAt'] = '2026-11-24T09:50:00.000Z';
      files.set('data/custody/keys.json', Buffer.from(JSON.stringify(keys)));
      return files;
    };
    const bag = await folderBag(marking(keyB.keyId));
    const pinned = await verifyPackage(bag, { trustedKeyIds: [keyB.keyId] });
    expectFailure(pinned, `the tree head is signed by key ${keyA.keyId}, not the trusted key ${keyB.keyId} nor any key they handed over to; key ${keyB.keyId} was marked compromised by the archive at 2026-11-24T09:50:00.000Z`);
    expect(failures(pinned)[0]).toMatch(/pin the archive's current key, learnt from its operator out of band$/);
    // The handover itself holds (it is not the package's fault), and the head's own key is not marked.
    expectOk(await verifyPackage(bag, { trustedKeyIds: [keyA.keyId] }));
    expectOk(await verifyPackage(bag));
    // The archive signs with its active key: a head signed by a key its keys.json marks is no package of its.
    for (const trustedKeyIds of [[keyA.keyId], undefined]) {
      expectFailure(
        await verifyPackage(await folderBag(marking(keyA.keyId)), { ...(trustedKeyIds ? { trustedKeyIds } : {}) }),
        `the tree head is signed by key ${keyA.keyId}, which keys.json marks compromised since 2026-11-24T09:50:00.000Z`,
      );
    }
  });

  it('takes an old package whose key was marked compromised since on a later head of a trusted key, and not on the marked key', async () => {
    const { tree } = grown();
    const proof = proofToHex(tree.consistencyProof(HEAD_SIZE));
    const newKey = generateSigningKey();
    const head = later({ treeSize: tree.size, rootHash: toHex(tree.root()), timestamp: '2026-12-01T00:00:00.000Z', keyId: newKey.keyId }, newKey);
    const keys = [
      { keyId: keyA.keyId, algorithm: 'Ed25519', publicKeyPem: keyA.publicKeyPem, activeFrom: '2026-11-01T00:00:00.000Z', activeTo: '2026-12-01T00:00:00.000Z', compromisedAt: '2026-12-01T00:00:00.000Z' },
      { keyId: newKey.keyId, algorithm: 'Ed25519', publicKeyPem: newKey.publicKeyPem, activeFrom: '2026-12-01T00:00:00.000Z', activeTo: null, compromisedAt: null },
    ];
    const bag = await folderBag();
    const both = await verifyPackage(bag, { trustedKeyIds: [keyA.keyId, newKey.keyId], against: against({ head, consistencyProof: proof, keys }) });
    expectOk(both);
    expect(both.checks.find((c) => c.name === 'consistency')!.detail).toMatch(
      new RegExp(`the package's signer ${keyA.keyId} was marked compromised at 2026-12-01T00:00:00.000Z, after the package was made: its head stands on this later head`),
    );
    expectFailure(
      await verifyPackage(bag, { trustedKeyIds: [keyA.keyId], against: against({ head, consistencyProof: proof, keys }) }),
      `the later head from https://archive.example.org is signed by key ${newKey.keyId}, not the trusted key ${keyA.keyId}; key ${keyA.keyId} was marked compromised by the archive at 2026-12-01T00:00:00.000Z`,
    );
    // An outside audit: a court given only the archive's current key (as the CLI tells the operator
    // to do) saw FAILED on a genuine package; a key made after the package cannot be in it.
    const current = await verifyPackage(bag, { trustedKeyIds: [newKey.keyId], against: against({ head, consistencyProof: proof, keys }) });
    expectOk(current);
    expect(current.checks.find((c) => c.name === 'tree-head')!.detail).toMatch(/; not by a trusted key: it must stand on the later head \(--against\)$/);
    // Without a later head, or with one that does not extend the package's, it does not stand.
    expectFailure(await verifyPackage(bag, { trustedKeyIds: [newKey.keyId] }), `the tree head is signed by key ${keyA.keyId}, not the trusted key ${newKey.keyId}`);
    const forked = await verifyPackage(bag, { trustedKeyIds: [newKey.keyId], against: against({ head, consistencyProof: proof.map(() => sha256('x')), keys }) });
    expectFailure(forked, /does not extend the package's head at size \d+: the log was rewritten or forked/);
    expect(forked.problems).toContain(`the tree head is signed by key ${keyA.keyId}, not the trusted key ${newKey.keyId} nor any key they handed over to`);
    // A later head signed by a key the archive itself marks is refused, trusted or not.
    const marked = keys.map((k) => ({ ...k, compromisedAt: '2026-12-01T00:00:00.000Z' }));
    expectFailure(
      await verifyPackage(bag, { against: against({ head, consistencyProof: proof, keys: marked }) }),
      `the later head from https://archive.example.org is signed by key ${newKey.keyId}, which the archive marks compromised since 2026-12-01T00:00:00.000Z`,
    );
  });

  it('follows no handover in the package by a key the archive marked compromised after it', async () => {
    // An outside audit: the package's handover from the pinned key B was followed though the
    // archive's keys, fetched with --against, marked B compromised since.
    const { tree, head } = grown();
    const proof = proofToHex(tree.consistencyProof(HEAD_SIZE));
    const keys = [{ keyId: keyB.keyId, algorithm: 'Ed25519', publicKeyPem: keyB.publicKeyPem, activeFrom: '2026-11-01T00:00:00.000Z', activeTo: '2026-11-20T00:00:00.000Z', compromisedAt: '2026-12-01T00:00:00.000Z' }];
    const bag = await folderBag();
    expectOk(await verifyPackage(bag, { trustedKeyIds: [keyB.keyId], against: against({ head, consistencyProof: proof, keys: [] }) }));
    const verdict = await verifyPackage(bag, { trustedKeyIds: [keyB.keyId], against: against({ head, consistencyProof: proof, keys }) });
    expectFailure(
      verdict,
      `the later head from https://archive.example.org is signed by key ${keyA.keyId}, not the trusted key ${keyB.keyId}; key ${keyB.keyId} was marked compromised by the archive at 2026-12-01T00:00:00.000Z`,
    );
    // The key the handover led to, pinned itself, is still trusted.
    expectOk(await verifyPackage(bag, { trustedKeyIds: [keyA.keyId], against: against({ head, consistencyProof: proof, keys }) }));
  });

  it('passes a later head signed by a key published after the package, given with the later head', async () => {
    const { tree } = grown();
    const newKey = generateSigningKey();
    const head = later({ treeSize: tree.size, rootHash: toHex(tree.root()), timestamp: '2026-12-01T00:00:00.000Z', keyId: newKey.keyId }, newKey);
    const keys = [{ keyId: newKey.keyId, algorithm: 'Ed25519', publicKeyPem: newKey.publicKeyPem, activeFrom: '2026-12-01T00:00:00.000Z', activeTo: null }];
    const bag = await folderBag();
    expectFailure(await verifyPackage(bag, { against: against({ head, consistencyProof: proofToHex(tree.consistencyProof(HEAD_SIZE)), keys: [] }) }), `does not verify: no published key has keyId ${newKey.keyId}`);
    expectOk(await verifyPackage(bag, { against: against({ head, consistencyProof: proofToHex(tree.consistencyProof(HEAD_SIZE)), keys }) }));
  });

  it('refuses a later head signed by another key than the trusted one, and passes it under its own key', async () => {
    const { tree } = grown();
    const proof = proofToHex(tree.consistencyProof(HEAD_SIZE));
    const otherKey = generateSigningKey();
    const head = later({ treeSize: tree.size, rootHash: toHex(tree.root()), timestamp: '2026-12-01T00:00:00.000Z', keyId: otherKey.keyId }, otherKey);
    const keys = [{ keyId: otherKey.keyId, algorithm: 'Ed25519', publicKeyPem: otherKey.publicKeyPem, activeFrom: '2026-12-01T00:00:00.000Z', activeTo: null }];
    const bag = await folderBag();
    // The package head is keyA's: trusting keyA passes it, and must refuse the later head signed by another key.
    const verdict = await verifyPackage(bag, { trustedKeyIds: [keyA.keyId], against: against({ head, consistencyProof: proof, keys }) });
    expectFailure(verdict, `the later head from https://archive.example.org is signed by key ${otherKey.keyId}, not the trusted key ${keyA.keyId}`);
    expect(status(verdict, 'tree-head')).toBe('ok');
    expect(status(verdict, 'consistency')).toBe('failed');
    expect(verdict.problems).toHaveLength(1);
    // The same later head under keyA passes with keyA trusted; the other key's head passes with no key trusted.
    expectOk(await verifyPackage(bag, { trustedKeyIds: [keyA.keyId], against: against({ head: grown().head, consistencyProof: proof, keys: [] }) }));
    expectOk(await verifyPackage(bag, { against: against({ head, consistencyProof: proof, keys }) }));
    // After a rotation both keys are the archive's: trusting both passes the old package against the new head.
    expectOk(await verifyPackage(bag, { trustedKeyIds: [keyA.keyId, otherKey.keyId], against: against({ head, consistencyProof: proof, keys }) }));
    // A package whose signer no trusted key leads to stands on a later head a trusted key signed.
    const standing = await verifyPackage(await folderBag(withoutHandovers()), { trustedKeyIds: [keyB.keyId, otherKey.keyId], against: against({ head, consistencyProof: proof, keys }) });
    expectOk(standing);
    expect(standing.checks.find((c) => c.name === 'consistency')!.detail).toMatch(
      new RegExp(`; the package's signer ${keyA.keyId} is not a trusted key nor one a trusted key handed over to: its head stands on this later head, signed by a trusted key$`),
    );
    expectFailure(
      await verifyPackage(await folderBag(withoutHandovers()), { trustedKeyIds: [keyB.keyId, otherKey.keyId] }),
      `the tree head is signed by key ${keyA.keyId}, not any of the trusted keys ${keyB.keyId}, ${otherKey.keyId}`,
    );
  });

  it('fails a wrong consistency proof', async () => {
    const { tree, head } = grown();
    const proof = proofToHex(tree.consistencyProof(HEAD_SIZE));
    proof[0] = sha256('not a node');
    const verdict = await verifyPackage(await folderBag(), { against: against({ head, consistencyProof: proof, keys: [] }) });
    expectFailure(verdict, `the log at size ${HEAD_SIZE + 1} (https://archive.example.org) does not extend the package's head at size ${HEAD_SIZE}: the log was rewritten or forked`);
    expect(status(verdict, 'consistency')).toBe('failed');
  });

  it('fails a later head of a forked log, with that log’s own valid-looking proof', async () => {
    // The same log but for one event rewritten before the package's head: every later root differs.
    const fork = new MemoryTree();
    const target = custody().proofs[1]!.leafIndex;
    custody((event, bytes) => {
      fork.append(event.index === target ? Buffer.from(bytes.toString().replace('"role":"documenter"', '"role":"investigator"')) : bytes);
      return bytes;
    });
    expect(toHex(fork.root(HEAD_SIZE))).not.toBe(custody().head.rootHash);
    const head = later({ treeSize: fork.size, rootHash: toHex(fork.root()), timestamp: '2026-11-25T10:00:00.000Z', keyId: keyA.keyId });
    expectFailure(
      await verifyPackage(await folderBag(), { against: against({ head, consistencyProof: proofToHex(fork.consistencyProof(HEAD_SIZE)), keys: [] }) }),
      'the log was rewritten or forked',
    );
  });

  it('fails a later head smaller than the package head', async () => {
    const { tree } = custody();
    const head = later({ treeSize: HEAD_SIZE - 2, rootHash: toHex(tree.root(HEAD_SIZE - 2)), timestamp: '2026-11-25T10:00:00.000Z', keyId: keyA.keyId });
    expectFailure(await verifyPackage(await folderBag(), { against: against({ head, consistencyProof: [], keys: [] }) }), `the later head (size ${HEAD_SIZE - 2}) is older than the package's (size ${HEAD_SIZE})`);
  });

  it('fails when the resolver throws, with its message', async () => {
    const verdict = await verifyPackage(await folderBag(), {
      against: async () => {
        throw new Error('https://archive.example.org/api/v1/log/tree-head answered HTTP 503');
      },
    });
    expectFailure(verdict, 'no later head to compare with: https://archive.example.org/api/v1/log/tree-head answered HTTP 503');
    expect(status(verdict, 'consistency')).toBe('failed');
  });

  it('fails when the package head itself is not valid', async () => {
    const files = payload();
    for (const [name, bytes] of Object.entries(headFiles(custody().head, outsider))) files.set(name, bytes);
    const { tree, head } = grown();
    expectFailure(
      await verifyPackage(await folderBag(files), { against: against({ head, consistencyProof: proofToHex(tree.consistencyProof(HEAD_SIZE)), keys: [] }) }),
      'the package has no valid tree head to compare with a later one',
    );
  });
});
