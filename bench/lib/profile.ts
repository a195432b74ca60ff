/**
 * Summary of a V8 CPU profile (`node --cpu-prof`): self time per function and per area (database driver, SCIM
 * library, express, our code, GC, idle), so the report can say what bounds a figure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  top: { name: string; where: string; ms: number; pct: number }[];
  areas: { area: string; ms: number; pct: number }[];
}

/** Which part of the stack a frame belongs to. */
function areaOf(name: string, url: string): string {
  if (name === '(idle)') return 'idle (waiting on I/O)';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'native/V8 (program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) {
    if (['better-sqlite3', 'pg', 'pg-protocol', 'pg-pool', 'knex', 'tarn'].includes(pkg)) return `db: ${pkg}`;
    return pkg;
  }
  if (/\/src\//.test(url)) return `our code: ${url.replace(/^.*\/src\//, 'src/')}`;
  if (url.startsWith('node:') || (!url && name)) return name === 'writev' || name === 'writeUtf8String' || /Stream|Socket|TCP|write/i.test(name) ? 'node: net/stream' : 'node: core';
  return 'other';
}

export function summarise(file: string, topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000));
  const byFn = new Map<string, { name: string; where: string; ms: number }>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const ms = self.get(n.id) ?? 0;
    if (!ms) continue;
    total += ms;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const e = byFn.get(key) ?? { name, where, ms: 0 };
    e.ms += ms;
    byFn.set(key, e);
    const area = areaOf(name, url).replace(/^(our code: [^:]+).*$/, '$1');
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
  }
  const pct = (ms: number) => Math.round((1000 * ms) / (total || 1)) / 10;
  return {
    file,
    totalMs: Math.round(total),
    top: [...byFn.values()].sort((a, b) => b.ms - a.ms).slice(0, topN).map((e) => ({ ...e, ms: Math.round(e.ms), pct: pct(e.ms) })),
    areas: [...byArea.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([area, ms]) => ({ area, ms: Math.round(ms), pct: pct(ms) })),
  };
}

/** Summaries of the main-thread profiles in a directory (the tsx loader thread, nearly all idle, is left out). */
export function summariseDir(dir: string, topN?: number): ProfileSummary[] {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()
    .map((f) => summarise(join(dir, f), topN))
    .filter((s) => (s.areas.find((a) => a.area.startsWith('idle'))?.pct ?? 0) < 90);
}

export function formatSummary(s: ProfileSummary): string {
  const lines = [`CPU profile ${s.file} (${(s.totalMs / 1000).toFixed(1)} s sampled)`, '  by area (self time):'];
  for (const a of s.areas) lines.push(`    ${a.pct.toFixed(1).padStart(5)}%  ${String(a.ms).padStart(7)} ms  ${a.area}`);
  lines.push('  top functions (self time):');
  for (const f of s.top) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${String(f.ms).padStart(7)} ms  ${f.name}  ${f.where}`);
  return lines.join('\n');
}
