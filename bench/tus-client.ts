/**
 * The tus side of bench/uploads.ts, in its own process as curl is on the multipart side:
 * node dist/bench/tus-client.js <endpoint> <token> <file> <chunkMiB> [stopAtBytes] [uploadUrl]
 * Prints { url, offset, seconds } as JSON; with stopAtBytes it stops (as a dropped connection
 * would) once that many bytes are acknowledged; with uploadUrl it resumes that upload.
 */
import { createReadStream, statSync } from 'node:fs';
import * as tus from 'tus-js-client';

const [endpoint, token, file, chunkMiB, stopAt, resumeUrl] = process.argv.slice(2) as [string, string, string, string, string?, string?];
const size = statSync(file).size;
const started = performance.now();
const result = await new Promise<{ url: string; offset: number }>((resolve, reject) => {
  const upload: tus.Upload = new tus.Upload(createReadStream(file), {
    endpoint,
    uploadUrl: resumeUrl || null,
    uploadSize: size,
    chunkSize: Number(chunkMiB) * 1024 * 1024,
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
console.log(JSON.stringify({ ...result, seconds: (performance.now() - started) / 1000 }));
