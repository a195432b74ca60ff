/**
 * Query parameters of a SCIM list (RFC 7644 §3.4.2): filter, sortBy/sortOrder, startIndex/count, parsed once into a
 * CollectionQuery that the store answers with SQL. Parsers return a result (or a SCIM error to throw); nothing is
 * filtered, sorted or paged in memory.
 */
import type { FilterNode } from '../../store/filter-ast.js';
import { parseFilter } from './filter-parse.js';
import { scimError } from '../shared/errors.js';

/**
 * What a resource type's list knows of its attributes, so that a query naming one it cannot filter or sort by is a 400
 * here: given by the store module that answers the list, wired by the resource.
 */
export interface Listing<Where> {
  /** Attributes a list can be sorted by: lower-cased paths, without the core schema URN. */
  sortable: ReadonlySet<string>;
  /** A parsed filter resolved against the attributes that exist, ready for the store; an error is a 400 invalidFilter. */
  compileFilter(filter: FilterNode): { ok: true; value: Where } | { ok: false; error: string };
}

export interface CollectionQuery<Where = unknown> {
  /** The filter, compiled by the Listing. */
  where?: Where;
  /** A sortable path from `Listing.sortable`; without it the list has its own fixed order and sortOrder is not used. */
  sort?: { by: string; descending: boolean };
  startIndex: number;
  count: number;
}

export interface PageLimits {
  defaultCount: number;
  maxResults: number;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: ReturnType<typeof scimError> };
const fail = (scimType: 'invalidFilter' | 'invalidValue', detail: string): Result<never> => ({ ok: false, error: scimError(400, scimType, detail) });

/** A non-negative integer from a query value (string in a URL, number in a .search body). */
function integer(v: unknown, name: string): Result<number | undefined> {
  if (v === undefined || v === null || v === '') return { ok: true, value: undefined };
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^[-+]?\d{1,30}$/.test(s)) return fail('invalidValue', `${name} must be an integer`);
  return { ok: true, value: Math.max(-1, Math.min(Number(s), 2 ** 31 - 1)) };
}

export function parseCollectionQuery<Where>(q: Record<string, unknown>, listing: Listing<Where>, limits: PageLimits): Result<CollectionQuery<Where>> {
  const start = integer(q.startIndex, 'startIndex');
  if (!start.ok) return start;
  const cnt = integer(q.count, 'count');
  if (!cnt.ok) return cnt;
  // RFC 7644 §3.4.2.4: startIndex < 1 is 1; a negative count is 0; count above the maximum is the maximum.
  const startIndex = Math.max(start.value ?? 1, 1);
  const count = Math.min(Math.max(cnt.value ?? limits.defaultCount, 0), limits.maxResults);

  let where: Where | undefined;
  if (q.filter !== undefined) {
    if (typeof q.filter !== 'string' || !q.filter.trim()) return fail('invalidFilter', 'filter must be a non-empty string');
    const parsed = parseFilter(q.filter);
    if (!parsed.ok) return fail('invalidFilter', parsed.error);
    const compiled = listing.compileFilter(parsed.filter);
    if (!compiled.ok) return fail('invalidFilter', compiled.error);
    where = compiled.value;
  }

  let sort: CollectionQuery['sort'];
  const descending = typeof q.sortOrder === 'string' && q.sortOrder.toLowerCase() === 'descending';
  if (q.sortOrder !== undefined && !(typeof q.sortOrder === 'string' && /^(a|de)scending$/i.test(q.sortOrder))) {
    return fail('invalidValue', 'sortOrder must be "ascending" or "descending"');
  }
  if (q.sortBy !== undefined) {
    if (typeof q.sortBy !== 'string') return fail('invalidValue', 'sortBy must be an attribute path');
    const by = q.sortBy.trim().toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, '');
    if (!listing.sortable.has(by)) return fail('invalidValue', `cannot sort by "${q.sortBy.slice(0, 100)}"`);
    sort = { by, descending };
  }
  return { ok: true, value: { where, sort, startIndex, count } };
}
