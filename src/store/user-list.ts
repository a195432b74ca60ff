/**
 * GET /Users (RFC 7644 §3.4.2): the attributes a filter or sortBy can name, the columns they live in, and one page of
 * live users with their multi-valued attributes.
 */
import type { Knex } from 'knex';
import { ENTERPRISE, USER_SCHEMA } from './schema-urns.js';
import { column as col, listingOf, readPage, type ListQuery, type ListTable, type SeekCursors } from './collection.js';
import { liveCount } from './counts.js';
import { attributeMap, type MultiTarget } from './filter-sql.js';
import { loadValues, USER_COLUMNS, valuesColumn, valuesOf, type UserRow, type ValueRow } from './users.js';

const multi = (attr: string): MultiTarget => ({
  kind: 'multi', table: 'user_values', fk: 'user_id', parentKey: 'users.id', where: { attr },
  subs: { value: col('mv.value'), type: col('mv.type'), display: col('mv.display'), primary: col('mv."primary"', 'boolean', true) },
  defaultSub: 'value',
});

/** Filterable attributes (RFC 7643 §4.1, §4.3) and where they live. */
const attributes = attributeMap({
  id: col('users.id', 'string', true),
  externalId: col('users.external_id', 'string', true),
  userName: col('users.user_name'),
  displayName: col('users.display_name'),
  nickName: col('users.nickname'),
  title: col('users.position'),
  userType: col('users.user_type'),
  preferredLanguage: col('users.preferred_language'),
  locale: col('users.locale'),
  timezone: col('users.timezone'),
  profileUrl: col('users.profile_url', 'reference', true),
  active: col('users.active', 'boolean', true),
  'name.givenName': col('users.first_name'),
  'name.familyName': col('users.last_name'),
  'name.formatted': col('users.formatted_name'),
  'meta.created': col('users.created_at', 'dateTime', true),
  'meta.lastModified': col('users.updated_at', 'dateTime', true),
  emails: multi('emails'),
  phoneNumbers: multi('phoneNumbers'),
  ims: multi('ims'),
  photos: multi('photos'),
  roles: multi('roles'),
  entitlements: multi('entitlements'),
  groups: {
    kind: 'multi', table: 'group_members', fk: 'user_id', parentKey: 'users.id',
    subs: { value: col('mv.group_id', 'string', true) }, defaultSub: 'value',
  },
  [`${ENTERPRISE}:employeeNumber`]: col('users.employee_number', 'string', true),
  [`${ENTERPRISE}:department`]: col('users.department'),
  [`${ENTERPRISE}:costCenter`]: col('users.cost_center'),
  [`${ENTERPRISE}:organization`]: col('users.organization'),
  [`${ENTERPRISE}:division`]: col('users.division'),
  [`${ENTERPRISE}:manager`]: col('users.manager_id', 'string', true),
  [`${ENTERPRISE}:manager.value`]: col('users.manager_id', 'string', true),
}, [USER_SCHEMA]);

const USERS: ListTable = {
  table: 'users',
  attributes,
  sortable: {
    id: 'users.id',
    externalid: 'users.external_id',
    username: 'users.user_name_fold',
    displayname: 'users.display_name_fold',
    nickname: 'users.nickname_fold',
    title: 'users.position_fold',
    active: 'users.active',
    'name.givenname': 'users.first_name_fold',
    'name.familyname': 'users.last_name_fold',
    'meta.created': 'users.created_at',
    'meta.lastmodified': 'users.updated_at',
    emails: 'users.email',
    'emails.value': 'users.email',
    [`${ENTERPRISE}:employeenumber`.toLowerCase()]: 'users.employee_number',
    [`${ENTERPRISE}:department`.toLowerCase()]: 'users.department_fold',
  },
  defaultOrder: 'users.created_at',
  uniqueKey: 'users.id',
  notNull: ['users.id', 'users.user_name_fold', 'users.active', 'users.created_at', 'users.updated_at'],
};

/** What the query parser needs to know of /Users on this database. */
export const userListing = (db: Knex) => listingOf(USERS, db);

/** One page of live users, each with its multi-valued attributes, and totalResults; `cursors` continue a walk. */
export async function listUserPage(db: Knex, q: ListQuery, cursors: SeekCursors): Promise<{ users: { row: UserRow; values: ValueRow[] }[]; total: number }> {
  // A filtered list (an IdP's match query: one row, or a few) reads the values in the page statement, saving a round
  // trip; a page of a whole-collection walk reads them with one IN query, which costs SQLite less than a JSON subquery
  // per row.
  const { rows, total } = await readPage<UserRow & { values_json?: unknown }>(db, USERS, q, {
    columns: USER_COLUMNS, inlineColumns: q.where ? [valuesColumn(db)] : [], countAll: () => liveCount(db, 'User'), cursors,
  });
  // The values came with the page unless it was unfiltered or read with OFFSET.
  const loaded = await loadValues(db, rows.filter((r) => r.values_json === undefined).map((r) => r.id));
  return { users: rows.map((row) => ({ row, values: loaded.get(row.id) ?? valuesOf(row) })), total };
}
