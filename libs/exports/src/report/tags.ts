import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { BagWriter } from '#custodia/bagit';
import { renderReportHtml } from './html.js';
import type { ReportModel } from './model.js';
import { renderReportPdf } from './pdf.js';

/**
 * Writes report.html and report.pdf into the bag, each streamed as it is rendered. A rendering
 * that fails (the model's second pass over the items meets a database error, pdfkit throws)
 * fails its tag's stream with the error, so this rejects with it; the rendering's own promise is
 * always heard (unheard, its rejection would end the process).
 */
export async function addReportTags(writer: BagWriter, model: ReportModel): Promise<void> {
  const html = new PassThrough();
  const htmlDone = renderReportHtml(model, async (chunk) => {
    if (!html.write(chunk)) await once(html, 'drain');
  }).then(
    () => html.end(),
    (error: Error) => html.destroy(error),
  );
  await writer.addTag('report.html', html);
  await htmlDone;
  const pdf = new PassThrough();
  // renderReportPdf ends `pdf` itself once the document is complete, and leaves it open on failure.
  const pdfDone = renderReportPdf(model, pdf).then(
    () => undefined,
    (error: Error) => pdf.destroy(error),
  );
  await writer.addTag('report.pdf', pdf);
  await pdfDone;
}
