/**
 * A reconcile run on demand (admin API, CLI): the whole workspace, or one team, channel or group. Idempotent; with
 * `readdRemoved` it also brings back removed members the links would add (Mattermost `include_removed_members`).
 * `previewReconcile` runs it and rolls it back, answering what it would change.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { auditWrittenAfter, lastAuditId, writeAudit, type AuditRecord } from '../store/audit.js';
import { getLiveGroup } from '../store/workspace.js';
import type { ReconcileStats } from '../sync/engine.js';
import { readChannel } from './channels.js';
import { auditOf, type WorkspaceCtx } from './context.js';
import { badRequest, notFound } from './errors.js';
import { readTeam } from './teams.js';

export interface ReconcileInput { readdRemoved?: boolean; teamId?: string; channelId?: string; groupId?: string }

/** Changes a preview lists at most; `truncated` says there were more. */
export const PREVIEW_MAX_CHANGES = 1000;

export interface ReconcilePreview { stats: ReconcileStats; changes: AuditRecord[]; truncated: boolean; dryRun: true }

/** Rolls the preview's transaction back, carrying what it found out. */
class RolledBack extends Error {
  constructor(readonly preview: ReconcilePreview) {
    super('reconcile preview rolled back');
  }
}

/**
 * What a reconcile would change, changing nothing: the reconcile runs in its transaction as it would for real, the
 * audit rows it wrote there are read back (the membership changes, not the run's own `reconcile` row), and the
 * transaction is rolled back. So nothing is committed: no membership, no audit row, no outbox row, and no metrics or
 * connector wake-up (store/audit.ts fires those on commit only). The preview is exact for the moment it ran; a change
 * committed in between can make the real run differ.
 */
export async function previewReconcile(ctx: WorkspaceCtx, input: ReconcileInput): Promise<ReconcilePreview> {
  // The rows are found by request id: one the caller gave (the request's) or one of the preview's own.
  checkInput(input);
  const c = { ...ctx, requestId: ctx.requestId ?? `preview-${randomUUID()}` };
  try {
    await c.db.transaction(async (tx) => {
      const after = await lastAuditId(tx);
      const stats = await reconcileIn(tx, c, input);
      const { rows, more } = await auditWrittenAfter(tx, after, c.requestId, PREVIEW_MAX_CHANGES, 'reconcile');
      throw new RolledBack({ stats, changes: rows, truncated: more, dryRun: true });
    });
  } catch (err) {
    if (err instanceof RolledBack) return err.preview;
    throw err;
  }
  throw new Error('a reconcile preview must roll back');
}

export async function runReconcile(ctx: WorkspaceCtx, input: ReconcileInput): Promise<ReconcileStats> {
  checkInput(input);
  return ctx.db.transaction((tx) => reconcileIn(tx, ctx, input));
}

function checkInput(input: ReconcileInput): void {
  if (input.readdRemoved !== undefined && typeof input.readdRemoved !== 'boolean') throw badRequest('invalid_value', 'readdRemoved must be a boolean');
  for (const k of ['teamId', 'channelId', 'groupId'] as const) {
    if (input[k] !== undefined && (typeof input[k] !== 'string' || !input[k])) throw badRequest('invalid_value', `${k} must be a non-empty string`);
  }
  if (input.teamId && input.channelId) throw badRequest('invalid_scope', 'give teamId or channelId, not both (a team reconcile covers its channels)');
}

async function reconcileIn(tx: Knex.Transaction, ctx: WorkspaceCtx, input: ReconcileInput): Promise<ReconcileStats> {
  const a = auditOf(ctx);
  if (input.teamId) await readTeam(tx, input.teamId);
  if (input.channelId) await readChannel(tx, input.channelId);
  if (input.groupId && !(await getLiveGroup(tx, input.groupId))) throw notFound('group', input.groupId);
  const scope = { ...(input.teamId ? { teamId: input.teamId } : {}), ...(input.channelId ? { channelId: input.channelId } : {}), ...(input.groupId ? { groupId: input.groupId } : {}) };
  const stats = await ctx.sync.reconcile(tx, scope, { readdRemoved: !!input.readdRemoved }, a);
  await writeAudit(tx, { ...a, operation: 'reconcile', resourceType: 'Link', resourceId: input.teamId ?? input.channelId ?? input.groupId ?? null, after: { scope, readdRemoved: !!input.readdRemoved, stats } });
  return stats;
}
