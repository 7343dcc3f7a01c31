import { useCallback, useEffect, useState } from 'react';
import { ApiError, call, get, type Member } from '../api.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, Said, useSubmit } from '../ui.js';

export function MembersPanel({ caseId }: { caseId: string }) {
  const { t, instant } = useI18n();
  const { me } = useSession();
  const [members, setMembers] = useState<Member[]>([]);
  const [email, setEmail] = useState('');
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => get<Member[]>(`/cases/${caseId}/members`).then(setMembers, setError), [caseId]);
  useEffect(() => void load(), [load]);

  const add = useSubmit(async () => {
    setError(null);
    try {
      await call('POST', `/cases/${caseId}/members`, { email });
      setEmail('');
      await load();
    } catch (e) {
      setError(e);
    }
  });

  const manages = me.role === 'admin' || me.role === 'investigator';
  async function remove(member: Member) {
    if (!window.confirm(t('confirm.removeMember', { n: member.displayName }))) return;
    setError(null);
    try {
      await call('DELETE', `/cases/${caseId}/members/${member.userId}`);
      await load();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <div>
      <table>
        <caption>{t('case.members')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('members.name')}</th>
            {members.some((m) => m.email) && <th scope="col">{t('members.email')}</th>}
            <th scope="col">{t('members.role')}</th>
            <th scope="col">{t('members.added')}</th>
            {manages && (
              <th scope="col">
                <span className="visually-hidden">{t('members.remove')}</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.userId}>
              <td>
                <Said text={m.displayName} />
              </td>
              {members.some((x) => x.email) && <td>{m.email}</td>}
              <td>{t(`role.${m.role}`)}</td>
              <td>{instant(m.addedAt)}</td>
              {manages && (
                <td>
                  {m.userId !== me.id && (
                    <button type="button" className="danger" onClick={() => remove(m)} aria-label={`${t('members.remove')}: ${m.displayName}`}>
                      {t('members.remove')}
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {manages && (
        <form onSubmit={add.onSubmit} className="narrow">
          <h2>{t('members.add')}</h2>
          <Field label={t('members.email')} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={error instanceof ApiError ? error.forField('email') : undefined} />
          <button type="submit" className="primary">
            {t('common.add')}
          </button>
        </form>
      )}
      <ErrorNote error={error} />
    </div>
  );
}
