// The console's shell: the session (sign-in form until there is one), the header with its navigation, the alert
// region, and the router, which maps location.pathname to one page module. Links are plain <a href="/console/...">;
// a click on one is turned into history.pushState here, so every page has a URL that can be bookmarked or reloaded.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { html, navigate, clearError } from './ui.js';
import { currentSession, signOut, whenSessionExpires } from './api.js';
import { SignIn } from './signin.js';
import { Overview } from './overview.js';
import { RequestLog } from './log.js';
import { People } from './people.js';
import { Person } from './person.js';
import { Teams } from './teams.js';
import { Team } from './team.js';
import { ConnectorPage } from './connector.js';

const BASE = '/console';

const NAV = [
  ['/console', 'Overview'],
  ['/console/log', 'Provisioning log'],
  ['/console/people', 'People'],
  ['/console/teams', 'Teams and links'],
  ['/console/connector', 'Connector'],
];

/** The page for a path, the navigation entry it belongs to, and the document title (what a screen reader announces). */
/** A path segment as text; a malformed escape (`%E0%A4%A`) stays as typed instead of throwing out of the router. */
function segment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function route(path) {
  const rest = path.replace(/\/+$/, '').slice(BASE.length).split('/').filter(Boolean).map(segment);
  switch (rest[0]) {
    case undefined: return { nav: '/console', title: 'Overview', page: html`<${Overview} />` };
    case 'log': return { nav: '/console/log', title: 'Provisioning log', page: html`<${RequestLog} />` };
    case 'people': return rest[1]
      ? { nav: '/console/people', title: `Person ${rest[1]}`, page: html`<${Person} key=${rest[1]} id=${rest[1]} />` }
      : { nav: '/console/people', title: 'People', page: html`<${People} />` };
    case 'teams': return rest[1]
      ? { nav: '/console/teams', title: 'Team', page: html`<${Team} key=${rest[1]} id=${rest[1]} />` }
      : { nav: '/console/teams', title: 'Teams and links', page: html`<${Teams} />` };
    case 'connector': return { nav: '/console/connector', title: 'Connector', page: html`<${ConnectorPage} />` };
    default: return { nav: null, title: 'Not found', page: html`<h1 tabindex="-1" id="page-title">Not found</h1><p>No console page at ${path}. <a href="/console">Overview</a></p>` };
  }
}

function Alert() {
  const [message, setMessage] = useState(null);
  useEffect(() => {
    const on = (e) => setMessage(e.detail);
    window.addEventListener('console:error', on);
    return () => window.removeEventListener('console:error', on);
  }, []);
  return html`<div class="alert" role="alert" id="alert">${message ? html`<p>${message}</p><button type="button" class="link" onClick=${() => setMessage(null)}>Dismiss</button>` : ''}</div>`;
}

function Shell({ session, onSignOut }) {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => { setPath(location.pathname); clearError(); };
    window.addEventListener('popstate', on);
    window.addEventListener('console:navigate', on);
    return () => { window.removeEventListener('popstate', on); window.removeEventListener('console:navigate', on); };
  }, []);
  const { nav, title, page } = route(path);
  // After a navigation (not the first page, which starts at the top, skip link first) the new page's heading takes
  // the focus: where a screen reader starts on a new page.
  const navigated = useRef(false);
  useEffect(() => {
    document.title = `${title} · Provisioning console`;
    if (navigated.current) document.getElementById('page-title')?.focus();
    navigated.current = true;
  }, [path]);
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="/console">Provisioning console</a>
      <nav aria-label="Console"><ul>${NAV.map(([href, label]) => html`<li><a href=${href} aria-current=${nav === href ? 'page' : undefined}>${label}</a></li>`)}</ul></nav>
      <div class="who"><span>Signed in as <strong>${session.actor}</strong></span><button type="button" onClick=${onSignOut}>Sign out</button></div>
    </header>
    <main id="main">
      <${Alert} />
      ${page}
    </main>`;
}

function App() {
  // undefined: asking the server; null: signed out; otherwise the session.
  const [session, setSession] = useState(undefined);
  const [reason, setReason] = useState(null);
  useEffect(() => {
    whenSessionExpires(() => { setReason('Your session expired: sign in again.'); setSession(null); });
    currentSession().then(setSession, () => setSession(null));
  }, []);
  if (session === undefined) return html`<main id="main"><p class="boot" aria-live="polite">Loading the console…</p></main>`;
  if (session === null) return html`<${SignIn} reason=${reason} onSignedIn=${(s) => { setReason(null); setSession(s); }} />`;
  const onSignOut = async () => {
    try { await signOut(); } catch { /* already gone: signed out either way */ }
    setReason('You are signed out.');
    setSession(null);
  };
  return html`<${Shell} session=${session} onSignOut=${onSignOut} />`;
}

// Same-origin console links navigate in place; a modified click (new tab) or another target is left to the browser.
document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(BASE) || url.hash) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

// The placeholder text goes: render() diffs against what it finds and would keep it.
const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
