/**
 * report.pdf: the chain-of-custody report as PDF/A-2b for a court's file. pdfkit writes each page
 * as soon as the next one starts, so the document streams; fonts are DejaVu (Cyrillic, Latin,
 * Greek, symbols), embedded as subsets as PDF/A asks. The file depends only on the model: its
 * dates come from the bagging time, never from the clock.
 */
import { createRequire } from 'node:module';
import type PDFKitDocument from 'pdfkit';
import { type Bilingual, LABELS, proofExplanation } from './labels.js';
import { visibleText } from '#custodia/text';
import { truncateText } from './format.js';
import type { ReportHeader, ReportItem, ReportModel } from './model.js';
import { type EventView, type Line, type Row, type Section, type Span, eventView, headerSections, itemHeading, itemSections } from './view.js';

const require = createRequire(import.meta.url);
const FONT_FILES = {
  sans: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
  bold: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
  mono: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSansMono.ttf'),
};
/**
 * Fonts are always selected by file path: pdfkit caches a font under its path, but a name given
 * to registerFont() misses that cache and re-reads the TrueType file on every switch.
 */
type FontName = keyof typeof FONT_FILES;

/** A4 in points, margins leaving room for the running header (and the partner notice) and footer. */
const PAGE_W = 595.28;
const PAGE_H = 841.89;
const MARGIN = { top: 56, bottom: 60, left: 48, right: 48 };
/** Partner copies carry the working-copy notice under the running header. */
const PARTNER_TOP = 86;
const CONTENT_W = PAGE_W - MARGIN.left - MARGIN.right;
const MAX_Y = PAGE_H - MARGIN.bottom;
const LABEL_W = 165;
const VALUE_X = MARGIN.left + LABEL_W + 8;
const VALUE_W = CONTENT_W - LABEL_W - 8;

const SIZE = { body: 8.2, mono: 7.4, label: 7.5, small: 7, table: 7.2, tableMono: 6.2, section: 9.5 };
const LINE_GAP = 1;
const COLOR = { text: '#111111', muted: '#555555', ok: '#0b5d1e', warn: '#a30000', rule: '#999999', faint: '#cccccc', band: '#fff3e6' };

/** Untrusted text longer than this is cut in the PDF (the HTML and the bag's JSON keep it whole). */
const VIEW = { maxChars: 1500 };

/** Columns of the custody-events table: x offset from the left margin and width. */
const COLS = {
  leaf: { x: 0, w: 24 },
  time: { x: 27, w: 106 },
  action: { x: 136, w: 106 },
  actor: { x: 245, w: 108 },
  details: { x: 356, w: 108 },
  proof: { x: 467, w: CONTENT_W - 467 },
};

/** Text wholly in these ranges (Latin, Ukrainian and Russian Cyrillic, punctuation) needs no glyph check. */
const BEYOND_COMMON = /[^\n\u0020-\u007e\u00a0-\u017f\u0400-\u045f\u0490\u0491\u2013\u2014\u2018-\u201e\u2026]/;

/** The Readable's buffered bytes above which drawing waits for the sink to catch up. */
const HIGH_WATER = 4 * 1024 * 1024;

type Doc = PDFKit.PDFDocument;

/** Text in the PDF: hidden characters made visible, cut to a length that fits a page. */
const pdfText = (value: string) => truncateText(visibleText(value), VIEW.maxChars);
const biText = (l: Bilingual) => `${l.uk} / ${l.en}`;

function fontOf(span: Span): FontName {
  if (span.mono) return 'mono';
  return span.strong ? 'bold' : 'sans';
}

function colorOf(span: Span): string {
  return span.tone ? COLOR[span.tone] : COLOR.text;
}

/** A line split where the font family changes (monospaced text never shares a line with proportional text). */
function splitByFamily(line: Line): Line[] {
  const out: Line[] = [];
  let current: Line = [];
  let mono: boolean | null = null;
  for (const span of line) {
    if (!span.text) continue;
    const isMono = !!span.mono;
    if (mono !== null && isMono !== mono && current.length) {
      out.push(current);
      current = [];
    }
    mono = isMono;
    current.push(span);
  }
  if (current.length) out.push(current);
  return out.length ? out : [[{ text: ' ' }]];
}

/** Sizes for proportional and monospaced text in one context (body or table). */
interface Sizes {
  text: number;
  mono: number;
}

class ReportPdf {
  private pageNumber = 0;
  private previousPage: unknown = null;
  /** Drawn on top of every page after the first break of an item. */
  private continuation: { heading: string; evidenceId: string; table: boolean } | null = null;

  /** Per font: does it have a glyph for this code point (memoised). */
  private readonly hasGlyph: Record<FontName, (codePoint: number) => boolean>;

  constructor(
    private readonly doc: Doc,
    private readonly header: ReportHeader,
  ) {
    doc.on('pageAdded', () => this.decoratePage());
    const probe = (name: FontName) => {
      // pdfkit's EmbeddedFont keeps the fontkit font as `.font`; without it, trust the font.
      const fontkit = (doc.font(FONT_FILES[name]) as unknown as { _font?: { font?: { hasGlyphForCodePoint?: (cp: number) => boolean } } })._font?.font;
      const memo = new Map<number, boolean>();
      return (cp: number) => {
        if (typeof fontkit?.hasGlyphForCodePoint !== 'function') return true;
        let known = memo.get(cp);
        if (known === undefined) memo.set(cp, (known = fontkit.hasGlyphForCodePoint(cp)));
        return known;
      };
    };
    this.hasGlyph = { sans: probe('sans'), bold: probe('bold'), mono: probe('mono') };
    doc.font(FONT_FILES.sans);
  }

  /**
   * Characters the font has no glyph for appear as `[U+XXXX]`: PDF/A forbids drawing the .notdef
   * glyph, and a reader should see that something was there rather than an empty box.
   */
  private glyphSafe(text: string, name: FontName): string {
    if (!BEYOND_COMMON.test(text)) return text;
    const has = this.hasGlyph[name];
    let out = '';
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      out += cp === 0x0a || has(cp) ? ch : `[U+${cp.toString(16).toUpperCase().padStart(4, '0')}]`;
    }
    return out;
  }

  private font(name: FontName, size: number, color = COLOR.text): Doc {
    return this.doc.font(FONT_FILES[name]).fontSize(size).fillColor(color);
  }

  /** Running header, partner notice and footer: on every page, whoever started it. */
  private decoratePage(): void {
    const doc = this.doc;
    releaseWrittenPage(this.previousPage);
    this.previousPage = doc.page;
    this.pageNumber++;
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    this.font('sans', SIZE.small, COLOR.muted).text(`Custodia · ${biText(LABELS.shortTitle)}`, MARGIN.left, 28, { lineBreak: false });
    doc.moveTo(MARGIN.left, 40).lineTo(PAGE_W - MARGIN.right, 40).lineWidth(0.5).strokeColor(COLOR.rule).stroke();
    if (this.header.purpose === 'partner') {
      doc.rect(MARGIN.left, 45, CONTENT_W, 31).lineWidth(1).fillAndStroke(COLOR.band, COLOR.warn);
      this.font('bold', SIZE.label, COLOR.warn).text(biText(LABELS.workingCopy), MARGIN.left + 6, 48, { lineBreak: false });
      this.font('sans', SIZE.small, COLOR.warn).text(LABELS.workingCopyDetail.uk, MARGIN.left + 6, 57.5, { lineBreak: false });
      doc.text(LABELS.workingCopyDetail.en, MARGIN.left + 6, 66, { lineBreak: false });
    }
    const footY = PAGE_H - 44;
    doc.moveTo(MARGIN.left, footY - 5).lineTo(PAGE_W - MARGIN.right, footY - 5).lineWidth(0.5).strokeColor(COLOR.rule).stroke();
    const exportId = this.glyphSafe(pdfText(this.header.exportId), 'sans');
    this.font('sans', SIZE.small, COLOR.muted).text(`${biText(LABELS.exportShort)}: ${exportId}`, MARGIN.left, footY, { lineBreak: false });
    const pageText = `${biText(LABELS.page)} ${this.pageNumber}`;
    const w = doc.widthOfString(pageText);
    doc.text(pageText, PAGE_W - MARGIN.right - w, footY, { lineBreak: false });
    doc.page.margins.bottom = bottom;
    doc.x = MARGIN.left;
    doc.y = doc.page.margins.top;
    if (this.continuation) this.drawContinuationHeading();
  }

  private drawContinuationHeading(): void {
    const c = this.continuation!;
    const doc = this.doc;
    this.font('bold', SIZE.section, COLOR.text).text(c.heading, MARGIN.left, doc.y, { width: CONTENT_W, lineGap: LINE_GAP });
    this.font('mono', SIZE.mono, COLOR.muted).text(c.evidenceId, MARGIN.left, doc.y, { width: CONTENT_W, lineGap: LINE_GAP });
    doc.y += 6;
    if (c.table) this.drawTableHead();
  }

  private newPage(): void {
    this.doc.addPage();
  }

  /** Starts a continuation page unless `height` more points fit on this one. */
  private ensureSpace(height: number): void {
    if (this.doc.y + height > MAX_Y) this.newPage();
  }

  private measureLine(line: Line, width: number, sizes: Sizes): number {
    let h = 0;
    for (const part of splitByFamily(line)) {
      const mono = !!part[0].mono;
      const anyStrong = part.some((s) => s.strong);
      const font: FontName = mono ? 'mono' : anyStrong ? 'bold' : 'sans';
      const text = part.map((s) => this.glyphSafe(s.text, font)).join('');
      // Bold is the widest of the proportional faces: measuring with it never underestimates.
      this.doc.font(FONT_FILES[mono ? 'mono' : anyStrong ? 'bold' : 'sans']).fontSize(mono ? sizes.mono : sizes.text);
      h += this.doc.heightOfString(text, { width, lineGap: LINE_GAP });
    }
    return h;
  }

  private measureLines(lines: Line[], width: number, sizes: Sizes): number {
    let h = 0;
    for (const line of lines) h += this.measureLine(line, width, sizes);
    return h;
  }

  /** Draws lines of styled spans in a box; never past `maxHeight` (so pdfkit never breaks the page by itself). */
  private drawLines(lines: Line[], x: number, y: number, width: number, sizes: Sizes, maxHeight: number): number {
    const doc = this.doc;
    let cursor = y;
    for (const line of lines) {
      for (const part of splitByFamily(line)) {
        const room = y + maxHeight - cursor;
        if (room < 4) return cursor - y;
        part.forEach((span, i) => {
          const last = i === part.length - 1;
          doc
            .font(FONT_FILES[fontOf(span)])
            .fontSize(span.mono ? sizes.mono : sizes.text)
            .fillColor(colorOf(span));
          const text = this.glyphSafe(span.text, fontOf(span));
          if (i === 0) doc.text(text, x, cursor, { width, lineGap: LINE_GAP, height: room, continued: !last });
          else doc.text(text, { continued: !last });
        });
        cursor = Math.max(doc.y, cursor);
      }
    }
    return cursor - y;
  }

  private drawSectionTitle(title: Bilingual, nextRowHeight: number): void {
    const doc = this.doc;
    this.ensureSpace(20 + nextRowHeight);
    doc.y += 4;
    this.font('bold', SIZE.section).text(biText(title), MARGIN.left, doc.y, { width: CONTENT_W, lineGap: LINE_GAP });
    const y = doc.y + 1;
    doc.moveTo(MARGIN.left, y).lineTo(PAGE_W - MARGIN.right, y).lineWidth(0.5).strokeColor(COLOR.faint).stroke();
    doc.y = y + 3;
  }

  /**
   * A value of several short lines (a time and its Kyiv time, an offset) on one line when it fits:
   * paper matters in a court file. Text from people keeps its own line breaks.
   */
  private compactRow(row: Row): Row {
    if (row.lines.length < 2 || row.lines.some((line) => line.some((s) => s.mono || s.untrusted))) return row;
    const joined: Line = row.lines.flatMap((line, i) => (i === 0 ? line : [{ text: ' · ', tone: 'muted' as const }, ...line]));
    const strong = joined.some((s) => s.strong);
    this.doc.font(FONT_FILES[strong ? 'bold' : 'sans']).fontSize(SIZE.body);
    return this.doc.widthOfString(joined.map((s) => s.text).join('')) <= VALUE_W ? { label: row.label, lines: [joined] } : row;
  }

  private drawSections(sections: Section[]): void {
    const doc = this.doc;
    const sizes = { text: SIZE.body, mono: SIZE.mono };
    for (const original of sections) {
      const section = { title: original.title, rows: original.rows.map((row) => this.compactRow(row)) };
      const heights = section.rows.map((row) => {
        this.font('sans', SIZE.label);
        const labelH = doc.heightOfString(biText(row.label), { width: LABEL_W, lineGap: LINE_GAP });
        return Math.max(labelH, this.measureLines(row.lines, VALUE_W, sizes)) + 1.8;
      });
      this.drawSectionTitle(section.title, heights[0] ?? 0);
      section.rows.forEach((row, i) => {
        const h = Math.min(heights[i], MAX_Y - PARTNER_TOP - 40);
        this.ensureSpace(h);
        const y = doc.y;
        this.font('sans', SIZE.label, COLOR.muted).text(biText(row.label), MARGIN.left, y, { width: LABEL_W, lineGap: LINE_GAP, height: h });
        this.drawLines(row.lines, VALUE_X, y, VALUE_W, sizes, h);
        doc.y = y + h;
      });
    }
  }

  private drawTableHead(): void {
    const doc = this.doc;
    const heads: [keyof typeof COLS, Bilingual][] = [
      ['leaf', LABELS.colLeaf],
      ['time', LABELS.colTime],
      ['action', LABELS.colAction],
      ['actor', LABELS.colActor],
      ['details', LABELS.colDetails],
      ['proof', LABELS.colProof],
    ];
    const y = doc.y;
    let bottom = y;
    for (const [col, label] of heads) {
      const c = COLS[col];
      this.font('bold', SIZE.table).text(label.uk, MARGIN.left + c.x, y, { width: c.w, lineGap: 0 });
      this.font('sans', SIZE.table, COLOR.muted).text(label.en, MARGIN.left + c.x, doc.y, { width: c.w, lineGap: 0 });
      bottom = Math.max(bottom, doc.y);
    }
    doc.moveTo(MARGIN.left, bottom + 2).lineTo(PAGE_W - MARGIN.right, bottom + 2).lineWidth(0.8).strokeColor('#333333').stroke();
    doc.y = bottom + 5;
  }

  private eventRow(ev: EventView): { cells: [keyof typeof COLS, Line[]][]; sub: Line[] } {
    const proof: Line = ev.included
      ? [{ text: `✓ ${LABELS.included.uk} / ${LABELS.included.en}`, tone: 'ok', strong: true }]
      : [{ text: `✗ ${LABELS.notIncluded.uk} / ${LABELS.notIncluded.en}`, tone: 'warn', strong: true }];
    return {
      cells: [
        ['leaf', [[{ text: ev.leafIndex, mono: true }]]],
        ['time', ev.time],
        ['action', ev.action],
        ['actor', ev.actor],
        ['details', ev.details],
        ['proof', [proof]],
      ],
      sub: [[{ text: `${biText(LABELS.leafHash)}: ${ev.leafHash} · ID: ${ev.actorId}`, mono: true, tone: 'muted' }]],
    };
  }

  private drawEvent(ev: EventView): void {
    const doc = this.doc;
    const sizes = { text: SIZE.table, mono: SIZE.tableMono };
    const row = this.eventRow(ev);
    const subX = MARGIN.left;
    const subW = CONTENT_W;
    const mainH = Math.max(...row.cells.map(([col, lines]) => this.measureLines(lines, COLS[col].w, sizes)));
    const subH = this.measureLines(row.sub, subW, sizes);
    const limit = MAX_Y - PARTNER_TOP - 60;
    const total = Math.min(mainH + subH + 6, limit);
    this.ensureSpace(total);
    const y = doc.y + 2;
    const main = Math.min(mainH, limit - subH - 6);
    for (const [col, lines] of row.cells) this.drawLines(lines, MARGIN.left + COLS[col].x, y, COLS[col].w, sizes, main);
    this.drawLines(row.sub, subX, y + main + 1, subW, sizes, subH);
    const end = y + main + subH + 3;
    doc.moveTo(MARGIN.left, end).lineTo(PAGE_W - MARGIN.right, end).lineWidth(0.4).strokeColor(COLOR.faint).stroke();
    doc.y = end + 1;
  }

  drawCover(): void {
    const doc = this.doc;
    this.continuation = null;
    this.newPage();
    this.font('bold', 16).text(LABELS.reportTitle.uk, MARGIN.left, doc.y, { width: CONTENT_W });
    this.font('sans', 12, COLOR.muted).text(LABELS.reportTitle.en, MARGIN.left, doc.y, { width: CONTENT_W });
    doc.y += 2;
    this.drawSections(headerSections(this.header, VIEW));
    const explain = proofExplanation(this.header.timestamp !== null);
    this.font('sans', SIZE.body);
    const ukH = doc.heightOfString(explain.uk, { width: CONTENT_W - 8, lineGap: LINE_GAP });
    this.drawSectionTitle(LABELS.whatProofsShow, ukH);
    const x = MARGIN.left + 8;
    const top = doc.y;
    this.font('sans', SIZE.body).text(explain.uk, x, doc.y, { width: CONTENT_W - 8, lineGap: LINE_GAP, height: MAX_Y - doc.y });
    doc.y += 3;
    this.font('sans', SIZE.body, COLOR.muted);
    this.ensureSpace(doc.heightOfString(explain.en, { width: CONTENT_W - 8, lineGap: LINE_GAP }));
    doc.text(explain.en, x, doc.y, { width: CONTENT_W - 8, lineGap: LINE_GAP, height: MAX_Y - doc.y });
    if (doc.y > top) doc.moveTo(MARGIN.left + 1, top).lineTo(MARGIN.left + 1, Math.min(doc.y, MAX_Y)).lineWidth(2).strokeColor(COLOR.rule).stroke();
  }

  async drawItem(item: ReportItem, index: number, breathe: () => Promise<void>): Promise<void> {
    const doc = this.doc;
    const heading = itemHeading(index, this.header.counts.evidence);
    this.continuation = null;
    this.newPage();
    this.continuation = {
      heading: `${heading.uk} (${LABELS.continued.uk}) / ${heading.en} (${LABELS.continued.en})`,
      evidenceId: this.glyphSafe(pdfText(item.evidenceId), 'mono'),
      table: false,
    };
    this.font('bold', 12.5).text(biText(heading), MARGIN.left, doc.y, { width: CONTENT_W });
    const title = item.title !== null ? this.glyphSafe(pdfText(item.title), 'bold') : biText(LABELS.untitled);
    this.font('bold', 10.5, item.title !== null ? COLOR.text : COLOR.muted).text(title, MARGIN.left, doc.y + 2, {
      width: CONTENT_W,
      lineGap: LINE_GAP,
      height: 120,
      ellipsis: true,
    });
    const idY = doc.y + 1;
    const idLabel = `${biText(LABELS.evidenceId)}: `;
    this.font('sans', SIZE.label, COLOR.muted).text(idLabel, MARGIN.left, idY, { lineBreak: false });
    const idX = MARGIN.left + doc.widthOfString(idLabel);
    this.font('mono', SIZE.mono).text(this.glyphSafe(pdfText(item.evidenceId), 'mono'), idX, idY + 0.5, { width: PAGE_W - MARGIN.right - idX, height: 30, lineGap: LINE_GAP });
    doc.y = Math.max(doc.y, idY + 10) + 4;
    this.drawSections(itemSections(item, this.header, VIEW));

    const eventsTitle = { uk: `${LABELS.events.uk} (${item.events.count})`, en: `${LABELS.events.en} (${item.events.count})` };
    this.drawSectionTitle(eventsTitle, 60);
    if (item.events.count === 0) {
      this.font('sans', SIZE.body, COLOR.muted).text(biText(LABELS.eventsNone), MARGIN.left, doc.y, { width: CONTENT_W });
      return;
    }
    this.drawTableHead();
    this.continuation.table = true;
    let n = 0;
    for await (const event of item.events.read()) {
      this.drawEvent(eventView(event, this.header, VIEW));
      if (++n % 64 === 0) await breathe();
      // An item read every day for years is thousands of rows of unique hashes and times.
      if (n % FORGET_LAYOUTS_EVERY_EVENTS === 0) forgetLayouts(doc);
    }
  }
}

/** Items, and events within an item, after which shaped words are forgotten (see forgetLayouts). */
const FORGET_LAYOUTS_EVERY = 16;
const FORGET_LAYOUTS_EVERY_EVENTS = 1024;

/**
 * pdfkit keeps every word it has shaped, per font, for the whole document: with a hash or a time
 * in every row that grows by megabytes per hundred items. Forgetting them now and then keeps
 * memory flat while labels, repeated on every page, stay cached most of the time.
 */
function forgetLayouts(doc: Doc): void {
  const families = (doc as unknown as { _fontFamilies?: Record<string, { layoutCache?: object }> })._fontFamilies;
  if (!families) return;
  for (const font of Object.values(families)) {
    if (font.layoutCache) font.layoutCache = Object.create(null);
  }
}

/**
 * A page pdfkit has written keeps its dictionaries alive only so that the page tree can name it
 * at the end, which needs the object number alone. Emptying them keeps a 100,000-page report
 * from holding every page's resources in memory.
 */
function releaseWrittenPage(page: unknown): void {
  const p = page as { dictionary?: { data: object; offset?: number }; resources?: { data: object; offset?: number }; content?: { data: object; offset?: number } } | null;
  for (const ref of [p?.dictionary, p?.resources, p?.content]) {
    if (ref && ref.offset !== undefined) ref.data = {};
  }
}

function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * pdfkit copies Title, Author and Subject into the XMP packet without escaping them; an
 * organisation called "Truth & Justice" would make the metadata ill-formed XML and the file no
 * PDF/A. The Info dictionary keeps the plain text; only the XMP copy is escaped.
 */
function escapeXmpInfo(doc: Doc): void {
  const target = doc as unknown as { _addInfo?: () => void; info: Record<string, unknown> };
  const original = target._addInfo;
  if (typeof original !== 'function') return;
  target._addInfo = function (this: typeof target) {
    const plain = this.info;
    const escaped: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(plain)) escaped[key] = typeof value === 'string' ? xmlEscape(value) : value;
    this.info = escaped;
    try {
      original.call(this);
    } finally {
      this.info = plain;
    }
  };
}

function createDocument(PDFDocument: typeof PDFKitDocument, header: ReportHeader): Doc {
  const created = new Date(header.baggingTime);
  if (Number.isNaN(created.getTime())) {
    throw new Error(`Report header baggingTime "${header.baggingTime}" is not an RFC 3339 time; the PDF's dates come from it.`);
  }
  const purpose = header.purpose === 'partner' ? 'partner working copy' : 'court package';
  const doc = new PDFDocument({
    size: [PAGE_W, PAGE_H],
    margins: { ...MARGIN, top: header.purpose === 'partner' ? PARTNER_TOP : MARGIN.top },
    autoFirstPage: false,
    pdfVersion: '1.7',
    subset: 'PDF/A-2b',
    lang: 'uk',
    displayTitle: true,
    font: FONT_FILES.sans,
    info: {
      Title: pdfText(`${biText(LABELS.reportTitle)} · ${header.exportId}`),
      Author: pdfText(header.organization),
      Subject: pdfText(`${header.caseTitle} · ${header.caseId} · ${purpose}`),
      Keywords: pdfText(`chain of custody; ${header.exportId}; ${header.caseId}`),
      Creator: 'Custodia',
      CreationDate: created,
    },
  });
  escapeXmpInfo(doc);
  return doc;
}

/**
 * Renders report.pdf (PDF/A-2b) into `out`, page by page: the first page for the package and its
 * proof, then a page per evidence item, with continuation pages where its events run over.
 * `out` is ended when the document is complete; the promise resolves when `out` has been handed
 * every byte (pdfkit's 'end'), and rejects on an error of the model, pdfkit or `out` (then `out`
 * is left unended for the caller to discard).
 */
export async function renderReportPdf(model: ReportModel, out: NodeJS.WritableStream): Promise<void> {
  // Loaded on the first report, not at every start of the API (pdfkit and its fonts' code take ~0.2 s).
  const { default: PDFDocument } = await import('pdfkit');
  return new Promise<void>((resolve, reject) => {
    let doc: Doc;
    try {
      doc = createDocument(PDFDocument, model.header);
    } catch (err) {
      reject(err);
      return;
    }
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      out.removeListener('error', finish);
      if (err === undefined) {
        resolve();
        return;
      }
      doc.unpipe(out);
      doc.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    out.on('error', finish);
    doc.on('error', finish);
    doc.on('end', () => finish());
    doc.pipe(out);

    /** Lets the sink drain when pdfkit has run ahead of it (pdfkit itself ignores backpressure). */
    const breathe = async () => {
      await new Promise<void>((r) => setImmediate(r));
      while (!settled && doc.readableLength > HIGH_WATER) await new Promise<void>((r) => setTimeout(r, 5));
    };

    void (async () => {
      const report = new ReportPdf(doc, model.header);
      report.drawCover();
      let index = 0;
      for await (const item of model.items()) {
        if (settled) return;
        await report.drawItem(item, ++index, breathe);
        if (index % FORGET_LAYOUTS_EVERY === 0) forgetLayouts(doc);
        await breathe();
      }
      if (!settled) doc.end();
    })().catch(finish);
  });
}

