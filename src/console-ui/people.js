// People: search by name, userName, email (GET /admin/v1/users?q=) or go straight to a person by externalId or id
// (GET /admin/v1/users/<key> names a person any of those ways).
import { useState } from 'preact/hooks';
import { html, useLoad, PageTitle, Loading, Pager, Badge, fmtTime, navigate } from './ui.js';
import { get } from './api.js';

export function personState(p) {
  if (p.deleted) return html`<${Badge} kind="bad">deleted<//>`;
  return p.active ? html`<${Badge} kind="ok">active<//>` : html`<${Badge} kind="warn">deactivated<//>`;
}

export function People() {
  const initial = new URLSearchParams(location.search).get('q') ?? '';
  const [q, setQ] = useState(initial);
  const [search, setSearch] = useState({ q: initial, deleted: false });
  const [cursors, setCursors] = useState([]);
  const list = useLoad(() => get('/users', { q: search.q || undefined, deleted: search.deleted ? 'true' : undefined, limit: 50, after: cursors.at(-1) }), [search, cursors]);

  const submit = (e) => {
    e.preventDefault();
    history.replaceState(null, '', `/console/people${q ? `?q=${encodeURIComponent(q)}` : ''}`);
    setCursors([]);
    setSearch({ ...search, q: q.trim() });
  };
  const byKey = () => q.trim() && navigate(`/console/people/${encodeURIComponent(q.trim())}`);

  return html`<${PageTitle}>People<//>
    <form class="card" role="search" onSubmit=${submit}>
      <label for="q">Search by name, userName or email</label>
      <input id="q" type="search" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} aria-describedby="q-hint" />
      <p class="muted small" id="q-hint">A part of the name, userName or email; end with * for a prefix. “Open” takes an externalId, userName or id straight to the person.</p>
      <label class="inline"><input type="checkbox" checked=${search.deleted} onChange=${(e) => { setCursors([]); setSearch({ ...search, deleted: e.currentTarget.checked }); }} /> Deleted people only</label>
      <div class="actions"><button class="primary" type="submit">Search</button><button type="button" onClick=${byKey}>Open</button></div>
    </form>
    <${Loading} when=${list.loading && !list.data}>
      ${list.data ? html`${list.data.items.length ? html`<div class="table-wrap"><table aria-label="People">
        <thead><tr><th scope="col">userName</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">externalId</th><th scope="col">Status</th><th scope="col">Changed</th></tr></thead>
        <tbody>${list.data.items.map((p) => html`<tr key=${p.id}>
          <td><a href="/console/people/${encodeURIComponent(p.id)}">${p.userName}</a></td><td>${p.displayName ?? '—'}</td><td>${p.email ?? '—'}</td>
          <td>${p.externalId ?? '—'}</td><td>${personState(p)}</td><td>${fmtTime(p.lastModified)}</td></tr>`)}</tbody>
      </table></div>` : html`<p class="muted">Nobody matches.</p>`}
      <${Pager} cursors=${cursors} next=${list.data.next} onPage=${setCursors} />` : ''}
    <//>`;
}
