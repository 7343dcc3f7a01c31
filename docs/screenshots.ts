/// <reference lib="dom" />
/**
 * Takes the README's screenshots of the web console (docs/screenshots/*.png) in a real Chromium
 * (test/support/browser.ts) against a throw-away archive filled with a small sample case:
 * `npm run docs:screenshots`. Ukrainian first (the console's first language), one in English.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { benchApp } from '../bench/support.js';
import { startBrowser } from '../test/support/browser.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = path.join(ROOT, 'docs/screenshots');
const app = await benchApp('screenshots');
const auth = { Authorization: `Bearer ${app.token}` };

async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${app.url}/api/v1${route}`, { method, headers: { ...auth, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

async function submit(bytes: Buffer, fileName: string, metadata: Record<string, unknown>): Promise<{ id: string }> {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), fileName);
  const res = await fetch(`${app.url}/api/v1/cases/${app.caseId}/evidence`, { method: 'POST', headers: auth, body: form });
  if (!res.ok) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** A night-sky-and-smoke picture, different per seed. */
function picture(seed: number): Promise<Buffer> {
  const width = 320;
  const height = 240;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const glow = Math.max(0, 1 - Math.hypot(x - 80 - seed * 17, y - 150) / 120);
      const noise = ((x * 7919 + y * 104729 + seed * 15485863) % 97) / 97;
      pixels[i] = Math.min(255, 20 + glow * 230 + noise * 20);
      pixels[i + 1] = Math.min(255, 25 + glow * 120 + noise * 15 + (y / height) * 40);
      pixels[i + 2] = Math.min(255, 60 + (1 - y / height) * 80 + noise * 10);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

const places = [
  [49.9935, 36.2304],
  [50.0052, 36.3011],
  [50.0311, 36.3376],
  [49.9808, 36.2527],
];
const ids: string[] = [];
for (let i = 0; i < 14; i++) {
  const [lat, lon] = places[i % places.length]!;
  const item = await submit(await picture(i), `IMG_20261120_${String(110 + i).padStart(4, '0')}.jpg`, {
    capturedAt: `2026-11-20T01:${String(10 + i).padStart(2, '0')}:00+02:00`,
    location: { lat: lat + i * 0.001, lon: lon - i * 0.001 },
    title: i % 3 === 0 ? `Салтівка, будинок ${12 + i}` : undefined,
    tags: i % 2 === 0 ? ['shahed', 'салтівка'] : ['пожежа'],
    sourceType: 'field_capture',
  });
  ids.push(item.id);
}
// One whose embedded time and place disagree with what was declared: flagged.
const mismatched = await submit(await readFile(path.join(ROOT, 'test/fixtures/media/exif-ne-offset.jpg')), 'DJI_0042.jpg', {
  capturedAt: '2026-11-20T01:30:00+02:00',
  location: { lat: 50.0, lon: 36.25 },
  title: 'Знімок з дрона: місце влучання',
});
ids.push(mismatched.id);
const incident = await api<{ id: string }>('POST', `/cases/${app.caseId}/incidents`, {
  title: 'Удар «Шахедами» по Салтівці',
  type: 'air_drone_strike',
  startAt: '2026-11-20T01:08:00+02:00',
  location: { lat: 50.0311, lon: 36.3376 },
  placeName: 'Харків, Салтівський район',
  datePrecision: 'exact',
  geoPrecision: 'vicinity',
  weapons: [{ weaponType: 'uav.owa.shahed_136', identificationBasis: 'remnants_examined', confidence: 'high' }],
  injured: { min: 3, max: 4 },
  breakdown: { injured: { women: 2, men: 1 } },
  grade: 'fair',
  attributions: [{ actor: 'Збройні сили РФ', basis: 'Уламки «Герані-2» з маркуванням; заява Міноборони РФ', confidence: 'high' }],
  evidence: ids.slice(0, 3).map((evidenceId) => ({ evidenceId, role: 'depicts_aftermath' })),
});
await api('POST', `/incidents/${incident.id}/casualties`, { harmStatus: 'injured', sex: 'female', age: 67, civilianStatus: 'civilian' });
await api('POST', `/incidents/${incident.id}/damage`, {
  objectName: 'Житловий будинок, вул. Гвардійців-Широнінців 12',
  objectCategory: 'residential.apartment',
  ihlProtection: ['civilian_object'],
  damageLevel: 'severe',
  assessmentMethod: 'field_visit',
  sources: [{ evidenceId: ids[0]!, reliability: 'reliable' }],
});
// A Geran-2 tail with its stencilled serial, handed to the police laboratory; two more serials of its series.
const remnant = await api<{ id: string }>('POST', `/incidents/${incident.id}/remnants`, {
  weaponType: 'uav.owa.shahed_136',
  component: 'airframe',
  description: 'Хвостова частина з трафаретним маркуванням',
  markings: [
    { text: 'Ш136.02.345', location: 'хвостова балка, ліворуч', method: 'painted' },
    { text: 'ОТК 7', location: 'корінь крила', method: 'stamped' },
  ],
  serialNumber: 'Ш136.02.345',
  attribution: { producer: 'ОЕЗ «Алабуга», Єлабуга', basis: 'marking', confidence: 'medium' },
  condition: 'fragment',
  recoveredAt: '2026-11-20T06:30:00+02:00',
  recoveredBy: 'Піротехнічна група ДСНС, Харків',
  sources: [{ evidenceId: ids[3]!, reliability: 'reliable' }],
  status: 'examined',
});
await api('POST', `/remnants/${remnant.id}/transfers`, { holder: 'Піротехнічна група ДСНС, Харків', place: 'Сховище речових доказів №3', from: '2026-11-20T08:00:00+02:00', note: 'пломба 004512' });
await api('POST', `/remnants/${remnant.id}/transfers`, { holder: 'НДЕКЦ МВС, Харків', place: 'Лабораторія вибухотехніки', from: '2026-11-22T10:00:00+02:00', note: 'акт приймання-передачі 17/2026' });
for (const [serialNumber, recoveredAt] of [
  ['Ш136.02.112', '2026-10-02T10:00:00+03:00'],
  ['Ш136.02.401', '2026-11-03T10:00:00+02:00'],
]) await api('POST', `/incidents/${incident.id}/remnants`, { weaponType: 'uav.owa.shahed_136', component: 'airframe', serialNumber, recoveredAt });
await api('POST', `/cases/${app.caseId}/exports`, { purpose: 'court', note: 'для прокуратури' });
await new Promise((r) => setTimeout(r, 4000));

const browser = await startBrowser({ locale: 'uk-UA' });
try {
  const page = await browser.page();
  const shot = async (name: string, fullPage = false) => {
    await page.waitForTimeout(600);
    await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage });
    process.stdout.write(`docs/screenshots/${name}.png\n`);
  };
  await page.goto(`${app.url}/`);
  await page.locator('input[type=email]').waitFor();
  await shot('sign-in');
  await page.locator('input[type=email]').fill('bench@custodia.test');
  await page.locator('input[type=password]').fill('bench password 123');
  await page.locator('form button[type=submit]').click();
  await page.locator('header.top').waitFor();
  await page.goto(`${app.url}/cases/${app.caseId}`);
  await page.locator('.cell img').first().waitFor();
  await waitThumbnails(page);
  await shot('evidence-grid');
  await page.goto(`${app.url}/evidence/${mismatched.id}`);
  await page.locator('.verify button.primary').click();
  await page.locator('.verify [data-verdict]').waitFor();
  await shot('evidence-item');
  await page.goto(`${app.url}/incidents/${incident.id}`);
  await page.locator('.leaflet-container').waitFor();
  await page.locator('input[inputmode=decimal]').first().fill('95');
  await page.locator('form.record-form button[type=submit]').first().click();
  await page.locator('.field-error').first().waitFor();
  await shot('incident-field-errors');
  await page.reload();
  await page.locator('.leaflet-container').waitFor();
  await shot('incident', true);
  await page.goto(`${app.url}/remnants/${remnant.id}`);
  await page.locator('table.transfers tbody tr').nth(1).waitFor();
  await shot('remnant', true);
  await page.goto(`${app.url}/cases/${app.caseId}/serials`);
  await page.locator('.series .estimate').first().waitFor();
  await shot('remnant-serials');
  await page.goto(`${app.url}/cases/${app.caseId}/map`);
  await page.locator('.leaflet-interactive').first().waitFor();
  await shot('map');
  await page.goto(`${app.url}/cases/${app.caseId}/exports`);
  await page.locator('tr[data-export-status=ready]').waitFor({ timeout: 60_000 });
  await shot('exports');
  await page.goto(`${app.url}/log`);
  await page.locator('tbody tr button').first().click();
  await page.locator('[data-verdict]').first().waitFor();
  await shot('custody-log');
  await page.getByRole('button', { name: 'English' }).click();
  await page.goto(`${app.url}/cases/${app.caseId}/upload`);
  await page.locator('[data-testid=upload-input]').setInputFiles({ name: 'IMG_20261120_0131.jpg', mimeType: 'image/jpeg', buffer: await picture(99) });
  await page.locator('.uploads [data-verdict]').waitFor({ timeout: 60_000 });
  await shot('upload-receipt-en');
} finally {
  await browser.close();
  await app.close();
}

async function waitThumbnails(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const box = document.querySelector('.grid-scroll')!.getBoundingClientRect();
    const cells = [...document.querySelectorAll('.cell')].filter((c) => c.getBoundingClientRect().top < box.bottom);
    return cells.every((c) => c.querySelector('img')?.complete);
  }, undefined, { timeout: 60_000 });
}
