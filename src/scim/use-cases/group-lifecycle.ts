/**
 * Group use-cases: create (or bring back a deleted group by externalId), replace, patch, delete. Each runs in one
 * transaction: group rows, member rows, the sync of teams and channels, and the audit rows commit together.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  addMembers, bumpGroup, clearMembers, getGroup, getGroupByExternalId, insertGroup, liveUserIds, removeMembers, replaceMembers, updateGroup,
  type GroupRow,
} from '../../store/groups.js';
import { writeAudit, writeAuditMany } from '../../store/audit.js';
import { lockUsers } from '../../store/users.js';
import { actorOf, type ScimContext } from './context.js';
import { scimError } from '../shared/errors.js';
import type { GroupChange } from '../patch/group-patch.js';
import { displayNameProblem, externalIdProblem } from '../shared/group-values.js';
import { isResourceId } from '../shared/resource-id.js';
import { checkIfMatch } from '../shared/versions.js';
import { Conflict, withRetry } from './transaction.js';

type Json = Record<string, any>;
const audit = (ctx: ScimContext) => ({ actor: actorOf(ctx.principal), requestId: ctx.requestId });

export interface GroupInput { displayName: string; externalId: string | null; members: string[] | undefined }

/** Validate a POST/PUT body by hand: SCIMMY's coercion would wrap every member in proxies (O(N) and slow). */
export function groupFromScim(body: unknown): GroupInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw scimError(400, 'invalidSyntax', 'request body must be a Group object');
  const b = body as Json;
  const get = (k: string) => b[Object.keys(b).find((x) => x.toLowerCase() === k.toLowerCase()) ?? k];
  const schemas = get('schemas');
  if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.includes('urn:ietf:params:scim:schemas:core:2.0:Group'))) {
    throw scimError(400, 'invalidSyntax', 'schemas must include urn:ietf:params:scim:schemas:core:2.0:Group');
  }
  const displayName = get('displayName');
  const badName = displayNameProblem(displayName);
  if (badName) throw scimError(400, 'invalidValue', badName);
  const externalId = get('externalId');
  const badId = externalId != null ? externalIdProblem(externalId) : undefined;
  if (badId) throw scimError(400, 'invalidValue', badId);
  const members = get('members');
  let ids: string[] | undefined;
  if (members != null) {
    if (!Array.isArray(members)) throw scimError(400, 'invalidValue', 'members must be a list');
    ids = members.map((m) => (typeof m === 'string' ? m : m?.value));
    if (ids.some((v) => typeof v !== 'string' || !v)) throw scimError(400, 'invalidValue', 'every member needs a string value (a user id)');
  }
  return { displayName, externalId: externalId || null, members: ids };
}

/** Unknown user ids are a 400 and nothing of the request is applied (the transaction rolls back). */
function assertWellFormed(ids: string[]): void {
  const malformed = ids.find((id) => !isResourceId(id));
  if (malformed !== undefined) throw scimError(400, 'invalidValue', `member "${malformed.slice(0, 64)}" is not a known user`);
}

function assertKnown(unknown: string[]): void {
  if (unknown.length) throw scimError(400, 'invalidValue', `member "${unknown[0]}" is not a known user`);
}

async function assertUsers(tx: Knex.Transaction, ids: string[]): Promise<void> {
  assertWellFormed(ids);
  const live = await liveUserIds(tx, ids);
  assertKnown(ids.filter((id) => !live.has(id)));
}

/**
 * Net effect of member changes within one request: a member removed and added back in the same PATCH (Okta's
 * remove-then-add) is no change at all, so sync never tombstones them on the way.
 */
class MemberDelta {
  readonly added = new Set<string>();
  readonly removed = new Set<string>();
  add(ids: string[]) { for (const id of ids) this.removed.has(id) ? this.removed.delete(id) : this.added.add(id); }
  remove(ids: string[]) { for (const id of ids) this.added.has(id) ? this.added.delete(id) : this.removed.add(id); }
  get size() { return this.added.size + this.removed.size; }
}

/**
 * The store locks the users each change touches before it changes their rows (store/groups.ts), and liveness of the
 * people added is read from those locked rows: an add that waited for a user delete is refused, a delete that waited
 * for an add removes that membership too, and the sync below sees every committed change of the same person.
 */
async function applyMemberChange(tx: Knex.Transaction, groupId: string, c: GroupChange, delta: MemberDelta, now: number): Promise<void> {
  switch (c.kind) {
    case 'addMembers': {
      assertWellFormed(c.ids);
      const r = await addMembers(tx, groupId, c.ids, now);
      assertKnown(r.unknown);
      delta.add(r.added);
      return;
    }
    case 'removeMembers':
      delta.remove(await removeMembers(tx, groupId, c.ids));
      return;
    case 'clearMembers':
      delta.remove(await clearMembers(tx, groupId));
      return;
    case 'replaceMembers': {
      await assertUsers(tx, c.ids);
      const r = await replaceMembers(tx, groupId, c.ids, now);
      assertKnown(r.unknown);
      delta.remove(r.removed);
      delta.add(r.added);
      return;
    }
    default:
      return;
  }
}

/** Audit rows for each member added or removed, then the team/channel sync for exactly those people. */
async function commitDelta(tx: Knex.Transaction, ctx: ScimContext, groupId: string, delta: MemberDelta): Promise<void> {
  if (!delta.size) return;
  const a = audit(ctx);
  const rows = [
    ...[...delta.added].map((userId) => ({ ...a, operation: 'add_group_member' as const, resourceType: 'Group' as const, resourceId: groupId, after: { userId } })),
    ...[...delta.removed].map((userId) => ({ ...a, operation: 'remove_group_member' as const, resourceType: 'Group' as const, resourceId: groupId, before: { userId } })),
  ];
  await writeAuditMany(tx, rows);
  if (delta.removed.size) await ctx.sync.membersRemoved(tx, groupId, [...delta.removed], a);
  if (delta.added.size) await ctx.sync.membersAdded(tx, groupId, [...delta.added], a);
}

export async function createGroup(ctx: ScimContext, input: GroupInput): Promise<GroupRow> {
  return withRetry(ctx, async (tx) => {
    const now = Date.now();
    const a = audit(ctx);
    let row: GroupRow;
    const bound = input.externalId ? await getGroupByExternalId(tx, input.externalId) : undefined;
    if (bound && bound.deleted_at == null) throw scimError(409, 'uniqueness', 'externalId is already bound to another group');
    if (bound) {
      // The IdP re-creates a group it deleted: same group, links kept (Mattermost restores GroupTeams/GroupChannels).
      const patch = { display_name: input.displayName, deleted_at: null, updated_at: now };
      if (!(await updateGroup(tx, bound.id, bound.version, patch))) throw new Conflict();
      row = { ...bound, ...patch, version: bound.version + 1 };
      await writeAudit(tx, { ...a, operation: 'restore_group', resourceType: 'Group', resourceId: row.id, after: { displayName: row.display_name, externalId: row.external_id } });
    } else {
      row = { id: randomUUID(), external_id: input.externalId, display_name: input.displayName, created_at: now, updated_at: now, deleted_at: null, version: 1 };
      await insertGroup(tx, row);
      await writeAudit(tx, { ...a, operation: 'create_group', resourceType: 'Group', resourceId: row.id, after: { displayName: row.display_name, externalId: row.external_id } });
    }
    await ctx.applyGroupRules(tx, { id: row.id, externalId: row.external_id, displayName: row.display_name }, a);
    if (input.members?.length) {
      const delta = new MemberDelta();
      await applyMemberChange(tx, row.id, { kind: 'replaceMembers', ids: input.members }, delta, now);
      await commitDelta(tx, ctx, row.id, delta);
    }
    return row;
  });
}

/** Apply attribute and member changes to one group at the version the client saw. */
export async function changeGroup(ctx: ScimContext, id: string, changes: GroupChange[]): Promise<GroupRow> {
  return withRetry(ctx, async (tx) => {
    const now = Date.now();
    const a = audit(ctx);
    // Adding and removing named members commute, so concurrent PATCHes of one group (Entra sends one per member) need
    // not queue on the group row for their whole transaction: they take its lock last, for the version bump. Anything
    // that rewrites state (rename, replace, clear) locks the row first and runs alone. The weak key-share lock of the
    // commutative ones only orders them after such a writer, before they lock their users (store/groups.ts getGroup).
    const commutative = changes.every((c) => c.kind === 'addMembers' || c.kind === 'removeMembers');
    const row = await getGroup(tx, id, commutative ? { forKeyShare: true } : { forUpdate: true });
    if (!row) throw scimError(404, null, `Group ${id} not found`);
    checkIfMatch(ctx.ifMatch, row.version);
    // Each member change locks its people as it runs; several in one PATCH would lock them out of the global order
    // (ops `add B`, `remove A` against another PATCH's `add A`, `remove B`: a deadlock), so the named ones go first.
    const named = changes.flatMap((c) => (c.kind === 'addMembers' || c.kind === 'removeMembers' ? c.ids : []));
    if (named.length && changes.filter((c) => c.kind !== 'displayName' && c.kind !== 'externalId').length > 1) await lockUsers(tx, named);
    const delta = new MemberDelta();
    const patch: Partial<GroupRow> = {};
    for (const c of changes) {
      if (c.kind === 'displayName') patch.display_name = c.value;
      else if (c.kind === 'externalId') patch.external_id = c.value;
      else await applyMemberChange(tx, id, c, delta, now);
    }
    const renamed = patch.display_name !== undefined && patch.display_name !== row.display_name;
    const rebound = patch.external_id !== undefined && patch.external_id !== row.external_id;
    if (!renamed && !rebound && !delta.size) return row;
    if (commutative) {
      await commitDelta(tx, ctx, id, delta);
      const conditional = ctx.ifMatch !== undefined && !ctx.ifMatch.split(',').some((t) => t.trim() === '*');
      const bumped = await bumpGroup(tx, id, { updated_at: now }, conditional ? row.version : undefined);
      if (bumped) return bumped;
      if (!(await getGroup(tx, id))) throw scimError(404, null, `Group ${id} not found`);
      throw scimError(412, null, 'the group changed since the If-Match version');
    }
    if (!(await updateGroup(tx, id, row.version, { ...patch, updated_at: now }))) throw new Conflict();
    const next: GroupRow = { ...row, ...patch, updated_at: now, version: row.version + 1 };
    if (renamed) await writeAudit(tx, { ...a, operation: 'rename_group', resourceType: 'Group', resourceId: id, before: { displayName: row.display_name }, after: { displayName: next.display_name } });
    if (rebound) await writeAudit(tx, { ...a, operation: 'rebind_group', resourceType: 'Group', resourceId: id, before: { externalId: row.external_id }, after: { externalId: next.external_id } });
    if (renamed || rebound) await ctx.applyGroupRules(tx, { id, externalId: next.external_id, displayName: next.display_name }, a);
    await commitDelta(tx, ctx, id, delta);
    return next;
  });
}

/**
 * PUT: full replacement of displayName and members. An omitted externalId keeps the binding, and omitted `members`
 * keeps the members (a PUT built from a GET with excludedAttributes=members must not empty the group); `members: []`
 * empties it.
 */
export async function replaceGroup(ctx: ScimContext, id: string, input: GroupInput): Promise<GroupRow> {
  const changes: GroupChange[] = [{ kind: 'displayName', value: input.displayName }];
  if (input.externalId) changes.push({ kind: 'externalId', value: input.externalId });
  if (input.members) changes.push(input.members.length ? { kind: 'replaceMembers', ids: input.members } : { kind: 'clearMembers' });
  return changeGroup(ctx, id, changes);
}

/** SCIM DELETE: the group disappears from SCIM and its members lose what it granted; its links are kept for a restore. */
export async function deleteGroup(ctx: ScimContext, id: string): Promise<void> {
  await withRetry(ctx, async (tx) => {
    const now = Date.now();
    const row = await getGroup(tx, id, { forUpdate: true });
    if (!row) throw scimError(404, null, `Group ${id} not found`);
    checkIfMatch(ctx.ifMatch, row.version);
    if (!(await updateGroup(tx, id, row.version, { deleted_at: now, updated_at: now }))) throw new Conflict();
    const former = await clearMembers(tx, id);
    await writeAudit(tx, { ...audit(ctx), operation: 'delete_group', resourceType: 'Group', resourceId: id, before: { displayName: row.display_name, externalId: row.external_id, members: former.length } });
    await ctx.sync.groupDeleted(tx, id, former, audit(ctx));
  });
}
