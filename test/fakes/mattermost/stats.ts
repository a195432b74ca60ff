// GET /__fake/stats: what the fake holds, for the benchmark (bench/scenarios/mattermost-initial-sync.ts), which runs
// the fake in another process and cannot read its state. NOT part of Mattermost's API: the path is outside /api/v4,
// takes no token, is never rate limited and is not counted in `requests`. The fake's own two accounts (the connector's
// bot and the plain user) and their memberships are left out, so the counts are what a client put there.
import type { FakeState } from './model.ts';

export interface FakeStats {
  users: number;
  activeUsers: number;
  teams: number;
  channels: number;
  /** Team memberships not soft-deleted. */
  teamMembers: number;
  channelMembers: number;
  /** Requests answered (every status, 429s included), by status, and when the first and last arrived (epoch ms). */
  requests: number;
  byStatus: Record<string, number>;
  firstRequestAt: number | null;
  lastRequestAt: number | null;
}

export function fakeStats(state: FakeState, ownerIds: ReadonlySet<string>, requests: readonly { status: number; at: number }[]): FakeStats {
  let users = 0;
  let activeUsers = 0;
  for (const u of state.users.values()) {
    if (ownerIds.has(u.id)) continue;
    users++;
    if (u.delete_at === 0) activeUsers++;
  }
  let teamMembers = 0;
  for (const m of state.teamMembers.values()) if (!m.delete_at && !ownerIds.has(m.user_id)) teamMembers++;
  let channelMembers = 0;
  for (const m of state.channelMembers.values()) if (!ownerIds.has(m.user_id)) channelMembers++;
  const byStatus: Record<string, number> = {};
  for (const r of requests) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return {
    users, activeUsers, teams: state.teams.size, channels: state.channels.size, teamMembers, channelMembers,
    requests: requests.length, byStatus, firstRequestAt: requests[0]?.at ?? null, lastRequestAt: requests.at(-1)?.at ?? null,
  };
}
