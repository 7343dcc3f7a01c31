import { useEffect, useState } from 'react';
import { get, type Incident, type Page } from '../api.js';
import { useI18n } from '../i18n.js';
import { ErrorNote, Link, Said } from '../ui.js';

export function IncidentsPanel({ caseId }: { caseId: string }) {
  const { t, instant, term } = useI18n();
  const [incidents, setIncidents] = useState<Incident[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<Page<Incident>>(`/cases/${caseId}/incidents?limit=200`).then((p) => setIncidents(p.items), setError);
  }, [caseId]);
  return (
    <div>
      <p>
        <Link href={`/cases/${caseId}/incidents/new`} className="button primary">
          {t('incidents.new')}
        </Link>
      </p>
      <ErrorNote error={error} />
      {incidents?.length === 0 && <p>{t('incidents.empty')}</p>}
      {incidents && incidents.length > 0 && (
        <table>
          <caption>{t('incidents.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('incident.title')}</th>
              <th scope="col">{t('incident.type')}</th>
              <th scope="col">{t('incident.startAt')}</th>
              <th scope="col">{t('incident.placeName')}</th>
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
                <td>{term('verification_status', i.verificationStatus)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
