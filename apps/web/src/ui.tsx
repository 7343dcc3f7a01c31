import { useEffect, useId, useRef, useState, type AnchorHTMLAttributes, type FormEvent, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import { ApiError, OfflineError, saveDownload, type Flag, type Language, type VocabularyTerm } from './api.js';
import { fieldMessage } from './field-messages.js';
import { refusalMessage } from './refusal-messages.js';
import { contentLang, useI18n, type I18n, type MessageKey } from './i18n.js';
import { navigate } from './router.js';
import { visibleText } from '#custodia/text';

/**
 * Text someone typed (a title, a name, a tag, a file name) as the console shows it, as in the
 * reports: characters that hide themselves or turn the text around (a bidirectional override
 * showing `invoice\u202Egpj.exe` as "invoiceexe.jpg", or a display name read as another
 * person's) appear as `[U+202E]`.
 */
export const shown = (text: string | null | undefined): string | null => (text ? visibleText(text) : null);

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

/** This device's offset from UTC at a time, "+02:00". */
export function utcOffset(at: Date): string {
  const minutes = -at.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** This device's zone as a person reads it: "Europe/Kyiv, UTC+02:00" (browsers still say Kiev, the old spelling). */
export const deviceZone = (at = new Date()): string => `${Intl.DateTimeFormat().resolvedOptions().timeZone.replace(/^Europe\/Kiev$/, 'Europe/Kyiv')}, UTC${utcOffset(at)}`;

/** The API's message for a field, in the console's language (field-messages.ts), read out as it appears. */
export function FieldError({ id, message }: { id?: string; message: string }) {
  const { lang } = useI18n();
  return (
    // Not an alert of its own: a form refused with several fields would fire one each at once,
    // none saying its field. The form's summary alerts, and focus goes to the first (useSubmit).
    <span className="field-error" id={id}>
      {fieldMessage(message, lang)}
    </span>
  );
}

/**
 * A labelled input with the API's message for its field shown beside it (aria-describedby); a
 * date and time field says in which zone it is read (this device's; the console shows Kyiv's).
 */
export function Field({ label, error, ...input }: InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string }) {
  const { t } = useI18n();
  const id = useId();
  const zoned = input.type === 'datetime-local';
  const described = [zoned ? `${id}-zone` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {zoned && (
        <span className="hint" id={`${id}-zone`}>
          {t('field.deviceTime', { z: deviceZone() })}
        </span>
      )}
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={described || undefined} {...input} />
      {error && <FieldError id={`${id}-error`} message={error} />}
    </div>
  );
}

/** Field's multi-line kind: for text whose line breaks mean something (a description, a witness's account). */
export function TextArea({ label, error, ...area }: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string; error?: string }) {
  const id = useId();
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <textarea id={id} rows={4} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} {...area} />
      {error && <FieldError id={`${id}-error`} message={error} />}
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
      {error && <FieldError id={`${id}-error`} message={error} />}
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

/** An item's flags as badges; with `max` (a grid cell's room), the first ones and "+N" naming the rest. */
export function FlagBadges({ flags, max = Infinity }: { flags: Flag[]; max?: number }) {
  const { t } = useI18n();
  if (flags.length === 0) return null;
  const listed = flags.length > max ? flags.slice(0, max - 1) : flags;
  const rest = flags.slice(listed.length).map((flag) => t(`flag.${flag}`)).join(', ');
  return (
    <ul className="badges">
      {listed.map((flag) => (
        <li key={flag} className={`badge badge-${flag}`} title={t(`flag.${flag}`)}>
          {t(`flag.${flag}`)}
        </li>
      ))}
      {rest && (
        <li className="badge badge-more" title={rest}>
          +{flags.length - listed.length}
          <span className="visually-hidden">: {rest}</span>
        </li>
      )}
    </ul>
  );
}

/**
 * A failure as a sentence in the console's language a person can act on: no connection, a role
 * that may not, not found, too many, too large, the server's fault; what the archive refused and
 * why in its own words (its problem's detail) otherwise, or "fix the marked fields".
 */
/** Whether a failure is a refusal that names no field, shown with the archive's own words (its `detail`). */
function plainRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && !error.errors.length && ![403, 404, 413, 429].includes(error.status) && error.status < 500;
}

export function errorText(error: unknown, t: I18n['t'], lang?: Language): string {
  if (error instanceof OfflineError) return t('error.offline');
  if (!(error instanceof ApiError)) return t('common.error', { m: (error as Error).message });
  if (error.errors.length) return t('form.fix');
  if (error.status === 403) return t('error.forbidden');
  if (error.status === 404) return t('error.notFound');
  if (error.status === 413) return t('error.tooLarge');
  if (error.status === 429) return error.retryAfter ? t('error.tooMany', { s: error.retryAfter }) : t('error.tooManyLater');
  if (error.status >= 500) return t('error.server');
  return t('error.refused', { m: lang ? refusalMessage(error.message, lang).text : error.message });
}

/** A field's label in `labels` (by its path without `body.` or a submission's `metadata.`), else the path. */
function fieldLabel(field: string, labels: boolean | Record<string, string> | undefined): string {
  const path = field.replace(/^body\./, '');
  return (typeof labels === 'object' ? labels[path.replace(/^metadata\./, '')] : undefined) ?? path;
}

const SLOT = '\u0000';

/**
 * One of the console's messages around text it did not write (the archive's or the browser's
 * English: a refusal not translated yet, a script's error), that text marked
 * as English where the console speaks another language, so a screen reader reads it so (WCAG 3.1.2).
 */
export function WithEnglish({ message, text }: { message(slot: string): string; text: string }) {
  const { lang } = useI18n();
  const [before, after = ''] = message(SLOT).split(SLOT);
  return (
    <>
      {before}
      <span lang={lang === 'en' ? undefined : 'en'}>{text}</span>
      {after}
    </>
  );
}

/**
 * A failure as errorText says it; with `fields`, each field's message too (where no field shows
 * it), the field named by its label in `fields` where it has one (the API's path otherwise).
 */
export function ErrorNote({ error, fields, subject }: { error: unknown; fields?: boolean | Record<string, string>; /** What failed (a file's name), said first. */ subject?: string }) {
  const { t, lang } = useI18n();
  if (!error) return null;
  const listed = fields && error instanceof ApiError ? error.errors : [];
  return (
    <p className="error" role="alert">
      {subject && <span className="error-subject">{subject}: </span>}
      {plainRefusal(error) && !refusalMessage(error.message, lang).translated ? (
        // Not translated yet: the archive's English, marked so.
        <WithEnglish message={(m) => t('error.refused', { m })} text={error.message} />
      ) : (
        errorText(error, t, lang)
      )}
      {listed.map((e) => (
        <span key={e.field} className="field-problem">
          {' '}
          {fieldLabel(e.field, fields)}: {fieldMessage(e.message, lang)}
        </span>
      ))}
    </p>
  );
}

/**
 * One run at a time: a ref, not only state, as two clicks may arrive before React renders the
 * first one's state. `holdMs` keeps it busy that long after the action ended.
 */
function useOnce(): { busy: boolean; run(action: () => Promise<void>, holdMs?: number): void } {
  const running = useRef(false);
  const [busy, setBusy] = useState(false);
  return {
    busy,
    run(action, holdMs = 0) {
      if (running.current) return;
      running.current = true;
      setBusy(true);
      const done = () => {
        running.current = false;
        setBusy(false);
      };
      void action().finally(() => (holdMs > 0 ? setTimeout(done, holdMs) : done()));
    },
  };
}

/** Focuses the form's first field marked invalid, looking for it over the next frames (React may commit after the first). */
function focusFirstInvalid(form: HTMLFormElement, frames = 30): void {
  requestAnimationFrame(() => {
    const field = form.querySelector<HTMLElement>('[aria-invalid="true"]');
    if (field) field.focus();
    else if (frames > 1 && form.isConnected) focusFirstInvalid(form, frames - 1);
  });
}

/**
 * A form's submission, once at a time: a second click or Enter while the first is on its way does
 * nothing, as a case, an incident or a package made twice stays in the archive (and its log) for
 * good. `busy` marks the button aria-disabled meanwhile (not disabled: that would drop its focus).
 */
export function useSubmit(action: () => Promise<void>): { onSubmit(event: FormEvent): void; busy: boolean } {
  const once = useOnce();
  return {
    busy: once.busy,
    onSubmit(event) {
      event.preventDefault();
      const form = event.currentTarget as HTMLFormElement;
      once.run(async () => {
        await action();
        // Refused naming fields: focus goes to the first one marked, once React has marked it
        // (WCAG 3.3.1), where its message is read with it (aria-describedby).
        focusFirstInvalid(form);
      });
    },
  };
}

/**
 * A download started from a button (saveDownload): one at a time, and the button stays off for
 * two seconds after the browser took it over, so a double click saves one file and makes one
 * custody event, not two. `started` says the browser has it (its downloads show how it goes).
 */
export function useDownload(): { start(path: string): void; busy: boolean; started: boolean; error: unknown } {
  const once = useOnce();
  const [started, setStarted] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return {
    busy: once.busy,
    started,
    error,
    start(path) {
      once.run(async () => {
        setStarted(false);
        setError(null);
        try {
          await saveDownload(path);
          setStarted(true);
        } catch (e) {
          setError(e);
        }
      }, 2000);
    },
  };
}

/**
 * Says in a live region what changed among `items` (WCAG 4.1.3): a progress that only shows on
 * screen (an upload received, a package ready) reaches a screen reader too. What the list holds
 * once `loaded` is not news; from then on an item is told of when it appears and when its state
 * changes.
 */
export function useChangeAnnouncement<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  stateOf: (item: T) => string,
  say: (item: T) => string | null,
  loaded = true,
): string {
  const seen = useRef<Map<string, string> | null>(null);
  const [message, setMessage] = useState('');
  useEffect(() => {
    if (!loaded) return;
    if (seen.current === null) {
      seen.current = new Map(items.map((item) => [keyOf(item), stateOf(item)]));
      return;
    }
    const said: string[] = [];
    for (const item of items) {
      const key = keyOf(item);
      const state = stateOf(item);
      if (seen.current.get(key) === state) continue;
      seen.current.set(key, state);
      const text = say(item);
      if (text) said.push(text);
    }
    if (said.length) setMessage(said.join(' '));
    // The callbacks are the caller's words for the same items: a change of items is what counts.
  }, [items, loaded]);
  return message;
}

/** A live region heard, not seen: where useChangeAnnouncement's words go. */
export function Announcer({ message }: { message: string }) {
  return (
    <p className="visually-hidden" role="status" aria-live="polite" data-testid="announcer">
      {message}
    </p>
  );
}

/** A screen whose record is not here (yet, or not open to the reader): headed all the same, then loading or why not. */
export function ScreenPending({ title, error }: { title: string; error: unknown }) {
  const { t } = useI18n();
  return (
    <section>
      <h1>{title}</h1>
      {error ? <ErrorNote error={error} /> : <p>{t('common.loading')}</p>}
    </section>
  );
}

/** Text people wrote (a title, a name), marked with its language where it is not the console's (contentLang). */
export function Said({ text }: { text: string | null | undefined }) {
  const { lang } = useI18n();
  const other = contentLang(text, lang);
  return other ? <span lang={other}>{shown(text)}</span> : <>{shown(text)}</>;
}

/** What became of a download: refused (why), or started (the browser's downloads show the rest). */
export function DownloadState({ download }: { download: ReturnType<typeof useDownload> }) {
  const { t } = useI18n();
  if (download.error) return <ErrorNote error={download.error} />;
  return download.started ? (
    <p className="notice" role="status">
      {t('download.started')}
    </p>
  ) : null;
}

/** The message under a key made from a code, or null where the console has no words for the code yet. */
function known(t: I18n['t'], key: string): string | null {
  const text = t(key as MessageKey);
  return text === key ? null : text;
}

/** A custody event's action in words, its code (what the log and the packages hold) beside it. */
export function ActionName({ action }: { action: string }) {
  const { t } = useI18n();
  const label = known(t, `action.${action}`);
  return label === null ? (
    <code>{action}</code>
  ) : (
    <>
      {label} <code className="action-code">{action}</code>
    </>
  );
}

/** Who acted, by their role's name (the archive itself for system events). */
export function RoleName({ role }: { role: string }) {
  const { t } = useI18n();
  return <>{known(t, `role.${role}`) ?? role}</>;
}
