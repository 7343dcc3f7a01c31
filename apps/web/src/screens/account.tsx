import { useState, type FormEvent } from 'react';
import { ApiError, call } from '../api.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, shown } from '../ui.js';

export function AccountScreen() {
  const { t } = useI18n();
  const { me, refreshMe } = useSession();
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setDone(false);
    try {
      await call('POST', '/auth/password', { currentPassword, newPassword });
      setDone(true);
      setCurrent('');
      setNew('');
      if (me.mustChangePassword) await refreshMe();
    } catch (e) {
      setError(e);
    }
  }
  const fieldError = (name: string) => (error instanceof ApiError ? error.forField(name) : undefined);

  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">{t('account.title')}</h1>
      <p>
        {shown(me.displayName)} · {me.email} · {t(`role.${me.role}`)}
      </p>
      {me.mustChangePassword && <p className="notice">{t('account.mustChange')}</p>}
      <form onSubmit={submit} className="narrow">
        <h2>{t('account.changePassword')}</h2>
        <Field label={t('account.current')} type="password" autoComplete="current-password" required value={currentPassword} onChange={(e) => setCurrent(e.target.value)} error={fieldError('currentPassword')} />
        <Field label={t('account.new')} type="password" autoComplete="new-password" required minLength={12} value={newPassword} onChange={(e) => setNew(e.target.value)} error={fieldError('newPassword')} />
        <ErrorNote error={error} />
        {done && <p role="status">{t('account.changed')}</p>}
        <button type="submit" className="primary">
          {t('common.save')}
        </button>
      </form>
    </section>
  );
}
