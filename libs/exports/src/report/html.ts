/**
 * report.html: the chain-of-custody report as one self-contained page (inline style, no script,
 * no request to anywhere: a Content-Security-Policy forbids it even if a browser were tempted),
 * written chunk by chunk so a package of 100,000 items never becomes one string.
 */
import { type Bilingual, LABELS, proofExplanation } from './labels.js';
import { visibleText } from '#custodia/text';
import type { ReportHeader, ReportItem, ReportModel } from './model.js';
import { type EventView, type Line, type Section, type Span, eventView, headerSections, itemHeading, itemSections } from './view.js';

/** Everything the model says reaches the page through this. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Untrusted text for an attribute or a heading: hidden characters shown, then escaped. */
const safe = (value: string) => escapeHtml(visibleText(value));

const VIEW = { maxChars: Number.POSITIVE_INFINITY };
const CHUNK_CHARS = 64 * 1024;

const STYLE = `
:root{color-scheme:light}
*{box-sizing:border-box}
body{font-family:"DejaVu Sans","Noto Sans","Segoe UI",Arial,sans-serif;font-size:10.5pt;line-height:1.4;color:#111;background:#fff;margin:0 auto;max-width:62rem;padding:1rem 1.5rem 3rem}
.en,[lang=en]{color:#4a4a4a}
h1{font-size:1.45rem;margin:.2rem 0 .1rem}
h1 .en{display:block;font-size:1.1rem;font-weight:normal}
h2{font-size:1.15rem;margin:0 0 .2rem;padding-top:.6rem;border-top:2px solid #333}
h3{font-size:.95rem;margin:1rem 0 .25rem;padding-bottom:.1rem;border-bottom:1px solid #bbb;color:#222}
p{margin:.35rem 0}
.title{font-size:1.05rem;font-weight:bold;overflow-wrap:anywhere}
.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.88em;word-break:break-all;overflow-wrap:anywhere}
.ok{color:#0b5d1e}.warn{color:#a30000}.muted,.muted[lang=en]{color:#5a5a5a}.strong{font-weight:bold}
table{border-collapse:collapse;width:100%}
.kv th{text-align:left;vertical-align:top;width:15rem;font-weight:normal;color:#333;font-size:.88em;padding:.18rem .8rem .18rem 0}
.kv td{vertical-align:top;padding:.18rem 0;overflow-wrap:anywhere}
.events{table-layout:fixed;font-size:.84em;margin-top:.3rem}
.events th{text-align:left;vertical-align:bottom;border-bottom:1.5px solid #333;padding:.2rem .3rem;font-size:.95em}
.events td{vertical-align:top;padding:.25rem .3rem .05rem;overflow-wrap:anywhere}
.events tr.sub td{padding:0 .3rem .3rem;border-bottom:1px solid #bbb;color:#5a5a5a;font-size:.92em}
.events tbody{break-inside:avoid;page-break-inside:avoid}
.events .notice th{border:0;padding:0 0 .3rem}
.banner{border:2px solid #a30000;background:#fff3e6;color:#6d0000;padding:.35rem .6rem;margin:.5rem 0 .7rem;font-weight:bold}
.banner .en{color:#6d0000}
.explain{border-left:3px solid #777;padding:.1rem 0 .1rem .8rem;margin-top:.6rem}
.foot{margin-top:1rem;font-size:.8em;color:#5a5a5a;border-top:1px solid #ddd;padding-top:.2rem}
section.item{margin-top:2.5rem}
@page{size:A4;margin:14mm 12mm}
@media print{
body{max-width:none;padding:0;font-size:9.5pt}
section.item{break-before:page;page-break-before:always;margin-top:0}
thead{display:table-header-group}
h2,h3{break-after:avoid;page-break-after:avoid}
.kv tr{break-inside:avoid;page-break-inside:avoid}
}
`;

function bi(label: Bilingual, tag?: string): string {
  const inner = `${escapeHtml(label.uk)} <span class="en" lang="en">/ ${escapeHtml(label.en)}</span>`;
  return tag ? `<${tag}>${inner}</${tag}>` : inner;
}

function spanHtml(span: Span): string {
  let text = escapeHtml(span.text);
  if (span.untrusted) text = `<bdi>${text}</bdi>`;
  const classes = [span.mono ? 'mono' : '', span.tone ?? '', span.strong ? 'strong' : ''].filter(Boolean);
  if (!classes.length && !span.en) return text;
  return `<span${classes.length ? ` class="${classes.join(' ')}"` : ''}${span.en ? ' lang="en"' : ''}>${text}</span>`;
}

const lineHtml = (line: Line) => line.map(spanHtml).join('');
const linesHtml = (lines: Line[]) => lines.map(lineHtml).join('<br>');

function sectionsHtml(sections: Section[]): string {
  return sections
    .map(
      (s) =>
        `<h3>${bi(s.title)}</h3>\n<table class="kv"><tbody>\n` +
        s.rows.map((r) => `<tr><th scope="row">${bi(r.label)}</th><td>${linesHtml(r.lines)}</td></tr>\n`).join('') +
        '</tbody></table>\n',
    )
    .join('');
}

function banner(header: ReportHeader): string {
  if (header.purpose !== 'partner') return '';
  return (
    `<div class="banner" role="note">${bi(LABELS.workingCopy)}<br>` +
    `<span class="normal">${escapeHtml(LABELS.workingCopyDetail.uk)}</span> <span class="en" lang="en">/ ${escapeHtml(LABELS.workingCopyDetail.en)}</span></div>\n`
  );
}

function coverHtml(header: ReportHeader): string {
  const explain = proofExplanation(header.timestamp !== null);
  return (
    '<header class="cover" id="package">\n' +
    `<h1>${escapeHtml(LABELS.reportTitle.uk)} <span class="en" lang="en">${escapeHtml(LABELS.reportTitle.en)}</span></h1>\n` +
    banner(header) +
    sectionsHtml(headerSections(header, VIEW)) +
    `<h3>${bi(LABELS.whatProofsShow)}</h3>\n<div class="explain">\n<p>${escapeHtml(explain.uk)}</p>\n<p lang="en">${escapeHtml(explain.en)}</p>\n</div>\n` +
    '</header>\n'
  );
}

function eventHtml(ev: EventView): string {
  const proof = ev.included
    ? `<span class="ok strong">✓ ${escapeHtml(LABELS.included.uk)}</span> <span class="ok" lang="en">/ ${escapeHtml(LABELS.included.en)}</span>`
    : `<span class="warn strong">✗ ${escapeHtml(LABELS.notIncluded.uk)}</span> <span class="warn" lang="en">/ ${escapeHtml(LABELS.notIncluded.en)}</span>`;
  return (
    '<tbody>' +
    `<tr><td class="mono">${escapeHtml(ev.leafIndex)}</td><td>${linesHtml(ev.time)}</td><td>${linesHtml(ev.action)}</td>` +
    `<td>${linesHtml(ev.actor)}</td><td>${linesHtml(ev.details)}</td><td>${proof}</td></tr>` +
    `<tr class="sub"><td></td><td colspan="5">${bi(LABELS.leafHash)}: <span class="mono">${escapeHtml(ev.leafHash)}</span>` +
    ` · ${bi(LABELS.actorId)}: <span class="mono">${escapeHtml(ev.actorId)}</span></td></tr>` +
    '</tbody>\n'
  );
}

function eventsTableStart(header: ReportHeader): string {
  const notice =
    header.purpose === 'partner'
      ? `<tr class="notice"><th colspan="6"><span class="warn">${bi(LABELS.workingCopy)}</span></th></tr>`
      : '';
  const th = (l: Bilingual) => `<th scope="col">${escapeHtml(l.uk)}<br><span class="en" lang="en">${escapeHtml(l.en)}</span></th>`;
  return (
    '<table class="events"><colgroup><col style="width:7%"><col style="width:19%"><col style="width:18%"><col style="width:17%"><col style="width:30%"><col style="width:9%"></colgroup>\n' +
    `<thead>${notice}<tr>${th(LABELS.colLeaf)}${th(LABELS.colTime)}${th(LABELS.colAction)}${th(LABELS.colActor)}${th(LABELS.colDetails)}${th(LABELS.colProof)}</tr></thead>\n`
  );
}

/** Writes one item's section, flushing whenever the buffer grows past a chunk. */
async function writeItem(item: ReportItem, index: number, header: ReportHeader, out: ChunkBuffer): Promise<void> {
  const heading = itemHeading(index, header.counts.evidence);
  out.push(
    `<section class="item" id="item-${safe(item.evidenceId)}">\n` +
      banner(header) +
      `<h2>${bi(heading)}</h2>\n` +
      `<p class="title">${item.title !== null ? `<bdi>${safe(item.title)}</bdi>` : `<span class="muted">${bi(LABELS.untitled)}</span>`}</p>\n` +
      `<p>${bi(LABELS.evidenceId)}: <span class="mono">${safe(item.evidenceId)}</span></p>\n` +
      sectionsHtml(itemSections(item, header, VIEW)) +
      `<h3>${bi(LABELS.events)} (${item.events.count})</h3>\n`,
  );
  if (item.events.count === 0) {
    out.push(`<p class="muted">${bi(LABELS.eventsNone)}</p>\n`);
  } else {
    out.push(eventsTableStart(header));
    for await (const event of item.events.read()) {
      out.push(eventHtml(eventView(event, header, VIEW)));
      await out.flushIfFull();
    }
    out.push('</table>\n');
  }
  out.push(
    `<p class="foot">${bi(LABELS.exportShort)}: <span class="mono">${safe(header.exportId)}</span> · ${bi(LABELS.evidenceItem)}: <span class="mono">${safe(item.evidenceId)}</span></p>\n</section>\n`,
  );
  await out.flushIfFull();
}

class ChunkBuffer {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly write: (chunk: string) => Promise<void> | void) {}
  push(text: string): void {
    this.parts.push(text);
    this.size += text.length;
  }
  async flushIfFull(): Promise<void> {
    if (this.size >= CHUNK_CHARS) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.parts.length) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.write(chunk);
  }
}

/**
 * Renders report.html, handing it to `write` in chunks of about 64 KiB (awaiting each, so a slow
 * sink slows the rendering instead of filling memory). Items are read once from `model.items()`.
 */
export async function renderReportHtml(model: ReportModel, write: (chunk: string) => Promise<void> | void): Promise<void> {
  const header = model.header;
  const out = new ChunkBuffer(write);
  const title = `${LABELS.reportTitle.uk} / ${LABELS.reportTitle.en} · ${header.exportId}`;
  out.push(
    '<!DOCTYPE html>\n<html lang="uk">\n<head>\n<meta charset="utf-8">\n' +
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'">\n` +
      '<meta name="referrer" content="no-referrer">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
      `<title>${safe(title)}</title>\n<style>${STYLE}</style>\n</head>\n` +
      `<body class="${header.purpose === 'partner' ? 'partner' : 'court'}">\n`,
  );
  out.push(coverHtml(header));
  await out.flush();
  let index = 0;
  for await (const item of model.items()) {
    index++;
    await writeItem(item, index, header, out);
  }
  out.push('</body>\n</html>\n');
  await out.flush();
}
