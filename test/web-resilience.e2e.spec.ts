/// <reference lib="dom" />
// The console when things go wrong, in a real Chromium against the real API and PostgreSQL: a
// session ended while typing, no network at a reload or during a check, a double click, a
// refused file, a screen the user may not open (from an outside audit of the console).
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Locator, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestUser } from './support/app.js';
import { buildWebConsole, ConsoleChecks, startBrowser, type TestBrowser } from './support/browser.js';
import { bearer, createCase, fixture, submit, waitProcessed } from './support/evidence.js';

let t: TestApp;
let browser: TestBrowser;
let base: string;
let investigator: TestUser;
let documenter: TestUser;
/** A documenter whose sessions the first test revokes. */
let seized: TestUser;
let caseId: string;
const checks = new ConsoleChecks();

const signIn = (page: Page, user: { email: string; password: string }) => checks.signIn(page, base, user);
/** Signs in through the sign-in that comes up over the screens when a session ends. */
async function signInOver(dialog: Locator, user: { email: string; password: string }): Promise<void> {
  await dialog.locator('input[type=email]').fill(user.email);
  await dialog.locator('input[type=password]').fill(user.password);
  await dialog.locator('button[type=submit]').click();
  await dialog.waitFor({ state: 'detached' });
}
const api = (user: TestUser) => ({
  get: (path: string) => t.http.get(`/api/v1${path}`).set('Authorization', bearer(user)),
  post: (path: string, body: object) => t.http.post(`/api/v1${path}`).set('Authorization', bearer(user)).send(body),
});
const strike = { title: 'Удар по Салтівці', type: 'air_drone_strike', startAt: '2026-11-20T01:40:00+02:00' };

beforeAll(async () => {
  await buildWebConsole();
  t = await startTestApp();
  base = await t.listen();
  investigator = await t.user('investigator', 'Olena Investigator');
  documenter = await t.user('documenter', 'Taras Documenter');
  seized = await t.user('documenter', 'Ihor Documenter');
  caseId = await createCase(t, investigator, 'Kharkiv: resilience', [documenter, seized]);
  browser = await startBrowser();
}, 300_000);

// A failure in the browser says what the pages showed then (a screenshot is not in CI's output).
beforeEach(({ onTestFailed }) => onTestFailed(async () => console.error(await checks.explain())));

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the console in Chromium, when things go wrong', () => {
  it('a session ended while typing asks to sign in again over the screen, and what was typed is kept; another person gets a fresh console', async () => {
    const page = checks.watch(await browser.page());
    await signIn(page, seized);
    await page.goto(`${base}/cases/${caseId}/incidents/new`);
    const title = page.getByLabel('Назва', { exact: true });
    await title.fill('Влучання у під’їзд, вул. Гвардійців-Широнінців');
    // Meanwhile an administrator revokes every session of the documenter (a phone seized).
    const revoked = await t.http.delete(`/api/v1/users/${seized.id}/tokens?reason=${encodeURIComponent('phone seized')}`).set('Authorization', bearer(t.admin));
    expect(revoked.status).toBe(200);
    await page.getByRole('button', { name: 'Створити' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Ваш сеанс завершено');
    await checks.checkScreen(page, 'session ended');
    // The screen behind stays as it was, and cannot be used until the user signs in.
    expect(await page.locator('.shell').getAttribute('inert')).not.toBeNull();
    expect(await title.inputValue()).toBe('Влучання у під’їзд, вул. Гвардійців-Широнінців');
    await signInOver(dialog, seized);
    expect(await title.inputValue()).toBe('Влучання у під’їзд, вул. Гвардійців-Широнінців');

    // Someone else signing in over an ended session does not see the documenter's screen.
    await t.http.delete(`/api/v1/users/${seized.id}/tokens?reason=${encodeURIComponent('again')}`).set('Authorization', bearer(t.admin));
    await page.getByRole('button', { name: 'Створити' }).click();
    await dialog.waitFor();
    await signInOver(dialog, investigator);
    await expect.poll(() => page.locator('.who').textContent()).toContain('Olena Investigator');
    expect(await page.locator('h1').textContent()).toBe('Справи');
    expect(await page.locator('input').evaluateAll((inputs) => inputs.some((input) => (input as HTMLInputElement).value.includes('Влучання')))).toBe(false);
    // Nothing was recorded by the refused click.
    expect((await api(investigator).get(`/cases/${caseId}/incidents`)).body.items).toEqual([]);
    await page.close();
  });

  it('a reload without network keeps the session and asks again; it goes on once the archive answers', async () => {
    const page = checks.watch(await browser.page());
    await signIn(page, investigator);
    await page.route('**/api/v1/**', (route) => route.abort('internetdisconnected'));
    await page.reload();
    await page.getByRole('heading', { name: 'Немає зʼєднання з архівом' }).waitFor();
    expect(await page.locator('input[type=password]').count()).toBe(0);
    await checks.checkScreen(page, 'no connection');
    await page.unroute('**/api/v1/**');
    await page.getByRole('button', { name: 'Спробувати знову' }).click();
    await page.locator('header.top').waitFor();
    expect(await page.locator('h1').textContent()).toBe('Справи');
    await page.close();
  });

  it('a check the network stops says it could not check, never that verification failed; the custody in words; the original downloads', async () => {
    const photo = (await submit(t, investigator, caseId, fixture('metadata-rich.jpg'), { filename: 'strike.jpg', contentType: 'image/jpeg' })).body.id as string;
    await waitProcessed(t, investigator, photo);
    const page = checks.watch(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/evidence/${photo}`);
    const verify = page.getByRole('button', { name: 'Перевірити в цьому браузері' });
    await verify.waitFor();
    await page.route('**/api/v1/log/**', (route) => route.abort('internetdisconnected'));
    await verify.click();
    const verdict = page.locator('.verify [data-verdict]').first();
    await verdict.waitFor();
    expect(await verdict.getAttribute('data-verdict')).toBe('unchecked');
    expect(await verdict.textContent()).toBe('Не вдалося перевірити. Немає зʼєднання з архівом. Перевірте мережу і спробуйте ще раз. Це нічого не каже про доказ.');
    await page.unroute('**/api/v1/log/**');
    await verify.click();
    await expect.poll(() => verdict.getAttribute('data-verdict'), { timeout: 30_000 }).toBe('verified');
    // The item's custody in words, the action's code beside them; what the archive did is said as such.
    const rows = page.locator('table.custody tbody tr');
    expect(await rows.first().textContent()).toContain('Доказ отримано evidence.submitted');
    // Who: the person by name where the case's members are known, and their role.
    await expect.poll(() => rows.first().locator('td').last().textContent()).toBe('Olena Investigator · Слідчий');
    expect(await rows.filter({ hasText: 'evidence.metadata_extracted' }).first().textContent()).toContain('Прочитано вбудовані метадані');
    expect(await rows.filter({ hasText: 'evidence.metadata_extracted' }).first().locator('td').last().textContent()).toBe('Архів');
    // The original, byte for byte under its name, and the download recorded: once, for a double click.
    const saving = page.waitForEvent('download');
    await page.getByRole('button', { name: /^Завантажити оригінал/ }).dblclick();
    const download = await saving;
    await page.getByRole('status').filter({ hasText: 'Завантаження почалося' }).waitFor();
    // Saved by following a one-time link (streamed to disk), not copied into the page's memory first.
    expect(download.url()).toMatch(new RegExp(`^${base}/api/v1/evidence/${photo}/content\\?link=cdl_[A-Za-z0-9_-]{43}$`));
    expect(download.suggestedFilename()).toBe('strike.jpg');
    expect(await readFile((await download.path())!)).toEqual(fixture('metadata-rich.jpg'));
    const custody = (await api(investigator).get(`/evidence/${photo}/custody`)).body.events as { event: { action: string } }[];
    expect(custody.filter((e) => e.event.action === 'evidence.downloaded')).toHaveLength(1);
    // A download the archive refuses (here its link, as for an item no longer open to the user) is said, not silent.
    await page.route('**/api/v1/auth/download-links', (route) =>
      route.fulfill({ status: 404, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'The evidence item was not found' }) }),
    );
    await expect.poll(() => page.getByRole('button', { name: /^Завантажити оригінал/ }).isEnabled(), { timeout: 5000 }).toBe(true);
    await page.getByRole('button', { name: /^Завантажити оригінал/ }).click();
    await page.locator('.download-original [role=alert]').filter({ hasText: 'Не знайдено, або у вас немає доступу.' }).waitFor();
    await page.close();
  });

  it('says in Ukrainian what a documenter may not open, shows no form for it, and their own incident read-only', async () => {
    const theirs = (await api(investigator).post(`/cases/${caseId}/incidents`, { ...strike, title: 'Звіт слідчого' })).body.id as string;
    const own = (await api(documenter).post(`/cases/${caseId}/incidents`, { ...strike, title: 'Мій звіт' })).body.id as string;
    const item = (await submit(t, investigator, caseId, Buffer.from('statement of a witness'), { filename: 'statement.txt' })).body.id as string;
    const page = checks.watch(await browser.page());
    await signIn(page, documenter);
    await page.goto(`${base}/evidence/${item}`);
    await expect.poll(() => page.locator('.error').first().textContent()).toBe('Не знайдено, або у вас немає доступу.');
    await page.goto(`${base}/incidents/${theirs}`);
    await expect.poll(() => page.locator('.error').first().textContent()).toBe('Не знайдено, або у вас немає доступу.');
    expect(await page.locator('form').count()).toBe(0);
    expect(await page.locator('a[href*="undefined"]').count()).toBe(0);
    await page.goto(`${base}/incidents/${own}`);
    const title = page.getByLabel('Назва', { exact: true });
    await expect.poll(() => title.inputValue()).toBe('Мій звіт');
    expect(await title.isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Зберегти' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Повʼязати доказ' }).count()).toBe(0);
    await checks.checkScreen(page, 'a documenter\'s own incident, read-only');
    await page.close();
  });

  it('a double click makes one case, not two; the new screen is named in the title and has the focus, and Back returns it to the link followed', async () => {
    const page = checks.watch(await browser.page());
    await signIn(page, investigator);
    const before = (await api(investigator).get('/cases')).body.length as number;
    await page.getByLabel('Назва', { exact: true }).fill('Одна справа');
    await page.getByRole('button', { name: 'Створити' }).dblclick();
    await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
    // The new screen: the window's title names it, and the keyboard starts at its content.
    await expect.poll(() => page.title()).toBe('Одна справа · Custodia');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    const after = (await api(investigator).get('/cases')).body as { title: string }[];
    expect(after.length).toBe(before + 1);
    expect(after.filter((c) => c.title === 'Одна справа')).toHaveLength(1);

    // Back to the list: the focus returns to the link that was followed, not to the top.
    const created = new URL(page.url()).pathname;
    await page.goto(`${base}/`);
    await page.locator(`main a[href="${created}"]`).click();
    await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
    await page.goBack();
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('href')), { timeout: 10_000 }).toBe(created);
    // Forward again: a screen opened anew starts at its content.
    await page.goForward();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id), { timeout: 10_000 }).toBe('main');
    await page.close();
  });

  it('a screen opened after the session ended is shown once its user signs in again, not its refusal', async () => {
    const page = checks.watch(await browser.page());
    await signIn(page, seized);
    await page.goto(`${base}/cases/${caseId}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Kharkiv: resilience');
    expect((await t.http.delete(`/api/v1/users/${seized.id}/tokens?reason=again`).set('Authorization', bearer(t.admin))).status).toBe(200);
    await page.locator('nav.tabs').getByRole('link', { name: 'Події' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    await signInOver(dialog, seized);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Kharkiv: resilience');
    await expect.poll(() => page.locator('.error, [role=alert]').allTextContents()).toEqual([]);
    expect(page.url()).toMatch(/\/incidents$/);
    await page.close();
  });

  it('a sign-out the archive does not hear is said on the sign-in screen; one it hears is not', async () => {
    const page = checks.watch(await browser.page());
    await signIn(page, documenter);
    await page.route('**/api/v1/auth/logout', (route) => route.abort('internetdisconnected'));
    await page.getByRole('button', { name: 'Вийти' }).click();
    await page.waitForURL(`${base}/login`);
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/^Ви вийшли на цьому пристрої, але не вдалося звʼязатися з архівом/);
    await page.unroute('**/api/v1/auth/logout');
    await signIn(page, documenter);
    await page.getByRole('button', { name: 'Вийти' }).click();
    await page.waitForURL(`${base}/login`);
    await page.getByRole('button', { name: 'Увійти' }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.close();
  });

  it('a session ended during an upload asks to sign in again, and the upload then goes on from where it was', async () => {
    const page = checks.watch(await browser.page());
    await signIn(page, seized);
    await page.goto(`${base}/cases/${caseId}/upload`);
    // An administrator revokes the documenter's sessions while the file's bytes are on their way.
    let revoked = false;
    await page.route('**/api/v1/uploads/*', async (route) => {
      if (!revoked && route.request().method() === 'PATCH') {
        revoked = true;
        expect((await t.http.delete(`/api/v1/users/${seized.id}/tokens?reason=lost`).set('Authorization', bearer(t.admin))).status).toBe(200);
      }
      await route.continue();
    });
    const bytes = randomBytes(3 * 1024 * 1024);
    await page.locator('[data-testid=upload-input]').setInputFiles({ name: 'long.bin', mimeType: 'application/octet-stream', buffer: bytes });
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor({ timeout: 30_000 });
    expect(revoked).toBe(true);
    await signInOver(dialog, seized);
    await page.locator('.uploads li[data-phase=done]').waitFor({ timeout: 60_000 });
    expect(await page.locator('.uploads li[data-phase=failed]').count()).toBe(0);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const items = (await api(investigator).get(`/cases/${caseId}/evidence?limit=200`)).body.items as { sha256: string; submittedBy: { id: string } }[];
    expect(items.filter((item) => item.sha256 === sha256).map((item) => item.submittedBy.id)).toEqual([seized.id]);
    await page.close();
  });

  it('uploads: half a position is refused before sending, an empty file says why in a sentence, the list outlives a change of tab', async () => {
    const page = checks.watch(await browser.page());
    await signIn(page, documenter);
    await page.goto(`${base}/cases/${caseId}/upload`);
    await page.getByLabel('Широта').fill('50.01');
    const input = page.locator('[data-testid=upload-input]');
    await input.setInputFiles({ name: 'half-place.jpg', mimeType: 'image/jpeg', buffer: fixture('metadata-rich.jpg') });
    await expect.poll(() => page.locator('.narrow .error').textContent()).toBe('Вкажіть і широту, і довготу або не вказуйте жодної з них.');
    expect(await page.locator('.uploads li').count()).toBe(0);
    await page.getByLabel('Широта').fill('');

    await input.setInputFiles({ name: 'empty.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(0) });
    const refused = page.locator('.uploads li[data-phase=failed] .error');
    await refused.waitFor({ timeout: 30_000 });
    const message = (await refused.textContent()) ?? '';
    // The alert names the file it is about; the live region says the same to a screen reader.
    expect(message).toMatch(/^empty\.jpg: Архів відхилив запит: Файл порожній \(0 байтів\)/);
    expect(message).not.toMatch(/tus:|\{"type"|response code/);
    const announcer = page.locator('[data-testid=announcer]');
    await expect.poll(() => announcer.textContent(), { timeout: 10_000 }).toMatch(/^empty\.jpg не отримано\. Архів відхилив запит: Файл порожній/);

    // What a documenter declares goes with the file: title, tags, their incident, the time with this device's offset.
    await page.getByLabel('Назва (кожного надісланого файлу)').fill('Під’їзд після удару');
    await page.getByLabel('Теги (через кому)').fill('вхід, уламки');
    await page.getByLabel('Подія').selectOption({ label: 'INC-0002 Мій звіт' });
    const when = page.getByLabel('Час зйомки (ваш час)');
    await when.fill('2026-11-20T01:40');
    expect(await page.locator(`#${await when.getAttribute('aria-describedby')}`).textContent()).toBe('За часом цього пристрою: Europe/Kyiv, UTC+02:00');
    const answer = page.waitForResponse((res) => res.url().endsWith(`/cases/${caseId}/evidence`) && res.request().method() === 'POST');
    await input.setInputFiles({ name: 'entrance.jpg', mimeType: 'image/jpeg', buffer: fixture('metadata-rich.jpg') });
    await page.locator('.uploads li[data-phase=done]').waitFor({ timeout: 60_000 });
    await expect.poll(() => announcer.textContent(), { timeout: 30_000 }).toBe('Квитанцію для entrance.jpg перевірено в цьому браузері.');
    const item = (await (await answer).json()) as { id: string };
    expect(await page.locator('.uploads li[data-phase=done] [data-testid=sent]').textContent()).toMatch(/^100% · ([\d,]+) КБ \/ \1 КБ$/);
    const stored = (await api(documenter).get(`/evidence/${item.id}`)).body;
    expect(stored).toMatchObject({ title: 'Під’їзд після удару', tags: ['вхід', 'уламки'], declared: { capturedAt: '2026-11-19T23:40:00.000Z', capturedAtOffset: '+02:00' } });
    expect(stored.incidentId).toBeTruthy();
    const tabs = page.locator('nav.tabs');
    await tabs.getByRole('link', { name: 'Докази' }).click();
    await page.waitForURL(/\/cases\/[0-9a-f-]{36}(\/evidence)?$/);
    // The grid says which time each cell shows: here the one declared.
    const cell = page.locator('.cell').filter({ hasText: 'Під’їзд після удару' });
    await expect.poll(async () => (await cell.count()) > 0 && (await cell.locator('small').textContent())).toBe('Заявлено: 20 лист. 2026 р., 01:40:00 (Київ)');
    await tabs.getByRole('link', { name: 'Надсилання' }).click();
    await expect.poll(() => page.locator('.uploads li').count()).toBe(2);
    expect(await page.locator('.uploads li[data-phase=done] strong').textContent()).toBe('entrance.jpg');
    await page.close();
  });

  it('asks before a court package with victims\' names, and makes none when the investigator says no', async () => {
    const page = checks.watch(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${caseId}/exports`);
    await page.getByLabel('Включити імена постраждалих (лише пакети для суду, лише слідчі)').check();
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await page.getByRole('button', { name: 'Створити пакет' }).click();
    await expect.poll(() => asked).toEqual(['Цей пакет для суду міститиме імена постраждалих, і журнал зберігання це зафіксує. Створити?']);
    expect((await api(investigator).get(`/cases/${caseId}/exports`)).body.items).toEqual([]);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Створити пакет' }).click();
    await expect.poll(async () => (await api(investigator).get(`/cases/${caseId}/exports`)).body.items.map((e: { includeNames: boolean }) => e.includeNames)).toEqual([true]);
    await page.close();
  });

  it('lets an investigator set an item\'s title, tags and status, write a victim\'s name (an admin never sees it), remove a member; the log reads back page by page', async () => {
    const item = (await submit(t, investigator, caseId, Buffer.from('a witness statement, typed'), { filename: 'statement.txt' })).body.id as string;
    const spare = await t.user('documenter', 'Spare Documenter');
    expect((await api(investigator).post(`/cases/${caseId}/members`, { userId: spare.id })).status).toBe(201);
    const page = checks.watch(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/evidence/${item}`);
    const form = page.locator('form').filter({ has: page.getByRole('heading', { name: 'Назва, опис, теги і статус' }) });
    await form.getByLabel('Назва', { exact: true }).fill('Свідчення мешканки');
    await form.getByLabel('Теги (через кому)').fill('свідок, під’їзд 3');
    await form.getByLabel('Статус').selectOption({ label: 'На перевірці' });
    await form.getByLabel('Причина').fill('first reading');
    await form.getByRole('button', { name: 'Зберегти' }).click();
    await form.getByText('Збережено і записано в журнал зберігання.').waitFor();
    expect((await api(investigator).get(`/evidence/${item}`)).body).toMatchObject({ title: 'Свідчення мешканки', tags: ['свідок', 'під’їзд 3'], status: 'under_review' });
    await checks.checkScreen(page, 'an item, annotated');

    await page.goto(`${base}/cases/${caseId}/members`);
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await page.getByRole('button', { name: 'Виключити: Spare Documenter' }).click();
    await expect.poll(async () => (await api(investigator).get(`/cases/${caseId}/members`)).body.some((m: { userId: string }) => m.userId === spare.id)).toBe(false);
    expect(asked).toEqual(['Виключити користувача Spare Documenter зі справи? Ця особа одразу втратить до неї доступ; надіслане нею залишиться.']);
    await checks.checkScreen(page, 'members');
    await page.close();

    // A victim's name: written and read by investigators only, never shown to an administrator.
    const incident = (await api(investigator).post(`/cases/${caseId}/incidents`, { ...strike, title: 'Удар по будинку', evidence: [{ evidenceId: item, role: 'witness_account' }] })).body.id as string;
    const investigatorPage = checks.watch(await browser.page());
    await signIn(investigatorPage, investigator);
    await investigatorPage.goto(`${base}/incidents/${incident}`);
    const casualtyForm = investigatorPage.getByRole('form', { name: 'Записати постраждалого' });
    await casualtyForm.getByLabel('Прізвище, імʼя, по батькові (лише для слідчих; зберігається зашифрованим)').fill('Олена Шевчук');
    await casualtyForm.getByLabel('Наслідки для особи').selectOption('killed');
    await casualtyForm.getByRole('button', { name: 'Додати' }).click();
    await casualtyForm.getByText('Постраждалого записано.').waitFor();
    await expect.poll(() => investigatorPage.locator('table').first().textContent()).toContain('Олена Шевчук');
    expect((await api(investigator).get(`/incidents/${incident}/casualties`)).body.items[0].fullName).toBe('Олена Шевчук');
    // A link undone on the incident's page, with its reason.
    const links = investigatorPage.locator('form').filter({ has: investigatorPage.getByRole('button', { name: 'Повʼязати доказ' }) });
    await links.getByLabel('Причина зміни').fill('linked to the wrong strike');
    await investigatorPage.getByRole('button', { name: 'Відʼєднати (з причиною нижче): Свідчення мешканки' }).click();
    await expect.poll(async () => (await api(investigator).get(`/incidents/${incident}`)).body.evidence).toEqual([]);
    await investigatorPage.close();

    // More than two pages of log: every read of an item is an event. As many reads as the log
    // needs to pass 100, whatever the steps before recorded.
    const [{ n: recorded }] = await t.db.superuserQuery<{ n: number }>(`SELECT (SELECT count(*) FROM custody_events) + (SELECT count(*) FROM custody_queue) AS n`);
    for (let i = 0; i < Math.max(60, 110 - Number(recorded)); i++) expect((await api(investigator).get(`/evidence/${item}`)).status).toBe(200);
    await expect.poll(async () => (await t.http.get('/api/v1/log/tree-head')).body.treeSize, { timeout: 30_000 }).toBeGreaterThan(100);
    const admin = checks.watch(await browser.page());
    await signIn(admin, t.admin);
    // Every casualty answer the incident page gets, read while the page still holds it.
    const answers: string[] = [];
    const reads: Promise<unknown>[] = [];
    const listen = (res: Response) => void (res.url().includes('/casualties') && reads.push(res.text().then((text) => answers.push(text))));
    admin.on('response', listen);
    await admin.goto(`${base}/incidents/${incident}`);
    await admin.getByRole('form', { name: 'Записати постраждалого' }).waitFor();
    await expect.poll(() => answers.length).toBeGreaterThan(0);
    expect(await admin.getByText('Олена Шевчук').count()).toBe(0);
    expect(await admin.getByLabel(/Прізвище, імʼя, по батькові/).count()).toBe(0);
    // All read before leaving (a body is gone once the page navigates away), none after.
    admin.off('response', listen);
    await Promise.all(reads);
    expect(answers.join('')).not.toContain('Шевчук');
    await admin.goto(`${base}/log`);
    const rows = admin.locator('table').last().locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(50);
    const oldest = Number(await rows.last().locator('td').first().textContent());
    await admin.getByRole('button', { name: 'Показати 50 попередніх записів' }).click();
    await expect.poll(() => rows.count()).toBe(50 + Math.min(50, oldest));
    expect(Number(await rows.nth(50).locator('td').first().textContent())).toBe(oldest - 1);
    await admin.close();
  });

  it('gives an auditor an item\'s custody and Verify from the log, never its content', async () => {
    const auditor = await t.user('auditor', 'Iryna Auditor');
    expect((await api(investigator).post(`/cases/${caseId}/members`, { userId: auditor.id })).status).toBe(201);
    const item = (await submit(t, investigator, caseId, fixture('metadata-rich.jpg'), { filename: 'audited.jpg', contentType: 'image/jpeg' })).body as { id: string; sha256: string };
    await expect.poll(async () => (await t.http.get('/api/v1/log/tree-head')).body.treeSize, { timeout: 30_000 }).toBeGreaterThan(0);
    const page = checks.watch(await browser.page());
    await signIn(page, auditor);
    // The item's own work done and in the log, so the case's entries stand still while compared.
    await waitProcessed(t, investigator, item.id);
    await t.logged();
    await page.goto(`${base}/log`);
    // One case's entries alone, newest first, as the API gives them.
    await page.getByLabel('Справа').selectOption(caseId);
    const caseLog = (await api(auditor).get(`/log/cases/${caseId}?limit=50`)).body.items as { leafIndex: number }[];
    expect(caseLog.length).toBeGreaterThan(0);
    const leafColumn = page.locator('table').last().locator('tbody tr td:first-child');
    await expect.poll(() => leafColumn.allTextContents()).toEqual(caseLog.map((e) => String(e.leafIndex)));
    const link = page.locator(`a[href="/evidence/${item.id}/custody"]`).first();
    await expect.poll(() => link.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    // The screen reads the item's first custody page once: for the hash and for the history.
    const custodyReads: string[] = [];
    const onRequest = (request: { url(): string }) => void (request.url().includes(`/evidence/${item.id}/custody`) && custodyReads.push(request.url()));
    page.on('request', onRequest);
    await link.click();
    await page.getByRole('heading', { name: `Ланцюг зберігання доказу ${item.id.slice(0, 8)}` }).waitFor();
    expect(await page.locator('.hash').first().textContent()).toBe(`SHA-256 ${item.sha256}`);
    await page.locator('table.custody tbody tr').first().waitFor();
    page.off('request', onRequest);
    expect(custodyReads).toHaveLength(1);
    await page.getByRole('button', { name: 'Перевірити в цьому браузері' }).click();
    const verdict = page.locator('.verify [data-verdict]');
    await expect.poll(() => verdict.getAttribute('data-verdict'), { timeout: 30_000 }).toBe('verified');
    expect(await page.locator('table.custody tbody tr').first().textContent()).toContain('evidence.submitted');
    await expect.poll(() => page.locator('table.custody tbody tr').first().locator('td').last().textContent()).toBe('Olena Investigator · Слідчий');
    await checks.checkScreen(page, 'an item\'s custody, for an auditor');
    // The address works on its own (a reload, a link sent to a colleague); the item itself stays closed to them.
    await page.reload();
    await page.getByRole('heading', { name: `Ланцюг зберігання доказу ${item.id.slice(0, 8)}` }).waitFor();
    expect((await api(auditor).get(`/evidence/${item.id}`)).status).toBe(403);
    await page.close();
  });

  it("names an item's near duplicates, not by the start of their ids", async () => {
    const bytes = fixture('exif-sw-offset.jpg');
    const first = (await submit(t, investigator, caseId, bytes, { filename: 'first night.jpg', contentType: 'image/jpeg', metadata: { title: 'Tail boom, first night' } })).body.id as string;
    const again = (await submit(t, investigator, caseId, bytes, { filename: 'again.jpg', contentType: 'image/jpeg' })).body.id as string;
    await waitProcessed(t, investigator, first);
    expect((await waitProcessed(t, investigator, again)).nearDuplicates.map((d: { id: string }) => d.id)).toContain(first);
    const page = checks.watch(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/evidence/${again}`);
    await page.locator(`a[href="/evidence/${first}"]`, { hasText: 'Tail boom, first night' }).waitFor();
    await page.close();
  });

  it("keeps a grid cell's flags on one line inside the cell, long Ukrainian labels shortened, whole to a screen reader", async () => {
    const flagged = await createCase(t, investigator, 'Прапорці');
    // A PDF sent as a JPEG: its type is contradicted and it carries no metadata; the same bytes again are an exact duplicate too.
    const pdf = fixture('not-an-image.pdf');
    const first = (await submit(t, investigator, flagged, pdf, { filename: 'scan.jpg', contentType: 'image/jpeg' })).body.id as string;
    const second = (await submit(t, investigator, flagged, pdf, { filename: 'scan again.jpg', contentType: 'image/jpeg' })).body.id as string;
    for (const id of [first, second]) await waitProcessed(t, investigator, id);
    const page = checks.watch(await browser.page());
    await signIn(page, investigator);
    await page.goto(`${base}/cases/${flagged}`);
    const cells = page.locator('.cell');
    await expect.poll(() => cells.locator('.badge').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    const layout = await cells.evaluateAll((all) =>
      all.map((cell) => {
        const box = cell.getBoundingClientRect();
        const badges = [...cell.querySelectorAll('.badge')].map((b) => b.getBoundingClientRect());
        return { bottom: box.bottom, right: box.right, badges: badges.map((b) => ({ top: b.top, bottom: b.bottom, right: b.right })) };
      }),
    );
    for (const cell of layout) {
      expect(new Set(cell.badges.map((b) => Math.round(b.top))).size, JSON.stringify(cell)).toBe(1);
      for (const badge of cell.badges) expect(badge.bottom, JSON.stringify(cell)).toBeLessThanOrEqual(cell.bottom);
    }
    const labels = await page.locator(`.cell[data-evidence-id="${first}"] .badge`).allTextContents();
    expect(labels.sort()).toEqual(['Без вбудованих метаданих', 'Розбіжність типу'].sort());
    await page.close();
  });

  it('says how many seconds to wait after too many wrong passwords', async () => {
    const page = checks.watch(await browser.page());
    await page.goto(`${base}/`);
    const failure = page.locator('form .error');
    for (let i = 0; i < 8; i++) {
      await page.locator('input[type=email]').fill(investigator.email);
      await page.locator('input[type=password]').fill(`wrong password number ${i}`);
      await page.locator('form button[type=submit]').click();
      await expect.poll(async () => (await failure.count()) > 0 && !(await page.locator('form button[type=submit]').isDisabled())).toBe(true);
      if (/Забагато/.test((await failure.textContent()) ?? '')) break;
    }
    expect(await failure.textContent()).toMatch(/^Забагато спроб: зачекайте \d+ с і спробуйте знову\.$/);
    await page.close();
  });

  it('has no serious or critical axe-core violation on the screens checked, and no CSP violation', () => {
    expect(checks.accessibility.length).toBeGreaterThan(0);
    expect(checks.accessibility.filter((s) => s.violations.length > 0)).toEqual([]);
    expect(checks.cspViolations).toEqual([]);
  });
});
