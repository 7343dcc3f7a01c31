import { describe, expect, it } from 'vitest';
import { makeI18n, MESSAGES } from './i18n.js';

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
});
