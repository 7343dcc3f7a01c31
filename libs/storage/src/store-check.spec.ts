import { describe, expect, it } from 'vitest';
import type { StoredBlob } from './local-blob-store.js';
import { checkStore, type CheckableStore, type Reference } from './store-check.js';

/** A store that lists the given blobs in the given order, with no temporary files. */
const listing = (hashes: string[]): CheckableStore => ({
  async *blobs(): AsyncGenerator<StoredBlob> {
    for (const sha256 of hashes) yield { sha256, sizeBytes: 1 };
  },
  temporaryFiles: async () => [],
  sweepTemporary: async () => 0,
});

/** References in order; those in `required` must be in the store. */
async function* referenced(hashes: string[], required: string[] = []): AsyncGenerator<Reference> {
  for (const sha256 of hashes) yield { sha256, required: required.includes(sha256) };
}

const hash = (c: string) => c.repeat(64);

describe('checkStore', () => {
  it('walks the store and the references side by side and names what nothing refers to', async () => {
    const report = await checkStore(listing([hash('1'), hash('2'), hash('3')]), referenced([hash('1'), hash('3'), hash('4')]));
    expect(report.blobs).toBe(3);
    expect(report.unreferenced.map((b) => b.sha256)).toEqual([hash('2')]);
  });

  it('names the required blobs the store lacks, wherever they fall in the walk, and not the others', async () => {
    const report = await checkStore(
      listing([hash('2'), hash('5')]),
      referenced([hash('1'), hash('2'), hash('3'), hash('4'), hash('6'), hash('7')], [hash('1'), hash('2'), hash('3'), hash('7')]),
    );
    expect(report.missing).toEqual([hash('1'), hash('3'), hash('7')]);
    expect(report.missingCount).toBe(3);
    expect(report.unreferenced.map((b) => b.sha256)).toEqual([hash('5')]);
  });

  it('a store holding nothing of many required blobs: all counted, the first hundred named', async () => {
    const many = Array.from({ length: 250 }, (_, n) => n.toString(16).padStart(64, '0'));
    const report = await checkStore(listing([]), referenced(many, many));
    expect(report.missingCount).toBe(250);
    expect(report.missing).toEqual(many.slice(0, 100));
  });

  it('refuses a store that lists out of order, rather than calling referenced blobs unreferenced', async () => {
    await expect(checkStore(listing([hash('1'), hash('3'), hash('2')]), referenced([hash('1'), hash('2'), hash('3')]))).rejects.toThrow(/does not list in order/);
    await expect(checkStore(listing([hash('1'), hash('1')]), referenced([hash('1')]))).rejects.toThrow(/does not list in order/);
  });
});
