/**
 * AST for the SCIM filter language (RFC 7644 §3.4.2.2).
 *
 * The AST is deliberately independent of any storage: src/scim/query/filter-parse.ts builds it
 * from text, src/store/filter-sql.ts turns it into a knex WHERE clause. It lives in the store,
 * the bottom layer, because both import it. Attribute names are kept
 * exactly as the client wrote them; resolution (which is case-insensitive per
 * RFC 7643 §2.1) is the job of the AttributeMap used at translation time.
 */

/** Comparison operators of RFC 7644 §3.4.2.2, table 3 (`pr` is its own node kind). */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** A comparison value: a JSON literal (RFC 7644 §3.4.2.2 "compValue"), or a bare token read as a string. */
export type FilterValue = string | number | boolean | null;

/** An attribute path: optional schema URN, attribute, optional sub-attribute. Names as written by the client (case preserved). */
export interface AttrPath {
  uri?: string;
  attr: string;
  sub?: string;
}

export type FilterNode =
  | { kind: 'and'; left: FilterNode; right: FilterNode }
  | { kind: 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; expr: FilterNode }
  | { kind: 'compare'; path: AttrPath; op: CompareOp; value: FilterValue }
  | { kind: 'present'; path: AttrPath }
  /**
   * `emails[type eq "work"]`; the inner filter's paths are sub-attributes of `path`
   * (each inner path is a bare `attr`, no uri/sub). `emails[type eq "work"].value eq "x"`
   * is represented as a valuePath whose filter is `type eq "work" and value eq "x"`,
   * which gives it the same-element semantics it needs.
   */
  | { kind: 'valuePath'; path: AttrPath; filter: FilterNode };

/** Render a path back to its textual form (for error messages). */
export function formatPath(path: AttrPath): string {
  const base = path.uri ? `${path.uri}:${path.attr}` : path.attr;
  return path.sub ? `${base}.${path.sub}` : base;
}
