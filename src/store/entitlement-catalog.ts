/**
 * The catalogues Okta Identity Governance reads as SCIM resource types (Okta's "Build a SCIM 2.0 server with
 * entitlements"): /Entitlements, the workspace's live teams and channels, and /Roles, the workspace's system roles.
 * Neither is a table: each is a derived table `e`, a UNION ALL of the rows with the id built in SQL, so that filters
 * (store/filter-sql.ts), the order, the page and totalResults are all answered by one statement, and a catalogue of
 * 10,000 channels costs one scan, never a query per row.
 *
 * The ids and types built here are those of src/scim/shared/entitlement-id.ts (`formatEntitlement`,
 * `entitlementType`), which the store, the bottom layer, cannot import; test/component/okta-entitlements.test.ts
 * checks that every id served round-trips through `parseEntitlement`/`formatEntitlement`. Team and channel names are
 * lower-case [a-z0-9_-] (src/workspace/names.ts) and unique for all time (archived ones keep theirs), so ids never
 * collide and never need escaping.
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';
import type { FilterNode } from './filter-ast.js';
import { attributeMap, filterToSql, type AttributeMap } from './filter-sql.js';
import { column, type Listing, type ListQuery, type SeekCursors, type SqlWhere } from './collection.js';
import { fold } from './fold.js';
import { rawRows } from './sql.js';

export const ROLE_SCHEMA = 'urn:okta:scim:schemas:core:1.0:Role';
export const ENTITLEMENT_SCHEMA = 'urn:okta:scim:schemas:core:1.0:Entitlement';

/** One row of /Entitlements. */
export interface EntitlementRow {
  id: string;
  display_name: string;
  type: 'Team' | 'Team admin' | 'Channel' | 'Channel admin';
  kind: 'team' | 'channel';
  /** 1 for the admin flavour (team or channel admin), else 0. */
  admin: number;
  team_name: string;
  team_display: string;
  channel_name: string | null;
  channel_display: string | null;
  created_at: number | string;
  updated_at: number | string;
}

/** One row of /Roles. */
export interface RoleRow { id: string; display_name: string; description: string }

/** Which entitlement one id names (src/scim/shared/entitlement-id.ts EntitlementRef has this shape). */
export interface EntitlementKey { kind: 'team' | 'channel'; team: string; channel?: string; admin: boolean }

/** The columns of a derived table a filter or a sort may name, and where they live. */
interface Catalogue { attributes: AttributeMap; sortable: Readonly<Record<string, string>> }

const ENTITLEMENTS: Catalogue = {
  attributes: attributeMap({
    id: column('e.id', 'string', true),
    // Okta names an entitlement on a user by `value` (its id): `value eq` reads as `id eq`.
    value: column('e.id', 'string', true),
    // caseExact (and so declared in /Schemas): team and channel display names have no stored fold, and neither
    // database's lower() agrees with store/fold.ts beyond ASCII.
    displayName: column('e.display_name', 'string', true),
    type: column('e.type'),
  }, [ENTITLEMENT_SCHEMA]),
  sortable: { id: 'e.id', displayname: 'e.display_name', type: 'e.type' },
};

const ROLES: Catalogue = {
  attributes: attributeMap({
    id: column('e.id', 'string', true),
    value: column('e.id', 'string', true),
    displayName: column('e.display_name'),
  }, [ROLE_SCHEMA]),
  sortable: { id: 'e.id', displayname: 'e.display_name_fold' },
};

function listingOf(c: Catalogue, db: Knex): Listing {
  const dialect = dialectOf(db);
  return {
    sortable: new Set(Object.keys(c.sortable)),
    compileFilter: (filter: FilterNode) => {
      const r = filterToSql(filter, c.attributes, dialect);
      return r.ok ? { ok: true, value: { sql: r.sql, bindings: r.bindings } } : r;
    },
  };
}

/** What the query parser needs to know of /Entitlements and /Roles on this database. */
export const entitlementListing = (db: Knex): Listing => listingOf(ENTITLEMENTS, db);
export const roleListing = (db: Knex): Listing => listingOf(ROLES, db);

const LIVE_TEAMS = 'FROM teams t WHERE t.archived_at IS NULL';
const LIVE_CHANNELS = 'FROM channels c JOIN teams t ON t.id = c.team_id WHERE c.archived_at IS NULL AND t.archived_at IS NULL';

/**
 * The rows of one kind of entitlement. The type is a constant of the branch, its fold too (`type` is caseExact=false,
 * and the fold of these ASCII words is their lower case), so `type eq "channel"` costs no function per row.
 */
function branch(kind: 'team' | 'channel', admin: boolean, extra = ''): string {
  const type = `${kind === 'team' ? 'Team' : 'Channel'}${admin ? ' admin' : ''}`;
  const id = kind === 'team' ? `'team:' || t.name` : `'channel:' || t.name || ':' || c.name`;
  const label = kind === 'team' ? 't.display_name' : `t.display_name || ' / ' || c.display_name`;
  const row = kind === 'team' ? 't' : 'c';
  return `SELECT ${id}${admin ? ` || ':admin'` : ''} AS id, '${type} ' || ${label} AS display_name, '${type}' AS type, `
    + `'${type.toLowerCase()}' AS type_fold, '${kind}' AS kind, ${admin ? 1 : 0} AS admin, t.name AS team_name, `
    + `t.display_name AS team_display, ${kind === 'team' ? 'NULL' : 'c.name'} AS channel_name, `
    + `${kind === 'team' ? 'NULL' : 'c.display_name'} AS channel_display, ${row}.created_at AS created_at, ${row}.updated_at AS updated_at `
    + `${kind === 'team' ? LIVE_TEAMS : LIVE_CHANNELS}${extra}`;
}

/** Every live team and every live channel of a live team, and with `admin` their admin flavours. */
function entitlementsFrom(admin: boolean): SqlWhere {
  const kinds = [branch('team', false), branch('channel', false)];
  if (admin) kinds.push(branch('team', true), branch('channel', true));
  return { sql: kinds.join(' UNION ALL '), bindings: [] };
}

/** The role rows as a derived table of bound values (typed: PostgreSQL cannot infer a bare parameter's type). */
function rolesFrom(roles: readonly RoleRow[]): SqlWhere {
  const one = 'SELECT CAST(? AS TEXT) AS id, CAST(? AS TEXT) AS display_name, CAST(? AS TEXT) AS display_name_fold, CAST(? AS TEXT) AS description';
  return { sql: roles.map(() => one).join(' UNION ALL '), bindings: roles.flatMap((r) => [r.id, r.display_name, fold(r.display_name), r.description]) };
}

/** A catalogue's rows, and how many there are without a filter when that is known cheaper than counting them. */
interface Source { name: string; from: SqlWhere; countAll: () => Promise<number> }

/**
 * One page of a catalogue in the order asked (by id unless sorted otherwise; code-point order on both databases, as
 * ids and display names are compared by filters) and totalResults (RFC 7644 §3.4.2.4), as store/collection.ts
 * readPage answers a table: a page that is not full, and is non-empty or the first, tells the total; otherwise the
 * filtered rows are counted (an unfiltered catalogue by `countAll`, which builds no ids). A page that follows one
 * served before (found in `cursors`) continues after its last row instead of skipping `startIndex - 1` rows, so the
 * sort keeps one page, not every row before it.
 */
async function readCatalogue<T extends object>(db: Knex, c: Catalogue, src: Source, q: ListQuery, cursors: SeekCursors): Promise<{ rows: T[]; total: number }> {
  const collate = dialectOf(db) === 'pg' ? (e: string) => `${e} COLLATE "C"` : (e: string) => e;
  const where = q.where ? ` WHERE (${q.where.sql})` : '';
  const base = `FROM (${src.from.sql}) e${where}`;
  const bindings = [...src.from.bindings, ...(q.where?.bindings ?? [])];
  const dir = q.sort?.descending ? 'DESC' : 'ASC';
  const first = q.sort ? c.sortable[q.sort.by] : 'e.id';
  if (first === undefined) throw new Error(`catalogue cannot be sorted by ${q.sort?.by}`);
  const keys = first === 'e.id' ? ['e.id'] : [first, 'e.id'];
  const order = keys.map((e) => `${collate(e)} ${dir}`).join(', ');
  const cursorKey = (startIndex: number) => `${src.name}|${q.where?.sql ?? ''}|${JSON.stringify(q.where?.bindings ?? [])}|${order}|${startIndex}`;
  const after = q.startIndex > 1 ? cursors.get(cursorKey(q.startIndex)) : undefined;
  let rows: T[] = [];
  if (q.count > 0 && after) {
    // Strictly after the last row served, in ORDER BY order (every sort key is NOT NULL).
    const gt = dir === 'DESC' ? '<' : '>';
    const seek = keys.length === 1 ? `${collate('e.id')} ${gt} ?` : `(${collate(first)} ${gt} ? OR (${first} = ? AND ${collate('e.id')} ${gt} ?))`;
    const seekBindings = keys.length === 1 ? [after[0]] : [after[0], after[0], after[1]];
    rows = await rawRows<T>(db, `SELECT e.* ${base}${where ? ' AND' : ' WHERE'} ${seek} ORDER BY ${order} LIMIT ?`, [...bindings, ...seekBindings, q.count]);
  } else if (q.count > 0) {
    rows = await rawRows<T>(db, `SELECT e.* ${base} ORDER BY ${order} LIMIT ? OFFSET ?`, [...bindings, q.count, q.startIndex - 1]);
  }
  if (rows.length === q.count && rows.length > 0) {
    const last = rows[rows.length - 1] as Record<string, unknown>;
    cursors.set(cursorKey(q.startIndex + rows.length), keys.map((k) => last[k.slice(2)]));
  }
  if (!after && rows.length < q.count && (rows.length > 0 || q.startIndex === 1)) return { rows, total: q.startIndex - 1 + rows.length };
  if (!q.where) return { rows, total: await src.countAll() };
  const [row] = await rawRows<{ n: number | string }>(db, `SELECT count(*) AS n ${base}`, bindings);
  return { rows, total: Number(row?.n ?? 0) };
}

/** Live teams plus live channels of live teams (twice with the admin flavours), counted without building an id. */
async function countEntitlements(db: Knex, admin: boolean): Promise<number> {
  const [row] = await rawRows<{ n: number | string }>(db, `SELECT (SELECT count(*) ${LIVE_TEAMS}) + (SELECT count(*) ${LIVE_CHANNELS}) AS n`, []);
  return Number(row?.n ?? 0) * (admin ? 2 : 1);
}

/** One page of /Entitlements and totalResults; the admin flavours only when the role mapping offers them. */
export function listEntitlements(db: Knex, q: ListQuery, opts: { admin: boolean; cursors: SeekCursors }): Promise<{ rows: EntitlementRow[]; total: number }> {
  const src: Source = { name: `entitlements${opts.admin ? ':admin' : ''}`, from: entitlementsFrom(opts.admin), countAll: () => countEntitlements(db, opts.admin) };
  return readCatalogue<EntitlementRow & { type_fold?: string }>(db, ENTITLEMENTS, src, q, opts.cursors).then(({ rows, total }) => ({
    rows: rows.map(({ type_fold: _f, ...r }) => r),
    total,
  }));
}

/** One entitlement, read by its names through the unique indexes (teams_name_unique, channels_team_name_unique). */
export async function getEntitlement(db: Knex, key: EntitlementKey, opts: { admin: boolean }): Promise<EntitlementRow | undefined> {
  if (key.admin && !opts.admin) return undefined;
  if (key.kind === 'channel' && key.channel === undefined) return undefined;
  const sql = key.kind === 'team' ? branch('team', key.admin, ' AND t.name = ?') : branch('channel', key.admin, ' AND t.name = ? AND c.name = ?');
  const [row] = await rawRows<EntitlementRow>(db, sql, key.kind === 'team' ? [key.team] : [key.team, key.channel]);
  return row;
}

/** One page of /Roles (the rows given: the workspace's built-in roles) and totalResults. */
export function listRoles(db: Knex, q: ListQuery, roles: readonly RoleRow[], cursors: SeekCursors): Promise<{ rows: RoleRow[]; total: number }> {
  const src: Source = { name: 'roles', from: rolesFrom(roles), countAll: async () => roles.length };
  return readCatalogue<RoleRow & { display_name_fold?: string }>(db, ROLES, src, q, cursors).then(({ rows, total }) => ({
    rows: rows.map(({ display_name_fold: _f, ...r }) => r),
    total,
  }));
}
