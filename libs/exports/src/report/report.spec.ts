import { Writable } from 'node:stream';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ACTION_LABELS, labelFor, renderReportHtml, renderReportPdf, type ReportEvent, type ReportModel } from './index.js';
import { formatBytes, formatInstant } from './format.js';
import {
  HOSTILE,
  IDS,
  generatedModel,
  header,
  hostileItem,
  listed,
  manyEvents,
  model,
  ordinaryItem,
  partnerItem,
} from './test-support/sample-model.js';

/** The three items of the brief, each small enough for one page. */
const threeItems = () => {
  const first = ordinaryItem();
  first.events = listed([...(first.events.read() as Iterable<ReportEvent>)].slice(0, 4));
  return [first, hostileItem(), partnerItem()];
};
const courtModel = () => model(header({ timestamp: true }), threeItems);
const partnerModel = () => model(header({ timestamp: false, purpose: 'partner', hostile: true }), threeItems);

async function html(m: ReportModel): Promise<{ text: string; chunks: string[] }> {
  const chunks: string[] = [];
  await renderReportHtml(m, async (chunk) => {
    await Promise.resolve();
    chunks.push(chunk);
  });
  return { text: chunks.join(''), chunks };
}

async function pdf(m: ReportModel): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  await renderReportPdf(m, sink);
  return Buffer.concat(parts);
}

/** Page objects (not the /Pages tree node). pdfkit writes dictionaries uncompressed. */
const pageCount = (bytes: Buffer) => (bytes.toString('latin1').match(/\/Type \/Page(?!s)/g) ?? []).length;

/** Every glyph id drawn by a TJ operator in the page content streams. */
function drawnGlyphIds(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  const ids: string[] = [];
  for (const m of text.matchAll(/\/Length (\d+)\n\/Filter \/FlateDecode\n>>\nstream\n/g)) {
    const start = m.index + m[0].length;
    let content: string;
    try {
      content = inflateSync(bytes.subarray(start, start + Number(m[1]))).toString('latin1');
    } catch {
      continue;
    }
    for (const tj of content.matchAll(/\[([^\]]*)\] TJ/g)) {
      for (const hex of tj[1].matchAll(/<([0-9a-f]+)>/g)) ids.push(...(hex[1].match(/.{4}/g) ?? []));
    }
  }
  return ids;
}

const VOID = new Set(['meta', 'br', 'col', 'img', 'hr', 'link', 'input', 'wbr']);

/** Every element closed in order: enough to know no value broke out of its element. */
function assertBalanced(text: string): void {
  const stack: string[] = [];
  const body = text.replace(/<style>[\s\S]*?<\/style>/, '<style></style>').replace(/^<!DOCTYPE html>/, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z0-9]+)[^>]*>/g)) {
    const [, closing, rawName] = m;
    const name = rawName.toLowerCase();
    if (VOID.has(name)) continue;
    if (!closing) stack.push(name);
    else expect(stack.pop(), `closing </${name}>`).toBe(name);
  }
  expect(stack).toEqual([]);
}

describe('labels', () => {
  it('name every custody action of the closed vocabulary in both languages', () => {
    const actions =
      'evidence.submitted evidence.metadata_extracted evidence.derivative_created evidence.viewed evidence.downloaded evidence.annotated evidence.linked evidence.status_changed evidence.verified evidence.exported evidence.redacted case.created case.member_added case.member_removed incident.created incident.updated casualty.recorded casualty.updated damage.recorded damage.updated export.created export.downloaded key.rotated user.created user.updated user.disabled user.password_set tokens.revoked evidence.unlinked evidence.fixity_checked evidence.fixity_failed remnant.recorded remnant.updated remnant.transferred tokens.created'.split(
        ' ',
      );
    for (const action of actions) {
      const label = labelFor(ACTION_LABELS, action);
      expect(label?.uk, action).toMatch(/[а-яіїєґ]/i);
      expect(label?.en, action).toMatch(/[a-z]/i);
    }
    expect(labelFor(ACTION_LABELS, 'evidence.submitted')).toEqual({ uk: 'Подано', en: 'Submitted' });
    expect(labelFor(ACTION_LABELS, 'constructor')).toBeUndefined();
    expect(labelFor(ACTION_LABELS, '__proto__')).toBeUndefined();
  });

  it('format times in UTC with Kyiv beside, and sizes exactly', () => {
    expect(formatInstant('2026-11-24T21:04:05.123Z')).toEqual({ utc: '2026-11-24 21:04:05.123 UTC', kyiv: '2026-11-24 23:04:05 UTC+02:00' });
    expect(formatInstant('2026-07-01T00:00:00Z')?.kyiv).toBe('2026-07-01 03:00:00 UTC+03:00');
    expect(formatInstant('2008-05-30T15:56:01')).toBeNull();
    expect(formatBytes(4_823_117)).toBe('4\u00a0823\u00a0117 байтів / bytes (4.60\u00a0MiB)');
    expect(formatBytes(2)).toBe('2 байти / bytes');
  });
});

describe('report.html', () => {
  it('is one self-contained, balanced page with a section per item', async () => {
    const { text } = await html(courtModel());
    expect(text.startsWith('<!DOCTYPE html>\n<html lang="uk">')).toBe(true);
    expect(text.trimEnd().endsWith('</html>')).toBe(true);
    for (const id of [IDS.item1, IDS.item2, IDS.item3]) expect(text).toContain(`<section class="item" id="item-${id}">`);
    assertBalanced(text);
    expect(text).toMatch(/@media print\{[\s\S]*section\.item\{break-before:page;page-break-before:always/);
    expect(text).toContain('lang="en"');
    for (const uk of ['Отримано', 'Подано', 'Підписана вершина дерева журналу', 'Київ', 'Хеш пристрою', 'verify_proofs.py', 'README.txt', 'custodia verify']) {
      expect(text).toContain(uk);
    }
    expect(text).toContain('Позначка часу RFC 3161');
    expect(text).toContain('CN=Test TSA');
  });

  it("shows what a document says of itself: its pages, title, author, last saver, program and dates, as text", async () => {
    const statement = ordinaryItem();
    statement.extracted = {
      ...statement.extracted!,
      document: { pages: 2, title: 'Свідчення щодо удару', author: 'Олена Коваль', lastModifiedBy: 'Слідчий Петренко', creator: 'Microsoft Office Word', createdAt: '2024-02-24T07:15:00.000Z', createdAtOffset: '+00:00', modifiedAt: '2024-02-25T11:30:00.500', modifiedAtOffset: null },
    };
    const { text } = await html(model(header({ timestamp: true }), () => [statement]));
    const plain = text.replace(/<[^>]+>/g, '');
    for (const shown of ['Сторінок, за документом', 'Pages, as the document says', 'Свідчення щодо удару', 'Олена Коваль', 'Востаннє зберіг, у документі', 'Слідчий Петренко', 'Microsoft Office Word', '2024-02-24 07:15:00 UTC', '2024-02-25T11:30:00.500']) {
      expect(plain).toContain(shown);
    }
    // A partner copy's model holds no author, last saver or program (redact.ts): none is shown.
    statement.extracted.document = { ...statement.extracted.document!, author: null, lastModifiedBy: null, creator: null };
    const partner = (await html(model(header({ timestamp: false, purpose: 'partner' }), () => [statement]))).text;
    expect(partner).not.toContain('Олена Коваль');
    expect(partner).not.toContain('Written with');
    expect(partner).not.toContain('Last saved by');
  });

  it("names an e-mail's facts as a message's: subject, sender, mailer, when it was sent", async () => {
    const tip = ordinaryItem();
    tip.mediaType = 'message/rfc822';
    tip.extracted = { ...tip.extracted!, document: { pages: null, title: 'Фото уламків', author: 'Олена Коваль <olena@example.org>', creator: 'Mozilla Thunderbird 128.4.0', createdAt: '2025-11-04T01:12:07.000Z', createdAtOffset: '+02:00', modifiedAt: null, modifiedAtOffset: null } };
    const plain = (await html(model(header({ timestamp: true }), () => [tip]))).text.replace(/<[^>]+>/g, '');
    for (const shown of ['Тема, у листі', 'Subject, in the message', 'Відправник, у листі', 'Sender, in the message', 'Sent with', 'Sent, as the message says']) expect(plain).toContain(shown);
    expect(plain).not.toContain('Author, in the document');
  });

  it("lists an e-mail's recipients and each file it carries with its SHA-256; a partner copy names neither recipients nor files", async () => {
    const tip = ordinaryItem();
    tip.mediaType = 'message/rfc822';
    const attachments = [
      { name: 'IMG_4512.jpg', mediaType: 'image/jpeg', sizeBytes: 715, sha256: '6019d3e3f1d25785683f54b6af5ef557141a5fe5074a78e2ad8213f6f9eb1fc5', inline: true },
      { name: 'акт огляду.pdf', mediaType: 'application/pdf', sizeBytes: 474, sha256: '7cbcaf6dcf1fb3634b5743bb99034774473dc70d6e42b5e6371b71ad04892ce8', inline: false },
    ];
    const document = { pages: null, title: 'Fwd: Фото', author: 'Ірина Бондар <iryna@example.net>', creator: null, createdAt: null, createdAtOffset: null, modifiedAt: null, modifiedAtOffset: null };
    tip.extracted = { ...tip.extracted!, document: { ...document, recipients: { to: ['Марко Ткач <marko@example.org>'], cc: [], bcc: ['archive@example.net'] }, attachments } };
    const plain = (await html(model(header({ timestamp: true }), () => [tip]))).text.replace(/<[^>]+>/g, '');
    for (const shown of ['Recipients, in the message', 'To: Марко Ткач &lt;marko@example.org&gt;', 'Bcc: archive@example.net', 'Files in the message', 'IMG_4512.jpg', 'shown in the message text', 'акт огляду.pdf', attachments[0]!.sha256, attachments[1]!.sha256]) {
      expect(plain).toContain(shown);
    }
    tip.extracted.document = { ...document, recipients: null, attachments: attachments.map((file) => ({ ...file, name: null })) };
    const partner = (await html(model(header({ timestamp: false, purpose: 'partner' }), () => [tip]))).text.replace(/<[^>]+>/g, '');
    expect(partner).not.toContain('Recipients, in the message');
    expect(partner).not.toContain('marko@example.org');
    expect(partner).not.toContain('IMG_4512');
    expect(partner).toContain(attachments[0]!.sha256);
  });

  it("lists the files a ZIP archive holds as an archive's: path, size, time of last change, SHA-256", async () => {
    const zip = ordinaryItem();
    zip.mediaType = 'application/zip';
    const file = { name: 'DCIM/Camera/IMG_20251104_030507.jpg', mediaType: null, sizeBytes: 715, sha256: '6019d3e3f1d25785683f54b6af5ef557141a5fe5074a78e2ad8213f6f9eb1fc5', inline: false, modifiedAt: '2025-11-04T03:05:07Z' };
    zip.extracted = { ...zip.extracted!, document: { pages: null, title: null, author: null, creator: null, createdAt: null, createdAtOffset: null, modifiedAt: null, modifiedAtOffset: null, attachments: [file] } };
    const plain = (await html(model(header({ timestamp: true }), () => [zip]))).text.replace(/<[^>]+>/g, '');
    for (const shown of ['Файли в архіві', 'Files in the archive', 'DCIM/Camera/IMG_20251104_030507.jpg (715 байтів / bytes, 2025-11-04T03:05:07Z)', file.sha256]) expect(plain).toContain(shown);
    expect(plain).not.toContain('Files in the message');
    zip.mediaType = 'application/mbox';
    zip.extracted.document!.attachments = [{ name: 'Свідчення.eml', mediaType: 'message/rfc822', sizeBytes: 2168, sha256: file.sha256, inline: false, from: 'Олена Коваль <olena@example.org>', sentAt: '2025-11-04T01:12:07.000Z' }];
    const mailbox = (await html(model(header({ timestamp: true }), () => [zip]))).text.replace(/<[^>]+>/g, '');
    for (const shown of ['Messages in the mailbox', 'Свідчення.eml (message/rfc822, 2', 'KiB), Олена Коваль &lt;olena@example.org&gt;, 2025-11-04T01:12:07.000Z)']) expect(mailbox).toContain(shown);
  });

  it("shows a saved web page's address as text, never as a link; a partner copy has none", async () => {
    const page = ordinaryItem();
    const address = 'http://news.example.org/2025/11/04/saltivka.html?from=feed';
    page.extracted = { ...page.extracted!, document: { pages: null, title: 'Нічна атака', author: null, savedFrom: address, creator: 'Saved by Blink', createdAt: '2026-12-07T21:26:29.000Z', createdAtOffset: '+00:00', modifiedAt: null, modifiedAtOffset: null } };
    const { text } = await html(model(header({ timestamp: true }), () => [page]));
    expect(text.replace(/<[^>]+>/g, '')).toContain('Saved from the page at');
    expect(text).toContain('news.example.org/2025/11/04/saltivka.html');
    expect(text).not.toContain('href="http://news.example.org');
    page.extracted.document = { ...page.extracted.document!, savedFrom: null };
    expect((await html(model(header({ timestamp: false, purpose: 'partner' }), () => [page]))).text).not.toContain('Saved from the page at');
  });

  it('never lets a value out as markup, script or a request elsewhere', async () => {
    for (const m of [courtModel(), partnerModel()]) {
      const { text } = await html(m);
      assertBalanced(text);
      expect(text).not.toMatch(/<script/i);
      expect(text).not.toMatch(/<img/i);
      expect(text).not.toMatch(/<(link|iframe|object|embed|base|form|a)\b/i);
      // Inside tags (attributes) nothing points anywhere; in text a URL is just words.
      for (const tag of text.match(/<[^>]*>/g) ?? []) {
        expect(tag).not.toMatch(/https?:|\/\/|\bon[a-z]+=|javascript:/i);
      }
      const style = text.match(/<style>([\s\S]*?)<\/style>/)![1];
      expect(style).not.toMatch(/url\(|@import|@font-face/i);
      // Hostile strings: escaped, and their hidden characters shown rather than obeyed.
      expect(text).not.toContain(HOSTILE.script);
      expect(text).not.toContain(HOSTILE.img);
      expect(text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
      expect(text).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
      expect(text).toContain('Tom &amp; Jerry &amp;amp; &quot;quotes&quot; &#39;single&#39;');
      expect(text).not.toContain('\u202E');
      expect(text).not.toContain('\u0000');
      expect(text).toContain('invoice[U+202E]gpj.exe');
      expect(text).toContain('nul[U+0000]byte');
      // Unknown codes are shown as they are, not looked up on Object.prototype.
      expect(text).toContain('>constructor<');
      expect(text).not.toContain('function Object');
    }
  });

  it('says on every item of a partner copy that it is a working copy, and names nobody', async () => {
    const { text } = await html(partnerModel());
    const banners = text.match(/<div class="banner" role="note">/g) ?? [];
    expect(banners.length).toBe(1 + 3);
    expect(text).toContain('ПАРТНЕРА');
    expect(text).not.toContain('Петро Шевчук');
    expect(text).toContain('49.99, 36.23');
    expect(text).not.toContain('49.993512');
    expect(text).toContain('Не створено');
  });

  it('shows a partner no file name and no device, even where the model carries them', async () => {
    const items = () => {
      const item = ordinaryItem();
      item.packedPath = `data/evidence/${item.evidenceId}/preview.jpg`;
      item.packedKind = 'preview';
      return [item];
    };
    const { text } = await html(model(header({ timestamp: false, purpose: 'partner', evidence: 1 }), items));
    for (const value of ['IMG_2041', 'Samsung', 'SM-A546B', 'A546BXXU5CXK1']) expect(text).not.toContain(value);
    expect(text).toContain('withheld from a working copy');
    // A court package shows them as received.
    const court = (await html(model(header({ timestamp: false, evidence: 1 }), items))).text;
    for (const value of ['IMG_2041.jpg', 'Samsung SM-A546B', 'A546BXXU5CXK1']) expect(court).toContain(value);
    expect(court).not.toContain('withheld from a working copy');
  });

  it('counts the events a partner copy leaves out, and says nothing of them when none were', async () => {
    const { text } = await html(model(header({ timestamp: false, purpose: 'partner', eventsWithheld: 2 }), threeItems));
    expect(text).toContain('Custody events left out (they name a holder or the device a file came from, or carry a free-text reason)');
    expect(text).toMatch(/left out \(they name a holder or the device a file came from, or carry a free-text reason\)<\/span>\s*(<[^>]+>\s*)*: 2</);
    expect((await html(courtModel())).text).not.toContain('left out');
    const naming = (await html(model(header({ timestamp: false, purpose: 'partner', eventsNamingWithheld: 3 }), threeItems))).text;
    expect(naming).toMatch(/left out \(they hold the hash of a whole incident, damage or remnant record\)<\/span>\s*(<[^>]+>\s*)*: 3</);
    expect(naming).not.toContain('free-text reason');
  });

  it('streams: many chunks of bounded size, never the whole document at once', async () => {
    const { text, chunks } = await html(generatedModel(400, 5));
    expect(chunks.length).toBeGreaterThan(20);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(200_000);
    expect(text.match(/<section class="item"/g)?.length).toBe(400);
  });
});

describe('report.pdf', () => {
  it('is a PDF/A-2b file with embedded DejaVu fonts and a page per item after the first', async () => {
    const bytes = await pdf(courtModel());
    const text = bytes.toString('latin1');
    expect(text.startsWith('%PDF-1.7')).toBe(true);
    expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
    expect(pageCount(bytes)).toBe(1 + 3);
    const xmp = text.slice(text.indexOf('<x:xmpmeta'), text.indexOf('</x:xmpmeta>'));
    expect(xmp).toContain('<pdfaid:part>2</pdfaid:part>');
    expect(xmp).toContain('<pdfaid:conformance>B</pdfaid:conformance>');
    expect(xmp).toContain('<xmp:CreateDate>2026-11-25T09:30:00Z</xmp:CreateDate>');
    expect(text).toContain('/OutputIntents');
    expect(text.match(/\/FontFile2/g)?.length).toBe(3);
    expect(text).toMatch(/\/BaseFont \/[A-Z]{6}\+DejaVuSans\b/);
    expect(text).toMatch(/\/BaseFont \/[A-Z]{6}\+DejaVuSansMono\b/);
    expect(text).not.toMatch(/\/BaseFont \/(Helvetica|Times|Courier)/);
    expect(text).toMatch(/\/CreationDate \d+ 0 R/);
    expect(text).toContain('(D:20261125093000Z)');
    expect(text).not.toMatch(/\/(JavaScript|JS|Encrypt)\b/);
  });

  it('depends only on the model: the same model gives the same bytes', async () => {
    const a = await pdf(courtModel());
    const b = await pdf(courtModel());
    const withoutId = (buf: Buffer) => buf.toString('latin1').replace(/\/ID \[[^\]]*\]/, '');
    expect(withoutId(a)).toBe(withoutId(b));
    expect(a.equals(b)).toBe(true);
  });

  it('keeps hostile text inert: well-formed XMP, no crash on glyphs the font lacks', async () => {
    const m = partnerModel();
    const bytes = await pdf(
      model(m.header, () => {
        const items = threeItems();
        items[1].title = `証拠 📷 ${HOSTILE.bidi} \ud800 ${HOSTILE.nul} ꙮ 𓀀`;
        return items;
      }),
    );
    const text = bytes.toString('latin1');
    expect(pageCount(bytes)).toBeGreaterThanOrEqual(4);
    // PDF/A forbids drawing .notdef (glyph 0): missing characters are written as [U+XXXX] instead.
    const glyphs = drawnGlyphIds(bytes);
    expect(glyphs.length).toBeGreaterThan(1000);
    expect(glyphs).not.toContain('0000');
    const xmp = text.slice(text.indexOf('<x:xmpmeta'), text.indexOf('</x:xmpmeta>'));
    // "Truth & Justice <script>" must reach the XMP escaped, or the metadata is no XML.
    expect(xmp).not.toContain('<script');
    expect(xmp.match(/&(?!#\d+;|[a-z]+;)/g)).toBeNull();
    expect(xmp).toContain('Truth &#38; Justice &#60;script&#62;');
  });

  it('continues an item over as many pages as its events need', async () => {
    const item = ordinaryItem();
    const long = manyEvents('long', 400);
    long[7]!.reason = 'дуже довга причина '.repeat(400);
    item.events = listed(long);
    const bytes = await pdf(model(header({ timestamp: true, evidence: 1 }), () => [item]));
    const pages = pageCount(bytes);
    expect(pages).toBeGreaterThan(1 + 15);
    expect(pages).toBeLessThan(1 + 60);
  });

  it('keeps memory bounded through one item of 30,000 events (an item read every day for years)', async () => {
    const item = ordinaryItem();
    const count = 30_000;
    let peak = 0;
    const before = process.memoryUsage().heapUsed;
    item.events = {
      count,
      read: async function* () {
        for (let i = 0; i < count; i += 100) {
          peak = Math.max(peak, process.memoryUsage().heapUsed - before);
          yield* manyEvents(`many-${i}`, 100);
        }
      },
    };
    const bytes = await pdf(model(header({ timestamp: true, evidence: 1 }), () => [item]));
    expect(pageCount(bytes)).toBeGreaterThan(1 + 500);
    // Without forgetting pdfkit's shaped words within an item it grew by 423 MiB; 126 with (the
    // collector's slack included: no --expose-gc here).
    console.log(`report.pdf, one item of ${count} events: heap growth at most ${(peak / 1048576).toFixed(0)} MiB`);
    expect(peak).toBeLessThan(256 * 1048576);
  }, 120_000);

  it('rejects when the items fail or the sink fails', async () => {
    const failing: ReportModel = {
      header: header({ timestamp: true }),
      items: () =>
        (async function* () {
          yield ordinaryItem();
          throw new Error('database went away');
        })(),
    };
    await expect(pdf(failing)).rejects.toThrow('database went away');
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('disk full'));
      },
    });
    await expect(renderReportPdf(courtModel(), broken)).rejects.toThrow('disk full');
    await expect(renderReportPdf(model({ ...header({ timestamp: true }), baggingTime: 'soon' }, threeItems), new Writable())).rejects.toThrow(/baggingTime/);
  });

  it('waits for a slow sink instead of buffering the document', async () => {
    let received = 0;
    let calls = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        calls++;
        setTimeout(cb, calls % 50 === 0 ? 1 : 0);
      },
    });
    await renderReportPdf(generatedModel(60, 5), slow);
    expect(received).toBeGreaterThan(100_000);
  });

  it(
    'renders 3,000 items with flat memory (prints pages per second)',
    async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      let bytes = 0;
      let pages = 0;
      let tail = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          const text = tail + chunk.toString('latin1');
          pages += (text.match(/\/Type \/Page(?!s)/g) ?? []).length;
          tail = text.slice(-16).replace(/^[\s\S]*\/Type \/Page(?!s)/, '');
          cb();
        },
      });
      const m = generatedModel(3000, 5);
      const inner = m.items;
      let peak = 0;
      gc?.();
      const before = process.memoryUsage().heapUsed;
      m.items = () =>
        (async function* () {
          let i = 0;
          for await (const item of inner()) {
            if (++i % 500 === 0) {
              gc?.();
              peak = Math.max(peak, process.memoryUsage().heapUsed - before);
            }
            yield item;
          }
        })();
      const started = performance.now();
      await renderReportPdf(m, sink);
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `report.pdf: 3000 items, ${pages} pages, ${(bytes / 1048576).toFixed(1)} MiB in ${seconds.toFixed(1)} s = ` +
          `${(pages / seconds).toFixed(0)} pages/s, ${(3000 / seconds).toFixed(0)} items/s; ` +
          (gc ? `heap growth while rendering at most ${(peak / 1048576).toFixed(1)} MiB` : 'heap not measured (run node with --expose-gc)'),
      );
      expect(pages).toBeGreaterThanOrEqual(3001);
      if (gc) expect(peak).toBeLessThan(64 * 1048576);
    },
    300_000,
  );
});
