// /api/v4/channels routes (server/channels/api4/channel.go, app/channel.go).
import type { Channel } from '@mattermost/types/channels';
import { AppError, invalidBodyParam, permissionError } from './errors.ts';
import { isValidId } from './ids.ts';
import { refreshChannelRoles, type FakeChannelMember } from './model.ts';
import { ok, type Ctx, type Route } from './router.ts';
import { checkChannel } from './rules.ts';

type Body = Record<string, unknown>;
const MAX_USER_IDS = 1000; // api/v4/source/channels.yaml AddChannelMember: user_ids maxItems 1000
const DEFAULT_CHANNEL = 'town-square'; // model/channel.go DefaultChannelName

function object(c: Ctx, param: string): Body {
  const v = c.json(param);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidBodyParam(param);
  return v as Body;
}

function isMember(c: Ctx, ch: Channel): boolean {
  return c.model.state.channelMembers.has(`${ch.id}:${c.me.id}`);
}

/** read_channel: open channels to team members, private ones to their members; admins see all. */
function canRead(c: Ctx, ch: Channel): boolean {
  if (c.isAdmin || isMember(c, ch)) return true;
  return ch.type === 'O' && c.model.state.teamMembers.get(`${ch.team_id}:${c.me.id}`)?.delete_at === 0;
}

function page<T>(c: Ctx, list: T[]): T[] {
  const { page: p, perPage } = c.page();
  return list.slice(p * perPage, p * perPage + perPage);
}

const byDisplayName = (a: Channel, b: Channel) => a.display_name.localeCompare(b.display_name) || a.name.localeCompare(b.name);

/**
 * app/channel.go AddChannelMember, then AddUserToChannel: an existing member is returned untouched; a deactivated user
 * is refused with 403 (mattermost/mattermost PR #25954); the user must hold an active team membership (404 when there
 * is none, 400 when it was removed); then the row is saved as a plain member.
 */
function addChannelMember(c: Ctx, ch: Channel, userId: string): FakeChannelMember {
  const existing = c.model.state.channelMembers.get(`${ch.id}:${userId}`);
  if (existing) return existing;
  const user = c.model.user(userId);
  if (user.delete_at > 0) throw new AppError('app.channel.add_member.deleted_user.app_error', 403);
  const tm = c.model.state.teamMembers.get(`${ch.team_id}:${userId}`);
  if (!tm) throw new AppError('app.team.get_member.missing.app_error', 404);
  if (tm.delete_at > 0) throw new AppError('api.channel.add_user.to.channel.failed.deleted.app_error', 400);
  // An archived channel takes no members (app/channel.go addUserToChannel in the v5 code; not re-checked in current code).
  if (ch.delete_at > 0) throw new AppError('api.channel.add_user_to_channel.deleted.app_error', 400);
  return c.model.saveChannelMember(ch, user, false);
}

export function channelRoutes(): Route[] {
  return [
    {
      method: 'POST', pattern: '/channels',
      handler: (c) => {
        const b = object(c, 'channel');
        const teamId = typeof b.team_id === 'string' ? b.team_id : '';
        const type = typeof b.type === 'string' ? b.type : '';
        c.requireAdmin(type === 'P' ? 'create_private_channel' : 'create_public_channel');
        c.model.team(teamId);
        // app/channel.go CreateChannelWithUser: the creator joins the new channel as its admin.
        const ch = c.model.createChannel({
          team_id: teamId, name: typeof b.name === 'string' ? b.name : '', display_name: typeof b.display_name === 'string' ? b.display_name : '',
          type, header: typeof b.header === 'string' ? b.header : '', purpose: typeof b.purpose === 'string' ? b.purpose : '',
        }, c.me.id);
        return ok(ch, 201);
      },
    },
    {
      method: 'GET', pattern: '/channels/:channel_id',
      handler: (c) => {
        const ch = c.model.channel(c.params.channel_id);
        if (!canRead(c, ch)) throw permissionError('read_channel');
        return ok(ch);
      },
    },
    {
      method: 'GET', pattern: '/teams/:team_id/channels/name/:channel_name',
      handler: (c) => {
        const name = c.params.channel_name.toLowerCase(); // web/params.go lower-cases channel_name
        const includeDeleted = c.query.get('include_deleted') === 'true';
        const ch = c.model.channelByName(c.params.team_id, name, includeDeleted);
        if (!ch) throw new AppError('app.channel.get_by_name.missing.app_error', 404);
        if (!canRead(c, ch)) throw permissionError('read_channel');
        return ok(ch);
      },
    },
    {
      method: 'GET', pattern: '/teams/:team_id/channels',
      handler: (c) => {
        // GetPublicChannelsForTeam: open, not archived, by display name.
        const list = [...c.model.state.channels.values()].filter((x) => x.team_id === c.params.team_id && x.type === 'O' && x.delete_at === 0);
        return ok(page(c, list.sort(byDisplayName)));
      },
    },
    {
      method: 'GET', pattern: '/teams/:team_id/channels/private',
      handler: (c) => {
        c.requireAdmin('manage_system'); // api4/channel.go getPrivateChannelsForTeam
        const list = [...c.model.state.channels.values()].filter((x) => x.team_id === c.params.team_id && x.type === 'P' && x.delete_at === 0);
        return ok(page(c, list.sort(byDisplayName)));
      },
    },
    {
      method: 'GET', pattern: '/teams/:team_id/channels/deleted',
      handler: (c) => {
        const list = [...c.model.state.channels.values()].filter((x) => x.team_id === c.params.team_id && x.delete_at !== 0 &&
          (x.type === 'O' || c.isAdmin || isMember(c, x)));
        return ok(page(c, list.sort(byDisplayName)));
      },
    },
    {
      method: 'PUT', pattern: '/channels/:channel_id/patch',
      handler: (c) => {
        const p = object(c, 'channel');
        const ch = c.model.channel(c.params.channel_id);
        c.requireAdmin(ch.type === 'P' ? 'manage_private_channel_properties' : 'manage_public_channel_properties');
        // model/channel.go ChannelPatch (display_name, name, header, purpose, group_constrained, ...).
        const next: Channel = { ...ch };
        for (const f of ['display_name', 'name', 'header', 'purpose'] as const) if (typeof p[f] === 'string') next[f] = p[f] as string;
        if (typeof p.group_constrained === 'boolean') next.group_constrained = p.group_constrained;
        next.update_at = Date.now();
        checkChannel(next);
        const clash = c.model.channelByName(next.team_id, next.name, true);
        if (clash && clash.id !== ch.id) throw new AppError('store.sql_channel.save_channel.exists.app_error', 400);
        Object.assign(ch, next);
        return ok(ch);
      },
    },
    {
      method: 'PUT', pattern: '/channels/:channel_id/privacy',
      handler: (c) => {
        const privacy = c.props().privacy;
        if (privacy !== 'O' && privacy !== 'P') throw invalidBodyParam('privacy');
        const ch = c.model.channel(c.params.channel_id);
        c.requireAdmin(privacy === 'P' ? 'convert_public_channel_to_private' : 'convert_private_channel_to_public');
        // app/channel.go UpdateChannelPrivacy: town-square stays public.
        if (ch.name === DEFAULT_CHANNEL) throw new AppError('api.channel.update_channel_privacy.default_channel_error', 400);
        ch.type = privacy;
        ch.update_at = Date.now();
        return ok(ch);
      },
    },
    {
      method: 'DELETE', pattern: '/channels/:channel_id',
      handler: (c) => {
        const ch = c.model.channel(c.params.channel_id);
        c.requireAdmin(ch.type === 'P' ? 'delete_private_channel' : 'delete_public_channel');
        // app/channel.go DeleteChannel: an archived channel and town-square cannot be archived.
        if (ch.delete_at > 0) throw new AppError('api.channel.delete_channel.deleted.app_error', 400);
        if (ch.name === DEFAULT_CHANNEL) throw new AppError('api.channel.delete_channel.cannot.app_error', 400);
        ch.delete_at = Date.now();
        ch.update_at = ch.delete_at;
        return ok();
      },
    },
    {
      method: 'POST', pattern: '/channels/:channel_id/restore',
      handler: (c) => {
        c.requireAdmin('manage_team');
        const ch = c.model.channel(c.params.channel_id);
        if (ch.delete_at === 0) throw new AppError('api.channel.restore_channel.restored.app_error', 400); // app RestoreChannel
        ch.delete_at = 0;
        ch.update_at = Date.now();
        return ok(ch);
      },
    },
    {
      method: 'POST', pattern: '/channels/:channel_id/members',
      handler: (c) => {
        const props = c.props();
        const ch = c.model.channel(c.params.channel_id);
        if (ch.type === 'D' || ch.type === 'G') throw new AppError('api.channel.add_user_to_channel.type.app_error', 400);
        if (Array.isArray(props.user_ids)) {
          const ids = props.user_ids;
          if (ids.length === 0 || ids.length > MAX_USER_IDS || !ids.every(isValidId)) throw invalidBodyParam('user_ids');
          c.requireAdmin(ch.type === 'P' ? 'manage_private_channel_members' : 'manage_public_channel_members');
          // The fake stops at the first refused user (earlier adds stay), as a loop over AddChannelMember would.
          return ok(ids.map((id) => addChannelMember(c, ch, id)), 201);
        }
        const userId = props.user_id;
        if (!isValidId(userId)) throw invalidBodyParam('user_id'); // api4/channel.go addChannelMember
        if (userId !== c.me.id || ch.type === 'P') c.requireAdmin(ch.type === 'P' ? 'manage_private_channel_members' : 'manage_public_channel_members');
        return ok(addChannelMember(c, ch, userId), 201);
      },
    },
    {
      method: 'GET', pattern: '/channels/:channel_id/members',
      handler: (c) => {
        const ch = c.model.channel(c.params.channel_id);
        if (!canRead(c, ch)) throw permissionError('read_channel');
        const list = [...c.model.state.channelMembers.values()].filter((m) => m.channel_id === ch.id);
        list.sort((a, b) => (a.user_id < b.user_id ? -1 : 1));
        return ok(page(c, list));
      },
    },
    {
      method: 'GET', pattern: '/channels/:channel_id/members/:user_id',
      handler: (c) => {
        const ch = c.model.channel(c.params.channel_id);
        if (!canRead(c, ch)) throw permissionError('read_channel');
        const m = c.model.state.channelMembers.get(`${ch.id}:${c.params.user_id}`);
        if (!m) throw new AppError('app.channel.get_member.missing.app_error', 404); // app MissingChannelMemberError
        return ok(m);
      },
    },
    {
      method: 'DELETE', pattern: '/channels/:channel_id/members/:user_id',
      handler: (c) => {
        const ch = c.model.channel(c.params.channel_id);
        const user = c.model.user(c.params.user_id);
        if (ch.type !== 'O' && ch.type !== 'P') throw new AppError('api.channel.remove_channel_member.type.app_error', 400);
        if (user.id !== c.me.id) c.requireAdmin(ch.type === 'P' ? 'manage_private_channel_members' : 'manage_public_channel_members');
        // app/channel.go removeUserFromChannel: nobody but a guest leaves town-square.
        if (ch.name === DEFAULT_CHANNEL && !user.roles.split(' ').includes('system_guest')) {
          throw new AppError('api.channel.remove.default.app_error', 400);
        }
        const key = `${ch.id}:${user.id}`;
        if (!c.model.state.channelMembers.has(key)) throw new AppError('app.channel.get_member.missing.app_error', 404);
        c.model.state.channelMembers.delete(key); // ChannelMembers rows are hard-deleted
        return ok();
      },
    },
    {
      method: 'PUT', pattern: '/channels/:channel_id/members/:user_id/schemeRoles',
      handler: (c) => {
        const r = object(c, 'scheme_roles');
        c.requireAdmin('manage_channel_roles');
        const m = c.model.state.channelMembers.get(`${c.params.channel_id}:${c.params.user_id}`);
        if (!m) throw new AppError('app.channel.get_member.missing.app_error', 404);
        const next = { scheme_admin: r.scheme_admin === true, scheme_user: r.scheme_user === true, scheme_guest: r.scheme_guest === true };
        if (next.scheme_user && next.scheme_guest) throw new AppError('api.channel.update_channel_member_roles.guest_and_user.app_error', 400);
        Object.assign(m, next);
        refreshChannelRoles(m);
        return ok();
      },
    },
  ];
}
