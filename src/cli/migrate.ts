/**
 * `migrate status|up|down`: the schema version, and upgrading or undoing it by hand. The server migrates on start
 * (several PostgreSQL instances take turns), so `up` is for checking an upgrade before starting the new version,
 * and `down` for going back one migration after a failed upgrade, before starting the older version.
 */
import type { Command } from 'commander';
import { migrateDown, migrateUp, NewerSchemaError, schemaStatus } from '../store/migrations.js';
import { VERSION } from '../version.js';
import { CliError, note, withDb } from './context.js';

const out = (text: string) => void process.stdout.write(`${text}\n`);

export function register(program: Command): void {
  const migrate = program.command('migrate').description('the database schema: status, upgrade, undo the newest migration');

  migrate.command('status').description('applied and pending migrations, and migrations this version does not know')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withDb(async (db) => {
        const s = await schemaStatus(db);
        if (opts.json) return out(JSON.stringify({ version: VERSION, schema: s.current, applied: s.applied, pending: s.pending, unknown: s.unknown }));
        out(`server version   ${VERSION}`);
        out(`schema version   ${s.current ?? '(empty database)'}`);
        out(`applied          ${s.applied.length}`);
        out(`pending          ${s.pending.length ? s.pending.join(', ') : 'none'}`);
        if (s.unknown.length) out(`unknown          ${s.unknown.join(', ')} (migrated by a newer version: this one refuses to start)`);
      }, { migrate: false });
    });

  migrate.command('up').description('apply every pending migration (the server also does this when it starts)')
    .action(async () => {
      await withDb(async (db, config) => {
        const applied = await migrateUp(db, config.databaseUrl).catch((err) => {
          throw err instanceof NewerSchemaError ? new CliError(err.message) : err;
        });
        note(applied.length ? `applied ${applied.join(', ')}` : 'nothing to apply: the schema is current');
      }, { migrate: false });
    });

  migrate.command('down').description('undo the newest migration (every migration here has a down step); start the older version afterwards')
    .option('--yes', 'confirm: the newest migration\'s columns or tables, and what they hold, are dropped')
    .action(async (opts: { yes?: boolean }) => {
      if (!opts.yes) throw new CliError('refusing to undo a migration without --yes: what it added is dropped');
      await withDb(async (db) => {
        const undone = await migrateDown(db).catch((err) => {
          throw err instanceof NewerSchemaError ? new CliError(err.message) : err;
        });
        note(undone ? `undid ${undone}` : 'nothing to undo: no migration is applied');
      }, { migrate: false });
    });
}
