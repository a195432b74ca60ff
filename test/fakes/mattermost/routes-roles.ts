// A person's system roles (server/channels/api4/user.go updateUserRoles, promoteGuestToUser, demoteUserToGuest, and
// what they call in app/user.go and sqlstore/user_store.go), checked in the order the handlers check them.
import { AppError, MISSING_ACCOUNT, invalidBodyParam } from './errors.ts';
import { isSystemAdmin } from './model.ts';
import { ok, type Ctx, type Route } from './router.ts';
import { isValidUserRoles } from './rules.ts';

/** model/role.go NewSystemRoleIDs: the delegated admin roles, which need the CustomPermissionsSchemes license. */
const NEW_SYSTEM_ROLE_IDS = new Set(['system_user_manager', 'system_read_only_admin', 'system_manager']);

/**
 * The built-in roles of a default install (model/role.go MakeDefaultRoles), which app/role.go CheckRolesExist looks
 * names up in. Custom roles would need the permission schemes the fake does not have.
 */
export const KNOWN_ROLES = new Set([
  'system_user', 'system_admin', 'system_guest', 'system_post_all', 'system_post_all_public', 'system_user_access_token',
  'system_user_manager', 'system_read_only_admin', 'system_manager', 'system_custom_group_admin',
  'team_user', 'team_admin', 'team_guest', 'team_post_all', 'team_post_all_public',
  'channel_user', 'channel_admin', 'channel_guest',
]);

const isGuest = (roles: string) => roles.split(' ').includes('system_guest');

export function roleRoutes(): Route[] {
  return [
    {
      method: 'PUT', pattern: '/users/:user_id/roles',
      handler: (c) => {
        // model.MapFromJSON decodes into map[string]string: a `roles` that is not a string (or a body that is not
        // an object) leaves the map without it, so the roles asked for are "", which IsValidUserRoles accepts.
        const raw = c.props().roles;
        const roles = typeof raw === 'string' ? raw : '';
        if (!isValidUserRoles(roles)) throw invalidBodyParam('roles');
        const names = roles.split(/\s+/).filter(Boolean);
        if (names.some((r) => NEW_SYSTEM_ROLE_IDS.has(r)) && !c.options.settings.license?.CustomPermissionsSchemes) {
          throw new AppError('api.user.update_user_roles.license.app_error', 400);
        }
        c.requireAdmin('manage_roles');
        // app/user.go UpdateUserRoles: a missing user is reported with the status changed to 400.
        const u = c.model.state.users.get(c.params.user_id);
        if (!u) throw new AppError(MISSING_ACCOUNT, 400);
        const unknown = names.find((r) => !KNOWN_ROLES.has(r));
        if (unknown) throw new AppError('app.role.check_roles_exist.role_not_found', 400, `role=${unknown}`);
        // UpdateUserRolesWithUser: a system admin losing "system_admin" (a substring test there) must not be the last
        // one; the count leaves out bots and deactivated accounts (UserCountOptions defaults).
        if (isSystemAdmin(u) && !roles.includes('system_admin')) {
          const admins = [...c.model.state.users.values()].filter((x) => !x.is_bot && x.delete_at === 0 && isSystemAdmin(x)).length;
          if (admins <= 1) throw new AppError('app.user.update.lastAdmin.app_error', 400);
        }
        u.roles = roles;
        u.update_at = Date.now();
        return ok();
      },
    },
    {
      method: 'POST', pattern: '/users/:user_id/promote',
      handler: (c) => {
        // No license or GuestAccountsSettings check here (there is one in demote): a guest can always be promoted.
        c.requireAdmin('promote_guest');
        const u = c.model.user(c.params.user_id);
        if (!isGuest(u.roles)) throw new AppError('api.user.promote_guest_to_user.no_guest.app_error', 501);
        c.model.promoteGuest(u);
        return ok();
      },
    },
    {
      method: 'POST', pattern: '/users/:user_id/demote',
      handler: (c) => {
        const { license, guestAccounts } = c.options.settings;
        if (!license) throw new AppError('api.team.demote_user_to_guest.license.error', 501);
        if (!guestAccounts) throw new AppError('api.team.demote_user_to_guest.disabled.error', 501);
        if (!license.GuestAccounts) throw new AppError('api.team.invite_guests_to_channels.disabled.error', 403);
        c.requireAdmin('demote_to_guest');
        const u = c.model.user(c.params.user_id);
        // A system admin can be demoted only by a session with manage_system, which every admin session of the fake has.
        if (isGuest(u.roles)) throw new AppError('api.user.demote_user_to_guest.already_guest.app_error', 501);
        c.model.demoteToGuest(u);
        return ok();
      },
    },
  ];
}

/** api4/user.go updateUserActive: a guest cannot be reactivated while guest accounts are off. */
export function checkReactivation(c: Ctx, roles: string, active: boolean): void {
  if (active && isGuest(roles) && !c.options.settings.guestAccounts) {
    throw new AppError('api.user.update_active.cannot_enable_guest_when_guest_feature_is_disabled.app_error', 401, `userId=${c.params.user_id}`);
  }
}
