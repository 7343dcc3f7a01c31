import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, call, get, type Role } from '../api.js';
import { useI18n } from '../i18n.js';
import { useSession } from '../session.js';
import { ErrorNote, Field, Said, Select, useSubmit } from '../ui.js';

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

interface IssuedToken {
  id: string;
  name: string;
  token: string;
  expiresAt: string;
}

/**
 * Accounts: create, change role, disable or enable, set a password; a user's sessions and device
 * tokens, issue one (shown once) and revoke them one by one, or all at once (a seized phone). Ending
 * access (revoking all, disabling) is asked about first: a documenter in the field cannot sign in
 * again before someone at the desk helps. No one disables their own account here (the API refuses).
 */
export function AdminScreen() {
  const { t, instant } = useI18n();
  const { me } = useSession();
  const [users, setUsers] = useState<UserRow[]>([]);
  const [form, setForm] = useState({ email: '', displayName: '', password: '', role: 'documenter' as Role });
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [reason, setReason] = useState('');
  const [tokens, setTokens] = useState<{ user: UserRow; items: TokenRow[] } | null>(null);
  const load = useCallback(() => get<UserRow[]>('/users').then(setUsers, setError), []);
  useEffect(() => void load(), [load]);
  const fieldError = (name: string) => (error instanceof ApiError ? error.forField(name) : undefined);

  const create = useSubmit(async () => {
    setError(null);
    try {
      await call('POST', '/users', { ...form, mustChange: true });
      setForm({ email: '', displayName: '', password: '', role: 'documenter' });
      await load();
    } catch (e) {
      setError(e);
    }
  });

  async function revoke(user: UserRow) {
    if (!window.confirm(t('confirm.revokeAll', { n: user.displayName }))) return;
    setError(null);
    try {
      await call('DELETE', `/users/${user.id}/tokens`);
      setNotice(t('admin.revoked', { u: user.displayName }));
      if (tokens?.user.id === user.id) await showTokens(user);
    } catch (e) {
      setError(e);
    }
  }

  async function setDisabled(user: UserRow, disabled: boolean) {
    if (disabled && !window.confirm(t('confirm.disable', { n: user.displayName }))) return;
    setError(null);
    try {
      await call('PATCH', `/users/${user.id}`, { disabled, reason });
      setNotice(t(disabled ? 'admin.disabledNotice' : 'admin.enabledNotice', { u: user.displayName }));
      await load();
      if (tokens?.user.id === user.id) await showTokens(user);
    } catch (e) {
      setError(e);
    }
  }

  async function changeRole(user: UserRow, role: Role) {
    // A select changes on one arrow key: a role is changed only when the administrator says so.
    if (!window.confirm(t('confirm.role', { n: user.displayName, r: t(`role.${role}`) }))) return;
    setError(null);
    try {
      await call('PATCH', `/users/${user.id}`, { role, reason });
      setNotice(t('admin.roleChanged', { u: user.displayName, r: t(`role.${role}`) }));
      await load();
    } catch (e) {
      setError(e);
    }
  }

  async function revokeOne(user: UserRow, tok: TokenRow) {
    setError(null);
    try {
      await call('DELETE', `/auth/tokens/${tok.id}`);
      setNotice(t('admin.revokedOne', { n: tok.name ?? tok.id, u: user.displayName }));
      await showTokens(user);
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
      <table aria-labelledby="admin-title">
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
                <Said text={u.displayName} />
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
                {u.id !== me.id && (
                  <>
                    <button type="button" onClick={() => setDisabled(u, !u.disabledAt)} aria-label={`${t(u.disabledAt ? 'admin.enable' : 'admin.disable')}: ${u.displayName}`}>
                      {t(u.disabledAt ? 'admin.enable' : 'admin.disable')}
                    </button>{' '}
                  </>
                )}
                <button type="button" className="danger" onClick={() => revoke(u)} aria-label={`${t('admin.revoke')}: ${u.displayName}`}>
                  {t('admin.revoke')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {tokens && <AccountPanel key={tokens.user.id} user={tokens.user} onChanged={() => showTokens(tokens.user)} />}
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
              <th scope="col">
                <span className="visually-hidden">{t('admin.actions')}</span>
              </th>
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
                <td>
                  {tok.kind === 'api' && !tok.revokedAt && (
                    <button type="button" className="danger" onClick={() => revokeOne(tokens.user, tok)} aria-label={`${t('admin.revokeOne')}: ${tok.name ?? tok.id}`}>
                      {t('admin.revokeOne')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={create.onSubmit} className="record-form">
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

/** One account's password and device tokens: each form shows the API's messages beside its fields. */
function AccountPanel({ user, onChanged }: { user: UserRow; onChanged(): void }) {
  const { t, instant } = useI18n();
  const [password, setPassword] = useState('');
  const [mustChange, setMustChange] = useState(true);
  const [passwordError, setPasswordError] = useState<unknown>(null);
  const [passwordDone, setPasswordDone] = useState(false);
  const [tokenName, setTokenName] = useState('');
  const [tokenExpiry, setTokenExpiry] = useState('');
  const [tokenError, setTokenError] = useState<unknown>(null);
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [copied, setCopied] = useState(false);
  const passwordField = (name: string) => (passwordError instanceof ApiError ? passwordError.forField(name) : undefined);
  const tokenField = (name: string) => (tokenError instanceof ApiError ? tokenError.forField(name) : undefined);

  async function savePassword(event: FormEvent) {
    event.preventDefault();
    setPasswordError(null);
    setPasswordDone(false);
    try {
      await call('POST', `/users/${user.id}/password`, { password, mustChange });
      setPassword('');
      setPasswordDone(true);
      onChanged();
    } catch (e) {
      setPasswordError(e);
    }
  }

  async function issue(event: FormEvent) {
    event.preventDefault();
    setTokenError(null);
    setIssued(null);
    setCopied(false);
    try {
      const body = { name: tokenName, ...(tokenExpiry ? { expiresAt: new Date(tokenExpiry).toISOString() } : {}) };
      setIssued(await call<IssuedToken>('POST', `/users/${user.id}/tokens`, body));
      setTokenName('');
      setTokenExpiry('');
      onChanged();
    } catch (e) {
      setTokenError(e);
    }
  }

  async function copy() {
    if (!issued) return;
    // No clipboard outside a secure origin (plain http on a LAN address): the token stays shown to copy by hand.
    try {
      await navigator.clipboard.writeText(issued.token);
      setCopied(true);
    } catch (e) {
      setTokenError(e);
    }
  }

  return (
    <div className="account-panel">
      <form onSubmit={savePassword} className="record-form" aria-label={`${t('admin.setPassword')}: ${user.displayName}`}>
        <h2>
          {t('admin.setPassword')}: {user.displayName}
        </h2>
        <Field label={t('admin.newPassword')} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={passwordField('password')} />
        <div className="field">
          <label>
            <input type="checkbox" checked={mustChange} onChange={(e) => setMustChange(e.target.checked)} /> {t('admin.mustChange')}
          </label>
        </div>
        {passwordDone && <p role="status">{t('admin.passwordSet', { u: user.displayName })}</p>}
        <ErrorNote error={passwordError} />
        <button type="submit" className="primary">
          {t('admin.setPassword')}
        </button>
      </form>
      <form onSubmit={issue} className="record-form" aria-label={`${t('admin.issueToken')}: ${user.displayName}`}>
        <h2>
          {t('admin.issueToken')}: {user.displayName}
        </h2>
        <Field label={t('admin.tokenName')} required value={tokenName} onChange={(e) => setTokenName(e.target.value)} error={tokenField('name')} />
        <Field label={t('admin.tokenExpiry')} type="datetime-local" value={tokenExpiry} onChange={(e) => setTokenExpiry(e.target.value)} error={tokenField('expiresAt')} />
        <ErrorNote error={tokenError} />
        <button type="submit" className="primary">
          {t('admin.issueToken')}
        </button>
        {issued && (
          <div className="issued-token" role="status">
            <p>{t('admin.tokenOnce', { n: issued.name, e: instant(issued.expiresAt) })}</p>
            <Field label={t('admin.tokenValue')} readOnly value={issued.token} onFocus={(e) => e.target.select()} data-testid="issued-token" />
            <button type="button" onClick={copy}>
              {copied ? t('admin.copied') : t('admin.copy')}
            </button>
          </div>
        )}
      </form>
    </div>
  );
}
