import { Component, lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, call, get, takeReadRefused, token, whenUnauthorized, type Language, type Me, type Vocabulary } from './api.js';
import { I18nContext, makeI18n, useI18n } from './i18n.js';
import { followedFromHere, match, navigate, usePath } from './router.js';
import { SessionContext, useSession, type Session } from './session.js';
import { Link, Said, WithEnglish } from './ui.js';
import { AccountScreen } from './screens/account.js';
import { CaseScreen } from './screens/case.js';
import { CasesScreen } from './screens/cases.js';
import { EvidenceScreen, ItemCustodyScreen } from './screens/evidence.js';
import { IncidentScreen } from './screens/incident.js';
import { LoginForm, LoginScreen } from './screens/login.js';
import { LogScreen } from './screens/log.js';
// Screens most people open rarely load with their first use (their own script).
const AdminScreen = lazy(() => import('./screens/admin.js').then((m) => ({ default: m.AdminScreen })));
const RemnantScreen = lazy(() => import('./screens/remnants.js').then((m) => ({ default: m.RemnantScreen })));
const RemnantFormScreen = lazy(() => import('./screens/remnants.js').then((m) => ({ default: m.RemnantFormScreen })));

const LANGUAGE_KEY = 'custodia.language';

/** Before anyone signs in: the language last used in this browser, else the browser's own. */
function browserLanguage(): Language {
  const stored = localStorage.getItem(LANGUAGE_KEY);
  if (stored === 'uk' || stored === 'en') return stored;
  return navigator.language.toLowerCase().startsWith('en') ? 'en' : 'uk';
}

/** How often the console asks again while the archive cannot be reached at start (ms). */
const RETRY_MS = 10_000;

/** The last sign-out's answer: whether the archive ended the session (the sign-in screen says when it did not). */
export let lastSignOut: Promise<boolean> | null = null;

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [vocabularies, setVocabularies] = useState<Vocabulary[]>([]);
  const [lang, setLang] = useState<Language>(browserLanguage);
  const [ready, setReady] = useState(false);
  // The token stopped working while the console was open (revoked, expired): the screens stay as
  // they are, behind a sign-in, so nothing typed is lost.
  const [ended, setEnded] = useState(false);
  // The archive could not be reached when the console started: the token is kept, and asked about again.
  const [offline, setOffline] = useState(false);
  // Who the console was last signed in as (the shell keeps their screens while a session ends).
  const signedIn = useRef<string | null>(null);
  // How many times the screens were made again after a session resumed (the shell's key).
  const [remade, setRemade] = useState(0);
  // Something was typed on the screen shown (since it was opened): it is never made again under the user.
  const typed = useRef(false);
  useEffect(() => {
    // On the screens, not in the sign-in over them.
    const onInput = (event: Event) => (typed.current ||= event.target instanceof Element && event.target.closest('.shell') !== null);
    const onScreen = () => (typed.current = false);
    addEventListener('input', onInput, true);
    addEventListener('popstate', onScreen);
    return () => {
      removeEventListener('input', onInput, true);
      removeEventListener('popstate', onScreen);
    };
  }, []);

  const signOut = useCallback(() => {
    // The archive ends the session; if it cannot be reached, the sign-in screen says so (the
    // token, gone from this tab, stays valid there until it expires or an administrator ends it).
    if (token.get()) lastSignOut = call('POST', '/auth/logout').then(() => true, (error: unknown) => error instanceof ApiError && error.status === 401);
    token.set(null);
    signedIn.current = null;
    setMe(null);
    navigate('/login');
  }, []);

  const load = useCallback(async () => {
    if (!token.get()) return setReady(true);
    try {
      const who = await get<Me>('/auth/me');
      // Someone else signed in over an ended session: their console starts afresh. The same
      // person again: the screens stay (what they typed is kept); a screen nothing was typed on
      // whose read was refused meanwhile (opened as the session ended: it shows that refusal)
      // is made again.
      const readRefused = takeReadRefused();
      if (signedIn.current !== null && signedIn.current !== who.id) navigate('/');
      else if (signedIn.current !== null && readRefused && !typed.current) setRemade((n) => n + 1);
      signedIn.current = who.id;
      setMe(who);
      setEnded(false);
      setOffline(false);
      if (who.language) setLang(who.language);
      if (!who.mustChangePassword) setVocabularies(await get<Vocabulary[]>('/vocabularies'));
    } catch (error) {
      // Only the archive saying no ends a session; no answer (no network, the archive restarting) does not.
      if (error instanceof ApiError && error.status === 401) {
        token.set(null);
        signedIn.current = null;
        setMe(null);
      } else {
        setOffline(true);
      }
    }
    setReady(true);
  }, []);

  useEffect(() => {
    whenUnauthorized(() => {
      token.set(null);
      setEnded(true);
    });
    void load();
  }, [load]);

  useEffect(() => {
    if (!offline || me) return;
    const timer = setInterval(() => void load(), RETRY_MS);
    return () => clearInterval(timer);
  }, [offline, me, load]);

  useEffect(() => {
    document.documentElement.lang = lang;
    localStorage.setItem(LANGUAGE_KEY, lang);
  }, [lang]);

  const chooseLanguage = useCallback(
    async (next: Language) => {
      setLang(next);
      // Remembered per user, so it follows them to another device.
      // (This browser keeps it anyway; a refusal is not the language's concern.)
      if (me) {
        await call('PATCH', '/auth/me', { language: next }).then(
          () => setMe({ ...me, language: next }),
          () => undefined,
        );
      }
    },
    [me],
  );

  const i18n = useMemo(() => makeI18n(lang, vocabularies), [lang, vocabularies]);
  const session = useMemo<Session | null>(
    () =>
      me && {
        me,
        vocabularies,
        terms: (name) => vocabularies.find((v) => v.vocabulary === name)?.terms ?? [],
        signOut,
        refreshMe: load,
      },
    [me, vocabularies, signOut, load],
  );

  if (!ready) return null;
  return (
    <I18nContext.Provider value={i18n}>
      {session ? (
        <SessionContext.Provider value={session}>
          <div className="shell" inert={ended}>
            <Shell key={`${session.me.id}-${remade}`} onLanguage={chooseLanguage} />
          </div>
          {ended && <SessionEnded onSignedIn={load} />}
        </SessionContext.Provider>
      ) : offline ? (
        <Offline onRetry={load} />
      ) : (
        <LoginScreen onLanguage={chooseLanguage} onSignedIn={load} />
      )}
    </I18nContext.Provider>
  );
}

/** Sign in again over the screens as they were; another person signing in gets a fresh console. */
function SessionEnded({ onSignedIn }: { onSignedIn(): Promise<void> }) {
  const { t } = useI18n();
  return (
    <div className="overlay">
      <div role="alertdialog" aria-modal="true" aria-labelledby="login-title" aria-describedby="session-ended" className="login-box">
        <p id="session-ended" className="error">
          {t('session.ended')}
        </p>
        <LoginForm onSignedIn={onSignedIn} autoFocus />
      </div>
    </div>
  );
}

function Offline({ onRetry }: { onRetry(): Promise<void> }) {
  const { t } = useI18n();
  return (
    <main id="main" className="login">
      <div className="login-box" role="alert">
        <h1>{t('offline.title')}</h1>
        <p>{t('offline.text')}</p>
        <button type="button" className="primary" onClick={() => void onRetry()}>
          {t('offline.retry')}
        </button>
      </div>
    </main>
  );
}

export function LanguageSwitch({ onLanguage }: { onLanguage(lang: Language): void }) {
  const { t, lang } = useI18n();
  return (
    <div className="language" role="group" aria-label={t('lang.label')}>
      {(['uk', 'en'] as const).map((code) => (
        <button key={code} type="button" lang={code} aria-pressed={lang === code} onClick={() => onLanguage(code)}>
          {t(`lang.${code}`)}
        </button>
      ))}
    </div>
  );
}

function Shell({ onLanguage }: { onLanguage(lang: Language): void }) {
  const { t } = useI18n();
  const { me, signOut } = useSession();
  const path = usePath();
  useEffect(() => {
    if (path === '/login') navigate('/');
  }, [path]);
  const screen = me.mustChangePassword ? <AccountScreen /> : route(path, me.role);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    const box = main.current;
    if (first.current || !box) {
      first.current = false;
      return;
    }
    // Another screen: the keyboard and a screen reader start at its content, as after a page load.
    box.focus({ preventScroll: true });
    // Back to a screen left by a link: that link has the focus again once the screen shows it
    // (its list may still be loading), unless the person has moved on meanwhile.
    const followed = followedFromHere();
    if (!followed) return;
    const settle = () => {
      if (document.activeElement !== box) return stop();
      const link = box.querySelector<HTMLElement>(`a[href="${CSS.escape(followed)}"]`);
      if (!link) return;
      link.focus();
      stop();
    };
    const watching = new MutationObserver(settle);
    const giveUp = setTimeout(() => stop(), 10_000);
    function stop() {
      watching.disconnect();
      clearTimeout(giveUp);
    }
    watching.observe(box, { childList: true, subtree: true });
    settle();
    return stop;
  }, [path]);
  useEffect(() => {
    // The window's title names the screen (its heading, which some screens fill in once loaded).
    const box = main.current;
    if (!box) return;
    const name = () => {
      const heading = box.querySelector('h1')?.textContent?.trim();
      document.title = heading ? `${heading} · ${t('app.name')}` : t('app.name');
    };
    name();
    const watching = new MutationObserver(name);
    watching.observe(box, { childList: true, subtree: true, characterData: true });
    return () => watching.disconnect();
  }, [t]);
  return (
    <>
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className="top">
        <Link href="/" className="brand">
          {t('app.name')} <span>{t('app.tagline')}</span>
        </Link>
        <nav aria-label={t('nav.main')}>
          <Link href="/" aria-current={path === '/' || path.startsWith('/cases') ? 'page' : undefined}>
            {t('nav.cases')}
          </Link>
          {(me.role === 'auditor' || me.role === 'admin') && (
            <Link href="/log" aria-current={path === '/log' ? 'page' : undefined}>
              {t('nav.log')}
            </Link>
          )}
          {me.role === 'admin' && (
            <Link href="/admin" aria-current={path === '/admin' ? 'page' : undefined}>
              {t('nav.admin')}
            </Link>
          )}
          <Link href="/account" aria-current={path === '/account' ? 'page' : undefined}>
            {t('nav.account')}
          </Link>
        </nav>
        <LanguageSwitch onLanguage={onLanguage} />
        <span className="who">
          <Said text={me.displayName} /> · {t(`role.${me.role}`)}
        </span>
        <button type="button" onClick={signOut}>
          {t('nav.signOut')}
        </button>
      </header>
      <main id="main" tabIndex={-1} ref={main}>
        <ScreenBoundary key={path}>
          <Suspense fallback={<p>{t('common.loading')}</p>}>{screen}</Suspense>
        </ScreenBoundary>
      </main>
    </>
  );
}

function route(path: string, role: Me['role']) {
  let params: Record<string, string> | null;
  if (path === '/' || path === '/login' || path === '/cases') return <CasesScreen />;
  if (path === '/account') return <AccountScreen />;
  if (path === '/admin' && role === 'admin') return <AdminScreen />;
  if (path === '/log') return <LogScreen />;
  if ((params = match('/cases/:id', path))) return <CaseScreen caseId={params.id!} tab="evidence" />;
  if ((params = match('/cases/:id/:tab', path))) return <CaseScreen caseId={params.id!} tab={params.tab!} />;
  if ((params = match('/evidence/:id', path))) return <EvidenceScreen id={params.id!} />;
  if ((params = match('/evidence/:id/custody', path))) return <ItemCustodyScreen id={params.id!} />;
  if ((params = match('/cases/:caseId/incidents/new', path))) return <IncidentScreen caseId={params.caseId!} />;
  if ((params = match('/incidents/:id', path))) return <IncidentScreen id={params.id!} />;
  if ((params = match('/incidents/:id/remnants/new', path))) return <RemnantFormScreen incidentId={params.id!} />;
  if ((params = match('/remnants/:id', path))) return <RemnantScreen id={params.id!} />;
  if ((params = match('/remnants/:id/edit', path))) return <RemnantFormScreen id={params.id!} />;
  return <CasesScreen />;
}

/** What a screen that threw shows: that it failed, in the console's language, with the browser's own words. */
function ScreenFailed({ error }: { error: Error }) {
  const { t } = useI18n();
  return (
    <p className="error" role="alert">
      <WithEnglish message={(m) => t('common.error', { m })} text={error.message} />
    </p>
  );
}

/** A screen that throws shows what went wrong instead of an empty page; another address starts afresh. */
class ScreenBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    return this.state.error ? <ScreenFailed error={this.state.error} /> : (
      this.props.children
    );
  }
}
