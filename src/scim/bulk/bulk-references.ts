/**
 * `bulkId:` references (RFC 7644 §3.7.2): a string value `bulkId:<id>` anywhere in an operation's data (a Group's
 * `members[].value`, the enterprise `manager.value`, any extension: "Extensions that include references to other
 * resources MUST be handled in the same way") or in its path stands for the id of the resource that the POST with
 * that bulkId creates. Only whole string values are references: a value that merely contains the text is data.
 */
import { PATCH_OP, type CheckedOperation } from '../patch/patch-op.js';
import { isObj } from '../shared/json.js';

const PREFIX = 'bulkId:';

/** The bulkId a string value references, if it is a reference. */
export const referenceOf = (v: unknown): string | undefined => (typeof v === 'string' && v.startsWith(PREFIX) && v.length > PREFIX.length ? v.slice(PREFIX.length) : undefined);

/**
 * Every bulkId referenced in a value (walked iteratively: request bodies are depth-checked, but never trusted).
 * Children are pushed one by one, not spread into `push(...)`: a spread passes each element as an argument, and an
 * array of a few hundred thousand elements (1 MB of `0,`) overflows the stack with a RangeError, a 500.
 */
export function referencesIn(value: unknown, into = new Set<string>()): Set<string> {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    const ref = referenceOf(v);
    if (ref !== undefined) into.add(ref);
    else if (Array.isArray(v)) for (const c of v) stack.push(c);
    else if (isObj(v)) for (const c of Object.values(v)) stack.push(c);
  }
  return into;
}

/** Whether a value references any of `bulkIds` (stops at the first; builds no set: called per element of a list). */
function mentions(value: unknown, bulkIds: ReadonlySet<string>): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    const ref = referenceOf(v);
    if (ref !== undefined) {
      if (bulkIds.has(ref)) return true;
    } else if (Array.isArray(v)) for (const c of v) stack.push(c);
    else if (isObj(v)) for (const c of Object.values(v)) stack.push(c);
  }
  return false;
}

/** A copy of `value` with every reference replaced by the id it resolves to (all must resolve: the caller checked). */
export function resolveReferences<T>(value: T, ids: ReadonlyMap<string, string>): T {
  const ref = referenceOf(value);
  if (ref !== undefined) return (ids.get(ref) ?? value) as T;
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids)) as T;
  if (isObj(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, ids)])) as T;
  return value;
}

/**
 * A POST on a cycle of references, split in two (RFC 7644 §3.7.1: "The service provider MUST try to resolve circular
 * cross-references"): the data without the attributes that reference `pending` bulkIds, to create the resource with,
 * and a PatchOp that puts them back once those resources exist. What can be put back this way: an element of a
 * multi-valued attribute (`members[i]`: added back), a top-level attribute (replaced), and a sub-attribute of an
 * extension (`urn:...:User` `manager`: replaced by its full path). A reference anywhere else (inside an element of an
 * extension's multi-valued attribute, say) cannot be split off: undefined, and the cycle is answered 409.
 */
export function splitForCycle(data: Record<string, unknown>, pending: ReadonlySet<string>): { data: Record<string, unknown>; patch: Record<string, unknown> } | undefined {
  const touches = (v: unknown) => mentions(v, pending);
  // Built as entries and made with Object.fromEntries: an assignment `kept[key] = value` with the key `__proto__`
  // (JSON.parse makes it an own member) would set the copy's prototype instead, so that the created resource would
  // inherit that member's attributes where the single request would see an unknown attribute.
  const kept: [string, unknown][] = [];
  const operations: CheckedOperation[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (!touches(value)) {
      kept.push([key, value]);
      continue;
    }
    if (Array.isArray(value)) {
      const moved = value.map(touches);
      kept.push([key, value.filter((_, i) => !moved[i])]);
      operations.push({ op: 'add', path: key, value: value.filter((_, i) => moved[i]) });
    } else if (isObj(value) && key.toLowerCase().startsWith('urn:')) {
      const sub: [string, unknown][] = [];
      for (const [s, v] of Object.entries(value)) {
        if (!touches(v)) sub.push([s, v]);
        else if (Array.isArray(v)) return undefined;
        else operations.push({ op: 'replace', path: `${key}:${s}`, value: v });
      }
      kept.push([key, Object.fromEntries(sub)]);
    } else {
      operations.push({ op: 'replace', path: key, value });
    }
  }
  return { data: Object.fromEntries(kept), patch: { schemas: [PATCH_OP], Operations: operations } };
}

/**
 * The references splitForCycle cannot split off (those inside an array under an extension's attribute): it splits a
 * POST exactly when none of these is pending. Computed once per operation, so that the planner can tell which POST of
 * a cycle to split without walking every candidate's data again at every cycle it is on.
 */
export function unsplittableReferences(data: Record<string, unknown>): Set<string> {
  const refs = new Set<string>();
  for (const [key, value] of Object.entries(data)) {
    if (Array.isArray(value) || !isObj(value) || !key.toLowerCase().startsWith('urn:')) continue;
    for (const v of Object.values(value)) if (Array.isArray(v)) referencesIn(v, refs);
  }
  return refs;
}
