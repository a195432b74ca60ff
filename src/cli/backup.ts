/**
 * `backup --out <file>` and `restore --from <file>` for the SQLite store (store/backup.ts: SQLite's online backup
 * API, so the server keeps running during a backup). Both print what they wrote as JSON: the file, its schema version
 * and its rows per table, which `db check --json` on the restored store reports the same way.
 *
 * PostgreSQL stores use pg_dump and pg_restore (README, "Backup and restore"); these commands say so and stop.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { backupSqlite, BackupRefused, restoreSqlite, sqliteFileOf } from '../store/backup.js';
import { migrateUp, NewerSchemaError } from '../store/migrations.js';
import { tableCounts } from '../store/tables.js';
import { cliConfig, CliError, note, withDb } from './context.js';
import { printJson } from './output.js';

export const PG_BACKUP = 'backup: this store is PostgreSQL: back it up with pg_dump --format=custom (README, "Backup and restore"); this command copies SQLite stores only';
export const PG_RESTORE = 'restore: this store is PostgreSQL: restore a pg_dump with pg_restore into a new database, then run `db check` (README, "Backup and restore"); this command restores SQLite stores only';

/** A refusal from the store is the operator's to fix: one line, exit 1. */
const refusal = (err: unknown): never => {
  throw err instanceof BackupRefused || err instanceof NewerSchemaError ? new CliError(err.message) : err;
};

/** The store's SQLite file, or the one line that says why this command does not apply. */
function sqliteStore(pgMessage: string): string {
  const url = cliConfig().databaseUrl;
  if (!url.startsWith('sqlite:')) throw new CliError(pgMessage);
  const file = sqliteFileOf(url);
  if (!file) throw new CliError('DATABASE_URL names an in-memory SQLite database: there is no file to back up or restore');
  return file;
}

export function register(program: Command): void {
  program.command('backup')
    .description('a consistent copy of the SQLite store, taken while the server runs (SQLite online backup API)')
    .requiredOption('--out <file>', 'where to write the backup (written under a temporary name in the same directory, then renamed)')
    .option('--force', 'replace --out if it exists')
    .action(async (o: { out: string; force?: boolean }) => {
      const file = sqliteStore(PG_BACKUP);
      // Opening a missing file would create an empty store and back that up.
      if (!existsSync(file)) throw new CliError(`no SQLite store at ${file} (DATABASE_URL): nothing to back up`);
      // migrate: false — a backup copies the store as it is, whichever version last migrated it.
      const r = await withDb((db) => backupSqlite(db, o.out, { force: o.force === true }), { migrate: false }).catch(refusal);
      note(`backup written to ${r.file} (${r.bytes} bytes, schema ${r.schema ?? 'none'})`);
      printJson(r);
    });

  program.command('restore')
    .description('put a backup into an EMPTY SQLite store (DATABASE_URL), then migrate it up to this version')
    .requiredOption('--from <file>', 'a file written by `backup`')
    .action(async (o: { from: string }) => {
      const file = sqliteStore(PG_RESTORE);
      const backup = await restoreSqlite(o.from, file).catch(refusal);
      const restored = await withDb(async (db, config) => {
        const migrated = await migrateUp(db, config.databaseUrl).catch(refusal);
        return { migrated, counts: await tableCounts(db) };
      }, { migrate: false });
      note(`restored ${o.from} into ${file} (schema ${backup.schema}${restored.migrated.length ? `, then migrated ${restored.migrated.join(', ')}` : ''}); run \`db check\` to verify`);
      printJson({ from: o.from, to: file, backupSchema: backup.schema, migrated: restored.migrated, schema: restored.migrated.at(-1) ?? backup.schema, counts: restored.counts });
    });
}
