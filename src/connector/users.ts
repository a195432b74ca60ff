/**
 * A person in Mattermost as the store has them: created (or, on first sight, bound to the account that already has
 * their auth_data or email: adoption), attributes patched, deactivated with `DELETE /users/{id}` (which revokes every
 * session and keeps messages and memberships), reactivated with `PUT /users/{id}/active`, and permanently deleted
 * only when purged with MATTERMOST_DELETE=permanent; its system role set as roles.ts says. Every step is safe to
 * repeat: a create whose answer was lost is found again by email, so a retry adopts it instead of making a second
 * account.
 * Rules: Mattermost API reference (create-user, patch-user, delete-user, update-user-active, update-user-auth);
 * server/public/model/user.go (UserPatch fields, username rules), server/channels/app/user.go (CreateUserAsAdmin).
 */
import { randomBytes } from 'node:crypto';
import type { UserProfile } from '@mattermost/types/users';
import { getUser, type UserRow } from '../store/users.js';
import { bind, getBinding, getBindingByMmId, setBoundName, unbind } from '../store/mattermost-bindings.js';
import { enqueueKeys } from '../store/outbox.js';
import { userMemberships } from '../store/workspace.js';
import { withSuffix } from '../scim/shared/username.js';
import { failureOf, MattermostFailure, type MmAnswer } from './mattermost-api.js';
import { Effect, type ConnectorCtx } from './context.js';
import { authDataOf } from './auth-data.js';
import { convergeRoles } from './roles.js';

/** Mattermost's usernames: `^[a-z0-9.\-_]+$`, 1 to 64 characters (model/user.go IsValidUsername); ours are already
 * cleaned by the same rules, so they are sent as they are and only a clash changes them. */
const USERNAME_TRIES = 20;

/** What of a person Mattermost holds, from our row (UserPatch fields; Mattermost stores email lower-cased). */
function wanted(row: UserRow) {
  return {
    username: row.username,
    email: (row.email ?? '').toLowerCase(),
    first_name: row.first_name ?? '',
    last_name: row.last_name ?? '',
    nickname: row.nickname ?? '',
    position: (row.position ?? '').slice(0, 128),
  };
}

/** Email accounts need a password (app.CreateUser checks one when auth_service is empty). People never learn it: they
 * set their own with "forgot password", or sign in by SSO. Mixed classes satisfy any PasswordSettings policy. */
function unusablePassword(): string {
  return `${randomBytes(24).toString('base64url')}aA1!`;
}

export async function convergeUser(ctx: ConnectorCtx, userId: string, hints: readonly string[] = []): Promise<Effect> {
  const effect = new Effect(ctx);
  const row = await getUser(ctx.db, userId, { includeDeleted: true });
  let binding = await getBinding(ctx.db, 'user', userId);

  if (!row) {
    // Purged from the store. Mattermost keeps the account deactivated unless permanent deletion was chosen.
    if (!binding) return effect;
    effect.mmId = binding.mmId;
    const permanent = ctx.cfg.deleteMode === 'permanent';
    const a = await effect.change(permanent ? 'deleted permanently' : 'deactivated (purged here)', () =>
      ctx.api.call('DELETE', `${ctx.api.client.getUserRoute(binding!.mmId)}${permanent ? '?permanent=true' : ''}`));
    if (a && a.status !== 404) ctx.api.expect(a, permanent ? 'permanent delete' : 'deactivate');
    if (permanent && !ctx.dryRun) await unbind(ctx.db, 'user', userId);
    return effect;
  }

  const live = !!row.active && row.deleted_at == null;
  let mm: UserProfile | null = null;
  if (binding) {
    const a = await ctx.api.call<UserProfile>('GET', ctx.api.client.getUserRoute(binding.mmId));
    if (a.status === 200) mm = a.data;
    else if (a.status === 404) {
      // Deleted in Mattermost by hand (permanently): ours is recreated below, as the store says the person exists.
      effect.changes.push('account was deleted in Mattermost; binding dropped');
      if (!ctx.dryRun) await unbind(ctx.db, 'user', userId);
      binding = undefined;
    } else ctx.api.expect(a, 'read user');
  }

  if (!mm) {
    // A live person is created straight away: Mattermost's unique email makes a create of someone it already has
    // fail with email_exists, and createUser then binds that account (adoption, or a create whose answer was lost),
    // so the lookup costs a request only when it finds something. A dry run and an inactive person look first.
    mm = ctx.dryRun || !live ? await findExisting(ctx, row) : null;
    if (mm) await adoptAccount(ctx, effect, row, mm);
    else if (!live) {
      // Never in Mattermost and not active here: nothing to create (an account cannot be created deactivated).
      return effect;
    } else {
      const created = await createUser(ctx, effect, row);
      if (!created) return effect; // dry run
      mm = created;
    }
  }
  effect.mmId = mm.id;

  await patchAttributes(ctx, effect, row, mm, hints);
  // The role before a reactivation: a guest account cannot be reactivated while guest accounts are off, and a person
  // who is no longer a guest here should come back as a member. Attributes go first, so that a role Mattermost
  // cannot give (a guest without the license) parks the delivery with the attributes already sent.
  const switched = live ? await convergeRoles(ctx, effect, mm, row.system_role ?? 'member') : null;
  let resend = switched !== null;
  const mmActive = !mm.delete_at;
  if (live && !mmActive) {
    const a = await effect.change('reactivated', () => ctx.api.call('PUT', `${ctx.api.client.getUserRoute(mm!.id)}/active`, { active: true }));
    if (a?.errorId === GUEST_REACTIVATION_REFUSED) {
      // api4/user.go updateUserActive answers 401 here, which would otherwise read as a token problem and be retried.
      throw new MattermostFailure('permanent', 'Mattermost cannot reactivate this guest while guest accounts are off (GuestAccountsSettings.Enable); turn them on or make the person a member, then retry the parked delivery', a.status, a.errorId);
    }
    if (a) ctx.api.expect(a, 'reactivate');
    // Memberships added while the person was away were not sent (Mattermost refuses inactive users): send them now.
    resend = true;
  } else if (!live && mmActive) {
    const a = await effect.change('deactivated', () => ctx.api.call('DELETE', ctx.api.client.getUserRoute(mm!.id)));
    if (a) ctx.api.expect(a, 'deactivate');
  }
  // After a reactivation, or a switch to or from guest (which rewrote the scheme flags of every membership there and
  // dropped team and channel admin), each membership is sent again to be put back as the store has it; after a
  // promotion, which joined the default channels of the person's teams there, the channel memberships that are
  // removed here too.
  if (resend && !ctx.dryRun) await requeueMemberships(ctx, userId, mmActive ? 'change_role' : 'reactivate_user', switched === 'promote');
  return effect;
}

const GUEST_REACTIVATION_REFUSED = 'api.user.update_active.cannot_enable_guest_when_guest_feature_is_disabled.app_error';

/** Bind ours to an account Mattermost already has, unless that account is another person's here. */
async function adoptAccount(ctx: ConnectorCtx, effect: Effect, row: UserRow, mm: UserProfile): Promise<void> {
  const other = await getBindingByMmId(ctx.db, 'user', mm.id);
  if (other && other.localId !== row.id) {
    throw new MattermostFailure('permanent', `the Mattermost account ${mm.username} holding ${row.email} is bound to another user here (${other.localId}); purge that user or change this email`);
  }
  effect.changes.push(`bound to existing account ${mm.username}`);
  if (!ctx.dryRun) await bind(ctx.db, { kind: 'user', localId: row.id, mmId: mm.id, how: 'adopted', mmName: mm.username });
}

/** The account this person already has in Mattermost: by email (admins may always look up by email; the address is
 * unique there), which also finds the account of a create whose answer was lost. */
async function findExisting(ctx: ConnectorCtx, row: UserRow): Promise<UserProfile | null> {
  if (!row.email) return null;
  const a = await ctx.api.call<UserProfile>('GET', `${ctx.api.client.getUsersRoute()}/email/${encodeURIComponent(row.email.toLowerCase())}`);
  if (a.status === 200) return a.data;
  if (a.status === 404 || a.status === 400) return null;
  throw failureOf(a, 'look up user by email');
}

async function createUser(ctx: ConnectorCtx, effect: Effect, row: UserRow): Promise<UserProfile | null> {
  const want = wanted(row);
  if (!want.email) throw new MattermostFailure('permanent', 'Mattermost needs an email address and this user has none');
  const auth = authDataOf(ctx.cfg, row);
  if (ctx.cfg.authService && !auth) throw new MattermostFailure('permanent', `MATTERMOST_AUTH_DATA=${ctx.cfg.authData} but this user has no ${ctx.cfg.authData}`);
  const body = {
    ...want,
    email_verified: true, // the IdP vouches for the address (an admin token keeps it: CreateUserAsAdmin)
    disable_welcome_email: true,
    ...(auth ? { auth_service: ctx.cfg.authService, auth_data: auth } : { password: unusablePassword() }),
  };
  const taken = new Set<string>();
  for (let n = 0; n < USERNAME_TRIES; n++) {
    const username = withSuffix(want.username, taken);
    if (ctx.dryRun) {
      effect.changes.push(`created as ${username}`);
      return null;
    }
    const a = await ctx.api.call<UserProfile>('POST', ctx.api.client.getUsersRoute(), { ...body, username });
    if (a.status === 201) {
      effect.changes.push(username === want.username ? `created as ${username}` : `created as ${username} (${want.username} is taken in Mattermost)`);
      await bind(ctx.db, { kind: 'user', localId: row.id, mmId: a.data.id, how: 'created', mmName: username });
      return a.data;
    }
    if (a.errorId?.includes('email_exists')) {
      // Created by an earlier attempt whose answer was lost, by another instance, by hand, or before we were
      // switched on: bind it.
      const found = await findExisting(ctx, row);
      if (found) {
        await adoptAccount(ctx, effect, row, found);
        return found;
      }
    }
    if (a.errorId?.includes('username_exists') || a.errorId === 'model.user.is_valid.username.app_error') {
      // A name Mattermost refuses or someone else holds: the next free one, as the store resolves its own clashes.
      taken.add(username);
      continue;
    }
    throw failureOf(a, 'create user');
  }
  throw new MattermostFailure('permanent', `no free username after ${USERNAME_TRIES} tries from ${want.username}`);
}

async function patchAttributes(ctx: ConnectorCtx, effect: Effect, row: UserRow, mm: UserProfile, hints: readonly string[]): Promise<void> {
  const want = wanted(row);
  const binding = await getBinding(ctx.db, 'user', row.id);
  // A username we had to suffix stays as it is while our username is unchanged.
  const suffixed = binding?.mmName && binding.mmName !== want.username && binding.mmName.startsWith(want.username.slice(0, 60)) && /\d+$/.test(binding.mmName);
  if (suffixed && mm.username === binding!.mmName) want.username = mm.username;
  const patch: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) if ((mm as any)[k] !== v && !(k === 'email' && !v)) patch[k] = v;
  // What the login provider owns Mattermost refuses to change (app/user.go CheckProviderAttributes, 409): the
  // username of any SSO user, first and last name of an OAuth user. Not asked, so not refused; SAML's own mapped
  // fields are found by their 409 below.
  if (mm.auth_service) delete patch.username;
  if (OAUTH.has(mm.auth_service)) {
    delete patch.first_name;
    delete patch.last_name;
  }
  if (!Object.keys(patch).length) return patchAuth(ctx, effect, row, mm, hints);
  const route = `${ctx.api.client.getUserRoute(mm.id)}/patch`;
  const a = await effect.change(`updated ${Object.keys(patch).join(', ')}`, () => ctx.api.call<UserProfile>('PUT', route, patch));
  if (a?.errorId === PROVIDER_OWNED) {
    // Field by field, leaving to the provider what it owns.
    effect.changes.pop();
    for (const [k, v] of Object.entries(patch)) {
      const b = await ctx.api.call<UserProfile>('PUT', route, { [k]: v });
      if (b.errorId === PROVIDER_OWNED) continue;
      if (b.status === 200) effect.changes.push(`updated ${k}`);
      await settlePatch(ctx, effect, row, route, { [k]: v }, b, want.username);
    }
  } else if (a) await settlePatch(ctx, effect, row, route, patch, a, want.username);
  return patchAuth(ctx, effect, row, mm, hints);
}

const PROVIDER_OWNED = 'api.user.patch_user.login_provider_attribute_set.app_error';
const OAUTH = new Set(['gitlab', 'google', 'office365', 'openid']);

/** The answer to a patch: done, or our new username is someone else's there (the next free one, rest kept). */
async function settlePatch(ctx: ConnectorCtx, effect: Effect, row: UserRow, route: string, patch: Record<string, string>, a: MmAnswer<UserProfile>, base: string): Promise<void> {
  if (a.status === 200) {
    if (patch.username) await setBoundName(ctx.db, 'user', row.id, patch.username);
    return;
  }
  if (!(a.errorId?.includes('username_exists') && patch.username)) {
    ctx.api.expect(a, 'patch user');
    return;
  }
  const taken = new Set([patch.username]);
  for (let n = 0; n < USERNAME_TRIES; n++) {
    const username = withSuffix(base, taken);
    const b = await ctx.api.call<UserProfile>('PUT', route, { ...patch, username });
    if (b.status === 200) {
      effect.changes.push(`username ${username} (${base} is taken in Mattermost)`);
      await setBoundName(ctx.db, 'user', row.id, username);
      return;
    }
    if (!b.errorId?.includes('username_exists')) ctx.api.expect(b, 'patch user');
    taken.add(username);
  }
  throw new MattermostFailure('permanent', `no free username after ${USERNAME_TRIES} tries from ${base}`);
}

async function patchAuth(ctx: ConnectorCtx, effect: Effect, row: UserRow, mm: UserProfile, hints: readonly string[]): Promise<void> {
  // auth_data is never returned (Sanitize blanks it), so it is sent when the service differs or the attribute it comes
  // from changed (a rebind): PUT /users/{id}/auth, which an admin token may call (IsSystemAdmin check).
  const auth = authDataOf(ctx.cfg, row);
  // bind_user: an imported person got the externalId an IdP sent (user-lifecycle.ts createUser).
  const rebound = hints.includes('rebind_user') || hints.includes('bind_user') || (ctx.cfg.authData !== 'externalId' && hints.includes('update_user'));
  if (auth && (mm.auth_service !== ctx.cfg.authService || rebound)) {
    const a = await effect.change(`sign-in set to ${ctx.cfg.authService}`, () =>
      ctx.api.call('PUT', `${ctx.api.client.getUserRoute(mm.id)}/auth`, { auth_service: ctx.cfg.authService, auth_data: auth }));
    if (a) ctx.api.expect(a, 'update user auth');
  }
}

/** Queue every live membership of a person again (their team memberships sort before their channel ones), and with
 * `removedChannels` their removed channel memberships too (a removal Mattermost already has costs one 404). */
async function requeueMemberships(ctx: ConnectorCtx, userId: string, operation: 'reactivate_user' | 'change_role', removedChannels = false): Promise<void> {
  const m = await userMemberships(ctx.db, userId);
  const keys = [
    ...m.teams.filter((t) => t.removed_at == null).map((t) => ({ kind: 'team_member' as const, teamId: t.team_id, userId })),
    ...m.channels.filter((c) => (c.removed_at == null || removedChannels) && c.channel_archived_at == null)
      .map((c) => ({ kind: 'channel_member' as const, channelId: c.channel_id, userId })),
  ];
  if (keys.length) await enqueueKeys(ctx.db, 'mattermost', keys, operation);
}
