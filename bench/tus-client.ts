/**
 * The tus side of bench/uploads.ts, in its own process as curl is on the multipart side:
 * node dist/bench/tus-client.js <endpoint> <token> <file> <chunkMiB> [stopAtBytes] [uploadUrl] [lean]
 * Prints { url, offset, seconds, cpuSeconds } as JSON (cpuSeconds: the whole process's CPU time); with stopAtBytes it stops (as a dropped connection
 * would) once that many bytes are acknowledged; with uploadUrl it resumes that upload. By default
 * tus-js-client reads and sends as `custodia upload` has it do (TUS_FILE_OPTIONS); with `stock`
 * with tus-js-client's own Node file reader and HTTP stack. With
 * `lean` it is not tus-js-client but the least a tus client can do (one creation, then PATCHes
 * of each chunk read into one reused buffer, over one keep-alive connection), to tell the
 * client's own cost from the server's; with TUS_TIMES=1 in its environment it prints each chunk's
 * read and PATCH times (ms) on stderr. With `turns=<origin>` it is the lean client sending every
 * other PATCH to that origin (another API instance), as a load balancer's round robin would.
 */
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import * as tus from 'tus-js-client';
import { fileOnDisk, TUS_FILE_OPTIONS } from '#custodia/bulk-upload';

const [endpoint, token, file, chunkMiB, stopAt, resumeUrl, mode] = process.argv.slice(2) as [string, string, string, string, string?, string?, string?];
const size = statSync(file).size;
const chunkSize = Number(chunkMiB) * 1024 * 1024;

function tusJsClient(stock: boolean): Promise<{ url: string; offset: number }> {
  return new Promise((resolve, reject) => {
    const upload: tus.Upload = new tus.Upload(stock ? createReadStream(file) : fileOnDisk(file), {
      ...(stock ? {} : TUS_FILE_OPTIONS),
      endpoint,
      uploadUrl: resumeUrl || null,
      uploadSize: size,
      chunkSize,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: 'bench.bin', filetype: 'application/octet-stream' },
      retryDelays: [],
      onChunkComplete: (_chunk, accepted) => {
        if (stopAt && accepted >= Number(stopAt)) {
          void upload.abort().then(() => resolve({ url: upload.url!, offset: accepted }));
        }
      },
      onError: reject,
      onSuccess: () => resolve({ url: upload.url!, offset: size }),
    });
    upload.start();
  });
}

async function lean(other?: string): Promise<{ url: string; offset: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const send = (method: string, url: string, headers: Record<string, string | number>, body?: Buffer) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(url, { method, agent, headers: { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res));
      });
      req.on('error', reject);
      req.end(body);
    });
  const created = await send('POST', endpoint, { 'Upload-Length': size, 'Upload-Metadata': `filename ${Buffer.from('bench.bin').toString('base64')}` });
  if (created.statusCode !== 201) throw new Error(`creation answered ${created.statusCode}`);
  const url = new URL(created.headers.location!, endpoint).href;
  const handle = await open(file, 'r');
  const buffer = Buffer.allocUnsafe(chunkSize);
  let offset = 0;
  let turn = 0;
  try {
    while (offset < size) {
      const target = other && turn++ % 2 === 1 ? new URL(new URL(url).pathname, other).href : url;
      const t0 = performance.now();
      const { bytesRead } = await handle.read(buffer, 0, Math.min(chunkSize, size - offset), offset);
      const t1 = performance.now();
      const res = await send('PATCH', target, { 'Upload-Offset': offset, 'Content-Type': 'application/offset+octet-stream', 'Content-Length': bytesRead }, buffer.subarray(0, bytesRead));
      if (res.statusCode !== 204) throw new Error(`PATCH answered ${res.statusCode}`);
      offset = Number(res.headers['upload-offset']);
      if (process.env['TUS_TIMES']) process.stderr.write(`read ${(t1 - t0).toFixed(1)} patch ${(performance.now() - t1).toFixed(1)}\n`);
    }
  } finally {
    await handle.close();
    agent.destroy();
  }
  return { url, offset };
}

const started = performance.now();
const result =
  mode === 'lean' ? await lean() : mode?.startsWith('turns=') ? await lean(mode.slice('turns='.length)) : await tusJsClient(mode === 'stock');
const cpu = process.cpuUsage();
console.log(JSON.stringify({ ...result, seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
