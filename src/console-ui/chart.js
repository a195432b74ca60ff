// Requests per minute of one actor as hand-drawn SVG bars: failed requests (4xx and 5xx) in red at the foot of
// each bar. The SVG is an image with a title and a text description (role=img); the numbers are in the text
// summary next to it too, so nothing is only in the picture.
import { html, fmtInt } from './ui.js';

// The SVG stretches to its box (preserveAspectRatio none), so it holds bars and axis lines only: the labels are
// HTML around it and keep their size on a phone.
const W = 1440, H = 120;
const pad = (n) => String(n).padStart(2, '0');
const hhmm = (t) => { const d = new Date(t); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; };

/** Totals, failures and the busiest bucket of a series. */
export function seriesStats(buckets) {
  let total = 0, failed = 0, peak = null;
  for (const b of buckets) {
    total += b.total;
    failed += b['4xx'] + b['5xx'];
    if (!peak || b.total > peak.total) peak = b;
  }
  return { total, failed, peak: peak && peak.total > 0 ? peak : null };
}

export function summaryText(actor, buckets, unit) {
  const { total, failed, peak } = seriesStats(buckets);
  if (!total) return `${actor}: no requests.`;
  return `${actor}: ${fmtInt(total)} requests, ${fmtInt(failed)} failed; busiest ${unit} ${hhmm(peak.start)} with ${fmtInt(peak.total)}.`;
}

export function BarChart({ id, actor, buckets, since, until, unit = 'minute' }) {
  const from = Date.parse(since), to = Date.parse(until);
  const span = Math.max(1, to - from);
  const max = Math.max(1, ...buckets.map((b) => b.total));
  // A bar is at least 3 units wide, or a single busy minute of a day would be a hairline.
  const barW = Math.max(3, W / Math.max(1, buckets.length));
  const x = (t) => ((t - from) / span) * W;
  const h = (n) => (n / max) * (H - 1);
  return html`<div class="chart-box">
    <div class="chart-y small muted" aria-hidden="true"><span>${fmtInt(max)}</span><span>0</span></div>
    <div class="chart-plot">
      <svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" preserveAspectRatio="none">
        <title id="${id}-t">Requests per ${unit} from ${actor}, ${hhmm(from)} to ${hhmm(to)}</title>
        <desc id="${id}-d">${summaryText(actor, buckets, unit)}</desc>
        ${buckets.filter((b) => b.total > 0).map((b) => {
          const t = Date.parse(b.start), fail = b['4xx'] + b['5xx'];
          return html`<g key=${b.start}>
            <rect class="bar" x=${x(t)} y=${H - h(b.total)} width=${barW} height=${h(b.total)} />
            ${fail ? html`<rect class="bar-fail" x=${x(t)} y=${H - h(fail)} width=${barW} height=${h(fail)} />` : ''}
          </g>`;
        })}
      </svg>
      <div class="chart-x small muted" aria-hidden="true"><span>${hhmm(from)}</span><span>${hhmm(from + span / 2)}</span><span>${hhmm(to)}</span></div>
    </div>
  </div>`;
}
