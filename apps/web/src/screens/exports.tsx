import { useCallback, useEffect, useId, useState } from 'react';
import { call, get, itemName, type ExportJob } from '../api.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { Announcer, DownloadState, ErrorNote, Field, Said, Select, useChangeAnnouncement, useDownload, useSubmit } from '../ui.js';
import { EvidenceFinder, fieldErrorOf, IncidentFinder, instantOf, useCaseEvidence, useCaseIncidents } from './record-form.js';

/** Court and partner packages: create with a selection, follow the progress, download when ready. */
export function ExportsPanel({ caseId }: { caseId: string }) {
  const titleId = useId();
  const { t, instant, bytes, number } = useI18n();
  const { me } = useSession();
  const [jobs, setJobs] = useState<ExportJob[]>([]);
  const [loaded, setLoaded] = useState(false);
  // Items found by words (nothing is listed, nor logged as read, until asked); those found stay to be chosen.
  const evidence = useCaseEvidence(caseId, undefined);
  const [selected, setSelected] = useState<string[]>([]);
  const [selectedIncidents, setSelectedIncidents] = useState<string[]>([]);
  const [range, setRange] = useState({ from: '', to: '' });
  const [includeNames, setIncludeNames] = useState(false);
  const [purpose, setPurpose] = useState<'court' | 'partner'>('court');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const fieldError = fieldErrorOf(error);
  const incidents = useCaseIncidents(caseId, [], { enabled: me.role !== 'auditor', onError: setError });
  const load = useCallback(
    () =>
      get<{ items: ExportJob[] }>(`/cases/${caseId}/exports`).then((r) => {
        setJobs(r.items);
        setLoaded(true);
      }, setError),
    [caseId],
  );
  useEffect(() => void load(), [load]);
  // Follow unfinished packages until they are ready or failed.
  useEffect(() => {
    if (!jobs.some((j) => j.status === 'pending' || j.status === 'running')) return;
    const timer = setTimeout(() => void load(), 1000);
    return () => clearTimeout(timer);
  }, [jobs, load]);

  // A package's state as it changes (building, ready, failed), heard as well as seen.
  const announcement = useChangeAnnouncement(
    jobs,
    (job) => job.id,
    (job) => job.status,
    (job) =>
      t(job.status === 'failed' ? 'exports.announceFailed' : 'exports.announce', {
        p: t(job.purpose === 'partner' ? 'exports.partner' : 'exports.court'),
        when: instant(job.createdAt),
        s: t(`export.${job.status}`),
        m: job.error ?? '',
      }),
    loaded,
  );

  /** What a package holds, in words: its items, incidents and time range, or the whole case. */
  const selectionSummary = ({ selection: s, includeNames: names }: ExportJob) => {
    const parts = [
      s?.evidenceIds?.length ? t('exports.nItems', { n: number(s.evidenceIds.length) }) : '',
      s?.incidentIds?.length ? t('exports.nIncidents', { n: number(s.incidentIds.length) }) : '',
      s?.from || s?.to ? `${s.from ? instant(s.from) : '…'} – ${s.to ? instant(s.to) : '…'}` : '',
    ].filter(Boolean);
    return [parts.length ? parts.join('; ') : t('exports.whole'), names ? t('exports.withNames') : ''].filter(Boolean).join(' · ');
  };

  const create = useSubmit(async () => {
    if (includeNames && purpose === 'court' && !window.confirm(t('confirm.names'))) return;
    setError(null);
    try {
      // Each criterion adds to the package (the API takes their union); none is the whole case.
      await call('POST', `/cases/${caseId}/exports`, {
        purpose,
        ...(selected.length ? { evidenceIds: selected } : {}),
        ...(selectedIncidents.length ? { incidentIds: selectedIncidents } : {}),
        ...(range.from ? { from: instantOf(range.from) } : {}),
        ...(range.to ? { to: instantOf(range.to) } : {}),
        ...(includeNames && purpose === 'court' ? { includeNames: true } : {}),
        ...(note ? { note } : {}),
      });
      setSelected([]);
      setSelectedIncidents([]);
      setRange({ from: '', to: '' });
      setIncludeNames(false);
      await load();
    } catch (e) {
      setError(e);
    }
  });

  const download = useDownload();

  return (
    <div>
      <h2 id={titleId}>{t('exports.title')}</h2>
      <Announcer message={announcement} />
      <ErrorNote error={error} />
      <DownloadState download={download} />
      {jobs.length === 0 ? (
        <p>{t('exports.empty')}</p>
      ) : (
        <table aria-labelledby={titleId}>
          <thead>
            <tr>
              <th scope="col">{t('item.when')}</th>
              <th scope="col">{t('exports.purpose')}</th>
              <th scope="col">{t('exports.selectionColumn')}</th>
              <th scope="col">{t('exports.status')}</th>
              <th scope="col">{t('item.size')}</th>
              <th scope="col">SHA-256</th>
              <th scope="col">
                <span className="visually-hidden">{t('common.download')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.id} data-export-status={job.status}>
                <td>{instant(job.createdAt)}</td>
                <td>{t(job.purpose === 'partner' ? 'exports.partner' : 'exports.court')}</td>
                <td>{selectionSummary(job)}</td>
                <td>
                  {t(`export.${job.status}`)}
                  {(job.status === 'running' || job.status === 'pending') && (
                    <progress max={Math.max(1, job.progress.items)} value={job.progress.itemsDone} aria-label={t('exports.progress', { n: job.progress.items, done: number(job.progress.itemsDone), all: number(job.progress.items) })} />
                  )}
                  {job.error && <span className="error"> {job.error}</span>}
                </td>
                <td>{job.sizeBytes !== null ? bytes(job.sizeBytes) : '—'}</td>
                <td className="hash">{job.sha256?.slice(0, 16) ?? '—'}</td>
                <td>
                  {job.status === 'ready' && me.role !== 'auditor' && (
                    <button
                      type="button"
                      onClick={() => download.start(`/exports/${job.id}/content`)}
                      aria-disabled={download.busy}
                      aria-label={t('exports.downloadOf', {
                        purpose: t(job.purpose === 'partner' ? 'exports.partner' : 'exports.court'),
                        at: instant(job.createdAt),
                        hash: job.sha256?.slice(0, 16) ?? '—',
                      })}
                    >
                      {t('common.download')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(me.role === 'admin' || me.role === 'investigator') && (
        <form onSubmit={create.onSubmit} className="record-form">
          <h3>{t('exports.new')}</h3>
          <Select label={t('exports.purpose')} value={purpose} onChange={(e) => setPurpose(e.target.value as 'court')}>
            <option value="court">{t('exports.court')}</option>
            <option value="partner">{t('exports.partner')}</option>
          </Select>
          <fieldset>
            <legend>{t('exports.selection')}</legend>
            <EvidenceFinder caseId={caseId} purpose="export" onFound={evidence.add} onError={setError} />
            <ul className="selection">
              {evidence.items.map((item) => (
                <li key={item.id}>
                  <label>
                    <input type="checkbox" checked={selected.includes(item.id)} onChange={(e) => setSelected(e.target.checked ? [...selected, item.id] : selected.filter((s) => s !== item.id))} />{' '}
                    <Said text={itemName(item)} />
                  </label>
                </li>
              ))}
            </ul>
          </fieldset>
          {incidents.items.length > 0 && (
            <fieldset>
              <legend>{t('exports.incidents')}</legend>
              <IncidentFinder caseId={caseId} onFound={incidents.add} onError={setError} />
              <ul className="selection">
                {incidents.items.map((incident) => (
                  <li key={incident.id}>
                    <label>
                      <input
                        type="checkbox"
                        checked={selectedIncidents.includes(incident.id)}
                        onChange={(e) => setSelectedIncidents(e.target.checked ? [...selectedIncidents, incident.id] : selectedIncidents.filter((s) => s !== incident.id))}
                      />{' '}
                      {incident.code ? `${incident.code} · ` : ''}
                      <Said text={incident.title} />
                    </label>
                  </li>
                ))}
              </ul>
            </fieldset>
          )}
          <Field label={t('exports.from')} type="datetime-local" value={range.from} onChange={(e) => setRange({ ...range, from: e.target.value })} error={fieldError('from')} />
          <Field label={t('exports.to')} type="datetime-local" value={range.to} onChange={(e) => setRange({ ...range, to: e.target.value })} error={fieldError('to')} />
          {me.role === 'investigator' && purpose === 'court' && (
            <div className="field">
              <label>
                <input type="checkbox" checked={includeNames} onChange={(e) => setIncludeNames(e.target.checked)} /> {t('exports.includeNames')}
              </label>
            </div>
          )}
          <Field label={t('exports.note')} value={note} onChange={(e) => setNote(e.target.value)} />
          <button type="submit" className="primary" aria-disabled={create.busy}>
            {t('exports.new')}
          </button>
        </form>
      )}
    </div>
  );
}
