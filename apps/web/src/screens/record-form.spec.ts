import { describe, expect, it } from 'vitest';
import { figureOf, figureText } from './record-form.js';

describe('figures as typed and shown', () => {
  it('reads a number, a range with any dash and spaces, nothing; leaves anything else as typed for the API to name', () => {
    expect(figureOf('3')).toBe(3);
    expect(figureOf(' 12 ')).toBe(12);
    for (const typed of ['2-5', '2 – 5', '2—5', '2‒5', '2−5']) expect(figureOf(typed)).toEqual({ min: 2, max: 5 });
    // A range the wrong way round goes as it is: the API says min must not be greater than max.
    expect(figureOf('5-2')).toEqual({ min: 5, max: 2 });
    expect(figureOf('')).toBeNull();
    expect(figureOf('   ')).toBeNull();
    expect(figureOf('two')).toBe('two');
    expect(figureOf('-3')).toBe(-3);
    expect(figureOf('2-')).toBe('2-');
  });

  it('shows one number where the range is one, else the range with an en dash, and reads back what it shows', () => {
    expect(figureText(null)).toBe('');
    expect(figureText({ min: 4, max: 4 })).toBe('4');
    expect(figureText({ min: 0, max: 12 })).toBe('0–12');
    expect(figureOf(figureText({ min: 0, max: 12 }))).toEqual({ min: 0, max: 12 });
  });
});
