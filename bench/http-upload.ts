/**
 * The benches' HTTP uploader: multipart POSTs of files to a case with node:http, in the
 * bench's own process (`upload`, `pool`) or in a process of its own (`uploaderProcess`, which
 * forks bench/upload-process.ts), so that a client's reads, socket writes and buffers (and the
 * garbage collections they cause) are not counted against the archive's main thread.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the evidence benchmarks need of a running archive. */
export interface ArchiveHandle {
  url: string;
  token: string;
  caseId: string;
}

/**
 * POSTs one file to the case as multipart/form-data with node:http, the file streamed from
 * disk: the client shares the cores with the archive, so it does as little as it
 * can (fetch with FormData copies the file through web streams several times).
 */
export async function upload(app: ArchiveHandle, file: string, mediaType: string): Promise<string> {
  const boundary = `custodia-${randomUUID()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n` +
      `${JSON.stringify({ sourceType: 'field_capture' })}\r\n--${boundary}\r\n` +
      `Content-Disposition: form-data; name="file"; filename="${path.basename(file)}"\r\nContent-Type: ${mediaType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = (await stat(file)).size;
  return new Promise((resolve, reject) => {
    const req = http.request(`${app.url}/api/v1/cases/${app.caseId}/evidence`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${app.token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': head.length + size + tail.length },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 201) reject(new Error(`upload answered ${res.statusCode}: ${text}`));
        else resolve((JSON.parse(text) as { id: string }).id);
      });
    });
    // The file streamed from disk in large reads: no copy of it in memory.
    req.write(head);
    const body = createReadStream(file, { highWaterMark: 1 << 20 });
    body.on('error', (error) => req.destroy(error));
    body.on('end', () => req.end(tail));
    body.pipe(req, { end: false });
  });
}

/** Runs `work` over `items`, `size` at a time. */
export async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * A forked uploader: `run` uploads files `concurrency` at a time and gives each upload's
 * milliseconds to its 201, and the CPU seconds the uploader (the camera's side) spent on them.
 */
export interface UploaderProcess {
  run(files: string[], mediaType: string, concurrency: number): Promise<{ answered: number[]; cpuSeconds: number }>;
  close(): void;
}

/** Starts the uploader process (bench/upload-process.ts) for `app`; close it when done. */
export async function uploaderProcess(app: ArchiveHandle): Promise<UploaderProcess> {
  const child = fork(fileURLToPath(new URL('./upload-process.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'spawn');
  return {
    async run(files, mediaType, concurrency) {
      child.send({ app: { url: app.url, token: app.token, caseId: app.caseId }, files, mediaType, concurrency });
      const [answer] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(([code]) => Promise.reject(new Error(`the uploader exited with ${code}`)))])) as [
        { answered?: number[]; cpuSeconds?: number; error?: string },
      ];
      if (answer.error !== undefined) throw new Error(`the uploader failed: ${answer.error}`);
      return { answered: answer.answered!, cpuSeconds: answer.cpuSeconds! };
    },
    close: () => child.kill(),
  };
}
