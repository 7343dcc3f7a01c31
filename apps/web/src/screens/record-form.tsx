import { useCallback, useEffect, useState } from 'react';
import { ApiError, evidenceName, get, incidentChoices, itemName, type CountRange, type Evidence, type Incident, type Page, type SourceLink, type VocabularyTerm } from '../api.js';
import { contentLang, useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, FieldError, Link, Select, utcOffset, VocabularyPicker } from '../ui.js';

/** Helpers shared by the record forms (incident, damage, remnant). */

/** datetime-local value of an instant, in the user's zone. */
export function localInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/**
 * A datetime-local value (this device's wall clock) as RFC 3339 with this device's offset at that
 * time, "2026-11-20T01:40:00+02:00": the instant, and the offset the person meant, kept as declared.
 */
export const withOffset = (value: string): string => `${value.length === 16 ? `${value}:00` : value}${utcOffset(new Date(value))}`;

/** An instant from a datetime-local value (the user's zone), or null when empty. */
export const instantOf = (value: string): string | null => (value ? new Date(value).toISOString() : null);

/** The number the user typed, or the text itself so the API names the field when it is no number. */
export const numberOrText = (value: string): number | string => (value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value);

/** A figure as typed: "3", or a range "2-5" (any dash); null when empty. Anything else is sent as typed, for the API to name. */
export function figureOf(text: string): CountRange | number | string | null {
  const range = /^\s*(\d+)\s*[-‒–—−]\s*(\d+)\s*$/.exec(text);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  return text.trim() ? numberOrText(text.trim()) : null;
}

/** The API's message for a figure's field: about the figure as a whole, or its min or max. */
export const figureErrorOf = (fieldError: (name: string) => string | undefined) => (key: string) => fieldError(key) ?? fieldError(`${key}.min`) ?? fieldError(`${key}.max`);

/** A figure as the form shows it: "3", or "2–5". */
export const figureText = (range: CountRange | null): string => (range ? (range.min === range.max ? String(range.min) : `${range.min}–${range.max}`) : '');

/** A point from two text fields: null when both are empty, else what the user typed (the API judges it). */
export const pointOf = (lat: string, lon: string) => (lat || lon ? { lat: numberOrText(lat), lon: numberOrText(lon) } : null);

/** The message the API gave for one field, if the last error named it. */
export const fieldErrorOf = (error: unknown) => (name: string) => (error instanceof ApiError ? error.forField(name) : undefined);

/** Text as the API stores it: empty is null. */
export const textOrNull = (value: string): string | null => (value.trim() ? value : null);

/** Several terms of a vocabulary as labelled checkboxes (ihl_protection...). */
export function VocabularyChecks({ legend, vocabulary, terms, value, onChange, error }: {
  legend: string;
  vocabulary: string;
  terms: VocabularyTerm[];
  value: string[];
  onChange(codes: string[]): void;
  error?: string;
}) {
  const { lang } = useI18n();
  return (
    <fieldset className={`checks${error ? ' has-error' : ''}`} data-vocabulary={vocabulary}>
      <legend>{legend}</legend>
      {terms
        .filter((term) => !term.deprecated)
        .map((term) => (
          <label key={term.code}>
            <input type="checkbox" checked={value.includes(term.code)} onChange={(e) => onChange(e.target.checked ? [...value, term.code] : value.filter((c) => c !== term.code))} />{' '}
            {term.labels[lang] ?? term.labels.en}
          </label>
        ))}
      {error && <FieldError message={error} />}
    </fieldset>
  );
}

/**
 * Evidence items of a case a record screen knows, for choosing and naming its sources: the
 * incident's linked items (the likely sources), the items the record cites, and those found
 * since by words (EvidenceFinder). Only what the caller may read is listed (a documenter: their own).
 */
export function useCaseEvidence(caseId: string | undefined, incidentId: string | undefined, cited: readonly string[] = []): { items: Evidence[]; add(found: Evidence[]): void } {
  const [items, setItems] = useState<Evidence[]>([]);
  const add = useCallback((found: Evidence[]) => setItems((known) => [...known, ...found.filter((f) => !known.some((k) => k.id === f.id))]), []);
  /** Adds the items of one listing (`filter`: incidentId=... or ids=...); one that fails leaves them unnamed. */
  const learn = useCallback((filter: string) => void get<Page<Evidence>>(`/cases/${caseId}/evidence?${filter}&limit=200`).then((p) => add(p.items), () => undefined), [caseId, add]);
  useEffect(() => {
    if (caseId && incidentId) learn(`incidentId=${incidentId}`);
  }, [caseId, incidentId, learn]);
  // Asked once per list of unknown ids: an item the caller may not read stays unnamed, not asked again.
  const unknown = [...new Set(cited)].filter((id) => !items.some((i) => i.id === id)).slice(0, 200).join(',');
  useEffect(() => {
    if (caseId && unknown) learn(`ids=${unknown}`);
  }, [caseId, unknown, learn]);
  return { items, add };
}

/**
 * Words to find a case's records by (empty: the latest 50). Not a form of its own, so it can sit
 * inside another: Enter in its field searches.
 */
function Finder<T>({ path, name, wordsLabel, nothingFound, onFound, onError }: {
  /** The case's listing; undefined while the case is not known. */
  path: string | undefined;
  name: string;
  wordsLabel: string;
  nothingFound: string;
  onFound(found: T[]): void;
  onError(error: unknown): void;
}) {
  const { t } = useI18n();
  const [words, setWords] = useState('');
  const [none, setNone] = useState(false);
  async function find() {
    if (!path) return;
    const query = new URLSearchParams({ limit: '50', ...(words.trim() ? { q: words.trim() } : {}) });
    try {
      const page = await get<Page<T>>(`${path}?${query}`);
      setNone(page.items.length === 0);
      onFound(page.items);
    } catch (e) {
      onError(e);
    }
  }
  return (
    <div className="finder" role="search" aria-label={name}>
      <Field
        label={wordsLabel}
        type="search"
        value={words}
        onChange={(e) => setWords(e.target.value)}
        onKeyDown={(e) => {
          if (e.key !== 'Enter') return;
          e.preventDefault();
          void find();
        }}
      />
      <button type="button" onClick={() => void find()}>
        {t('common.search')}
      </button>
      {none && <p role="status">{nothingFound}</p>}
    </div>
  );
}

/** Words to find a case's evidence by: its title, description, tags or file name. */
export function EvidenceFinder({ caseId, purpose, onFound, onError }: { caseId: string | undefined; purpose: 'link' | 'cite' | 'export'; onFound(items: Evidence[]): void; onError(error: unknown): void }) {
  const { t } = useI18n();
  return (
    <Finder path={caseId && `/cases/${caseId}/evidence`} name={t(`evidence.find.${purpose}`)} wordsLabel={t('evidence.findWords')} nothingFound={t('evidence.nothingFound')} onFound={onFound} onError={onError} />
  );
}

/** Words to find a case's incident by, past the latest 2,000 a picker offers: its title, description or place. */
export function IncidentFinder({ caseId, onFound, onError }: { caseId: string | undefined; onFound(incidents: Incident[]): void; onError(error: unknown): void }) {
  const { t } = useI18n();
  return (
    <Finder path={caseId && `/cases/${caseId}/incidents`} name={t('incident.find')} wordsLabel={t('incident.findWords')} nothingFound={t('incident.nothingFound')} onFound={onFound} onError={onError} />
  );
}

/**
 * The incidents a picker offers: the case's 2,000 that started last (`incidentChoices`), those
 * found by words (first), and each one `chosen` before, however old, read by its id so the picker
 * names it and a save keeps it. Nothing is read while `enabled` is false.
 */
export function useCaseIncidents(caseId: string | undefined, chosen: readonly string[] = [], options: { enabled?: boolean; onError?(error: unknown): void } = {}): { items: Incident[]; add(found: Incident[]): void } {
  const { enabled = true, onError } = options;
  const [items, setItems] = useState<Incident[]>([]);
  const [loaded, setLoaded] = useState(false);
  const add = useCallback((found: Incident[]) => setItems((known) => [...found.filter((f) => !known.some((k) => k.id === f.id)), ...known]), []);
  useEffect(() => {
    if (!caseId || !enabled) return;
    let gone = false;
    incidentChoices(caseId).then(
      (latest) => {
        if (gone) return;
        setItems((known) => [...known, ...latest.filter((l) => !known.some((k) => k.id === l.id))]);
        setLoaded(true);
      },
      (e: unknown) => !gone && onError?.(e),
    );
    return () => {
      gone = true;
    };
    // onError is left out: a caller's state setter, the same for the picker's life.
  }, [caseId, enabled]);
  // Asked once the latest are in, once per id: one the caller may not read stays unnamed.
  const missing = loaded ? [...new Set(chosen)].filter((id) => id && !items.some((i) => i.id === id)).join(',') : '';
  useEffect(() => {
    for (const id of missing ? missing.split(',') : []) void get<Incident>(`/incidents/${id}`).then((found) => add([found]), () => undefined);
  }, [missing, add]);
  return { items, add };
}

/** One cited source: an evidence item of the case and how reliable it is (source_reliability). */
export function SourcePicker({ caseId, evidence, value, onChange, errorOf, onError }: {
  caseId: string | undefined;
  evidence: ReturnType<typeof useCaseEvidence>;
  value: SourceLink;
  onChange(source: SourceLink): void;
  errorOf(field: string): string | undefined;
  onError(error: unknown): void;
}) {
  const { t, lang } = useI18n();
  const { terms } = useSession();
  const items = evidence.items;
  return (
    <>
      <EvidenceFinder caseId={caseId} purpose="cite" onFound={evidence.add} onError={onError} />
      <Select label={t('records.source')} value={value.evidenceId} onChange={(e) => onChange({ ...value, evidenceId: e.target.value })} error={errorOf('sources[0].evidenceId')}>
        <option value="">{t('records.noSource')}</option>
        {items.map((i) => (
          <option key={i.id} value={i.id} lang={contentLang(itemName(i), lang)}>
            {itemName(i)}
          </option>
        ))}
      </Select>
      {value.evidenceId && (
        <VocabularyPicker label={t('records.reliability')} vocabulary="source_reliability" terms={terms('source_reliability')} value={value.reliability ?? ''} onChange={(reliability) => onChange({ ...value, reliability: reliability || null })} error={errorOf('sources[0].reliability')} />
      )}
    </>
  );
}

/** A record's cited sources in a list's cell: links named by the items' titles, or "no source cited". */
export function SourcesCell({ record, evidence }: { record: { unsourced: boolean; sources: SourceLink[] }; evidence: ReturnType<typeof useCaseEvidence> }) {
  const { t } = useI18n();
  if (record.unsourced) return <>{t('records.unsourced')}</>;
  return (
    <>
      {record.sources.map((s) => (
        <Link key={s.evidenceId} href={`/evidence/${s.evidenceId}`}>
          {evidenceName(evidence.items, s.evidenceId)}
        </Link>
      ))}
    </>
  );
}

/** A record form's sources: those it cites, and one more to cite (found by words, or among the incident's evidence). */
export function CitedSources({ caseId, evidence, sources, newSource, onNewSource, fieldError, onError }: {
  caseId: string | undefined;
  evidence: ReturnType<typeof useCaseEvidence>;
  sources: SourceLink[];
  newSource: SourceLink;
  onNewSource(source: SourceLink): void;
  fieldError(field: string): string | undefined;
  onError(error: unknown): void;
}) {
  const { t } = useI18n();
  return (
    <>
      {sources.length > 0 && (
        <p>
          {t('records.sources')}: {sources.map((s) => evidenceName(evidence.items, s.evidenceId)).join(', ')}
        </p>
      )}
      {/* The new source is sent after those cited: the API names it sources[n]. */}
      <SourcePicker caseId={caseId} evidence={evidence} value={newSource} onChange={onNewSource} errorOf={(f) => fieldError(f.replace('[0]', `[${sources.length}]`))} onError={onError} />
    </>
  );
}

/** The end of a record's form: the reason an amendment needs, the API's refusal, what was saved, and its buttons. */
export function RecordFormEnd({ amending, reason, onReason, fieldError, error, saved, submit, onCancel }: {
  amending: boolean;
  reason: string;
  onReason(reason: string): void;
  fieldError(field: string): string | undefined;
  error: unknown;
  /** The note once saved, if any. */
  saved?: string | null;
  /** The submit button's text (Save when amending, Add when not). */
  submit?: string;
  onCancel?(): void;
}) {
  const { t } = useI18n();
  return (
    <>
      {amending && <Field label={t('incident.reason')} required value={reason} onChange={(e) => onReason(e.target.value)} error={fieldError('reason')} />}
      <ErrorNote error={error} />
      {saved && <p role="status">{saved}</p>}
      <button type="submit" className="primary">
        {submit ?? (amending ? t('common.save') : t('common.add'))}
      </button>
      {onCancel && (
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      )}
    </>
  );
}
