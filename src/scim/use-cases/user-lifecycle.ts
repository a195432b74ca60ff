/**
 * User use-cases: create (or bring back a deleted person by externalId), replace, delete, and the lifecycle they
 * imply: deactivation revokes sessions, deletion leaves the groups. Each runs in one transaction with its audit rows.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Knex } from 'knex';
import {
  findByExternalIdOrPendingEmail, getUser, getUserWithValues, getUserWithValuesAndGroups, replaceValues, revokeSessions, updateUser, userUpdate,
  lockUsernameBase, newUserInserts, usernamesLike, type ValueRow,
  type UserRow,
} from '../../store/users.js';
import { lockGroupsOfMember } from '../../store/groups.js';
import { updateWithAudit, writeAudit, writeWithAudit } from '../../store/audit.js';
import { fold } from '../../store/fold.js';
import { actorOf, type ScimContext } from './context.js';
import { scimError } from '../shared/errors.js';
import { cleanUsername, withSuffix } from '../shared/username.js';
import { userFromScim, userToScim, type UserInput } from '../shared/user-representation.js';
import { checkIfMatch } from '../shared/versions.js';
import { Conflict, withRetry } from './transaction.js';
import { decideSystemRole, reportUnmapped } from '../../workspace/roles.js';
import { convergeEntitlements, entitlementValues } from '../../sync/entitlements.js';
import type { SystemRole } from '../../config/roles.js';

type Json = Record<string, any>;

/** A user in its SCIM form, and the version that form is of (its ETag, RFC 7644 §3.14). */
export interface Versioned { scim: Json; version: number }

/** A PATCH's operations were applied to a version that is no longer current: re-read and re-apply, or 412 (a retry signal, never rendered). */
export class StaleRead extends Error {}

const audit = (ctx: ScimContext) => ({ actor: actorOf(ctx.principal), requestId: ctx.requestId });

/** What the audit log keeps of a user: its SCIM form without meta noise. */
function snapshot(row: UserRow, vals: ValueRow[], base: string): Json {
  const { meta, ...rest } = userToScim(row, vals, base);
  return rest;
}

/**
 * The enterprise manager is a reference kept as given, never checked against the users table (no foreign key either,
 * migrations/20261122_001_core.ts): a manager deleted first, or one the IdP links before (or without) provisioning,
 * must never make a write of the report fail, or a person could no longer be deactivated. Kept rather than dropped
 * because a SCIM DELETE keeps the row and its id (a POST with the same externalId restores it), so the reference heals,
 * and because an IdP that finds its value missing on the next read would re-send it on every cycle. Only a hard purge
 * (CLI) clears references to the purged id (store/users.ts purgeUser). Self-management is the one refusal: it is
 * never data an IdP holds.
 */
function assertManager(managerId: string | null, selfId: string | null): void {
  if (managerId && managerId === selfId) throw scimError(400, 'invalidValue', 'a user cannot be their own manager');
}

/**
 * Pick a free workspace username for userName (Mattermost CleanUsername plus a numeric suffix). On PostgreSQL,
 * writers choosing from the same base take turns (a transaction-scoped advisory lock on `usernameBase`, taken by the
 * caller when `locked`): otherwise every concurrent writer sees the same free suffix, all but one hit the unique index,
 * and a burst of ten outruns the retries. SQLite has a single connection, so its transactions already take turns.
 */
async function chooseUsername(db: Knex, userName: string, attempt: number, opts: { locked?: boolean } = {}): Promise<string> {
  if (!opts.locked) await lockUsernameBase(db, usernameBase(userName));
  return withSuffix(cleanUsername(userName), await usernamesLike(db, usernameBase(userName)), attempt);
}

/** What the username lock and the taken-username search key on. */
const usernameBase = (userName: string): string => cleanUsername(userName).slice(0, 60);

/** Deactivation and reactivation side effects (Mattermost UpdateActive): sessions end, memberships stay. */
async function applyActiveChange(tx: Knex.Transaction, ctx: ScimContext, row: UserRow, active: boolean, now: number): Promise<void> {
  const was = row.active === true || row.active === 1;
  if (was === active) return;
  if (!active) {
    const revoked = await revokeSessions(tx, row.id, now);
    await writeAudit(tx, { ...audit(ctx), operation: 'deactivate_user', resourceType: 'User', resourceId: row.id, after: { sessionsRevoked: revoked } });
  } else {
    await writeAudit(tx, { ...audit(ctx), operation: 'reactivate_user', resourceType: 'User', resourceId: row.id });
    await ctx.sync.userReactivated(tx, row.id, audit(ctx));
  }
}

/** The system role a write's `roles` give (src/workspace/roles.ts); values the mapping does not know are logged once. */
function roleOf(ctx: ScimContext, values: readonly ValueRow[]): SystemRole {
  const { role, unmapped } = decideSystemRole(values.filter((v) => v.attr === 'roles'), ctx.config.roleMapping);
  if (unmapped.length) reportUnmapped(ctx.log, unmapped, ctx.requestId);
  return role;
}

const roleValues = (values: readonly ValueRow[]) => values.filter((v) => v.attr === 'roles').map((v) => v.value);

/**
 * A change of system role, audited with the role values that decided it; the sync then applies what the role means
 * for memberships (a guest keeps them but is no team or channel admin; a promoted guest gets what links give
 * members), as Mattermost's DemoteUserToGuest / PromoteGuestToUser do (app/user.go). Mattermost itself follows
 * through the outbox.
 */
async function applyRoleChange(tx: Knex.Transaction, ctx: ScimContext, id: string, before: SystemRole | null, after: SystemRole, values: readonly ValueRow[]): Promise<void> {
  if ((before ?? 'member') === after) return;
  await writeAudit(tx, { ...audit(ctx), operation: 'change_role', resourceType: 'User', resourceId: id, before: before ? { systemRole: before } : null, after: { systemRole: after, roles: roleValues(values) } });
  // A person created just now has no memberships for the role to change.
  if (before) await ctx.sync.userRoleChanged(tx, id, before, after, audit(ctx));
}

/**
 * Entitlements granted or taken away by this write become team and channel memberships (src/sync/entitlements.ts).
 * Only when the entitlements changed, or the person came back (`force`): every other write costs nothing here.
 */
async function applyEntitlements(tx: Knex.Transaction, ctx: ScimContext, id: string, before: readonly ValueRow[], after: readonly ValueRow[], force: boolean): Promise<void> {
  const was = entitlementValues(before);
  const now = entitlementValues(after);
  if (!force && isDeepStrictEqual(was, now)) return;
  if (!was.length && !now.length) return;
  await convergeEntitlements(tx, { userId: id, before: was, after: now, mapping: ctx.config.roleMapping, log: ctx.log }, audit(ctx));
}

const currentRole = (row: UserRow): SystemRole => row.system_role ?? 'member';

export async function createUser(ctx: ScimContext, body: Json): Promise<Versioned> {
  const input = userFromScim(body);
  const base = ctx.config.publicUrl;
  return withRetry(ctx, async (tx, attempt) => {
    const now = Date.now();
    // The username lock comes first, and with the externalId read when there is one (one round trip on PostgreSQL).
    const lockBase = usernameBase(input.fields.user_name);
    if (!input.fields.external_id) await lockUsernameBase(tx, lockBase);
    else {
      const { bound, pending } = await findByExternalIdOrPendingEmail(tx, input.fields.external_id, input.fields.email, { lockUsernameBase: lockBase });
      if (bound && bound.deleted_at == null) throw scimError(409, 'uniqueness', 'externalId is already bound to another user');
      if (bound) return restoreUser(tx, ctx, bound, input, now);
      // A person adopted from a Mattermost import file is waiting for exactly this: the IdP's identity for them.
      if (pending) return bindUser(tx, ctx, pending, input, now);
    }
    assertManager(input.managerId, null);
    const row: UserRow = {
      ...input.fields,
      system_role: roleOf(ctx, input.values),
      id: randomUUID(),
      username: await chooseUsername(tx, input.fields.user_name, attempt, { locked: true }),
      deactivated_at: input.fields.active ? null : now,
      deleted_at: null,
      created_at: now,
      updated_at: now,
      version: 1,
    };
    const out = userToScim(row, input.values, base);
    await writeWithAudit(tx, newUserInserts(tx, row, input.values),
      { ...audit(ctx), operation: 'create_user', resourceType: 'User', resourceId: row.id, after: { ...out, meta: undefined, username: row.username, systemRole: row.system_role } });
    await applyRoleChange(tx, ctx, row.id, null, row.system_role!, input.values);
    await applyEntitlements(tx, ctx, row.id, [], input.values, false);
    return { scim: out, version: row.version };
  });
}

/** A POST whose externalId belongs to a deleted person brings that person back, history intact. */
async function restoreUser(tx: Knex.Transaction, ctx: ScimContext, bound: UserRow, input: UserInput, now: number): Promise<Versioned> {
  assertManager(input.managerId, bound.id);
  const before = (await getUserWithValues(tx, bound.id))?.values ?? [];
  const patch: Partial<UserRow> = {
    ...input.fields,
    system_role: roleOf(ctx, input.values),
    username: bound.username,
    deleted_at: null,
    deactivated_at: input.fields.active ? null : (bound.deactivated_at ?? now),
    updated_at: now,
  };
  if (!(await updateUser(tx, bound.id, bound.version, patch))) throw new Conflict();
  await replaceValues(tx, bound.id, input.values);
  const row = { ...bound, ...patch, version: bound.version + 1 } as UserRow;
  const out = userToScim(row, input.values, ctx.config.publicUrl);
  await writeAudit(tx, { ...audit(ctx), operation: 'restore_user', resourceType: 'User', resourceId: row.id, after: { ...out, meta: undefined, systemRole: row.system_role } });
  await applyRoleChange(tx, ctx, row.id, currentRole(bound), row.system_role!, input.values);
  // The person is back: what their entitlements grant applies again, as for a reactivation.
  await applyEntitlements(tx, ctx, row.id, before, input.values, true);
  return { scim: out, version: row.version };
}

/**
 * A POST with an unknown externalId whose primary email is an imported person's who is not yet bound to an IdP
 * identity (`cli import mattermost`): that person becomes the IdP's, with its externalId and attributes, keeping the
 * workspace username their Mattermost account already has. Without this the POST would be a 409 (the email is taken)
 * and the IdP could never take the person over.
 */
async function bindUser(tx: Knex.Transaction, ctx: ScimContext, pending: UserRow, input: UserInput, now: number): Promise<Versioned> {
  assertManager(input.managerId, pending.id);
  const vals = (await getUserWithValues(tx, pending.id))?.values ?? [];
  const before = snapshot(pending, vals, ctx.config.publicUrl);
  const patch: Partial<UserRow> = {
    ...input.fields,
    system_role: roleOf(ctx, input.values),
    username: pending.username,
    pending_binding_since: null,
    deactivated_at: input.fields.active ? null : (pending.deactivated_at ?? now),
    updated_at: now,
  };
  if (!(await updateUser(tx, pending.id, pending.version, patch))) throw new Conflict();
  await replaceValues(tx, pending.id, input.values);
  const row = { ...pending, ...patch, version: pending.version + 1 } as UserRow;
  const out = userToScim(row, input.values, ctx.config.publicUrl);
  await writeAudit(tx, { ...audit(ctx), operation: 'bind_user', resourceType: 'User', resourceId: row.id, before, after: { ...out, meta: undefined, username: row.username, systemRole: row.system_role } });
  await applyActiveChange(tx, ctx, pending, input.fields.active === true, now);
  await applyRoleChange(tx, ctx, row.id, currentRole(pending), row.system_role!, input.values);
  await applyEntitlements(tx, ctx, row.id, vals, input.values, false);
  return { scim: out, version: row.version };
}

export interface ReplaceOptions {
  /** PATCH applies its operations to the version it read; PUT to whatever is current. */
  expectedVersion?: number;
  /** PATCH may not drop the binding key; PUT that omits it keeps it. */
  mode: 'put' | 'patch';
}

export async function replaceUser(ctx: ScimContext, id: string, body: Json, opts: ReplaceOptions): Promise<Versioned> {
  const input = userFromScim(body);
  return withRetry(ctx, async (tx, attempt) => {
    const now = Date.now();
    const found = await getUserWithValues(tx, id);
    if (!found) throw scimError(404, null, `User ${id} not found`);
    const { row, values: vals } = found;
    checkIfMatch(ctx.ifMatch, opts.expectedVersion ?? row.version);
    if (opts.expectedVersion !== undefined && opts.expectedVersion !== row.version) throw new StaleRead();
    const before = snapshot(row, vals, ctx.config.publicUrl);

    const fields = { ...input.fields };
    if (fields.external_id === null && row.external_id !== null) {
      // The binding key is never dropped by omission (Okta PUTs echo our GET; a PATCH must rebind, not unbind).
      if (opts.mode === 'patch') throw scimError(400, 'mutability', 'externalId cannot be removed; replace it with the new binding');
      fields.external_id = row.external_id;
    }
    if (!('active' in body)) fields.active = row.active === true || row.active === 1;
    assertManager(input.managerId, id);

    const userNameChanged = fold(fields.user_name) !== fold(row.user_name);
    const active = fields.active === true;
    const patch: Partial<UserRow> = {
      ...fields,
      system_role: roleOf(ctx, input.values),
      username: userNameChanged ? await chooseUsername(tx, fields.user_name, attempt) : row.username,
      deactivated_at: active ? null : (row.deactivated_at ?? now),
      updated_at: now,
      // An imported person is bound once an IdP sets their externalId (cli import mattermost).
      ...(row.pending_binding_since != null && fields.external_id ? { pending_binding_since: null } : {}),
    };
    const next = { ...row, ...patch, version: row.version + 1 } as UserRow;
    const out = userToScim(next, input.values, ctx.config.publicUrl);
    const { meta, ...after } = out;
    const operation = fields.external_id !== row.external_id ? 'rebind_user' : 'update_user';
    const updated = await updateWithAudit(tx, userUpdate(tx, id, row.version, patch),
      { ...audit(ctx), operation, resourceType: 'User', resourceId: id, before, after: { ...after, username: next.username } });
    if (updated !== 1) throw opts.expectedVersion !== undefined ? new StaleRead() : new Conflict();
    // Most PUTs and PATCHes change a scalar (a title, active): the stored values are then left as they are.
    if (!sameValues(vals, input.values)) await replaceValues(tx, id, input.values);
    await applyActiveChange(tx, ctx, row, active, now);
    await applyRoleChange(tx, ctx, id, currentRole(row), next.system_role!, input.values);
    const reactivated = active && !(row.active === true || row.active === 1);
    await applyEntitlements(tx, ctx, id, vals, input.values, reactivated);
    return { scim: out, version: next.version };
  });
}

/** Whether two lists of multi-valued attribute rows hold the same values in the same order. */
function sameValues(stored: ValueRow[], wanted: ValueRow[]): boolean {
  const key = (v: ValueRow) => [v.attr, v.position, v.value, v.type, v.display, v.primary === true || v.primary === 1];
  return stored.length === wanted.length && stored.every((v, i) => isDeepStrictEqual(key(v), key(wanted[i]!)));
}

/** SCIM DELETE: 404 from now on, but the record, its history and its posts stay (a hard purge is CLI-only). */
export async function deleteUser(ctx: ScimContext, id: string): Promise<void> {
  await withRetry(ctx, async (tx) => {
    const now = Date.now();
    const row = await getUser(tx, id);
    if (!row) throw scimError(404, null, `User ${id} not found`);
    checkIfMatch(ctx.ifMatch, row.version);
    const patch: Partial<UserRow> = { deleted_at: now, active: false, deactivated_at: row.deactivated_at ?? now, updated_at: now };
    await lockGroupsOfMember(tx, id); // the groups the person leaves below, before the person (store/groups.ts)
    if (!(await updateUser(tx, id, row.version, patch))) throw new Conflict();
    const revoked = await revokeSessions(tx, id, now);
    await writeAudit(tx, { ...audit(ctx), operation: 'delete_user', resourceType: 'User', resourceId: id, before: { userName: row.user_name, externalId: row.external_id }, after: { sessionsRevoked: revoked } });
    await ctx.sync.userDeleted(tx, id, audit(ctx));
  });
}

/** GET /Users/{id}: the user with their groups (readOnly `groups`, RFC 7643 §4.1.2). */
export async function readUser(ctx: ScimContext, id: string): Promise<Versioned> {
  const found = await getUserWithValuesAndGroups(ctx.db, id);
  if (!found) throw scimError(404, null, `User ${id} not found`);
  const { row, values, groups } = found;
  return { scim: userToScim(row, values, ctx.config.publicUrl, groups), version: row.version };
}
