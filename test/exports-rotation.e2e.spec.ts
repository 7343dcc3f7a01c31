import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { MASTER_KEY, SigningKeys } from '../libs/custody/src/index.js';
import { handoverProblem, type SignedTreeHead } from '../libs/custody-core/src/index.js';
import { PYTHON } from './support/python.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { createCase, fixture, listen, submit } from './support/evidence.js';
import { cliVerify, download, makeExport, run, unpack } from './support/exports.js';

/**
 * A court that pinned the archive's key before two rotations: each retired key signs the head
 * that ends with its own rotation, so both verifiers follow the chain to the key that signed a
 * new package, and `--against` follows it to the archive's newest head.
 */
describe('court packages across key rotations (e2e)', () => {
  let t: TestApp;
  let investigator: TestUser;
  let caseId: string;
  let first: string;
  /** A package signed by the third key, made before any key was marked. */
  let afterRotations: string;
  let keys: string[];
  const work: string[] = [];

  const bagOf = async (exportId: string): Promise<{ zip: string; bag: string; head: SignedTreeHead }> => {
    const got = await download(t, investigator, exportId);
    work.push(got.dir);
    const bag = await unpack(got.zip, path.join(got.dir, 'bag'));
    return { zip: got.zip, bag, head: JSON.parse(await readFile(path.join(bag, 'data/custody/tree-head.json'), 'utf8')) };
  };
  const python = (bag: string, ...trusted: string[]) =>
    run(PYTHON, [path.join(bag, 'verify_proofs.py'), bag, ...trusted.flatMap((k) => ['--trusted-key', k])]).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );

  beforeAll(async () => {
    t = await startTestApp();
    investigator = await t.user('investigator');
    caseId = await createCase(t, investigator, 'rotations');
    await submit(t, investigator, caseId, fixture('not-an-image.pdf'), { filename: 'before.pdf' });
    const signing = t.app.get(SigningKeys);
    keys = [(await signing.active()).keyId];
    first = (await makeExport(t, investigator, caseId, { purpose: 'court' })).id;
    keys.push(await signing.rotate(), await signing.rotate());
    await submit(t, investigator, caseId, fixture('not-an-image.pdf'), { filename: 'after.pdf', contentType: 'application/pdf' });
  });

  afterAll(async () => {
    await t?.close();
    for (const dir of work) await rm(dir, { recursive: true, force: true });
  });

  it('the archive publishes each retired key with its handover, the active key without', async () => {
    const answer = await t.http.get('/api/v1/log/keys').expect(200);
    const published = answer.body as { keyId: string; publicKeyPem: string; handover: unknown }[];
    expect(published.map((k) => k.keyId)).toEqual(keys);
    expect(published.map((k) => k.handover === null)).toEqual([false, false, true]);
    for (const key of published.slice(0, 2)) {
      expect(handoverProblem(key.handover, published)).toBeUndefined();
      expect(key.handover).toMatchObject({ head: { keyId: key.keyId }, event: { action: 'key.rotated', details: { previousKeyId: key.keyId } } });
    }
  });

  it('a package signed after two rotations verifies for a court that pinned the first key, with both verifiers', async () => {
    afterRotations = (await makeExport(t, investigator, caseId, { purpose: 'court' })).id;
    const { zip, bag, head } = await bagOf(afterRotations);
    expect(head.keyId).toBe(keys[2]);
    const handovers = JSON.parse(await readFile(path.join(bag, 'data/custody/handovers.json'), 'utf8'));
    expect(handovers.map((h: { head: SignedTreeHead }) => h.head.keyId)).toEqual(keys.slice(0, 2));

    const cli = await cliVerify([zip, '--trusted-key', keys[0]!]);
    expect(cli.out).toMatch(/VERIFIED/);
    expect(cli.out).toMatch(/a key the trusted key handed over to \(2 handovers followed\)/);
    expect(cli.code).toBe(0);
    const script = await python(bag, keys[0]!);
    expect(script.out).toContain('reached from the trusted key through handovers.json');
    expect(script.code).toBe(0);
    // A key the archive never had leads nowhere.
    const stranger = 'ab'.repeat(32);
    expect((await cliVerify([zip, '--trusted-key', stranger])).code).toBe(1);
    expect((await python(bag, stranger)).code).toBe(1);
  });

  it('--against the live archive follows the rotations made after the package to its newest head', async () => {
    const { zip, head } = await bagOf(first);
    expect(head.keyId).toBe(keys[0]);
    const port = await listen(t);
    const pinned = await cliVerify([zip, '--trusted-key', keys[0]!, '--against', `http://127.0.0.1:${port}`]);
    expect(pinned.out).toMatch(/consistency\s+OK\s+the log at size \d+ \(http:\/\/127\.0\.0\.1:\d+\) extends this package's head/);
    expect(pinned.code).toBe(0);
  });

  it('a key marked compromised after the fact is followed no more: a court that pinned it is told to pin the current key', async () => {
    const signing = t.app.get(SigningKeys);
    expect(await signing.markCompromised(keys[0]!, undefined, 'found in a leaked backup')).toEqual({ activeKeyId: keys[2], marked: true });
    const published = (await t.http.get('/api/v1/log/keys').expect(200)).body as { compromisedAt: string | null }[];
    expect(published.map((k) => k.compromisedAt !== null)).toEqual([true, false, false]);

    const { zip, bag } = await bagOf((await makeExport(t, investigator, caseId, { purpose: 'court' })).id);
    const marked = await cliVerify([zip, '--trusted-key', keys[0]!]);
    expect(marked.out).toContain(`key ${keys[0]} was marked compromised by the archive at`);
    expect(marked.code).toBe(1);
    expect((await cliVerify([zip, '--trusted-key', keys[1]!])).code).toBe(0);
    const script = await python(bag, keys[0]!);
    expect(script.out).toContain(`key ${keys[0]} was marked compromised by the archive at`);
    expect(script.code).toBe(1);

    // The first package, signed by that key before it was marked: the archive's newest head under
    // its current key still vouches for it; the marked key alone no longer does.
    const old = await bagOf(first);
    const archive = `http://127.0.0.1:${await listen(t)}`;
    const alone = await cliVerify([old.zip, '--trusted-key', keys[0]!, '--against', archive]);
    expect(alone.out).toMatch(/consistency\s+FAIL/);
    expect(alone.out).toContain('pin the archive\'s current key');
    expect(alone.code).toBe(1);
    const current = await cliVerify([old.zip, '--trusted-key', keys[0]!, '--trusted-key', keys[2]!, '--against', archive]);
    expect(current.out).toMatch(/its head stands on this later head, not on that key's signature/);
    expect(current.code).toBe(0);
    // An outside audit: a court given only the current key, as the CLI tells the operator to do,
    // saw FAILED on this genuine package (the key is newer than the package).
    const given = await cliVerify([old.zip, '--trusted-key', keys[2]!, '--against', archive]);
    expect(given.out).toMatch(/its head stands on this later head, not on that key's signature/);
    expect(given.code).toBe(0);
    // ... and a package made before the mark, which reached its signer through the marked key's
    // handover, passed --against the archive though the archive marks that key.
    const before = await bagOf(afterRotations);
    expect((await cliVerify([before.zip, '--trusted-key', keys[0]!])).code).toBe(0);
    const stale = await cliVerify([before.zip, '--trusted-key', keys[0]!, '--against', archive]);
    expect(stale.out).toContain(`key ${keys[0]} was marked compromised by the archive at`);
    expect(stale.code).toBe(1);
    expect((await cliVerify([before.zip, '--trusted-key', keys[1]!, '--against', archive])).code).toBe(0);
  });

  // Last: it spoils a retired key.
  it('a handover that cannot be signed at start is warned about, and the archive starts all the same', async () => {
    // A rotation cut short before its handover, whose retired key then cannot be opened.
    class CutShort extends SigningKeys {
      override async handOver(): Promise<number> {
        return 0;
      }
    }
    const retired = (await t.app.get(SigningKeys).active()).keyId;
    await new CutShort(t.app.get(DataSource), t.app.get<Buffer>(MASTER_KEY)).rotate();
    // Its sealed key spoilt behind the table's guard (the archive itself can never change it).
    await t.db.superuserQuery(`ALTER TABLE custody_signing_keys DISABLE TRIGGER USER`);
    await t.db.superuserQuery(`UPDATE custody_signing_keys SET private_key_sealed = '\\x00' WHERE key_id = $1`, [retired]);
    await t.db.superuserQuery(`ALTER TABLE custody_signing_keys ENABLE TRIGGER USER`);
    const sibling = await t.sibling();
    try {
      expect((await fetch(`${sibling.url}/api/v1/health`)).status).toBe(200);
      expect(t.logText()).toMatch(new RegExp(`A retired signing key's handover could not be signed \\(tried again at the next start\\): .*${retired.slice(0, 12)}`));
    } finally {
      await sibling.close();
    }
  });
});
