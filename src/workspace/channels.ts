/**
 * Channel use-cases: create in a team, list, change, archive. Making a channel group-constrained (or not)
 * reconciles it at once. Default channels (`is_default`) must be open: a team join adds people to them.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { writeAudit } from '../store/audit.js';
import {
  getChannel, insertChannels, listChannels as listChannelRows, updateChannel as updateChannelRow, type ChannelRow,
} from '../store/workspace.js';
import { channelOut, type Channel } from './representation.js';
import type { AuditCtx, ReconcileStats } from '../sync/engine.js';
import { auditOf, type WorkspaceCtx } from './context.js';
import { badRequest, notFound, rethrowUnique } from './errors.js';
import { channelNameProblem, displayNameProblem } from './names.js';
import { assertLive, readTeam } from './teams.js';

export interface ChannelInput { name: string; displayName: string; type?: 'O' | 'P'; groupConstrained?: boolean; isDefault?: boolean }
export interface ChannelPatch { displayName?: string; type?: 'O' | 'P'; groupConstrained?: boolean; isDefault?: boolean }

function checkFlags(v: { type?: unknown; groupConstrained?: unknown; isDefault?: unknown }): void {
  if (v.type !== undefined && v.type !== 'O' && v.type !== 'P') throw badRequest('invalid_type', 'channel type must be "O" (public) or "P" (private)');
  for (const k of ['groupConstrained', 'isDefault'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'boolean') throw badRequest('invalid_value', `${k} must be a boolean`);
  }
}

function checkDefaultIsOpen(type: string, isDefault: boolean): void {
  if (isDefault && type !== 'O') throw badRequest('invalid_value', 'a default channel must be open (type "O")');
}

export async function createChannelTx(tx: Knex.Transaction, teamId: string, input: ChannelInput, a: AuditCtx): Promise<Channel> {
  const problem = channelNameProblem(input.name);
  if (problem) throw badRequest('invalid_name', problem);
  const dp = displayNameProblem('channel', input.displayName);
  if (dp) throw badRequest('invalid_display_name', dp);
  checkFlags(input);
  checkDefaultIsOpen(input.type ?? 'O', input.isDefault ?? false);
  const team = await readTeam(tx, teamId);
  assertLive(team, `team ${team.name}`);
  const now = Date.now();
  const row: ChannelRow = {
    id: randomUUID(), team_id: teamId, name: input.name, display_name: input.displayName.trim(), type: input.type ?? 'O',
    group_constrained: input.groupConstrained ?? false, is_default: input.isDefault ?? false, created_at: now, updated_at: now, archived_at: null,
  };
  try {
    await insertChannels(tx, [row]);
  } catch (err) {
    rethrowUnique(err, `team ${team.name} already has a channel named "${input.name}"`);
  }
  await writeAudit(tx, { ...a, operation: 'create_channel', resourceType: 'Channel', resourceId: row.id, after: channelOut(row) });
  return channelOut(row);
}

export async function createChannel(ctx: WorkspaceCtx, teamId: string, input: ChannelInput): Promise<Channel> {
  return ctx.db.transaction((tx) => createChannelTx(tx, teamId, input, auditOf(ctx)));
}

export async function listChannels(ctx: WorkspaceCtx, teamId: string, q: { limit: number; after?: string; includeArchived?: boolean }): Promise<{ items: Channel[]; next: string | null }> {
  await readTeam(ctx.db, teamId);
  const rows = await listChannelRows(ctx.db, teamId, q);
  return { items: rows.map(channelOut), next: rows.length === q.limit ? rows[rows.length - 1]!.name : null };
}

export async function readChannel(db: Knex | Knex.Transaction, id: string): Promise<ChannelRow> {
  const row = await getChannel(db, id);
  if (!row) throw notFound('channel', id);
  return row;
}

export async function updateChannel(ctx: WorkspaceCtx, id: string, patch: ChannelPatch): Promise<{ channel: Channel; reconcile: ReconcileStats | null }> {
  if (patch.displayName !== undefined) {
    const p = displayNameProblem('channel', patch.displayName);
    if (p) throw badRequest('invalid_display_name', p);
  }
  checkFlags(patch);
  return ctx.db.transaction(async (tx) => {
    const row = await readChannel(tx, id);
    assertLive(row, `channel ${row.name}`);
    const before = channelOut(row);
    const next: ChannelRow = {
      ...row,
      ...(patch.displayName !== undefined ? { display_name: patch.displayName.trim() } : {}),
      ...(patch.type !== undefined ? { type: patch.type } : {}),
      ...(patch.groupConstrained !== undefined ? { group_constrained: patch.groupConstrained } : {}),
      ...(patch.isDefault !== undefined ? { is_default: patch.isDefault } : {}),
    };
    const after = channelOut(next);
    checkDefaultIsOpen(after.type, after.isDefault);
    const changed = (['displayName', 'type', 'groupConstrained', 'isDefault'] as const).some((k) => before[k] !== after[k]);
    if (!changed) return { channel: before, reconcile: null };
    const now = Date.now();
    await updateChannelRow(tx, id, { display_name: next.display_name, type: next.type, group_constrained: next.group_constrained, is_default: next.is_default, updated_at: now });
    await writeAudit(tx, { ...auditOf(ctx), operation: 'update_channel', resourceType: 'Channel', resourceId: id, before, after });
    const reconcile = before.groupConstrained !== after.groupConstrained ? await ctx.sync.reconcile(tx, { channelId: id }, {}, auditOf(ctx)) : null;
    return { channel: channelOut({ ...next, updated_at: now }), reconcile };
  });
}

/** Archive a channel: memberships are kept, sync skips it from now on. Idempotent. */
export async function archiveChannel(ctx: WorkspaceCtx, id: string): Promise<Channel> {
  return ctx.db.transaction(async (tx) => {
    const row = await readChannel(tx, id);
    if (row.archived_at != null) return channelOut(row);
    const now = Date.now();
    await updateChannelRow(tx, id, { archived_at: now, updated_at: now });
    await writeAudit(tx, { ...auditOf(ctx), operation: 'archive_channel', resourceType: 'Channel', resourceId: id, before: { name: row.name, teamId: row.team_id } });
    return channelOut({ ...row, archived_at: now, updated_at: now });
  });
}
