import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import type { BagWriter } from '#custodia/bagit';
import { renderReportHtml } from './html.js';
import type { ReportModel } from './model.js';
import { renderReportPdf } from './pdf.js';

/**
 * Writes report.html and report.pdf into the bag, each streamed as it is rendered. A rendering
 * that fails (the model's second pass over the items meets a database error, pdfkit throws)
 * fails its tag's stream with the error, so this rejects with it.
 */
export async function addReportTags(writer: BagWriter, model: ReportModel): Promise<void> {
  await addRenderedTag(writer, 'report.html', async (out) => {
    await renderReportHtml(model, async (chunk) => {
      if (!out.write(chunk)) await once(out, 'drain');
    });
    out.end();
  });
  // renderReportPdf ends its output itself once the document is complete.
  await addRenderedTag(writer, 'report.pdf', (out) => renderReportPdf(model, out));
}

/**
 * One tag file written by `render` as the bag takes it; `render` ends `out` when done. Its
 * failure destroys `out` (so the tag fails with it) and is heard at once: left for later, a
 * rejection while the tag is being added would go unheard and end the process. The bag's failure
 * destroys `out` too, so a rendering waiting for room in it stops.
 */
async function addRenderedTag(writer: BagWriter, path: string, render: (out: Writable) => Promise<void>): Promise<void> {
  const out = new PassThrough();
  const rendered = render(out).catch((error: Error) => void out.destroy(error));
  try {
    await writer.addTag(path, out);
  } catch (error) {
    out.destroy(error as Error);
    throw error;
  } finally {
    await rendered;
  }
}
