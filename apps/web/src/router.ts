import { useEffect, useState } from 'react';

/** The console's address bar: plain paths (the API serves index.html for any non-API path). */
export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  // The screen left remembers where it was left for: Back gives that link the focus again (app.tsx).
  history.replaceState({ ...(history.state as object | null), followed: path }, '');
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** On a screen come back to (Back), the address it was left for; null on one newly opened. */
export function followedFromHere(): string | null {
  const state = history.state as { followed?: unknown } | null;
  return typeof state?.followed === 'string' ? state.followed : null;
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return path;
}

/** `match('/cases/:id', path)` → { id } or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.replace(/\/$/, '').split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i]!.startsWith(':')) params[want[i]!.slice(1)] = decodeURIComponent(got[i]!);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

/** A screen's filters as its address holds them (`keys` only; the others as in `none`). */
export function filtersInAddress<F extends Record<string, string>>(keys: readonly (keyof F & string)[], none: F): F {
  const params = new URLSearchParams(location.search);
  return { ...none, ...Object.fromEntries(keys.flatMap((key) => (params.get(key) ? [[key, params.get(key)!]] : []))) };
}

/**
 * The address bar shows a screen's filters (`keys` of them), replaced, not pushed: Back leaves the
 * screen as before, and a reload, a return from a record and a link sent on show the same selection.
 */
export function keepInAddress<F extends Record<string, string>>(keys: readonly (keyof F & string)[], filters: F): void {
  const query = new URLSearchParams(keys.flatMap((key) => (filters[key] ? [[key, filters[key]]] : []))).toString();
  history.replaceState(history.state, '', location.pathname + (query ? `?${query}` : ''));
}
