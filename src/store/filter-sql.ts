/**
 * Translate a filter AST (RFC 7644 §3.4.2.2) into a raw SQL predicate for knex
 * (`qb.whereRaw(sql, bindings)`) that behaves the same on SQLite and PostgreSQL.
 *
 * Conventions the caller must follow:
 * - `ColumnTarget.sql` is a trusted SQL expression (e.g. `u.user_name`); values
 *   always travel as `?` bindings, never inside the SQL text.
 * - Multi-valued attributes become `EXISTS (SELECT 1 FROM "<table>" AS mv WHERE
 *   mv."<fk>" = <parentKey> AND ...)`. The child table is always aliased
 *   {@link MULTI_ALIAS} (`mv`), so the `subs` of a MultiTarget must be written
 *   against it (`mv.value`, `mv."primary"`). `table` and `fk` are identifiers and
 *   are quoted here (a dotted `schema.table` is quoted part by part); `parentKey`
 *   is an SQL expression of the outer query, e.g. `u.id`.
 * - On SQLite, `PRAGMA case_sensitive_like = ON` must be set on every connection,
 *   so that LIKE is case-sensitive as on PostgreSQL.
 * - A caseExact=false string names its `folded` column: a copy folded on write by
 *   store/fold.ts. The value is folded by the same function here, and the two are
 *   compared with plain `=` / LIKE, so no database function runs per row.
 *
 * Design rule: every predicate emitted here is two-valued (TRUE/FALSE, never
 * NULL). SQL's three-valued logic would otherwise make `NOT (title = 'x')` drop
 * rows whose title is NULL, while RFC 7644 says an absent attribute simply does
 * not match `title eq "x"`, so `not (title eq "x")` must match it. With
 * two-valued leaves, AND/OR/NOT compose exactly like the filter's boolean logic.
 */
import { formatPath, type AttrPath, type CompareOp, type FilterNode, type FilterValue } from './filter-ast.js';
import { fold } from './fold.js';

export type AttrType = 'string' | 'boolean' | 'dateTime' | 'integer' | 'decimal' | 'reference' | 'binary';
/** A single-valued attribute stored in (or computed by) an SQL expression of the main table. */
export interface ColumnTarget {
  kind: 'column';
  sql: string;
  type: AttrType;
  caseExact: boolean;
  /** Where the fold of `sql` is stored; required for a string with caseExact=false. */
  folded?: string;
}
/**
 * A multi-valued attribute stored as rows of a child table, joined with
 * EXISTS (SELECT 1 FROM table AS mv WHERE mv.fk = <parentKey> AND ...).
 * `where` narrows a shared child table (e.g. `{ kind: 'phone' }`, columns of the
 * child table, equality only). `subs` are written against the alias `mv`.
 * `defaultSub` is used when the attribute is compared without a sub-attribute
 * (`emails eq "x"` compares `emails.value`, RFC 7644 §3.4.2.2).
 */
export interface MultiTarget {
  kind: 'multi';
  table: string;
  fk: string;
  parentKey: string;
  where?: Record<string, string | number | boolean>;
  subs: Record<string, ColumnTarget>;
  defaultSub: string;
}
/**
 * Resolves a client-written path. Must be case-insensitive (RFC 7643 §2.1).
 * Returns a ColumnTarget only for the exact path (attribute + sub-attribute), or the
 * MultiTarget of `path.attr` (the translator then picks `path.sub` from its subs).
 */
export interface AttributeMap {
  resolve(path: AttrPath): ColumnTarget | MultiTarget | undefined;
}
export type SqlResult = { ok: true; sql: string; bindings: unknown[] } | { ok: false; error: string };
export type Dialect = 'sqlite' | 'pg';

/** Alias of the child table inside the EXISTS subquery of a multi-valued attribute. */
export const MULTI_ALIAS = 'mv';

/**
 * Build an AttributeMap from a flat definition table. Keys are paths such as
 * 'userName', 'name.givenName', 'emails' or
 * 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department'; lookups
 * ignore case. A path whose URN is one of `coreUrns` (e.g.
 * 'urn:ietf:params:scim:schemas:core:2.0:User') resolves as if written without it,
 * because RFC 7644 §3.10 lets clients qualify core attributes with their schema.
 */
export function attributeMap(defs: Record<string, ColumnTarget | MultiTarget>, coreUrns: readonly string[] = []): AttributeMap {
  const table = new Map<string, ColumnTarget | MultiTarget>();
  for (const [key, target] of Object.entries(defs)) table.set(key.toLowerCase(), target);
  const core = new Set(coreUrns.map((u) => u.toLowerCase()));
  return {
    resolve(path) {
      const uri = path.uri?.toLowerCase();
      const base = (uri === undefined || core.has(uri) ? '' : `${uri}:`) + path.attr.toLowerCase();
      if (path.sub === undefined) return table.get(base);
      const exact = table.get(`${base}.${path.sub.toLowerCase()}`);
      if (exact) return exact;
      // `emails.value`: hand back the multi-valued parent; never a single-valued
      // parent column, which would silently ignore the sub-attribute.
      const parent = table.get(base);
      return parent?.kind === 'multi' ? parent : undefined;
    },
  };
}

interface Sql {
  sql: string;
  bindings: unknown[];
}

/** Internal control flow only; surfaces as `{ ok: false }`. */
class FilterSqlError extends Error {}
function fail(message: string): never {
  throw new FilterSqlError(message);
}

const STRING_TYPES: ReadonlySet<AttrType> = new Set(['string', 'reference', 'binary']);
const ORDERING_OPS: ReadonlySet<CompareOp> = new Set(['gt', 'ge', 'lt', 'le']);
const SQL_OPERATOR: Record<'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le', string> = {
  eq: '=',
  ne: '<>',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
};
/** LIKE escape character; not a backslash, so no layer (JS, knex, SQL literal) reinterprets it. */
const LIKE_ESCAPE = '!';

function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}

function lookupSub(target: MultiTarget, name: string): ColumnTarget | undefined {
  const wanted = name.toLowerCase();
  for (const [key, sub] of Object.entries(target.subs)) if (key.toLowerCase() === wanted) return sub;
  return undefined;
}

function bindBoolean(value: boolean, dialect: Dialect): boolean | number {
  // PostgreSQL has a real boolean type; SQLite stores booleans as 0/1.
  return dialect === 'pg' ? value : value ? 1 : 0;
}

function likePattern(op: 'co' | 'sw' | 'ew', value: string): string {
  const escaped = value.replace(/[!%_]/g, (ch) => LIKE_ESCAPE + ch);
  return op === 'co' ? `%${escaped}%` : op === 'sw' ? `${escaped}%` : `%${escaped}`;
}

/**
 * Parse an xsd:dateTime (RFC 7643 §2.3.5), with optional fraction and offset, to
 * epoch milliseconds. A value without an offset is taken as UTC. Digits below the
 * millisecond are truncated: stored values have millisecond precision, and
 * truncating keeps eq/gt/ge/lt/le mutually consistent at that precision.
 */
export function parseDateTime(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => (part === undefined ? 0 : Number(part)));
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  if (month < 1 || month > 12) return undefined;
  const daysInMonth = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone !== 'Z' && zone !== 'z') {
    const hh = Number(zone.slice(1, 3));
    const mm = zone.length > 3 ? Number(zone.slice(-2)) : 0;
    if (hh > 23 || mm > 59) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hh * 60 + mm);
  }
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  date.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
  return date.getTime() - offsetMinutes * 60_000;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Predicates for one column, shared by main-table columns and child-table sub-attributes. */
class ColumnPredicates {
  constructor(
    private readonly dialect: Dialect,
    private readonly name: string,
    private readonly target: ColumnTarget,
  ) {}

  /** `pr` (RFC 7644 §3.4.2.2): has a non-empty value. */
  present(): Sql {
    const { sql, type } = this.target;
    return STRING_TYPES.has(type)
      ? { sql: `(${sql} IS NOT NULL AND ${sql} <> '')`, bindings: [] }
      : { sql: `(${sql} IS NOT NULL)`, bindings: [] };
  }

  compare(op: CompareOp, value: FilterValue): Sql {
    if (value === null) {
      // RFC 7644 §3.4.2.2: null compares like an absent attribute.
      if (op === 'eq') return not(this.present());
      if (op === 'ne') return this.present();
      return fail(`Operator "${op}" cannot be used with null on "${this.name}"`);
    }
    switch (this.target.type) {
      case 'string':
      case 'reference':
      case 'binary':
        return this.compareString(op, value);
      case 'boolean':
        return this.compareBoolean(op, value);
      case 'integer':
      case 'decimal':
        return this.compareScalar(op, () => this.toNumber(value));
      case 'dateTime':
        return this.compareScalar(op, () => this.toEpochMs(value));
    }
  }

  /** Two-valued `expr <op> ?` for eq/ne/ordering on column `sql`: NULL never leaks out. */
  private guarded(op: keyof typeof SQL_OPERATOR, binding: unknown, sql = this.target.sql, expr = sql): Sql {
    // `ne` matches absent values: RFC 7644 treats them as "not equal", and this
    // keeps `x ne v` identical to `not (x eq v)`.
    const test = `${expr} ${SQL_OPERATOR[op]} ?`;
    return op === 'ne'
      ? { sql: `(${sql} IS NULL OR ${test})`, bindings: [binding] }
      : { sql: `(${sql} IS NOT NULL AND ${test})`, bindings: [binding] };
  }

  private compareString(op: CompareOp, value: string | number | boolean): Sql {
    const { type, caseExact, folded } = this.target;
    // RFC 7643 §2.2: caseExact=false strings compare case-insensitively: the
    // stored fold against the value folded by the same function (store/fold.ts).
    const insensitive = !caseExact && type !== 'binary';
    if (insensitive && folded === undefined) fail(`"${this.name}" has no folded column to compare case-insensitively`);
    const sql = insensitive ? folded! : this.target.sql;
    const text = insensitive ? fold(String(value)) : String(value);
    if (op === 'co' || op === 'sw' || op === 'ew') {
      return {
        sql: `(${sql} IS NOT NULL AND ${sql} LIKE ? ESCAPE '${LIKE_ESCAPE}')`,
        bindings: [likePattern(op, text)],
      };
    }
    if (ORDERING_OPS.has(op)) {
      // RFC 7644 §3.4.2.2: binary attributes reject ordering comparisons.
      if (type === 'binary') fail(`Operator "${op}" is not supported for binary attribute "${this.name}"`);
      // Code-point order on both databases: SQLite's default BINARY collation is
      // that already; PostgreSQL would otherwise use the database locale.
      const collated = this.dialect === 'pg' ? `${sql} COLLATE "C"` : sql;
      return this.guarded(op as keyof typeof SQL_OPERATOR, text, sql, collated);
    }
    return this.guarded(op as 'eq' | 'ne', text, sql);
  }

  private compareBoolean(op: CompareOp, value: string | number | boolean): Sql {
    if (op !== 'eq' && op !== 'ne') fail(`Operator "${op}" is not supported for boolean attribute "${this.name}"`);
    const text = String(value).toLowerCase();
    if (text !== 'true' && text !== 'false') fail(`"${this.name}" is boolean; cannot compare it with ${JSON.stringify(value)}`);
    return this.guarded(op, bindBoolean(text === 'true', this.dialect));
  }

  /** Numbers and dateTimes (stored as epoch ms); the operator is checked before the value for a clearer error. */
  private compareScalar(op: CompareOp, value: () => number): Sql {
    if (op === 'co' || op === 'sw' || op === 'ew') {
      fail(`Operator "${op}" is not supported for ${this.target.type} attribute "${this.name}"`);
    }
    return this.guarded(op, value());
  }

  private toNumber(value: string | number | boolean): number {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(n)) fail(`"${this.name}" is numeric; cannot compare it with ${JSON.stringify(value)}`);
    return n;
  }

  private toEpochMs(value: string | number | boolean): number {
    const ms = typeof value === 'string' ? parseDateTime(value) : undefined;
    if (ms === undefined) fail(`"${this.name}" is a dateTime; ${JSON.stringify(value)} is not a valid xsd:dateTime`);
    return ms;
  }
}

function not(inner: Sql): Sql {
  return { sql: `NOT ${inner.sql}`, bindings: inner.bindings };
}

function combine(op: 'AND' | 'OR', left: Sql, right: Sql): Sql {
  return { sql: `(${left.sql} ${op} ${right.sql})`, bindings: [...left.bindings, ...right.bindings] };
}

/** Where paths are resolved: the resource itself, a multi-valued element, or a single-valued complex attribute. */
type Scope = { kind: 'root' } | { kind: 'multi'; target: MultiTarget; name: string } | { kind: 'complex'; parent: AttrPath };

class Translator {
  constructor(
    private readonly map: AttributeMap,
    private readonly dialect: Dialect,
  ) {}

  translate(node: FilterNode, scope: Scope): Sql {
    switch (node.kind) {
      case 'and':
        return combine('AND', this.translate(node.left, scope), this.translate(node.right, scope));
      case 'or':
        return combine('OR', this.translate(node.left, scope), this.translate(node.right, scope));
      case 'not':
        // Sound because every operand is two-valued (see module comment); for a
        // multi-valued comparison this is NOT EXISTS, i.e. "no element matches".
        return not(this.translate(node.expr, scope));
      case 'valuePath':
        return this.valuePath(node.path, node.filter, scope);
      case 'present':
      case 'compare':
        return this.leaf(node, scope);
    }
  }

  /** `attr[filter]` (RFC 7644 §3.4.2.2 valuePath): one element must satisfy the whole inner filter. */
  private valuePath(path: AttrPath, filter: FilterNode, scope: Scope): Sql {
    if (scope.kind !== 'root') fail(`Nested value filter on "${formatPath(path)}" is not allowed`);
    const target = this.map.resolve(path);
    if (target?.kind === 'multi') {
      const name = formatPath(path);
      return this.exists(target, this.translate(filter, { kind: 'multi', target, name }));
    }
    if (target?.kind === 'column') fail(`"${formatPath(path)}" is not a complex attribute`);
    // Single-valued complex attribute (`name[givenName eq "x"]`): resolve the
    // inner paths as `name.givenName` against the main table.
    return this.translate(filter, { kind: 'complex', parent: path });
  }

  private leaf(node: Extract<FilterNode, { kind: 'compare' | 'present' }>, scope: Scope): Sql {
    const { path } = node;
    if (scope.kind !== 'root' && (path.uri !== undefined || path.sub !== undefined)) {
      fail(`Expected a sub-attribute name inside "[...]" but found "${formatPath(path)}"`);
    }
    if (scope.kind === 'multi') {
      const sub = lookupSub(scope.target, path.attr);
      if (!sub) fail(`Unknown attribute "${scope.name}.${path.attr}"`);
      return this.onColumn(node, `${scope.name}.${path.attr}`, sub);
    }
    const full = scope.kind === 'complex' ? { ...scope.parent, sub: path.attr } : path;
    const target = this.map.resolve(full);
    if (!target) fail(`Unknown attribute "${formatPath(full)}"`);
    if (target.kind === 'column') return this.onColumn(node, formatPath(full), target);
    if (scope.kind === 'complex') fail(`Unknown attribute "${formatPath(full)}"`);
    return this.onMulti(node, full, target);
  }

  private onColumn(node: Extract<FilterNode, { kind: 'compare' | 'present' }>, name: string, target: ColumnTarget): Sql {
    const column = new ColumnPredicates(this.dialect, name, target);
    return node.kind === 'present' ? column.present() : column.compare(node.op, node.value);
  }

  /**
   * `emails.value eq "x"` / `emails eq "x"` / `emails pr` on a multi-valued
   * attribute: true when some element matches. `ne` (and `eq null`) are defined as
   * the negation of `eq` (and `pr`), so `emails.value ne "x"` means "no email is
   * x", consistent with `not (emails.value eq "x")` and with single-valued `ne`.
   */
  private onMulti(node: Extract<FilterNode, { kind: 'compare' | 'present' }>, path: AttrPath, target: MultiTarget): Sql {
    const name = formatPath(path);
    const subName = path.sub ?? target.defaultSub;
    const sub = lookupSub(target, subName);
    if (!sub) fail(`Unknown attribute "${formatPath({ ...path, sub: subName })}"`);
    const column = new ColumnPredicates(this.dialect, name, sub);
    // `emails pr`: any element at all; `emails.value pr`: an element with a value.
    const present = this.exists(target, path.sub === undefined ? undefined : column.present());
    if (node.kind === 'present') return present;
    if (node.value === null && (node.op === 'eq' || node.op === 'ne')) return node.op === 'eq' ? not(present) : present;
    if (node.op === 'ne') return not(this.exists(target, column.compare('eq', node.value)));
    return this.exists(target, column.compare(node.op, node.value));
  }

  private exists(target: MultiTarget, predicate: Sql | undefined): Sql {
    const conditions = [`${MULTI_ALIAS}.${quoteIdent(target.fk)} = ${target.parentKey}`];
    const bindings: unknown[] = [];
    for (const [column, value] of Object.entries(target.where ?? {})) {
      conditions.push(`${MULTI_ALIAS}.${quoteIdent(column)} = ?`);
      bindings.push(typeof value === 'boolean' ? bindBoolean(value, this.dialect) : value);
    }
    if (predicate) {
      conditions.push(predicate.sql);
      bindings.push(...predicate.bindings);
    }
    return {
      sql: `EXISTS (SELECT 1 FROM ${quoteIdent(target.table)} AS ${MULTI_ALIAS} WHERE ${conditions.join(' AND ')})`,
      bindings,
    };
  }
}

/**
 * Translate a parsed filter into `{ sql, bindings }` for `qb.whereRaw(sql, bindings)`.
 * Never throws: unknown attributes and operator/type mismatches come back as
 * `{ ok: false }`, which RFC 7644 §3.4.2.2 maps to 400 invalidFilter.
 */
export function filterToSql(node: FilterNode, map: AttributeMap, dialect: Dialect): SqlResult {
  try {
    const { sql, bindings } = new Translator(map, dialect).translate(node, { kind: 'root' });
    return { ok: true, sql, bindings };
  } catch (err) {
    if (err instanceof FilterSqlError) return { ok: false, error: err.message };
    return { ok: false, error: `Invalid filter: ${err instanceof Error ? err.message : String(err)}` };
  }
}
