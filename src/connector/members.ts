/**
 * Team and channel memberships in Mattermost as the store has them. Adding a present member and removing an absent
 * one both succeed, so a repeated delivery changes nothing: `POST /teams/{id}/members` revives a soft-deleted row
 * (server/channels/app/team.go JoinUserToTeam) and answers the existing membership; a 404 on removal is success.
 * A deactivated person is not sent (Mattermost refuses to add one, and deactivation keeps memberships); their
 * memberships are queued again when they come back (users.ts). Roles: `PUT .../schemeRoles {scheme_admin,
 * scheme_user}` (Mattermost API reference update-team-member-scheme-roles, update-channel-member-scheme-roles).
 */
import type { TeamMembership } from '@mattermost/types/teams';
import type { ChannelMembership } from '@mattermost/types/channels';
import { bool } from '../store/db.js';
import { getChannel, getMember, getTeam, getUserState } from '../store/workspace.js';
import { getBinding } from '../store/mattermost-bindings.js';
import { failureOf, MattermostFailure } from './mattermost-api.js';
import { Effect, type ConnectorCtx } from './context.js';
import { convergeUser } from './users.js';
import { convergeChannel, convergeTeam, ensureBound } from './teams.js';

export async function convergeTeamMember(ctx: ConnectorCtx, teamId: string, userId: string): Promise<Effect> {
  const effect = new Effect(ctx);
  const [m, team, user] = await Promise.all([getMember(ctx.db, 'team', teamId, userId), getTeam(ctx.db, teamId), getUserState(ctx.db, userId)]);
  const want = !!m && m.removed_at == null && !!team && team.archived_at == null && !!user;
  const routes = ctx.api.client;
  if (!want) {
    const [u, t] = await Promise.all([getBinding(ctx.db, 'user', userId), getBinding(ctx.db, 'team', teamId)]);
    if (!u || !t || team?.archived_at != null) return effect; // never there, or the whole team is archived
    const a = await effect.change('removed from team', () => ctx.api.call('DELETE', routes.getTeamMemberRoute(t.mmId, u.mmId)));
    if (a && a.status !== 404) ctx.api.expect(a, 'remove team member');
    return effect;
  }
  if (!user.active || user.deleted) return effect;
  const mmUser = await ensureBound(ctx, 'user', userId, () => convergeUser(ctx, userId));
  const mmTeam = await ensureBound(ctx, 'team', teamId, () => convergeTeam(ctx, teamId));
  if (!mmUser || !mmTeam) {
    effect.changes.push('would join team');
    return effect;
  }
  effect.mmId = mmTeam;
  let member: TeamMembership | undefined;
  if (ctx.dryRun) {
    const a = await ctx.api.call<TeamMembership>('GET', routes.getTeamMemberRoute(mmTeam, mmUser));
    if (a.status === 200 && !a.data.delete_at) member = a.data;
    else effect.changes.push('joined team');
  } else {
    const a = await ctx.api.call<TeamMembership>('POST', routes.getTeamMembersRoute(mmTeam), { team_id: mmTeam, user_id: mmUser });
    member = ctx.api.expect(a, 'add team member').data;
    if (a.status === 201) effect.changes.push('joined team');
  }
  const admin = bool(m!.scheme_admin);
  if (member && !!member.scheme_admin !== admin) {
    const a = await effect.change(admin ? 'made team admin' : 'no longer team admin', () =>
      ctx.api.call('PUT', `${routes.getTeamMemberRoute(mmTeam, mmUser)}/schemeRoles`, { scheme_admin: admin, scheme_user: true }));
    if (a) ctx.api.expect(a, 'team member roles');
  }
  return effect;
}

export async function convergeChannelMember(ctx: ConnectorCtx, channelId: string, userId: string): Promise<Effect> {
  const effect = new Effect(ctx);
  const [m, channel, user] = await Promise.all([getMember(ctx.db, 'channel', channelId, userId), getChannel(ctx.db, channelId), getUserState(ctx.db, userId)]);
  const want = !!m && m.removed_at == null && !!channel && channel.archived_at == null && !!user;
  const routes = ctx.api.client;
  if (!want) {
    const [u, c] = await Promise.all([getBinding(ctx.db, 'user', userId), getBinding(ctx.db, 'channel', channelId)]);
    if (!u || !c || channel?.archived_at != null) return effect;
    const a = await effect.change('removed from channel', () => ctx.api.call('DELETE', routes.getChannelMemberRoute(c.mmId, u.mmId)));
    // 404: not a member (or left with the team). Town Square cannot be left (api.channel.remove.default.app_error):
    // Mattermost keeps everyone of a team in it, which is its rule, not a failure to retry.
    if (a && a.status !== 404 && !(a.errorId ?? '').includes('remove.default')) ctx.api.expect(a, 'remove channel member');
    if (a?.errorId?.includes('remove.default')) effect.changes.push('kept: nobody leaves the default channel in Mattermost');
    return effect;
  }
  if (!user.active || user.deleted) return effect;
  const mmUser = await ensureBound(ctx, 'user', userId, () => convergeUser(ctx, userId));
  const mmChannel = await ensureBound(ctx, 'channel', channelId, () => convergeChannel(ctx, channelId));
  if (!mmUser || !mmChannel) {
    effect.changes.push('would join channel');
    return effect;
  }
  effect.mmId = mmChannel;
  let member: ChannelMembership | undefined;
  if (ctx.dryRun) {
    const a = await ctx.api.call<ChannelMembership>('GET', routes.getChannelMemberRoute(mmChannel, mmUser));
    if (a.status === 200) member = a.data;
    else effect.changes.push('joined channel');
  } else {
    let a = await ctx.api.call<ChannelMembership>('POST', routes.getChannelMembersRoute(mmChannel), { user_id: mmUser });
    if (a.status === 400 || a.status === 403 || a.status === 404) {
      // Not (yet) in the channel's team there (app.team.get_member.missing.app_error, 404, from AddChannelMember's
      // team-member lookup): the team membership is another entity, maybe still queued or in flight; bring it in
      // line first, then try once more.
      const team = await convergeTeamMember(ctx, channel!.team_id, userId);
      effect.changes.push(...team.changes);
      a = await ctx.api.call<ChannelMembership>('POST', routes.getChannelMembersRoute(mmChannel), { user_id: mmUser });
    }
    if (a.errorId === 'app.channel.add_member.deleted_user.app_error') {
      // The account is deactivated there while the person is active here: their own delivery (reactivation, which
      // queues their memberships again) is still to come or failing for now. Retrying settles this; parking would not.
      const f = failureOf(a, 'add channel member');
      throw new MattermostFailure('transient', f.message, f.status, f.errorId);
    }
    if (a.status !== 201 && a.status !== 200) throw failureOf(a, 'add channel member');
    member = Array.isArray(a.data) ? a.data[0] : a.data;
    if (a.status === 201) effect.changes.push('joined channel');
  }
  const admin = bool(m!.scheme_admin);
  if (member && !!member.scheme_admin !== admin) {
    const a = await effect.change(admin ? 'made channel admin' : 'no longer channel admin', () =>
      ctx.api.call('PUT', `${routes.getChannelMemberRoute(mmChannel, mmUser)}/schemeRoles`, { scheme_admin: admin, scheme_user: true }));
    if (a) ctx.api.expect(a, 'channel member roles');
  }
  return effect;
}
