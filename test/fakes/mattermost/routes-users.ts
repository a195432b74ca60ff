// /api/v4/users routes (server/channels/api4/user.go), with the store rules of sqlstore/user_store.go.
import type { UserProfile } from '@mattermost/types/users';
import { AppError, MISSING_ACCOUNT, invalidBodyParam, invalidUrlParam, permissionError } from './errors.ts';
import { newId } from './ids.ts';
import { defaultNotifyProps, hashPassword, isSystemAdmin, sanitizeUser, type Model } from './model.ts';
import { ok, type Ctx, type Route } from './router.ts';
import { checkPassword, checkUser, isValidEmail } from './rules.ts';
import { checkReactivation } from './routes-roles.ts';

type Body = Record<string, unknown>;
const str = (v: unknown, d = '') => (typeof v === 'string' ? v : d);
const strMap = (v: unknown): Record<string, string> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : undefined;

/** Unique indexes users_username_key, users_email_key, users_authdata_key (sqlstore/user_store.go); ids from Save/Update. */
function checkUnique(model: Model, u: { id: string; username: string; email: string; auth_data?: string | null }): void {
  for (const other of model.state.users.values()) {
    if (other.id === u.id) continue;
    if (other.email === u.email) throw new AppError('app.user.save.email_exists.app_error', 400);
    if (other.username === u.username) throw new AppError('app.user.save.username_exists.app_error', 400);
    // AuthData is unique on its own, across auth services; Save maps any other unique violation to "existing".
    if (u.auth_data && other.auth_data === u.auth_data) throw new AppError('app.user.save.existing.app_error', 400);
  }
}

/**
 * Build and store a user the way POST /users does: SanitizeInput(isAdmin) (model/user.go), PreSave (ids, lower-casing,
 * defaults), IsValid, the password check only when auth_service is empty (app/users/users.go createUser), uniqueness.
 */
export function createUser(model: Model, body: Body, isAdmin: boolean, extra: Partial<UserProfile> = {}): UserProfile {
  const now = Date.now();
  const authService = isAdmin ? str(body.auth_service) : '';
  const authData = isAdmin ? str(body.auth_data) : '';
  const password = str(body.password);
  const u = {
    id: newId(), create_at: now, update_at: now, delete_at: 0,
    username: str(body.username).toLowerCase(), password, auth_data: authData, auth_service: authService,
    email: str(body.email).trim().toLowerCase(), email_verified: isAdmin ? body.email_verified === true : false,
    nickname: str(body.nickname), first_name: str(body.first_name), last_name: str(body.last_name), position: str(body.position),
    roles: 'system_user', props: strMap(body.props) ?? {}, notify_props: (strMap(body.notify_props) ?? defaultNotifyProps()) as UserProfile['notify_props'],
    last_password_update: now, last_picture_update: 0, locale: str(body.locale) || 'en',
    timezone: (strMap(body.timezone) ?? { useAutomaticTimezone: 'true', automaticTimezone: '', manualTimezone: '' }) as unknown as UserProfile['timezone'],
    mfa_active: false, last_activity_at: 0, is_bot: false, bot_description: '', terms_of_service_id: '', terms_of_service_create_at: 0,
    ...extra,
  } as UserProfile & { email_verified: boolean };
  if (u.username === '') u.username = newId(); // PreSave: a missing username becomes a new id
  checkUser(u);
  if (u.auth_service === '' && !u.is_bot) checkPassword(password); // bots are made by POST /bots, without a password
  checkUnique(model, u);
  u.password = hashPassword(password);
  model.state.users.set(u.id, u);
  return u;
}

const canEdit = (c: Ctx, userId: string) => c.isAdmin || c.me.id === userId; // SessionHasPermissionToUser

export function userRoutes(): Route[] {
  const out = (u: UserProfile) => sanitizeUser(u);
  return [
    { method: 'GET', pattern: '/users/me', handler: (c) => ok(out(c.me)) },
    {
      method: 'POST', pattern: '/users/ids',
      handler: (c) => {
        const ids = c.json('user_ids');
        if (!Array.isArray(ids) || ids.length === 0) throw invalidBodyParam('user_ids');
        const since = Number(c.query.get('since') ?? 0) || 0;
        const found = ids.map((id) => c.model.state.users.get(String(id))).filter((u): u is UserProfile => !!u && u.update_at >= since);
        return ok(found.map(out));
      },
    },
    {
      method: 'POST', pattern: '/users/usernames',
      handler: (c) => {
        const names = c.json('usernames');
        if (!Array.isArray(names) || names.length === 0) throw invalidBodyParam('usernames');
        const set = new Set(names.map(String));
        return ok([...c.model.state.users.values()].filter((u) => set.has(u.username)).map(out));
      },
    },
    {
      method: 'GET', pattern: '/users/username/:username',
      handler: (c) => {
        // RequireUsername uses IsValidUsernameAllowRemote; no lower-casing in between, so "Alice" is a 400.
        if (!/^[a-z0-9.\-_:]{1,64}$/.test(c.params.username)) throw invalidUrlParam('username');
        const u = [...c.model.state.users.values()].find((x) => x.username === c.params.username);
        if (!u) throw new AppError('app.user.get_by_username.app_error', 404); // app/user.go GetUserByUsername
        return ok(out(u));
      },
    },
    {
      method: 'GET', pattern: '/users/email/:email',
      handler: (c) => {
        const email = c.params.email.toLowerCase();
        if (!isValidEmail(email)) throw invalidUrlParam('email'); // RequireEmail
        const u = [...c.model.state.users.values()].find((x) => x.email === email);
        if (!u) throw new AppError(MISSING_ACCOUNT, 404);
        return ok(out(u));
      },
    },
    {
      method: 'POST', pattern: '/users',
      handler: (c) => {
        const body = c.json('user');
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidBodyParam('user');
        return ok(out(createUser(c.model, body as Body, c.isAdmin)), 201);
      },
    },
    {
      method: 'GET', pattern: '/users',
      handler: (c) => {
        const active = c.query.get('active') === 'true';
        const inactive = c.query.get('inactive') === 'true';
        if (active && inactive) throw invalidUrlParam('inactive'); // api4/user.go getUsers
        const inTeam = c.query.get('in_team') ?? '';
        let list = [...c.model.state.users.values()];
        if (active) list = list.filter((u) => u.delete_at === 0);
        if (inactive) list = list.filter((u) => u.delete_at !== 0);
        if (inTeam) list = list.filter((u) => c.model.state.teamMembers.get(`${inTeam}:${u.id}`)?.delete_at === 0);
        list.sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0)); // store orders by Username
        const { page, perPage } = c.page();
        return ok(list.slice(page * perPage, page * perPage + perPage).map(out));
      },
    },
    { method: 'GET', pattern: '/users/:user_id', handler: (c) => ok(out(c.model.user(c.params.user_id))) },
    {
      method: 'PUT', pattern: '/users/:user_id/patch',
      handler: (c) => {
        const patch = c.json('user');
        if (!patch || typeof patch !== 'object' || Array.isArray(patch)) throw invalidBodyParam('user');
        const u = c.model.user(c.params.user_id);
        if (!canEdit(c, u.id)) throw permissionError('edit_other_users');
        if (isSystemAdmin(u) && !c.isAdmin) throw permissionError('manage_system');
        const p = patch as Body;
        // app/user.go CheckProviderAttributes (called by api4/user.go patchUser): a login provider owns the
        // username of its users, an OAuth provider (gitlab, google, office365, openid) their first and last name,
        // SAML the fields its attribute settings map; changing one is 409.
        const changes = (f: 'username' | 'first_name' | 'last_name' | 'nickname' | 'position' | 'email') => typeof p[f] === 'string' && p[f] !== u[f];
        const oauth = ['gitlab', 'google', 'office365', 'openid'].includes(u.auth_service);
        const owned = (u.auth_service !== '' && changes('username') ? 'username' : '')
          || (oauth && (changes('first_name') || changes('last_name')) ? 'full name' : '')
          || (u.auth_service === 'saml' ? (c.options.samlOwnedAttributes.find((f) => changes(f as 'email')) ?? '') : '');
        if (owned) throw new AppError('api.user.patch_user.login_provider_attribute_set.app_error', 409, `field=${owned}`);
        // model/user.go UserPatch / User.Patch: only these fields; props and notify_props are replaced whole.
        const next = { ...u };
        for (const f of ['username', 'nickname', 'first_name', 'last_name', 'position', 'email', 'locale', 'remote_id'] as const) {
          if (typeof p[f] === 'string') (next as Record<string, unknown>)[f] = p[f];
        }
        for (const f of ['props', 'notify_props', 'timezone'] as const) {
          const m = strMap(p[f]);
          if (m) (next as Record<string, unknown>)[f] = m;
        }
        next.username = next.username.toLowerCase(); // PreUpdate: NormalizeUsername / NormalizeEmail
        next.email = next.email.toLowerCase();
        next.update_at = Date.now();
        checkUser(next);
        checkUnique(c.model, next);
        Object.assign(u, next);
        return ok(out(u));
      },
    },
    {
      method: 'DELETE', pattern: '/users/:user_id',
      handler: (c) => {
        const u = c.model.user(c.params.user_id);
        if (!canEdit(c, u.id)) throw permissionError('edit_other_users');
        if (c.query.get('permanent') === 'true') {
          // api4/user.go deleteUser: PermanentDeleteUser only when ServiceSettings.EnableAPIUserDeletion.
          if (!c.options.enableApiUserDeletion) throw new AppError('api.user.delete_user.not_enabled.app_error', 401, `userId=${u.id}`);
          if (!c.isAdmin) throw permissionError('manage_system');
          const s = c.model.state;
          s.users.delete(u.id);
          for (const [k, m] of s.teamMembers) if (m.user_id === u.id) s.teamMembers.delete(k);
          for (const [k, m] of s.channelMembers) if (m.user_id === u.id) s.channelMembers.delete(k);
          for (const [k, m] of s.sessions) if (m.user_id === u.id) s.sessions.delete(k);
          return ok();
        }
        c.model.setActive(u, false);
        return ok();
      },
    },
    {
      method: 'PUT', pattern: '/users/:user_id/active',
      handler: (c) => {
        const props = c.props();
        if (typeof props.active !== 'boolean') throw invalidBodyParam('active'); // api4/user.go updateUserActive
        const u = c.model.user(c.params.user_id);
        if (!c.isAdmin && !(c.me.id === u.id && props.active === false)) throw permissionError('manage_system');
        checkReactivation(c, u.roles, props.active);
        c.model.setActive(u, props.active);
        return ok();
      },
    },
    {
      method: 'PUT', pattern: '/users/:user_id/auth',
      handler: (c) => {
        const p = c.props();
        const authData = str(p.auth_data);
        const authService = str(p.auth_service);
        // api4/user.go updateUserAuth: system admin only, both fields non-empty.
        if (!c.isAdmin) throw new AppError('api.user.update_user_auth.invalid_request', 403);
        if (authData === '' || authService === '') throw new AppError('api.user.update_user_auth.invalid_request', 400);
        const u = c.model.user(c.params.user_id);
        if (authData.length > 128) throw new AppError('model.user.is_valid.auth_data.app_error', 400);
        for (const other of c.model.state.users.values()) {
          // sqlstore/user_store.go UpdateAuthData: a duplicate AuthData is reported as email_exists.
          if (other.id !== u.id && other.auth_data === authData) throw new AppError('store.sql_user.update_auth_data.email_exists.app_error', 400);
        }
        u.auth_data = authData;
        u.auth_service = authService;
        u.password = ''; // UpdateAuthData sets Password = '': moving to SSO drops the password
        u.update_at = Date.now();
        return ok({ auth_data: authData, auth_service: authService }); // app UpdateUserAuth returns a model.UserAuth
      },
    },
    {
      method: 'POST', pattern: '/users/:user_id/sessions/revoke/all',
      handler: (c) => {
        const u = c.model.user(c.params.user_id);
        if (!canEdit(c, u.id)) throw permissionError('edit_other_users');
        c.model.revokeSessions(u.id);
        return ok();
      },
    },
  ];
}

