/**
 * The check runner: runs checks one after another, prints `PASS suite/name` / `FAIL suite/name`
 * (with the request and response that broke it) / `SKIP suite/name`, and builds the JSON report.
 */
import { CheckFailure, SkipCheck } from './assert.ts';
import { Ctx, type Shared } from './context.ts';
import { NetworkError, type Exchange, type Scrubber } from './http.ts';

export type SuiteName = 'entra' | 'okta' | 'rfc' | 'bulk' | 'entitlements';

export interface Check {
  suite: SuiteName;
  /** Short kebab-case (or vendor test) name, unique within the suite. */
  name: string;
  /** The public source this check encodes: a URL or a short name from clients.md (e.g. "MS-TUT E9"). */
  source: string;
  run(ctx: Ctx): Promise<void>;
}

export interface CheckResult {
  suite: SuiteName;
  name: string;
  source: string;
  /** False only for failures. Skipped checks have ok: true and skipped: true. */
  ok: boolean;
  skipped?: boolean;
  ms: number;
  notes?: string[];
  failure?: {
    message: string;
    request?: Exchange['request'];
    response?: Exchange['response'];
    error?: string;
  };
}

export async function runChecks(
  checks: Check[],
  shared: Shared,
  scrubber: Scrubber,
  out: (line: string) => void,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const ctx = new Ctx(shared);
    if (shared.verbose) out(`.... ${check.suite}/${check.name}`);
    const started = performance.now();
    let result: CheckResult;
    try {
      await check.run(ctx);
      result = base(check, started, ctx, true);
    } catch (err) {
      if (err instanceof SkipCheck) {
        result = { ...base(check, started, ctx, true), skipped: true };
        ctx.notes.unshift(err.message);
        result.notes = [...ctx.notes];
      } else {
        const exchange =
          err instanceof CheckFailure || err instanceof NetworkError ? (err.exchange ?? ctx.recorder.last) : ctx.recorder.last;
        const message =
          err instanceof CheckFailure
            ? err.message
            : err instanceof NetworkError
              ? `request failed: ${err.message}`
              : `unexpected error in check: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
        result = {
          ...base(check, started, ctx, false),
          failure: {
            message: scrubber.scrub(message),
            ...(exchange ? { request: exchange.request } : {}),
            ...(exchange?.response ? { response: exchange.response } : {}),
            ...(exchange?.error ? { error: exchange.error } : {}),
          },
        };
      }
    }
    results.push(result);
    printResult(result, out);
  }
  return results;
}

function base(check: Check, started: number, ctx: Ctx, ok: boolean): CheckResult {
  return {
    suite: check.suite,
    name: check.name,
    source: check.source,
    ok,
    ms: Math.round(performance.now() - started),
    ...(ctx.notes.length ? { notes: [...ctx.notes] } : {}),
  };
}

function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((l, i) => (i === 0 ? l : pad + l))
    .join('\n');
}

export function printResult(r: CheckResult, out: (line: string) => void): void {
  const word = r.skipped ? 'SKIP' : r.ok ? 'PASS' : 'FAIL';
  out(`${word} ${r.suite}/${r.name} (${r.ms} ms)`);
  const pad = '              ';
  if (r.skipped || (r.ok && r.notes)) {
    for (const n of r.notes ?? []) out(`    note:     ${n}`);
  }
  if (!r.ok && r.failure) {
    const f = r.failure;
    out(`    source:   ${r.source}`);
    out(`    reason:   ${indent(f.message, pad)}`);
    for (const n of r.notes ?? []) out(`    note:     ${n}`);
    if (f.request) {
      out(`    request:  ${f.request.method} ${f.request.path}`);
      const hs = Object.entries(f.request.headers);
      if (hs.length) out(`${pad}${hs.map(([k, v]) => `${k}: ${v}`).join(' | ')}`);
      if (f.request.body !== undefined) out(`${pad}${indent(f.request.body, pad)}`);
    }
    if (f.response) {
      const hs = Object.entries(f.response.headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join(' | ');
      out(`    response: ${f.response.status}${hs ? `  ${hs}` : ''}`);
      if (f.response.body !== '') out(`${pad}${indent(f.response.body, pad)}`);
    } else if (f.error) {
      out(`    response: none (${f.error})`);
    }
  }
}

export interface Report {
  url: string;
  startedAt: string;
  finishedAt: string;
  suites: SuiteName[];
  checks: CheckResult[];
  passed: number;
  failed: number;
  skipped: number;
  cleanup?: { deleted: number; failed: string[] };
}

export function summarize(results: CheckResult[]): { passed: number; failed: number; skipped: number } {
  return {
    passed: results.filter((r) => r.ok && !r.skipped).length,
    failed: results.filter((r) => !r.ok).length,
    skipped: results.filter((r) => r.skipped).length,
  };
}
