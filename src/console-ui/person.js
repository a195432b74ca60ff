// One person (GET /admin/v1/users/<key>): attributes and status, their groups, teams and channels with the cause
// of each membership (which group's sync or which admin gave it), their audit trail (GET /admin/v1/audit?resourceId=)
// and the requests that touched them (GET /admin/v1/requests?resourceId=): "what happened to this person?".
import { useState } from 'preact/hooks';
import { html, useLoad, PageTitle, Loading, Pager, Badge, statusKind, fmtTime } from './ui.js';
import { get } from './api.js';
import { AuditTable } from './audit.js';
import { personState } from './people.js';

const CAUSES = { group: 'group sync', default_channel: 'default channel of the team', entitlement: 'IdP entitlement', import: 'bulk import', manual: 'added by hand' };

/** Why a membership exists, naming the group (addedBy group:<id>) or the admin who added it. */
function Why({ m, groups }) {
  const group = m.addedBy?.startsWith('group:') ? groups.find((g) => g.groupId === m.addedBy.slice(6)) : undefined;
  if (group) return html`group <a href="/console/log?group=${encodeURIComponent(group.groupId)}">${group.displayName}</a>`;
  return html`${CAUSES[m.cause] ?? m.cause}${m.cause === 'manual' && m.addedBy ? html` <span class="muted small">by ${m.addedBy}</span>` : ''}`;
}

function Memberships({ title, rows, name, groups }) {
  return html`<section class="card" aria-labelledby="h-${title}"><h2 id="h-${title}">${title}</h2>
    ${rows.length ? html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">${title === 'Teams' ? 'Team' : 'Channel'}</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Why</th><th scope="col">Since</th></tr></thead>
      <tbody>${rows.map((m) => html`<tr>
        <td>${name(m)}</td><td>${m.role}</td>
        <td>${m.active ? html`<${Badge} kind="ok">member<//>` : html`<${Badge} kind="off">removed ${fmtTime(m.removedAt)}<//>`}</td>
        <td><${Why} m=${m} groups=${groups} /></td><td>${fmtTime(m.createdAt)}</td></tr>`)}</tbody>
    </table></div>` : html`<p class="muted">None.</p>`}
  </section>`;
}

function Trail({ id }) {
  const [cursors, setCursors] = useState([]);
  const audit = useLoad(() => get('/audit', { resourceId: id, limit: 50, after: cursors.at(-1) }), [id, cursors]);
  return html`<section class="card" aria-labelledby="h-trail"><h2 id="h-trail">Audit trail</h2>
    <${Loading} when=${audit.loading && !audit.data}>${audit.data ? html`<${AuditTable} rows=${audit.data.items} />
      <${Pager} cursors=${cursors} next=${audit.data.next} onPage=${setCursors} />` : ''}<//>
  </section>`;
}

function Requests({ id }) {
  const reqs = useLoad(() => get('/requests', { resourceId: id, limit: 20 }), [id]);
  return html`<section class="card" aria-labelledby="h-reqs"><h2 id="h-reqs">Requests about them</h2>
    <${Loading} when=${reqs.loading}>${reqs.data?.items.length ? html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Error</th></tr></thead>
      <tbody>${reqs.data.items.map((r) => html`<tr><td>${fmtTime(r.at)}</td><td>${r.actor ?? '—'}</td><td><code>${r.method} ${r.path}</code></td>
        <td><${Badge} kind=${statusKind(r.status)}>${r.status}<//></td><td>${r.detail ?? ''}</td></tr>`)}</tbody>
    </table></div>
    <p><a href="/console/log?person=${encodeURIComponent(id)}&range=all">All their requests in the log</a></p>` : html`<p class="muted">No logged request names them.</p>`}<//>
  </section>`;
}

export function Person({ id }) {
  const view = useLoad(() => get(`/users/${encodeURIComponent(id)}`), [id]);
  const v = view.data;
  if (view.loading && !v) return html`<${PageTitle}>Person<//><${Loading} when=${true} />`;
  if (!v) return html`<${PageTitle}>Person<//><p><a href="/console/people">Back to people</a></p>`;
  const u = v.user, groups = v.memberships.groups;
  return html`<${PageTitle}>${u.displayName || u.userName} ${personState(u)}<//>
    <p><a href="/console/people">People</a></p>
    <section class="card" aria-labelledby="h-attrs"><h2 id="h-attrs">Attributes</h2>
      <dl class="attrs">
        <dt>userName</dt><dd>${u.userName}</dd><dt>Handle</dt><dd>${u.username}</dd><dt>Email</dt><dd>${u.email ?? '—'}</dd>
        <dt>externalId</dt><dd>${u.externalId ?? '—'}</dd><dt>id</dt><dd><code>${u.id}</code></dd>
        <dt>System role</dt><dd>${u.systemRole}${u.roles?.length ? ` (IdP roles: ${u.roles.join(', ')})` : ''}</dd>
        ${u.entitlements?.length ? html`<dt>Entitlements</dt><dd>${u.entitlements.join(', ')}</dd>` : ''}
        <dt>Created</dt><dd>${fmtTime(u.created)}</dd><dt>Last changed</dt><dd>${fmtTime(u.lastModified)}</dd>
        ${u.deletedAt ? html`<dt>Deleted</dt><dd>${fmtTime(u.deletedAt)}</dd>` : ''}
      </dl>
    </section>
    <section class="card" aria-labelledby="h-groups"><h2 id="h-groups">Groups</h2>
      ${groups.length ? html`<ul>${groups.map((g) => html`<li>${g.displayName} <span class="muted small">(${g.externalId ?? g.groupId}, since ${fmtTime(g.since)})</span></li>`)}</ul>` : html`<p class="muted">In no group.</p>`}
    </section>
    <${Memberships} title="Teams" rows=${v.memberships.teams} groups=${groups} name=${(m) => html`<a href="/console/teams/${encodeURIComponent(m.teamId)}">${m.teamName}</a>`} />
    <${Memberships} title="Channels" rows=${v.memberships.channels} groups=${groups} name=${(m) => `${m.teamName} / ${m.channelName}`} />
    <${Trail} id=${u.id} />
    <${Requests} id=${u.id} />`;
}
