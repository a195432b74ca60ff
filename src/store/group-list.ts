/**
 * GET /Groups (RFC 7644 §3.4.2): the attributes a filter or sortBy can name, the columns they live in, and one page of
 * live groups, with their members only when they are wanted.
 */
import type { Knex } from 'knex';
import { GROUP_SCHEMA } from './schema-urns.js';
import { column as col, listingOf, readPage, type ListQuery, type ListTable, type SeekCursors } from './collection.js';
import { liveCount } from './counts.js';
import { attributeMap } from './filter-sql.js';
import { loadMembers, type GroupRow, type MemberRef } from './groups.js';

const GROUPS: ListTable = {
  table: 'groups',
  /** Filterable attributes (RFC 7643 §4.2) and where they live. */
  attributes: attributeMap({
    id: col('groups.id', 'string', true),
    externalId: col('groups.external_id', 'string', true),
    displayName: col('groups.display_name'),
    'meta.created': col('groups.created_at', 'dateTime', true),
    'meta.lastModified': col('groups.updated_at', 'dateTime', true),
    members: { kind: 'multi', table: 'group_members', fk: 'group_id', parentKey: 'groups.id', subs: { value: col('mv.user_id', 'string', true) }, defaultSub: 'value' },
  }, [GROUP_SCHEMA]),
  sortable: {
    id: 'groups.id',
    externalid: 'groups.external_id',
    displayname: 'groups.display_name_fold',
    'meta.created': 'groups.created_at',
    'meta.lastmodified': 'groups.updated_at',
  },
  defaultOrder: 'groups.created_at',
  uniqueKey: 'groups.id',
  notNull: ['groups.id', 'groups.display_name_fold', 'groups.created_at', 'groups.updated_at'],
};

/** What the query parser needs to know of /Groups on this database. */
export const groupListing = (db: Knex) => listingOf(GROUPS, db);

/** One page of live groups and totalResults; with `members`, the members of each group on the page; `cursors` continue a walk. */
export async function listGroupPage(db: Knex, q: ListQuery, opts: { members: boolean; cursors: SeekCursors }): Promise<{ groups: GroupRow[]; members?: Map<string, MemberRef[]>; total: number }> {
  const { rows, total } = await readPage<GroupRow>(db, GROUPS, q, { columns: 'groups.*', countAll: () => liveCount(db, 'Group'), cursors: opts.cursors });
  if (!opts.members) return { groups: rows, total };
  return { groups: rows, members: await loadMembers(db, rows.map((r) => r.id)), total };
}
