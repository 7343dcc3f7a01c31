import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BagWriter } from './bag-writer.js';
import { decodeManifestPath, parseBagInfo } from './manifest.js';

const run = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-bag-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** `sha256sum -c` on a manifest, after undoing BagIt's percent-encoding (the only difference in format). */
async function checkWithCoreutils(bag: string, manifest: string, tool: 'sha256sum' | 'sha512sum'): Promise<string> {
  const text = await readFile(path.join(bag, manifest), 'utf8');
  const decoded = text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [digest, ...rest] = line.split('  ');
      return `${digest}  ${decodeManifestPath(rest.join('  '))}`;
    })
    .join('\n');
  const listFile = path.join(dir, `${manifest}.decoded`);
  await writeFile(listFile, `${decoded}\n`);
  const { stdout } = await run(tool, ['-c', '--strict', listFile], { cwd: bag });
  return stdout;
}

describe('BagWriter', () => {
  it('streams a bag that unzip, sha256sum and sha512sum accept, with Payload-Oxum and tag manifests', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const seen: number[] = [];
    const writer = await BagWriter.open('custodia-0a1b2c3d-20261201T120000Z', { date: new Date('2026-12-01T12:00:00Z'), onPayloadBytes: (n) => seen.push(n) });
    const zipPath = path.join(dir, 'bag.zip');
    const written = pipeline(writer.output, createWriteStream(zipPath));
    const original = await writer.addPayload('evidence/1/original/100% damage — Харків.jpg', Readable.from([big.subarray(0, 1000), big.subarray(1000)]), { store: true });
    await writer.addPayload('evidence/1/record.json', '{"id":"1"}');
    await writer.addPayload('custody/events.jsonl', Buffer.from('{"index":0}\n'));
    await writer.addTag('README.txt', 'read me\n');
    const summary = await writer.finish([
      ['Source-Organization', 'Test NGO'],
      ['Bagging-Date', '2026-12-01'],
      ['External-Identifier', 'export-1'],
    ]);
    await written;

    expect(original.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(original.sha512).toBe(createHash('sha512').update(big).digest('hex'));
    expect(seen.reduce((a, b) => a + b, 0)).toBe(big.length + 10 + 12);
    expect(summary).toEqual({ payloadFiles: 3, payloadBytes: big.length + 10 + 12 });

    await run('unzip', ['-tq', zipPath]);
    await run('unzip', ['-q', zipPath, '-d', path.join(dir, 'out')]);
    const bag = path.join(dir, 'out', 'custodia-0a1b2c3d-20261201T120000Z');
    expect(await checkWithCoreutils(bag, 'manifest-sha256.txt', 'sha256sum')).toContain('100% damage — Харків.jpg: OK');
    await checkWithCoreutils(bag, 'manifest-sha512.txt', 'sha512sum');
    const tags = await checkWithCoreutils(bag, 'tagmanifest-sha256.txt', 'sha256sum');
    for (const name of ['bagit.txt', 'bag-info.txt', 'manifest-sha256.txt', 'manifest-sha512.txt', 'README.txt']) expect(tags).toContain(`${name}: OK`);
    expect(tags).not.toContain('tagmanifest');
    await checkWithCoreutils(bag, 'tagmanifest-sha512.txt', 'sha512sum');
    expect(await readFile(path.join(bag, 'manifest-sha256.txt'), 'utf8')).toContain('100%25 damage');
    expect(await readFile(path.join(bag, 'bagit.txt'), 'utf8')).toBe('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n');
    expect(parseBagInfo(await readFile(path.join(bag, 'bag-info.txt'), 'utf8'))).toEqual([
      ['Source-Organization', 'Test NGO'],
      ['Bagging-Date', '2026-12-01'],
      ['Payload-Oxum', `${big.length + 22}.3`],
      ['External-Identifier', 'export-1'],
    ]);
    // Stored, not deflated: the listing shows the original's size unchanged ("Stored" method).
    const { stdout } = await run('unzip', ['-v', zipPath]);
    expect(stdout).toMatch(new RegExp(`${big.length}\\s+Stored`));
  });

  it('refuses a path outside the bag, a tag file under data/ and the same path twice', async () => {
    const writer = await BagWriter.open('bag', { date: new Date() });
    writer.output.resume();
    await expect(writer.addPayload('../x', 'a')).rejects.toThrow(/path/);
    await expect(writer.addTag('data/x', 'a')).rejects.toThrow(/data\//);
    await writer.addPayload('x', 'a');
    await expect(writer.addPayload('x', 'b')).rejects.toThrow(/already/);
    writer.abort(new Error('test over'));
  });

  it('fails, and ends its output with the error, when a source breaks', async () => {
    const writer = await BagWriter.open('bag', { date: new Date() });
    const consumed = pipeline(writer.output, createWriteStream(path.join(dir, 'broken.zip')));
    const broken = new Readable({
      read() {
        this.destroy(new Error('disk read failed'));
      },
    });
    await expect(writer.addPayload('evidence/x', broken)).rejects.toThrow('disk read failed');
    writer.abort(new Error('disk read failed'));
    await expect(consumed).rejects.toThrow();
  });
});
