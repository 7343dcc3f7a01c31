import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, call, get, type Role } from '../api.js';
import { useI18n } from '../i18n.js';
import { ErrorNote, Field, Select } from '../ui.js';

interface UserRow {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  createdAt: string;
  disabledAt: string | null;
}

const ROLES: Role[] = ['admin', 'investigator', 'documenter', 'auditor'];

/** Accounts: create, and revoke every session and device token of a user in one click (a seized phone). */
export function AdminScreen() {
  const { t, instant } = useI18n();
  const [users, setUsers] = useState<UserRow[]>([]);
  const [form, setForm] = useState({ email: '', displayName: '', password: '', role: 'documenter' as Role });
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const load = useCallback(() => get<UserRow[]>('/users').then(setUsers, setError), []);
  useEffect(() => void load(), [load]);
  const fieldError = (name: string) => (error instanceof ApiError ? error.forField(name) : undefined);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await call('POST', '/users', { ...form, mustChange: true });
      setForm({ email: '', displayName: '', password: '', role: 'documenter' });
      await load();
    } catch (e) {
      setError(e);
    }
  }

  async function revoke(user: UserRow) {
    setError(null);
    try {
      await call('DELETE', `/users/${user.id}/tokens`);
      setNotice(t('admin.revoked', { u: user.displayName }));
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">{t('admin.title')}</h1>
      {notice && <p role="status">{notice}</p>}
      <ErrorNote error={error} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t('admin.displayName')}</th>
            <th scope="col">{t('admin.email')}</th>
            <th scope="col">{t('admin.role')}</th>
            <th scope="col">{t('cases.created')}</th>
            <th scope="col">{t('admin.tokens')}</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td>
                {u.displayName}
                {u.disabledAt && ` (${t('admin.disabled')})`}
              </td>
              <td>{u.email}</td>
              <td>{t(`role.${u.role}`)}</td>
              <td>{instant(u.createdAt)}</td>
              <td>
                <button type="button" className="danger" onClick={() => revoke(u)} aria-label={`${t('admin.revoke')}: ${u.displayName}`}>
                  {t('admin.revoke')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={create} className="record-form">
        <h2>{t('admin.new')}</h2>
        <Field label={t('admin.displayName')} required value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} error={fieldError('displayName')} />
        <Field label={t('admin.email')} type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} error={fieldError('email')} />
        <Field label={t('admin.password')} type="password" autoComplete="new-password" required minLength={12} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} error={fieldError('password')} />
        <Select label={t('admin.role')} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </Select>
        <button type="submit" className="primary">
          {t('common.create')}
        </button>
      </form>
    </section>
  );
}
