import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, call, get, type Role } from '../api.js';
import { useI18n } from '../i18n.js';
import { ErrorNote, Field, Select } from '../ui.js';

interface TokenRow {
  id: string;
  kind: 'session' | 'api';
  name: string | null;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

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
  const [reason, setReason] = useState('');
  const [tokens, setTokens] = useState<{ user: UserRow; items: TokenRow[] } | null>(null);
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
      if (tokens?.user.id === user.id) await showTokens(user);
    } catch (e) {
      setError(e);
    }
  }

  async function changeRole(user: UserRow, role: Role) {
    setError(null);
    try {
      await call('PATCH', `/users/${user.id}`, { role, reason });
      setNotice(t('admin.roleChanged', { u: user.displayName, r: t(`role.${role}`) }));
      await load();
    } catch (e) {
      setError(e);
    }
  }

  async function showTokens(user: UserRow) {
    setError(null);
    try {
      setTokens({ user, items: await get<TokenRow[]>(`/users/${user.id}/tokens`) });
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">{t('admin.title')}</h1>
      {notice && <p role="status">{notice}</p>}
      <ErrorNote error={error} />
      <div className="narrow">
        <Field label={t('admin.reason')} value={reason} onChange={(e) => setReason(e.target.value)} error={fieldError('reason')} />
      </div>
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
              <td>
                <select aria-label={`${t('admin.role')}: ${u.displayName}`} value={u.role} onChange={(e) => changeRole(u, e.target.value as Role)}>
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {t(`role.${r}`)}
                    </option>
                  ))}
                </select>
              </td>
              <td>{instant(u.createdAt)}</td>
              <td>
                <button type="button" onClick={() => showTokens(u)} aria-label={`${t('admin.tokens')}: ${u.displayName}`}>
                  {t('admin.tokens')}
                </button>{' '}
                <button type="button" className="danger" onClick={() => revoke(u)} aria-label={`${t('admin.revoke')}: ${u.displayName}`}>
                  {t('admin.revoke')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {tokens && (
        <table>
          <caption>
            {t('admin.tokens')}: {tokens.user.displayName}
          </caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.tokenKind')}</th>
              <th scope="col">{t('cases.created')}</th>
              <th scope="col">{t('admin.lastUsed')}</th>
              <th scope="col">{t('admin.expires')}</th>
              <th scope="col">{t('admin.revokedAt')}</th>
            </tr>
          </thead>
          <tbody>
            {tokens.items.map((tok) => (
              <tr key={tok.id}>
                <td>{tok.kind === 'api' ? `${t('admin.deviceToken')}${tok.name ? `: ${tok.name}` : ''}` : t('admin.session')}</td>
                <td>{instant(tok.createdAt)}</td>
                <td>{instant(tok.lastUsedAt)}</td>
                <td>{instant(tok.expiresAt)}</td>
                <td>{instant(tok.revokedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
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
