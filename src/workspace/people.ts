/**
 * An admin's questions about people (issue 16): "who is in this team?" (`listPeople`, filtered by state, team, channel,
 * group and a search term, keyset-paged) and "show me this person" (`showPerson`: who they are, every team, channel
 * and group they belong to with its role and cause, and their last changes from the audit log). The admin API
 * (src/admin/users.ts) and the CLI (src/cli/users.ts) both call these, so both answer the same.
 */
import type { Knex } from 'knex';
import { listAudit, type AuditRecord } from '../store/audit.js';
import { fold } from '../store/fold.js';
import { groupMembershipsOf, listPeople as listPeopleRows, peopleByKey, type PersonRow } from '../store/people.js';
import { getUserAccess } from '../store/users.js';
import { userMemberships } from '../store/workspace.js';
import { AppError } from '../errors/app-error.js';
import { badRequest, conflict } from './errors.js';
import { findChannel, findGroup, findTeam, MAX_REF } from './refs.js';
import { membershipsOut, personGroupOut, personOut, type Person } from './representation.js';

/** The longest search term: a substring search reads every row it cannot rule out, so the term stays short. */
export const MAX_SEARCH = 100;
/** How many audit rows `showPerson` answers, newest first. */
export const RECENT_CHANGES = 20;

export interface PeopleParams {
  active?: boolean | undefined;
  deleted?: boolean | undefined;
  /** A team id or name. */
  team?: string | undefined;
  /** A channel id, or `team/channel`. */
  channel?: string | undefined;
  /** A group id or externalId. */
  group?: string | undefined;
  /** A substring of the userName, displayName or email; ending in `*`, a prefix. */
  q?: string | undefined;
  limit: number;
  /** The `next` of the previous page. */
  after?: string | undefined;
}

/** The keyset of a page, opaque to the caller: the last person's folded userName and id. */
function cursorOf(r: PersonRow): string {
  return Buffer.from(JSON.stringify([r.user_name_fold, r.id])).toString('base64url');
}

function parseCursor(text: string): { userName: string; id: string } {
  const bad = () => badRequest('invalid_query', 'after must be the `next` of the previous page');
  if (text.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string' || v.some((s) => s.includes('\0'))) throw bad();
  return { userName: v[0], id: v[1] };
}

function searchOf(q: string | undefined): { text: string; prefix: boolean } | undefined {
  if (q === undefined) return undefined;
  const prefix = q.endsWith('*');
  const text = prefix ? q.slice(0, -1) : q;
  if (!text.trim() || [...text].length > MAX_SEARCH) throw badRequest('invalid_query', `q must be 1 to ${MAX_SEARCH} characters (a trailing * makes it a prefix)`);
  return { text, prefix };
}

/** A filter naming a team, channel or group that does not exist is a 400: an empty list would read as "nobody". */
async function resolved<T extends { id: string }>(what: string, ref: string | undefined, find: (ref: string) => Promise<T | undefined>, how: string): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  if (ref.length > MAX_REF) throw badRequest('invalid_query', `${what} must be at most ${MAX_REF} characters`);
  const found = await find(ref);
  if (!found) throw badRequest('invalid_query', `${what}=${ref.slice(0, 100)}: no ${what} has this ${how}`);
  return found.id;
}

/** One page of people, by userName, and the `after` of the next page (null on the last). */
export async function listPeople(db: Knex, p: PeopleParams): Promise<{ items: Person[]; next: string | null }> {
  const search = searchOf(p.q);
  const after = p.after !== undefined ? parseCursor(p.after) : undefined;
  const teamId = await resolved('team', p.team, (r) => findTeam(db, r), 'id or name');
  const channelId = await resolved('channel', p.channel, (r) => findChannel(db, r), 'id or team/name');
  const groupId = await resolved('group', p.group, (r) => findGroup(db, r), 'id or externalId (of a live group)');
  const rows = await listPeopleRows(db, { active: p.active, deleted: p.deleted, teamId, channelId, groupId, search, after, limit: p.limit });
  return { items: rows.map(personOut), next: rows.length === p.limit ? cursorOf(rows[rows.length - 1]!) : null };
}

const WAYS = ['id', 'externalId', 'userName'] as const;
type Way = (typeof WAYS)[number];

/** The ways a key names `r`, in the order they are tried. */
function waysOf(r: PersonRow, key: string): Way[] {
  const out: Way[] = [];
  if (r.id === key) out.push('id');
  if (r.external_id === key) out.push('externalId');
  if (r.user_name_fold === fold(key)) out.push('userName');
  return out;
}

/**
 * The one person `key` names: by id, externalId or userName, or, with a prefix (`id:`, `externalId:`, `userName:`),
 * only that way. Deleted people are found too (their history stays); a userName a live person holds names them,
 * not the deleted people who held it before. A key that names different people, in different ways or as a
 * userName several deleted people held, is refused with a 409 that lists how to name each of them.
 */
export async function resolvePerson(db: Knex, key: string): Promise<PersonRow> {
  if (!key || key.length > 1024) throw badRequest('invalid_path', 'the person must be named by an id, externalId or userName of 1 to 1024 characters');
  const m = /^(id|externalId|userName):(.+)$/s.exec(key);
  const only = m ? (m[1] as Way) : undefined;
  const value = m ? m[2]! : key;
  const rows = await peopleByKey(db, value, { id: !only || only === 'id', externalId: !only || only === 'externalId', userName: !only || only === 'userName' });
  const matched = rows.map((r) => ({ r, ways: waysOf(r, value).filter((w) => !only || w === only) })).filter((x) => x.ways.length);
  // A userName is unique among live people: when one holds it, the deleted people who held it before are not meant.
  const liveByName = matched.some((x) => x.ways.includes('userName') && x.r.deleted_at == null);
  const meant = matched.filter((x) => !(liveByName && x.r.deleted_at != null && x.ways.every((w) => w === 'userName')));
  if (meant.length === 1) return meant[0]!.r;
  if (!meant.length) throw AppError.workspace(404, 'not_found', `nobody has the ${only ?? 'id, externalId or userName'} "${value.slice(0, 100)}"`);
  const who = meant.map(({ r, ways }) => `id:${r.id} (${ways.join(' and ')}${r.deleted_at != null ? ', deleted' : ''}, userName ${JSON.stringify(r.user_name.slice(0, 60))})`);
  throw conflict('ambiguous', `"${key.slice(0, 100)}" names ${meant.length} people: ${who.join('; ')}. Name one with id:<id>, externalId:<externalId> or userName:<userName>`);
}

/** What `GET /users/<key>` and `cli user show` answer about one person. */
export interface PersonView {
  user: Person & { roles: string[]; entitlements: string[] };
  memberships: ReturnType<typeof membershipsOut> & { groups: ReturnType<typeof personGroupOut>[] };
  /** The last changes about them (their own and their memberships'), newest first. */
  audit: AuditRecord[];
}

export async function showPerson(db: Knex, key: string): Promise<PersonView> {
  const row = await resolvePerson(db, key);
  const [access, memberships, groups, audit] = await Promise.all([
    getUserAccess(db, row.id),
    userMemberships(db, row.id),
    groupMembershipsOf(db, row.id),
    listAudit(db, { resourceId: row.id, order: 'desc', limit: RECENT_CHANGES }),
  ]);
  const person = personOut(row);
  return {
    user: { ...person, roles: access?.roles ?? [], entitlements: access?.entitlements ?? [] },
    memberships: { ...membershipsOut(memberships, person.systemRole), groups: groups.map(personGroupOut) },
    audit,
  };
}
