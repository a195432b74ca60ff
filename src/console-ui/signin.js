// Sign in with an admin-scope token (ADMIN_TOKEN or one from `token create --scope admin`). The token goes to
// POST /console/session once and is not kept: the server answers with an HttpOnly session cookie.
import { useEffect, useState } from 'preact/hooks';
import { html } from './ui.js';
import { signIn } from './api.js';

export function SignIn({ reason, onSignedIn }) {
  useEffect(() => { document.title = 'Sign in · Provisioning console'; }, []);
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(token.trim());
      setToken('');
      onSignedIn(session);
    } catch (err) {
      setError(err.status === 401 || err.status === 403 ? `Not signed in: ${err.message}` : err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main id="main" class="signin">
    <form class="card" onSubmit=${submit} aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to the provisioning console</h1>
      ${reason ? html`<p class="notice" role="status">${reason}</p>` : ''}
      <div class="alert" role="alert">${error ? html`<p>${error}</p>` : ''}</div>
      <label for="token">Admin token</label>
      <input id="token" type="password" autocomplete="current-password" required value=${token}
        onInput=${(e) => setToken(e.currentTarget.value)} aria-describedby="token-hint" />
      <p class="muted small" id="token-hint">An admin-scope token: ADMIN_TOKEN, or one from <code>npm run cli -- token create --name console --scope admin</code>. It is checked once and never stored in the browser.</p>
      <div class="actions"><button class="primary" type="submit" disabled=${busy}>Sign in</button></div>
    </form>
  </main>`;
}
