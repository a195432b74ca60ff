/**
 * Group-to-team/channel sync (Mattermost group-sync rules, ../shared/research/domain.md §2).
 * Placeholder surface used by the user lifecycle; the rules land with the Groups work.
 */
import type { Knex } from 'knex';

export interface AuditCtx { actor: string; requestId?: string | undefined }

export class SyncEngine {
  constructor(readonly defaultChannels: string[]) {}

  /** A deleted user leaves every group. */
  async userDeleted(tx: Knex.Transaction, userId: string, _a: AuditCtx): Promise<void> {
    await tx('group_members').where({ user_id: userId }).delete();
  }

  async membersAdded(_tx: Knex.Transaction, _groupId: string, _userIds: string[], _a: AuditCtx): Promise<void> {}
  async membersRemoved(_tx: Knex.Transaction, _groupId: string, _userIds: string[], _a: AuditCtx): Promise<void> {}
  async groupDeleted(_tx: Knex.Transaction, _groupId: string, _former: string[], _a: AuditCtx): Promise<void> {}
  async groupUpserted(_tx: Knex.Transaction, _group: { id: string; externalId: string | null; displayName: string }, _a: AuditCtx): Promise<void> {}

  /** Reactivation keeps memberships as they were: nothing to add or remove. */
  async userReactivated(_tx: Knex.Transaction, _userId: string, _a: AuditCtx): Promise<void> {}
}
