import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../apps/cli/src/cli.js';
import { bulkUpload, checkReceipts, type Summary } from '../libs/bulk-upload/src/index.js';
import { SigningKeys } from '../libs/custody/src/index.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { loopbackProxy } from './support/proxy.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('custodia upload: the bulk uploader (e2e)', () => {
  let t: TestApp;
  let url: string;
  let investigator: TestUser;
  let caseId: string;
  let work: string;
  const files = new Map<string, Buffer>();

  beforeAll(async () => {
    t = await startTestApp();
    url = await t.listen();
    investigator = await t.user('investigator');
    caseId = (await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title: 'A phone dump' })).body.id;
    work = await mkdtemp(path.join(os.tmpdir(), 'custodia-bulk-'));
    // A phone dump: a few hundred small files in folders, one larger video, a hidden file to skip.
    for (let i = 0; i < 240; i++) {
      const file = path.join(work, 'dump', `DCIM-${Math.floor(i / 80)}`, `IMG_${String(i).padStart(4, '0')}.jpg`);
      files.set(file, randomBytes(1024 + (i % 7) * 1500));
    }
    files.set(path.join(work, 'dump', 'VID_0001.mp4'), randomBytes(12 * MiB));
    for (const [file, bytes] of files) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
    }
    await writeFile(path.join(work, 'dump', '.thumbnails'), 'not evidence');
  });
  afterAll(async () => {
    await t?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const itemsInCase = async () =>
    t.db.superuserQuery<{ sha256: string; n: number }>(`SELECT sha256, count(*)::int AS n FROM evidence_items WHERE case_id = $1 GROUP BY sha256`, [caseId]);

  it('sends a folder, survives the archive going away mid-run, and a second run sends only what is missing', async () => {
    const proxy = await loopbackProxy(url);
    const out = path.join(work, 'out');
    const options = { caseId, paths: [path.join(work, 'dump')], outDir: out, parallel: 4, chunkSizeBytes: 4 * MiB, retryDelays: [10, 10] };
    try {
      // The network dies for good after 6 MiB of the 13 MiB: the video is cut mid-way, what is left fails.
      proxy.down(6 * MiB);
      const first = await bulkUpload({ baseUrl: proxy.url, token: investigator.token }, options).catch((error: Error) => error);
      // The run ends with a summary (it does not throw on failed files), unless the archive was unreachable from the start.
      const firstSummary = first instanceof Error ? null : first;
      const storedFirst = (await itemsInCase()).length;
      expect(storedFirst).toBeGreaterThan(0);
      expect(storedFirst).toBeLessThan(files.size);
      if (firstSummary) {
        // What the run says the archive holds, with a checked receipt ("stored") or without one (the
        // network died before it came), the archive holds; it may hold more (an answer lost on the way).
        const held = new Set((await itemsInCase()).map((item) => item.sha256));
        const said = firstSummary.files.filter((f) => f.status === 'stored' || /holds it as item/.test(f.error ?? ''));
        expect(said.length).toBeGreaterThan(0);
        expect(said.every((f) => held.has(f.sha256))).toBe(true);
        expect(said.length).toBeLessThanOrEqual(storedFirst);
      }

      proxy.up();
      const uploadsBefore = (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM uploads`))[0]!.n;
      const second: Summary = await bulkUpload({ baseUrl: proxy.url, token: investigator.token }, options);
      expect(second.files).toHaveLength(files.size);
      expect(second.files.every((f) => f.status === 'stored' || f.status === 'already_stored')).toBe(true);
      expect(second.files.filter((f) => f.status === 'already_stored')).toHaveLength(storedFirst);
      // Every file once, none twice, none of the hidden ones.
      const items = await itemsInCase();
      expect(items).toHaveLength(files.size);
      expect(items.every((item) => item.n === 1)).toBe(true);
      expect(new Set(items.map((item) => item.sha256))).toEqual(new Set([...files.values()].map(sha256)));
      // The second run created uploads only for what the first had not begun: the cut video resumed its upload.
      const uploadsAfter = (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM uploads`))[0]!.n;
      expect(uploadsAfter - uploadsBefore).toBeLessThan(files.size - storedFirst);

      // A third run has nothing to send.
      const third = await bulkUpload({ baseUrl: url, token: investigator.token }, options);
      expect(third.files.every((f) => f.status === 'already_stored')).toBe(true);

      // Receipts and summary: every receipt verifies offline against the keys kept in the summary.
      const summaryFile = path.join(out, 'summary.json');
      const checks = await checkReceipts(summaryFile);
      expect(checks).toHaveLength(files.size);
      expect(checks.every((check) => check.receiptValid && check.fileMatches === true)).toBe(true);
      expect(await readFile(path.join(out, 'summary.txt'), 'utf8')).toMatch(new RegExp(`${files.size} already_stored`));
      // A changed local file is caught by the offline check.
      const [someFile] = files.keys();
      await writeFile(someFile!, 'changed after sending');
      const rechecked = await checkReceipts(summaryFile);
      expect(rechecked.find((check) => check.file === someFile)).toMatchObject({ receiptValid: true, fileMatches: false });
      await writeFile(someFile!, files.get(someFile!)!);
    } finally {
      await proxy.close();
    }
  }, 180_000);

  it('the same files sent to a second case become items there too, and a refused submission leaves no upload open', async () => {
    const folder = path.join(work, 'two-cases');
    await mkdir(folder, { recursive: true });
    const sent = [randomBytes(2000), randomBytes(3000)];
    for (const [n, bytes] of sent.entries()) await writeFile(path.join(folder, `f${n}.jpg`), bytes);
    const caseOf = async (title: string) => (await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title })).body.id as string;
    const [first, second] = [await caseOf('First'), await caseOf('Second')];
    const openUploads = async () => (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM uploads WHERE owner_id = $1 AND evidence_id IS NULL`, [investigator.id]))[0]!.n;
    const open = await openUploads();
    for (const target of [first, second]) {
      const summary = await bulkUpload({ baseUrl: url, token: investigator.token }, { caseId: target, paths: [folder], outDir: path.join(work, `two-cases-${target}`), retryDelays: [] });
      expect(summary.files.map((f) => f.status)).toEqual(['stored', 'stored']);
      const held = await t.db.superuserQuery<{ sha256: string }>(`SELECT sha256 FROM evidence_items WHERE case_id = $1 ORDER BY sha256`, [target]);
      expect(held.map((row) => row.sha256)).toEqual(sent.map(sha256).sort());
    }
    // A submission the archive refuses for good (here: the key the uploader gives this file was
    // already used for other bytes): the file fails, and its finished upload is terminated rather
    // than left counting against its owner's open uploads.
    const third = await caseOf('Third');
    const file = path.join(folder, 'f0.jpg');
    const key = `custodia-upload:${third}:${sha256(sent[0]!)}:${sha256(Buffer.from(file)).slice(0, 16)}`;
    const other = await t.http
      .post(`/api/v1/cases/${third}/evidence`)
      .auth(investigator.token, { type: 'bearer' })
      .field('metadata', JSON.stringify({ clientSubmissionId: key }))
      .attach('file', randomBytes(100), 'other.bin');
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const refused = await bulkUpload({ baseUrl: url, token: investigator.token }, { caseId: third, paths: [file], outDir: path.join(work, 'two-cases-refused'), retryDelays: [] });
    expect(refused.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('409') });
    expect(await openUploads()).toBe(open);
  });

  it("a finish whose answer was lost is asked again on the next run, which sends none of the file's bytes again", async () => {
    const lostCase = (await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title: 'An answer lost' })).body.id as string;
    const folder = path.join(work, 'answer-lost');
    const video = randomBytes(3 * MiB);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'VID_0002.mp4'), video);
    const options = { caseId: lostCase, paths: [folder], outDir: path.join(work, 'answer-lost-out'), chunkSizeBytes: MiB, retryDelays: [10] };
    // The archive makes the upload evidence; its answer never reaches the uploader.
    const losingAnswers: typeof fetch = async (input, init) => {
      const answer = await fetch(input, init);
      if (init?.method === 'POST' && String(input).endsWith(`/cases/${lostCase}/evidence`)) {
        await answer.body?.cancel();
        throw new TypeError('fetch failed');
      }
      return answer;
    };
    const proxy = await loopbackProxy(url);
    try {
      const first = await bulkUpload({ baseUrl: proxy.url, token: investigator.token }, { ...options, fetchImpl: losingAnswers });
      expect(first.files.map((f) => f.status)).toEqual(['failed']);
      expect(proxy.received()).toBeGreaterThan(video.length);
      const [made] = await t.db.superuserQuery<{ evidence_id: string | null }>(`SELECT evidence_id FROM uploads WHERE declared_sha256 = $1`, [sha256(video)]);
      expect(made?.evidence_id).toEqual(expect.any(String));

      const before = proxy.received();
      const second = await bulkUpload({ baseUrl: proxy.url, token: investigator.token }, options);
      expect(second.files).toMatchObject([{ status: 'already_stored', evidenceId: made!.evidence_id, receiptFile: expect.any(String) }]);
      // The file's bytes did not go again: a few requests' worth went through the network.
      expect(proxy.received() - before).toBeLessThan(64 * 1024);
      const held = await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM evidence_items WHERE case_id = $1`, [lostCase]);
      expect(held[0]!.n).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('a run stopped by its signal (Ctrl-C) cuts its transfers, writes the summary, and the next run sends the rest', async () => {
    const folder = path.join(work, 'stopped');
    await mkdir(folder, { recursive: true });
    const sent = Array.from({ length: 12 }, (_, n) => randomBytes(n === 5 ? 6 * MiB : 2000 + n));
    for (const [n, bytes] of sent.entries()) await writeFile(path.join(folder, `f${String(n).padStart(2, '0')}.bin`), bytes);
    const target = (await t.http.post('/api/v1/cases').auth(investigator.token, { type: 'bearer' }).send({ title: 'Stopped' })).body.id as string;
    const out = path.join(work, 'stopped-out');
    // A write a killed run left half done: removed, as its process is gone (no process has this pid).
    await mkdir(path.join(out, 'receipts'), { recursive: true });
    const leftover = path.join(out, 'receipts', 'f00.bin.receipt.json.4194999.tmp');
    await writeFile(leftover, '');
    const stop = new AbortController();
    const options = { caseId: target, paths: [folder], outDir: out, parallel: 2, chunkSizeBytes: MiB, retryDelays: [] };
    const summary = await bulkUpload({ baseUrl: url, token: investigator.token }, {
      ...options,
      signal: stop.signal,
      // Ctrl-C while the large file is on its way.
      onProgress: (event) => event.kind === 'sending' && event.bytes >= 2 * MiB && stop.abort(),
    });
    await expect(readFile(leftover)).rejects.toThrow(/ENOENT/);
    // Each file is stored, not sent, or (a submission answered just as the run stopped, its
    // receipt not waited for) held by the archive without a receipt yet.
    const stored = summary.files.map((f) => f.status === 'stored' || (f.status === 'failed' && /holds it as item/.test(f.error ?? '')));
    expect(summary.files.every((f, n) => stored[n] || f.status === 'not_sent'), JSON.stringify(summary.files)).toBe(true);
    expect(summary.files[5]!.status).toBe('not_sent');
    expect(stored.filter((s) => !s).length).toBeGreaterThan(1);
    expect(JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')).files).toHaveLength(sent.length);
    const heldAfterStop = (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM evidence_items WHERE case_id = $1`, [target]))[0]!.n;
    expect(heldAfterStop).toBe(stored.filter(Boolean).length);
    const rest = await bulkUpload({ baseUrl: url, token: investigator.token }, options);
    expect(rest.files.map((f) => f.status)).toEqual(stored.map((s) => (s ? 'already_stored' : 'stored')));
    const held = await t.db.superuserQuery<{ sha256: string }>(`SELECT sha256 FROM evidence_items WHERE case_id = $1 ORDER BY sha256`, [target]);
    expect(held.map((row) => row.sha256)).toEqual(sent.map(sha256).sort());
  });

  it('a state file that cannot be written once the upload exists fails that file, not the run: the next files are tried and the summary written', async () => {
    // An HTTP hop in front of the archive that takes the state file's folder away (a removed USB
    // stick, a full disk) just as the archive answers the first upload's creation.
    const stateDir = path.join(work, 'lost-state');
    const out = path.join(work, 'lost-state-out');
    await mkdir(stateDir, { recursive: true });
    const target = new URL(url);
    let created = 0;
    const hop = http.createServer((req, res) => {
      const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        if (req.method === 'POST' && req.url === '/api/v1/uploads' && ++created === 1) rmSync(stateDir, { recursive: true, force: true });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => hop.listen(0, '127.0.0.1', resolve));
    const single = path.join(work, 'lost-state-files');
    await mkdir(single, { recursive: true });
    await writeFile(path.join(single, 'a.jpg'), randomBytes(3000));
    await writeFile(path.join(single, 'b.jpg'), randomBytes(3000));
    try {
      const summary = await bulkUpload(
        { baseUrl: `http://127.0.0.1:${(hop.address() as { port: number }).port}`, token: investigator.token },
        { caseId, paths: [single], outDir: out, stateFile: path.join(stateDir, 'state.json'), parallel: 1, retryDelays: [] },
      );
      const [a, b] = summary.files;
      expect(a).toMatchObject({ status: 'failed', error: expect.stringContaining('could not be written') });
      // The next file's first save fails too (the folder is still gone): it fails as well, heard.
      expect(b!.status).toBe('failed');
      expect(await readFile(path.join(out, 'summary.txt'), 'utf8')).toMatch(/failed/);
    } finally {
      await new Promise((resolve) => hop.close(resolve));
    }
  });

  it('runs as `custodia upload`, with the address and token from the environment, never from the command line', async () => {
    const lines: string[] = [];
    const io = (env: Record<string, string>) => ({
      env,
      cwd: work,
      stdout: (text: string) => lines.push(text),
      stderr: (text: string) => lines.push(text),
      readStdin: async () => '',
    });
    const single = path.join(work, 'single');
    await mkdir(single, { recursive: true });
    const bytes = randomBytes(5000);
    await writeFile(path.join(single, 'witness.m4a'), bytes);
    expect(await runCli(['upload', single, '--case', caseId, '--token', investigator.token], io({ CUSTODIA_URL: url }))).toBe(2);
    expect(lines.join('')).toMatch(/never given on the command line|Unknown option/);
    expect(await runCli(['upload', single, '--case', caseId], io({ CUSTODIA_URL: url }))).toBe(2);
    const tokenFile = path.join(work, 'token');
    await writeFile(tokenFile, `${investigator.token}\n`, { mode: 0o600 });
    lines.length = 0;
    expect(await runCli(['upload', single, '--case', caseId, '--out', 'single-out'], io({ CUSTODIA_URL: url, CUSTODIA_TOKEN_FILE: tokenFile }))).toBe(0);
    expect(lines.join('')).toContain(`Archive: ${url}`);
    expect(lines.join('')).toContain('1 of 1 files are in the archive');
    expect(lines.join('')).not.toContain(investigator.token);
    const summary = JSON.parse(await readFile(path.join(work, 'single-out', 'summary.json'), 'utf8')) as Summary;
    expect(summary.files[0]).toMatchObject({ status: 'stored', sha256: sha256(bytes) });
    lines.length = 0;
    expect(await runCli(['upload', '--check', 'single-out/summary.json'], io({}))).toBe(0);
    expect(lines.join('')).toContain('1 of 1 receipts check out');
  });

  it('with --trusted-key, holds receipts to the key the operator gave: the archive\'s own key passes; another id sends nothing and fails the check', async () => {
    const lines: string[] = [];
    const io = (env: Record<string, string>) => ({ env, cwd: work, stdout: (text: string) => lines.push(text), stderr: (text: string) => lines.push(text), readStdin: async () => '' });
    const env = { CUSTODIA_URL: url, CUSTODIA_TOKEN: investigator.token };
    const [{ keyId }] = (await t.http.get('/api/v1/log/keys').auth(investigator.token, { type: 'bearer' })).body as { keyId: string }[];
    const other = createHash('sha256').update('a key nobody published').digest('hex');
    const folder = path.join(work, 'pinned');
    await mkdir(folder, { recursive: true });
    const bytes = randomBytes(4000);
    await writeFile(path.join(folder, 'statement.pdf'), bytes);
    const held = async () => (await itemsInCase()).some((item) => item.sha256 === sha256(bytes));
    const uploads = async () => (await t.db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM uploads`))[0]!.n;

    expect(await runCli(['upload', folder, '--case', caseId, '--trusted-key', 'ABC'], io(env))).toBe(2);
    expect(lines.join('')).toContain('--trusted-key must be a key id');

    // A key id the archive does not publish: nothing is sent.
    lines.length = 0;
    const uploadsBefore = await uploads();
    expect(await runCli(['upload', folder, '--case', caseId, '--out', 'pinned-wrong', '--trusted-key', other], io(env))).not.toBe(0);
    expect(lines.join('')).toContain(`publishes no log key with the trusted id (${other})`);
    expect(await held()).toBe(false);
    expect(await uploads()).toBe(uploadsBefore);

    // The archive's own key: stored, and the summary keeps the pin, which a later check holds to.
    lines.length = 0;
    expect(await runCli(['upload', folder, '--case', caseId, '--out', 'pinned', '--trusted-key', keyId], io(env))).toBe(0);
    expect(await held()).toBe(true);
    expect(lines.join('')).not.toContain('give the key id its operator gives you');
    const summary = JSON.parse(await readFile(path.join(work, 'pinned', 'summary.json'), 'utf8')) as Summary;
    expect(summary).toMatchObject({ trustedKeyIds: [keyId], keys: [{ keyId }] });
    expect(await readFile(path.join(work, 'pinned', 'summary.txt'), 'utf8')).toContain(`receipts signed with the trusted log key ${keyId}`);
    lines.length = 0;
    expect(await runCli(['upload', '--check', 'pinned/summary.json'], io({}))).toBe(0);
    expect(lines.join('')).toContain('1 of 1 receipts check out');
    lines.length = 0;
    expect(await runCli(['upload', '--check', 'pinned/summary.json', '--trusted-key', other], io({}))).not.toBe(0);
    expect(lines.join('')).toMatch(/the summary .*pinned.summary\.json holds no log key with the trusted id/);

    // Without a pin, the run says whose keys its receipts were checked against.
    lines.length = 0;
    expect(await runCli(['upload', folder, '--case', caseId, '--out', 'unpinned'], io(env))).toBe(0);
    expect(lines.join('')).toContain(`checked against the log keys this archive publishes (${keyId})`);
  });

  // Last in the file: it rotates the archive's key.
  it("after a key rotation, a run pinned to the old key follows its handover: receipts signed by the new key pass, then offline too", async () => {
    const lines: string[] = [];
    const io = (env: Record<string, string>) => ({ env, cwd: work, stdout: (text: string) => lines.push(text), stderr: (text: string) => lines.push(text), readStdin: async () => '' });
    const env = { CUSTODIA_URL: url, CUSTODIA_TOKEN: investigator.token };
    const keys = t.app.get(SigningKeys);
    const old = (await keys.active()).keyId;
    const next = await keys.rotate();
    const folder = path.join(work, 'rotated');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'after rotation.pdf'), randomBytes(3000));
    expect(await runCli(['upload', folder, '--case', caseId, '--out', 'rotated', '--trusted-key', old], io(env)), lines.join('')).toBe(0);
    const summary = JSON.parse(await readFile(path.join(work, 'rotated', 'summary.json'), 'utf8')) as Summary;
    expect(summary.keys.map((k) => k.keyId).sort()).toEqual([old, next].sort());
    const receipt = JSON.parse(await readFile(path.join(work, 'rotated', summary.files[0]!.receiptFile!), 'utf8')).receipt;
    expect(receipt.treeHead.keyId).toBe(next);
    expect(await readFile(path.join(work, 'rotated', 'summary.txt'), 'utf8')).toContain(`receipts signed with the trusted log key ${old} or a key it handed over to at a rotation (${next})`);
    lines.length = 0;
    expect(await runCli(['upload', '--check', 'rotated/summary.json'], io({}))).toBe(0);
    expect(lines.join('')).toContain('1 of 1 receipts check out');
    // A handover that does not hold leads nowhere: the new key is not trusted on its word.
    const forged = summary.keys.map((k) => (k.keyId === old ? { ...k, handover: { ...(k as unknown as { handover: Record<string, unknown> }).handover, inclusionProof: [] } } : k));
    const checks = await checkReceipts(path.join(work, 'rotated', 'summary.json'), forged, [old]);
    expect(checks).toEqual([expect.objectContaining({ receiptValid: false, reason: expect.stringMatching(/no published key has keyId/) })]);

    // Once the old key is marked compromised, a run pinned to it stops and says what to do.
    await keys.markCompromised(old);
    lines.length = 0;
    expect(await runCli(['upload', folder, '--case', caseId, '--out', 'compromised', '--trusted-key', old], io(env))).not.toBe(0);
    expect(lines.join('')).toContain(`key ${old} was marked compromised by the archive at`);
    expect(lines.join('')).toContain("pin the archive's current key");
  });
});
