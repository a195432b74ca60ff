/**
 * Multi-valued attributes as RFC 7643 §2.4 wants them stored: at most one value with `primary: true` (a MUST), and no
 * (type, value) pair twice (a SHOULD NOT). Every write goes through `tidyLists` (user-representation.ts), so the workspace
 * email, taken from the primary email, always follows the one primary there is.
 */
import { isObj, type Json } from './json.js';

/** The multi-valued attributes of a User (RFC 7643 §4.1.2) that have `primary`, addresses included. */
export const PRIMARY_LISTS = ['emails', 'phoneNumbers', 'ims', 'photos', 'roles', 'entitlements', 'addresses', 'x509Certificates'] as const;

/**
 * What makes two values the same value: every sub-attribute but `primary` and `display` (for emails, phone numbers
 * and the like that is exactly (type, value); an address is all of its parts). String comparison ignores case, as the
 * schema has `caseExact: false` for these sub-attributes (RFC 7643 §8.7.1), except certificates (binary, caseExact).
 */
function identity(attr: string, e: unknown): string {
  if (!isObj(e)) return JSON.stringify(e);
  const fold = attr !== 'x509Certificates';
  return JSON.stringify(Object.keys(e).filter((k) => k !== 'primary' && k !== 'display').sort()
    .map((k) => [k, fold && typeof e[k] === 'string' ? e[k].toLowerCase() : e[k]]));
}

const isPrimary = (e: unknown) => isObj(e) && e.primary === true;

/**
 * One list tidied: duplicates merge into the first of them (primary if any of them was, the first display there is),
 * and when several values are primary only one stays so. Which one: a value that `before` did not have as primary
 * (the write made it primary; RFC 7644 §3.5.2 "SHALL" set the others to false), the last such in list order; else the
 * last. For a POST or PUT `before` is empty, so the last primary in the body wins: a PUT of our GET body with a new
 * primary value appended moves the primary to it.
 */
export function tidyList(attr: string, list: unknown[], before: unknown[] = []): unknown[] {
  const merged = new Map<string, Json>();
  const out: unknown[] = [];
  for (const e of list) {
    if (!isObj(e)) { out.push(e); continue; }
    const key = identity(attr, e);
    const first = merged.get(key);
    if (!first) {
      const copy = { ...e };
      merged.set(key, copy);
      out.push(copy);
      continue;
    }
    if (e.primary === true) first.primary = true;
    if ((first.display === undefined || first.display === null || first.display === '') && e.display != null) first.display = e.display;
  }
  const primaries = out.filter(isPrimary) as Json[];
  if (primaries.length > 1) {
    const wasPrimary = new Set(before.filter(isPrimary).map((e) => identity(attr, e)));
    const made = primaries.filter((e) => !wasPrimary.has(identity(attr, e)));
    const winner = (made.length ? made : primaries).at(-1)!;
    for (const e of primaries) if (e !== winner) e.primary = false;
  }
  return out;
}

/** A copy of a User body with every multi-valued list tidied (see tidyList); `before` is the stored user, if any. */
export function tidyLists(body: Json, before: Json = {}): Json {
  let out = body;
  for (const attr of PRIMARY_LISTS) {
    const list = body[attr];
    if (!Array.isArray(list) || list.length === 0) continue;
    if (out === body) out = { ...body };
    out[attr] = tidyList(attr, list, Array.isArray(before[attr]) ? before[attr] : []);
  }
  return out;
}
