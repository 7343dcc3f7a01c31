import { useEffect, useState } from 'react';
import { call, get, type CaseView } from '../api.js';
import { useI18n } from '../i18n.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, Link, Said, useSubmit } from '../ui.js';

export function CasesScreen() {
  const { t, instant } = useI18n();
  const { me } = useSession();
  const [cases, setCases] = useState<CaseView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');

  useEffect(() => {
    get<CaseView[]>('/cases').then(setCases, setError);
  }, []);

  const create = useSubmit(async () => {
    setError(null);
    try {
      const created = await call<CaseView>('POST', '/cases', { title, ...(description ? { description } : {}) });
      navigate(`/cases/${created.id}`);
    } catch (e) {
      setError(e);
    }
  });

  return (
    <section aria-labelledby="cases-title">
      <h1 id="cases-title">{t('cases.title')}</h1>
      <ErrorNote error={error} />
      {cases === null ? (
        <p>{t('common.loading')}</p>
      ) : cases.length === 0 ? (
        <p>{t('cases.empty')}</p>
      ) : (
        <ul className="cards">
          {cases.map((c) => (
            <li key={c.id}>
              <Link href={`/cases/${c.id}`}>
                <Said text={c.title} />
              </Link>
              {c.description && (
                <p>
                  <Said text={c.description} />
                </p>
              )}
              <small>
                {t('cases.created')}: {instant(c.createdAt)}
              </small>
            </li>
          ))}
        </ul>
      )}
      {(me.role === 'admin' || me.role === 'investigator') && (
        <form onSubmit={create.onSubmit} className="narrow">
          <h2>{t('cases.new')}</h2>
          <Field label={t('cases.caseTitle')} required maxLength={500} value={title} onChange={(e) => setTitle(e.target.value)} />
          <Field label={t('cases.description')} value={description} onChange={(e) => setDescription(e.target.value)} />
          <button type="submit" className="primary" aria-disabled={create.busy}>
            {t('common.create')}
          </button>
        </form>
      )}
    </section>
  );
}
