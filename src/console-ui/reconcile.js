// Reconcile with a preview: POST /admin/v1/reconcile {dryRun:true} answers what a reconcile would change (counts
// and the audit rows it would write) without changing anything; "Apply" then runs it for real over the same scope.
import { useState } from 'preact/hooks';
import { html, attempt } from './ui.js';
import { post } from './api.js';
import { AuditTable } from './audit.js';

const LABELS = {
  teamMembersAdded: 'team members added', teamMembersRemoved: 'team members removed',
  channelMembersAdded: 'channel members added', channelMembersRemoved: 'channel members removed',
  readded: 'removed memberships brought back', adminsPromoted: 'made admin', adminsDemoted: 'no longer admin',
};

export function StatsList({ stats }) {
  const changed = Object.entries(stats ?? {}).filter(([, n]) => typeof n === 'number' && n > 0);
  if (!changed.length) return html`<p>Nothing to change: memberships already match the group links.</p>`;
  return html`<ul>${changed.map(([k, n]) => html`<li><strong>${n}</strong> ${LABELS[k] ?? k}</li>`)}</ul>`;
}

export function Reconcile({ scope = {}, what, onApplied }) {
  const [preview, setPreview] = useState(null);
  const [applied, setApplied] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = async (dryRun) => {
    setBusy(true);
    const out = await attempt(() => post('/reconcile', dryRun ? { ...scope, dryRun: true } : scope));
    setBusy(false);
    if (!out) return;
    if (dryRun) { setPreview(out); setApplied(null); } else { setApplied(out.stats ?? out); setPreview(null); onApplied?.(); }
  };
  return html`<section class="card" aria-labelledby="h-reconcile"><h2 id="h-reconcile">Reconcile ${what}</h2>
    <p class="muted small">Makes memberships match the group links again (group sync does this on every change; a reconcile repairs drift). Preview first: nothing changes until you apply.</p>
    <div class="actions"><button type="button" disabled=${busy} onClick=${() => run(true)}>Preview changes</button></div>
    <div aria-live="polite">
      ${preview ? html`<div id="reconcile-preview"><h3>Preview (dry run): a reconcile would make these changes</h3>
        <${StatsList} stats=${preview.stats} />
        ${preview.changes?.length ? html`<${AuditTable} rows=${preview.changes} />` : ''}
        <div class="actions"><button class="primary" type="button" disabled=${busy} onClick=${() => run(false)}>Apply</button>
        <button type="button" onClick=${() => setPreview(null)}>Cancel</button></div></div>` : ''}
      ${applied ? html`<div class="notice" id="reconcile-applied"><h3>Reconcile applied</h3><${StatsList} stats=${applied} /></div>` : ''}
    </div>
  </section>`;
}
