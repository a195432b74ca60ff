/**
 * How an admin names a team, a channel or a group, the same in the admin API and the CLI: a team by id or name, a
 * channel by id or `team/channel` (channel names are unique per team only), a group by id or externalId (display
 * names are not unique, RFC 7643 §4.2). Ids are tried first: they are what the API answers with.
 */
import type { Knex } from 'knex';
import {
  findLiveGroup, getChannel, getChannelByName, getLiveGroup, getTeam, getTeamByName, type ChannelRow, type GroupRef, type TeamRow,
} from '../store/workspace.js';

/** Longest reference taken: a team name and a channel name are 64 characters each, ids 36; externalIds are longer. */
export const MAX_REF = 512;

export async function findTeam(db: Knex, ref: string): Promise<TeamRow | undefined> {
  if (!ref || ref.length > MAX_REF) return undefined;
  return (await getTeam(db, ref)) ?? (await getTeamByName(db, ref));
}

/** A channel by id, or by `team/channel` with the team named by id or name. */
export async function findChannel(db: Knex, ref: string): Promise<ChannelRow | undefined> {
  if (!ref || ref.length > MAX_REF) return undefined;
  const byId = await getChannel(db, ref);
  if (byId) return byId;
  const slash = ref.indexOf('/');
  if (slash < 1) return undefined;
  const team = await findTeam(db, ref.slice(0, slash));
  return team ? getChannelByName(db, team.id, ref.slice(slash + 1)) : undefined;
}

/** A live group by id or externalId. */
export async function findGroup(db: Knex, ref: string): Promise<GroupRef | undefined> {
  if (!ref || ref.length > MAX_REF) return undefined;
  return (await getLiveGroup(db, ref)) ?? (await findLiveGroup(db, { externalId: ref }));
}
