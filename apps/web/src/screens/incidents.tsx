import { useCallback, useEffect, useRef, useState } from 'react';
import { fetchBlob, get, saveBlob, type Incident, type Page } from '../api.js';
import { useI18n } from '../i18n.js';
import { filtersInAddress, keepInAddress } from '../router.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, Link, Said, VocabularyPicker } from '../ui.js';
import { fieldErrorOf, figureText, instantOf } from './record-form.js';

const NO_FILTERS = { q: '', type: '', weaponType: '', grade: '', verificationStatus: '', from: '', to: '' };
/** Every filter is kept in the address (none is a place someone stood). */
const IN_ADDRESS = Object.keys(NO_FILTERS) as (keyof typeof NO_FILTERS)[];

/** A case's incidents: searched by words, codes and start time, page after page. */
export function IncidentsPanel({ caseId }: { caseId: string }) {
  const { t, instant, term } = useI18n();
  const { terms, me } = useSession();
  const [filters, setFilters] = useState(() => filtersInAddress(IN_ADDRESS, NO_FILTERS));
  // The filters last sent: the list follows them, not each keystroke.
  const [applied, setApplied] = useState(filters);
  // A page asked for under earlier filters is dropped when it arrives.
  const generation = useRef(0);
  const [incidents, setIncidents] = useState<Incident[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const search = useCallback(
    async (cursor?: string) => {
      const mine = cursor ? generation.current : ++generation.current;
      setError(null);
      const { from, to, ...words } = applied;
      const query = new URLSearchParams(Object.entries(words).filter(([, v]) => v.trim() !== ''));
      if (from) query.set('from', instantOf(from)!);
      if (to) query.set('to', instantOf(to)!);
      query.set('limit', '100');
      if (cursor) query.set('cursor', cursor);
      try {
        const page = await get<Page<Incident>>(`/cases/${caseId}/incidents?${query}`);
        if (mine !== generation.current) return;
        setIncidents((shown) => (cursor ? [...(shown ?? []), ...page.items] : page.items));
        setNext(page.nextCursor);
      } catch (e) {
        if (mine === generation.current) setError(e);
      }
    },
    [caseId, applied],
  );
  useEffect(() => void search(), [search]);

  /** The case's incidents for QGIS, or its casualty records as CSV (names only if asked): saved, each download logged. */
  async function download(file: 'incidents.geojson' | 'casualties.csv', withNames = false) {
    if (withNames && !window.confirm(t('confirm.namesCsv'))) return;
    setError(null);
    try {
      const saved = file.replace('.', `-${withNames ? 'names-' : ''}${caseId.slice(0, 8)}.`);
      saveBlob(await fetchBlob(`/cases/${caseId}/${file}${withNames ? '?includeNames=true' : ''}`), saved);
    } catch (e) {
      setError(e);
    }
  }

  const fieldError = fieldErrorOf(error);
  const set = (key: keyof typeof filters) => (e: { target: { value: string } }) => setFilters({ ...filters, [key]: e.target.value });
  const pick = (key: keyof typeof filters) => (code: string) => setFilters({ ...filters, [key]: code });
  return (
    <div>
      <p>
        <Link href={`/cases/${caseId}/incidents/new`} className="button primary">
          {t('incidents.new')}
        </Link>
        {(me.role === 'admin' || me.role === 'investigator') && (
          <>
            {' '}
            <button type="button" onClick={() => void download('incidents.geojson')}>
              {t('incidents.geojson')}
            </button>{' '}
            <button type="button" onClick={() => void download('casualties.csv')}>
              {t('incidents.casualtiesCsv')}
            </button>
            {/* Victims' names: investigators only, asked first; the download is in the custody log. */}
            {me.role === 'investigator' && (
              <>
                {' '}
                <button type="button" onClick={() => void download('casualties.csv', true)}>
                  {t('incidents.casualtiesCsvNames')}
                </button>
              </>
            )}
          </>
        )}
      </p>
      <form
        className="filters"
        role="search"
        aria-label={t('incidents.search')}
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...filters });
          keepInAddress(IN_ADDRESS, filters);
        }}
      >
        <Field label={t('incidents.q')} type="search" value={filters.q} onChange={set('q')} error={fieldError('q')} />
        <VocabularyPicker label={t('incident.type')} vocabulary="incident_type" terms={terms('incident_type')} value={filters.type} onChange={pick('type')} error={fieldError('type')} />
        <VocabularyPicker label={t('incident.weapon')} vocabulary="weapon_type" terms={terms('weapon_type')} value={filters.weaponType} onChange={pick('weaponType')} error={fieldError('weaponType')} />
        <VocabularyPicker label={t('incident.grade')} vocabulary="grade" terms={terms('grade')} value={filters.grade} onChange={pick('grade')} error={fieldError('grade')} />
        <VocabularyPicker label={t('incident.verificationStatus')} vocabulary="verification_status" terms={terms('verification_status')} value={filters.verificationStatus} onChange={pick('verificationStatus')} error={fieldError('verificationStatus')} />
        <Field label={t('incidents.from')} type="datetime-local" value={filters.from} onChange={set('from')} error={fieldError('from')} />
        <Field label={t('incidents.to')} type="datetime-local" value={filters.to} onChange={set('to')} error={fieldError('to')} />
        <button type="submit" className="primary">
          {t('common.search')}
        </button>
      </form>
      <ErrorNote error={error} />
      {incidents?.length === 0 && <p>{t('incidents.empty')}</p>}
      {incidents && incidents.length > 0 && (
        <table>
          <caption>{t('incidents.found', { n: incidents.length })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('incident.title')}</th>
              <th scope="col">{t('incident.type')}</th>
              <th scope="col">{t('incident.startAt')}</th>
              <th scope="col">{t('incident.placeName')}</th>
              <th scope="col">{t('incidents.figures')}</th>
              <th scope="col">{t('incident.grade')}</th>
              <th scope="col">{t('incident.verificationStatus')}</th>
            </tr>
          </thead>
          <tbody>
            {incidents.map((i) => (
              <tr key={i.id}>
                <td>
                  <Link href={`/incidents/${i.id}`}>
                    {i.code ? `${i.code} · ` : ''}
                    <Said text={i.title} />
                  </Link>
                </td>
                <td>{term('incident_type', i.type)}</td>
                <td>{instant(i.startAt)}</td>
                <td>{i.placeName ?? '—'}</td>
                <td>
                  {figureText(i.killed) || '—'} / {figureText(i.injured) || '—'}
                </td>
                <td>{term('grade', i.grade)}</td>
                <td>{term('verification_status', i.verificationStatus)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void search(next)}>
          {t('incidents.more')}
        </button>
      )}
    </div>
  );
}
