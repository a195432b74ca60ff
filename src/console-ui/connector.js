// The Mattermost connector (GET /admin/v1/connector): reachability and rights, the outbox, and its deliveries
// pending or parked (GET /admin/v1/connector/deliveries); a parked one can be retried or discarded.
import { useState } from 'preact/hooks';
import { html, useLoad, PageTitle, Loading, Pager, Badge, fmtTime, fmtInt, attempt } from './ui.js';
import { get, post } from './api.js';

function Deliveries() {
  const [state, setState] = useState('parked');
  const [cursors, setCursors] = useState([]);
  const list = useLoad(() => get('/connector/deliveries', { state, limit: 50, after: cursors.at(-1) }), [state, cursors]);
  const act = async (d, what) => {
    // Discarding is for good: Mattermost never gets that change (a reconcile can still repair it later).
    if (what === 'discard' && !window.confirm(`Discard delivery ${d.id} (${d.operation} ${d.entityKey}) for good?`)) return;
    if (await attempt(() => post(`/connector/deliveries/${d.id}/${what}`))) list.reload();
  };
  const retryAll = async () => { if (await attempt(() => post('/connector/deliveries/retry-parked'))) list.reload(); };
  return html`<section class="card" aria-labelledby="h-deliveries"><h2 id="h-deliveries">Deliveries</h2>
    <div class="fields"><div><label for="d-state">Show</label><select id="d-state" value=${state} onChange=${(e) => { setCursors([]); setState(e.currentTarget.value); }}>
      <option value="parked">Parked (gave up, need an admin)</option><option value="pending">Pending (will be tried)</option></select></div></div>
    <${Loading} when=${list.loading && !list.data}>${list.data ? html`${list.data.items.length ? html`<div class="table-wrap"><table aria-label="Deliveries">
      <thead><tr><th scope="col">Id</th><th scope="col">Entity</th><th scope="col">Operation</th><th scope="col" class="num">Attempts</th><th scope="col">Queued</th><th scope="col">Last error</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${list.data.items.map((d) => html`<tr key=${d.id}><td>${d.id}</td><td><code>${d.entityKey}</code></td><td>${d.operation}</td><td class="num">${d.attempts}</td>
        <td>${fmtTime(d.createdAt)}</td><td>${d.lastError ?? '—'}</td>
        <td>${d.state === 'parked' ? html`<div class="actions"><button type="button" onClick=${() => act(d, 'retry')}>Retry<span class="sr-only"> delivery ${d.id}</span></button>
          <button type="button" class="danger" onClick=${() => act(d, 'discard')}>Discard<span class="sr-only"> delivery ${d.id}</span></button></div>` : ''}</td></tr>`)}</tbody>
    </table></div>` : html`<p class="muted">No ${state} delivery.</p>`}
    <${Pager} cursors=${cursors} next=${list.data.next} onPage=${setCursors} />` : ''}<//>
    ${state === 'parked' && list.data?.items.length ? html`<div class="actions"><button type="button" onClick=${retryAll}>Retry every parked delivery</button></div>` : ''}
  </section>`;
}

export function ConnectorPage() {
  const status = useLoad(() => get('/connector'), []);
  const s = status.data;
  return html`<${PageTitle}>Connector<//>
    <${Loading} when=${status.loading && !s}>${s && !s.enabled ? html`<section class="card"><p>The Mattermost connector is off. Set MATTERMOST_URL and MATTERMOST_TOKEN and restart the server to deliver changes to a Mattermost server.</p></section>` : ''}
    ${s?.enabled ? html`<section class="card" aria-labelledby="h-mm"><h2 id="h-mm">Mattermost <${Badge} kind=${s.mattermost.ok ? 'ok' : 'bad'}>${s.mattermost.ok ? 'reachable' : 'problem'}<//></h2>
      <dl class="attrs"><dt>URL</dt><dd>${s.mattermost.url}</dd><dt>Version</dt><dd>${s.mattermost.version ?? '—'}</dd><dt>Token owner</dt><dd>${s.mattermost.tokenOwner ?? '—'}</dd>
        <dt>Pending</dt><dd>${fmtInt(s.outbox.pending)} (oldest ${s.outbox.oldestPendingAgeSeconds == null ? '—' : `${fmtInt(s.outbox.oldestPendingAgeSeconds)} s`})</dd>
        <dt>Parked</dt><dd>${fmtInt(s.outbox.parked)}</dd><dt>Last success</dt><dd>${fmtTime(s.lastSuccessAt)}</dd>
        ${s.pausedUntil ? html`<dt>Paused until</dt><dd>${fmtTime(s.pausedUntil)} (Mattermost rate-limited this server)</dd>` : ''}</dl>
      ${s.mattermost.problems.length ? html`<h3>Problems</h3><ul>${s.mattermost.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ''}
    </section><${Deliveries} />` : ''}<//>`;
}
