import { createHash } from 'node:crypto';
import { appendFile, cp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatManifest, formatOxum } from '../libs/bagit/src/index.js';
import { canonicalBytes, generateSigningKey, MemoryTree, proofToHex, signTreeHead, toHex, type SignedTreeHead } from '../libs/custody-core/src/index.js';
import { CUSTODIA_CONFIG } from '../libs/config/src/index.js';
import { PYTHON } from './support/python.js';
import { startLocalTsa, type LocalTsa } from './support/tsa/local-tsa.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { bearer, createCase, fixture, listen, submit, waitProcessed } from './support/evidence.js';
import { cliVerify, download, filesIn, makeExport, run, unpack } from './support/exports.js';

/**
 * The tamper matrix: one genuine package, then one change at a time, each of which `custodia
 * verify` must catch and name. "Re-bagged" variants also recompute the manifests, Payload-Oxum
 * and tag manifests, as a forger with a BagIt tool would: only the custody proofs catch those.
 */
describe('custodia verify against a tampered package (e2e)', () => {
  let t: TestApp;
  let tsa: LocalTsa;
  let investigator: TestUser;
  let caseId: string;
  let photoId: string;
  let work: string;
  let zip: string;
  let zipBytes: Buffer;
  let bag: string;
  let head: SignedTreeHead;
  const photo = fixture('metadata-rich.jpg');
  let copies = 0;

  beforeAll(async () => {
    tsa = await startLocalTsa();
    t = await startTestApp({ CUSTODIA_TSA_URL: tsa.url });
    investigator = await t.user('investigator');
    caseId = await createCase(t, investigator, 'tamper matrix');
    photoId = (await submit(t, investigator, caseId, photo, { filename: 'strike.jpg', contentType: 'image/jpeg' })).body.id;
    await submit(t, investigator, caseId, fixture('not-an-image.pdf'), { filename: 'statement.pdf' });
    await waitProcessed(t, investigator, photoId);
    // A few more events about the photo, so reordering and dropping have something to work on.
    for (const status of ['under_review', 'verified']) {
      await t.http.patch(`/api/v1/evidence/${photoId}`).set('Authorization', bearer(investigator)).send({ status, reason: 'checked' });
    }
    const exported = await makeExport(t, investigator, caseId, { purpose: 'court' });
    const got = await download(t, investigator, exported.id);
    work = got.dir;
    zip = got.zip;
    zipBytes = got.bytes;
    bag = await unpack(zip, path.join(work, 'genuine'));
    head = JSON.parse(await readFile(path.join(bag, 'data/custody/tree-head.json'), 'utf8'));
    expect((await cliVerify([bag, '--trusted-key', head.keyId])).code).toBe(0);
  });

  afterAll(async () => {
    await t?.close();
    await tsa?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A fresh copy of the genuine bag folder to spoil. */
  async function copy(): Promise<string> {
    const target = path.join(work, `copy-${++copies}`, path.basename(bag));
    await cp(bag, target, { recursive: true });
    return target;
  }

  const at = (dir: string, file: string) => path.join(dir, file);

  /** What a forger with a BagIt tool does after a change: new manifests, Payload-Oxum and tag manifests. */
  async function rebag(dir: string): Promise<void> {
    const all = await filesIn(dir);
    const digest = async (file: string, algorithm: string) => createHash(algorithm).update(await readFile(at(dir, file))).digest('hex');
    const payload = all.filter((f) => f.startsWith('data/'));
    let bytes = 0;
    for (const f of payload) bytes += (await readFile(at(dir, f))).length;
    const info = (await readFile(at(dir, 'bag-info.txt'), 'utf8')).replace(/^Payload-Oxum: .*$/m, `Payload-Oxum: ${formatOxum(bytes, payload.length)}`);
    await writeFile(at(dir, 'bag-info.txt'), info);
    for (const algorithm of ['sha256', 'sha512']) {
      await writeFile(at(dir, `manifest-${algorithm}.txt`), formatManifest(await Promise.all(payload.map(async (p) => ({ path: p, digest: await digest(p, algorithm) })))));
    }
    const tags = all.filter((f) => !f.startsWith('data/') && !f.startsWith('tagmanifest-'));
    for (const algorithm of ['sha256', 'sha512']) {
      await writeFile(at(dir, `tagmanifest-${algorithm}.txt`), formatManifest(await Promise.all(tags.map(async (p) => ({ path: p, digest: await digest(p, algorithm) })))));
    }
  }

  async function expectCaught(target: string, pattern: RegExp, args: string[] = []): Promise<string> {
    const result = await cliVerify([target, ...args]);
    expect(result.code, result.out).toBe(1);
    expect(result.out).toMatch(/^FAILED: /m);
    expect(result.out).toMatch(pattern);
    return result.out;
  }

  const originalPath = async (dir: string) => (await filesIn(dir)).find((f) => f.startsWith(`data/evidence/${photoId}/original/`))!;
  const eventLines = async (dir: string) => (await readFile(at(dir, 'data/custody/events.jsonl'), 'utf8')).trimEnd().split('\n');
  const writeLines = (dir: string, lines: string[]) => writeFile(at(dir, 'data/custody/events.jsonl'), `${lines.join('\n')}\n`);

  it('a byte flipped in an original inside the ZIP', async () => {
    const spoiled = Buffer.from(zipBytes);
    const offset = spoiled.indexOf(photo.subarray(0, 64)) + Math.floor(photo.length / 2);
    spoiled[offset] ^= 0x01;
    const target = path.join(work, 'flipped.zip');
    await writeFile(target, spoiled);
    const out = await expectCaught(target, new RegExp(`FAIL\\s+${photoId}\\s+strike\\.jpg\\s+original: its SHA256 \\S+ differs from manifest-sha256\\.txt`));
    expect(out).toMatch(/manifests\s+FAIL/);
  });

  it('a byte flipped in an original, re-bagged: the custody log still holds the received hash', async () => {
    const dir = await copy();
    const file = at(dir, await originalPath(dir));
    const bytes = await readFile(file);
    bytes[100] ^= 0x80;
    await writeFile(file, bytes);
    // Even record.json is brought in line; the signed log is not.
    const record = JSON.parse(await readFile(at(dir, `data/evidence/${photoId}/record.json`), 'utf8'));
    record.sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(at(dir, `data/evidence/${photoId}/record.json`), JSON.stringify(record));
    await rebag(dir);
    await expectCaught(dir, new RegExp(`FAIL\\s+${photoId}\\s+strike\\.jpg\\s+original: no proven evidence\\.submitted event records its SHA-256`));
    // The standard-tools route of README.txt: the manifests pass (they were recomputed); the bag's own script does not.
    await run('sha256sum', ['-c', '--strict', '--quiet', 'manifest-sha256.txt'], { cwd: dir });
    const script = await run(PYTHON, [path.join(dir, 'verify_proofs.py'), dir]).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => error,
    );
    expect(script.code, script.stdout).toBe(1);
    expect(script.stdout).toMatch(new RegExp(`^FAILED +items: 1 problem\\(s\\)\\n +- ${photoId}/original/strike\\.jpg: no proven evidence\\.submitted event records its SHA-256`, 'm'));
  });

  it('an event line edited (and re-bagged)', async () => {
    for (const rebagged of [false, true]) {
      const dir = await copy();
      const lines = await eventLines(dir);
      const k = lines.findIndex((l) => l.includes('"evidence.status_changed"'));
      lines[k] = lines[k]!.replace('"reason":"checked"', '"reason":"checkeD"');
      await writeLines(dir, lines);
      if (rebagged) await rebag(dir);
      await expectCaught(dir, new RegExp(`FAIL\\s+${photoId}.*events\\.jsonl line ${k + 1} \\(leaf \\d+\\): was altered`));
    }
  });

  it('an event line dropped', async () => {
    const dir = await copy();
    const lines = await eventLines(dir);
    const k = lines.findIndex((l) => l.includes('"evidence.status_changed"'));
    const leaf = JSON.parse(lines[k]!).index;
    lines.splice(k, 1);
    await writeLines(dir, lines);
    await rebag(dir);
    await expectCaught(dir, new RegExp(`leaf ${leaf} has a proof in proofs\\.json but no line in events\\.jsonl \\(an event was dropped\\)`));
  });

  /** The bag's own verify_proofs.py on `dir`: its exit code and output. */
  const script = (dir: string) =>
    run(PYTHON, [path.join(dir, 'verify_proofs.py'), dir]).then(
      (done) => ({ code: 0, stdout: done.stdout }),
      (error: { code: number; stdout: string }) => error,
    );

  it('a record edited, every manifest recomputed: the seal the log holds catches it', async () => {
    // An outside audit changed an incident's figures this way and every verifier said VERIFIED.
    const dir = await copy();
    const file = `data/evidence/${photoId}/record.json`;
    const genuine = await readFile(at(dir, file), 'utf8');
    const forged = genuine.replace('"status": "verified"', '"status": "rejected"');
    expect(forged).not.toBe(genuine);
    await writeFile(at(dir, file), forged);
    await rebag(dir);
    await expectCaught(dir, new RegExp(`seal\\s+FAIL\\s+${file} is not what the log sealed`));
    const checked = await script(dir);
    expect(checked.code, checked.stdout).toBe(1);
    expect(checked.stdout).toMatch(new RegExp(`^FAILED +seal: 1 problem\\(s\\)\\n +- ${file}: is not what the log sealed`, 'm'));
    // The sealed manifest redone to match: it is then not the one the log sealed.
    const sealed = await readFile(at(dir, 'data/custody/sealed-manifest-sha256.txt'), 'utf8');
    const digest = createHash('sha256').update(forged).digest('hex');
    const resealed = sealed.replace(new RegExp(`^[0-9a-f]{64}(  ${file})$`, 'm'), `${digest}$1`);
    expect(resealed).not.toBe(sealed);
    await writeFile(at(dir, 'data/custody/sealed-manifest-sha256.txt'), resealed);
    await rebag(dir);
    await expectCaught(dir, /seal\s+FAIL\s+data\/custody\/sealed-manifest-sha256\.txt is not the manifest the log sealed/);
    expect((await script(dir)).stdout).toMatch(/- data\/custody\/sealed-manifest-sha256\.txt: is not the manifest the log sealed/);
  });

  it('an event line dropped with its proof, re-bagged: the proofs alone cannot tell, the seal does', async () => {
    const dir = await copy();
    const lines = await eventLines(dir);
    const k = lines.findIndex((l) => l.includes('"evidence.status_changed"'));
    lines.splice(k, 1);
    await writeLines(dir, lines);
    const proofs = JSON.parse(await readFile(at(dir, 'data/custody/proofs.json'), 'utf8'));
    proofs.splice(k, 1);
    await writeFile(at(dir, 'data/custody/proofs.json'), JSON.stringify(proofs));
    await rebag(dir);
    const out = await expectCaught(dir, /seal\s+FAIL\s+data\/custody\/events\.jsonl is not what the log sealed/);
    expect(out).toMatch(/events\s+OK/);
    expect((await script(dir)).stdout).toMatch(/^FAILED +seal: 1 problem\(s\)\n +- data\/custody\/events\.jsonl: is not what the log sealed/m);
  });

  it('the seal removed, re-bagged: a head signed after seals began needs one', async () => {
    const dir = await copy();
    await unlink(at(dir, 'data/custody/seal.json'));
    await unlink(at(dir, 'data/custody/sealed-manifest-sha256.txt'));
    await rebag(dir);
    await expectCaught(dir, /seal\s+FAIL\s+the package has no seal, though its head was signed at .*: seal\.json and the sealed manifest were removed/);
    expect((await script(dir)).stdout).toMatch(/^FAILED +seal: 1 problem\(s\)\n +- the package has no seal, though its head was signed at/m);
  });

  it('a file added to data/ with every manifest recomputed is named as not sealed', async () => {
    const dir = await copy();
    await writeFile(at(dir, 'data/statement-of-a-witness.txt'), 'added later');
    await rebag(dir);
    await expectCaught(dir, /data\/statement-of-a-witness\.txt was not sealed: it was added after the package was made/);
    expect((await script(dir)).stdout).toMatch(/- data\/statement-of-a-witness\.txt: was not sealed/);
  });

  it('event lines reordered', async () => {
    const dir = await copy();
    const lines = await eventLines(dir);
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    await writeLines(dir, lines);
    await rebag(dir);
    await expectCaught(dir, /events\.jsonl line 3 \(leaf \d+\): comes after leaf \d+: the lines are out of order/);
  });

  it('a proof hash swapped', async () => {
    const dir = await copy();
    const proofs = JSON.parse(await readFile(at(dir, 'data/custody/proofs.json'), 'utf8'));
    const victim = proofs.find((p: { inclusionProof: string[] }) => p.inclusionProof.length > 1);
    [victim.inclusionProof[0], victim.inclusionProof[1]] = [victim.inclusionProof[1], victim.inclusionProof[0]];
    await writeFile(at(dir, 'data/custody/proofs.json'), JSON.stringify(proofs));
    await rebag(dir);
    await expectCaught(dir, new RegExp(`\\(leaf ${victim.leafIndex}\\): its inclusion proof does not lead to the tree head's root`));
  });

  it("the head's root changed", async () => {
    const dir = await copy();
    const forged = { ...head, rootHash: toHex(createHash('sha256').update('another log').digest()) };
    await writeFile(at(dir, 'data/custody/tree-head.json'), canonicalBytes(forged));
    await rebag(dir);
    await expectCaught(dir, /tree-head\s+FAIL\s+the tree head does not verify: signature does not verify/);
  });

  it('the head re-signed by another key is refused under --trusted-key', async () => {
    const dir = await copy();
    const forger = generateSigningKey();
    const forged = signTreeHead({ ...head, keyId: forger.keyId }, forger.privateKey);
    await writeFile(at(dir, 'data/custody/tree-head.json'), canonicalBytes(forged));
    const keys = JSON.parse(await readFile(at(dir, 'data/custody/keys.json'), 'utf8'));
    keys.push({ keyId: forger.keyId, algorithm: 'Ed25519', publicKeyPem: forger.publicKeyPem, activeFrom: head.timestamp, activeTo: null });
    await writeFile(at(dir, 'data/custody/keys.json'), JSON.stringify(keys));
    await unlink(at(dir, 'data/custody/tree-head.tsr'));
    await writeFile(at(dir, 'bag-info.txt'), (await readFile(at(dir, 'bag-info.txt'), 'utf8')).replace(head.keyId, forger.keyId).replace('Token: yes', 'Token: no'));
    await rm(at(dir, 'data/custody/tree-head.tbs'));
    await rm(at(dir, 'data/custody/tree-head.sig'));
    await rebag(dir);
    // A forger who controls every byte of the package can make it consistent with their own key:
    // only a key id obtained from the archive itself tells them apart.
    expect((await cliVerify([dir])).code).toBe(0);
    await expectCaught(dir, new RegExp(`signed by key ${forger.keyId}, not the trusted key ${head.keyId}`), ['--trusted-key', head.keyId]);
  });

  it('a file added to data/ and a file removed from data/', async () => {
    const added = await copy();
    await writeFile(at(added, `data/evidence/${photoId}/original/planted.jpg`), 'not received');
    await expectCaught(added, new RegExp(`data/evidence/${photoId}/original/planted\\.jpg is in data/ but not in manifest-sha256\\.txt \\(a file was added\\)`));
    const removed = await copy();
    await unlink(at(removed, 'data/damage.json'));
    await expectCaught(removed, /data\/damage\.json is listed in manifest-sha256\.txt but missing \(a file was removed\)/);
    const removedOriginal = await copy();
    await unlink(at(removedOriginal, await originalPath(removedOriginal)));
    await rebag(removedOriginal);
    await expectCaught(removedOriginal, new RegExp(`FAIL\\s+${photoId}.*the original is missing`));
  });

  it('a file planted under a name of terminal escapes is named visibly, and cannot redraw the verdict', async () => {
    const dir = await copy();
    // ESC [2K clears the line, CR returns to its start, CSI (one C1 byte) moves up a line: on a raw
    // terminal the FAILED verdict would be overwritten by a "VERIFIED" of the forger's choosing.
    const name = 'planted\u001b[2K\r\u009b1AVERIFIED: all good\u202egpj.jpg';
    await writeFile(at(dir, `data/evidence/${photoId}/original/${name}`), 'not received');
    const out = await expectCaught(dir, /planted\[U\+001B\]\[2K\[U\+000D\]\[U\+009B\]1AVERIFIED: all good\[U\+202E\]gpj\.jpg is in data\/ but not in manifest-sha256\.txt/);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(out).not.toMatch(/^VERIFIED/m);
    const json = await cliVerify([dir, '--json']);
    expect(json.code).toBe(1);
    expect(json.out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(JSON.parse(json.out).problems.join('\n')).toContain(name);
  });

  it('a manifest line edited', async () => {
    const dir = await copy();
    const manifest = await readFile(at(dir, 'manifest-sha256.txt'), 'utf8');
    const line = manifest.split('\n').find((l) => l.endsWith('data/incidents.json'))!;
    await writeFile(at(dir, 'manifest-sha256.txt'), manifest.replace(line, `${'0'.repeat(64)}  data/incidents.json`));
    const out = await expectCaught(dir, /data\/incidents\.json: its SHA256 \S+ differs from manifest-sha256\.txt \(0000000000000000…\)/);
    expect(out).toMatch(/manifest-sha256\.txt: its SHA256 \S+ differs from tagmanifest-sha256\.txt/);
  });

  it('a report edited', async () => {
    const dir = await copy();
    await appendFile(at(dir, 'report.html'), '<p>all fine</p>');
    await expectCaught(dir, /report\.html: its SHA256 \S+ differs from tagmanifest-sha256\.txt/);
  });

  it('a truncated ZIP', async () => {
    for (const keep of [zipBytes.length - 22, Math.floor(zipBytes.length / 2)]) {
      const target = path.join(work, `truncated-${keep}.zip`);
      await writeFile(target, zipBytes.subarray(0, keep));
      await expectCaught(target, /container\s+FAIL\s+the ZIP is damaged or cut short/);
    }
    await truncate(path.join(work, `truncated-${zipBytes.length - 22}.zip`), 0);
    await expectCaught(path.join(work, `truncated-${zipBytes.length - 22}.zip`), /damaged or cut short/);
  });

  it('a time-stamp token for other bytes, and a token removed', async () => {
    const other = await copy();
    await run('openssl', ['ts', '-query', '-data', at(bag, 'README.txt'), '-sha256', '-cert', '-out', at(work, 'other.tsq')]);
    const reply = await tsa.reply(await readFile(at(work, 'other.tsq')));
    const replyFile = at(work, 'other.tsr');
    await writeFile(replyFile, reply);
    await run('openssl', ['ts', '-reply', '-in', replyFile, '-token_out', '-out', at(other, 'data/custody/tree-head.tsr')]);
    await rebag(other);
    await expectCaught(other, /time-stamp\s+FAIL\s+the RFC 3161 time-stamp does not verify: the token time-stamps other data/);
    const checked = await script(other);
    expect(checked.code, checked.stdout).toBe(1);
    expect(checked.stdout).toMatch(/^FAILED +time-stamp: 1 problem\(s\)\n +- tree-head\.tsr: time-stamps other data than data\/custody\/tree-head\.json \(its sha256 differs\)/m);
    const removed = await copy();
    await unlink(at(removed, 'data/custody/tree-head.tsr'));
    await rebag(removed);
    await expectCaught(removed, /tree-head\.tsr is missing \(removed\?\)/);
    expect((await script(removed)).stdout).toMatch(/^FAILED +time-stamp: 1 problem\(s\)\n +- bag-info\.txt says the head was time-stamped, but data\/custody\/tree-head\.tsr is missing \(removed\?\)/m);
  });

  it('--against the live archive proves the log only grew; a forked log is caught', async () => {
    // More happens in the archive after the package was made.
    await submit(t, investigator, caseId, Buffer.from('later evidence'));
    const port = await listen(t);
    const live = await cliVerify([zip, '--against', `http://127.0.0.1:${port}`]);
    expect(live.code, live.out).toBe(0);
    expect(live.out).toMatch(/consistency\s+OK\s+the log at size \d+ \(http:\/\/127\.0\.0\.1:\d+\) extends this package's head/);
    // Its events are for signed-in readers: without a token the archive's record of the package is not compared.
    expect(live.out).toMatch(/recorded\s+SKIP\s+http:\/\/127\.0\.0\.1:\d+ shows its log only to signed-in readers \(HTTP 401\)/);

    // A log that kept the same first events but rewrote one, then grew: a fork, signed by a key the file vouches for.
    const lines = await eventLines(bag);
    const proofs = JSON.parse(await readFile(at(bag, 'data/custody/proofs.json'), 'utf8'));
    const leaves = new Map<number, string>(proofs.map((p: { leafIndex: number; leafHash: string }) => [p.leafIndex, p.leafHash]));
    const tree = new MemoryTree();
    for (let i = 0; i < head.treeSize + 3; i++) {
      const leaf = i === 0 ? createHash('sha256').update('rewritten').digest() : Buffer.from(leaves.get(i) ?? createHash('sha256').update(`leaf ${i}`).digest('hex'), 'hex');
      tree.appendLeafHash(leaf);
    }
    const forger = generateSigningKey();
    const forkHead = signTreeHead({ treeSize: head.treeSize + 3, rootHash: toHex(tree.root()), timestamp: new Date().toISOString(), keyId: forger.keyId }, forger.privateKey);
    const file = at(work, 'fork-head.json');
    await writeFile(
      file,
      JSON.stringify({ treeHead: forkHead, consistencyProof: proofToHex(tree.consistencyProof(head.treeSize, head.treeSize + 3)), keys: [{ keyId: forger.keyId, publicKeyPem: forger.publicKeyPem }] }),
    );
    expect(lines.length).toBeGreaterThan(0);
    await expectCaught(zip, /consistency\s+FAIL\s+the log at size \d+ \(.*fork-head\.json\) does not extend the package's head at size \d+: the log was rewritten or forked/, ['--against', file]);
  });

  it('--against an archive that keeps its log for signed-in readers: the token goes to the archive CUSTODIA_URL names, to no other address', async () => {
    const config = t.app.get<{ publicLog: boolean }>(CUSTODIA_CONFIG);
    const url = `http://127.0.0.1:${await listen(t)}`;
    config.publicLog = false;
    try {
      const anonymous = await cliVerify([zip, '--against', url]);
      expect(anonymous.code).toBe(1);
      expect(anonymous.out).toContain(`no later head to compare with: ${url} shows its log only to signed-in readers (HTTP 401): set CUSTODIA_URL to that archive`);
      // The same server under another name is another address: the token is not sent there.
      const elsewhere = await cliVerify([zip, '--against', url.replace('127.0.0.1', 'localhost')], { CUSTODIA_URL: url, CUSTODIA_TOKEN: investigator.token });
      expect([elsewhere.code, elsewhere.out]).toEqual([1, expect.stringContaining('shows its log only to signed-in readers (HTTP 401)')]);
      const refused = await cliVerify([zip, '--against', url], { CUSTODIA_URL: `${url}/`, CUSTODIA_TOKEN: 'not a token' });
      expect([refused.code, refused.out]).toEqual([1, expect.stringContaining(`${url} refused the token in the environment (HTTP 401)`)]);
      const signedIn = await cliVerify([zip, '--against', `${url}/api/v1`], { CUSTODIA_URL: url, CUSTODIA_TOKEN: investigator.token });
      expect(signedIn.code, signedIn.out).toBe(0);
      expect(signedIn.out).toMatch(/consistency\s+OK\s+the log at size \d+ \(http:\/\/127\.0\.0\.1:\d+\) extends this package's head/);
      // A reader of the case's log also has the archive's record of the package compared: the
      // .zip's SHA-256 in export.created. The same bag zipped again is not the file the archive made.
      expect(signedIn.out).toMatch(/recorded\s+OK\s+the archive's export\.created event \(leaf \d+\) records this head and this \.zip's SHA-256/);
      const rezipped = path.join(work, 'rezipped.zip');
      await run('zip', ['-q', '-r', '-X', rezipped, path.basename(bag)], { cwd: path.dirname(bag) });
      const again = await cliVerify([rezipped, '--against', url], { CUSTODIA_URL: url, CUSTODIA_TOKEN: investigator.token });
      expect(again.code, again.out).toBe(1);
      expect(again.out).toMatch(/recorded\s+FAIL\s+the \.zip's SHA-256 .* is not the one the archive's export\.created event \(leaf \d+\) records .*: this is not the file the archive made/);
      expect(again.out).toMatch(/seal\s+OK/);
    } finally {
      config.publicLog = true;
    }
  });
});
