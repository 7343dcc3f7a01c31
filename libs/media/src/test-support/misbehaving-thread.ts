// A metadata thread for metadata-threads.spec.ts that misbehaves on purpose: it loops forever
// before sniffing a file whose path holds "sniff-stall", and after sniffing (image/jpeg) on one
// holding "stall", grows its heap without end on one holding "hog", exits on "exit", and answers
// every other file at once as image/jpeg with no reading (and no file taken out of a message). It
// speaks the real thread's protocol.
import { parentPort } from 'node:worker_threads';
import type { ThreadAnswer, ThreadTask } from '../metadata-threads.js';

const port = parentPort!;
port.on('message', (task: ThreadTask) => {
  if (task.filePath.includes('sniff-stall')) for (;;);
  port.postMessage({ id: task.id, mediaType: 'image/jpeg' } satisfies ThreadAnswer);
  if (task.filePath.includes('stall')) for (;;);
  if (task.filePath.includes('hog')) {
    const kept: number[][] = [];
    for (;;) kept.push(Array.from({ length: 100_000 }, (_, i) => i + kept.length));
  }
  if (task.filePath.includes('exit')) process.exit(3);
  port.postMessage({ id: task.id, ok: true, value: null } satisfies ThreadAnswer);
});
port.postMessage('ready');
