/// <reference lib="dom" />
// The web console (issue 13) in a real Chromium against the real API and PostgreSQL: the built
// bundle served by the API, every screen driven as a user would, receipts checked in the browser.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CustodyLog, SigningKeys } from '../libs/custody/src/index.js';
import { EXPECTED_METADATA } from './fixtures/media/expected-metadata.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { buildWebConsole, ConsoleChecks, startBrowser, type TestBrowser } from './support/browser.js';
import { bearer, createCase, fixture, sleep, submit, waitProcessed } from './support/evidence.js';

let t: TestApp;
let browser: TestBrowser;
let base: string;
let investigator: TestUser;
let documenter: TestUser;
let caseId: string;
const state: { evidenceId?: string; incidentId?: string; receiptPath?: string } = {};
/** Every screen visited, with the serious or critical axe-core violations found there. */
const checks = new ConsoleChecks();
const { accessibility, cspViolations } = checks;

const signIn = (page: Page, user: { email: string; password: string }) => checks.signIn(page, base, user);

const checkScreen = (page: Page, screen: string) => checks.checkScreen(page, screen);

const watchPage = (page: Page) => checks.watch(page);

/** The original's reads the browser makes (the service worker's too) while `during` runs. */
async function contentReads(during: () => Promise<void>): Promise<string[]> {
  const urls: string[] = [];
  const seen = (request: { url(): string }) => void (/\/api\/v1\/evidence\/[0-9a-f-]{36}\/content$/.test(request.url()) && urls.push(request.url()));
  browser.context.on('request', seen);
  try {
    await during();
  } finally {
    browser.context.off('request', seen);
  }
  return urls;
}

const downloadEvents = async (id: string) => {
  await new CustodyLog(t.dataSource).integrateAll();
  const events = (await t.http.get(`/api/v1/evidence/${id}/custody`).set('Authorization', bearer(investigator))).body.events;
  return events.filter((e: { event: { action: string } }) => e.event.action === 'evidence.downloaded');
};

/** A page signed in as the investigator at `address`, in English (a test run alone starts in the console's default Ukrainian). */
async function investigatorInEnglish(address: string): Promise<Page> {
  const page = watchPage(await browser.page());
  await signIn(page, investigator);
  const english = page.getByRole('button', { name: 'English' });
  if (await english.count()) await english.click();
  await page.getByRole('button', { name: 'Українська' }).waitFor();
  await page.goto(`${base}${address}`);
  return page;
}

beforeAll(async () => {
  await buildWebConsole();
  t = await startTestApp();
  base = await t.listen();
  investigator = await t.user('investigator', 'Olena Investigator');
  documenter = await t.user('documenter', 'Taras Documenter');
  caseId = await createCase(t, investigator, 'Kharkiv, Saltivka: night strikes', [documenter]);
  browser = await startBrowser();
}, 300_000);

// A failure in the browser says what the pages showed then (a screenshot is not in CI's output).
beforeEach(({ onTestFailed }) => onTestFailed(async () => console.error(await checks.explain())));

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the console is served by the API', () => {
  it('answers / and its own addresses with the page under a strict CSP, keeps the API and unknown paths as they were', async () => {
    for (const address of ['/', '/cases', `/cases/${caseId}/upload`, '/evidence/0b6f2f3e-0000-4000-8000-000000000000']) {
      const res = await t.http.get(address);
      expect(res.status, address).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      const csp = res.headers['content-security-policy'];
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      const permissions = res.headers['permissions-policy'];
      expect(permissions).toContain('camera=()');
      expect(permissions).toContain('microphone=()');
      expect(permissions).toContain('geolocation=(self)');
      expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
    const icon = await t.http.get('/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect((await t.http.get('/')).text).toMatch(/<meta name="robots" content="noindex, nofollow"/);
    const asset = (await t.http.get('/')).text.match(/src="(\/assets\/[^"]+\.js)"/)![1]!;
    const script = await t.http.get(asset);
    expect(script.status).toBe(200);
    expect(script.headers['cache-control']).toContain('immutable');
    expect((await t.http.get('/etc/passwd')).headers['content-type']).toMatch(/problem\+json/);
    expect((await t.http.get('/assets/missing-bundle.js')).status).toBe(404);
    const api = await t.http.get('/api/v1/health');
    expect(api.body).toEqual({ status: 'ok' });
    expect(api.headers['content-security-policy']).toContain("default-src 'self'");
  });
});

describe('in Chromium', () => {
  it('signs in, switches the language, and remembers it for the user on another device', async () => {
    const page = watchPage(await browser.page());
    await page.goto(`${base}/`);
    await expect.poll(() => page.locator('h2').first().textContent()).toBe('Вхід');
    await checkScreen(page, 'sign in');
    await page.locator('input[type=email]').fill(investigator.email);
    await page.locator('input[type=password]').fill('not the password at all');
    await page.locator('form button[type=submit]').click();
    await expect.poll(() => page.locator('.error').textContent()).toBe('Неправильна пошта або пароль.');

    await signIn(page, investigator);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Справи');
    await checkScreen(page, 'cases');
    await page.getByRole('button', { name: 'English' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Cases');
    await expect.poll(async () => (await t.http.get('/api/v1/auth/me').set('Authorization', bearer(investigator))).body.language).toBe('en');
    // Another device (a fresh profile in Ukrainian) gets the user's choice after signing in.
    const other = await startBrowser({ locale: 'uk-UA' });
    try {
      const second = await other.page();
      await second.goto(`${base}/`);
      await expect.poll(() => second.locator('h2').first().textContent()).toBe('Вхід');
      await signIn(second, investigator);
      await expect.poll(() => second.locator('h1').textContent()).toBe('Cases');
      expect(await second.locator('html').getAttribute('lang')).toBe('en');
    } finally {
      await other.close();
    }
    await page.close();
  });

  it('uploads a photo hashed in the browser, verifies its receipt there, shows its thumbnail; a tampered receipt fails', async () => {
    const page = watchPage(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}/upload`);
    await page.locator('.dropzone').waitFor();
    await checkScreen(page, 'upload');
    // The device's position: refused, said in the console's words (the browser's are English); allowed, filled in.
    await page.getByRole('button', { name: 'Use my position' }).click();
    await page.getByText('The position could not be read: this browser was not allowed to give it').waitFor();
    await browser.context.grantPermissions(['geolocation'], { origin: base });
    await browser.context.setGeolocation({ latitude: 49.99358, longitude: 36.23062, accuracy: 12 });
    await page.getByRole('button', { name: 'Use my position' }).click();
    await expect.poll(() => page.getByLabel('Latitude').inputValue()).toBe('49.993580');
    expect(await page.getByLabel('Longitude').inputValue()).toBe('36.230620');
    await browser.context.clearPermissions();
    await page.getByLabel('Latitude').fill('');
    await page.getByLabel('Longitude').fill('');
    const photo = fixture('exif-ne-offset.jpg');
    await page.locator('[data-testid=upload-input]').setInputFiles({ name: 'saltivka.jpg', mimeType: 'image/jpeg', buffer: photo });
    const verdict = page.locator('.uploads [data-verdict]');
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.getAttribute('data-verdict'), (await verdict.textContent()) ?? '').toBe('verified');
    expect(await page.locator('.uploads .hash').textContent()).toContain(createHash('sha256').update(photo).digest('hex'));
    // Heard as well as seen: the live region says the receipt checked, naming the file.
    await expect.poll(() => page.locator('[data-testid=announcer]').textContent(), { timeout: 10_000 }).toBe('The receipt for saltivka.jpg verified in this browser.');
    expect(await page.getByRole('progressbar', { name: /Received saltivka\.jpg/ }).count()).toBe(1);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download receipt' }).click()]);
    state.receiptPath = path.join(os.tmpdir(), `custodia-receipt-${Date.now()}.json`);
    await download.saveAs(state.receiptPath);
    const receipt = JSON.parse(await readFile(state.receiptPath, 'utf8'));
    expect(receipt.event.action).toBe('evidence.submitted');
    state.evidenceId = receipt.event.subject.id;
    await waitProcessed(t, investigator, state.evidenceId!);

    // The grid: the photo's thumbnail, fetched with the token and shown from memory.
    await page.goto(`${base}/cases/${caseId}`);
    const thumbnail = page.locator(`[data-evidence-id="${state.evidenceId}"] img`);
    await thumbnail.waitFor();
    await expect.poll(() => thumbnail.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    await checkScreen(page, 'evidence grid');

    // The item: Verify checks every custody event and the log's growth in the browser.
    await page.goto(`${base}/evidence/${state.evidenceId}`);
    // Every tag the file carries, read by ExifTool when asked, and that reading in the item's custody.
    await page.getByRole('button', { name: 'Read every tag' }).click();
    await page.locator('summary', { hasText: /^IFD0 \(\d+\)$/ }).click();
    expect(await page.getByRole('row', { name: 'Make DJI' }).count()).toBe(1);
    const custody = await t.http.get(`/api/v1/evidence/${state.evidenceId}/custody`).set('Authorization', bearer(investigator));
    expect(custody.body.events.filter((e: { event: { action: string; details: { part?: string } } }) => e.event.action === 'evidence.viewed' && e.event.details.part === 'metadata')).toHaveLength(1);
    await page.getByRole('button', { name: 'Verify in this browser' }).click();
    const itemVerdict = page.locator('.verify [data-verdict]').first();
    await itemVerdict.waitFor();
    expect(await itemVerdict.getAttribute('data-verdict'), (await itemVerdict.textContent()) ?? '').toBe('verified');
    await checkScreen(page, 'evidence item');

    // The same receipt with one detail changed: the browser's check fails and says why.
    const tampered = structuredClone(receipt);
    tampered.event.details.sizeBytes += 1;
    const tamperedPath = state.receiptPath.replace('.json', '-tampered.json');
    await writeFile(tamperedPath, JSON.stringify(tampered));
    await page.locator('.verify input[type=file]').setInputFiles(tamperedPath);
    const failed = page.locator('.verify [data-verdict=failed]');
    await failed.waitFor();
    expect(await failed.textContent()).toContain('leaf hash does not match the event');
    await page.locator('.verify input[type=file]').setInputFiles(state.receiptPath);
    await page.locator('.verify [data-verdict=verified]').nth(1).waitFor();
    await page.close();
  });

  it('creates an incident with a casualty, showing the API\'s field errors beside the fields, and links the evidence', async () => {
    const page = watchPage(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}/incidents/new`);
    await page.getByLabel('Title').fill('Shahed strike on a block of flats');
    await page.getByLabel('Type', { exact: true }).selectOption('air_drone_strike');
    await page.getByLabel('Started at').fill('2026-11-20T01:10');
    await page.getByLabel('Ended at').fill('2026-11-20T01:40');
    await page.getByLabel('What happened').fill('Two drones hit the 5th and 9th floors.\nFire on three floors.');
    await page.getByLabel('Oblast').fill('Харківська');
    await page.getByLabel('Hromada').fill('Харківська міська');
    await page.getByLabel('Latitude').fill('95');
    await page.getByLabel('Longitude').fill('36.35');
    await page.getByLabel('Weapon type').selectOption('uav.owa.shahed_136');
    await checkScreen(page, 'new incident');
    await page.getByRole('button', { name: 'Create' }).click();
    const latitude = page.getByLabel('Latitude');
    await expect.poll(() => latitude.getAttribute('aria-invalid')).toBe('true');
    // Focus goes to the field refused, whose message is read with it; one alert (the form's), not one per field.
    await expect
      .poll(() => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.labels?.[0]?.textContent ?? ''), { timeout: 10_000 })
      .toContain('Latitude');
    expect(await page.locator('form [role=alert]').count()).toBe(1);
    const message = await page.locator('#' + (await latitude.getAttribute('aria-describedby'))).textContent();
    expect(message).toBeTruthy();
    expect(await page.getByLabel('Longitude').getAttribute('aria-invalid')).toBeNull();
    await checkScreen(page, 'incident with field errors');

    // Submitted from the keyboard: while the archive answers, focus stays on the button (a
    // disabled button dropped it to the top of the page).
    await latitude.fill('50.0');
    const create = page.getByRole('button', { name: 'Create' });
    await create.focus();
    await page.route(
      '**/api/v1/cases/*/incidents',
      async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 2000));
        await route.continue();
      },
      { times: 1 },
    );
    await page.keyboard.press('Enter');
    await expect.poll(() => create.getAttribute('aria-disabled'), { timeout: 10_000 }).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Create');
    await page.waitForURL(/\/incidents\/[0-9a-f-]{36}$/);
    state.incidentId = page.url().split('/').pop()!;
    const created = await t.http.get(`/api/v1/incidents/${state.incidentId}`).set('Authorization', bearer(investigator));
    // Kyiv's wall-clock time (the browser's zone), as instants.
    expect(created.body).toMatchObject({ startAt: '2026-11-19T23:10:00.000Z', endAt: '2026-11-19T23:40:00.000Z', description: 'Two drones hit the 5th and 9th floors.\nFire on three floors.', admin1: 'Харківська', admin2: null, admin3: 'Харківська міська' });
    expect(await page.getByLabel('What happened').inputValue()).toBe('Two drones hit the 5th and 9th floors.\nFire on three floors.');

    // A casualty without the required harm: the API names the field, the form shows it there.
    const casualtyForm = page.getByRole('form', { name: 'Record a casualty' });
    await casualtyForm.getByLabel('Age', { exact: true }).fill('abc');
    await casualtyForm.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => casualtyForm.getByLabel('Harm').getAttribute('aria-invalid')).toBe('true');
    expect(await casualtyForm.getByLabel('Age', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await casualtyForm.getByLabel('Harm').selectOption('killed');
    await casualtyForm.getByLabel('Age', { exact: true }).fill('34');
    await casualtyForm.getByLabel('Sex').selectOption('female');
    await casualtyForm.getByRole('button', { name: 'Add' }).click();
    await page.getByText('Casualty recorded.').waitFor();
    const casualties = await t.http.get(`/api/v1/incidents/${state.incidentId}/casualties`).set('Authorization', bearer(investigator));
    expect(casualties.body.items).toHaveLength(1);
    expect(casualties.body.items[0]).toMatchObject({ harmStatus: 'killed', age: 34, sex: 'female' });

    // Evidence to link is searched for (nothing is listed until asked): words of its title first.
    const find = page.getByRole('search', { name: 'Find evidence to link' });
    await find.getByLabel(/^Words in its title/).fill('no such words anywhere');
    await find.getByRole('button', { name: 'Search' }).click();
    await find.getByRole('status').filter({ hasText: 'No evidence found.' }).waitFor();
    await find.getByLabel(/^Words in its title/).fill('');
    await find.getByRole('button', { name: 'Search' }).click();
    await page.getByLabel('Link evidence').locator(`option[value="${state.evidenceId}"]`).waitFor({ state: 'attached' });
    await page.getByLabel('Link evidence').selectOption(state.evidenceId!);
    await page.getByLabel('Role').selectOption('depicts_aftermath');
    await page.getByLabel('Reason for the change').last().fill('the photo shows the building the morning after');
    await page.getByRole('button', { name: 'Link evidence' }).click();
    await page.locator(`.links a[href="/evidence/${state.evidenceId}"]`).waitFor();
    await checkScreen(page, 'incident');
    const item = await t.http.get(`/api/v1/evidence/${state.evidenceId}`).set('Authorization', bearer(investigator));
    expect(item.body.incidentId).toBe(state.incidentId);

    await page.goto(`${base}/cases/${caseId}/incidents`);
    await page.getByRole('link', { name: /Shahed strike on a block of flats/ }).waitFor();
    await checkScreen(page, 'incidents');
    await page.goto(`${base}/cases/${caseId}/map`);
    await page.locator('.leaflet-container path.leaflet-interactive').first().waitFor();
    await checkScreen(page, 'map');
    // Every marker a target of at least 24 px (WCAG 2.5.8); a legend says which is which and how many have no place.
    const sizes = await page.locator('.leaflet-container path.leaflet-interactive').evaluateAll((paths) => paths.map((p) => Math.min(p.getBoundingClientRect().width, p.getBoundingClientRect().height)));
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(24);
    const legend = page.getByTestId('map-legend').locator('li');
    expect(await legend.allTextContents()).toEqual(['Evidence (filled disc): 1 shown', 'Incidents (ring): 1 shown']);
    // The markers are links in the tab order, named as their tooltips; Enter follows one.
    const incidentMarker = page.getByRole('link', { name: 'Incident: Shahed strike on a block of flats' });
    expect(await incidentMarker.getAttribute('tabindex')).toBe('0');
    await page.locator('.leaflet-container').focus();
    for (let i = 0; i < 10 && !(await incidentMarker.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    expect(await incidentMarker.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.locator('.leaflet-tooltip', { hasText: 'Shahed strike on a block of flats' }).waitFor();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/incidents/${state.incidentId}`);
    await page.close();
  });

  it('creates a court package of a selection, follows its progress and downloads it', async () => {
    const page = watchPage(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}/exports`);
    // Items are found by words (here none: the latest), then chosen.
    await page.getByRole('search', { name: 'Find evidence for the package' }).getByRole('button', { name: 'Search' }).click();
    await page.getByLabel(/saltivka\.jpg/).check();
    await page.getByLabel('Note').fill('for the prosecutor');
    await page.getByRole('button', { name: 'Create a package' }).click();
    const ready = page.locator('tr[data-export-status=ready]');
    await ready.waitFor({ timeout: 120_000 });
    // The package's state is heard as it changes: the live region says it is ready.
    await expect.poll(() => page.locator('[data-testid=announcer]').textContent(), { timeout: 10_000 }).toMatch(/^Package “Court \(originals\)” of .+: Ready\.$/);
    await checkScreen(page, 'exports');
    // What people wrote in Ukrainian is marked so in the English console (WCAG 3.1.2): a screen reader reads it in Ukrainian.
    const named = await createCase(t, investigator, 'Салтівка, 24 листопада');
    await page.goto(`${base}/cases/${named}`);
    await expect.poll(() => page.locator('#case-title').getAttribute('lang'), { timeout: 10_000 }).toBe('uk');
    await page.goto(`${base}/`);
    await expect.poll(() => page.getByRole('link', { name: 'Салтівка, 24 листопада' }).locator('[lang=uk]').count(), { timeout: 10_000 }).toBe(1);
    const english = page.getByRole('link', { name: 'Kharkiv, Saltivka: night strikes' });
    expect(await english.count()).toBe(1);
    expect(await english.locator('[lang]').count()).toBe(0);
    await page.goto(`${base}/cases/${caseId}/exports`);
    await ready.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), ready.getByRole('button', { name: 'Download' }).click()]);
    // Saved by following a one-time link (streamed to disk), not copied into the page's memory first.
    expect(download.url()).toMatch(/\/api\/v1\/exports\/[0-9a-f-]{36}\/content\?link=cdl_/);
    expect(download.suggestedFilename()).toMatch(/\.zip$/);
    const file = path.join(os.tmpdir(), `custodia-package-${Date.now()}.zip`);
    await download.saveAs(file);
    const bytes = await readFile(file);
    const jobs = await t.http.get(`/api/v1/cases/${caseId}/exports`).set('Authorization', bearer(investigator));
    expect(jobs.body.items).toHaveLength(1);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(jobs.body.items[0].sha256);
    expect(bytes.subarray(0, 2).toString()).toBe('PK');
    await page.goto(`${base}/cases/${caseId}/members`);
    await page.locator('table').first().waitFor();
    await checkScreen(page, 'members');
    await page.goto(`${base}/account`);
    await page.locator('form').waitFor();
    await checkScreen(page, 'account');
    await page.close();
  });

  it('shows a documenter only their own submissions', async () => {
    // A name with a bidirectional override (an outside audit: kept as sent, it read "mineexe.jpg").
    const own = await submit(t, documenter, caseId, fixture('exif-nw-no-offset.jpg'), { metadata: { title: 'my own photo' }, filename: 'mine\u202egpj.exe', contentType: 'image/jpeg' });
    expect(own.status).toBe(201);
    const page = watchPage(await browser.page());
    await signIn(page, documenter);
    await page.goto(`${base}/cases/${caseId}`);
    await page.locator(`[data-evidence-id="${own.body.id}"]`).waitFor();
    await sleep(500);
    const shown = await page.locator('[data-evidence-id]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-evidence-id')));
    expect(shown).toEqual([own.body.id]);
    expect(await page.locator('.tabs a').allTextContents()).not.toContain('Exports');
    await checkScreen(page, 'documenter evidence');
    await page.goto(`${base}/evidence/${own.body.id}`);
    await page.getByRole('heading', { level: 1, name: 'my own photo' }).waitFor();
    expect(await page.locator('dl.facts dd').first().textContent()).toBe('mine[U+202E]gpj.exe');
    // Someone else's item is not open to them: the screen still has its heading, then why.
    await page.goto(`${base}/evidence/${state.evidenceId}`);
    await page.getByRole('alert').filter({ hasText: 'Not found, or not open to you.' }).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).allTextContents()).toEqual(['Evidence item']);
    await page.close();
  });

  it('shows titles on the map as the text they are, never as markup', async () => {
    const mapCase = await createCase(t, investigator, 'Map: titles as text');
    const evidenceTitle = '<img id="injected-evidence" src="/x" onerror="window.injected = 1"><b>bold</b>';
    const incidentTitle = '<b id="injected-incident">strike</b><meta http-equiv="refresh" content="0;url=/x">';
    const item = await submit(t, investigator, mapCase, fixture('exif-nw-no-offset.jpg'), {
      metadata: { title: evidenceTitle, location: { lat: 49.99, lon: 36.23 } },
      filename: 'map.jpg',
      contentType: 'image/jpeg',
    });
    expect(item.status).toBe(201);
    const incident = await t.http
      .post(`/api/v1/cases/${mapCase}/incidents`)
      .set('Authorization', bearer(investigator))
      .send({ title: incidentTitle, type: 'air_drone_strike', startAt: '2026-11-20T01:40:00+02:00', location: { lat: 50.02, lon: 36.27 } });
    expect(incident.status).toBe(201);
    // An item with no position: not on the map, and the legend says so.
    expect((await submit(t, investigator, mapCase, fixture('not-an-image.pdf'), { filename: 'statement.pdf' })).status).toBe(201);
    const page = watchPage(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${mapCase}/map`);
    const markers = page.locator('.leaflet-container path.leaflet-interactive');
    await expect.poll(() => markers.count()).toBe(2);
    expect(await page.getByTestId('map-legend').locator('li').allTextContents()).toEqual(['Evidence (filled disc): 1 shown (1 more without a position)', 'Incidents (ring): 1 shown']);
    const tooltips: string[] = [];
    for (const i of [0, 1]) {
      await markers.nth(i).hover();
      const tooltip = page.locator('.leaflet-tooltip');
      await tooltip.waitFor();
      tooltips.push((await tooltip.textContent()) ?? '');
      await page.mouse.move(0, 0);
      await tooltip.waitFor({ state: 'detached' });
    }
    expect(tooltips).toEqual(expect.arrayContaining([expect.stringContaining(evidenceTitle), expect.stringContaining(incidentTitle)]));
    expect(await page.locator('#injected-evidence, #injected-incident, .leaflet-tooltip meta').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { injected?: number }).injected)).toBeUndefined();
    expect(page.url()).toBe(`${base}/cases/${mapCase}/map`);
    // The zoom buttons are named in the console's language, Leaflet's English replaced.
    const zoomIn = page.locator('a.leaflet-control-zoom-in');
    expect([await zoomIn.getAttribute('aria-label'), await zoomIn.getAttribute('title')]).toEqual(['Zoom in', 'Zoom in']);
    await page.getByRole('button', { name: 'Українська' }).click();
    await expect.poll(() => zoomIn.getAttribute('aria-label'), { timeout: 10_000 }).toBe('Наблизити');
    // The marks are named in it too, the titles still as text.
    const named = () => page.locator('.leaflet-container [role=link]').evaluateAll((marks) => marks.map((m) => m.getAttribute('aria-label')).sort());
    await expect.poll(named, { timeout: 10_000 }).toEqual([`Доказ: ${evidenceTitle}`, `Подія: ${incidentTitle}`]);
    expect(await page.locator('a.leaflet-control-zoom-out').getAttribute('title')).toBe('Віддалити');
    expect(await page.locator('a.leaflet-control-zoom-in').count()).toBe(1);
    await page.getByRole('button', { name: 'English' }).click();
    await page.close();
  });

  it('gathers items close together into one numbered disc: it zooms in where they part, and lists those that share a place', async () => {
    const siteCase = await createCase(t, investigator, 'Map: one strike site');
    const places = [
      { lat: 50.0, lon: 36.23 },
      { lat: 50.0, lon: 36.23 },
      { lat: 50.0, lon: 36.23 },
      { lat: 50.0006, lon: 36.2308 },
      { lat: 49.6, lon: 35.9 },
    ];
    for (const [i, location] of places.entries()) {
      const file = Buffer.concat([fixture('not-an-image.pdf'), Buffer.from(`\n% statement ${i}\n`)]);
      const res = await submit(t, investigator, siteCase, file, { metadata: { title: `Site photo ${i}`, location }, filename: `site-${i}.pdf`, contentType: 'application/pdf' });
      expect(res.status).toBe(201);
    }
    const page = await investigatorInEnglish(`/cases/${siteCase}/map`);
    // The four near the site are one disc; the fifth, far off, its own marker.
    const near = page.getByRole('button', { name: '4 items close together: zoom in' });
    await near.waitFor({ timeout: 10_000 });
    expect(await page.locator('.leaflet-container path.leaflet-interactive').count()).toBe(1);
    expect(await page.getByTestId('map-legend').locator('li').last().textContent()).toMatch(/^2A number: that many items close together/);
    const box = await near.boundingBox();
    expect(Math.min(box!.width, box!.height)).toBeGreaterThanOrEqual(24);
    await checkScreen(page, 'map with items close together');
    // From the keyboard: Enter zooms in until the three at one place stay together, as a list.
    await near.focus();
    await page.keyboard.press('Enter');
    const together = page.getByRole('button', { name: '3 items at this place: list them' });
    await together.waitFor({ timeout: 10_000 });
    await together.focus();
    await page.keyboard.press('Enter');
    const links = page.locator('.leaflet-popup .map-list a');
    await expect.poll(() => links.allTextContents(), { timeout: 10_000 }).toEqual(['Evidence: Site photo 0', 'Evidence: Site photo 1', 'Evidence: Site photo 2']);
    expect(await links.first().evaluate((el) => el === document.activeElement)).toBe(true);
    const href = await links.first().getAttribute('href');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}${href}`);
    await page.close();
  });

  it("shows a video this browser cannot play (a camcorder's AVCHD .MTS) as its first frame, saying why", async () => {
    const videoCase = await createCase(t, investigator, 'Camcorder footage');
    const res = await submit(t, investigator, videoCase, fixture('video-a.m2ts'), { metadata: { title: 'Camcorder clip' }, filename: '00012.MTS', contentType: 'video/mp2t' });
    expect(res.status).toBe(201);
    expect((await waitProcessed(t, investigator, res.body.id)).processing).toBe('done');
    const page = await investigatorInEnglish(`/evidence/${res.body.id}`);
    const figure = page.locator('figure.preview');
    // The browser says it cannot play the type: the original is not fetched to find that out.
    const reads = await contentReads(async () => {
      await expect.poll(() => figure.locator('figcaption').textContent(), { timeout: 20_000 }).toBe('This browser cannot play video/mp2t: its first frame is shown; download the original to watch it.');
      await figure.getByRole('img', { name: 'Preview' }).waitFor();
      await sleep(500);
    });
    expect(reads).toEqual([]);
    expect(await downloadEvents(res.body.id)).toEqual([]);
    expect(await figure.locator('video').count()).toBe(0);
    // Its picture size and length, as the file itself says them (the PCRs: 1.9 s).
    const fact = (name: string) => page.locator('dl.facts dt', { hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]').textContent();
    expect([await fact('Picture size'), await fact('Duration')]).toEqual(['320 × 240', '0:01.9']);
    await page.close();
  });

  it('plays a voice statement on its page, and says why for a recording this browser cannot play (AMR)', async () => {
    const audioCase = await createCase(t, investigator, 'Witness recordings');
    const mp3 = await submit(t, investigator, audioCase, fixture('voice.mp3'), { metadata: { title: 'Witness statement' }, filename: 'statement.mp3', contentType: 'audio/mpeg' });
    expect(mp3.status).toBe(201);
    let page = await investigatorInEnglish(`/evidence/${mp3.body.id}`);
    const player = page.locator('figure.preview audio');
    // Opening the page reads none of it (each read would be an evidence.downloaded event) ...
    const opening = await contentReads(async () => {
      await player.waitFor();
      await sleep(1_000);
    });
    expect(opening).toEqual([]);
    expect(await downloadEvents(mp3.body.id)).toEqual([]);
    // ... starting the player does, through the ranged route: it knows the recording's length.
    const playing = await contentReads(async () => {
      await player.evaluate((audio: HTMLAudioElement) => {
        audio.muted = true;
        return audio.play();
      });
      await expect.poll(() => player.evaluate((audio: HTMLAudioElement) => Math.round(audio.duration * 10) / 10), { timeout: 20_000 }).toBeCloseTo(3.3, 0);
    });
    expect(playing.length).toBeGreaterThan(0);
    expect((await downloadEvents(mp3.body.id)).length).toBeGreaterThan(0);
    expect(await page.locator('figure.preview figcaption').count()).toBe(0);
    await page.close();

    // A feature phone's AMR (frames as RFC 4867 stores them: 1.5 s of 12.2 kbit/s speech frames).
    const amr = Buffer.concat([Buffer.from('#!AMR\n'), ...Array.from({ length: 75 }, () => Buffer.concat([Buffer.from([0x3c]), randomBytes(31)]))]);
    const phone = await submit(t, investigator, audioCase, amr, { metadata: { title: 'Phone recording' }, filename: 'REC001.amr', contentType: 'audio/amr' });
    expect(phone.status).toBe(201);
    page = await investigatorInEnglish(`/evidence/${phone.body.id}`);
    const amrReads = await contentReads(() => expect.poll(() => page.locator('figure.preview figcaption').textContent(), { timeout: 20_000 }).toBe('This browser cannot play audio/amr: download the original to listen to it.'));
    expect(amrReads).toEqual([]);
    const fact = (name: string) => page.locator('dl.facts dt', { hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]').textContent();
    expect(await fact('Duration')).toBe('0:01.5');
    await page.close();
  });

  it('shows what a witness statement from Word says of itself: pages, title, author, last saver, program and dates', async () => {
    const statements = await createCase(t, investigator, 'Witness statements');
    const res = await submit(t, investigator, statements, fixture('statement.docx'), { metadata: { title: 'Statement 1' }, filename: 'statement.docx' });
    expect(res.status).toBe(201);
    const page = await investigatorInEnglish(`/evidence/${res.body.id}`);
    const fact = (name: string) => page.locator('dl.facts dt', { hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]').textContent();
    await page.locator('dl.facts').waitFor();
    expect([await fact('Pages'), await fact('Title in the document'), await fact('Author in the document'), await fact('Last saved by, in the document'), await fact('Written with')]).toEqual([
      '2',
      'Свідчення щодо удару & пожежі',
      'Олена Коваль',
      'Investigator',
      'Microsoft Office Word',
    ]);
    expect(await fact('Created, as the document says')).toBe('24 Feb 2024, 09:15:00 (Kyiv) · 07:15 UTC');
    await checkScreen(page, 'item: a witness statement');

    // The grid's "Documents" type: Word (both kinds), RTF and PDF statements, an e-mail, an Outlook
    // message and a saved web page, not the photo beside them.
    const others = await Promise.all(
      ['statement-libreoffice.doc', 'statement.rtf', 'not-an-image.pdf', 'exif-ne-offset.jpg', 'tip.eml', 'outlook.msg', 'saved-page.mhtml'].map(
        async (name) => (await submit(t, investigator, statements, fixture(name), { filename: name })).body.id as string,
      ),
    );
    await page.goto(`${base}/cases/${statements}`);
    const grid = page.getByRole('region', { name: 'Evidence' });
    await expect.poll(() => grid.getAttribute('data-total')).toBe('8');
    await page.getByRole('form', { name: 'Filters' }).getByLabel('Type', { exact: true }).selectOption({ label: 'Documents: PDF, Office, OpenDocument, RTF, e-mails, saved web pages' });
    await page.getByRole('form', { name: 'Filters' }).getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => grid.getAttribute('data-total')).toBe('7');
    expect(await grid.locator(`[data-evidence-id="${others[3]}"]`).count()).toBe(0);
    // An e-mail's facts are a message's.
    await page.goto(`${base}/evidence/${others[4]}`);
    await page.locator('dl.facts').waitFor();
    expect([await fact('Subject, in the message'), await fact('Sender, in the message'), await fact('Sent with')]).toEqual([
      'Свідчення: удар по Салтівці вночі 4 листопада, уламки «Шахеда» біля школи № 134',
      'Олена Коваль <olena.koval@example.org>',
      'Mozilla Thunderbird 128.4.0',
    ]);
    expect(await fact('Recipients, in the message')).toBe('To: Слідчий <investigator@example.org>');
    // The photo it carries was submitted to the case too (exif-ne-offset.jpg): found by its SHA-256 and named.
    const files = page.locator('table.message-files tbody tr');
    await expect.poll(() => files.locator('td').last().textContent()).toBe('exif-ne-offset.jpg');
    expect(await files.locator('th').textContent()).toBe('уламки.jpg');
    expect(await files.locator('td.hash').textContent()).toBe('489608b5e784b41a4d464efe54c7a409d66b6aca4bc44dfd2dff93ac8b4b8ef0');
    expect(await files.getByRole('link').getAttribute('href')).toBe(`/evidence/${others[3]}`);
    await checkScreen(page, 'item: an e-mail with a photo attached');
    // A forwarded tip: its PDF is in the case already (not-an-image.pdf, above); the message it
    // forwards is not, and is submitted from it: it becomes an item, named in its row.
    const forwarded = (await submit(t, investigator, statements, fixture('tip-forwarded.eml'), { filename: 'Fwd.eml' })).body.id as string;
    await page.goto(`${base}/evidence/${forwarded}`);
    const rows = page.locator('table.message-files tbody tr');
    await expect.poll(() => rows.filter({ hasText: 'акт огляду.pdf' }).getByRole('link').textContent()).toBe('not-an-image.pdf');
    const original = rows.filter({ hasText: 'Первинне повідомлення.eml' });
    await original.getByRole('button', { name: 'Submit as an item: Первинне повідомлення.eml' }).click();
    await expect.poll(() => original.getByRole('link').textContent()).toBe('Первинне повідомлення.eml');
    const extracted = (await original.getByRole('link').getAttribute('href'))!.split('/').pop()!;
    const made = await t.http.get(`/api/v1/evidence/${extracted}`).set('Authorization', bearer(investigator));
    expect(made.body).toMatchObject({ caseId: statements, mediaType: 'message/rfc822', sha256: 'cb284412a8b2e583c09b2534762fd09c75fade7ff083cf374368767bf7903c46' });
    expect(made.body.extracted.document).toMatchObject({ title: 'Фото з Салтівки', author: 'Олена Коваль <olena.koval@example.org>' });
    await checkScreen(page, 'item: a forwarded e-mail, a file submitted from it');
    // A saved page's address is shown as text: opening it from the archive would tell the page who looks.
    await page.goto(`${base}/evidence/${others[6]}`);
    await page.locator('dl.facts').waitFor();
    expect(await fact('Saved from the page at')).toBe('http://news.example.org/2025/11/04/saltivka.html');
    expect(await page.locator('dl.facts a[href*="news.example.org"]').count()).toBe(0);
    // A ZIP archive: its files by their paths and times; the statement in it is in the case already.
    const zip = (await submit(t, investigator, statements, fixture('photos-export.zip'), { filename: 'export.zip' })).body.id as string;
    await page.goto(`${base}/evidence/${zip}`);
    await page.getByRole('heading', { name: 'Files in this archive' }).waitFor();
    const held = page.locator('table.message-files tbody tr');
    expect(await page.locator('table.message-files thead th').allTextContents()).toEqual(['Path in the archive', 'Changed, as the archive says', 'Size', 'SHA-256', 'In this case']);
    await expect.poll(() => held.filter({ hasText: 'Звіт/акт огляду.pdf' }).getByRole('link').textContent()).toBe('not-an-image.pdf');
    expect(await held.locator('th').allTextContents()).toEqual(EXPECTED_METADATA['photos-export.zip']!.document!.attachments!.map((file) => file.name));
    // Info-ZIP's UTC time is an instant; a DOS time alone is the zipping machine's clock, shown as it is.
    expect(await held.nth(0).locator('td').first().textContent()).toBe('4 Nov 2025, 05:05:07 (Kyiv) · 03:05 UTC');
    expect(await held.nth(1).locator('td').first().textContent()).toBe('2025-11-04 09:41:30');
    await checkScreen(page, 'item: a ZIP archive and the files it holds');
    // A mailbox: its messages by subject, sender and date.
    const box = (await submit(t, investigator, statements, fixture('mailbox.mbox'), { filename: 'Inbox' })).body.id as string;
    await page.goto(`${base}/evidence/${box}`);
    await page.getByRole('heading', { name: 'Messages in this mailbox' }).waitFor();
    expect(await page.locator('table.message-files thead th').allTextContents()).toEqual(['Message (its subject)', 'Sender and date, as the message says', 'Size', 'SHA-256', 'In this case']);
    const messages = page.locator('table.message-files tbody tr');
    expect(await messages.nth(2).locator('th').textContent()).toBe('Фото з місця удару.eml');
    expect(await messages.nth(2).locator('td').first().textContent()).toBe('Петро Шевченко <petro@example.net> · 2003-03-15 21:40:00');
    await checkScreen(page, 'item: a mailbox and its messages');
    await page.close();
  });

  it('puts every placed item of a case on the map, past the listing\'s first page of 200', async () => {
    const bigCase = await createCase(t, investigator, 'Map: a night of many strikes');
    for (let i = 0; i < 205; i++) {
      const location = { lat: 49 + (i % 15) * 0.1, lon: 35 + Math.floor(i / 15) * 0.1 };
      const res = await submit(t, investigator, bigCase, Buffer.from(`statement ${i}\n`), { metadata: { title: `Statement ${i}`, location }, filename: `statement-${i}.txt`, contentType: 'text/plain' });
      expect(res.status).toBe(201);
    }
    const page = await investigatorInEnglish(`/cases/${bigCase}/map`);
    const legend = page.getByTestId('map-legend').locator('li');
    await expect.poll(() => legend.first().textContent(), { timeout: 20_000 }).toBe('Evidence (filled disc): 205 shown');
    // A time on the map: the items of another night are left out (these have only their receipt time).
    const when = page.getByRole('form', { name: 'Time shown on the map' });
    const kyiv = (ms: number) => new Date(ms).toLocaleString('sv-SE', { timeZone: 'Europe/Kyiv' }).replace(' ', 'T').slice(0, 16);
    await when.getByLabel('From', { exact: true }).fill(kyiv(Date.now() + 86_400_000));
    await when.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => legend.first().textContent(), { timeout: 20_000 }).toBe('Evidence (filled disc): 0 shown');
    // The time is kept in the address: a reload (or a link sent on) shows the same night.
    const tomorrow = await when.getByLabel('From', { exact: true }).inputValue();
    await page.reload();
    await expect.poll(() => legend.first().textContent(), { timeout: 20_000 }).toBe('Evidence (filled disc): 0 shown');
    expect(await when.getByLabel('From', { exact: true }).inputValue()).toBe(tomorrow);
    await when.getByLabel('From', { exact: true }).fill(kyiv(Date.now() - 86_400_000));
    await when.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => legend.first().textContent(), { timeout: 20_000 }).toBe('Evidence (filled disc): 205 shown');

    // An area: zoomed in, the part of the map shown is searched, and only the items inside it are
    // read and drawn, the area outlined; the whole case comes back on asking.
    for (let i = 0; i < 4; i++) {
      await page.getByRole('button', { name: 'Zoom in', exact: true }).click();
      await page.waitForFunction(() => !document.querySelector('.leaflet-zoom-anim'));
    }
    await page.getByRole('button', { name: 'Search the part of the map shown' }).click();
    const searched = page.getByTestId('map-legend');
    await expect.poll(() => searched.getAttribute('data-area'), { timeout: 10_000 }).toMatch(/^[-\d.]+(,[-\d.]+){3}$/);
    const [west, south, east, north] = (await searched.getAttribute('data-area'))!.split(',').map(Number) as [number, number, number, number];
    const inside = Array.from({ length: 205 }, (_, i) => ({ lat: 49 + (i % 15) * 0.1, lon: 35 + Math.floor(i / 15) * 0.1 })).filter(
      ({ lat, lon }) => lat >= south && lat <= north && lon >= west && lon <= east,
    ).length;
    expect(inside).toBeGreaterThan(0);
    expect(inside).toBeLessThan(205);
    await expect.poll(() => legend.first().textContent(), { timeout: 20_000 }).toBe(`Evidence (filled disc): ${inside} shown`);
    expect(await legend.allTextContents()).toContain('Only what lies in the area searched (dashed outline)');
    expect(new URL(page.url()).search, 'the place searched stays out of the address').not.toContain('bbox');
    await page.getByRole('button', { name: 'Show the whole case' }).click();
    await expect.poll(() => legend.first().textContent(), { timeout: 20_000 }).toBe('Evidence (filled disc): 205 shown');
    expect(await searched.getAttribute('data-area')).toBeNull();
    await page.close();
  });

  it('gives administrators users and token revocation (asked first), and auditors the log with heads checked in the browser', async () => {
    const page = watchPage(await browser.page());
    await signIn(page, t.admin);
    await page.goto(`${base}/admin`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke all tokens: Taras Documenter' }).click();
    await page.locator('[role=status]').filter({ hasText: 'Taras Documenter' }).waitFor();
    const afterRevoke = await t.http.get('/api/v1/auth/me').set('Authorization', bearer(documenter));
    expect(afterRevoke.status).toBe(401);
    await page.getByRole('button', { name: 'Tokens: Taras Documenter', exact: true }).click();
    await page.locator('caption').filter({ hasText: 'Taras Documenter' }).waitFor();
    expect(await page.locator('table').last().locator('tbody tr').count()).toBeGreaterThan(0);
    // A role changes with the reason the administrator gives (recorded in the custody log).
    const spare = await t.user('auditor', 'Spare Auditor');
    await page.reload();
    await page.getByLabel('Reason for account changes (recorded in the custody log)').fill('moved to the investigations team');
    // The change is asked about first: dismissed, nothing changes; accepted, it is made.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByLabel('Role: Spare Auditor').selectOption('investigator');
    expect((await t.http.get('/api/v1/users').set('Authorization', bearer(t.admin))).body.find((u: { id: string }) => u.id === spare.id).role).toBe('auditor');
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await page.getByLabel('Role: Spare Auditor').selectOption('investigator');
    expect(asked).toEqual(['Change the role of Spare Auditor to Investigator? What they may see and do changes at once.']);
    await page.locator('[role=status]').filter({ hasText: 'Spare Auditor' }).waitFor();
    const users = await t.http.get('/api/v1/users').set('Authorization', bearer(t.admin));
    expect(users.body.find((u: { id: string }) => u.id === spare.id).role).toBe('investigator');
    await checkScreen(page, 'users');
    await page.close();

    const auditor = await t.user('auditor', 'Iryna Auditor');
    // A member of the case: the log shows its events, each with a link to the item's custody.
    await t.http.post(`/api/v1/cases/${caseId}/members`).set('Authorization', bearer(investigator)).send({ userId: auditor.id }).expect(201);
    const auditorPage = watchPage(await browser.page());
    await signIn(auditorPage, auditor);
    await auditorPage.goto(`${base}/log`);
    await auditorPage.locator('tbody tr button').first().click();
    const verdict = auditorPage.locator('[data-verdict]').first();
    await verdict.waitFor();
    expect(await verdict.getAttribute('data-verdict'), (await verdict.textContent()) ?? '').toBe('verified');
    // What each event is about, in the reader's words, with the start of its id (in this case's entries).
    await auditorPage.getByLabel('Case', { exact: true }).selectOption(caseId);
    await expect.poll(() => auditorPage.getByRole('cell', { name: `case ${caseId.slice(0, 8)}`, exact: true }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // (the rows come as the page reads them; which items' events the first page holds depends on
    // the order the tests' reads reached the log)
    await expect.poll(() => auditorPage.getByRole('cell', { name: /^evidence item [0-9a-f]{8}$/ }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // The keys to pin, the one that signs now last; one rotated because it leaked says so.
    const keyRows = auditorPage.locator('table.keys tbody tr');
    await expect.poll(() => keyRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key-state'))), { timeout: 10_000 }).toEqual(['active']);
    const [leaked, signing] = [(await t.app.get(SigningKeys).active()).keyId, await t.app.get(SigningKeys).rotate(undefined, { compromised: true })];
    await auditorPage.reload();
    await expect.poll(() => keyRows.evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-key-state'), r.querySelector('td')?.textContent])), { timeout: 10_000 }).toEqual([
      ['compromised', leaked],
      ['active', signing],
    ]);
    expect(await keyRows.first().locator('td').last().textContent()).toMatch(/^Marked compromised at .*: nothing it signed counts on its own/);
    await checkScreen(auditorPage, 'custody log');
    await auditorPage.close();
  });

  // Last but the accessibility summary: its 1,000 reads of the photo would otherwise weigh on the
  // court package above (every event of the item is in the package's report).
  it('shows the custody of an item read past one page a page at a time, and verifies every page in the browser', async () => {
    const id = state.evidenceId!;
    // Every read of an item is a custody event: 1,001 more reads take it past one page (1,000).
    for (let i = 0; i < 1001; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, 1001 - i) }, () => t.http.get(`/api/v1/evidence/${id}`).set('Authorization', bearer(investigator)).expect(200)));
    }
    const page = watchPage(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/evidence/${id}`);
    const rows = page.locator('table.custody tbody tr');
    await expect.poll(() => rows.count()).toBe(1000);
    const more = page.getByRole('button', { name: 'Show later events' });
    await more.click();
    await expect.poll(() => more.count()).toBe(0);
    const shown = (await rows.locator('td:first-child').allTextContents()).map(Number);
    // Exactly the log's events about the item, in order, up to the last one shown.
    const all: number[] = [];
    for (let cursor: number | null = null; ; ) {
      const res: { body: { events: { leafIndex: number }[]; nextCursor: number | null } } = await t.http.get(`/api/v1/evidence/${id}/custody`).query(cursor === null ? {} : { cursor }).set('Authorization', bearer(investigator)).expect(200);
      all.push(...res.body.events.map((e) => e.leafIndex));
      if ((cursor = res.body.nextCursor) === null) break;
    }
    expect(shown.length).toBeGreaterThan(1000);
    expect(shown).toEqual(all.filter((leaf) => leaf <= shown.at(-1)!));
    await page.getByRole('button', { name: 'Verify in this browser' }).click();
    const verdict = page.locator('.verify [data-verdict]').first();
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.getAttribute('data-verdict'), (await verdict.textContent()) ?? '').toBe('verified');
    await page.close();
  }, 180_000);

  it('has no serious or critical axe-core violation on any screen, and no CSP violation', () => {
    expect(accessibility.map((a) => a.screen)).toEqual(expect.arrayContaining(['sign in', 'cases', 'upload', 'evidence grid', 'evidence item', 'new incident', 'incident', 'incidents', 'map', 'exports', 'members', 'account', 'documenter evidence', 'users', 'custody log']));
    expect(accessibility.filter((a) => a.violations.length > 0)).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
