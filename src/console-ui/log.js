// Provisioning log: GET /admin/v1/requests, newest first, filtered by time range, status class, person and group
// (resourceId: the requests that touched them) and paged with `after`. Expanding a row loads the audit rows that
// request wrote (GET /admin/v1/audit?requestId=), i.e. what it changed, and shows a failure's error as answered.
// The filters are in the page's URL, so a person's page can link to "their requests".
import { useEffect, useState } from 'preact/hooks';
import { html, useLoad, PageTitle, Loading, Pager, Badge, statusKind, fmtTime, attempt, reportError, clearError } from './ui.js';
import { get } from './api.js';
import { AuditTable } from './audit.js';

const RANGES = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3, all: null };
const RANGE_LABELS = { '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days', all: 'Everything kept' };
const PAGE = 50;
/** Which requests: the IdPs' (the SCIM mount, the default), the admin API's (this console's too), or all. */
const SCOPES = { scim: '/scim/v2', admin: '/admin/v1', all: '' };

function filtersFromUrl() {
  const q = new URLSearchParams(location.search);
  return {
    // Own keys only: `?range=constructor` is a key of every object through its prototype.
    scope: Object.hasOwn(SCOPES, q.get('scope') ?? '') ? q.get('scope') : 'scim', range: Object.hasOwn(RANGES, q.get('range') ?? '') ? q.get('range') : '24h',
    status: q.get('status') ?? '', person: q.get('person') ?? '', group: q.get('group') ?? '',
  };
}

function Detail({ row }) {
  const audit = useLoad(() => get('/audit', { requestId: row.requestId, order: 'asc', limit: 200 }), [row.requestId]);
  return html`<div>
    <dl class="attrs small">
      <dt>Request id</dt><dd><code>${row.requestId}</code></dd>
      <dt>Query parameters</dt><dd>${row.params ?? '—'}</dd>
      <dt>Client address</dt><dd>${row.client ?? '—'}</dd>
      ${row.status >= 400 ? html`<dt>Error returned</dt><dd><strong>${row.status}</strong>${row.errorType ? html` <code>${row.errorType}</code>` : ''}: ${row.detail ?? '(no detail)'}</dd>` : ''}
    </dl>
    <h3 class="small">What it changed</h3>
    <${Loading} when=${audit.loading}><${AuditTable} rows=${audit.data?.items} empty="This request changed nothing (no audit rows)." /><//>
  </div>`;
}

function Row({ row }) {
  const [open, setOpen] = useState(false);
  const detailId = `req-${row.id}`;
  return html`<tr>
      <td><button type="button" class="link" aria-expanded=${open} aria-controls=${detailId} onClick=${() => setOpen(!open)}>${open ? 'Hide' : 'Show'}<span class="sr-only"> request ${row.requestId}</span></button></td>
      <td>${fmtTime(row.at)}</td><td>${row.actor ?? '—'}</td><td>${row.method}</td><td class="path"><code>${row.path}</code></td>
      <td><${Badge} kind=${statusKind(row.status)}>${row.status}<//></td><td class="num">${Math.round(row.ms)} ms</td>
      <td>${row.status >= 400 ? `${row.errorType ? `${row.errorType}: ` : ''}${row.detail ?? ''}` : ''}</td>
    </tr>
    ${open ? html`<tr class="detail" id=${detailId}><td colspan="8"><${Detail} row=${row} /></td></tr>` : ''}`;
}

export function RequestLog() {
  const [form, setForm] = useState(filtersFromUrl);
  const [applied, setApplied] = useState(form);
  const [cursors, setCursors] = useState([]);
  const [groups, setGroups] = useState([]);
  useEffect(() => { attempt(() => get('/groups', { limit: 1000 })).then((g) => g && setGroups(g.items)); }, []);

  const list = useLoad(async () => {
    // A person is named as an admin would (userName, externalId or id); the log is searched by their id.
    const person = applied.person ? (await get(`/users/${encodeURIComponent(applied.person)}`)).user.id : undefined;
    const range = RANGES[applied.range];
    return get('/requests', {
      path: SCOPES[applied.scope], status: applied.status, resourceId: person ?? applied.group, limit: PAGE,
      since: range ? new Date(Date.now() - range).toISOString() : undefined, after: cursors.at(-1),
    });
  }, [applied, cursors]);

  const submit = (e) => {
    e.preventDefault();
    // resourceId names one thing: a person's requests or a group's, not both at once.
    if (form.person && form.group) return reportError(new Error('Filter by a person or by a group, not both.'));
    clearError();
    const q = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
    history.replaceState(null, '', `/console/log${q.size ? `?${q}` : ''}`);
    setCursors([]);
    setApplied({ ...form });
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });

  return html`<${PageTitle}>Provisioning log<//>
    <form class="card" onSubmit=${submit} aria-label="Filter requests">
      <div class="fields">
        <div><label for="f-scope">Requests</label><select id="f-scope" value=${form.scope} onChange=${set('scope')}>
          <option value="scim">SCIM (identity providers)</option><option value="admin">Admin API (console, CLI)</option><option value="all">All</option></select></div>
        <div><label for="f-range">Time</label><select id="f-range" value=${form.range} onChange=${set('range')}>
          ${Object.entries(RANGE_LABELS).map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></div>
        <div><label for="f-status">Status</label><select id="f-status" value=${form.status} onChange=${set('status')}>
          <option value="">Any</option><option value="2xx">2xx success</option><option value="3xx">3xx</option><option value="4xx">4xx refused</option><option value="5xx">5xx server error</option></select></div>
        <div><label for="f-person">Person</label><input id="f-person" type="text" value=${form.person} onInput=${set('person')} placeholder="userName, externalId or id" /></div>
        <div><label for="f-group">Group</label><select id="f-group" value=${form.group} onChange=${set('group')}>
          <option value="">Any</option>${groups.map((g) => html`<option value=${g.id}>${g.displayName}</option>`)}</select></div>
      </div>
      <div class="actions"><button class="primary" type="submit">Apply filters</button><button type="button" onClick=${() => list.reload()}>Refresh</button></div>
    </form>
    <${Loading} when=${list.loading && !list.data}>
      ${list.data ? html`${list.data.items.length ? html`<div class="table-wrap"><table aria-label="Requests">
        <thead><tr><th scope="col"><span class="sr-only">Details</span></th><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Status</th><th scope="col" class="num">Latency</th><th scope="col">Error</th></tr></thead>
        <tbody>${list.data.items.map((r) => html`<${Row} key=${r.id} row=${r} />`)}</tbody>
      </table></div>` : html`<p class="muted">No request matches these filters.</p>`}
      <${Pager} cursors=${cursors} next=${list.data.next} onPage=${setCursors} />` : ''}
    <//>`;
}
