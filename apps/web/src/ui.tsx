import { useId, type AnchorHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from 'react';
import { ApiError, type Flag, type VocabularyTerm } from './api.js';
import { useI18n } from './i18n.js';
import { navigate } from './router.js';

/** An in-app link: a real <a href> (keyboard, middle click) that navigates without reloading. */
export function Link({ href, children, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return (
    <a
      href={href}
      {...rest}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

/** A labelled input with the API's message for its field shown beside it (aria-describedby). */
export function Field({ label, error, ...input }: InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string }) {
  const id = useId();
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} {...input} />
      {error && (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

export function Select({ label, error, children, ...select }: SelectHTMLAttributes<HTMLSelectElement> & { label: string; error?: string; children: ReactNode }) {
  const id = useId();
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <select id={id} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} {...select}>
        {children}
      </select>
      {error && (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

/** A picker over a vocabulary's terms, labelled in the chosen language, hierarchical terms indented. */
export function VocabularyPicker({ label, vocabulary, terms, value, onChange, error, required }: {
  label: string;
  vocabulary: string;
  terms: VocabularyTerm[];
  value: string;
  onChange(code: string): void;
  error?: string;
  required?: boolean;
}) {
  const { t, lang } = useI18n();
  return (
    <Select label={label} value={value} onChange={(e) => onChange(e.target.value)} error={error} required={required} data-vocabulary={vocabulary}>
      <option value="">{t('form.choose')}</option>
      {terms
        .filter((term) => !term.deprecated)
        .map((term) => (
          <option key={term.code} value={term.code}>
            {'\u00a0\u00a0'.repeat(term.code.split('.').length - 1)}
            {term.labels[lang] ?? term.labels.en}
          </option>
        ))}
    </Select>
  );
}

export function FlagBadges({ flags }: { flags: Flag[] }) {
  const { t } = useI18n();
  if (flags.length === 0) return null;
  return (
    <ul className="badges">
      {flags.map((flag) => (
        <li key={flag} className={`badge badge-${flag}`}>
          {t(`flag.${flag}`)}
        </li>
      ))}
    </ul>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  const message = error instanceof ApiError ? (error.errors.length ? t('form.fix') : error.message) : (error as Error).message;
  return (
    <p className="error" role="alert">
      {t('common.error', { m: message })}
    </p>
  );
}
