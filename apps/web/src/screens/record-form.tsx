import { useEffect, useState } from 'react';
import { ApiError, get, itemName, type CountRange, type Evidence, type Page, type SourceLink, type VocabularyTerm } from '../api.js';
import { contentLang, useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { FieldError, Select, utcOffset, VocabularyPicker } from '../ui.js';

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

/** The evidence items of a case the caller may read (a documenter: their own), for citing as sources. */
export function useCaseEvidence(caseId: string | undefined): Evidence[] {
  const [items, setItems] = useState<Evidence[]>([]);
  useEffect(() => {
    if (!caseId) return;
    get<Page<Evidence>>(`/cases/${caseId}/evidence?limit=200`).then(
      (p) => setItems(p.items),
      () => setItems([]),
    );
  }, [caseId]);
  return items;
}


/** One cited source: an evidence item of the case and how reliable it is (source_reliability). */
export function SourcePicker({ items, value, onChange, errorOf }: { items: Evidence[]; value: SourceLink; onChange(source: SourceLink): void; errorOf(field: string): string | undefined }) {
  const { t, lang } = useI18n();
  const { terms } = useSession();
  return (
    <>
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
