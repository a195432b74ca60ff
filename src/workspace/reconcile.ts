/**
 * A reconcile run on demand (admin API, CLI): the whole workspace, or one team, channel or group. Idempotent; with
 * `readdRemoved` it also brings back removed members the links would add (Mattermost `include_removed_members`).
 */
import { writeAudit } from '../store/audit.js';
import { getLiveGroup } from '../store/workspace.js';
import type { ReconcileStats } from '../sync/engine.js';
import { readChannel } from './channels.js';
import { auditOf, type WorkspaceCtx } from './context.js';
import { badRequest, notFound } from './errors.js';
import { readTeam } from './teams.js';

export interface ReconcileInput { readdRemoved?: boolean; teamId?: string; channelId?: string; groupId?: string }

export async function runReconcile(ctx: WorkspaceCtx, input: ReconcileInput): Promise<ReconcileStats> {
  if (input.readdRemoved !== undefined && typeof input.readdRemoved !== 'boolean') throw badRequest('invalid_value', 'readdRemoved must be a boolean');
  for (const k of ['teamId', 'channelId', 'groupId'] as const) {
    if (input[k] !== undefined && (typeof input[k] !== 'string' || !input[k])) throw badRequest('invalid_value', `${k} must be a non-empty string`);
  }
  if (input.teamId && input.channelId) throw badRequest('invalid_scope', 'give teamId or channelId, not both (a team reconcile covers its channels)');
  const a = auditOf(ctx);
  return ctx.db.transaction(async (tx) => {
    if (input.teamId) await readTeam(tx, input.teamId);
    if (input.channelId) await readChannel(tx, input.channelId);
    if (input.groupId && !(await getLiveGroup(tx, input.groupId))) throw notFound('group', input.groupId);
    const scope = { ...(input.teamId ? { teamId: input.teamId } : {}), ...(input.channelId ? { channelId: input.channelId } : {}), ...(input.groupId ? { groupId: input.groupId } : {}) };
    const stats = await ctx.sync.reconcile(tx, scope, { readdRemoved: !!input.readdRemoved }, a);
    await writeAudit(tx, { ...a, operation: 'reconcile', resourceType: 'Link', resourceId: input.teamId ?? input.channelId ?? input.groupId ?? null, after: { scope, readdRemoved: !!input.readdRemoved, stats } });
    return stats;
  });
}
