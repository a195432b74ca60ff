// Overview: how many people, groups, teams and channels; requests per minute from each IdP credential over the last
// 24 hours; each client's failure rate with the warning level GET /admin/v1/overview computes (Entra evaluates a
// job after 5,000 failures and quarantines it above 40% failed); the connector's health when it is on.
import { html, useLoad, PageTitle, Loading, Badge, fmtInt, fmtPct } from './ui.js';
import { get } from './api.js';
import { BarChart, summaryText } from './chart.js';

const MINUTE = 60_000;
const WARNING = {
  ok: ['ok', 'OK'],
  approaching: ['warn', 'Approaching quarantine'],
  quarantine_risk: ['bad', 'Quarantine risk'],
};

function Counts({ o }) {
  const cards = [
    ['People active', o.people.active], ['People deactivated', o.people.deactivated], ['People deleted', o.people.deleted],
    ['Groups', o.groups], ['Teams', o.teams], ['Channels', o.channels],
  ];
  return html`<section aria-labelledby="counts-h"><h2 id="counts-h">Directory</h2>
    <div class="grid">${cards.map(([label, n]) => html`<div class="card"><div class="stat">${fmtInt(n)}</div><div class="stat-label">${label}</div></div>`)}</div>
  </section>`;
}

function Clients({ clients }) {
  return html`<section class="card" aria-labelledby="clients-h"><h2 id="clients-h">Error rate per client (24 h)</h2>
    <p class="muted small">Entra evaluates a provisioning job once it has 5,000 failures and quarantines it above 40% failed requests.</p>
    ${clients.length ? html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Client</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Failure rate</th><th scope="col">Warning</th></tr></thead>
      <tbody>${clients.map((c) => {
        const [kind, label] = WARNING[c.warning] ?? ['off', c.warning];
        return html`<tr><td>${c.actor}</td><td class="num">${fmtInt(c.total24h)}</td><td class="num">${fmtInt(c.failed24h)}</td><td class="num">${fmtPct(c.failureRate)}</td><td><${Badge} kind=${kind}>${label}<//></td></tr>`;
      })}</tbody></table></div>` : html`<p class="muted">No client called in the last 24 hours.</p>`}
  </section>`;
}

function Traffic({ summary }) {
  const series = (summary?.series ?? []).filter((s) => s.buckets.some((b) => b.total > 0));
  return html`<section class="card" aria-labelledby="traffic-h"><h2 id="traffic-h">Requests per minute, last 24 h</h2>
    <div class="legend" aria-hidden="true"><span><span class="swatch ok"></span>requests</span><span><span class="swatch fail"></span>failed (4xx, 5xx)</span></div>
    ${series.length ? series.map((s, i) => html`<figure key=${s.actor ?? i}>
      <figcaption><strong>${s.actor ?? 'unauthenticated'}</strong></figcaption>
      <${BarChart} id="chart-${i}" actor=${s.actor ?? 'unauthenticated'} buckets=${s.buckets} since=${summary.since} until=${summary.until} />
      <p class="small muted">${summaryText(s.actor ?? 'unauthenticated', s.buckets, 'minute')}</p>
    </figure>`) : html`<p class="muted">No requests in the last 24 hours.</p>`}
  </section>`;
}

function Connector({ c }) {
  if (!c?.enabled) return html`<section class="card" aria-labelledby="conn-h"><h2 id="conn-h">Connector</h2><p class="muted">The Mattermost connector is off (MATTERMOST_URL is not set).</p></section>`;
  // Healthy: nothing parked (a parked delivery waits for an admin) and the oldest pending one under a minute old.
  const healthy = !c.parked && (c.lagSeconds ?? 0) < 60;
  return html`<section class="card" aria-labelledby="conn-h"><h2 id="conn-h">Connector <${Badge} kind=${healthy ? 'ok' : 'warn'}>${healthy ? 'healthy' : 'needs a look'}<//></h2>
    <dl class="attrs"><dt>Pending deliveries</dt><dd>${fmtInt(c.pending)}</dd><dt>Parked deliveries</dt><dd>${fmtInt(c.parked)}</dd>
    <dt>Lag</dt><dd>${c.lagSeconds == null ? 'none' : `${fmtInt(c.lagSeconds)} s`}</dd></dl>
    <p><a href="/console/connector">Deliveries</a></p></section>`;
}

export function Overview() {
  const { data, loading } = useLoad(async () => {
    const until = Math.ceil(Date.now() / MINUTE) * MINUTE;
    const since = until - 1440 * MINUTE;
    const [overview, summary] = await Promise.all([
      get('/overview'),
      get('/requests/summary', { bucket: 'minute', by: 'actor', since: new Date(since).toISOString(), until: new Date(until).toISOString() }),
    ]);
    return { overview, summary };
  }, []);
  return html`<${PageTitle}>Overview<//>
    <${Loading} when=${loading && !data}>
      ${data ? html`<${Counts} o=${data.overview} />
        <${Traffic} summary=${data.summary} />
        <${Clients} clients=${data.overview.clients ?? []} />
        <${Connector} c=${data.overview.connector} />` : ''}
    <//>`;
}
