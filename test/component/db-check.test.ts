/**
 * `db check` (issue 16 §3) on both stores: a whole store passes (exit 0, a table of checks and a table of row
 * counts, or JSON); each planted problem is found, named and makes it exit 1: an orphan membership inserted with
 * foreign keys off, a live counter out of step with the rows, a `_fold` column out of step with its value, a missing
 * or disabled audit trigger, a migration missing or unknown. Each problem is undone before the next is planted, and
 * the store passes again.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { connect, createDatabase, startServer, stores, type TestDatabase } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { knownMigrations } from '../../src/store/migrations.ts';

interface Report { ok: boolean; store: string; schema: string; checks: { name: string; ok: boolean; detail: string; problems: string[] }[]; counts: Record<string, number> }

for (const store of stores()) {
  describe(`db check [${store}]`, () => {
    let db: TestDatabase;
    let sql: Knex;
    let userId: string;
    before(async () => {
      db = await createDatabase(store);
      const server = await startServer(store, db);
      try {
        const ws = workspace(server);
        const team = await ws.team('checked');
        userId = await ws.user();
        const group = await ws.group([userId]);
        await ws.linkTeam(group, team.id);
      } finally {
        await server.stop();
      }
      sql = connect(db.url);
    });
    after(async () => {
      await sql?.destroy();
      await db?.drop();
    });

    const check = async (): Promise<{ code: number | null; report: Report; stderr: string }> => {
      const r = await runCli(db.url, ['db', 'check', '--json']);
      return { code: r.code, report: JSON.parse(r.stdout), stderr: r.stderr };
    };
    /** Plant a problem, expect exactly `names` to fail with problems matching `pattern`, undo it, expect a pass. */
    const finds = async (names: string[], pattern: RegExp, plant: () => Promise<void>, undo: () => Promise<void>) => {
      await plant();
      try {
        const { code, report, stderr } = await check();
        assert.equal(code, 1, 'a problem makes db check exit 1');
        assert.equal(report.ok, false);
        const failed = report.checks.filter((c) => !c.ok);
        assert.deepEqual(failed.map((c) => c.name).sort(), [...names].sort(), JSON.stringify(failed));
        for (const c of failed) assert.match(c.problems.join('\n'), pattern);
        assert.match(stderr, new RegExp(`db check: ${names.length} problems? \\(`));
      } finally {
        await undo();
      }
      assert.equal((await check()).code, 0, 'undone, the store passes again');
    };

    test('a whole store passes: every check ok, exit 0, row counts per table; the table form names each check', async () => {
      const { code, report } = await check();
      assert.equal(code, 0, JSON.stringify(report.checks.filter((c) => !c.ok)));
      assert.equal(report.ok, true);
      assert.equal(report.store, store);
      assert.equal(report.schema, knownMigrations().at(-1));
      const names = report.checks.map((c) => c.name);
      for (const n of ['migrations', 'orphans', 'live_counts', 'folded_columns', 'triggers', 'counts']) assert.ok(names.includes(n), n);
      if (store === 'sqlite') assert.ok(names.includes('integrity_check') && names.includes('foreign_key_check'));
      else assert.ok(names.includes('integrity'));
      assert.equal(report.counts.users, 1);
      assert.equal(report.counts.groups, 1);
      assert.equal(report.counts.teams, 1);
      assert.ok(report.counts.team_members! >= 1 && report.counts.audit_log! > 0);
      assert.equal(report.counts.knex_migrations, undefined, 'bookkeeping tables are not counted as data');

      const table = await runCli(db.url, ['db', 'check']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^CHECK +RESULT +DETAIL\n/);
      assert.match(table.stdout, /\nlive_counts +ok +counters equal the live rows \(User 1, Group 1\)\n/);
      assert.match(table.stdout, /\nTABLE +ROWS\n/);
      assert.match(table.stdout, /\nusers +1\n/);
      assert.match(table.stderr, new RegExp(`db check: ok \\(${store}, schema `));
    });

    test('an orphan membership inserted with foreign keys off is found', async () => {
      const row = { team_id: 'no-such-team', user_id: userId, scheme_admin: false, created_at: 1, updated_at: 1, added_by: 'planted' };
      await finds(store === 'sqlite' ? ['orphans', 'foreign_key_check'] : ['orphans'], /team_members/, async () => {
        if (store === 'sqlite') {
          // One connection, so the pragma and the insert share it.
          await sql.raw('PRAGMA foreign_keys = OFF');
          await sql('team_members').insert(row);
          await sql.raw('PRAGMA foreign_keys = ON');
        } else {
          await sql.transaction(async (tx) => {
            await tx.raw('SET LOCAL session_replication_role = replica'); // foreign keys are triggers; replica skips them
            await tx('team_members').insert(row);
          });
        }
      }, async () => { await sql('team_members').where({ team_id: 'no-such-team' }).delete(); });
    });

    test('a live counter out of step with the rows is found', async () => {
      await finds(['live_counts'], /User: counter says 4, users has 1 live rows/,
        async () => { await sql('live_counts').where({ resource_type: 'User', shard: 0 }).increment('n', 3); },
        async () => { await sql('live_counts').where({ resource_type: 'User', shard: 0 }).decrement('n', 3); });
    });

    test('a folded column out of step with its value is found', async () => {
      const [{ user_name_fold: was }] = await sql('users').where({ id: userId }).select('user_name_fold');
      await finds(['folded_columns'], /users\.user_name_fold differs from the fold of user_name: 1 rows/,
        async () => { await sql('users').where({ id: userId }).update({ user_name_fold: 'SOMEONE ELSE' }); },
        async () => { await sql('users').where({ id: userId }).update({ user_name_fold: was }); });
    });

    test('a missing or disabled append-only audit trigger is found', async () => {
      if (store === 'sqlite') {
        await finds(['triggers'], /missing trigger audit_log_no_delete on audit_log \(audit append-only\)/,
          async () => { await sql.raw('DROP TRIGGER audit_log_no_delete'); },
          async () => { await sql.raw(`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`); });
      } else {
        await finds(['triggers'], /trigger audit_log_no_change on audit_log is disabled \(audit append-only\)/,
          async () => { await sql.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change'); },
          async () => { await sql.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change'); });
        await finds(['triggers'], /missing trigger audit_log_no_change on audit_log/,
          async () => { await sql.raw('DROP TRIGGER audit_log_no_change ON audit_log'); },
          async () => { await sql.raw('CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()'); });
      }
    });

    test('a migration missing from the records, or one this version does not know, is found', async () => {
      const latest = await sql('knex_migrations').orderBy('id', 'desc').first();
      await finds(['migrations'], new RegExp(`not applied \\(1\\): ${knownMigrations().at(-1)}`),
        async () => { await sql('knex_migrations').where({ id: latest.id }).delete(); },
        async () => { await sql('knex_migrations').insert({ name: latest.name, batch: latest.batch, migration_time: latest.migration_time }); });
      await finds(['migrations'], /unknown to this version.*29991231_001_from_the_future/,
        async () => { await sql('knex_migrations').insert({ name: '29991231_001_from_the_future.ts', batch: 99, migration_time: latest.migration_time }); },
        async () => { await sql('knex_migrations').where({ name: '29991231_001_from_the_future.ts' }).delete(); });
    });
  });
}
