/** What every workspace use-case needs: the database, the sync engine and who is acting (for the audit log). */
import type { Knex } from 'knex';
import type { AuditCtx, SyncEngine } from '../sync/engine.js';

export interface WorkspaceCtx {
  db: Knex;
  sync: SyncEngine;
  /** `admin:<token name>` for the admin API, `admin:cli:<os user>` for the CLI; also the added_by/removed_by value. */
  actor: string;
  requestId?: string | undefined;
}

export const auditOf = (ctx: WorkspaceCtx): AuditCtx => ({ actor: ctx.actor, requestId: ctx.requestId });
