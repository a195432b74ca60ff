/**
 * Teams and channels in Mattermost as the store has them: found by name on first sight (adoption: the name is
 * unique per server for teams and per team for channels) or created, display name and privacy kept in line,
 * archived and restored. Creating a team makes Mattermost create its default channels (town-square, off-topic:
 * server/channels/app/team.go CreateDefaultChannels), which ours of the same names are then bound to by name.
 * `group_constrained` is not sent: in Mattermost it admits only members of Mattermost groups (LDAP group sync, an
 * Enterprise feature), which this server does not create; the constraint is enforced here, where the groups are.
 * An open team is sent with `allow_open_invite: true`: Mattermost derives `type` from it (model/team.go
 * syncTypeAndAllowOpenInvite), so `type: "O"` alone comes back invite-only.
 * Rules: Mattermost API reference (create-team, get-team-by-name, patch-team, update-team-privacy, soft-delete-team,
 * restore-team; create-channel, get-channel-by-name, patch-channel, update-channel-privacy, delete-channel,
 * restore-channel).
 */
import type { Team } from '@mattermost/types/teams';
import type { Channel } from '@mattermost/types/channels';
import { getChannel, getTeam, listChannels } from '../store/workspace.js';
import { bind, getBinding, getBindingByMmId, unbind, type BindingKind } from '../store/mattermost-bindings.js';
import { hasPending } from '../store/outbox.js';
import { bool } from '../store/db.js';
import { failureOf, MattermostFailure } from './mattermost-api.js';
import { Effect, type ConnectorCtx } from './context.js';

export async function convergeTeam(ctx: ConnectorCtx, teamId: string): Promise<Effect> {
  const effect = new Effect(ctx);
  const row = await getTeam(ctx.db, teamId);
  if (!row) return effect;
  const routes = ctx.api.client;
  const mm = await boundOrFound<Team>(ctx, effect, 'team', teamId,
    (id) => routes.getTeamRoute(id),
    () => routes.getTeamNameRoute(row.name),
    row.archived_at != null,
    async () => {
      const a = await ctx.api.call<Team>('POST', routes.getTeamsRoute(), { name: row.name, display_name: row.display_name, type: row.type, allow_open_invite: row.type === 'O' });
      if (a.status === 201) return a.data;
      // The name exists already (an earlier attempt whose answer was lost, or made by hand meanwhile).
      const again = await ctx.api.call<Team>('GET', routes.getTeamNameRoute(row.name));
      if (again.status === 200) return again.data;
      throw failureOf(a, 'create team');
    });
  if (!mm) return effect;
  effect.mmId = mm.id;
  if (effect.changes.some((c) => c === 'created' || c.startsWith('bound to'))) {
    // Ours were made with the team and have no queued change of their own; Mattermost made its own with the team
    // (town-square, off-topic): bind them now, by name, so the team is whole in Mattermost from its first delivery.
    for (const c of await listChannels(ctx.db, teamId, { limit: 100 })) {
      if (bool(c.is_default) && !(await getBinding(ctx.db, 'channel', c.id))) effect.changes.push(...(await convergeChannel(ctx, c.id)).changes.map((x) => `${c.name}: ${x}`));
    }
  }
  const archived = row.archived_at != null;
  if (archived) {
    if (!mm.delete_at) ctx.api.expect((await effect.change('archived', () => ctx.api.call('DELETE', routes.getTeamRoute(mm.id)))) ?? ok, 'archive team');
    return effect;
  }
  if (mm.delete_at) ctx.api.expect((await effect.change('restored', () => ctx.api.call('POST', `${routes.getTeamRoute(mm.id)}/restore`))) ?? ok, 'restore team');
  if (mm.display_name !== row.display_name) {
    ctx.api.expect((await effect.change('updated display_name', () => ctx.api.call('PUT', `${routes.getTeamRoute(mm.id)}/patch`, { display_name: row.display_name }))) ?? ok, 'patch team');
  }
  if (mm.type !== row.type) {
    ctx.api.expect((await effect.change(`privacy ${row.type}`, () => ctx.api.call('PUT', `${routes.getTeamRoute(mm.id)}/privacy`, { privacy: row.type }))) ?? ok, 'team privacy');
  }
  return effect;
}

export async function convergeChannel(ctx: ConnectorCtx, channelId: string): Promise<Effect> {
  const effect = new Effect(ctx);
  const row = await getChannel(ctx.db, channelId);
  if (!row) return effect;
  const routes = ctx.api.client;
  // The team first: a channel lives in one.
  const team = await ensureBound(ctx, 'team', row.team_id, () => convergeTeam(ctx, row.team_id));
  if (!team) {
    effect.changes.push('would wait for its team');
    return effect;
  }
  const byName = () => `${routes.getTeamRoute(team)}/channels/name/${encodeURIComponent(row.name)}?include_deleted=true`;
  const mm = await boundOrFound<Channel>(ctx, effect, 'channel', channelId,
    (id) => routes.getChannelRoute(id), byName, row.archived_at != null,
    async () => {
      const a = await ctx.api.call<Channel>('POST', routes.getChannelsRoute(), { team_id: team, name: row.name, display_name: row.display_name, type: row.type });
      if (a.status === 201) return a.data;
      const again = await ctx.api.call<Channel>('GET', byName());
      if (again.status === 200) return again.data;
      throw failureOf(a, 'create channel');
    });
  if (!mm) return effect;
  effect.mmId = mm.id;
  if (row.archived_at != null) {
    if (!mm.delete_at) ctx.api.expect((await effect.change('archived', () => ctx.api.call('DELETE', routes.getChannelRoute(mm.id)))) ?? ok, 'archive channel');
    return effect;
  }
  if (mm.delete_at) ctx.api.expect((await effect.change('restored', () => ctx.api.call('POST', `${routes.getChannelRoute(mm.id)}/restore`))) ?? ok, 'restore channel');
  if (mm.display_name !== row.display_name) {
    ctx.api.expect((await effect.change('updated display_name', () => ctx.api.call('PUT', `${routes.getChannelRoute(mm.id)}/patch`, { display_name: row.display_name }))) ?? ok, 'patch channel');
  }
  if (mm.type !== row.type) {
    ctx.api.expect((await effect.change(`privacy ${row.type}`, () => ctx.api.call('PUT', `${routes.getChannelRoute(mm.id)}/privacy`, { privacy: row.type }))) ?? ok, 'channel privacy');
  }
  return effect;
}

const ok = { status: 200, data: null, errorId: null, message: null, version: null };

/** The Mattermost id of one of ours, converging it first when it is not bound yet (a dependency of a membership or
 * a channel); null in a dry run that would have to create it. */
export async function ensureBound(ctx: ConnectorCtx, kind: BindingKind, localId: string, converge: () => Promise<Effect>): Promise<string | null> {
  const b = await getBinding(ctx.db, kind, localId);
  if (b) return b.mmId;
  if (ctx.waitForQueued && !ctx.dryRun && (await hasPending(ctx.db, 'mattermost', { kind, id: localId }))) {
    // Its own delivery is queued or in flight: creating it here as well would race that delivery (both creates
    // reach Mattermost; one loses and adopts). Come back shortly instead.
    throw waitingFor(kind, localId);
  }
  return (await converge()).mmId;
}

export const WAITING_FOR_DEPENDENCY = 'waiting_for_dependency';
/** The transient failure of a delivery that waits for another entity's queued delivery (retried soon, not backed off). */
export const waitingFor = (kind: string, localId: string) =>
  new MattermostFailure('transient', `waiting for ${kind} ${localId} to be delivered first`, null, WAITING_FOR_DEPENDENCY, DEPENDENCY_WAIT_MS);
/** How long a delivery first waits for a dependency's own delivery before looking again (doubling per attempt). */
const DEPENDENCY_WAIT_MS = 250;

/**
 * The Mattermost object bound to ours (re-found by name if it was deleted there by hand), else the one of the same
 * name (adopted), else a new one (`create`), unless ours is archived and has never been in Mattermost.
 */
async function boundOrFound<T extends { id: string; name: string; delete_at: number }>(
  ctx: ConnectorCtx, effect: Effect, kind: 'team' | 'channel', localId: string,
  byId: (id: string) => string, byName: () => string, archived: boolean, create: () => Promise<T>,
): Promise<T | null> {
  const b = await getBinding(ctx.db, kind, localId);
  if (b) {
    const a = await ctx.api.call<T>('GET', byId(b.mmId));
    if (a.status === 200) return a.data;
    if (a.status !== 404) throw failureOf(a, `read ${kind}`);
    effect.changes.push(`${kind} was deleted in Mattermost; binding dropped`);
    if (!ctx.dryRun) await unbind(ctx.db, kind, localId);
  }
  const found = await ctx.api.call<T>('GET', byName());
  if (found.status === 200) {
    const other = await getBindingByMmId(ctx.db, kind, found.data.id);
    if (other && other.localId !== localId) throw new MattermostFailure('permanent', `the Mattermost ${kind} ${found.data.name} is bound to another ${kind} here (${other.localId})`);
    effect.changes.push(`bound to existing ${kind} ${found.data.name}`);
    if (!ctx.dryRun) await bind(ctx.db, { kind, localId, mmId: found.data.id, how: 'adopted', mmName: found.data.name });
    return found.data;
  }
  if (found.status !== 404) throw failureOf(found, `look up ${kind} by name`);
  if (archived) return null;
  if (ctx.dryRun) {
    effect.changes.push('created');
    return null;
  }
  const made = await create();
  effect.changes.push('created');
  await bind(ctx.db, { kind, localId, mmId: made.id, how: 'created', mmName: made.name });
  return made;
}
