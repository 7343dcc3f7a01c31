import { once } from 'node:events';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bulkUpload, checkReceipts, listFiles, type Summary } from './bulk-upload.js';

type Mode = 'no-receipt' | 'bad-receipt' | 'foreign-location' | 'negative-offset' | 'endless-answer';

/**
 * An archive that misbehaves in one way (`mode`), and a host the token must never reach: the
 * uploader is the documenter's side, and must not take an answer it cannot check for a stored
 * file, nor follow the archive elsewhere with the token.
 */
async function hostileArchive(mode: Mode) {
  const elsewhere: string[] = [];
  const other = http.createServer((req, res) => {
    elsewhere.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.writeHead(204).end();
  });
  other.listen(0, '127.0.0.1');
  await once(other, 'listening');
  const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  const server = http.createServer(async (req, res) => {
    for await (const _ of req);
    const url = req.url ?? '';
    const json = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && url.startsWith('/api/v1/cases/')) return json(200, { id: 'case' });
    if (req.method === 'GET' && url === '/api/v1/log/keys') return json(200, []);
    if (req.method === 'POST' && url === '/api/v1/uploads') {
      const location = mode === 'foreign-location' ? `${otherUrl}/steal` : '/api/v1/uploads/0b6fd9a4-4b3f-4d8e-9a55-3f4a0c2b1e11';
      return res.writeHead(201, { Location: location, 'Tus-Resumable': '1.0.0' }).end();
    }
    if (req.method === 'PATCH') {
      const offset = mode === 'negative-offset' ? '-5' : String(req.headers['upload-offset'] === '0' ? Number(req.headers['content-length']) : 0);
      return res.writeHead(204, { 'Upload-Offset': offset, 'Tus-Resumable': '1.0.0' }).end();
    }
    if (req.method === 'POST' && url.endsWith('/evidence')) {
      if (mode === 'endless-answer') {
        res.writeHead(201, { 'Content-Type': 'application/json' });
        const piece = Buffer.alloc(64 * 1024, 0x20);
        const pour = () => {
          while (!res.destroyed && res.write(piece));
          if (!res.destroyed) res.once('drain', pour);
        };
        return pour();
      }
      const receipt = mode === 'bad-receipt' ? { leafHash: 'f'.repeat(64), event: { action: 'evidence.submitted' } } : null;
      return json(201, { id: '4a1c6b0e-2f1d-4c7e-8a3b-5d9e0f1a2b3c', receipt, receiptUrl: `${otherUrl}/receipt` });
    }
    if (req.method === 'GET' && url.endsWith('/receipt')) return json(202, null);
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    elsewhere,
    close: () => {
      server.closeAllConnections();
      other.closeAllConnections();
      server.close();
      other.close();
    },
  };
}

describe('custodia upload against an archive that misbehaves', () => {
  let dir: string;
  let archive: Awaited<ReturnType<typeof hostileArchive>> | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-hostile-archive-'));
    await writeFile(path.join(dir, 'photo.jpg'), Buffer.alloc(30_000, 7));
  });
  afterEach(() => archive?.close());
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const run = async (mode: Mode): Promise<Summary> => {
    archive = await hostileArchive(mode);
    return bulkUpload(
      { baseUrl: archive.url, token: 'cst_SECRET_TEST_TOKEN' },
      { caseId: '9d1e8f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a', paths: [path.join(dir, 'photo.jpg')], outDir: path.join(dir, `out-${mode}`), retryDelays: [], receiptWaitSeconds: 2 },
    );
  };

  it('an item answered without a receipt, or with one that does not verify, is not "stored": the file fails saying why', async () => {
    const none = await run('no-receipt');
    expect(none.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('holds it as item 4a1c6b0e-2f1d-4c7e-8a3b-5d9e0f1a2b3c but the archive gave no receipt') });
    archive!.close();
    const bad = await run('bad-receipt');
    expect(bad.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('the receipt does not verify') });
    // The receiptUrl the archive gave, on another host, was never asked (with the token or without).
    expect(archive!.elsewhere).toEqual([]);
  });

  it('does not follow an upload address on another host, nor send the token there', async () => {
    const summary = await run('foreign-location');
    expect(summary.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('another host') });
    expect(archive!.elsewhere).toEqual([]);
  });

  it('refuses a negative offset instead of sending again for ever', async () => {
    const summary = await run('negative-offset');
    expect(summary.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('offset -5') });
  });

  it('stops reading an answer that never ends', async () => {
    const before = process.memoryUsage().rss;
    const summary = await run('endless-answer');
    expect(summary.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('larger than') });
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('checks receipts offline one by one: a receipt file that holds none fails alone', async () => {
    const out = path.join(dir, 'check');
    await rm(out, { recursive: true, force: true });
    await mkdir(path.join(out, 'receipts'), { recursive: true });
    await writeFile(path.join(out, 'receipts', 'a.receipt.json'), JSON.stringify({ receipt: { leafHash: 'x' } }));
    await writeFile(path.join(out, 'receipts', 'b.receipt.json'), '{not json');
    const summary: Summary = {
      archive: 'http://127.0.0.1:1',
      caseId: 'c',
      finishedAt: new Date().toISOString(),
      keys: [],
      files: [
        { file: path.join(dir, 'photo.jpg'), sizeBytes: 1, sha256: 'a', status: 'stored', receiptFile: 'receipts/a.receipt.json' },
        { file: path.join(dir, 'photo.jpg'), sizeBytes: 1, sha256: 'a', status: 'stored', receiptFile: 'receipts/b.receipt.json' },
      ],
    };
    await writeFile(path.join(out, 'summary.json'), JSON.stringify(summary));
    const checks = await checkReceipts(path.join(out, 'summary.json'));
    expect(checks.map((c) => [c.receiptValid, c.reason])).toEqual([
      [false, expect.stringContaining('holds no receipt')],
      [false, expect.stringContaining('holds no receipt')],
    ]);
  });

  it('refuses a symbolic link given as a path, saying so, rather than skipping it in silence', async () => {
    const link = path.join(dir, 'linked');
    await symlink(dir, link);
    await expect(listFiles([link])).rejects.toThrow('is a symbolic link: give the file or folder it points to');
  });
});
