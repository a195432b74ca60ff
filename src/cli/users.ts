/**
 * `user list` and `user show`: the people search and one person's view, the same use-cases as GET /admin/v1/users and
 * GET /admin/v1/users/<key> (src/workspace/people.ts), as a table or, with `--json`, JSON.
 *
 * `user purge`: the hard delete. SCIM DELETE only hides a person (their record and history stay, and the same
 * externalId brings them back); this removes the row and everything that hangs off it, for good. The audit log keeps
 * a row saying it happened (it is append-only). One person by id, or every person SCIM deleted before a date
 * (`--deleted --before`, e.g. after a conformance run), each in a transaction of their own.
 */
import type { Command } from 'commander';
import type { Knex } from 'knex';
import { writeAudit } from '../store/audit.js';
import { deletedUserIdPage, getUser, purgeUser, type UserRow } from '../store/users.js';
import { listPeople, showPerson, type PersonView } from '../workspace/people.js';
import type { Person } from '../workspace/representation.js';
import { actor, CliError, note, withDb, withUseCase } from './context.js';
import { printJson, printList, printRecord, printTable } from './output.js';
import { collectPages, noteMore, type PageOptions } from './paging.js';
import { startProgress } from './progress.js';

/** Purge one person with its audit row; the row purged, or undefined when there was none. */
async function purgeOne(db: Knex, id: string, cause?: string): Promise<UserRow | undefined> {
  return db.transaction(async (tx) => {
    const row = await getUser(tx, id, { includeDeleted: true });
    if (!row) return undefined;
    if (!(await purgeUser(tx, id))) return undefined;
    await writeAudit(tx, {
      actor: actor(), operation: 'purge_user', resourceType: 'User', resourceId: id, cause: cause ?? null,
      before: { userName: row.user_name, externalId: row.external_id, username: row.username, deleted: row.deleted_at != null },
    });
    return row;
  });
}

/** `--before`: an ISO 8601 date or date-time, in the past. */
function cutoff(text: string | undefined): number {
  if (!text) throw new CliError('--deleted needs --before <date> (ISO 8601, e.g. 2026-12-01 or 2026-12-01T12:00:00Z)');
  const ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new CliError(`--before must be an ISO 8601 date, got "${text}"`);
  if (ms > Date.now()) throw new CliError(`--before ${text} is in the future`);
  return ms;
}

interface ListOptions extends PageOptions {
  active?: boolean; inactive?: boolean; deleted?: boolean; team?: string; channel?: string; group?: string; search?: string; json?: boolean;
}

const PERSON_COLUMNS = [
  'userName', 'displayName', 'email', 'active', 'deleted', { header: 'role', value: 'systemRole' }, 'id',
] as const;

/** `user show` as text: the person, then each kind of membership and their last changes as tables. */
function printPerson(v: PersonView): void {
  printRecord(v.user);
  const section = (title: string) => process.stdout.write(`\n${title}\n`);
  const since = { header: 'since', value: 'createdAt' } as const;
  section('teams');
  printTable(v.memberships.teams, ['teamName', 'role', 'cause', 'active', 'addedBy', since, 'removedAt', 'removedBy']);
  section('channels');
  printTable(v.memberships.channels, [{ header: 'channel', value: (c) => `${c.teamName}/${c.channelName}` }, 'role', 'cause', 'active', 'addedBy', since, 'removedAt', 'removedBy']);
  section('groups');
  printTable(v.memberships.groups, ['displayName', 'externalId', 'since', 'groupId']);
  section(`last changes (newest first, at most 20)`);
  printTable(v.audit, ['id', 'at', 'actor', 'operation', 'resourceType', { header: 'cause', value: 'cause', max: 40 }]);
}

export function register(program: Command): void {
  const user = program.command('user').description('workspace users');

  user
    .command('list')
    .description('people by userName: who is active, deleted, in a team, channel or group (the search of GET /admin/v1/users)')
    .option('--active', 'only active people')
    .option('--inactive', 'only deactivated people')
    .option('--deleted', 'only people SCIM deleted (they are left out otherwise)')
    .option('--team <team>', 'only live members of this team (id or name)')
    .option('--channel <channel>', 'only live members of this channel (id, or team/channel)')
    .option('--group <group>', 'only members of this group (id or externalId)')
    .option('--search <text>', 'a part of the userName, displayName or email (case-insensitive); ending in *, the start')
    .option('--limit <n>', 'people per page (1-1000)', '100')
    .option('--after <cursor>', 'the page after this one (the cursor the previous page printed)')
    .option('--all', 'every page, not just the first')
    .option('--json', 'print JSON instead of a table')
    .action(async (o: ListOptions) => {
      if (o.active && o.inactive) throw new CliError('give --active or --inactive, not both');
      await withUseCase(async (db) => {
        const { items, next } = await collectPages(o, (page) => listPeople(db, {
          ...page,
          active: o.active ? true : o.inactive ? false : undefined,
          deleted: o.deleted ? true : undefined,
          team: o.team, channel: o.channel, group: o.group, q: o.search,
        }));
        printList<Person>(items, PERSON_COLUMNS, o);
        noteMore(next);
      });
    });

  user
    .command('show')
    .description("one person: who they are, their teams, channels and groups (role, and why: group sync or by hand), their last 20 changes")
    .argument('<key>', 'id, externalId or userName; prefix id:, externalId: or userName: to say which when one would name several people')
    .option('--json', 'print JSON instead of text')
    .action(async (key: string, o: { json?: boolean }) => {
      await withUseCase(async (db) => {
        const view = await showPerson(db, key);
        if (o.json) printJson(view);
        else printPerson(view);
      });
    });

  user
    .command('purge')
    .description('permanently delete a user, or every user SCIM deleted before a date, with their sessions, memberships and attributes (cannot be undone)')
    .argument('[id]', 'the SCIM id of the user')
    .option('--deleted', 'every user SCIM deleted before --before, instead of one id')
    .option('--before <date>', 'with --deleted: deleted before this ISO 8601 date')
    .option('--dry-run', 'with --deleted: count who would be purged, purge nobody')
    .option('--yes', 'confirm: really delete for good')
    .action(async (id: string | undefined, opts: { deleted?: boolean; before?: string; dryRun?: boolean; yes?: boolean }) => {
      if (opts.deleted) {
        if (id) throw new CliError('give an id or --deleted, not both');
        const before = cutoff(opts.before);
        if (!opts.yes && !opts.dryRun) throw new CliError('refusing to purge deleted users without --yes (or --dry-run): this cannot be undone');
        await withDb(async (db) => {
          const bar = startProgress(opts.dryRun ? 'purge (dry run)' : 'purge', 'users');
          let n = 0;
          let seen = 0;
          for (let after: string | null = null; ;) {
            const page = await deletedUserIdPage(db, before, after, 500);
            for (const uid of page) {
              if (opts.dryRun || (await purgeOne(db, uid, `deleted before ${new Date(before).toISOString()}`))) n++;
              bar.update(++seen);
            }
            if (page.length < 500) break;
            after = page[page.length - 1]!;
          }
          bar.finish(opts.dryRun ? `would purge ${n} users deleted before ${new Date(before).toISOString()}` : `purged ${n} users deleted before ${new Date(before).toISOString()}`, n);
          process.stdout.write(`${JSON.stringify({ purged: opts.dryRun ? 0 : n, matched: n, before: new Date(before).toISOString(), dryRun: !!opts.dryRun })}\n`);
        });
        return;
      }
      if (!id) throw new CliError('give the id of the user to purge, or --deleted --before <date>');
      if (!opts.yes) throw new CliError(`refusing to purge user ${id} without --yes: this cannot be undone`);
      await withDb(async (db) => {
        const purged = await purgeOne(db, id);
        if (!purged) throw new CliError(`no user with id "${id}"`);
        if (purged.deleted_at == null) note(`note: user ${id} was not deleted in SCIM; a client that still has them will see 404`);
        note(`purged user ${id} (${purged.user_name})`);
      });
    });
}
