/**
 * Assertion helpers. Each throws a {@link CheckFailure} carrying a message and, when given
 * the response it judged, the exact request/response pair to print.
 */
import type { Exchange, ScimResponse } from './http.ts';

export class CheckFailure extends Error {
  constructor(
    message: string,
    readonly exchange?: Exchange,
  ) {
    super(message);
    this.name = 'CheckFailure';
  }
}

/** Thrown by ctx.skip(): the check does not apply to this server (counts neither way). */
export class SkipCheck extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SkipCheck';
  }
}

export function fail(message: string, res?: ScimResponse): never {
  throw new CheckFailure(message, res?.exchange);
}

export function expect(cond: unknown, message: string, res?: ScimResponse): asserts cond {
  if (!cond) fail(message, res);
}

export function show(v: unknown): string {
  if (v === undefined) return 'undefined (absent)';
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/** Asserts the HTTP status is one of `codes`; the message names what the step was. */
export function expectStatus(res: ScimResponse, codes: number | number[], what?: string): void {
  const list = Array.isArray(codes) ? codes : [codes];
  if (!list.includes(res.status)) {
    const want = list.length === 1 ? `HTTP ${list[0]}` : `HTTP ${list.join(' or ')}`;
    fail(`${what ? `${what}: ` : ''}expected ${want}, got ${res.status}`, res);
  }
}

export function expectEqual(actual: unknown, expected: unknown, what: string, res?: ScimResponse): void {
  if (!deepEqual(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`, res);
}

/** Asserts the response body is a JSON object and returns it. */
export function expectJsonObject(res: ScimResponse, what = 'response body'): Record<string, any> {
  if (res.json === null || typeof res.json !== 'object' || Array.isArray(res.json)) {
    fail(`${what} is not a JSON object`, res);
  }
  return res.json as Record<string, any>;
}

/** Compares two id lists as sets and names what is missing and what is extra. */
export function expectSameSet(actual: string[], expected: string[], what: string, res?: ScimResponse, names?: Map<string, string>): void {
  const label = (id: string) => (names?.get(id) ? `${names.get(id)} (${id})` : id);
  const a = new Set(actual);
  const e = new Set(expected);
  const missing = [...e].filter((x) => !a.has(x));
  const extra = [...a].filter((x) => !e.has(x));
  const dupes = actual.length !== a.size;
  if (missing.length || extra.length || dupes) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.map(label).join(', ')}`);
    if (extra.length) parts.push(`unexpected ${extra.map(label).join(', ')}`);
    if (dupes) parts.push('duplicates present');
    fail(`${what}: ${parts.join('; ')} (got [${actual.map(label).join(', ')}], expected [${expected.map(label).join(', ')}])`, res);
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  const bk = Object.keys(bo);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]));
}
