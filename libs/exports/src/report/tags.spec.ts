import { describe, expect, it, vi } from 'vitest';
import { BagWriter } from '#custodia/bagit';
import { addReportTags } from './tags.js';
import { generatedModel, header, model, ordinaryItem } from './test-support/sample-model.js';
import type { ReportModel } from './model.js';

/** A model whose `pass`-th reading of the items fails, as a database error would in the export job. */
function failingOnPass(pass: number) {
  let passes = 0;
  return model(header({ timestamp: false }), () => {
    if (++passes === pass) throw new Error(`connection terminated unexpectedly (pass ${pass})`);
    return [ordinaryItem()];
  });
}

// The tags' content is checked in real packages (test/exports.e2e.spec.ts) and in report.spec.ts.
describe('addReportTags', () => {
  it.each([
    ['the HTML pass', 1],
    ['the PDF pass', 2],
  ])('rejects with the error when %s fails, and nothing goes unheard', async (_label, pass) => {
    const writer = await BagWriter.open('bag', { date: new Date() });
    writer.output.on('error', () => undefined).resume();
    await expect(addReportTags(writer, failingOnPass(pass))).rejects.toThrow(`connection terminated unexpectedly (pass ${pass})`);
    writer.abort(new Error('test over'));
  });

  it.each([
    ['before the report comes', false],
    ['while it takes the report', true],
  ])('stops rendering a tag the bag fails to take, %s (the rendering was left waiting for the bag)', async (_label, midway) => {
    const writer = await BagWriter.open('bag', { date: new Date() });
    // Nobody reads the bag, so the report waits for room; then the bag fails.
    writer.output.on('error', () => undefined);
    const many = generatedModel(300);
    let renderingEnded = false;
    const watched: ReportModel = {
      header: many.header,
      items: () =>
        (async function* () {
          try {
            yield* many.items();
          } finally {
            renderingEnded = true;
          }
        })(),
    };
    if (!midway) writer.abort(new Error('no space left on the device'));
    const adding = addReportTags(writer, watched);
    if (midway) {
      await vi.waitFor(() => expect(writer.output.readableLength).toBeGreaterThan(0));
      expect(renderingEnded).toBe(false);
      writer.abort(new Error('no space left on the device'));
    }
    await expect(adding).rejects.toThrow('no space left on the device');
    await vi.waitFor(() => expect(renderingEnded).toBe(true));
  });
});
