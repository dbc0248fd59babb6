import { useCallback, useEffect, useState } from 'react';
import { api, errorText, refreshCsrf, type Me } from './api';
import { AccountPage } from './Account';
import { AdminPage } from './Admin';
import { USER } from './format';

type Route = { view: 'auth' } | { view: 'account'; user?: string } | { view: 'admin' };

function parseRoute(hash: string): Route {
  if (hash.startsWith('#/admin')) return { view: 'admin' };
  const m = /^#\/account(?:\/([^/]+))?/.exec(hash);
  if (m) return { view: 'account', user: m[1] ? decodeURIComponent(m[1]) : undefined };
  return { view: 'auth' };
}

function AuthForms({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent<HTMLFormElement>, path: string) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const userId = String(f.get('user') ?? '').trim();
    const password = String(f.get('password') ?? '');
    const claimCode = String(f.get('claim') ?? '').trim();
    if (!USER.test(userId)) { setError('User id: 1-64 characters of A-Z a-z 0-9 _ -'); return; }
    if (path === '/api/signup' && password.length < 8) { setError('Password: at least 8 characters'); return; }
    setBusy(true);
    const r = await api<{ error?: string }>('POST', path, claimCode ? { userId, password, claimCode } : { userId, password });
    setBusy(false);
    if (!r.ok) { setError(errorText(r)); return; }
    setError('');
    await refreshCsrf(); // the token belongs to the signed-in user
    await onSignedIn();
  }

  return (
    <section id="auth" className="auth">
      <form id="login-form" className="card" noValidate onSubmit={(e) => void submit(e, '/api/login')}>
        <h2>Log in</h2>
        <label>User id <input id="login-user" name="user" autoComplete="username" required /></label>
        <label>Password <input id="login-password" name="password" type="password" autoComplete="current-password" required /></label>
        <button type="submit" id="login-submit" className="primary" disabled={busy}>Log in</button>
      </form>
      <form id="signup-form" className="card" noValidate onSubmit={(e) => void submit(e, '/api/signup')}>
        <h2>Sign up</h2>
        <label>User id <input id="signup-user" name="user" autoComplete="username" required /></label>
        <label>Password (8+ characters) <input id="signup-password" name="password" type="password" autoComplete="new-password" required /></label>
        <label>Claim code (only for an existing trading account) <input id="signup-claim" name="claim" autoComplete="off" /></label>
        <button type="submit" id="signup-submit" className="primary" disabled={busy}>Sign up</button>
      </form>
      <p id="auth-error" className="error" role="alert">{error}</p>
    </section>
  );
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  const [viewError, setViewError] = useState('');

  const loadMe = useCallback(async () => {
    const r = await api<Me>('GET', '/api/me');
    setMe(r.ok ? r.data : null);
  }, []);

  useEffect(() => { void loadMe(); }, [loadMe]);
  useEffect(() => {
    const f = () => { setViewError(''); setRoute(parseRoute(location.hash)); };
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);

  const onRefused = useCallback((text: string) => setViewError(text), []);

  async function logout() {
    await api('POST', '/api/logout');
    await refreshCsrf();
    setMe(null);
    location.hash = '#/login';
  }

  let body: React.ReactNode = null;
  if (me === undefined) body = <p className="hint">Loading…</p>;
  else if (me === null) body = <AuthForms onSignedIn={async () => { await loadMe(); location.hash = '#/account'; setRoute({ view: 'account' }); }} />;
  else if (viewError) body = null;
  else if (route.view === 'admin') body = <AdminPage onRefused={onRefused} />;
  else body = <AccountPage key={route.view === 'account' && route.user ? route.user : me.userId} user={route.view === 'account' && route.user ? route.user : me.userId} onRefused={onRefused} />;

  return (
    <>
      <header className="top">
        <a className="brand" href="#/account">DayTrading</a>
        {me && (
          <nav id="nav" aria-label="main">
            <span id="who">{me.userId}</span>
            <a href="#/account" id="nav-account">Account</a>
            {me.admin && <a href="#/admin" id="nav-admin">Admin</a>}
            <button id="logout" type="button" onClick={() => void logout()}>Log out</button>
          </nav>
        )}
      </header>
      <main>
        {viewError && <p id="view-error" className="error" role="alert">{viewError}</p>}
        {body}
      </main>
    </>
  );
}
