/**
 * Indexes for the audit search (GET /admin/v1/audit, `cli audit`): newest first by id, filtered by resource, actor,
 * operation or time. Each filter gets an index that ends in id, so "the newest 100 rows about this person / by this
 * client / of this operation" reads 100 index entries backwards instead of scanning the log. The old
 * (resource_type, resource_id) index is replaced by (resource_id, id): a resource id names its type already, and
 * every write pays for each index this table has.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropIndex(['resource_type', 'resource_id'], 'audit_resource_idx');
    t.index(['resource_id', 'id'], 'audit_resource_id_idx');
    t.index(['actor', 'id'], 'audit_actor_idx');
    t.index(['operation', 'id'], 'audit_operation_idx');
    t.index(['at'], 'audit_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropIndex(['resource_id', 'id'], 'audit_resource_id_idx');
    t.dropIndex(['actor', 'id'], 'audit_actor_idx');
    t.dropIndex(['operation', 'id'], 'audit_operation_idx');
    t.dropIndex(['at'], 'audit_at_idx');
    t.index(['resource_type', 'resource_id'], 'audit_resource_idx');
  });
}
