import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON } from '../../../test/support/python.js';
import { openssl, startLocalTsa, type LocalTsa, type TsaKey } from '../../../test/support/tsa/local-tsa.js';
import { MemoryTree, canonicalBytes, proofToHex, toHex } from '#custodia/custody-core';
import {
  HEAD_SIZE,
  ITEMS,
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
  writeBag as writeBagFolder,
  type BagOptions,
  type Files,
} from '../../verifier/src/test-support/synthetic-bag.js';

/**
 * verify_proofs.py is what a court expert runs on a package without our software. These tests build
 * small bags exactly as PACKAGE-FORMAT.md describes (libs/verifier/src/test-support/synthetic-bag.ts,
 * independent of libs/exports, so the script is checked against the format, not against our
 * writer), then tamper with them one way at a time.
 */

const SCRIPT = fileURLToPath(new URL('../assets/verify_proofs.py', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function python(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      PYTHON,
      args,
      { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

const verify = (bag: string, ...extra: string[]): Promise<Run> => python([SCRIPT, bag, ...extra]);

/** Exit 1 with `FAILED`, the given messages in the output, and no Python traceback. */
function expectFailure(run: Run, ...messages: (string | RegExp)[]): void {
  expect(run.stderr).not.toContain('Traceback');
  expect(run.stdout).toMatch(/\nFAILED: \d+ problem\(s\)\n$/);
  for (const message of messages) expect(run.stdout).toMatch(message);
  expect(run.code).toBe(1);
}

function expectSuccess(run: Run): void {
  expect(run.stderr).toBe('');
  expect(run.stdout).not.toContain('FAILED');
  expect(run.stdout).toMatch(/\nALL CHECKS PASSED(, SIGNER NOT CHECKED: give --trusted-key with the key id the archive published)?\n$/);
  expect(run.code).toBe(0);
}

// ---- The packages: built per PACKAGE-FORMAT.md by the shared synthetic-bag builder ---------------

let root: string;
let scriptBytes: Buffer;

/** Writes a complete, consistent bag holding `data`, with the real verify_proofs.py among its tag files. */
const writeBag = (data: Files = payload(), options: BagOptions = {}): Promise<string> => writeBagFolder(root, data, { ...options, verifyScript: scriptBytes });

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'custodia-verify-proofs-'));
  scriptBytes = await readFile(SCRIPT);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('verify_proofs.py on a good package', () => {
  it('passes, with one ok line per check area', async () => {
    const bag = await writeBag();
    const run = await verify(bag);
    expectSuccess(run);
    for (const area of ['bag declaration', 'payload manifests', 'tag manifests', 'tree head', 'bag-info.txt', 'custody events', 'items']) {
      expect(run.stdout).toMatch(new RegExp(`^ok +${area.replace('.', '\\.')}: `, 'm'));
    }
    expect(run.stdout).toContain(`custody events: ${custody().lines.length} events`);
    expect(run.stdout).toContain(`signature valid, key ${keyA.keyId}`);
    expect(await readFile(path.join(bag, 'manifest-sha256.txt'), 'utf8')).toContain('звіт 100%25 ОСББ.pdf\n');
  });

  it("passes a partner copy, whose previews are bound by their evidence.derivative_created events", async () => {
    const run = await verify(await writeBag(payload(custody(), 'partner'), { purpose: 'partner' }));
    expectSuccess(run);
    expect(run.stdout).toMatch(/^ok +items: \d+ item\(s\), each preview the one its proven custody events record$/m);
  });

  it('checks the folder it sits in when given no folder, as it ships at the top of the bag', async () => {
    const bag = await writeBag();
    const run = await python([path.join(bag, 'verify_proofs.py')]);
    expectSuccess(run);
    expect(run.stdout).toContain(bag);
  });

  it('accepts a head signed by an older published key, and --trusted-key naming the signing key', async () => {
    const files = payload();
    for (const [name, bytes] of Object.entries(headFiles(custody().head, keyB))) files.set(name, bytes);
    const bag = await writeBag(files);
    // Without a key to trust the verdict does not say the archive signed: keys.json is the package's own.
    const unpinned = await verify(bag);
    expectSuccess(unpinned);
    expect(unpinned.stdout).toMatch(/\nALL CHECKS PASSED, SIGNER NOT CHECKED: give --trusted-key/);
    const pinned = await verify(bag, '--trusted-key', keyB.keyId);
    expectSuccess(pinned);
    expect(pinned.stdout).toMatch(/\nALL CHECKS PASSED\n$/);
  });
});

describe.concurrent("verify_proofs.py and a key's handover", () => {
  const withHandovers = (change?: (h: Record<string, any>) => void): Files => {
    const files = payload();
    if (change) files.set('data/custody/handovers.json', editJson(files, 'data/custody/handovers.json', (list) => change(list[0])));
    return files;
  };

  it('follows handovers.json from a retired key to the key that signed the head', async () => {
    const run = await verify(await writeBag(withHandovers()), '--trusted-key', keyB.keyId);
    expectSuccess(run);
    expect(run.stdout).toContain('reached from the trusted key through handovers.json');
    const before = withHandovers();
    before.delete('data/custody/handovers.json');
    expectFailure(await verify(await writeBag(before), '--trusted-key', keyB.keyId), `is signed by key ${keyA.keyId}, not by the trusted key ${keyB.keyId}`);
    expectFailure(await verify(await writeBag(withHandovers()), '--trusted-key', outsider.keyId), `not by the trusted key ${outsider.keyId} nor any key they handed over to`);
  });

  it('follows no handover of a key keys.json marks compromised, and refuses a head signed by one', async () => {
    const marking = (keyId: string): Files => {
      const files = withHandovers();
      files.set('data/custody/keys.json', editJson(files, 'data/custody/keys.json', (keys: Record<string, unknown>[]) => {
        for (const key of keys) if (key['keyId'] === keyId) key['compromisedAt'] = '2026-11-24T09:50:00.000Z';
      }));
      return files;
    };
    const bag = await writeBag(marking(keyB.keyId));
    expectFailure(
      await verify(bag, '--trusted-key', keyB.keyId),
      `not by the trusted key ${keyB.keyId} nor any key they handed over to; key ${keyB.keyId} was marked compromised by the archive at 2026-11-24T09:50:00.000Z`,
    );
    expectSuccess(await verify(bag, '--trusted-key', keyA.keyId));
    expectSuccess(await verify(bag));
    const signerMarked = await writeBag(marking(keyA.keyId));
    for (const pin of [['--trusted-key', keyA.keyId], []]) {
      expectFailure(await verify(signerMarked, ...pin), `is signed by key ${keyA.keyId}, which keys.json marks compromised since 2026-11-24T09:50:00.000Z`);
    }
  });

  it.each<[string, (h: Record<string, any>) => void, string | RegExp]>([
    ['the next key changed', (h) => (h.event.details.keyId = outsider.keyId), 'handovers.json entry 0: its inclusion proof does not lead from its event to its head'],
    ['signed by the key it hands over to', (h) => (h.head.keyId = keyA.keyId), /handovers.json entry 0: its head: the Ed25519 signature does not verify/],
    ['another action', (h) => (h.event.action = 'key.created'), 'its event is key.created, not key.rotated'],
    ['not the last leaf', (h) => (h.head.treeSize += 1), /handovers.json entry 0: its head: the Ed25519 signature does not verify/],
    ['another log', (h) => (h.consistencyProof = h.consistencyProof.slice(1)), /its consistency proof does not lead from its head \(size \d+\) to the package's head: not the same log/],
    ['not a handover', (h) => delete h.event, 'handovers.json entry 0: is not { head, event'],
  ])('fails a handover whose %s, a key pinned or not', async (_, change, message) => {
    const bag = await writeBag(withHandovers(change));
    const pinned = await verify(bag, '--trusted-key', keyB.keyId);
    expectFailure(pinned, message, /nor any key they handed over to/);
    expectFailure(await verify(bag), message);
  });
});

describe("verify_proofs.py's RFC 9162 consistency check", () => {
  it('holds for every proof of a real tree and for none changed by a bit', async () => {
    const tree = new MemoryTree();
    for (let i = 0; i < 70; i++) tree.append(Buffer.from(`leaf ${i}`));
    const lines: string[] = [];
    const expected: boolean[] = [];
    const add = (m: number, n: number, proof: string[], root1: string, root2: string, holds: boolean) => {
      lines.push(JSON.stringify([m, n, proof, root1, root2]));
      expected.push(holds);
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), fc.nat(), (a, b, pick) => {
        const [m, n] = a <= b ? [a, b] : [b, a];
        const proof = m === n ? [] : proofToHex(tree.consistencyProof(m, n));
        const [r1, r2] = [toHex(tree.root(m)), toHex(tree.root(n))];
        add(m, n, proof, r1, r2, true);
        if (proof.length) {
          const at = pick % proof.length;
          const bent = proof.map((h, k) => (k === at ? `${h.slice(0, 63)}${h[63] === '0' ? '1' : '0'}` : h));
          add(m, n, bent, r1, r2, false);
          add(m, n, proof.slice(0, -1), r1, r2, false);
        }
        if (m < n) add(m, n, proof, r2, r1, false);
      }),
      { numRuns: 300 },
    );
    const run = await python([SCRIPT, '--consistency-stdin'], lines.map((l) => `${l}\n`).join(''));
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n').slice(0, -1).map((v) => v === 'true')).toEqual(expected);
  });
});

describe.concurrent('verify_proofs.py on a tampered package', () => {
  it('catches a byte flipped in an original', async () => {
    const bag = await writeBag();
    const name = `data/evidence/${ITEMS[1]!.id}/original/${ITEMS[1]!.fileName}`;
    await editFile(bag, name, (bytes) => {
      bytes[100] ^= 0x01;
      return bytes;
    });
    const run = await verify(bag);
    expectFailure(run, `${name}: its SHA256 differs from manifest-sha256.txt`, `${name}: its SHA512 differs from manifest-sha512.txt`);
    expect(run.stdout).toMatch(/^ok +custody events/m);
  });

  it('catches an original replaced with every manifest recomputed: no proven evidence.submitted event records its hash', async () => {
    // What a forger does: change the file, then the manifests, Payload-Oxum and tag manifests
    // (writeBag computes them for the data given). Only the signed log can tell.
    const files = payload();
    const name = `data/evidence/${ITEMS[1]!.id}/original/${ITEMS[1]!.fileName}`;
    const forged = Buffer.concat([files.get(name)!, Buffer.from('appended')]);
    files.set(name, forged);
    const run = await verify(await writeBag(files));
    expectFailure(run, `${ITEMS[1]!.id}/original/${ITEMS[1]!.fileName}: no proven evidence.submitted event records its SHA-256 ${sha256(forged)}`);
    expect(run.stdout).toMatch(/^ok +payload manifests/m);
    expect(run.stdout).toMatch(/^ok +custody events/m);
  });

  it("catches a partner copy's preview replaced with every manifest recomputed", async () => {
    const files = payload(custody(), 'partner');
    const name = [...files.keys()].find((n) => n.endsWith('/preview.jpg'))!;
    files.set(name, Buffer.from('another picture'));
    expectFailure(await verify(await writeBag(files, { purpose: 'partner' })), /preview\.jpg: no proven evidence\.derivative_created event records its SHA-256/);
  });

  it('catches an item folder with its original gone, or with two', async () => {
    const files = payload();
    const name = `data/evidence/${ITEMS[1]!.id}/original/${ITEMS[1]!.fileName}`;
    files.set(`data/evidence/${ITEMS[1]!.id}/original/second.bin`, Buffer.from('x'));
    const doubled = await writeBag(files);
    files.delete(name);
    files.delete(`data/evidence/${ITEMS[1]!.id}/original/second.bin`);
    const gone = await writeBag(files);
    expectFailure(await verify(doubled), `${ITEMS[1]!.id}: more than one original`);
    expectFailure(await verify(gone), `${ITEMS[1]!.id}: the original is missing`);
  });

  const editLine = (line: Buffer) => Buffer.from(line.toString().replace('"role":"documenter"', '"role":"investigator"'));

  it('catches an edited event line when the manifests were left alone', async () => {
    const bag = await writeBag();
    await editFile(bag, 'data/custody/events.jsonl', (bytes) => Buffer.from(bytes.toString().replace('"role":"documenter"', '"role":"investigator"')));
    expectFailure(
      await verify(bag),
      'data/custody/events.jsonl: its SHA256 differs from manifest-sha256.txt',
      /events\.jsonl line 2: its leaf hash is not the leafHash of proofs\.json entry 1/,
    );
  });

  it('catches an edited event line with manifests recomputed, by its leaf hash', async () => {
    const c = custody();
    c.lines[1] = editLine(c.lines[1]!);
    const run = await verify(await writeBag(withCustody(c)));
    expectFailure(run, 'events.jsonl line 2: its leaf hash is not the leafHash of proofs.json entry 1');
    expect(run.stdout).toMatch(/^ok +payload manifests/m);
  });

  it('catches an edited event line with manifests and leaf hash recomputed, by its inclusion proof', async () => {
    const c = custody();
    c.lines[1] = editLine(c.lines[1]!);
    c.proofs[1]!.leafHash = sha256(Buffer.concat([Buffer.from([0]), c.lines[1]!]));
    const run = await verify(await writeBag(withCustody(c)));
    expectFailure(run, `events.jsonl line 2: the inclusion proof of leaf ${c.proofs[1]!.leafIndex} does not lead to the signed root`);
    expect(run.stdout).toMatch(/^FAILED +custody events: 1 problem\(s\)/m);
  });

  it('passes a package with an event and its proof left out: inclusion proofs prove presence, not completeness', async () => {
    // Every remaining event is still provably in the signed log, so no cryptographic check can notice
    // the gap. Completeness comes from elsewhere: the exporter's selection rule, the report, and a
    // comparison with the archive's public log (leaf hashes are public, api.md).
    const c = custody();
    c.lines.splice(2, 1);
    c.proofs.splice(2, 1);
    expectSuccess(await verify(await writeBag(withCustody(c))));
  });

  it('catches an event line dropped while its proofs.json entry stays', async () => {
    const c = custody();
    const count = c.lines.length;
    c.lines.splice(2, 1);
    expectFailure(
      await verify(await writeBag(withCustody(c))),
      'events.jsonl line 3: its leaf hash is not the leafHash of proofs.json entry 2',
      `proofs.json: has ${count} entries for ${count - 1} event lines`,
    );
  });

  it('catches reordered event lines', async () => {
    const c = custody();
    [c.lines[3], c.lines[4]] = [c.lines[4]!, c.lines[3]!];
    expectFailure(
      await verify(await writeBag(withCustody(c))),
      'events.jsonl line 4: the event index is not leafIndex',
      'events.jsonl line 4: its leaf hash is not the leafHash of proofs.json entry 3',
      'events.jsonl line 5: its leaf hash is not the leafHash of proofs.json entry 4',
    );
  });

  it('catches reordered lines with their proofs.json entries reordered too, by leaf order', async () => {
    const c = custody();
    [c.lines[3], c.lines[4]] = [c.lines[4]!, c.lines[3]!];
    [c.proofs[3], c.proofs[4]] = [c.proofs[4]!, c.proofs[3]!];
    expectFailure(await verify(await writeBag(withCustody(c))), /events\.jsonl line 5: leaf index \d+ does not follow \d+ \(indexes must strictly increase\)/);
  });

  it('catches a swapped hash in an inclusion proof', async () => {
    const c = custody();
    const proof = c.proofs[2]!.inclusionProof;
    [proof[0], proof[1]] = [proof[1]!, proof[0]!];
    expectFailure(await verify(await writeBag(withCustody(c))), `events.jsonl line 3: the inclusion proof of leaf ${c.proofs[2]!.leafIndex} does not lead to the signed root`);
  });

  it("catches a changed rootHash in the head (signature and every proof)", async () => {
    const files = payload();
    const head = JSON.parse(files.get('data/custody/tree-head.json')!.toString());
    head.rootHash = sha256('another log');
    files.set('data/custody/tree-head.json', canonicalBytes(head));
    const run = await verify(await writeBag(files));
    expectFailure(run, `tree-head.json: the Ed25519 signature does not verify with key ${keyA.keyId}`, /events\.jsonl line 1: the inclusion proof of leaf \d+ does not lead to the signed root/);
  });

  it('refuses a head re-signed by a key that keys.json does not publish', async () => {
    const files = payload();
    for (const [name, bytes] of Object.entries(headFiles(custody().head, outsider))) files.set(name, bytes);
    expectFailure(await verify(await writeBag(files)), `keys.json: has no key with keyId ${outsider.keyId}, the key of the tree head`);
  });

  it('refuses a head signed by another published key under --trusted-key', async () => {
    const files = payload();
    for (const [name, bytes] of Object.entries(headFiles(custody().head, keyB))) files.set(name, bytes);
    const run = await verify(await writeBag(files), '--trusted-key', keyA.keyId);
    expectFailure(run, `tree-head.json: is signed by key ${keyB.keyId}, not by the trusted key ${keyA.keyId}`);
    expect(run.stdout).toMatch(/^FAILED +tree head: 1 problem\(s\)/m);
    // After a rotation both keys are the archive's.
    const bag = await writeBag(files);
    expectSuccess(await verify(bag, '--trusted-key', keyA.keyId, '--trusted-key', keyB.keyId));
    expectFailure(await verify(bag, '--trusted-key', keyA.keyId, '--trusted-key', sha256('another')), `not by any of the trusted keys ${keyA.keyId}, ${sha256('another')}`);
  });

  it('refuses a key published under another key\'s id', async () => {
    const files = payload();
    const keys = JSON.parse(files.get('data/custody/keys.json')!.toString());
    keys[1].publicKeyPem = outsider.publicKeyPem;
    files.set('data/custody/keys.json', canonicalBytes(keys));
    expectFailure(await verify(await writeBag(files)), `keys.json: key ${keyA.keyId} does not hash to its keyId`);
  });

  it('catches a tree-head.tbs or .sig that is not the head\'s (what the openssl command of README.txt checks)', async () => {
    const files = payload();
    const other = headFiles({ ...custody().head, treeSize: HEAD_SIZE - 1 }, keyA);
    files.set('data/custody/tree-head.tbs', other['data/custody/tree-head.tbs']!);
    files.set('data/custody/tree-head.sig', other['data/custody/tree-head.sig']!);
    const run = await verify(await writeBag(files));
    expectFailure(run, 'tree-head.tbs: does not hold the signed bytes of tree-head.json', 'tree-head.sig: does not hold the signature of tree-head.json');
  });

  it('catches keys/<key id>.pem files swapped (what the openssl command of README.txt reads)', async () => {
    // An outside audit: the script passed, the CLI and the auditor's own verifier failed it.
    const files = payload();
    const [a, b] = [`data/custody/keys/${keyA.keyId}.pem`, `data/custody/keys/${keyB.keyId}.pem`];
    const pemA = files.get(a)!;
    files.set(a, files.get(b)!);
    files.set(b, pemA);
    expectFailure(await verify(await writeBag(files)), `keys/${keyA.keyId}.pem: differs from keys.json`, `keys/${keyB.keyId}.pem: differs from keys.json`);
  });

  it('catches a non-canonical event line even when the log, proofs, head and manifests all agree with it', async () => {
    const target = logEvents().find((e) => e.action === 'evidence.submitted')!;
    // The leaf data itself carries an extra space: leaf hash, proofs and the signed root are computed over it.
    const c = custody((event, bytes) => (event.index === target.index ? Buffer.from(bytes.toString().replace('{"action"', '{ "action"')) : bytes));
    const line = c.lines.findIndex((l) => l.toString().startsWith('{ '));
    const files = withCustody(c);
    for (const [name, bytes] of Object.entries(headFiles(c.head, keyA))) files.set(name, bytes);
    const run = await verify(await writeBag(files));
    expectFailure(run, `events.jsonl line ${line + 1}: is not in RFC 8785 canonical form`);
    expect(run.stdout).toMatch(/^FAILED +custody events: 1 problem\(s\)/m);
  });

  it('catches a file added under data/', async () => {
    const bag = await writeBag();
    await writeFile(path.join(bag, 'data/evidence', ITEMS[0]!.id, 'original', 'planted.jpg'), randomBytes(10));
    const name = `data/evidence/${ITEMS[0]!.id}/original/planted.jpg`;
    expectFailure(await verify(bag), `${name}: is not listed in manifest-sha256.txt`, `${name}: is not listed in manifest-sha512.txt`, /Payload-Oxum is \d+\.\d+, but data\/ holds/);
  });

  it('names a file planted under a name of terminal escapes visibly, so it cannot redraw the verdict', async () => {
    const bag = await writeBag();
    const planted = 'x\u001b[2K\r\u009b1AALL CHECKS PASSED\u202egpj.jpg';
    await writeFile(path.join(bag, 'data/evidence', ITEMS[0]!.id, 'original', planted), randomBytes(10));
    const run = await verify(bag);
    expectFailure(run, `data/evidence/${ITEMS[0]!.id}/original/x[U+001B][2K[U+000D][U+009B]1AALL CHECKS PASSED[U+202E]gpj.jpg: is not listed in manifest-sha256.txt`);
    expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
  });

  it('catches a file removed from data/', async () => {
    const bag = await writeBag();
    const name = `data/evidence/${ITEMS[2]!.id}/original/${ITEMS[2]!.fileName}`;
    await unlink(path.join(bag, name));
    expectFailure(await verify(bag), `${name}: is listed but missing`, /Payload-Oxum/);
  });

  it('refuses a bag declared as another BagIt version than 1.0', async () => {
    const bag = await writeBag();
    await editFile(bag, 'bagit.txt', (bytes) => Buffer.from(bytes.toString().replace('1.0', '0.97')));
    expectFailure(await verify(bag), 'bagit.txt: is not a BagIt 1.0 declaration');
  });

  it('catches an edited manifest line', async () => {
    const bag = await writeBag();
    await editFile(bag, 'manifest-sha512.txt', (bytes) => Buffer.from(bytes.toString().replace(/^[0-9a-f]/, (d) => (d === '0' ? '1' : '0'))));
    expectFailure(await verify(bag), /: its SHA512 differs from manifest-sha512\.txt/, 'manifest-sha512.txt: its SHA256 differs from tagmanifest-sha256.txt');
  });

  it('catches a wrong Payload-Oxum', async () => {
    const files = payload();
    const bag = await writeBag(files, { bagInfo: (lines) => lines.map((l) => (l.startsWith('Payload-Oxum') ? l.replace(/\.(\d+)$/, (_, n) => `.${Number(n) + 1}`) : l)) });
    expectFailure(await verify(bag), /bag-info\.txt: Payload-Oxum is \d+\.\d+, but data\/ holds \d+\.\d+ \(bytes\.files\)/);
  });

  it('catches a manifest path that leaves the bag', async () => {
    const bag = await writeBag();
    await writeFile(path.join(root, 'outside.txt'), 'x');
    await editFile(bag, 'manifest-sha256.txt', (bytes) => Buffer.concat([bytes, Buffer.from(`${sha256('x')}  data/../../outside.txt\n`)]));
    expectFailure(await verify(bag), 'data/../../outside.txt is not a plain relative path inside the bag');
  });

  it('reports malformed proofs.json as a failure, without a traceback', async () => {
    const files = payload();
    files.set('data/custody/proofs.json', Buffer.from('[{"leafIndex": 1, "leafHash": '));
    expectFailure(await verify(await writeBag(files)), /proofs\.json: is not valid JSON/);
  });

  it.each<[string, (files: Files) => void, string | RegExp]>([
    ['bad base64 signature', (f) => f.set('data/custody/tree-head.json', editJson(f, 'data/custody/tree-head.json', (h) => (h.signature = 'not base64!'))), 'signature is not the base64 of 64 bytes'],
    ['bad hex in a proof', (f) => f.set('data/custody/proofs.json', editJson(f, 'data/custody/proofs.json', (p) => (p[0].inclusionProof[0] = 'zz'))), 'proofs.json entry 0 (for events.jsonl line 1): has no inclusionProof'],
    ['a head that is not an object', (f) => f.set('data/custody/tree-head.json', Buffer.from('[]')), 'tree-head.json: is not a JSON object'],
    ['a PEM that is not base64', (f) => f.set('data/custody/keys.json', editJson(f, 'data/custody/keys.json', (k) => (k[1].publicKeyPem = '-----BEGIN PUBLIC KEY-----\nMCow=BQYDK2VwAyEA\n-----END PUBLIC KEY-----\n'))), /keys\.json: key [0-9a-f]{64} is not an Ed25519 public key in PEM/],
    ['a missing keys.json', (f) => f.delete('data/custody/keys.json'), /keys\.json: cannot be read/],
    ['a missing events.jsonl', (f) => f.delete('data/custody/events.jsonl'), /events\.jsonl: cannot be read/],
    ['an event line that is not JSON', (f) => f.set('data/custody/events.jsonl', Buffer.concat([Buffer.from('{"index":\n'), f.get('data/custody/events.jsonl')!])), /events\.jsonl line 1: is not valid I-JSON/],
    ['an event line that is not UTF-8', (f) => f.set('data/custody/events.jsonl', Buffer.from([0x22, 0xff, 0x22, 0x0a])), /events\.jsonl line 1: is not valid I-JSON/],
    ['a number too large for a double', (f) => f.set('data/custody/events.jsonl', Buffer.from(`{"index":1${'0'.repeat(400)}}\n`)), /events\.jsonl line 1: is not valid I-JSON/],
    ['a head with a huge treeSize', (f) => f.set('data/custody/tree-head.json', editJson(f, 'data/custody/tree-head.json', (h) => (h.treeSize = 1e300))), 'treeSize is not a non-negative integer'],
  ])('reports %s as a failure, without a traceback', async (_, tamper, message) => {
    const files = payload();
    tamper(files);
    expectFailure(await verify(await writeBag(files)), message);
  });

  it('answers usage errors with exit code 2', async () => {
    const bag = await writeBag();
    const badKey = await verify(bag, '--trusted-key', 'not-a-key-id');
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('--trusted-key takes a keyId');
    expect((await verify(path.join(root, 'no-such-bag'))).code).toBe(2);
    expect((await python([SCRIPT, bag, '--no-such-option'])).code).toBe(2);
  });
});

function editJson(files: Files, name: string, edit: (value: any) => void): Buffer {
  const value = JSON.parse(files.get(name)!.toString());
  edit(value);
  return Buffer.from(JSON.stringify(value));
}

describe("verify_proofs.py and the head's RFC 3161 time-stamp", () => {
  const authorities = new Map<TsaKey, LocalTsa>();
  beforeAll(async () => {
    for (const key of ['P-256', 'P-384', 'RSA'] as const) authorities.set(key, await startLocalTsa(key));
  });
  afterAll(async () => {
    for (const tsa of authorities.values()) await tsa.close();
  });

  /** A token (DER) from the authority over `data`, as the archive asks for one: SHA-256, with the certificate. */
  async function tokenFor(data: Buffer, key: TsaKey = 'P-256'): Promise<Buffer> {
    const tsa = authorities.get(key)!;
    const query = await openssl(['ts', '-query', '-data', await tsa.writeTemp('stamped', data), '-sha256', '-cert']);
    const reply = await tsa.writeTemp('reply.tsr', await tsa.reply(query.stdout));
    return (await openssl(['ts', '-reply', '-in', reply, '-token_out'])).stdout;
  }
  const stampedYes = { bagInfo: (lines: string[]) => lines.map((l) => (l.startsWith('Custodia-Timestamp-Token:') ? 'Custodia-Timestamp-Token: yes' : l)) };
  const withToken = (token: Buffer): Files => new Map([...payload(), ['data/custody/tree-head.tsr', token]]);
  const head = () => payload().get('data/custody/tree-head.json')!;

  it.each(['P-256', 'P-384', 'RSA'] as const)('checks a token signed with %s: for this head, signed with the certificate it carries', async (key) => {
    const run = await verify(await writeBag(withToken(await tokenFor(head(), key)), stampedYes));
    expectSuccess(run);
    expect(run.stdout).toMatch(
      /^ok +time-stamp: time-stamped \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(serial \d+\) by Custodia Test TSA; the signature verifies with the certificate it carries \(SHA-256 [0-9a-f]{64}\); whether that is the authority's certificate is not checked here: README\.txt step 3$/m,
    );
  });

  it('refuses a token for other bytes, one whose signature or time was altered, and one removed', async () => {
    expectFailure(await verify(await writeBag(withToken(await tokenFor(Buffer.from('another head\n'))), stampedYes)), 'tree-head.tsr: time-stamps other data than data/custody/tree-head.json (its sha256 differs)');
    const token = await tokenFor(head());
    const signature = Buffer.from(token);
    signature[signature.length - 1]! ^= 0x01; // the last byte of the signature (s of ECDSA's r, s)
    expectFailure(await verify(await writeBag(withToken(signature), stampedYes)), 'tree-head.tsr: its signature does not verify with the certificates it carries');
    // genTime (GeneralizedTime, 15 bytes) a year earlier: the signed attributes no longer hold the TSTInfo's hash.
    const earlier = Buffer.from(token);
    const at = earlier.indexOf(Buffer.from([0x18, 0x0f])) + 5;
    earlier[at] = earlier[at]! - 1;
    expectFailure(await verify(await writeBag(withToken(earlier), stampedYes)), "tree-head.tsr: its signed attributes do not hold its TSTInfo's sha256 (it was altered after signing)");
    expectFailure(await verify(await writeBag(payload(), stampedYes)), 'bag-info.txt says the head was time-stamped, but data/custody/tree-head.tsr is missing (removed?)');
    const garbage = await verify(await writeBag(withToken(randomBytes(300)), stampedYes));
    expectFailure(garbage, /FAILED +time-stamp: 1 problem\(s\)\n +- the check stopped on unexpected input/);
  });

  it('says a package without a token carries none', async () => {
    const run = await verify(await writeBag());
    expectSuccess(run);
    expect(run.stdout).toMatch(/^skipped time-stamp: the package carries no RFC 3161 time-stamp$/m);
  });
});

describe("verify_proofs.py's RFC 8785 canonicaliser", () => {
  /** The script's canonical bytes (hex) of each JSON text, one Python process for the lot. */
  async function pythonCanonical(texts: string[]): Promise<string[]> {
    const run = await python([SCRIPT, '--canonicalize-stdin'], texts.map((t) => `${t}\n`).join(''));
    expect(run.stderr).toBe('');
    return run.stdout.split('\n').slice(0, -1);
  }

  /** A JSON text of `value` that is not canonical: shuffled spacing, other number forms, escaped characters. */
  function looseJson(value: unknown, seed: number): string {
    let state = seed >>> 0 || 1;
    const coin = (): boolean => {
      state = (state * 1103515245 + 12345) >>> 0;
      return (state & 0x10000) !== 0;
    };
    const space = () => (coin() ? ' ' : coin() ? '\t ' : '');
    const string = (s: string) => (coin() ? JSON.stringify(s) : JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
    const number = (n: number) => (Object.is(n, -0) ? '-0.0' : coin() ? String(n) : coin() ? n.toExponential() : n.toPrecision(17).replace('e', 'E'));
    const write = (v: unknown): string => {
      if (typeof v === 'number') return number(v);
      if (typeof v === 'string') return string(v);
      if (Array.isArray(v)) return `[${space()}${v.map((x) => write(x)).join(`${space()},${space()}`)}${space()}]`;
      if (v !== null && typeof v === 'object') {
        const entries = Object.entries(v);
        if (coin()) entries.reverse();
        return `{${space()}${entries.map(([k, x]) => `${string(k)}${space()}:${space()}${write(x)}`).join(',')}${space()}}`;
      }
      return JSON.stringify(v);
    };
    return write(value);
  }

  const key = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.constantFrom('\u20ac', '\r', '\ufb33', '1', '\ud83d\ude00', '\u0080', '\u00f6', 'a', 'A', '\u{10ffff}', '\uffff', ''),
  );
  const number = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.double({ noNaN: true, min: -1e25, max: 1e25 }),
    fc.double({ noNaN: true, min: -1e-5, max: 1e-5 }),
    fc.double({ noNaN: true, min: 1e15, max: 1e25 }), // around 1e21, where ECMAScript switches to exponents
    fc.integer({ min: -30, max: 30 }).chain((e) => fc.integer({ min: 1, max: 999 }).map((m) => m * 10 ** e)),
    fc.constantFrom(0, -0, 1e20, 123456789012345680000, 1e21, 1e-7, 1e-6, 123e-20, 5e-324, -5e-324, 1.7976931348623157e308, 9007199254740992, 2 ** 53 + 2, 333333333.33333329, 4.5, 0.1 + 0.2),
  );
  const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('\u2028\u2029', '\u007f', '\u0000\u001f', '"\\/', '\ud83d\ude00\ud800\udc00'));
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant(null), fc.boolean(), number, text, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  }));

  it('matches canonicalBytes on the RFC 8785 examples', async () => {
    const samples = [
      String.raw`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
      String.raw`{"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\ud83d\ude00": 5, "\u0080": 6, "\u00f6": 7}`,
      '[-0, 1e21, 1e-7, 0.000001, 123456789012345680000, 5e-324, 1.7976931348623157e308, 9007199254740993]',
    ];
    const expected = samples.map((s) => toHex(canonicalBytes(JSON.parse(s))));
    expect(await pythonCanonical(samples)).toEqual(expected);
    expect(Buffer.from(expected[0]!, 'hex').toString()).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it('refuses what RFC 8785 cannot represent: NaN, Infinity, lone surrogates', async () => {
    expect(await pythonCanonical(['NaN', '[Infinity]', '1e400', '"\\ud800"', '{"\\udc00":1}', '{"a":'])).toEqual(Array(6).fill('error'));
  });

  it('matches canonicalBytes on random JSON values written loosely', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(value, fc.integer()), { minLength: 100, maxLength: 200 }), async (batch) => {
        const expected = batch.map(([v]) => toHex(canonicalBytes(v)));
        expect(await pythonCanonical(batch.map(([v, seed]) => looseJson(v, seed)))).toEqual(expected);
      }),
      // Python starts in about a second on slow machines: a few large batches, not many small ones.
      // endOnFailure: shrinking would start a Python per step; the toEqual diff names the value.
      { numRuns: 8, endOnFailure: true },
    );
  });
});
