export type { ReportEvent, ReportEvents, ReportHeader, ReportItem, ReportModel } from './model.js';
export { renderReportHtml, escapeHtml } from './html.js';
export { renderReportPdf } from './pdf.js';
export { addReportTags } from './tags.js';
export { ACTION_LABELS, FLAG_LABELS, LABELS, ROLE_LABELS, STATUS_LABELS, SOURCE_TYPE_LABELS, type Bilingual, labelFor } from './labels.js';
