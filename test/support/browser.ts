/// <reference lib="dom" />
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * A real Chromium for the console's tests, driven by playwright-core. Which one: CUSTODIA_CHROMIUM
 * when set; else the build that the npm package @sparticuz/chromium ships inside itself (no
 * download at install: `npm install` brings it, unpacked to the temporary folder on first use);
 * else Debian's /usr/bin/chromium. None found fails the test with one line saying how to get one.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function chromiumExecutable(): Promise<string> {
  const configured = process.env['CUSTODIA_CHROMIUM'];
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CUSTODIA_CHROMIUM=${configured} does not exist: point it at a Chromium binary, or unset it to use @sparticuz/chromium`);
    return configured;
  }
  // @sparticuz/chromium unpacks into the temporary folder under fixed names (/tmp/chromium and its
  // libraries): in a folder of this user's own, so another user's copy (not ours to run, or to
  // trust) is never picked up. Its libraries' path is taken when the module loads.
  const own = path.join(os.tmpdir(), `custodia-chromium-${process.getuid?.() ?? 'user'}`);
  const saved = process.env['TMPDIR'];
  try {
    await mkdir(own, { recursive: true, mode: 0o700 });
    const folder = await lstat(own);
    if (!folder.isDirectory() || (process.getuid && folder.uid !== process.getuid())) throw new Error(`${own} is not this user's folder`);
    process.env['TMPDIR'] = own;
    const sparticuz = (await import('@sparticuz/chromium')).default;
    return await sparticuz.executablePath();
  } catch {
    // Not installed or not unpackable here: try the system's.
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(candidate)) return candidate;
  throw new Error('No Chromium for the browser tests: run `npm install` (it brings @sparticuz/chromium), or `apt-get install -y chromium`, or set CUSTODIA_CHROMIUM to a Chromium binary');
}

/** The console's bundle, built unless it is up to date (apps/web/build.mjs compares a stamp). */
export async function buildWebConsole(): Promise<void> {
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'apps/web/build.mjs')], { cwd: ROOT, timeout: 300_000 });
}

export interface TestBrowser {
  context: BrowserContext;
  page(): Promise<Page>;
  close(): Promise<void>;
}

/** A fresh Chromium profile; network to other hosts is off in this workplace, and nothing asks for it. */
export async function startBrowser(options: { locale?: string } = {}): Promise<TestBrowser> {
  const executablePath = await chromiumExecutable();
  const profile = await mkdtemp(path.join(os.tmpdir(), 'custodia-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    locale: options.locale ?? 'uk-UA',
    timezoneId: 'Europe/Kyiv',
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
      '--disable-quic',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    context,
    async page() {
      // The active tab: a page left behind another is not drawn, and Playwright's checks wait on drawing.
      const page = await context.newPage();
      await page.bringToFront();
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core injected into the page (a test-only script, so the console's CSP is bypassed for it only), run on the whole document. */
export async function axeViolations(page: Page): Promise<{ id: string; impact: string | null; help: string; nodes: string[] }[]> {
  const source = await readFile(AXE_SOURCE, 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

/** Only what blocks people: serious and critical violations, and the console's own table rules. */
export async function seriousViolations(page: Page) {
  const axe = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  return [...axe, ...(await tableViolations(page))];
}

/**
 * What axe-core leaves to people (the accessibility audit's findings): a data table has a name
 * (a caption, or aria-labelledby its heading), so a screen reader's table list tells them apart;
 * and controls in its rows are told apart by name, not only by the row they sit in ("Check",
 * "Check", "Check" says nothing when tabbed to).
 */
export async function tableViolations(page: Page): Promise<{ id: string; impact: string; help: string; nodes: string[] }[]> {
  return page.evaluate(() => {
    const text = (el: Element | null) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
    const nameOf = (el: Element): string => {
      const labelledBy = el.getAttribute('aria-labelledby');
      if (labelledBy) return labelledBy.split(/\s+/).map((id) => text(document.getElementById(id))).join(' ').trim();
      return (el.getAttribute('aria-label') ?? (el instanceof HTMLInputElement ? el.labels?.[0]?.textContent ?? el.value : text(el))).trim();
    };
    const where = (table: Element, i: number) => `table ${i + 1}${table.className ? `.${table.className}` : ''}`;
    const tables = [...document.querySelectorAll('main table, [role=main] table, table')].filter((t, i, all) => all.indexOf(t) === i);
    const labelOf = (table: Element) => (table.hasAttribute('aria-labelledby') || table.hasAttribute('aria-label') ? nameOf(table) : '');
    const unnamed = tables.flatMap((table, i) => (text(table.querySelector(':scope > caption')) || labelOf(table) ? [] : [where(table, i)]));
    const repeated = tables.flatMap((table, i) => {
      const names = [...table.querySelectorAll('tbody button, tbody a[href], tbody input:not([type=hidden]), tbody select')].map(nameOf);
      const twice = [...new Set(names.filter((n, k) => names.indexOf(n) !== k))];
      return twice.map((name) => `${where(table, i)}: "${name}"`);
    });
    return [
      ...(unnamed.length ? [{ id: 'table-name', impact: 'serious', help: 'A data table has a caption or aria-labelledby its heading', nodes: unnamed }] : []),
      ...(repeated.length ? [{ id: 'table-control-names', impact: 'serious', help: "Controls in a table's rows have names that tell them apart", nodes: repeated }] : []),
    ];
  });
}

/**
 * What every console spec keeps of the screens it visits: the serious axe-core violations per
 * screen and any Content-Security-Policy violation the browser reported; and how it signs in.
 */
export class ConsoleChecks {
  readonly accessibility: { screen: string; violations: unknown[] }[] = [];
  readonly cspViolations: string[] = [];

  /** Pages being watched, with what each said (console, errors, failed requests), for a failure's report. */
  private readonly pages = new Map<Page, string[]>();

  /** Reports the page's CSP violations (and Permissions-Policy errors) here from now on, and keeps what it says for `explain`. */
  watch(page: Page): Page {
    const said: string[] = [];
    const keep = (line: string) => said.push(line) > 50 && said.shift();
    this.pages.set(page, said);
    page.on('console', (message) => {
      // A header the browser finds fault with (a feature Permissions-Policy names that it does not know) counts too.
      if (/Content[- ]Security[- ]Policy|Permissions[- ]Policy/i.test(message.text())) this.cspViolations.push(message.text());
      keep(`console.${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => keep(`page error: ${error.message}`));
    page.on('requestfailed', (request) => keep(`request failed: ${request.method()} ${new URL(request.url()).pathname} ${request.failure()?.errorText ?? ''}`));
    page.on('close', () => this.pages.delete(page));
    return page;
  }

  /**
   * What the pages still open show, for a failed test's output: where each is, whether it is
   * drawn (Playwright's actions wait for animation frames), what it said, and its text.
   */
  async explain(): Promise<string> {
    const reports = await Promise.all(
      [...this.pages].map(async ([page, said]) => {
        const answer = page
          .evaluate(() =>
            Promise.race([
              new Promise<string>((resolve) => requestAnimationFrame(() => resolve('frames drawn'))),
              new Promise<string>((resolve) => setTimeout(() => resolve('NO animation frame in 2 s'), 2000)),
            ]).then((frames) => `${document.visibilityState}, ${frames}, focus on ${document.activeElement?.outerHTML.slice(0, 120) ?? 'nothing'}\n${document.body.innerText.slice(0, 1500)}`),
          )
          .catch((error: Error) => `not answering: ${error.message}`);
        const state = await Promise.race([answer, new Promise<string>((resolve) => setTimeout(() => resolve('not answering in 5 s'), 5000))]);
        return [`page ${page.url()}: ${state}`, ...said].join('\n');
      }),
    );
    return reports.join('\n---\n');
  }

  async checkScreen(page: Page, screen: string): Promise<void> {
    this.accessibility.push({ screen, violations: await seriousViolations(page) });
  }

  /** Signs in through the console's own form at `base`. */
  async signIn(page: Page, base: string, user: { email: string; password: string }): Promise<void> {
    await page.goto(`${base}/`);
    await page.locator('input[type=email]').fill(user.email);
    await page.locator('input[type=password]').fill(user.password);
    await page.locator('form button[type=submit]').click();
    await page.locator('header.top').waitFor();
  }
}
