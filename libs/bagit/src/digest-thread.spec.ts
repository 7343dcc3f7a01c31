import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestThread } from './digest-thread.js';

const digests = (bytes: Buffer) => ({
  sha256: createHash('sha256').update(bytes).digest('hex'),
  sha512: createHash('sha512').update(bytes).digest('hex'),
});

describe('DigestThread', () => {
  it('hashes chunks of any size, several files at once, exactly as one pass of createHash would', async () => {
    const thread = new DigestThread();
    try {
      const a = randomBytes(5 * 1024 * 1024 + 3);
      const b = randomBytes(100_000);
      const ida = thread.start();
      const idb = thread.start();
      // Pieces larger than a slot, smaller than one, and empty, interleaved between the two files.
      const cuts = [0, 1, 3 * 1024 * 1024 + 7, 3 * 1024 * 1024 + 7, 4 * 1024 * 1024, a.length];
      for (let i = 1; i < cuts.length; i++) {
        await thread.update(ida, a.subarray(cuts[i - 1], cuts[i]));
        await thread.update(idb, b.subarray((i - 1) * 20_000, i * 20_000));
      }
      expect(await thread.end(idb)).toEqual(digests(b));
      expect(await thread.end(ida)).toEqual(digests(a));
      const empty = thread.start();
      expect(await thread.end(empty)).toEqual(digests(Buffer.alloc(0)));
    } finally {
      await thread.close();
    }
  });
});
