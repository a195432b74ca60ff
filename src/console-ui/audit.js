// The audit rows a request or a reconcile wrote, as "what changed": for each row the fields whose value differs
// between `before` and `after` (a creation shows the new values, a deletion the old ones).
import { html, fmtTime } from './ui.js';

const show = (v) => (v === undefined || v === null ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** [field, before, after] for every top-level field that changed. */
export function changesOf(before, after) {
  const b = before && typeof before === 'object' ? before : {};
  const a = after && typeof after === 'object' ? after : {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  return keys.filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k])).map((k) => [k, b[k], a[k]]);
}

function Change({ row }) {
  const changes = changesOf(row.before, row.after);
  if (!changes.length) return html`<span class="muted">no field changed</span>`;
  return html`<ul class="small">${changes.slice(0, 12).map(([k, b, a]) => html`<li><code>${k}</code>: ${show(b)} → ${show(a)}</li>`)}</ul>`;
}

export function AuditTable({ rows, empty = 'No audit rows.' }) {
  if (!rows?.length) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-wrap"><table>
    <thead><tr><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Operation</th><th scope="col">Resource</th><th scope="col">Cause</th><th scope="col">What changed</th></tr></thead>
    <tbody>${rows.map((r, i) => html`<tr key=${r.id ?? i}>
      <td>${fmtTime(r.at)}</td><td>${r.actor}</td><td><code>${r.operation}</code></td>
      <td>${r.resourceType}${r.resourceId ? html` <code class="small">${r.resourceId}</code>` : ''}</td>
      <td>${r.cause ?? '—'}</td><td><${Change} row=${r} /></td>
    </tr>`)}</tbody>
  </table></div>`;
}
