/**
 * `user purge`: the hard delete. SCIM DELETE only hides a person (their record and history stay, and the same
 * externalId brings them back); this removes the row and everything that hangs off it, for good. The audit log keeps
 * a row saying it happened (it is append-only).
 */
import type { Command } from 'commander';
import { writeAudit } from '../store/audit.js';
import { getUser, purgeUser } from '../store/users.js';
import { actor, CliError, note, withDb } from './context.js';

export function register(program: Command): void {
  const user = program.command('user').description('workspace users');

  user
    .command('purge')
    .description('permanently delete a user and their sessions, memberships and attributes (cannot be undone)')
    .argument('<id>', 'the SCIM id of the user')
    .option('--yes', 'confirm: really delete this user for good')
    .action(async (id: string, opts: { yes?: boolean }) => {
      if (!opts.yes) throw new CliError(`refusing to purge user ${id} without --yes: this cannot be undone`);
      await withDb(async (db) => {
        const purged = await db.transaction(async (tx) => {
          const row = await getUser(tx, id, { includeDeleted: true });
          if (!row) return undefined;
          if (!(await purgeUser(tx, id))) return undefined;
          await writeAudit(tx, {
            actor: actor(), operation: 'purge_user', resourceType: 'User', resourceId: id,
            before: { userName: row.user_name, externalId: row.external_id, username: row.username, deleted: row.deleted_at != null },
          });
          return row;
        });
        if (!purged) throw new CliError(`no user with id "${id}"`);
        if (purged.deleted_at == null) note(`note: user ${id} was not deleted in SCIM; a client that still has them will see 404`);
        note(`purged user ${id} (${purged.user_name})`);
      });
    });
}
