/**
 * `db check`: whether the store is whole (store/db-check.ts: migrations, integrity, orphans, counters, triggers) and
 * how many rows each table holds. Meant for after a restore (`restore`, or pg_restore on PostgreSQL) and whenever a
 * store is suspect. A table for a person, `--json` for a script; exit 1 when any check finds a problem.
 */
import type { Command } from 'commander';
import { checkDb, type Check } from '../store/db-check.js';
import { note, withDb } from './context.js';
import { printJson, printTable } from './output.js';

export function register(program: Command): void {
  const db = program.command('db').description('the database itself: check that it is whole');

  db.command('check')
    .description('migrations present, integrity, orphan rows, counters, audit triggers, rows per table; exit 1 on a problem')
    .option('--json', 'print JSON instead of tables')
    .action(async (o: { json?: boolean }) => {
      // migrate: false — a check reports the schema as it is (missing migrations are one of its findings).
      const report = await withDb((d) => checkDb(d), { migrate: false });
      if (o.json) printJson(report);
      else {
        printTable<Check>(report.checks, [
          { header: 'check', value: 'name' }, { header: 'result', value: (c) => (c.ok ? 'ok' : 'PROBLEM') },
          { header: 'detail', value: (c) => (c.ok ? c.detail : c.problems.join('; ')), max: 160 },
        ]);
        process.stdout.write('\n');
        printTable(Object.entries(report.counts).map(([table, rows]) => ({ table, rows })), ['table', 'rows']);
      }
      const bad = report.checks.filter((c) => !c.ok);
      if (bad.length) {
        note(`db check: ${bad.length} problem${bad.length > 1 ? 's' : ''} (${bad.map((c) => c.name).join(', ')})`);
        process.exitCode = 1;
      } else note(`db check: ok (${report.store}, schema ${report.schema})`);
    });
}
