/**
 * Team use-cases: create (with its default channels), list, read, change, archive. Each change runs in one
 * transaction with its audit rows; making a team group-constrained (or not) reconciles it at once.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { writeAudit } from '../store/audit.js';
import {
  getTeam, insertChannels, insertTeam, listTeams as listTeamRows, updateTeam as updateTeamRow, type ChannelRow, type TeamRow,
} from '../store/workspace.js';
import { channelOut, teamOut, type Channel, type Team } from './representation.js';
import type { AuditCtx, ReconcileStats, SyncEngine } from '../sync/engine.js';
import { auditOf, type WorkspaceCtx } from './context.js';
import { badRequest, conflict, notFound, rethrowUnique } from './errors.js';
import { defaultDisplayName, displayNameProblem, teamNameProblem } from './names.js';

export interface TeamInput { name: string; displayName: string; type?: 'O' | 'I'; groupConstrained?: boolean }
export interface TeamPatch { displayName?: string; type?: 'O' | 'I'; groupConstrained?: boolean }

function checkType(type: unknown): asserts type is 'O' | 'I' | undefined {
  if (type !== undefined && type !== 'O' && type !== 'I') throw badRequest('invalid_type', 'team type must be "O" (open) or "I" (invite only)');
}

/**
 * Create a team and its default channels (open, `is_default`, named by DEFAULT_CHANNELS: town-square and off-topic
 * unless configured), inside the caller's transaction. Used by the admin API, the CLI and the mapping file.
 */
export async function createTeamTx(tx: Knex.Transaction, sync: SyncEngine, input: TeamInput, a: AuditCtx): Promise<{ team: Team; channels: Channel[] }> {
  const problem = teamNameProblem(input.name) ?? displayNameProblem('team', input.displayName);
  if (problem) throw badRequest(problem.includes('display') ? 'invalid_display_name' : 'invalid_name', problem);
  checkType(input.type);
  if (input.groupConstrained !== undefined && typeof input.groupConstrained !== 'boolean') throw badRequest('invalid_value', 'groupConstrained must be a boolean');
  const now = Date.now();
  const team: TeamRow = {
    id: randomUUID(), name: input.name, display_name: input.displayName.trim(), type: input.type ?? 'O', group_constrained: input.groupConstrained ?? false,
    created_at: now, updated_at: now, archived_at: null,
  };
  const channels: ChannelRow[] = sync.defaultChannels.map((name) => ({
    id: randomUUID(), team_id: team.id, name, display_name: defaultDisplayName(name), type: 'O', group_constrained: false, is_default: true,
    created_at: now, updated_at: now, archived_at: null,
  }));
  try {
    await insertTeam(tx, team);
  } catch (err) {
    rethrowUnique(err, `a team named "${input.name}" already exists`);
  }
  await insertChannels(tx, channels);
  await writeAudit(tx, { ...a, operation: 'create_team', resourceType: 'Team', resourceId: team.id, after: { ...teamOut(team), defaultChannels: sync.defaultChannels } });
  return { team: teamOut(team), channels: channels.map(channelOut) };
}

export async function createTeam(ctx: WorkspaceCtx, input: TeamInput): Promise<{ team: Team; channels: Channel[] }> {
  return ctx.db.transaction((tx) => createTeamTx(tx, ctx.sync, input, auditOf(ctx)));
}

export async function listTeams(ctx: WorkspaceCtx, q: { limit: number; after?: string; includeArchived?: boolean }): Promise<{ items: Team[]; next: string | null }> {
  const rows = await listTeamRows(ctx.db, q);
  return { items: rows.map(teamOut), next: rows.length === q.limit ? rows[rows.length - 1]!.name : null };
}

export async function readTeam(db: Knex | Knex.Transaction, id: string): Promise<TeamRow> {
  const row = await getTeam(db, id);
  if (!row) throw notFound('team', id);
  return row;
}

export function assertLive(row: { archived_at: unknown }, what: string): void {
  if (row.archived_at != null) throw conflict('archived', `${what} is archived`);
}

/** Change a team; a change of groupConstrained reconciles the team (Mattermost syncs when the setting changes). */
export async function updateTeam(ctx: WorkspaceCtx, id: string, patch: TeamPatch): Promise<{ team: Team; reconcile: ReconcileStats | null }> {
  if (patch.displayName !== undefined) {
    const p = displayNameProblem('team', patch.displayName);
    if (p) throw badRequest('invalid_display_name', p);
  }
  checkType(patch.type);
  if (patch.groupConstrained !== undefined && typeof patch.groupConstrained !== 'boolean') throw badRequest('invalid_value', 'groupConstrained must be a boolean');
  return ctx.db.transaction(async (tx) => {
    const row = await readTeam(tx, id);
    assertLive(row, `team ${row.name}`);
    const before = teamOut(row);
    const next: TeamRow = {
      ...row,
      ...(patch.displayName !== undefined ? { display_name: patch.displayName.trim() } : {}),
      ...(patch.type !== undefined ? { type: patch.type } : {}),
      ...(patch.groupConstrained !== undefined ? { group_constrained: patch.groupConstrained } : {}),
    };
    const after = teamOut(next);
    const changed = before.displayName !== after.displayName || before.type !== after.type || before.groupConstrained !== after.groupConstrained;
    if (!changed) return { team: before, reconcile: null };
    const now = Date.now();
    await updateTeamRow(tx, id, { display_name: next.display_name, type: next.type, group_constrained: next.group_constrained, updated_at: now });
    await writeAudit(tx, { ...auditOf(ctx), operation: 'update_team', resourceType: 'Team', resourceId: id, before, after });
    const reconcile = before.groupConstrained !== after.groupConstrained ? await ctx.sync.reconcile(tx, { teamId: id }, {}, auditOf(ctx)) : null;
    return { team: teamOut({ ...next, updated_at: now }), reconcile };
  });
}

/** Archive a team: memberships are kept (as Mattermost's team DeleteAt), sync skips it from now on. Idempotent. */
export async function archiveTeam(ctx: WorkspaceCtx, id: string): Promise<Team> {
  return ctx.db.transaction(async (tx) => {
    const row = await readTeam(tx, id);
    if (row.archived_at != null) return teamOut(row);
    const now = Date.now();
    await updateTeamRow(tx, id, { archived_at: now, updated_at: now });
    await writeAudit(tx, { ...auditOf(ctx), operation: 'archive_team', resourceType: 'Team', resourceId: id, before: { name: row.name } });
    return teamOut({ ...row, archived_at: now, updated_at: now });
  });
}
