/**
 * Team and channel memberships in Mattermost as the store has them. Adding a present member and removing an absent
 * one both succeed, so a repeated delivery changes nothing: `POST /teams/{id}/members` revives a soft-deleted row
 * (server/channels/app/team.go JoinUserToTeam) and answers the existing membership; a 404 on removal is success.
 * A deactivated person is not sent (Mattermost refuses to add one, and deactivation keeps memberships); their
 * memberships are queued again when they come back, and when they become or stop being a guest (users.ts). Roles:
 * `PUT .../schemeRoles {scheme_admin, scheme_user, scheme_guest}` (Mattermost API reference
 * update-team-member-scheme-roles, update-channel-member-scheme-roles; a guest's flags: flagsFor below).
 */
import type { TeamMembership } from '@mattermost/types/teams';
import type { ChannelMembership } from '@mattermost/types/channels';
import { bool } from '../store/db.js';
import { getChannel, getMember, getTeam, getUserState } from '../store/workspace.js';
import { getBinding } from '../store/mattermost-bindings.js';
import { failureOf, MattermostFailure } from './mattermost-api.js';
import { Effect, type ConnectorCtx } from './context.js';
import { hasPending } from '../store/outbox.js';
import type { SystemRole } from '../config/roles.js';
import { convergeUser } from './users.js';
import { convergeChannel, convergeTeam, ensureBound, waitingFor } from './teams.js';

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
    // A guest whose demotion is still queued would join as a member there, with the default channels a guest never
    // gets (app/teams/teams.go JoinUserToTeam: JoinDefaultChannels only `if !user.IsGuest()`), and Town Square
    // cannot be left again: the join waits for the person's own delivery.
    if (user.systemRole === 'guest' && ctx.waitForQueued && (await hasPending(ctx.db, 'mattermost', { kind: 'user', id: userId }))) throw waitingFor('user', userId);
    const a = await ctx.api.call<TeamMembership>('POST', routes.getTeamMembersRoute(mmTeam), { team_id: mmTeam, user_id: mmUser });
    member = ctx.api.expect(a, 'add team member').data;
    if (a.status === 201) effect.changes.push('joined team');
  }
  if (member) await schemeRoles(ctx, effect, 'team', routes.getTeamMemberRoute(mmTeam, mmUser), member, flagsFor(user.systemRole, bool(m!.scheme_admin)), userId);
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
  if (member) await schemeRoles(ctx, effect, 'channel', routes.getChannelMemberRoute(mmChannel, mmUser), member, flagsFor(user.systemRole, bool(m!.scheme_admin)), userId);
  return effect;
}

export interface SchemeFlags { scheme_admin: boolean; scheme_user: boolean; scheme_guest: boolean }

/**
 * The scheme flags of a membership: a member's are `scheme_user` (and `scheme_admin` as the store says); a guest's
 * are `scheme_guest` alone, as Mattermost gives a guest who joins (app/teams/teams.go JoinUserToTeam, app/channel.go
 * addUserToChannel: SchemeGuest = user.IsGuest(), SchemeUser = !IsGuest()) and as demotion leaves every membership
 * (sqlstore/user_store.go DemoteUserToGuest). `scheme_user` and `scheme_guest` together are refused (400
 * api.team.update_team_member_roles.guest_and_user.app_error); a guest with `scheme_admin` is not refused there
 * (app/team.go UpdateTeamMemberSchemeRoles checks only that pair) but is never asked: Mattermost's own demotion drops
 * it, and a guest running a team or channel is what guest access exists to prevent.
 */
export function flagsFor(role: SystemRole, admin: boolean): SchemeFlags {
  return role === 'guest' ? { scheme_admin: false, scheme_user: false, scheme_guest: true } : { scheme_admin: admin, scheme_user: true, scheme_guest: false };
}

export const flagsOf = (m: { scheme_admin?: boolean; scheme_user?: boolean; scheme_guest?: boolean }): SchemeFlags =>
  ({ scheme_admin: !!m.scheme_admin, scheme_user: !!m.scheme_user, scheme_guest: !!m.scheme_guest });

export const sameFlags = (a: SchemeFlags, b: SchemeFlags) => a.scheme_admin === b.scheme_admin && a.scheme_user === b.scheme_user && a.scheme_guest === b.scheme_guest;

/**
 * `PUT .../schemeRoles` with all three flags when the membership's differ from `want` (a body without
 * `scheme_guest` would set it false: the handler decodes model.SchemeRoles and sets every field). A guest switch the
 * person's own delivery is about to make (promote or demote, which rewrites these flags) is waited for, not raced.
 */
async function schemeRoles(ctx: ConnectorCtx, effect: Effect, kind: 'team' | 'channel', route: string, member: object, want: SchemeFlags, userId: string): Promise<void> {
  const have = flagsOf(member as Partial<SchemeFlags>);
  if (sameFlags(have, want)) return;
  if (have.scheme_guest !== want.scheme_guest && ctx.waitForQueued && !ctx.dryRun && (await hasPending(ctx.db, 'mattermost', { kind: 'user', id: userId }))) {
    throw waitingFor('user', userId);
  }
  const what = have.scheme_guest !== want.scheme_guest ? (want.scheme_guest ? `${kind} member as a guest` : `${kind} member as a member, not a guest`)
    : want.scheme_admin ? `made ${kind} admin` : `no longer ${kind} admin`;
  const a = await effect.change(what, () => ctx.api.call('PUT', `${route}/schemeRoles`, want));
  if (a) ctx.api.expect(a, `${kind} member roles`);
}
