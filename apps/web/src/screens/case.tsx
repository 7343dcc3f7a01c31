import { lazy, Suspense, useEffect, useState } from 'react';
import { get, type CaseView } from '../api.js';
import { contentLang, useI18n, type MessageKey } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorNote, Link, shown } from '../ui.js';
import { EvidenceGrid } from './grid.js';
import { ExportsPanel } from './exports.js';
import { IncidentsPanel } from './incidents.js';
import { MembersPanel } from './members.js';

// Leaflet and the tus client load with the screens that use them, not with the first page.
const MapPanel = lazy(() => import('./map.js').then((m) => ({ default: m.MapPanel })));
const UploadPanel = lazy(() => import('./upload.js').then((m) => ({ default: m.UploadPanel })));
const RemnantsPanel = lazy(() => import('./remnants.js').then((m) => ({ default: m.RemnantsPanel })));
const SerialsPanel = lazy(() => import('./remnants.js').then((m) => ({ default: m.SerialsPanel })));

const TABS: Record<string, { label: MessageKey; roles: string[] }> = {
  evidence: { label: 'case.evidence', roles: ['admin', 'investigator', 'documenter'] },
  upload: { label: 'case.upload', roles: ['admin', 'investigator', 'documenter'] },
  incidents: { label: 'case.incidents', roles: ['admin', 'investigator', 'documenter'] },
  remnants: { label: 'case.remnants', roles: ['admin', 'investigator', 'documenter'] },
  serials: { label: 'case.serials', roles: ['admin', 'investigator', 'documenter'] },
  map: { label: 'case.map', roles: ['admin', 'investigator', 'documenter'] },
  members: { label: 'case.members', roles: ['admin', 'investigator', 'documenter', 'auditor'] },
  exports: { label: 'case.exports', roles: ['admin', 'investigator', 'auditor'] },
};

export function CaseScreen({ caseId, tab }: { caseId: string; tab: string }) {
  const { t, lang } = useI18n();
  const { me } = useSession();
  const [theCase, setCase] = useState<CaseView | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<CaseView>(`/cases/${caseId}`).then(setCase, setError);
  }, [caseId]);
  const tabs = Object.entries(TABS).filter(([, v]) => v.roles.includes(me.role));
  const current = tabs.some(([name]) => name === tab) ? tab : tabs[0]?.[0] ?? 'members';

  return (
    <section aria-labelledby="case-title">
      <p>
        <Link href="/">← {t('cases.title')}</Link>
      </p>
      <h1 id="case-title" lang={contentLang(theCase?.title, lang)}>
        {shown(theCase?.title) ?? t('common.loading')}
      </h1>
      {me.role === 'documenter' && <p className="hint">{t('docs.only')}</p>}
      <ErrorNote error={error} />
      <nav className="tabs" aria-label={t('case.tabs')}>
        {tabs.map(([name, v]) => (
          <Link key={name} href={name === 'evidence' ? `/cases/${caseId}` : `/cases/${caseId}/${name}`} aria-current={current === name ? 'page' : undefined}>
            {t(v.label)}
          </Link>
        ))}
      </nav>
      {current === 'evidence' && <EvidenceGrid caseId={caseId} />}
      <Suspense fallback={<p>{t('common.loading')}</p>}>
        {current === 'upload' && <UploadPanel caseId={caseId} />}
        {current === 'map' && <MapPanel caseId={caseId} />}
        {current === 'remnants' && <RemnantsPanel caseId={caseId} />}
        {current === 'serials' && <SerialsPanel caseId={caseId} />}
      </Suspense>
      {current === 'incidents' && <IncidentsPanel caseId={caseId} />}
      {current === 'members' && <MembersPanel caseId={caseId} />}
      {current === 'exports' && <ExportsPanel caseId={caseId} />}
    </section>
  );
}
