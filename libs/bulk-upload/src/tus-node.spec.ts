import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOnDisk, TUS_FILE_OPTIONS, tusFileOptions } from './tus-node.js';

/** The least tus server: one upload, its PATCHes kept as they came. */
async function tusServer() {
  const patches: { offset: number; contentLength: number; body: Buffer }[] = [];
  const sockets = new Set<Socket>();
  let length = 0;
  const server = http.createServer(async (req, res) => {
    sockets.add(req.socket);
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const received = patches.reduce((sum, p) => sum + p.body.length, 0);
    if (req.method === 'POST') {
      length = Number(req.headers['upload-length']);
      res.writeHead(201, { Location: '/files/1', 'Tus-Resumable': '1.0.0' }).end();
    } else if (req.method === 'PATCH') {
      const body = Buffer.concat(parts);
      patches.push({ offset: Number(req.headers['upload-offset']), contentLength: Number(req.headers['content-length']), body });
      res.writeHead(204, { 'Upload-Offset': String(received + body.length), 'Tus-Resumable': '1.0.0' }).end();
    } else {
      res.writeHead(405).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, patches, sockets, length: () => length, close: () => server.close() };
}

describe("tus-js-client with custodia upload's file reader and HTTP stack", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-tus-node-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('sends a file in whole chunks with their lengths, over one connection, reporting progress as it goes', async () => {
    const server = await tusServer();
    const bytes = randomBytes(5 * 1024 * 1024 + 3);
    const file = path.join(dir, 'clip.mp4');
    await writeFile(file, bytes);
    const progress: number[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(fileOnDisk(file), {
          ...TUS_FILE_OPTIONS,
          endpoint: `${server.url}/files`,
          chunkSize: 2 * 1024 * 1024,
          retryDelays: [],
          onProgress: (sent) => progress.push(sent),
          onError: reject,
          onSuccess: () => resolve(),
        });
        upload.start();
      });
      expect(server.length()).toBe(bytes.length);
      expect(server.patches.map((p) => [p.offset, p.contentLength, p.body.length])).toEqual([
        [0, 2097152, 2097152],
        [2097152, 2097152, 2097152],
        [4194304, 1048579, 1048579],
      ]);
      expect(Buffer.concat(server.patches.map((p) => p.body)).equals(bytes)).toBe(true);
      expect(server.sockets.size).toBe(1);
      // Per MiB written, never backwards, up to the whole file.
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(progress.at(-1)).toBe(bytes.length);
      expect(new Set(progress).size).toBeGreaterThanOrEqual(6);
    } finally {
      server.close();
    }
  });

  it('fails the upload, rather than sending a short chunk, when the file shrinks while it is sent', async () => {
    const server = await tusServer();
    const file = path.join(dir, 'shrinking.bin');
    await writeFile(file, randomBytes(3 * 1024 * 1024));
    try {
      const failed = await new Promise<Error>((resolve) => {
        const upload = new tus.Upload(fileOnDisk(file), {
          ...TUS_FILE_OPTIONS,
          endpoint: `${server.url}/files`,
          chunkSize: 1024 * 1024,
          retryDelays: [],
          onChunkComplete: () => void writeFile(file, Buffer.alloc(10)),
          onError: resolve,
          onSuccess: () => resolve(new Error('finished')),
        });
        upload.start();
      });
      expect(failed.message).toMatch(/became shorter while it was being sent/);
      expect(server.patches.every((p) => p.body.length === 1024 * 1024)).toBe(true);
    } finally {
      server.close();
    }
  });

  it("reads the next chunk while one is sent, without touching the bytes of the chunk being sent, and reads afresh at an offset it did not expect", async () => {
    const bytes = randomBytes(5 * 1024 + 7);
    const file = path.join(dir, 'ahead.bin');
    await writeFile(file, bytes);
    const source = await TUS_FILE_OPTIONS.fileReader.openFile(fileOnDisk(file), 2048);
    const slice = async (start: number, end: number) => {
      const { value, done } = await source.slice(start, end);
      // What the reader read ahead meanwhile is in place before the chunk is looked at.
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { bytes: Buffer.from((value as unknown as { bytes: Buffer }).bytes), view: (value as unknown as { bytes: Buffer }).bytes, done };
    };
    const first = await slice(0, 2048);
    expect(first.view.equals(bytes.subarray(0, 2048))).toBe(true);
    const second = await slice(2048, 4096);
    expect(second.view.equals(bytes.subarray(2048, 4096))).toBe(true);
    // The server had less than sent (a resume): read from there, not the chunk read ahead.
    const again = await slice(1000, 3048);
    expect(again.view.equals(bytes.subarray(1000, 3048))).toBe(true);
    const next = await slice(3048, 5096);
    expect(next.view.equals(bytes.subarray(3048, 5096))).toBe(true);
    const last = await slice(5096, 7144);
    expect(last.view.equals(bytes.subarray(5096))).toBe(true);
    expect([first.done, second.done, again.done, next.done, last.done]).toEqual([false, false, false, false, true]);
    // A file cut short after a chunk was read ahead: that chunk is as it was read (the archive
    // checks the whole file's hash), and the next one, read from the disk, fails.
    await slice(0, 2048);
    await writeFile(file, bytes.subarray(0, 4000));
    expect((await slice(2048, 4096)).bytes.equals(bytes.subarray(2048, 4096))).toBe(true);
    await expect(source.slice(4096, 6144)).rejects.toThrow(/became shorter while it was being sent/);
  });

  it('gives up a PATCH the archive takes and never answers, after the idle time, and the retry sends the chunk again', async () => {
    // An archive that reads the first PATCH whole and then says nothing; it answers the rest.
    let received = Buffer.alloc(0);
    let patches = 0;
    const server = http.createServer(async (req, res) => {
      const parts: Buffer[] = [];
      for await (const part of req) parts.push(part as Buffer);
      if (req.method === 'POST') return void res.writeHead(201, { Location: '/files/1', 'Tus-Resumable': '1.0.0' }).end();
      if (req.method === 'HEAD') return void res.writeHead(200, { 'Upload-Offset': String(received.length), 'Upload-Length': '3000', 'Tus-Resumable': '1.0.0' }).end();
      if (++patches === 1) return;
      received = Buffer.concat([received, ...parts]);
      res.writeHead(204, { 'Upload-Offset': String(received.length), 'Tus-Resumable': '1.0.0' }).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const bytes = randomBytes(3000);
    const file = path.join(dir, 'unanswered.bin');
    await writeFile(file, bytes);
    const errors: string[] = [];
    try {
      const started = Date.now();
      await new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(fileOnDisk(file), {
          ...tusFileOptions(300),
          endpoint: `${url}/files`,
          retryDelays: [10],
          onShouldRetry: (error) => {
            errors.push(String(error.causingError?.message ?? error.message));
            return true;
          },
          onError: reject,
          onSuccess: () => resolve(),
        });
        upload.start();
      });
      expect(errors).toEqual([expect.stringContaining('the archive sent nothing for 0.3 s')]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(patches).toBe(2);
      expect(received.equals(bytes)).toBe(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
