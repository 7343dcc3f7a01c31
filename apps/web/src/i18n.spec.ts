import { describe, expect, it } from 'vitest';
import { contentLang, makeI18n, MESSAGES } from './i18n.js';

describe('the console\'s messages', () => {
  it('take the form a count needs: 1 item, 2 items; in Ukrainian one, few, many, other', () => {
    const en = makeI18n('en', []);
    expect([1, 2, 21].map((n) => en.t('grid.count', { n }))).toEqual(['1 item shown', '2 items shown', '21 items shown']);
    expect(en.t('remnants.found', { n: 1 })).toBe('1 remnant shown');
    // No Ukrainian message has forms yet ("Показано: {n}"); one that has takes Intl's categories in this order.
    const original = MESSAGES.uk;
    MESSAGES.uk = { ...original, 'grid.count': '{n} файл|{n} файли|{n} файлів|{n} файлу' };
    try {
      const uk = makeI18n('uk', []);
      expect([1, 2, 5, 21, 1.5].map((n) => uk.t('grid.count', { n }))).toEqual(['1 файл', '2 файли', '5 файлів', '21 файл', '1.5 файлу']);
    } finally {
      MESSAGES.uk = original;
    }
  });

  it("give a recording's length as a clock reads it, with the language's decimal sign under a minute", () => {
    const [en, uk] = [makeI18n('en', []), makeI18n('uk', [])];
    expect([5.3, 1.9, 0.04, 59.96, 125, 3725.4].map((s) => en.duration(s))).toEqual(['0:05.3', '0:01.9', '0:00.0', '1:00', '2:05', '1:02:05']);
    expect(uk.duration(5.3)).toBe('0:05,3');
  });

  it("agree a package's progress with its count: з 1 (21) доказу, з 5 доказів; 1 item, 2 items", () => {
    const uk = makeI18n('uk', []);
    const progress = (done: number, all: number) => uk.t('exports.progress', { n: all, done, all });
    expect([progress(1, 1), progress(3, 21), progress(2, 2), progress(4, 5), progress(0, 11)]).toEqual([
      '1 з 1 доказу',
      '3 з 21 доказу',
      '2 з 2 доказів',
      '4 з 5 доказів',
      '0 з 11 доказів',
    ]);
    const en = makeI18n('en', []);
    expect([en.t('exports.progress', { n: 1, done: 0, all: 1 }), en.t('exports.progress', { n: 3, done: 1, all: 3 })]).toEqual(['0 of 1 item', '1 of 3 items']);
  });

  it("mark what people wrote in the other language: Cyrillic in the English console, Latin-only text in the Ukrainian one", () => {
    expect(contentLang('Обстріл Салтівки', 'en')).toBe('uk');
    expect(contentLang('Saltivka: удар', 'en')).toBe('uk');
    expect(contentLang('Saltivka strike', 'en')).toBeUndefined();
    expect(contentLang('Saltivka strike', 'uk')).toBe('en');
    expect(contentLang('Удар по Saltivka', 'uk')).toBeUndefined();
    // Digits, codes and hashes carry no language.
    for (const text of ['2026-11-24', '12345', '', null, undefined]) for (const ui of ['en', 'uk'] as const) expect(contentLang(text, ui), String(text)).toBeUndefined();
  });

  it('write the Ukrainian apostrophe as one letter, ʼ (U+02BC), never the quotation mark ’ or \'', () => {
    const split = Object.entries(MESSAGES.uk).filter(([, text]) => /\p{Script=Cyrillic}['’]\p{Script=Cyrillic}/u.test(text));
    expect(split).toEqual([]);
    expect(MESSAGES.uk['casualty.name']).toBe('Імʼя');
  });
});
