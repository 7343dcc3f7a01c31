import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { I18nContext, makeI18n } from './i18n.js';
import { ApiError } from './api.js';
import { ErrorNote, FlagBadges, WithEnglish } from './ui.js';

const render = (flags: Parameters<typeof FlagBadges>[0]['flags'], max?: number): string =>
  renderToStaticMarkup(createElement(I18nContext.Provider, { value: makeI18n('en', []) }, createElement(FlagBadges, { flags, max })));

describe('FlagBadges', () => {
  it('shows every flag where there is room, and in a grid cell two badges, the second "+N" naming the rest', () => {
    const three = ['exact_duplicate', 'time_mismatch', 'type_mismatch'] as const;
    expect(render([...three])).toBe(
      '<ul class="badges"><li class="badge badge-exact_duplicate" title="Exact duplicate">Exact duplicate</li><li class="badge badge-time_mismatch" title="Time mismatch">Time mismatch</li><li class="badge badge-type_mismatch" title="Type mismatch">Type mismatch</li></ul>',
    );
    expect(render([...three], 2)).toBe(
      '<ul class="badges"><li class="badge badge-exact_duplicate" title="Exact duplicate">Exact duplicate</li><li class="badge badge-more" title="Time mismatch, Type mismatch">+2<span class="visually-hidden">: Time mismatch, Type mismatch</span></li></ul>',
    );
    expect(render(['exact_duplicate', 'time_mismatch'], 2)).not.toContain('badge-more');
    expect(render([], 2)).toBe('');
  });
});

describe('ErrorNote', () => {
  const note = (lang: 'en' | 'uk', error: unknown): string =>
    renderToStaticMarkup(createElement(I18nContext.Provider, { value: makeI18n(lang, []) }, createElement(ErrorNote, { error })));

  it("says a refusal the console knows in Ukrainian, and marks one it does not as English (WCAG 3.1.2)", () => {
    const known = new ApiError(409, 'Conflict', 'A user with this email already exists', []);
    expect(note('uk', known)).toBe('<p class="error" role="alert">Архів відхилив запит: Користувач із цією адресою вже є</p>');
    expect(note('en', known)).toBe('<p class="error" role="alert">The archive refused this: A user with this email already exists</p>');
    const unknown = new ApiError(409, 'Conflict', 'Something the console has no words for', []);
    expect(note('uk', unknown)).toBe('<p class="error" role="alert">Архів відхилив запит: <span lang="en">Something the console has no words for</span></p>');
    expect(note('en', unknown)).not.toContain('lang=');
  });

  it("names a refused field by the form's label where it has one, else by the API's path", () => {
    const refused = new ApiError(422, 'Unprocessable', 'The metadata is not valid', [
      { field: 'metadata.capturedAt', message: 'lies in the future' },
      { field: 'body.clientSubmissionId', message: 'is required' },
    ]);
    const html = renderToStaticMarkup(
      createElement(I18nContext.Provider, { value: makeI18n('uk', []) }, createElement(ErrorNote, { error: refused, fields: { capturedAt: 'Час зйомки' } })),
    );
    expect(html).toContain('Час зйомки: у майбутньому');
    expect(html).toContain('clientSubmissionId: обовʼязкове поле');
  });
});

describe('WithEnglish', () => {
  const said = (lang: 'en' | 'uk', key: 'verify.failed' | 'verify.unchecked', text: string): string => {
    const i18n = makeI18n(lang, []);
    return renderToStaticMarkup(createElement(I18nContext.Provider, { value: i18n }, createElement(WithEnglish, { message: (r: string) => i18n.t(key, { r }), text })));
  };

  it("puts the text where the message names it, marked English only where the console speaks Ukrainian", () => {
    expect(said('uk', 'verify.failed', 'connect ECONNREFUSED')).toBe('Перевірку НЕ ПРОЙДЕНО: <span lang="en">connect ECONNREFUSED</span>');
    expect(said('en', 'verify.failed', 'connect ECONNREFUSED')).toBe('Verification FAILED: <span>connect ECONNREFUSED</span>');
    // In the middle of a message too, and as text, never as markup.
    expect(said('uk', 'verify.unchecked', '<b>x</b>')).toBe('Не вдалося перевірити. <span lang="en">&lt;b&gt;x&lt;/b&gt;</span> Це нічого не каже про доказ.');
  });
});
