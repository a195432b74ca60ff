// /api/v4/teams routes (server/channels/api4/team.go, app/team.go, app/teams/teams.go).
import type { Team } from '@mattermost/types/teams';
import { AppError, invalidBodyParam, permissionError } from './errors.ts';
import { isValidId, newId } from './ids.ts';
import { refreshTeamRoles, sanitizeTeam, type FakeTeamMember } from './model.ts';
import { ok, type Ctx, type Route } from './router.ts';
import { checkTeam } from './rules.ts';

type Body = Record<string, unknown>;
const MAX_ADD_MEMBERS_BATCH = 256; // api4/team.go MaxAddMembersBatch

function object(c: Ctx, param: string): Body {
  const v = c.json(param);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidBodyParam(param);
  return v as Body;
}

/** view_team: a member or an admin; an open team with allow_open_invite is visible to everyone (api4/team.go getTeam). */
function canView(c: Ctx, t: Team): boolean {
  if (c.isAdmin) return true;
  if (t.allow_open_invite && t.type === 'O') return true;
  return c.model.state.teamMembers.get(`${t.id}:${c.me.id}`)?.delete_at === 0;
}

function addMember(c: Ctx, teamId: string, userId: string): FakeTeamMember {
  // app/team.go AddUserToTeam: the team, then the user, then JoinUserToTeam.
  const team = c.model.team(teamId);
  const user = c.model.user(userId);
  return c.model.joinTeam(team, user);
}

export function teamRoutes(): Route[] {
  return [
    {
      method: 'POST', pattern: '/teams',
      handler: (c) => {
        const body = object(c, 'team');
        c.requireAdmin('create_team');
        // app/team.go CreateTeamWithUser: team.Email = creator's email, create, then the creator joins (and,
        // because the emails match, becomes team admin) and so joins the default channels.
        const team = c.model.createTeam({
          name: typeof body.name === 'string' ? body.name : '', display_name: typeof body.display_name === 'string' ? body.display_name : '',
          type: typeof body.type === 'string' ? body.type : '', description: typeof body.description === 'string' ? body.description : '',
          company_name: typeof body.company_name === 'string' ? body.company_name : '',
          allowed_domains: typeof body.allowed_domains === 'string' ? body.allowed_domains : '',
          allow_open_invite: body.allow_open_invite === true, email: c.me.email, group_constrained: body.group_constrained === true,
        });
        c.model.joinTeam(team, c.me);
        return ok(team, 201);
      },
    },
    {
      method: 'GET', pattern: '/teams',
      handler: (c) => {
        // getAllTeams: with list_private_teams (admins) every team, otherwise open ones; archived teams are left out.
        let list = [...c.model.state.teams.values()].filter((t) => t.delete_at === 0 && (c.isAdmin || t.allow_open_invite));
        list.sort((a, b) => a.display_name.localeCompare(b.display_name) || a.name.localeCompare(b.name));
        const { page, perPage } = c.page();
        list = list.slice(page * perPage, page * perPage + perPage);
        return ok(list.map((t) => sanitizeTeam(t, c.isAdmin)));
      },
    },
    {
      method: 'GET', pattern: '/teams/name/:team_name',
      handler: (c) => {
        const name = c.params.team_name.toLowerCase(); // web/params.go lower-cases team_name
        const t = [...c.model.state.teams.values()].find((x) => x.name === name);
        if (!t) throw new AppError('app.team.get_by_name.missing.app_error', 404);
        if (!canView(c, t)) throw permissionError('view_team');
        return ok(sanitizeTeam(t, c.isAdmin));
      },
    },
    {
      method: 'GET', pattern: '/teams/:team_id',
      handler: (c) => {
        const t = c.model.team(c.params.team_id);
        if (!canView(c, t)) throw permissionError('view_team');
        return ok(sanitizeTeam(t, c.isAdmin));
      },
    },
    {
      method: 'PUT', pattern: '/teams/:team_id/patch',
      handler: (c) => {
        const p = object(c, 'team');
        c.requireAdmin('manage_team');
        const t = c.model.team(c.params.team_id);
        // model/team.go TeamPatch / Team.Patch.
        const next: Team = { ...t };
        for (const f of ['display_name', 'description', 'company_name', 'allowed_domains'] as const) {
          if (typeof p[f] === 'string') next[f] = p[f] as string;
        }
        if (typeof p.allow_open_invite === 'boolean') {
          if (!p.allow_open_invite) next.invite_id = newId(); // a team made private gets a new invite id
          next.allow_open_invite = p.allow_open_invite;
          c.model.syncTeamType(next);
        }
        if (typeof p.group_constrained === 'boolean') next.group_constrained = p.group_constrained;
        next.update_at = Date.now();
        try {
          checkTeam(next);
        } catch {
          throw new AppError('app.team.update.find.app_error', 400); // store Update's ErrInvalidInput, app/team.go PatchTeam
        }
        Object.assign(t, next);
        return ok(sanitizeTeam(t, c.isAdmin));
      },
    },
    {
      method: 'PUT', pattern: '/teams/:team_id/privacy',
      handler: (c) => {
        const privacy = c.props().privacy;
        if (privacy !== 'O' && privacy !== 'I') throw invalidBodyParam('privacy'); // api4/team.go updateTeamPrivacy
        c.requireAdmin('manage_team');
        const t = c.model.team(c.params.team_id);
        t.type = privacy;
        t.allow_open_invite = privacy === 'O';
        t.update_at = Date.now();
        return ok(sanitizeTeam(t, c.isAdmin));
      },
    },
    {
      method: 'DELETE', pattern: '/teams/:team_id',
      handler: (c) => {
        c.requireAdmin('manage_team');
        const t = c.model.team(c.params.team_id);
        if (c.query.get('permanent') === 'true' && !c.options.enableApiTeamDeletion) {
          throw new AppError('api.user.delete_team.not_enabled.app_error', 401, `teamId=${t.id}`);
        }
        if (c.query.get('permanent') === 'true') {
          c.model.state.teams.delete(t.id);
          for (const [k, ch] of c.model.state.channels) if (ch.team_id === t.id) c.model.state.channels.delete(k);
          return ok();
        }
        t.delete_at = Date.now(); // SoftDeleteTeam
        t.update_at = t.delete_at;
        return ok();
      },
    },
    {
      method: 'POST', pattern: '/teams/:team_id/restore',
      handler: (c) => {
        c.requireAdmin('manage_team');
        const t = c.model.team(c.params.team_id);
        t.delete_at = 0;
        t.update_at = Date.now();
        return ok(sanitizeTeam(t, c.isAdmin));
      },
    },
    {
      method: 'POST', pattern: '/teams/:team_id/members/batch',
      handler: (c) => {
        const graceful = (c.query.get('graceful') ?? '') !== ''; // api4/team.go: any non-empty value
        const members = c.json('members');
        if (!Array.isArray(members)) throw invalidBodyParam('members');
        if (members.length > MAX_ADD_MEMBERS_BATCH) throw invalidBodyParam('too many members in batch');
        if (members.length === 0) throw invalidBodyParam('no members in batch');
        c.model.team(c.params.team_id);
        const userIds: string[] = [];
        for (const m of members as Body[]) {
          if (!m || m.team_id !== c.params.team_id) throw invalidBodyParam(`team_id for member with user_id=${String(m?.user_id)}`);
          if (!isValidId(m.user_id)) throw invalidBodyParam('user_id');
          userIds.push(m.user_id);
        }
        c.requireAdmin('add_user_to_team');
        // app/team.go AddTeamMembers: one by one; without graceful the first error ends the call (earlier adds stay).
        const results: { member: FakeTeamMember | null; user_id: string; error: unknown }[] = [];
        for (const userId of userIds) {
          try {
            results.push({ member: addMember(c, c.params.team_id, userId), user_id: userId, error: null });
          } catch (e) {
            if (!graceful || !(e instanceof AppError)) throw e;
            results.push({ member: null, user_id: userId, error: e.body(c.requestId) });
          }
        }
        return ok(graceful ? results : results.map((r) => r.member), 201);
      },
    },
    {
      method: 'POST', pattern: '/teams/:team_id/members',
      handler: (c) => {
        let body: unknown;
        try {
          body = c.json('member');
        } catch {
          throw new AppError('api.team.add_team_member.invalid_body.app_error', 400, 'Error in model.TeamMemberFromJSON()');
        }
        const m = (body && typeof body === 'object' ? body : {}) as Body;
        if (m.team_id !== c.params.team_id) throw invalidBodyParam('team_id');
        if (!isValidId(m.user_id)) throw invalidBodyParam('user_id');
        if (m.user_id !== c.me.id) c.requireAdmin('add_user_to_team');
        else if (!c.isAdmin) throw permissionError('join_public_teams');
        // group_constrained teams refuse users outside the linked groups (api.team.add_members.user_denied);
        // the fake has no groups and lets everyone in.
        return ok(addMember(c, c.params.team_id, m.user_id), 201);
      },
    },
    {
      method: 'GET', pattern: '/teams/:team_id/members',
      handler: (c) => {
        const t = c.model.team(c.params.team_id);
        if (!canView(c, t)) throw permissionError('view_team');
        const list = [...c.model.state.teamMembers.values()].filter((m) => m.team_id === t.id && m.delete_at === 0);
        list.sort((a, b) => (a.user_id < b.user_id ? -1 : 1)); // sqlstore GetMembers orders by UserId
        const { page, perPage } = c.page();
        return ok(list.slice(page * perPage, page * perPage + perPage));
      },
    },
    {
      method: 'GET', pattern: '/teams/:team_id/members/:user_id',
      handler: (c) => {
        const t = c.model.team(c.params.team_id);
        if (!canView(c, t)) throw permissionError('view_team');
        // The store's GetMember returns a soft-deleted row too (its delete_at tells).
        const m = c.model.state.teamMembers.get(`${t.id}:${c.params.user_id}`);
        if (!m) throw new AppError('app.team.get_member.missing.app_error', 404);
        return ok(m);
      },
    },
    {
      method: 'DELETE', pattern: '/teams/:team_id/members/:user_id',
      handler: (c) => {
        if (c.params.user_id !== c.me.id) c.requireAdmin('remove_user_from_team');
        const team = c.model.team(c.params.team_id);
        const user = c.model.user(c.params.user_id);
        c.model.leaveTeam(team, user);
        return ok();
      },
    },
    {
      method: 'PUT', pattern: '/teams/:team_id/members/:user_id/schemeRoles',
      handler: (c) => {
        const r = object(c, 'scheme_roles');
        c.requireAdmin('manage_team_roles');
        const m = c.model.state.teamMembers.get(`${c.params.team_id}:${c.params.user_id}`);
        if (!m) throw new AppError('app.team.get_member.missing.app_error', 404);
        const next = { scheme_admin: r.scheme_admin === true, scheme_user: r.scheme_user === true, scheme_guest: r.scheme_guest === true };
        if (next.scheme_user && next.scheme_guest) throw new AppError('api.team.update_team_member_roles.guest_and_user.app_error', 400);
        Object.assign(m, next);
        refreshTeamRoles(m);
        return ok();
      },
    },
  ];
}
