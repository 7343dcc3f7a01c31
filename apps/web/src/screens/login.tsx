import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, call, token, type Language, type Me } from '../api.js';
import { lastSignOut, LanguageSwitch } from '../app.js';
import { useI18n } from '../i18n.js';
import { errorText, Field } from '../ui.js';

export function LoginScreen({ onSignedIn, onLanguage }: { onSignedIn(): Promise<void>; onLanguage(lang: Language): void }) {
  const { t } = useI18n();
  const [notEnded, setNotEnded] = useState(false);
  useEffect(() => {
    let mounted = true;
    void lastSignOut?.then((ended) => mounted && setNotEnded(!ended));
    return () => {
      mounted = false;
    };
  }, []);
  return (
    <main id="main" className="login">
      <div className="login-box">
        <h1>
          {t('app.name')} <span>{t('app.tagline')}</span>
        </h1>
        <LanguageSwitch onLanguage={onLanguage} />
        {notEnded && (
          <p className="error" role="alert">
            {t('login.signOutUnheard')}
          </p>
        )}
        <LoginForm onSignedIn={onSignedIn} />
      </div>
    </main>
  );
}

/** Email and password, the archive's answer said in the console's language. */
export function LoginForm({ onSignedIn, autoFocus }: { onSignedIn(): Promise<void>; autoFocus?: boolean }) {
  const { t } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      const result = await call<{ accessToken: string; user: Me }>('POST', '/auth/login', { email, password });
      token.set(result.accessToken);
      await onSignedIn();
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) setFailure(error.retryAfter ? t('login.slow', { s: error.retryAfter }) : t('error.tooManyLater'));
      else if (error instanceof ApiError && error.status === 401) setFailure(t('login.failed'));
      else setFailure(errorText(error, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} aria-labelledby="login-title">
      <h2 id="login-title">{t('login.title')}</h2>
      <Field label={t('login.email')} type="email" autoComplete="username" autoFocus={autoFocus} required value={email} onChange={(e) => setEmail(e.target.value)} />
      <Field label={t('login.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
      {failure && (
        <p className="error" role="alert">
          {failure}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {t('login.submit')}
      </button>
    </form>
  );
}
