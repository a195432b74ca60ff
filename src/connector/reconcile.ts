/**
 * Drift repair: compare what this server manages with what Mattermost holds and put Mattermost back in line (the
 * IdP, through this server, is the source of truth; a Mattermost admin's hand edits to managed objects are undone).
 * It walks every team, channel and person of the store and converges each (the same effects the worker sends), then
 * pages through the members of each managed team and channel in Mattermost (per_page 200, Mattermost's maximum:
 * server/channels/web/params.go) to find managed people added or kept there by hand, or whose admin or guest flags
 * there were changed by hand. A person's system role (admin, guest) is compared and put back by the user effect. Users, teams and channels the
 * server does not manage (no binding, no row here) are never touched.
 */
import type { TeamMembership } from '@mattermost/types/teams';
import type { ChannelMembership } from '@mattermost/types/channels';
import { writeAudit } from '../store/audit.js';
import { bindingPage, type Binding } from '../store/mattermost-bindings.js';
import { userIdPage } from '../store/users.js';
import { listChannels, listMembers, listTeams, type TeamRow } from '../store/workspace.js';
import type { ConnectorCtx, Effect } from './context.js';
import { failureOf, MattermostFailure } from './mattermost-api.js';
import { convergeUser } from './users.js';
import { convergeChannel, convergeTeam } from './teams.js';
import { convergeChannelMember, convergeTeamMember, flagsFor, flagsOf, sameFlags, type SchemeFlags } from './members.js';
import { bool } from '../store/db.js';

export interface Difference { entity: string; changes: string[] }
export interface ReconcileReport { dryRun: boolean; checked: number; fixed: number; failed: number; differences: Difference[]; errors: Difference[] }

const PAGE = 200;
/** Differences listed in the report (all are counted). */
const LISTED = 1000;

export async function reconcile(ctx: ConnectorCtx, opts: { actor: string; requestId?: string; onChecked?: (checked: number) => void }): Promise<ReconcileReport> {
  const report: ReconcileReport = { dryRun: ctx.dryRun, checked: 0, fixed: 0, failed: 0, differences: [], errors: [] };
  const step = async (entity: string, run: () => Promise<Effect>) => {
    report.checked++;
    opts.onChecked?.(report.checked);
    try {
      const e = await run();
      if (e.changes.length) {
        report.fixed++;
        if (report.differences.length < LISTED) report.differences.push({ entity, changes: e.changes });
      }
    } catch (err) {
      // One entity that cannot be fixed (a parked-style failure) does not stop the others; an outage does.
      if (err instanceof MattermostFailure && err.kind !== 'permanent') throw err;
      report.failed++;
      if (report.errors.length < LISTED) report.errors.push({ entity, changes: [(err as Error).message] });
    }
  };

  const teams: TeamRow[] = [];
  for (let after: string | undefined; ;) {
    const page = await listTeams(ctx.db, { limit: PAGE, after, includeArchived: true });
    teams.push(...page);
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.name;
  }
  for (const t of teams) {
    await step(`team:${t.name}`, () => convergeTeam(ctx, t.id));
    for (let after: string | undefined; ;) {
      const page = await listChannels(ctx.db, t.id, { limit: PAGE, after, includeArchived: true });
      for (const c of page) await step(`channel:${t.name}/${c.name}`, () => convergeChannel(ctx, c.id));
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.name;
    }
  }
  for (let after: string | null = null; ;) {
    const ids = await userIdPage(ctx.db, after, PAGE);
    for (const id of ids) await step(`user:${id}`, () => convergeUser(ctx, id));
    if (ids.length < PAGE) break;
    after = ids[ids.length - 1]!;
  }

  // Memberships, both directions: ours that Mattermost lacks, and managed people Mattermost has that we do not.
  const users = await userBindings(ctx);
  const teamBindings = await all(ctx, 'team');
  const channelBindings = await all(ctx, 'channel');
  const channelTeam = new Map<string, string>();
  for (const t of teams) {
    if (t.archived_at != null) continue;
    for (let after: string | undefined; ;) {
      const page = await listChannels(ctx.db, t.id, { limit: PAGE, after });
      for (const c of page) channelTeam.set(c.id, t.id);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.name;
    }
  }
  for (const t of teams) {
    const b = teamBindings.get(t.id);
    if (!b || t.archived_at != null) continue;
    const there = await mmMembers<TeamMembership>(ctx, `${ctx.api.client.getTeamMembersRoute(b.mmId)}`, (m) => !m.delete_at);
    const ours = await storeMembers(ctx, 'team', t.id);
    for (const [userId, want] of ours) if (differs(there, users.toMm.get(userId), want)) await step(`team_member:${t.name}/${userId}`, () => convergeTeamMember(ctx, t.id, userId));
    for (const mmUser of there.keys()) {
      const local = users.toLocal.get(mmUser);
      if (local && !ours.has(local)) await step(`team_member:${t.name}/${local}`, () => convergeTeamMember(ctx, t.id, local));
    }
  }
  for (const [channelId, teamId] of channelTeam) {
    const b = channelBindings.get(channelId);
    if (!b || !teamBindings.has(teamId)) continue;
    const there = await mmMembers<ChannelMembership>(ctx, ctx.api.client.getChannelMembersRoute(b.mmId), () => true);
    const ours = await storeMembers(ctx, 'channel', channelId);
    for (const [userId, want] of ours) if (differs(there, users.toMm.get(userId), want)) await step(`channel_member:${b.mmName ?? channelId}/${userId}`, () => convergeChannelMember(ctx, channelId, userId));
    for (const mmUser of there.keys()) {
      const local = users.toLocal.get(mmUser);
      if (local && !ours.has(local)) await step(`channel_member:${b.mmName ?? channelId}/${local}`, () => convergeChannelMember(ctx, channelId, local));
    }
  }

  if (!ctx.dryRun) {
    await writeAudit(ctx.db, {
      actor: opts.actor, requestId: opts.requestId, operation: 'connector_reconcile', resourceType: 'Connector', resourceId: null,
      after: { checked: report.checked, fixed: report.fixed, failed: report.failed, differences: report.differences.slice(0, 100) },
    });
  }
  return report;
}

async function all(ctx: ConnectorCtx, kind: 'user' | 'team' | 'channel'): Promise<Map<string, Binding>> {
  const out = new Map<string, Binding>();
  for (let after: string | null = null; ;) {
    const page = await bindingPage(ctx.db, kind, after, 5000);
    for (const b of page) out.set(b.localId, b);
    if (page.length < 5000) break;
    after = page[page.length - 1]!.localId;
  }
  return out;
}

async function userBindings(ctx: ConnectorCtx) {
  const byLocal = await all(ctx, 'user');
  const toMm = new Map<string, string>();
  const toLocal = new Map<string, string>();
  for (const b of byLocal.values()) {
    toMm.set(b.localId, b.mmId);
    toLocal.set(b.mmId, b.localId);
  }
  return { toMm, toLocal };
}

/** A membership of ours Mattermost lacks, or holds with other scheme flags (an admin or guest flag changed by hand). */
function differs(there: Map<string, SchemeFlags>, mmUser: string | undefined, want: SchemeFlags): boolean {
  const have = mmUser ? there.get(mmUser) : undefined;
  return !have || !sameFlags(have, want);
}

/** Live members of ours of a team or channel, with the scheme flags Mattermost should hold for each (people who are
 * deactivated are not expected in Mattermost's list). */
async function storeMembers(ctx: ConnectorCtx, kind: 'team' | 'channel', id: string): Promise<Map<string, SchemeFlags>> {
  const out = new Map<string, SchemeFlags>();
  for (let after: string | undefined; ;) {
    const page = await listMembers(ctx.db, kind, id, { limit: 1000, after, active: true });
    for (const m of page) out.set(m.user_id, flagsFor(m.system_role ?? 'member', bool(m.scheme_admin)));
    if (page.length < 1000) break;
    after = page[page.length - 1]!.user_id;
  }
  return out;
}

/** The members of a Mattermost member list and their scheme flags, paged to the end (a page shorter than asked is
 * the last). */
async function mmMembers<T extends { user_id: string }>(ctx: ConnectorCtx, route: string, keep: (m: T) => boolean): Promise<Map<string, SchemeFlags>> {
  const out = new Map<string, SchemeFlags>();
  for (let page = 0; ; page++) {
    const a = await ctx.api.call<T[]>('GET', `${route}?page=${page}&per_page=${PAGE}`);
    if (a.status !== 200 || !Array.isArray(a.data)) throw failureOf(a, 'list members');
    for (const m of a.data) if (keep(m)) out.set(m.user_id, flagsOf(m as Partial<SchemeFlags>));
    if (a.data.length < PAGE) break;
  }
  return out;
}
