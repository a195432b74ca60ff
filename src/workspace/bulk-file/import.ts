/**
 * Adopt an existing workspace from a Mattermost bulk-import file or a Mattermost export (`cli import mattermost`).
 *
 * Pass 1 streams the whole file and checks every line by the importer's rules and order (format.ts), plus what only
 * the whole file shows: a team, channel, username or email given twice. Any problem fails the import with every
 * problem as `line N: ...` and nothing applied. Lines of types this server does not keep (posts, direct channels,
 * emoji, schemes, roles, bots) are counted and skipped: an export of a real Mattermost is full of them.
 *
 * Pass 2 streams the file again and applies it in ONE transaction (all-or-nothing): teams by name and channels by team
 * and name are matched or created; people are matched by email (case-insensitive), never by username, and created
 * otherwise with the file's username as their workspace username, marked not yet bound to an IdP identity
 * (users.pending_binding_since); memberships are added with cause `import`. A username or userName already held by
 * someone with another email is a conflict that fails the import. Matched people keep their attributes (the IdP owns
 * them); only their memberships are added. People in batches of BATCH, each batch a few multi-row statements.
 * Every created or matched team, channel and person, and every membership added, is audited and queued for the
 * connector in the same transaction. `dryRun` runs the same pass 2 and rolls it back.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { writeAuditMany, type AuditEntry } from '../../store/audit.js';
import { bool } from '../../store/db.js';
import { fold } from '../../store/fold.js';
import {
  analyzeAfterImport, insertMembers, insertUsers, memberRows, usersByEmails, usersByUserNameFolds, usersByUsernames, type KnownUser, type NewMember,
} from '../../store/bulk-file.js';
import type { UserRow, ValueRow } from '../../store/users.js';
import { getChannelByName, getTeamByName, insertChannels, insertTeam, listChannels, reviveMember, type ChannelRow, type TeamRow } from '../../store/workspace.js';
import { userFromScim } from '../../scim/shared/user-representation.js';
import { AppError } from '../../errors/app-error.js';
import { auditOf, type WorkspaceCtx } from '../context.js';
import { channelOut, teamOut } from '../representation.js';
import { defaultDisplayName } from '../names.js';
import { LineOrder, parseLine, type ChannelLine, type TeamLine, type UserLine } from './format.js';

/** People per batch: one lookup of each kind and a few multi-row inserts each. */
const BATCH = 500;
/** Examples kept per outcome for the report (all are counted). */
const SAMPLE = 10;
/** Problems reported before the rest are only counted (a wholly wrong file would otherwise print millions). */
const MAX_ERRORS = 1000;
const CAUSE = 'import';

/** The file's lines, without their line ends, in order; called once per pass. */
export type LineSource = () => AsyncIterable<string>;

export interface Counts { created: number; matched: number; skipped: number }
export interface MemberCounts { added: number; existing: number; skipped: number }

export interface ImportReport {
  dryRun: boolean;
  lines: number;
  /** Lines of types not imported (post, direct_post, emoji, scheme, ...), by type. */
  skippedLines: Record<string, number>;
  teams: Counts;
  channels: Counts;
  people: Counts;
  teamMemberships: MemberCounts;
  channelMemberships: MemberCounts;
  /** A bounded sample of what was (or would be) created, matched and skipped, with the reason for a skip. */
  sample: { created: string[]; matched: string[]; skipped: string[] };
}

/** The file was not imported: every problem, as `line N: ...`. */
export class ImportRejected extends Error {
  constructor(readonly problems: string[], readonly more: number) {
    super(`the file was not imported (${problems.length + more} problem${problems.length + more === 1 ? '' : 's'}); nothing was applied`);
  }
}

/** Rolls the dry run's transaction back. */
class DryRun extends Error {}

export interface ImportOptions {
  dryRun: boolean;
  /** Progress: lines done in this pass and all lines (0 while pass 1 is still counting). */
  onProgress?: (pass: 1 | 2, done: number, total: number) => void;
}

class Problems {
  list: string[] = [];
  more = 0;
  add(line: number, msg: string): void {
    if (this.list.length < MAX_ERRORS) this.list.push(`line ${line}: ${msg}`);
    else this.more++;
  }
  get any(): boolean { return this.list.length > 0; }
}

interface FileTeam { line: number; data: TeamLine['team'] }
interface FileChannel { line: number; data: ChannelLine['channel'] }

/** Pass 1: every line checked; the teams and channels kept (a file has few), people only counted. */
async function check(source: LineSource, opts: ImportOptions, problems: Problems) {
  const order = new LineOrder();
  const teams = new Map<string, FileTeam>();
  const channels = new Map<string, FileChannel>();
  const usernames = new Map<string, number>();
  const emails = new Map<string, number>();
  const skippedLines: Record<string, number> = {};
  let n = 0;
  for await (const text of source()) {
    n++;
    if (n % 1000 === 0) opts.onProgress?.(1, n, 0);
    if (!text.trim()) continue;
    const r = parseLine(text);
    if (!r.ok) { problems.add(n, r.error); continue; }
    const type = r.value.type === 'other' ? r.value.lineType : r.value.type;
    const misplaced = order.next(type);
    if (misplaced) problems.add(n, misplaced);
    const v = r.value;
    if (v.type === 'other') skippedLines[v.lineType] = (skippedLines[v.lineType] ?? 0) + 1;
    else if (v.type === 'team') {
      const name = v.team.name.toLowerCase();
      const seen = teams.get(name);
      if (seen) problems.add(n, `team "${name}" is already on line ${seen.line}`);
      else teams.set(name, { line: n, data: { ...v.team, name } });
    } else if (v.type === 'channel') {
      const key = `${v.channel.team.toLowerCase()}/${v.channel.name.toLowerCase()}`;
      const seen = channels.get(key);
      if (seen) problems.add(n, `channel "${key}" is already on line ${seen.line}`);
      else channels.set(key, { line: n, data: { ...v.channel, team: v.channel.team.toLowerCase(), name: v.channel.name.toLowerCase() } });
    } else if (v.type === 'user') {
      const u = v.user.username.toLowerCase();
      const e = v.user.email.toLowerCase();
      const su = usernames.get(u);
      const se = emails.get(e);
      if (su) problems.add(n, `username "${u}" is already on line ${su}`);
      else usernames.set(u, n);
      if (se) problems.add(n, `email "${e}" is already on line ${se}`);
      else emails.set(e, n);
    }
  }
  return { lines: n, teams, channels, skippedLines };
}

type Pending = { line: number; user: UserLine['user'] };

/** What pass 2 keeps while it walks the file: the teams and channels by name, resolved once. */
class Places {
  private teams = new Map<string, TeamRow | null>();
  private channels = new Map<string, Map<string, ChannelRow>>();
  constructor(private tx: Knex.Transaction) {}
  set(t: TeamRow, channels: ChannelRow[]): void {
    this.teams.set(t.name, t);
    this.channels.set(t.id, new Map(channels.map((c) => [c.name, c])));
  }
  addChannel(c: ChannelRow): void { this.channels.get(c.team_id)?.set(c.name, c); }
  async team(name: string): Promise<TeamRow | null> {
    if (!this.teams.has(name)) {
      const t = (await getTeamByName(this.tx, name)) ?? null;
      this.teams.set(name, t);
      if (t) this.channels.set(t.id, await this.allChannels(t.id));
    }
    return this.teams.get(name)!;
  }
  channel(teamId: string, name: string): ChannelRow | undefined { return this.channels.get(teamId)?.get(name); }
  private async allChannels(teamId: string): Promise<Map<string, ChannelRow>> {
    const out = new Map<string, ChannelRow>();
    for (let after: string | undefined; ;) {
      const page = await listChannels(this.tx, teamId, { limit: 1000, after, includeArchived: true });
      for (const c of page) out.set(c.name, c);
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.name;
    }
  }
}

export async function importFile(ctx: WorkspaceCtx, source: LineSource, opts: ImportOptions): Promise<ImportReport> {
  const problems = new Problems();
  const file = await check(source, opts, problems);
  if (problems.any) throw new ImportRejected(problems.list, problems.more);

  const report: ImportReport = {
    dryRun: opts.dryRun, lines: file.lines, skippedLines: file.skippedLines,
    teams: { created: 0, matched: 0, skipped: 0 }, channels: { created: 0, matched: 0, skipped: 0 }, people: { created: 0, matched: 0, skipped: 0 },
    teamMemberships: { added: 0, existing: 0, skipped: 0 }, channelMemberships: { added: 0, existing: 0, skipped: 0 },
    sample: { created: [], matched: [], skipped: [] },
  };
  const sample = (kind: 'created' | 'matched' | 'skipped', what: string) => { if (report.sample[kind].length < SAMPLE) report.sample[kind].push(what); };
  const a = auditOf(ctx);

  try {
    await ctx.db.transaction(async (tx) => {
      const now = Date.now();
      const places = new Places(tx);
      const entries: AuditEntry[] = [];

      // ---- teams: matched by name, else created with their default channels (as createTeamTx does) -------------
      for (const { line, data } of file.teams.values()) {
        const found = await getTeamByName(tx, data.name);
        if (found) {
          await places.team(found.name);
          report.teams.matched++;
          sample('matched', `team ${found.name}${found.archived_at != null ? ' (archived here: its memberships are skipped)' : ''}`);
          entries.push({ ...a, operation: 'import_team', resourceType: 'Team', resourceId: found.id, cause: CAUSE, after: { matched: true, line, name: found.name } });
          continue;
        }
        const team: TeamRow = {
          id: randomUUID(), name: data.name, display_name: data.display_name.trim() || data.name, type: data.type, group_constrained: false,
          created_at: now, updated_at: now, archived_at: null,
        };
        const defaults: ChannelRow[] = ctx.sync.defaultChannels.map((name) => ({
          id: randomUUID(), team_id: team.id, name, display_name: defaultDisplayName(name), type: 'O', group_constrained: false, is_default: true,
          created_at: now, updated_at: now, archived_at: null,
        }));
        await insertTeam(tx, team);
        await insertChannels(tx, defaults);
        places.set(team, defaults);
        report.teams.created++;
        sample('created', `team ${team.name}`);
        entries.push({ ...a, operation: 'import_team', resourceType: 'Team', resourceId: team.id, cause: CAUSE, after: { matched: false, line, ...teamOut(team), defaultChannels: ctx.sync.defaultChannels } });
      }

      // ---- channels: matched by team and name, else created (archived when the file says deleted_at) ------------
      for (const { line, data } of file.channels.values()) {
        const team = await places.team(data.team);
        if (!team) { problems.add(line, `channel ${data.team}/${data.name}: team "${data.team}" is neither in the file nor here`); continue; }
        const found = places.channel(team.id, data.name) ?? (await getChannelByName(tx, team.id, data.name));
        if (found) {
          report.channels.matched++;
          sample('matched', `channel ${team.name}/${found.name}`);
          entries.push({ ...a, operation: 'import_channel', resourceType: 'Channel', resourceId: found.id, cause: CAUSE, after: { matched: true, line, teamId: team.id, name: found.name } });
          continue;
        }
        const deletedAt = data.deleted_at && data.deleted_at > 0 ? data.deleted_at : null;
        const row: ChannelRow = {
          id: randomUUID(), team_id: team.id, name: data.name, display_name: (data.display_name ?? '').trim() || data.name, type: data.type,
          group_constrained: false, is_default: false, created_at: now, updated_at: now, archived_at: deletedAt,
        };
        await insertChannels(tx, [row]);
        places.addChannel(row);
        report.channels.created++;
        sample('created', `channel ${team.name}/${row.name}${deletedAt ? ' (archived)' : ''}`);
        entries.push({ ...a, operation: 'import_channel', resourceType: 'Channel', resourceId: row.id, cause: CAUSE, after: { matched: false, line, ...channelOut(row) } });
      }
      await writeAuditMany(tx, entries);

      // ---- people, in batches -----------------------------------------------------------------------------------
      let batch: Pending[] = [];
      let n = 0;
      const flush = async () => {
        if (batch.length) await applyPeople(tx, ctx, batch, places, report, problems, sample, now);
        batch = [];
      };
      for await (const text of source()) {
        n++;
        if (n % 1000 === 0) opts.onProgress?.(2, n, file.lines);
        if (!text.includes('"user"')) continue; // cheap pre-filter: every user line names its type
        const r = parseLine(text);
        if (!r.ok || r.value.type !== 'user') continue;
        batch.push({ line: n, user: r.value.user });
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      opts.onProgress?.(2, file.lines, file.lines);
      if (problems.any) throw new ImportRejected(problems.list, problems.more);
      if (opts.dryRun) throw new DryRun();
    });
  } catch (err) {
    if (err instanceof DryRun) return report;
    throw err;
  }
  if (report.people.created + report.teamMemberships.added + report.channelMemberships.added > 10_000) await analyzeAfterImport(ctx.db);
  return report;
}

const teamRoles = (roles: string | undefined) => (roles ?? '').split(/\s+/);

/**
 * The system role of a person the file creates, from their Mattermost `roles` (model/role.go): until an IdP binds
 * them, the file is all that says what they may do; once bound, the IdP's roles decide.
 */
function systemRoleOf(roles: string | undefined): 'member' | 'admin' | 'guest' {
  const list = teamRoles(roles);
  return list.includes('system_admin') ? 'admin' : list.includes('system_guest') ? 'guest' : 'member';
}

/** One batch of people: matched or created, then their memberships; a few statements whatever the batch size. */
async function applyPeople(
  tx: Knex.Transaction, ctx: WorkspaceCtx, batch: Pending[], places: Places, report: ImportReport, problems: Problems,
  sample: (kind: 'created' | 'matched' | 'skipped', what: string) => void, now: number,
): Promise<void> {
  const a = auditOf(ctx);
  const entries: AuditEntry[] = [];
  const emails = batch.map((p) => p.user.email.toLowerCase());
  const byEmail = new Map<string, KnownUser[]>();
  for (const u of await usersByEmails(tx, emails)) byEmail.set(u.email!, [...(byEmail.get(u.email!) ?? []), u]);
  const byUsername = new Map((await usersByUsernames(tx, batch.map((p) => p.user.username.toLowerCase()))).map((u) => [u.username, u]));
  const byUserName = new Map((await usersByUserNameFolds(tx, emails.map(fold))).map((u) => [u.user_name_fold, u]));

  const newRows: UserRow[] = [];
  const newValues: (ValueRow & { user_id: string })[] = [];
  const people: { p: Pending; id: string }[] = [];
  for (const p of batch) {
    const email = p.user.email.toLowerCase();
    const username = p.user.username.toLowerCase();
    const known = byEmail.get(email) ?? [];
    const live = known.find((u) => u.deleted_at == null);
    if (live) {
      report.people.matched++;
      sample('matched', `person ${email} (line ${p.line}) as ${live.username}${live.username !== username ? ` (file: ${username})` : ''}`);
      entries.push({ ...a, operation: 'import_user', resourceType: 'User', resourceId: live.id, cause: CAUSE, after: { matched: true, line: p.line, username: live.username, fileUsername: username } });
      people.push({ p, id: live.id });
      continue;
    }
    if (known.length) {
      // The IdP deleted this person (SCIM DELETE keeps the row): an import does not bring them back; the IdP does,
      // by POSTing their externalId again.
      report.people.skipped++;
      sample('skipped', `person ${email} (line ${p.line}): deleted by the IdP here; not re-created`);
      continue;
    }
    const holder = byUsername.get(username);
    if (holder) { problems.add(p.line, `username "${username}" belongs to another person here (${holder.email ?? 'no email'}${holder.deleted_at != null ? ', deleted' : ''}); people are matched by email, never by username`); continue; }
    const nameHolder = byUserName.get(fold(email));
    if (nameHolder) { problems.add(p.line, `the SCIM userName "${email}" belongs to another person here (${nameHolder.email ?? 'no email'})`); continue; }
    let input;
    try {
      input = userFromScim({
        userName: email,
        name: { givenName: p.user.first_name || undefined, familyName: p.user.last_name || undefined },
        displayName: [p.user.first_name, p.user.last_name].filter(Boolean).join(' ') || undefined,
        nickName: p.user.nickname || undefined,
        title: p.user.position || undefined,
        locale: p.user.locale || undefined,
        active: !(p.user.delete_at && p.user.delete_at > 0),
        emails: [{ value: email, type: 'work', primary: true }],
      });
    } catch (err) {
      problems.add(p.line, err instanceof AppError ? err.message : String(err));
      continue;
    }
    const row: UserRow = {
      ...input.fields, id: randomUUID(), username, system_role: systemRoleOf(p.user.roles),
      deactivated_at: input.fields.active ? null : p.user.delete_at!, deleted_at: null, created_at: now, updated_at: now, version: 1,
      pending_binding_since: now,
    };
    newRows.push(row);
    for (const v of input.values) newValues.push({ ...v, user_id: row.id });
    report.people.created++;
    sample('created', `person ${email} as ${username} (line ${p.line})${row.active ? '' : ', deactivated'}`);
    entries.push({ ...a, operation: 'import_user', resourceType: 'User', resourceId: row.id, cause: CAUSE, after: { matched: false, line: p.line, userName: row.user_name, username, email, active: row.active, systemRole: row.system_role, pendingBinding: true } });
    people.push({ p, id: row.id });
  }
  if (problems.any) return; // the import fails: keep checking the rest of the file, apply nothing more
  await insertUsers(tx, newRows, newValues);
  const createdIds = new Set(newRows.map((r) => r.id));

  // ---- memberships --------------------------------------------------------------------------------------------
  const teamAdds: (NewMember & { line: number })[] = [];
  const channelAdds: (NewMember & { line: number })[] = [];
  for (const { p, id } of people) {
    for (const t of p.user.teams ?? []) {
      const name = t.name.toLowerCase();
      const team = await places.team(name);
      if (!team) { problems.add(p.line, `teams: team "${name}" is neither in the file nor here`); continue; }
      const skipTeam = team.archived_at != null ? 'archived here' : bool(team.group_constrained) ? 'group-constrained here (members come from linked groups)' : null;
      if (skipTeam) {
        report.teamMemberships.skipped++;
        report.channelMemberships.skipped += t.channels?.length ?? 0;
        sample('skipped', `membership of ${p.user.username} in team ${name}: ${skipTeam}`);
        continue;
      }
      teamAdds.push({ syncableId: team.id, userId: id, schemeAdmin: teamRoles(t.roles).includes('team_admin'), line: p.line });
      for (const c of t.channels ?? []) {
        const cname = c.name.toLowerCase();
        const channel = places.channel(team.id, cname);
        if (!channel) { problems.add(p.line, `teams: channel "${name}/${cname}" is neither in the file nor here`); continue; }
        const skip = channel.archived_at != null ? 'archived' : bool(channel.group_constrained) ? 'group-constrained here' : null;
        if (skip) {
          report.channelMemberships.skipped++;
          sample('skipped', `membership of ${p.user.username} in channel ${name}/${cname}: ${skip}`);
          continue;
        }
        channelAdds.push({ syncableId: channel.id, userId: id, schemeAdmin: teamRoles(c.roles).includes('channel_admin'), line: p.line });
      }
    }
  }
  if (problems.any) return;
  for (const [kind, adds, counts] of [['team', teamAdds, report.teamMemberships], ['channel', channelAdds, report.channelMemberships]] as const) {
    // People created in this batch have no memberships yet: only the matched ones are looked up.
    const known = adds.filter((m) => !createdIds.has(m.userId));
    const existing = await memberRows(tx, kind, known.map((m) => m.syncableId), known.map((m) => m.userId));
    const fresh: NewMember[] = [];
    for (const m of adds) {
      const row = existing.get(`${m.syncableId}:${m.userId}`);
      if (row && !row.removed) { counts.existing++; continue; }
      // A tombstoned membership comes back as the same row (Mattermost clears DeleteAt on rejoin): the file says
      // the person is a member, and an import is an administrator's act.
      if (row) await reviveMember(tx, kind, m.syncableId, m.userId, { schemeAdmin: m.schemeAdmin, addedBy: CAUSE, now });
      else fresh.push(m);
      existing.set(`${m.syncableId}:${m.userId}`, { removed: false });
      counts.added++;
      entries.push({
        ...a, operation: kind === 'team' ? 'team_add' : 'channel_add', resourceType: kind === 'team' ? 'TeamMember' : 'ChannelMember', resourceId: m.userId, cause: CAUSE,
        after: { [`${kind}Id`]: m.syncableId, userId: m.userId, schemeAdmin: m.schemeAdmin, ...(row ? { readded: true } : {}) },
      });
    }
    await insertMembers(tx, kind, fresh, CAUSE, now);
  }
  await writeAuditMany(tx, entries);
}
