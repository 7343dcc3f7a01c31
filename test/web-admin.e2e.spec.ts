/// <reference lib="dom" />
// The console's big uploads, late receipts, video, grid keyboard and account administration
// (issue 13) in a real Chromium against the real API and PostgreSQL, with the harness of
// web-console.e2e.spec.ts. No process runs the custody log's sequencer and submissions wait 0 ms
// for it (CUSTODIA_RECEIPT_WAIT_MS=0), so every submission answers `receipt: null` and the test
// decides when the log catches up (as receipts.e2e.spec.ts does).
import { createHash, randomBytes } from 'node:crypto';
import type { Page, Request, Response } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyReceipt, type PublishedKey } from '../libs/custody-core/src/index.js';
import { CustodyLog } from '../libs/custody/src/index.js';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { buildWebConsole, ConsoleChecks, startBrowser, type TestBrowser } from './support/browser.js';
import { bearer, createCase, fixture, sleep, submit, waitProcessed } from './support/evidence.js';

let t: TestApp;
let browser: TestBrowser;
let base: string;
let investigator: TestUser;
let caseId: string;
const checks = new ConsoleChecks();
const { accessibility, cspViolations } = checks;

const signIn = (page: Page, user: { email: string; password: string }) => checks.signIn(page, base, user);

const checkScreen = (page: Page, screen: string) => checks.checkScreen(page, screen);

const watchPage = (page: Page) => checks.watch(page);

/** The log catches up: what the sequencer would do, done by the test when it chooses. */
const integrate = () => new CustodyLog(t.dataSource).integrateAll();

/** The JSON answer of the console's submission (POST /cases/:id/evidence), as the browser got it. */
const submission = (page: Page): Promise<Response> =>
  page.waitForResponse((res) => res.request().method() === 'POST' && /\/api\/v1\/cases\/[0-9a-f-]{36}\/evidence$/.test(res.url()), { timeout: 120_000 });

/** The signed-in user's id for a token, or the status when it no longer works. */
async function whoIs(token: string): Promise<string | number> {
  const res = await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);
  return res.status === 200 ? res.body.id : res.status;
}

beforeAll(async () => {
  await buildWebConsole();
  t = await startTestApp({ CUSTODIA_SEQUENCER: 'false', CUSTODIA_RECEIPT_WAIT_MS: '0', CUSTODIA_TREE_HEAD_INTERVAL_MS: '3600000' });
  base = await t.listen();
  investigator = await t.user('investigator', 'Mykola Investigator');
  caseId = await createCase(t, investigator, 'Izium: the big files');
  browser = await startBrowser({ locale: 'en-GB' });
}, 300_000);

// A failure in the browser says what the pages showed then (a screenshot is not in CI's output).
beforeEach(({ onTestFailed }) => onTestFailed(async () => console.error(await checks.explain())));

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('uploads', () => {
  it('hashes a file of several 8 MiB slices in a worker; the hash equals Web Crypto\'s and the server\'s', async () => {
    const page = watchPage(await browser.page());
    const scripts: string[] = [];
    page.on('request', (req: Request) => void (req.resourceType() === 'script' || /\.js$/.test(req.url()) ? scripts.push(new URL(req.url()).pathname) : undefined));
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}/upload`);
    await page.locator('.dropzone').waitFor();
    // 20 MiB and a few bytes: three slices, the last one short.
    const bytes = randomBytes(20 * 1024 * 1024 + 12_345);
    const expected = createHash('sha256').update(bytes).digest('hex');
    const answer = submission(page);
    await page.locator('[data-testid=upload-input]').setInputFiles({ name: 'long-video.bin', mimeType: 'application/octet-stream', buffer: bytes });
    const hash = page.locator('.uploads .hash');
    await hash.waitFor({ timeout: 60_000 });
    expect(await hash.textContent()).toBe(`SHA-256 ${expected}`);
    expect(scripts.some((p) => /^\/assets\/hash-worker-[\w-]+\.js$/.test(p)), scripts.join(' ')).toBe(true);
    // Web Crypto over the same File in the page: the streaming hash is the standard SHA-256.
    const webCrypto = await page.locator('[data-testid=upload-input]').evaluate(async (input: HTMLInputElement) => {
      const digest = await crypto.subtle.digest('SHA-256', await input.files![0]!.arrayBuffer());
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    });
    expect(webCrypto).toBe(expected);
    const res = await answer;
    expect(res.status()).toBe(201);
    const evidence = await res.json();
    expect(evidence.sha256).toBe(expected);
    expect(evidence.sizeBytes).toBe(bytes.length);
    const stored = await t.http.get(`/api/v1/evidence/${evidence.id}`).set('Authorization', bearer(investigator));
    expect(stored.body.sha256).toBe(expected);
    await checkScreen(page, 'upload of a big file');
    await page.close();
  });

  it('waits for a late receipt at receiptUrl, as Retry-After says, and verifies it when the log catches up; the item page fetches it too', async () => {
    const page = watchPage(await browser.page());
    const asked: { status: number; retryAfter: string | null }[] = [];
    page.on('response', (res: Response) => {
      if (/\/api\/v1\/evidence\/[0-9a-f-]{36}\/receipt$/.test(res.url())) asked.push({ status: res.status(), retryAfter: res.headers()['retry-after'] ?? null });
    });
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}/upload`);
    const answer = submission(page);
    await page.locator('[data-testid=upload-input]').setInputFiles({ name: 'izium.jpg', mimeType: 'image/jpeg', buffer: fixture('exif-sw-offset.jpg') });
    const evidence = await (await answer).json();
    expect(evidence.receipt).toBeNull();
    expect(evidence.receiptUrl).toBe(`/api/v1/evidence/${evidence.id}/receipt`);
    await page.locator('.uploads [data-receipt=waiting]').waitFor();
    await expect.poll(() => asked.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(asked.every((a) => a.status === 202 && a.retryAfter === '1')).toBe(true);
    expect(await page.locator('.uploads [data-verdict]').count()).toBe(0);
    await checkScreen(page, 'upload waiting for its receipt');

    expect(await integrate()).toBeGreaterThan(0);
    const verdict = page.locator('.uploads [data-verdict]');
    await verdict.waitFor({ timeout: 10_000 });
    expect(await verdict.getAttribute('data-verdict'), (await verdict.textContent()) ?? '').toBe('verified');
    expect(asked.at(-1)!.status).toBe(200);
    expect(await page.locator('[data-receipt]').count()).toBe(0);
    // The receipt it shows is the archive's, which verifies outside the browser as well.
    const receipt = (await t.http.get(evidence.receiptUrl).set('Authorization', bearer(investigator))).body;
    const keys: PublishedKey[] = (await t.http.get('/api/v1/log/keys')).body;
    expect(verifyReceipt(receipt, keys)).toEqual({ valid: true });
    expect(await page.locator('.uploads .receipt p').first().textContent()).toContain(`#${receipt.leafIndex}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download receipt' }).click()]);
    expect(download.suggestedFilename()).toBe('izium.jpg.receipt.json');

    // Later, from the item page.
    await page.goto(`${base}/evidence/${evidence.id}`);
    await page.getByRole('button', { name: 'Fetch the submission receipt' }).click();
    const itemVerdict = page.locator('.submission-receipt [data-verdict]');
    await itemVerdict.waitFor();
    expect(await itemVerdict.getAttribute('data-verdict'), (await itemVerdict.textContent()) ?? '').toBe('verified');
    await checkScreen(page, 'item with its fetched receipt');
    await page.close();
  });

  it('plays a video on the item page from the ranged content route', async () => {
    const page = watchPage(await browser.page());
    const ranged: { range: string; status: number }[] = [];
    browser.context.on('response', (res) => {
      const range = res.request().headers()['range'];
      if (/\/api\/v1\/evidence\/[0-9a-f-]{36}\/content$/.test(res.url()) && range) ranged.push({ range, status: res.status() });
    });
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}/upload`);
    const answer = submission(page);
    await page.locator('[data-testid=upload-input]').setInputFiles({ name: 'clip.webm', mimeType: 'video/webm', buffer: fixture('clip.webm') });
    const evidence = await (await answer).json();
    expect(evidence.mediaType).toBe('video/webm');
    expect((await waitProcessed(t, investigator, evidence.id)).derivatives.preview).toBeTruthy();
    const downloaded = async (id: string) => {
      await integrate();
      const events = (await t.http.get(`/api/v1/evidence/${id}/custody`).set('Authorization', bearer(investigator))).body.events;
      return events.filter((e: { event: { action: string } }) => e.event.action === 'evidence.downloaded');
    };
    await page.goto(`${base}/evidence/${evidence.id}`);
    const video = page.locator('figure.preview video');
    await video.waitFor();
    // Opening the page is not a download: the player shows the poster frame (the preview) and
    // fetches none of the original until it is started.
    await expect.poll(() => video.getAttribute('poster'), { timeout: 20_000 }).toMatch(/^blob:/);
    await sleep(1_000);
    expect(ranged).toEqual([]);
    expect(await downloaded(evidence.id)).toEqual([]);
    expect(await video.evaluate((v: HTMLVideoElement) => v.readyState)).toBe(0);
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    expect(await video.evaluate((v: HTMLVideoElement) => v.duration)).toBeGreaterThan(0);
    expect(await video.evaluate((v: HTMLVideoElement) => v.src)).toBe(`${base}/api/v1/evidence/${evidence.id}/content`);
    await checkScreen(page, 'item with a video');
    // The bytes came by Range requests (206), through the service worker that adds the token,
    // and the archive recorded each read with its range.
    expect(ranged.length, JSON.stringify(ranged)).toBeGreaterThan(0);
    expect(ranged.every((r) => r.status === 206 && /^bytes=\d+-\d*$/.test(r.range))).toBe(true);
    const reads = await downloaded(evidence.id);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((e: { event: { details: { range?: string } } }) => /^bytes=\d+-\d+$/.test(e.event.details.range ?? ''))).toBe(true);

    // The token the worker adds is that tab's alone: another tab of the same browser, not signed
    // in (a shared computer, the first tab closed without signing out), plays nothing, and nor
    // does the first tab once signed out; neither read is recorded. (Another item than the one
    // played: the browser keeps a played video's bytes for its tab without asking again.)
    const unplayed = await submit(t, investigator, await createCase(t, investigator, 'Another video'), fixture('clip.webm'), { filename: 'again.webm', contentType: 'video/webm' });
    expect(unplayed.status).toBe(201);
    const tryToPlay = (tab: Page) =>
      tab.evaluate(
        (src) =>
          new Promise<string>((resolve) => {
            const video = Object.assign(document.createElement('video'), { src, preload: 'auto', muted: true });
            video.addEventListener('loadedmetadata', () => resolve('played'));
            video.addEventListener('error', () => resolve('refused'));
            document.body.append(video);
          }),
        `${base}/api/v1/evidence/${unplayed.body.id}/content`,
      );
    const other = watchPage(await browser.page());
    await other.goto(`${base}/login`);
    expect(await tryToPlay(other)).toBe('refused');
    await other.close();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/login`);
    expect(await tryToPlay(page)).toBe('refused');
    expect(await downloaded(unplayed.body.id)).toEqual([]);
    await page.close();
  });
});

describe('the evidence grid by keyboard', () => {
  it('is one tab stop; arrows move by column and row, End and Home scroll the virtual list, Enter opens the item', async () => {
    const items: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await submit(t, investigator, caseId, randomBytes(64 + i), { metadata: { title: `note ${String(i).padStart(2, '0')}` }, filename: `note-${i}.bin` });
      expect(res.status).toBe(201);
      items.push(res.body.id);
    }
    const page = watchPage(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}`);
    const grid = page.locator('.grid-scroll');
    await page.locator('[data-index="0"]').waitFor();
    const total = Number(await grid.getAttribute('data-total'));
    expect(total).toBe(items.length + 3);
    const columns = Number(await grid.getAttribute('data-columns'));
    expect(columns).toBeGreaterThan(1);
    expect(await grid.locator('a[tabindex="0"]').count()).toBe(1);
    const focused = () => page.evaluate(() => document.activeElement?.closest('[data-index]')?.getAttribute('data-index') ?? null);
    const focusedId = () => page.evaluate(() => document.activeElement?.closest('[data-evidence-id]')?.getAttribute('data-evidence-id') ?? null);

    // Tab from the filters' last control lands on the first cell; Tab again leaves the grid.
    await page.getByRole('button', { name: 'Apply' }).focus();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('0');
    await page.keyboard.press('Tab');
    expect(await focused()).toBeNull();
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('0');

    await page.keyboard.press('ArrowRight');
    expect(await focused()).toBe('1');
    await page.keyboard.press('ArrowDown');
    expect(await focused()).toBe(String(1 + columns));
    await page.keyboard.press('ArrowLeft');
    expect(await focused()).toBe(String(columns));
    await page.keyboard.press('ArrowUp');
    expect(await focused()).toBe('0');
    await page.keyboard.press('ArrowUp');
    expect(await focused()).toBe('0');
    expect(await grid.locator('a[tabindex="0"]').count()).toBe(1);

    await page.keyboard.press('End');
    expect(await focused()).toBe(String(total - 1));
    expect(await grid.evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
    await checkScreen(page, 'evidence grid at its end');
    await page.keyboard.press('Home');
    expect(await focused()).toBe('0');
    expect(await grid.evaluate((el) => el.scrollTop)).toBe(0);
    await page.keyboard.press('ArrowDown');
    const chosen = await focusedId();
    expect(chosen).toBeTruthy();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/evidence/${chosen}`);
    await page.locator('figure.preview').waitFor();
    await page.close();
  });
});

describe('the evidence grid\'s filters', () => {
  it('are kept in its address: a reload, Back from an item and the address sent on show the same selection; a place searched is not kept', async () => {
    const page = watchPage(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}`);
    await page.locator('[data-index="0"]').waitFor();
    const filters = page.getByRole('form', { name: 'Filters' });
    const count = page.locator('.evidence .count');
    const shownTitles = async () => {
      await expect.poll(() => count.textContent()).toBe('1 item shown');
      return page.locator('[data-index="0"] .cell-name').textContent();
    };
    await filters.getByLabel('Text', { exact: true }).fill('note 07');
    await filters.getByLabel('Status').selectOption('received');
    await filters.getByLabel('Near (lat, lon)').fill('50.0, 36.2');
    await filters.getByLabel('Near (lat, lon)').fill('');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    expect(await shownTitles()).toContain('note 07');
    const address = new URL(page.url());
    expect(Object.fromEntries(address.searchParams)).toEqual({ q: 'note 07', status: 'received' });

    await page.reload();
    expect(await shownTitles()).toContain('note 07');
    expect(await filters.getByLabel('Text', { exact: true }).inputValue()).toBe('note 07');
    expect(await filters.getByLabel('Status').inputValue()).toBe('received');

    await page.locator('[data-index="0"] a').first().click();
    await page.waitForURL(/\/evidence\//);
    await page.goBack();
    expect(await shownTitles()).toContain('note 07');

    // A place searched near is used, and stays out of the address (the browser's history keeps it).
    await filters.getByLabel('Near (lat, lon)').fill('50.0, 36.2');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => count.textContent()).toBe('0 items shown');
    expect(page.url()).not.toMatch(/near|50\.0|36\.2/);
    await page.close();
  });
});

describe('account administration', () => {
  it('disables and enables a user, sets a password, issues a device token shown once and revokes it; errors beside the fields', async () => {
    const field = await t.user('documenter', 'Petro Field');
    const page = watchPage(await browser.page());
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await signIn(page, t.admin);
    await page.goto(`${base}/admin`);

    // Ending someone's access is asked about first; answered no, nothing happens.
    const asked: string[] = [];
    const answer = (yes: boolean) =>
      page.once('dialog', (dialog) => {
        asked.push(dialog.message());
        void (yes ? dialog.accept() : dialog.dismiss());
      });
    // No administrator is offered to disable their own account.
    await page.getByRole('button', { name: 'Disable: Petro Field' }).waitFor();
    expect(await page.getByRole('button', { name: 'Disable: Administrator' }).count()).toBe(0);
    // Disabling needs a reason: the API's message is shown beside the reason field.
    answer(true);
    await page.getByRole('button', { name: 'Disable: Petro Field' }).click();
    const reason = page.getByLabel('Reason for account changes (recorded in the custody log)');
    await expect.poll(() => reason.getAttribute('aria-invalid')).toBe('true');
    expect(await whoIs(field.token)).toBe(field.id);
    await reason.fill('phone lost at a checkpoint');
    answer(false);
    await page.getByRole('button', { name: 'Disable: Petro Field' }).click();
    await expect.poll(() => asked.length).toBe(2);
    expect(asked[1]).toBe('Disable the account of Petro Field? Every session and device token ends at once, and they cannot sign in until an administrator enables it.');
    expect(await whoIs(field.token)).toBe(field.id);
    answer(true);
    await page.getByRole('button', { name: 'Disable: Petro Field' }).click();
    await page.locator('[role=status]').filter({ hasText: 'Petro Field is disabled' }).waitFor();
    expect(await whoIs(field.token)).toBe(401);
    expect((await t.http.post('/api/v1/auth/login').send({ email: field.email, password: field.password })).status).toBe(401);
    await page.getByRole('button', { name: 'Enable: Petro Field' }).click();
    await page.locator('[role=status]').filter({ hasText: 'Petro Field is enabled again' }).waitFor();

    // A new password: too short is refused beside the field; then it works for signing in.
    await page.getByRole('button', { name: 'Tokens: Petro Field', exact: true }).click();
    const passwordForm = page.getByRole('form', { name: 'Set a new password: Petro Field' });
    await passwordForm.getByLabel('New password').fill('short');
    await passwordForm.getByRole('button', { name: 'Set a new password' }).click();
    await expect.poll(() => passwordForm.getByLabel('New password').getAttribute('aria-invalid')).toBe('true');
    const newPassword = 'a new password for Petro, long enough';
    await passwordForm.getByLabel('New password').fill(newPassword);
    await passwordForm.getByLabel('Must change it at next sign-in').uncheck();
    await passwordForm.getByRole('button', { name: 'Set a new password' }).click();
    await passwordForm.getByText('The password of Petro Field is set').waitFor();
    const login = await t.http.post('/api/v1/auth/login').send({ email: field.email, password: newPassword });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(field.id);
    expect((await t.http.post('/api/v1/auth/login').send({ email: field.email, password: field.password })).status).toBe(401);

    // A device token: an expiry in the past is refused beside its field; then one is issued, shown once.
    const tokenForm = page.getByRole('form', { name: 'Issue a device token: Petro Field' });
    await tokenForm.getByLabel('Device name').fill('Pixel 7, Izium team');
    await tokenForm.getByLabel('Expires at (optional, your time)').fill('2020-01-01T00:00');
    await tokenForm.getByRole('button', { name: 'Issue a device token' }).click();
    await expect.poll(() => tokenForm.getByLabel('Expires at (optional, your time)').getAttribute('aria-invalid')).toBe('true');
    await tokenForm.getByLabel('Expires at (optional, your time)').fill('');
    await tokenForm.getByRole('button', { name: 'Issue a device token' }).click();
    const shown = page.locator('[data-testid=issued-token]');
    await shown.waitFor();
    const deviceToken = await shown.inputValue();
    expect(deviceToken.length).toBeGreaterThan(20);
    expect(await whoIs(deviceToken)).toBe(field.id);
    await tokenForm.getByRole('button', { name: 'Copy' }).click();
    await tokenForm.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(deviceToken);
    const row = page.locator('table').last().locator('tbody tr').filter({ hasText: 'Pixel 7, Izium team' });
    await row.waitFor();
    await checkScreen(page, 'users with an account open');

    // Revoked one by one: that token stops working, the user's other device token does not.
    const other = await t.http.post('/api/v1/auth/tokens').set('Authorization', `Bearer ${login.body.accessToken}`).send({ name: 'Old tablet' });
    expect(other.status).toBe(201);
    await page.getByRole('button', { name: 'Tokens: Petro Field', exact: true }).click();
    await page.getByRole('button', { name: 'Revoke: Pixel 7, Izium team' }).click();
    await page.locator('[role=status]').filter({ hasText: 'Token Pixel 7, Izium team of Petro Field is revoked' }).waitFor();
    expect(await whoIs(deviceToken)).toBe(401);
    expect(await whoIs(other.body.token)).toBe(field.id);
    // The list drops it once the console has re-read it (the API refused the token already, above).
    await expect.poll(() => page.getByRole('button', { name: 'Revoke: Pixel 7, Izium team' }).count()).toBe(0);
    // ...and all at once, asked first.
    answer(false);
    await page.getByRole('button', { name: 'Revoke all tokens: Petro Field' }).click();
    await expect.poll(() => asked.length).toBe(4);
    expect(asked[3]).toMatch(/^Revoke every session and device token of Petro Field\?/);
    expect(await whoIs(other.body.token)).toBe(field.id);
    answer(true);
    await page.getByRole('button', { name: 'Revoke all tokens: Petro Field' }).click();
    await page.locator('[role=status]').filter({ hasText: 'Every session and device token of Petro Field is revoked' }).waitFor();
    expect(await whoIs(other.body.token)).toBe(401);
    await page.close();

    // The issued token is an account change in the custody log, with no secret in it.
    await integrate();
    const logged = await t.db.superuserQuery(`SELECT convert_from(event_bytes, 'UTF8') AS event FROM custody_events WHERE action = 'tokens.created' AND subject_id = $1`, [field.id]);
    expect(logged).toHaveLength(1);
    const text = String((logged[0] as { event: string }).event);
    const event = JSON.parse(text);
    expect(event).toMatchObject({ actor: { id: t.admin.id, role: 'admin' }, subject: { type: 'user', id: field.id }, caseId: null, details: { kind: 'api' } });
    expect(text).not.toContain(deviceToken);
  });

  it('lets only administrators issue a token for someone else, never for a disabled or unknown account', async () => {
    const target = await t.user('documenter', 'Oksana Field');
    const issue = (as: TestUser, id: string, body: object = { name: 'phone' }) => t.http.post(`/api/v1/users/${id}/tokens`).set('Authorization', bearer(as)).send(body);
    expect((await issue(investigator, target.id)).status).toBe(403);
    expect((await issue(target, target.id)).status).toBe(403);
    expect((await issue(t.admin, '0b6f2f3e-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await issue(t.admin, target.id, { name: 'phone', extra: 1 })).status).toBe(400);
    const issued = await issue(t.admin, target.id, { name: 'phone', expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({ name: 'phone', revokedAt: null });
    expect(await whoIs(issued.body.token)).toBe(target.id);
    const listed = await t.http.get(`/api/v1/users/${target.id}/tokens`).set('Authorization', bearer(t.admin));
    expect(listed.body.find((tok: { id: string }) => tok.id === issued.body.id)).toMatchObject({ kind: 'api', name: 'phone' });
    const off = await t.http.patch(`/api/v1/users/${target.id}`).set('Authorization', bearer(t.admin)).send({ disabled: true, reason: 'left the team' });
    expect(off.status).toBe(200);
    expect((await issue(t.admin, target.id)).status).toBe(409);
  });
});

describe('accessibility and CSP', () => {
  it('has no serious or critical axe-core violation on the screens changed, and no CSP violation', () => {
    expect(accessibility.map((a) => a.screen)).toEqual(
      expect.arrayContaining(['upload of a big file', 'upload waiting for its receipt', 'item with its fetched receipt', 'item with a video', 'evidence grid at its end', 'users with an account open']),
    );
    expect(accessibility.filter((a) => a.violations.length > 0)).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
