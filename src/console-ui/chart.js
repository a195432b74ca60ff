// Requests per minute of one actor as hand-drawn SVG bars: failed requests (4xx and 5xx) in red at the foot of
// each bar. The SVG is an image with a title and a text description (role=img); the numbers are in the text
// summary next to it too, so nothing is only in the picture.
import { html, fmtInt } from './ui.js';

const W = 720, H = 110, LEFT = 34, BOTTOM = 18, TOP = 6;
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
  const plotW = W - LEFT, plotH = H - TOP - BOTTOM;
  const barW = Math.max(0.5, plotW / Math.max(1, buckets.length));
  const x = (t) => LEFT + ((t - from) / span) * plotW;
  const y = (n) => TOP + plotH - (n / max) * plotH;
  const ticks = [from, from + span / 2, to];
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d" preserveAspectRatio="none">
    <title id="${id}-t">Requests per ${unit} from ${actor}</title>
    <desc id="${id}-d">${summaryText(actor, buckets, unit)}</desc>
    <line class="axis" x1=${LEFT} y1=${TOP + plotH} x2=${W} y2=${TOP + plotH} />
    <line class="axis" x1=${LEFT} y1=${TOP} x2=${LEFT} y2=${TOP + plotH} />
    <text x=${LEFT - 4} y=${TOP + 9} text-anchor="end">${max}</text>
    <text x=${LEFT - 4} y=${TOP + plotH} text-anchor="end">0</text>
    ${ticks.map((t, i) => html`<text x=${x(t)} y=${H - 4} text-anchor=${i === 0 ? 'start' : i === 2 ? 'end' : 'middle'}>${hhmm(t)}</text>`)}
    ${buckets.filter((b) => b.total > 0).map((b) => {
      const t = Date.parse(b.start), fail = b['4xx'] + b['5xx'];
      return html`<g key=${b.start}>
        <rect class="bar" x=${x(t)} y=${y(b.total)} width=${barW} height=${y(0) - y(b.total)} />
        ${fail ? html`<rect class="bar-fail" x=${x(t)} y=${y(fail)} width=${barW} height=${y(0) - y(fail)} />` : ''}
      </g>`;
    })}
  </svg>`;
}
