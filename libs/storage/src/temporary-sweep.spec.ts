// Leftover uploads after a crash, with several processes writing to one store: real child
// processes run this library (compiled on the fly by SWC, as Vitest does for this file) and
// upload into a store this process shares; one is killed mid-upload as a crash would.
import { transformFile } from '@swc/core';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalBlobStore } from './local-blob-store.js';
import { checkStore, type Reference } from './store-check.js';

const here = fileURLToPath(new URL('.', import.meta.url));
let compiled: string;
let root: string;
const children: ChildProcess[] = [];

// The child: uploads into the store at argv[2] without ending, reports its folder, and on
// 'finish' ends the upload and commits it.
const WRITER = `
import { PassThrough, Readable } from 'node:stream';
import { readdir } from 'node:fs/promises';
import { LocalBlobStore } from './local-blob-store.js';
const store = new LocalBlobStore(process.argv[2]);
const source = new PassThrough();
const pending = store.ingest(source, { maxBytes: 1 << 30 });
source.write(Buffer.alloc(64 * 1024, 7));
process.on('message', async (message) => {
  if (message === 'finish') {
    source.end(Buffer.from('the end'));
    const { key } = await (await pending).commit();
    process.send({ committed: key });
  }
});
const before = new Set(process.argv.slice(3));
for (;;) {
  const folders = (await readdir(process.argv[2] + '/tmp').catch(() => [])).filter((name) => !before.has(name));
  if (folders.length === 1 && (await readdir(process.argv[2] + '/tmp/' + folders[0])).length === 1) {
    process.send({ folder: folders[0] });
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}
`;

beforeAll(async () => {
  compiled = await mkdtemp(join(tmpdir(), 'custodia-storage-child-'));
  for (const name of ['local-blob-store', 'blob-store', 'content-address', 'errors']) {
    const { code } = await transformFile(join(here, `${name}.ts`), {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
    });
    await writeFile(join(compiled, `${name}.js`), code);
  }
  await writeFile(join(compiled, 'package.json'), '{"type":"module"}');
  await writeFile(join(compiled, 'writer.js'), WRITER);
});

afterAll(async () => {
  await rm(compiled, { recursive: true, force: true });
});

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'custodia-sweep-'));
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** A child process uploading into the store; resolves once its temporary file exists. */
async function writer(): Promise<{ child: ChildProcess; folder: string }> {
  const existing = await readdir(join(root, 'tmp')).catch(() => []);
  const child = fork(join(compiled, 'writer.js'), [root, ...existing], { stdio: 'inherit' });
  children.push(child);
  const [message] = (await once(child, 'message')) as [{ folder: string }];
  return { child, folder: message.folder };
}

const filesIn = async (folder: string): Promise<string[]> => readdir(join(root, 'tmp', folder)).catch(() => []);

describe('sweeping temporary uploads with several processes on one store', () => {
  it("keeps a live process's upload and removes a crashed one's, at once, and the live one still commits", async () => {
    const live = await writer();
    const crashed = await writer();
    crashed.child.kill('SIGKILL');
    await once(crashed.child, 'exit');

    // This process starts as a restarted server would; the crashed writer's folder is fresh,
    // but its process is provably gone (same host, its pid no longer runs).
    const restarted = new LocalBlobStore(root);
    const listed = await restarted.temporaryFiles();
    expect(listed.map((file) => [file.path.split('/')[1], file.leftover]).sort()).toEqual(
      [
        [live.folder, false],
        [crashed.folder, true],
      ].sort(),
    );
    expect(await restarted.sweepTemporary()).toBe(1);
    expect(await filesIn(crashed.folder)).toEqual([]);
    expect((await readdir(join(root, 'tmp'))).includes(crashed.folder)).toBe(false);
    expect(await filesIn(live.folder)).toHaveLength(1);

    live.child.send('finish');
    const [done] = (await once(live.child, 'message')) as [{ committed: string }];
    expect((await stat(join(root, done.committed))).size).toBe(64 * 1024 + 7);
    expect(await filesIn(live.folder)).toEqual([]);
  });

  it("judges another host's or container's folder by its heartbeat: kept while fresh, removed once silent for a minute", async () => {
    const foreign = join(root, 'tmp', '0123456789abcdef-1-12345-0badc0de');
    await mkdir(foreign, { recursive: true });
    await writeFile(join(foreign, 'upload.part'), 'bytes in flight');
    const store = new LocalBlobStore(root);
    expect(await store.sweepTemporary()).toBe(0);
    const fiftySecondsAgo = new Date(Date.now() - 50_000);
    await utimes(foreign, fiftySecondsAgo, fiftySecondsAgo);
    expect(await store.sweepTemporary()).toBe(0);
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    await utimes(foreign, twoMinutesAgo, twoMinutesAgo);
    expect((await store.temporaryFiles()).map((file) => file.leftover)).toEqual([true]);
    expect(await store.sweepTemporary()).toBe(1);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('tells a reused pid from its first owner by its start time', async () => {
    const store = new LocalBlobStore(root);
    const pending = await store.ingest(Readable.from([Buffer.from('ours')]), { maxBytes: 100 });
    const [own] = await readdir(join(root, 'tmp'));
    const [hostKey, pid] = own!.split('-');
    // Our own pid, on our host, but started at another time: the process that made it is gone.
    const reused = join(root, 'tmp', `${hostKey}-${pid}-1-deadbeef`);
    await mkdir(reused);
    await writeFile(join(reused, 'upload.part'), 'left by the pid before us');
    const other = new LocalBlobStore(root);
    if (hostKey === 'x') {
      // No /proc (not Linux): nothing can be proven, the heartbeat decides (previous test).
      expect(await other.sweepTemporary()).toBe(0);
    } else {
      expect(await other.sweepTemporary()).toBe(1);
    }
    expect((await pending.commit()).created).toBe(true);
  });

  it('beats a heartbeat on its folder while it lives', async () => {
    vi.useFakeTimers({ toFake: ['setInterval'] });
    try {
      const store = new LocalBlobStore(root);
      const source = new PassThrough();
      const pending = store.ingest(source, { maxBytes: 1000 });
      source.write('partial');
      let folder: string | undefined;
      while (!(folder = (await readdir(join(root, 'tmp')).catch(() => []))[0])) await sleep(5);
      const longAgo = new Date(Date.now() - 600_000);
      await utimes(join(root, 'tmp', folder), longAgo, longAgo);
      await vi.advanceTimersByTimeAsync(10_000);
      for (let i = 0; i < 100 && (await stat(join(root, 'tmp', folder))).mtimeMs < Date.now() - 5_000; i++) await sleep(10);
      expect((await stat(join(root, 'tmp', folder))).mtimeMs).toBeGreaterThan(Date.now() - 5_000);
      source.end();
      await (await pending).discard();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('checkStore', () => {
  it('lists unreferenced blobs (never removing them) and leftover temporary files, removed only when asked', async () => {
    const store = new LocalBlobStore(root);
    const kept = await (await store.ingest(Readable.from([Buffer.from('referenced')]), { maxBytes: 100 })).commit();
    const orphan = await store.ingest(Readable.from([Buffer.from('placed, never recorded')]), { maxBytes: 100 });
    await orphan.commit();
    const keptHash = kept.key.split('/').pop()!;
    const crashed = join(root, 'tmp', '0123456789abcdef-1-12345-0badc0de');
    await mkdir(crashed, { recursive: true });
    await writeFile(join(crashed, 'upload.part'), 'half an upload');
    const longAgo = new Date(Date.now() - 300_000);
    await utimes(crashed, longAgo, longAgo);

    async function* references(): AsyncGenerator<Reference> {
      yield { sha256: '0'.repeat(64), required: false }; // a hash the records name whose file is kept elsewhere (an upload's declared hash)
      yield { sha256: keptHash, required: true };
      yield { sha256: 'f'.repeat(64), required: false };
    }
    const report = await checkStore(store, references());
    expect(report.blobs).toBe(2);
    expect(report.unreferenced).toEqual([{ sha256: orphan.sha256, sizeBytes: 22 }]);
    expect(report.leftoverTemporary.map((file) => file.path)).toEqual(['tmp/0123456789abcdef-1-12345-0badc0de/upload.part']);
    expect(report.removedTemporary).toBe(0);
    expect(await readdir(crashed)).toEqual(['upload.part']);

    const cleaned = await checkStore(store, references(), { removeTemporary: true });
    expect(cleaned.removedTemporary).toBe(1);
    expect(cleaned.unreferenced).toHaveLength(1);
    expect((await checkStore(store, references())).leftoverTemporary).toEqual([]);
    expect(await stat(join(root, 'sha256', orphan.sha256.slice(0, 2), orphan.sha256.slice(2, 4), orphan.sha256))).toBeTruthy();
  });
});
