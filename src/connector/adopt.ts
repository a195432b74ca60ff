/**
 * Adopting an existing workspace: before the first delivery, bind each of ours to what Mattermost already has
 * (people by email, teams by name, channels by name in their team), so nobody gets a second account and no team a
 * twin. A dry run only reports what would be bound, what would be created, and which Mattermost accounts the server
 * would leave alone (they are not in the store). The real run binds, then queues everything of ours so the worker
 * creates what is missing and brings the rest in line, memberships included.
 */
import type { UserProfile } from '@mattermost/types/users';
import { writeAudit } from '../store/audit.js';
import { bind, getBinding, getBindingByMmId } from '../store/mattermost-bindings.js';
import { enqueueWorkspace } from '../store/outbox.js';
import { getUser, userIdPage } from '../store/users.js';
import { listChannels, listTeams } from '../store/workspace.js';
import type { ConnectorCtx } from './context.js';
import { failureOf } from './mattermost-api.js';

export interface AdoptReport {
  dryRun: boolean;
  bound: { kind: string; ours: string; mattermost: string }[];
  alreadyBound: number;
  toCreate: { kind: string; ours: string }[];
  leftAlone: { count: number; sample: string[] };
}

const PAGE = 200;
const LISTED = 1000;

export async function adopt(ctx: ConnectorCtx, opts: { actor: string }): Promise<AdoptReport> {
  const r: AdoptReport = { dryRun: ctx.dryRun, bound: [], alreadyBound: 0, toCreate: [], leftAlone: { count: 0, sample: [] } };
  const routes = ctx.api.client;
  const note = (list: unknown[], item: unknown) => { if (list.length < LISTED) list.push(item); };
  const bindIt = async (kind: 'user' | 'team' | 'channel', localId: string, ours: string, mm: { id: string; name?: string; username?: string }) => {
    const other = await getBindingByMmId(ctx.db, kind, mm.id);
    if (other && other.localId !== localId) return; // theirs is someone else's already: leave it to the worker to report
    note(r.bound, { kind, ours, mattermost: mm.username ?? mm.name ?? mm.id });
    if (ctx.dryRun) return;
    await bind(ctx.db, { kind, localId, mmId: mm.id, how: 'adopted', mmName: mm.username ?? mm.name ?? null });
    await writeAudit(ctx.db, { actor: opts.actor, operation: 'connector_bind', resourceType: kind === 'user' ? 'User' : kind === 'team' ? 'Team' : 'Channel', resourceId: localId, after: { mattermostId: mm.id, name: mm.username ?? mm.name } });
  };

  for (let after: string | undefined; ;) {
    const teams = await listTeams(ctx.db, { limit: PAGE, after });
    for (const t of teams) {
      let teamMm = (await getBinding(ctx.db, 'team', t.id))?.mmId ?? null;
      if (teamMm) r.alreadyBound++;
      else {
        const a = await ctx.api.call<{ id: string; name: string }>('GET', routes.getTeamNameRoute(t.name));
        if (a.status === 200) {
          await bindIt('team', t.id, t.name, a.data);
          teamMm = a.data.id;
        } else if (a.status === 404) note(r.toCreate, { kind: 'team', ours: t.name });
        else throw failureOf(a, 'look up team');
      }
      for (let cafter: string | undefined; ;) {
        const channels = await listChannels(ctx.db, t.id, { limit: PAGE, after: cafter });
        for (const c of channels) {
          if (await getBinding(ctx.db, 'channel', c.id)) { r.alreadyBound++; continue; }
          if (!teamMm) { note(r.toCreate, { kind: 'channel', ours: `${t.name}/${c.name}` }); continue; }
          const a = await ctx.api.call<{ id: string; name: string }>('GET', `${routes.getTeamRoute(teamMm)}/channels/name/${encodeURIComponent(c.name)}?include_deleted=true`);
          if (a.status === 200) await bindIt('channel', c.id, `${t.name}/${c.name}`, a.data);
          else if (a.status === 404) note(r.toCreate, { kind: 'channel', ours: `${t.name}/${c.name}` });
          else throw failureOf(a, 'look up channel');
        }
        if (channels.length < PAGE) break;
        cafter = channels[channels.length - 1]!.name;
      }
    }
    if (teams.length < PAGE) break;
    after = teams[teams.length - 1]!.name;
  }

  const matched = new Set<string>();
  for (let after: string | null = null; ;) {
    const ids = await userIdPage(ctx.db, after, PAGE);
    for (const id of ids) {
      const row = await getUser(ctx.db, id, { includeDeleted: true });
      if (!row) continue;
      const existing = await getBinding(ctx.db, 'user', id);
      if (existing) { r.alreadyBound++; matched.add(existing.mmId); continue; }
      const a = row.email ? await ctx.api.call<UserProfile>('GET', `${routes.getUsersRoute()}/email/${encodeURIComponent(row.email.toLowerCase())}`) : null;
      if (a?.status === 200) {
        matched.add(a.data.id);
        await bindIt('user', id, row.user_name, a.data);
      } else if (a && a.status !== 404 && a.status !== 400) throw failureOf(a, 'look up user');
      else if (row.active && row.deleted_at == null) note(r.toCreate, { kind: 'user', ours: row.user_name });
    }
    if (ids.length < PAGE) break;
    after = ids[ids.length - 1]!;
  }

  // Mattermost's accounts that are nobody here: left alone (bots and the token's owner among them).
  for (let page = 0; ; page++) {
    const a = await ctx.api.call<UserProfile[]>('GET', `${routes.getUsersRoute()}?page=${page}&per_page=${PAGE}`);
    if (a.status !== 200 || !Array.isArray(a.data)) throw failureOf(a, 'list users');
    for (const u of a.data) {
      if (matched.has(u.id) || (await getBindingByMmId(ctx.db, 'user', u.id))) continue;
      r.leftAlone.count++;
      if (r.leftAlone.sample.length < 50) r.leftAlone.sample.push(u.username);
    }
    if (a.data.length < PAGE) break;
  }

  if (!ctx.dryRun) await enqueueWorkspace(ctx.db, 'mattermost', 'adopt');
  return r;
}
