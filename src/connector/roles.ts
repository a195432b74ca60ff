/**
 * A person's system role in Mattermost as the store has it (users.system_role): member is `system_user`, admin
 * `system_user system_admin` (Mattermost refuses a lone `system_admin`: model/user.go IsValidUserRoles), guest
 * `system_guest`. Becoming or ceasing to be a guest is not a roles edit: `POST /users/{id}/demote` and `/promote`
 * (api4/user.go demoteUserToGuest, promoteGuestToUser) also turn every team and channel membership of the account
 * into a guest's or a member's (sqlstore/user_store.go DemoteUserToGuest, PromoteGuestToUser), which a bare
 * `PUT /users/{id}/roles` would not. Admin on or off is `PUT /users/{id}/roles` (app/user.go UpdateUserRoles).
 *
 * The account's current roles are read first (the user effect has just read the account), so a replayed delivery
 * sends nothing.
 *
 * Roles that are not one of those three (`system_user_access_token`, `system_post_all`, the delegated admin roles such
 * as `system_user_manager`) are a Mattermost admin's grants, not the IdP's, and are kept: Mattermost's own promote and
 * demote keep them too (they rewrite only system_user, system_guest and system_admin), so a role change from here
 * never takes away what an admin gave in Mattermost.
 */
import type { UserProfile } from '@mattermost/types/users';
import type { SystemRole } from '../config/roles.js';
import type { ConnectorCtx, Effect } from './context.js';
import { failureOf, MattermostFailure, type MmAnswer } from './mattermost-api.js';

const MANAGED = new Set(['system_user', 'system_admin', 'system_guest']);

export const rolesOf = (roles: string | null | undefined): string[] => (roles ?? '').split(/\s+/).filter(Boolean);
const has = (roles: string, role: string) => rolesOf(roles).includes(role);

/** The roles the account should hold for `role`: ours first, then every role of the account we do not manage. */
export function wantedRoles(role: SystemRole, current: string): string {
  const ours = role === 'admin' ? ['system_user', 'system_admin'] : role === 'guest' ? ['system_guest'] : ['system_user'];
  const kept = rolesOf(current).filter((r) => !MANAGED.has(r));
  return [...new Set([...ours, ...kept])].join(' ');
}

export function sameRoles(a: string, b: string): boolean {
  const x = new Set(rolesOf(a));
  const y = new Set(rolesOf(b));
  return x.size === y.size && [...x].every((r) => y.has(r));
}

/** What promote leaves (sqlstore PromoteGuestToUser: system_guest becomes system_user, the rest kept). */
const promoted = (roles: string) => rolesOf(roles).map((r) => (r === 'system_guest' ? 'system_user' : r)).join(' ');
/** What demote leaves (sqlstore DemoteUserToGuest: system_user becomes system_guest, system_admin dropped). */
const demoted = (roles: string) => rolesOf(roles).flatMap((r) => (r === 'system_user' ? ['system_guest'] : r === 'system_admin' ? [] : [r])).join(' ');

/** Why Mattermost cannot switch an account to or from guest, in words an admin can act on; null: not one of those. */
function guestRefusal(a: MmAnswer<unknown>, action: 'demote' | 'promote'): string | null {
  switch (a.errorId) {
    case 'api.team.demote_user_to_guest.license.error':
      return 'Mattermost cannot make this person a guest: guest accounts need a Mattermost license (this server has none); retry the parked delivery once it is licensed';
    case 'api.team.demote_user_to_guest.disabled.error':
      return 'Mattermost cannot make this person a guest: guest accounts are off (System Console > Guest Access, GuestAccountsSettings.Enable); retry the parked delivery once they are on';
    case 'api.team.invite_guests_to_channels.disabled.error':
      return 'Mattermost cannot make this person a guest: its license does not include guest accounts';
  }
  if (a.status === 403) {
    return `Mattermost refused to ${action} this person (403 ${a.errorId ?? ''}): the token's owner needs the ${action === 'demote' ? 'demote_to_guest' : 'promote_guest'} permission (a system admin has it)`;
  }
  return null;
}

/** The token owner's Mattermost id, looked up once per API client (only asked when an admin role is to be removed). */
const owners = new WeakMap<object, Promise<string | null>>();
function tokenOwner(ctx: ConnectorCtx): Promise<string | null> {
  let p = owners.get(ctx.api);
  if (!p) {
    p = ctx.api.call<UserProfile>('GET', `${ctx.api.client.getUsersRoute()}/me`).then((a) => (a.status === 200 ? a.data.id : null));
    owners.set(ctx.api, p);
  }
  return p;
}

async function refuseOwnAdmin(ctx: ConnectorCtx, mm: UserProfile, roles: string, next: string): Promise<void> {
  if (!has(roles, 'system_admin') || has(next, 'system_admin')) return;
  if ((await tokenOwner(ctx)) !== mm.id) return;
  throw new MattermostFailure('permanent', `${mm.username} is the account MATTERMOST_TOKEN belongs to: taking its system admin role away would lock the connector out; give this person the admin role in the IdP, or use a bot's token`);
}

/**
 * Make the account's roles match `role`. Returns the switch to or from guest it made, if any: either rewrote the
 * scheme flags of all the account's memberships in Mattermost (demotion drops team and channel admin, promotion does
 * not give it back) and a promotion joins the default channels of the account's teams, so the caller sends the
 * person's memberships again.
 */
export async function convergeRoles(ctx: ConnectorCtx, effect: Effect, mm: UserProfile, role: SystemRole): Promise<'demote' | 'promote' | null> {
  const route = ctx.api.client.getUserRoute(mm.id);
  let roles = mm.roles ?? '';
  let switched: 'demote' | 'promote' | null = null;
  const guest = has(roles, 'system_guest');
  if (guest !== (role === 'guest')) {
    const action = role === 'guest' ? 'demote' : 'promote';
    const next = action === 'demote' ? demoted(roles) : promoted(roles);
    await refuseOwnAdmin(ctx, mm, roles, next);
    const a = await effect.change(action === 'demote' ? 'made a guest' : 'no longer a guest', () => ctx.api.call('POST', `${route}/${action}`));
    roles = next;
    switched = action;
    if (a && a.status !== 200) {
      const refused = guestRefusal(a, action);
      if (refused) throw new MattermostFailure('permanent', refused, a.status, a.errorId);
      if (a.errorId === 'api.user.demote_user_to_guest.already_guest.app_error' || a.errorId === 'api.user.promote_guest_to_user.no_guest.app_error') {
        // Switched meanwhile (by hand, or by another instance's delivery): go on from what the account holds now.
        effect.changes.pop();
        const now = ctx.api.expect(await ctx.api.call<UserProfile>('GET', route), 'read user');
        roles = now.data.roles ?? '';
      } else {
        throw failureOf(a, `${action} user`);
      }
    }
  }
  const want = wantedRoles(role, roles);
  if (sameRoles(want, roles)) return switched;
  await refuseOwnAdmin(ctx, mm, roles, want);
  const a = await effect.change(has(want, 'system_admin') ? 'made a system admin' : has(roles, 'system_admin') ? 'no longer a system admin' : `roles set to ${want}`, () =>
    ctx.api.call('PUT', `${route}/roles`, { roles: want }));
  if (a?.errorId === 'app.user.update.lastAdmin.app_error') {
    throw new MattermostFailure('permanent', `Mattermost keeps ${mm.username} a system admin: it is the last one there (app.user.update.lastAdmin.app_error); make someone else a system admin first`, a.status, a.errorId);
  }
  if (a) ctx.api.expect(a, 'update user roles');
  return switched;
}
