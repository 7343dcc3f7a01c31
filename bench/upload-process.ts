/**
 * The uploader process of bench/http-upload.ts (`uploaderProcess`): for each message
 * { app, files, mediaType, concurrency } it uploads the files and answers { answered, cpuSeconds }
 * (each upload's milliseconds to its 201, and this process's CPU seconds for them) or { error }.
 */
import { pool, upload, type ArchiveHandle } from './http-upload.js';

process.on('message', (message: { app: ArchiveHandle; files: string[]; mediaType: string; concurrency: number }) => {
  const answered: number[] = [];
  const cpu = process.cpuUsage();
  pool(message.files, message.concurrency, async (file) => {
    const sent = performance.now();
    await upload(message.app, file, message.mediaType);
    answered.push(performance.now() - sent);
  }).then(
    () => {
      const used = process.cpuUsage(cpu);
      process.send!({ answered, cpuSeconds: (used.user + used.system) / 1e6 });
    },
    (error: unknown) => process.send!({ error: String(error) }),
  );
});
