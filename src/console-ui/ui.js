// Small pieces every page uses: navigation by the history API, the error alert, loading data, formatting.
import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

export { html };

/** Go to a console URL without reloading the page (the app listens for this event and for popstate). */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new Event('console:navigate'));
}

/** Show a failure in the page's alert region (role=alert: screen readers announce it). */
export function reportError(err) {
  if (err?.status === 401) return; // the app is already back at the sign-in form
  window.dispatchEvent(new CustomEvent('console:error', { detail: err?.message ?? String(err) }));
}

export function clearError() {
  window.dispatchEvent(new CustomEvent('console:error', { detail: null }));
}

/** Run `load` when `deps` change; failures go to the alert region. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: undefined, loading: true, failed: false });
  const run = useCallback(async () => {
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      setState({ data, loading: false, failed: false });
    } catch (err) {
      reportError(err);
      setState({ data: undefined, loading: false, failed: true });
    }
  }, deps);
  useEffect(() => { run(); }, [run]);
  return { ...state, reload: run };
}

/** An action button's handler: disables nothing itself, reports failures, resolves to the result or undefined. */
export async function attempt(fn) {
  clearError();
  try {
    return await fn();
  } catch (err) {
    reportError(err);
    return undefined;
  }
}

const pad = (n) => String(n).padStart(2, '0');

/** Local date and time to the second: 2026-12-03 10:55:12. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export const fmtInt = (n) => (n ?? 0).toLocaleString('en');
export const fmtPct = (r) => `${((r ?? 0) * 100).toFixed(1)}%`;

export function Badge({ kind = 'off', children }) {
  return html`<span class="badge ${kind}">${children}</span>`;
}

export function statusKind(status) {
  if (status >= 500) return 'bad';
  if (status >= 400) return 'warn';
  return 'ok';
}

/** The heading of a page, focused after each navigation so a screen reader starts there. */
export function PageTitle({ children }) {
  return html`<h1 tabindex="-1" id="page-title">${children}</h1>`;
}

export function Loading({ when, children }) {
  return when ? html`<p class="muted" aria-live="polite">Loading…</p>` : children;
}

/** "Newer" and "Older" buttons over keyset pages: `cursors` is the stack of `after` values that led here. */
export function Pager({ cursors, next, onPage }) {
  if (!cursors.length && !next) return null;
  return html`<div class="actions">
    <button type="button" disabled=${!cursors.length} onClick=${() => onPage(cursors.slice(0, -1))}>Newer</button>
    <button type="button" disabled=${!next} onClick=${() => onPage([...cursors, next])}>Older</button>
  </div>`;
}
