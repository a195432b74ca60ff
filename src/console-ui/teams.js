// Teams: the list (GET /admin/v1/teams), creating one (POST /admin/v1/teams, which makes its default channels),
// and a reconcile of the whole workspace with a preview. Each team's page (team.js) has its channels and links.
import { useState } from 'preact/hooks';
import { html, useLoad, PageTitle, Loading, Pager, Badge, attempt, navigate } from './ui.js';
import { get, post } from './api.js';
import { Reconcile } from './reconcile.js';

function CreateTeam({ onCreated }) {
  const empty = { name: '', displayName: '', type: 'O', groupConstrained: false };
  const [f, setF] = useState(empty);
  const submit = async (e) => {
    e.preventDefault();
    const out = await attempt(() => post('/teams', f));
    if (out) { setF(empty); onCreated(out.team); }
  };
  return html`<form class="card" onSubmit=${submit} aria-labelledby="h-new-team"><h2 id="h-new-team">Create a team</h2>
    <div class="fields">
      <div><label for="t-name">Name (URL, lower-case)</label><input id="t-name" type="text" required value=${f.name} onInput=${(e) => setF({ ...f, name: e.currentTarget.value })} /></div>
      <div><label for="t-display">Display name</label><input id="t-display" type="text" required value=${f.displayName} onInput=${(e) => setF({ ...f, displayName: e.currentTarget.value })} /></div>
      <div><label for="t-type">Type</label><select id="t-type" value=${f.type} onChange=${(e) => setF({ ...f, type: e.currentTarget.value })}>
        <option value="O">Open (anyone may join)</option><option value="I">Invite only</option></select></div>
    </div>
    <label class="inline"><input type="checkbox" checked=${f.groupConstrained} onChange=${(e) => setF({ ...f, groupConstrained: e.currentTarget.checked })} /> Group-constrained (only members of linked groups)</label>
    <div class="actions"><button class="primary" type="submit">Create team</button></div>
  </form>`;
}

export function Teams() {
  const [cursors, setCursors] = useState([]);
  const [archived, setArchived] = useState(false);
  const list = useLoad(() => get('/teams', { limit: 50, after: cursors.at(-1), includeArchived: archived ? 'true' : undefined }), [cursors, archived]);
  return html`<${PageTitle}>Teams and links<//>
    <section class="card" aria-labelledby="h-teams"><h2 id="h-teams">Teams</h2>
      <label class="inline"><input type="checkbox" checked=${archived} onChange=${(e) => { setCursors([]); setArchived(e.currentTarget.checked); }} /> Include archived teams</label>
      <${Loading} when=${list.loading && !list.data}>${list.data ? html`${list.data.items.length ? html`<div class="table-wrap"><table aria-label="Teams">
        <thead><tr><th scope="col">Team</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Group-constrained</th></tr></thead>
        <tbody>${list.data.items.map((t) => html`<tr key=${t.id}><td><a href="/console/teams/${encodeURIComponent(t.id)}">${t.displayName}</a>${t.archivedAt ? html` <${Badge}>archived<//>` : ''}</td>
          <td><code>${t.name}</code></td><td>${t.type === 'I' ? 'invite only' : 'open'}</td><td>${t.groupConstrained ? 'yes' : 'no'}</td></tr>`)}</tbody>
      </table></div>` : html`<p class="muted">No team yet.</p>`}
      <${Pager} cursors=${cursors} next=${list.data.next} onPage=${setCursors} />` : ''}<//>
    </section>
    <${CreateTeam} onCreated=${(t) => navigate(`/console/teams/${encodeURIComponent(t.id)}`)} />
    <${Reconcile} what="the whole workspace" onApplied=${list.reload} />`;
}
