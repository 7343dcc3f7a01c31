import { describe, expect, it } from 'vitest';
import { BagWriter } from '#custodia/bagit';
import { addReportTags } from './tags.js';
import { header, model, ordinaryItem } from './test-support/sample-model.js';

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
});
