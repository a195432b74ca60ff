/** Printing: one line per scenario as it finishes, the final tables, the comparisons and the targets. */
import type { LoadResult } from './load.js';
import type { Outcome, ShapeName } from './scenario.js';
import { sizeLabel } from './scenario.js';

export interface Row {
  store: string;
  /** Users seeded, or undefined for a scenario on its own empty database. */
  size: number | undefined;
  scenario: string;
  shape: ShapeName;
  outcome: Outcome;
  peakRss: number;
  hwm: number;
  /** The bare express server's requests/s for the same shape, the higher of its runs just before and just after. */
  bareRps: number;
  /** Requests/s as a fraction of bareRps. */
  ratio: number;
}

const f = (n: number, d = 1) => n.toFixed(d);
const ms = (n: number) => (n >= 100 ? f(n, 0) : f(n, 1));
/** Memory of a process we did not start (a --compare server) is not known: NaN, printed as '-'. */
const mb = (n: number) => (Number.isFinite(n) ? f(n, 0) : '-');

export function line(r: Row): string {
  const o = r.outcome;
  return [
    `${r.store.padEnd(6)} ${(r.size === undefined ? '-' : sizeLabel(r.size)).padStart(5)} ${r.scenario.padEnd(22)}`,
    `${f(o.rps, 0).padStart(6)} req/s`,
    `p50 ${ms(o.p50).padStart(5)}  p95 ${ms(o.p95).padStart(5)}  p99 ${ms(o.p99).padStart(5)} ms`,
    `err ${o.errors} non2xx ${o.non2xx}`,
    o.cpuUsPerRequest ? `cpu ${f(o.cpuUsPerRequest, 0)}${o.dbCpuUsPerRequest ? ` + db ${f(o.dbCpuUsPerRequest, 0)}` : ''} µs/req` : '',
    Number.isFinite(r.peakRss) ? `rss ${f(r.peakRss, 0)} MB (hwm ${f(r.hwm, 0)})` : '',
    `${f(r.ratio, 2)}x bare ${r.shape} (${f(r.bareRps, 0)})`,
    o.note ?? '',
  ].filter(Boolean).join('  ');
}

export function baselineLine(shape: string, r: LoadResult): string {
  return `bare   ${shape.padEnd(28)} ${f(r.rps, 0).padStart(6)} req/s  p50 ${ms(r.p50)}  p95 ${ms(r.p95)}  p99 ${ms(r.p99)} ms  err ${r.errors} non2xx ${r.non2xx}`;
}

/** A Markdown table of every row (readable in a terminal, pasteable into docs/benchmarks.md). */
export function table(rows: Row[]): string {
  const out = [
    '| store | users | scenario | conns | req/s | bare req/s | x bare | p50 ms | p95 ms | p99 ms | errors / non-2xx | peak RSS MB | note |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const o = r.outcome;
    out.push(`| ${r.store} | ${r.size === undefined ? '-' : sizeLabel(r.size)} | ${r.scenario} | ${o.connections} | ${f(o.rps, 0)} | ${f(r.bareRps, 0)} | ${f(r.ratio, 2)} | ${ms(o.p50)} | ${ms(o.p95)} | ${ms(o.p99)} | ${o.errors} / ${o.non2xx} | ${mb(r.peakRss)} | ${o.note ?? ''} |`);
  }
  return out.join('\n');
}

export interface Verdict { store: string; target: string; value: string; pass: boolean }

/** Every target of issues 3 and 5 that the rows can answer, per store. */
export function verdicts(rows: Row[], connections: number): Verdict[] {
  const out: Verdict[] = [];
  for (const store of [...new Set(rows.map((r) => r.store))]) {
    const mine = rows.filter((r) => r.store === store);
    const sizes = [...new Set(mine.map((r) => r.size).filter((s): s is number => s !== undefined))].sort((a, b) => a - b);
    const get = (scenario: string, size = sizes[sizes.length - 1]) => mine.find((r) => r.scenario === scenario && (r.size === size || r.size === undefined));
    const add = (target: string, value: string, pass: boolean) => out.push({ store, target, value, pass });

    for (const r of mine.filter((r) => r.scenario === 'create-users')) {
      add(`creates >= 0.25 of bare express (${sizeLabel(r.size!)} users)`, `${f(r.ratio, 2)}x`, r.ratio >= 0.25);
    }
    for (const r of mine.filter((r) => r.scenario.startsWith('lookup-username'))) {
      add(`userName eq ${r.scenario.endsWith('hit') ? 'hit' : 'miss'} >= 0.5 of bare express (${sizeLabel(r.size!)} users)`, `${f(r.ratio, 2)}x`, r.ratio >= 0.5);
    }
    if (sizes.length > 1) {
      const [small, large] = [sizes[0]!, sizes[sizes.length - 1]!];
      for (const s of ['lookup-username-hit', 'lookup-username-miss', 'lookup-externalid']) {
        const a = get(s, small);
        const b = get(s, large);
        // Each size runs on its own server minutes apart; the figures relative to the bare server measured just
        // before each are shown too, since load from other processes moves both.
        if (a && b) add(`${s} at ${sizeLabel(large)} >= 0.8 of ${sizeLabel(small)}`, `${f(b.outcome.rps / a.outcome.rps, 2)}x (as fractions of bare: ${f(b.ratio / a.ratio, 2)}x)`, b.outcome.rps >= 0.8 * a.outcome.rps);
      }
    }
    const small = get('group-patch-10');
    const big = get('group-patch-big');
    if (small && big) {
      const tr = small.outcome.rps / big.outcome.rps;
      add(`member PATCH in group of ${big.outcome.note?.match(/\d+/)?.[0] ?? '?'} vs 10: time ratio <= 1.25 (throughput >= 0.8)`, `time ${f(tr, 2)}x, p50 ${ms(big.outcome.p50)} vs ${ms(small.outcome.p50)} ms`, tr <= 1.25);
    }
    const gb = get('groups-match-big');
    const ge = get('groups-match-empty');
    if (gb && ge) add('GET /Groups?excludedAttributes=members: big groups as fast as empty (>= 0.8)', `${f(gb.outcome.rps / ge.outcome.rps, 2)}x`, gb.outcome.rps >= 0.8 * ge.outcome.rps);
    const bg = get('get-big-group');
    if (bg) add('RSS while serving GET of the largest group < 300 MB', `${f(bg.peakRss, 0)} MB`, bg.peakRss < 300);
    const slow = mine.filter((r) => !r.outcome.p99Exempt && r.outcome.p99 >= 100);
    const checked = mine.filter((r) => !r.outcome.p99Exempt);
    add(`p99 < 100 ms at ${connections} connections (${checked.length} scenarios)`,
      slow.length ? slow.map((r) => `${r.scenario}${r.size ? `@${sizeLabel(r.size)}` : ''} ${ms(r.outcome.p99)} ms`).join(', ') : `max ${ms(Math.max(0, ...checked.map((r) => r.outcome.p99)))} ms`,
      slow.length === 0);
    const peak = Math.max(0, ...mine.map((r) => r.peakRss));
    add('peak RSS < 300 MB across the run', `${f(peak, 0)} MB`, peak < 300);
    const entra = get('entra-replay');
    if (entra) add('Entra replay >= 25 requests/s (Entra gallery requirement)', `${f(entra.outcome.rps, 0)} req/s`, entra.outcome.rps >= 25);
    const broken = mine.filter((r) => r.outcome.errors || r.outcome.non2xx);
    add('no errors or non-2xx responses', broken.length ? broken.map((r) => `${r.scenario} ${r.outcome.errors}/${r.outcome.non2xx} ${JSON.stringify(r.outcome.statuses)}`).join(', ') : 'none', broken.length === 0);
  }
  return out;
}

export function verdictLines(v: Verdict[]): string {
  return v.map((x) => `${x.pass ? 'PASS' : 'MISS'}  ${x.store.padEnd(6)}  ${x.target}: ${x.value}`).join('\n');
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

/**
 * `--connector both`: per store, size and scenario, requests/s with the connector on (`<store>+mm`: each write also
 * queues its outbox rows) against off, as the median of the rounds and as each round's figures. The issue's bar is
 * within 10% of off.
 */
export function outboxCostLines(rows: Row[]): string[] {
  const out: string[] = [];
  const keyOf = (r: Row) => `${r.store.replace(/\+mm$/, '')}|${r.size ?? '-'}|${r.scenario}`;
  for (const key of [...new Set(rows.filter((r) => !r.store.endsWith('+mm')).map(keyOf))]) {
    const off = rows.filter((r) => !r.store.endsWith('+mm') && keyOf(r) === key);
    const on = rows.filter((r) => r.store.endsWith('+mm') && keyOf(r) === key);
    if (!on.length) continue;
    const [store, size, scenario] = key.split('|');
    const [a, b] = [median(off.map((r) => r.outcome.rps)), median(on.map((r) => r.outcome.rps))];
    const [pa, pb] = [median(off.map((r) => r.outcome.p50)), median(on.map((r) => r.outcome.p50))];
    const change = (b / a - 1) * 100;
    const cpu = (rs: Row[]) => median(rs.map((r) => r.outcome.cpuUsPerRequest ?? 0));
    const [ca, cb] = [cpu(off), cpu(on)];
    out.push(`${store!.padEnd(6)} ${(size === '-' ? '-' : sizeLabel(Number(size))).padStart(5)} ${scenario!.padEnd(22)} off ${f(a, 0).padStart(5)} req/s, on ${f(b, 0).padStart(5)} req/s: ${change >= 0 ? '+' : ''}${f(change, 1)}%` +
      `  p50 ${ms(pa)} -> ${ms(pb)} ms  ${change < -10 ? 'req/s OVER 10%' : 'req/s within 10%'}  server CPU ${f(ca, 0)} -> ${f(cb, 0)} µs/request (${cb >= ca ? '+' : ''}${f((cb / ca - 1) * 100, 1)}%)  (req/s off ${off.map((r) => f(r.outcome.rps, 0)).join('/')}; on ${on.map((r) => f(r.outcome.rps, 0)).join('/')}; µs off ${off.map((r) => f(r.outcome.cpuUsPerRequest ?? 0, 0)).join('/')}; on ${on.map((r) => f(r.outcome.cpuUsPerRequest ?? 0, 0)).join('/')})`);
  }
  return out;
}

const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * `--compare`: the comparable scenarios side by side, one column per server (this server per store and size, then the
 * other one), each cell requests/s and its ratio to the bare express run measured next to it, as in issue 18's
 * table. The bare column is the range of those runs. `peer` is the other server's row label.
 */
/** `lo-hi` as printed, or one figure when both print alike. */
const range = (xs: number[], fmt: (n: number) => string) => { const [a, b] = [fmt(Math.min(...xs)), fmt(Math.max(...xs))]; return a === b ? a : `${a}-${b}`; };

export function compareTable(rows: Row[], peer: string, scenarios: string[]): string {
  const key = (r: Row) => `${r.store}|${r.size ?? '-'}`;
  const cols = [...new Set(rows.filter((r) => r.store !== peer).map(key)), ...new Set(rows.filter((r) => r.store === peer).map(key))];
  const title = (k: string) => {
    const [store, size] = k.split('|');
    const users = size === '-' ? '' : `, ${sizeLabel(Number(size))} users`;
    return store === peer ? `${peer}${users}` : `this server, ${store}${users}`;
  };
  const out = [
    `| scenario | bare express | ${cols.map(title).join(' | ')} |`,
    `|---|${'---:|'.repeat(cols.length + 1)}`,
  ];
  for (const s of scenarios) {
    const mine = rows.filter((r) => r.scenario === s);
    if (!mine.length) continue;
    const cell = (k: string) => {
      const rs = mine.filter((r) => key(r) === k);
      if (!rs.length) return '-';
      const rps = rs.map((r) => r.outcome.rps);
      const ratio = rs.map((r) => r.ratio);
      // Requests/s counts every answer: a server that answered mostly errors was fast at refusing, not at SCIM.
      const bad = rs.reduce((n, r) => n + r.outcome.errors + r.outcome.non2xx, 0);
      const all = rs.reduce((n, r) => n + r.outcome.requests + r.outcome.errors, 0);
      return `${range(rps, thousands)}/s (${range(ratio, (n) => f(n, 2))}x)${bad ? ` [${bad} of ${all} not 2xx]` : ''}`;
    };
    out.push(`| ${s} | ${range(mine.map((r) => r.bareRps), thousands)}/s | ${cols.map(cell).join(' | ')} |`);
  }
  return out.join('\n');
}
