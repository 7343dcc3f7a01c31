import { describe, expect, it } from 'vitest';
import type { StoredBlob } from './local-blob-store.js';
import { checkStore, type CheckableStore } from './store-check.js';

/** A store that lists the given blobs in the given order, with no temporary files. */
const listing = (hashes: string[]): CheckableStore => ({
  async *blobs(): AsyncGenerator<StoredBlob> {
    for (const sha256 of hashes) yield { sha256, sizeBytes: 1 };
  },
  temporaryFiles: async () => [],
  sweepTemporary: async () => 0,
});

async function* referenced(hashes: string[]): AsyncGenerator<string> {
  yield* hashes;
}

const hash = (c: string) => c.repeat(64);

describe('checkStore', () => {
  it('walks the store and the references side by side and names what nothing refers to', async () => {
    const report = await checkStore(listing([hash('1'), hash('2'), hash('3')]), referenced([hash('1'), hash('3'), hash('4')]));
    expect(report.blobs).toBe(3);
    expect(report.unreferenced.map((b) => b.sha256)).toEqual([hash('2')]);
  });

  it('refuses a store that lists out of order, rather than calling referenced blobs unreferenced', async () => {
    await expect(checkStore(listing([hash('1'), hash('3'), hash('2')]), referenced([hash('1'), hash('2'), hash('3')]))).rejects.toThrow(/does not list in order/);
    await expect(checkStore(listing([hash('1'), hash('1')]), referenced([hash('1')]))).rejects.toThrow(/does not list in order/);
  });
});
