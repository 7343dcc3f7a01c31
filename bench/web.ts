/// <reference lib="dom" />
/**
 * The web console's figures (issue 13), in a real Chromium (test/support/browser.ts) against the
 * archive with its built bundle:
 *  - JavaScript shipped on first load: every script the sign-in page loads, gzipped (-9), summed;
 *  - time to interactive of the evidence grid with 10,000 items: from navigation to the case's
 *    grid until its first page is drawn and the main thread idle (a 50 ms task-free window); then
 *    until every thumbnail in view is shown (each is a logged read: a custody event); and the time
 *    to page through all 10,000 by scrolling to the end, with the number of cells in the DOM at
 *    the end (virtualised: bounded, not 10,000);
 *  - the in-browser verification time of one receipt (Web Crypto: Ed25519 head signature,
 *    inclusion proof, consistency proof to the latest head), as the console measures it.
 * The 9,999 extra items are copies of one real photo's row made in SQL (the listing reads rows;
 * each keeps the photo's thumbnail). Rounds alternate and medians are printed: the machine is noisy.
 * Usage: npm run bench:web [-- --items 10000 --rounds 5]
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { startBrowser } from '../test/support/browser.js';
import { benchApp, fmt, upload } from './support.js';

const { values } = parseArgs({ options: { items: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' } } });
const ITEMS = Number(values.items);
const ROUNDS = Number(values.rounds);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const app = await benchApp('web');
const browser = await startBrowser({ locale: 'en-GB' });
try {
  // One real photo (thumbnail made by the archive), then its row copied in SQL.
  const photo = path.join(ROOT, 'test/fixtures/media/exif-ne-offset.jpg');
  const id = await upload(app, photo, 'image/jpeg');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const item = await fetch(`${app.url}/api/v1/evidence/${id}`, { headers: { Authorization: `Bearer ${app.token}` } }).then((r) => r.json() as Promise<{ derivatives: { thumbnail: string | null } }>);
    if (item.derivatives.thumbnail) break;
    if (Date.now() > deadline) throw new Error('no thumbnail after 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const db = new pg.Client({ connectionString: app.databaseUrl });
  await db.connect();
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_name = 'evidence_items' AND is_generated = 'NEVER' AND column_name NOT IN ('id', 'client_submission_id', 'received_at')`,
  );
  const copied = rows.map((r) => r.column_name).filter((c) => c !== 'perceptual_hash');
  const columns = copied.map((c) => `"${c}"`).join(', ');
  const t0 = performance.now();
  await db.query(
    // Each copy gets a perceptual hash of its own: one hash shared by 10,000 items would make each
    // the near duplicate of all the others, which no real case is.
    `INSERT INTO evidence_items (received_at, perceptual_hash, ${columns}) SELECT e.received_at - g * interval '1 second', (random() * 9.2e18 - 4.6e18)::bigint, ${copied.map((c) => `e."${c}"`).join(', ')}
       FROM evidence_items e, generate_series(1, $2::int) g WHERE e.id = $1`,
    [id, ITEMS - 1],
  );
  await db.query('ANALYZE evidence_items');
  await db.end();
  process.stdout.write(`inserted ${ITEMS - 1} copies in ${fmt((performance.now() - t0) / 1000)} s\n`);
  // The API alone: the listing's first page (200 items), as the grid asks for it.
  const listing: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await fetch(`${app.url}/api/v1/cases/${app.caseId}/evidence?limit=200`, { headers: { Authorization: `Bearer ${app.token}` } }).then((r) => r.json());
    listing.push(performance.now() - started);
  }

  const page = await browser.page();
  // First load: the sign-in page, every script it fetched.
  const scripts: string[] = [];
  page.on('response', (res) => {
    if (res.request().resourceType() === 'script') scripts.push(new URL(res.url()).pathname);
  });
  await page.goto(`${app.url}/`);
  await page.locator('input[type=email]').waitFor();
  let jsGzip = 0;
  let jsRaw = 0;
  for (const script of new Set(scripts)) {
    const bytes = await readFile(path.join(ROOT, 'dist/apps/web', script));
    jsRaw += bytes.length;
    jsGzip += gzipSync(bytes, { level: 9 }).length;
  }
  await page.locator('input[type=email]').fill('bench@custodia.test');
  await page.locator('input[type=password]').fill('bench password 123');
  await page.locator('form button[type=submit]').click();
  await page.locator('header.top').waitFor();

  const tti: number[] = [];
  const thumbs: number[] = [];
  const all: number[] = [];
  const verify: number[] = [];
  let domCells = 0;
  let verified = true;
  const receipt = await fetch(`${app.url}/api/v1/evidence/${id}/custody`, { headers: { Authorization: `Bearer ${app.token}` } }).then(
    (r) => r.json() as Promise<{ events: { event: { action: string }; leafIndex: number; leafHash: string }[]; treeHead: unknown; proofs: Record<string, string[]> }>,
  );
  const submitted = receipt.events.find((e) => e.event.action === 'evidence.submitted')!;
  const receiptFile = path.join(os.tmpdir(), `custodia-bench-receipt-${process.pid}.json`);
  await writeFile(receiptFile, JSON.stringify({ event: submitted.event, leafHash: submitted.leafHash, leafIndex: submitted.leafIndex, treeHead: receipt.treeHead, inclusionProof: receipt.proofs[String(submitted.leafIndex)] }));

  for (let round = 0; round < ROUNDS; round++) {
    const grid = await gridInteractive(page);
    tti.push(grid.interactive);
    thumbs.push(grid.thumbnails);
    const paged = await pageThrough(page);
    all.push(paged.ms);
    domCells = paged.cells;
    const v = await verifyReceipt(page, receiptFile);
    verify.push(v.ms);
    verified &&= v.valid;
  }
  process.stdout.write(
    [
      `JavaScript on first load (sign-in page): ${new Set(scripts).size} scripts, ${fmt(jsGzip / 1024, 1)} KiB gzipped (${fmt(jsRaw / 1024, 1)} KiB raw)`,
      `the API's listing of 200 of them (GET /cases/:id/evidence?limit=200, no browser): median ${fmt(median(listing), 0)} ms`,
      `evidence grid with ${ITEMS} items, time to interactive: median ${fmt(median(tti), 0)} ms (rounds: ${tti.map((x) => fmt(x, 0)).join(', ')})`,
      `  every thumbnail in view shown (one logged read each): median ${fmt(median(thumbs), 0)} ms (rounds: ${thumbs.map((x) => fmt(x, 0)).join(', ')})`,
      `  all ${ITEMS} items paged in by scrolling: median ${fmt(median(all) / 1000, 1)} s; cells in the DOM at the end: ${domCells}`,
      `one receipt verified in the browser (Ed25519 + inclusion + consistency, incl. fetching keys and the proof): median ${fmt(median(verify), 0)} ms (${verified ? 'verified' : 'FAILED'}; rounds: ${verify.join(', ')})`,
    ].join('\n') + '\n',
  );
} finally {
  await browser.close();
  await app.close();
}

/** Navigation to the grid until it is drawn and the main thread idle; then until every thumbnail in view is shown. */
async function gridInteractive(page: Page): Promise<{ interactive: number; thumbnails: number }> {
  await page.goto('about:blank');
  const started = Date.now();
  await page.goto(`${app.url}/cases/${app.caseId}`);
  await page.locator('.cell').first().waitFor();
  // Interactive: a 50 ms window with no long task on the main thread.
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        let last = performance.now();
        new PerformanceObserver((list) => list.getEntries().forEach(() => (last = performance.now()))).observe({ type: 'longtask' as never });
        const check = () => (performance.now() - last >= 50 ? resolve() : setTimeout(check, 10));
        setTimeout(check, 50);
      }),
  );
  const interactive = Date.now() - started - 50;
  await page.waitForFunction(() => {
    const box = document.querySelector('.grid-scroll')!.getBoundingClientRect();
    const cells = [...document.querySelectorAll('.cell')].filter((c) => c.getBoundingClientRect().top < box.bottom);
    return cells.length > 0 && cells.every((c) => {
      const img = c.querySelector('img');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
  }, undefined, { timeout: 120_000 });
  return { interactive, thumbnails: Date.now() - started };
}

async function pageThrough(page: Page): Promise<{ ms: number; cells: number }> {
  const started = Date.now();
  await page.waitForFunction(
    (items) => {
      const box = document.querySelector<HTMLElement>('.grid-scroll')!;
      box.scrollTop = box.scrollHeight;
      return Number(box.dataset['total']) >= items;
    },
    ITEMS,
    { polling: 50, timeout: 600_000 },
  );
  const ms = Date.now() - started;
  return { ms, cells: await page.locator('.cell').count() };
}

async function verifyReceipt(page: Page, file: string): Promise<{ ms: number; valid: boolean }> {
  await page.goto(`${app.url}/evidence/${(JSON.parse(await readFile(file, 'utf8')) as { event: { subject: { id: string } } }).event.subject.id}`);
  await page.locator('.verify input[type=file]').setInputFiles(file);
  const verdict = page.locator('.verify [data-verdict]').last();
  await verdict.waitFor();
  return { ms: Number(await verdict.getAttribute('data-ms')), valid: (await verdict.getAttribute('data-verdict')) === 'verified' };
}
