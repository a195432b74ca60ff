// One team: its settings (group-constrained), channels (list, create), group links of the team and of its channels
// (PUT and DELETE /admin/v1/groups/<group>/teams|channels/<id>, each syncing at once), its members with why each is
// there, and a reconcile of this team with a preview.
import { useState } from 'preact/hooks';
import { html, useLoad, PageTitle, Loading, Badge, attempt } from './ui.js';
import { get, patch, post, put, del } from './api.js';
import { Reconcile, StatsList } from './reconcile.js';

const flagsText = (l) => [l.autoAdd ? 'auto-add' : 'no auto-add', l.schemeAdmin && 'admins', l.allowGuests && 'guests too'].filter(Boolean).join(', ');

function Channels({ team, channels, onChange }) {
  const empty = { name: '', displayName: '', type: 'O', isDefault: false, groupConstrained: false };
  const [f, setF] = useState(empty);
  const submit = async (e) => {
    e.preventDefault();
    if (await attempt(() => post(`/teams/${encodeURIComponent(team.id)}/channels`, f))) { setF(empty); onChange(); }
  };
  return html`<section class="card" aria-labelledby="h-channels"><h2 id="h-channels">Channels</h2>
    ${channels.length ? html`<div class="table-wrap"><table aria-label="Channels">
      <thead><tr><th scope="col">Channel</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Default</th><th scope="col">Group-constrained</th></tr></thead>
      <tbody>${channels.map((c) => html`<tr key=${c.id}><td>${c.displayName}</td><td><code>${c.name}</code></td><td>${c.type === 'P' ? 'private' : 'public'}</td>
        <td>${c.isDefault ? 'yes' : 'no'}</td><td>${c.groupConstrained ? 'yes' : 'no'}</td></tr>`)}</tbody>
    </table></div>` : html`<p class="muted">No channel.</p>`}
    <form onSubmit=${submit} aria-labelledby="h-new-channel"><h3 id="h-new-channel">Create a channel</h3>
      <div class="fields">
        <div><label for="c-name">Name</label><input id="c-name" type="text" required value=${f.name} onInput=${(e) => setF({ ...f, name: e.currentTarget.value })} /></div>
        <div><label for="c-display">Display name</label><input id="c-display" type="text" required value=${f.displayName} onInput=${(e) => setF({ ...f, displayName: e.currentTarget.value })} /></div>
        <div><label for="c-type">Type</label><select id="c-type" value=${f.type} onChange=${(e) => setF({ ...f, type: e.currentTarget.value })}><option value="O">Public</option><option value="P">Private</option></select></div>
      </div>
      <label class="inline"><input type="checkbox" checked=${f.isDefault} onChange=${(e) => setF({ ...f, isDefault: e.currentTarget.checked })} /> Default (new team members join it)</label>
      <label class="inline"><input type="checkbox" checked=${f.groupConstrained} onChange=${(e) => setF({ ...f, groupConstrained: e.currentTarget.checked })} /> Group-constrained</label>
      <div class="actions"><button type="submit">Create channel</button></div>
    </form>
  </section>`;
}

function Links({ team, channels, groups, onChange }) {
  const links = [];
  for (const g of groups) {
    for (const l of g.teams) if (l.teamId === team.id) links.push({ group: g, kind: 'team', targetId: team.id, target: 'the team', link: l });
    for (const l of g.channels) if (l.teamId === team.id) links.push({ group: g, kind: 'channel', targetId: l.channelId, target: `channel ${l.channelName}`, link: l });
  }
  const [f, setF] = useState({ groupId: '', target: 'team', autoAdd: true, schemeAdmin: false, allowGuests: false });
  const [result, setResult] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const path = f.target === 'team' ? `/groups/${encodeURIComponent(f.groupId)}/teams/${encodeURIComponent(team.id)}` : `/groups/${encodeURIComponent(f.groupId)}/channels/${encodeURIComponent(f.target)}`;
    const out = await attempt(() => put(path, { autoAdd: f.autoAdd, schemeAdmin: f.schemeAdmin, allowGuests: f.allowGuests }));
    if (out) { setResult({ what: out.created ? 'Linked' : 'Link updated', stats: out.reconcile }); onChange(); }
  };
  const unlink = async (l) => {
    if (!window.confirm(`Unlink ${l.group.displayName} from ${l.target}? Its members stay unless the team or channel is group-constrained and no other linked group grants them.`)) return;
    const out = await attempt(() => del(`/groups/${encodeURIComponent(l.group.id)}/${l.kind}s/${encodeURIComponent(l.targetId)}`));
    if (out) { setResult({ what: `Unlinked ${l.group.displayName} from ${l.target}`, stats: out.reconcile }); onChange(); }
  };
  return html`<section class="card" aria-labelledby="h-links"><h2 id="h-links">Group links</h2>
    ${links.length ? html`<div class="table-wrap"><table aria-label="Group links">
      <thead><tr><th scope="col">Group</th><th scope="col">Linked to</th><th scope="col">Settings</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${links.map((l) => html`<tr key=${l.group.id + l.targetId}><td>${l.group.displayName}</td><td>${l.target}</td><td>${flagsText(l.link)}</td>
        <td><button type="button" class="danger" onClick=${() => unlink(l)}>Unlink<span class="sr-only"> ${l.group.displayName} from ${l.target}</span></button></td></tr>`)}</tbody>
    </table></div>` : html`<p class="muted">No group is linked to this team or its channels.</p>`}
    <form onSubmit=${submit} aria-labelledby="h-link"><h3 id="h-link">Link a group</h3>
      <div class="fields">
        <div><label for="l-group">Group</label><select id="l-group" required value=${f.groupId} onChange=${(e) => setF({ ...f, groupId: e.currentTarget.value })}>
          <option value="">Choose a group</option>${groups.map((g) => html`<option value=${g.id}>${g.displayName}</option>`)}</select></div>
        <div><label for="l-target">To</label><select id="l-target" value=${f.target} onChange=${(e) => setF({ ...f, target: e.currentTarget.value })}>
          <option value="team">The team ${team.displayName}</option>${channels.map((c) => html`<option value=${c.id}>Channel ${c.displayName}</option>`)}</select></div>
      </div>
      <label class="inline"><input type="checkbox" checked=${f.autoAdd} onChange=${(e) => setF({ ...f, autoAdd: e.currentTarget.checked })} /> Add the group's members (autoAdd)</label>
      <label class="inline"><input type="checkbox" checked=${f.schemeAdmin} onChange=${(e) => setF({ ...f, schemeAdmin: e.currentTarget.checked })} /> As admins (schemeAdmin)</label>
      <label class="inline"><input type="checkbox" checked=${f.allowGuests} onChange=${(e) => setF({ ...f, allowGuests: e.currentTarget.checked })} /> Guests too</label>
      <div class="actions"><button class="primary" type="submit">Link group</button></div>
    </form>
    ${result ? html`<div class="notice" role="status"><strong>${result.what}.</strong> <${StatsList} stats=${result.stats} /></div>` : ''}
  </section>`;
}

/** group:<id> as the group's name; an admin actor as it is. */
const byWhom = (addedBy, groups) => (addedBy?.startsWith('group:') ? `group ${groups.find((g) => g.id === addedBy.slice(6))?.displayName ?? addedBy.slice(6)}` : addedBy);

function Members({ team, groups, version }) {
  const list = useLoad(() => get(`/teams/${encodeURIComponent(team.id)}/members`, { active: 'true', limit: 200 }), [team.id, version]);
  return html`<section class="card" aria-labelledby="h-members"><h2 id="h-members">Members</h2>
    <${Loading} when=${list.loading && !list.data}>${list.data?.items.length ? html`<div class="table-wrap"><table aria-label="Members">
      <thead><tr><th scope="col">Person</th><th scope="col">Role</th><th scope="col">Why</th><th scope="col">Added by</th></tr></thead>
      <tbody>${list.data.items.map((m) => html`<tr key=${m.userId}><td><a href="/console/people/${encodeURIComponent(m.userId)}">${m.userName ?? m.username ?? m.userId}</a>${m.userActive === false ? html` <${Badge} kind="warn">deactivated<//>` : ''}</td>
        <td>${m.role}</td><td>${m.cause}</td><td>${byWhom(m.addedBy, groups)}</td></tr>`)}</tbody>
    </table></div>` : html`<p class="muted">No member.</p>`}<//>
  </section>`;
}

export function Team({ id }) {
  const [version, setVersion] = useState(0);
  const bump = () => setVersion((v) => v + 1);
  const data = useLoad(async () => {
    const team = await get(`/teams/${encodeURIComponent(id)}`);
    const [channels, groups] = await Promise.all([get(`/teams/${encodeURIComponent(team.id)}/channels`, { limit: 1000 }), get('/groups', { limit: 1000 })]);
    return { team, channels: channels.items, groups: groups.items };
  }, [id, version]);
  const d = data.data;
  if (!d) return html`<${PageTitle}>Team<//><${Loading} when=${data.loading}><p><a href="/console/teams">Back to teams</a></p><//>`;
  const { team } = d;
  const constrain = async (on) => {
    // Constraining reconciles at once: members no linked group grants leave the team.
    if (on && !window.confirm(`Make ${team.displayName} group-constrained? Members no linked group grants are removed.`)) return;
    if (await attempt(() => patch(`/teams/${encodeURIComponent(team.id)}`, { groupConstrained: on }))) bump();
  };
  return html`<${PageTitle}>${team.displayName}${team.archivedAt ? html` <${Badge}>archived<//>` : ''}<//>
    <p><a href="/console/teams">Teams</a></p>
    <section class="card" aria-labelledby="h-team"><h2 id="h-team">Settings</h2>
      <dl class="attrs"><dt>Name</dt><dd><code>${team.name}</code></dd><dt>Type</dt><dd>${team.type === 'I' ? 'invite only' : 'open'}</dd><dt>id</dt><dd><code>${team.id}</code></dd></dl>
      <p>${team.groupConstrained ? 'Group-constrained: only members of linked groups may be members.' : 'Not group-constrained: anyone may be added by hand, and members stay when they leave a linked group.'}</p>
      <button type="button" onClick=${() => constrain(!team.groupConstrained)}>${team.groupConstrained ? 'Remove the group constraint' : 'Make group-constrained'}</button>
    </section>
    <${Links} team=${team} channels=${d.channels} groups=${d.groups} onChange=${bump} />
    <${Members} team=${team} groups=${d.groups} version=${version} />
    <${Channels} team=${team} channels=${d.channels} onChange=${bump} />
    <${Reconcile} what="this team" scope=${{ teamId: team.id }} onApplied=${bump} />`;
}
