/**
 * Backup and restore (issue 16 §3). SQLite: `backup --out` copies the store while a spawned server is under
 * concurrent SCIM create load; `restore --from` puts the copy into an empty store, whose `db check` passes and whose
 * row counts equal the ones the backup reported; the append-only audit triggers survive; the refusals (existing
 * file, non-empty store, a backup from a newer version, a damaged backup, not a database) are one line and change nothing.
 * PostgreSQL: both commands refuse and point to pg_dump/pg_restore, and that recipe itself is run here: `pg_dump -Fc`
 * of a store under load, `pg_restore` into a new database, then `db check` passes and the counts match.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createDatabase, spawnServer, stores, type Store, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { runCli, type CliRun } from '../helpers/cli.ts';
import { workspace } from '../helpers/workspace-http.ts';

const json = (r: CliRun) => {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const oneLine = (r: CliRun, pattern: RegExp) => {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no stack: ${r.stderr}`);
};

/**
 * SCIM writes until stopped: each of `workers` loops creating a person and adding them to a group linked to a team
 * (so users, user_values, group_members, team_members, channel_members, audit_log and the live counters all move),
 * and every tenth round creates another group. `done()` counts people whose create and add both answered.
 */
async function startLoad(server: TestServer, workers = 4) {
  const ws = workspace(server);
  const team = await ws.team(`load-${Date.now().toString(36)}`);
  const group = await ws.group();
  await ws.linkTeam(group, team.id);
  let stop = false;
  let done = 0;
  const failures: string[] = [];
  const loops = Array.from({ length: workers }, async () => {
    for (let i = 0; !stop; i++) {
      try {
        const id = await ws.user();
        await ws.addMembers(group, [id]);
        if (i % 10 === 9) await ws.group([id]);
        done++;
      } catch (err) {
        failures.push((err as Error).message);
        return;
      }
    }
  });
  const until = async (n: number) => { while (done < n && !failures.length) await new Promise((r) => setTimeout(r, 20)); };
  return {
    done: () => done,
    until,
    async stop() {
      stop = true;
      await Promise.all(loops);
      assert.deepEqual(failures, [], 'every write under load succeeded');
    },
  };
}

/** `db check --json` of a store: it must pass; answers its report. */
async function checked(dbUrl: string) {
  const r = await runCli(dbUrl, ['db', 'check', '--json']);
  const report = JSON.parse(r.stdout);
  assert.equal(r.code, 0, `db check failed: ${JSON.stringify(report.checks.filter((c: any) => !c.ok))}`);
  assert.equal(report.ok, true);
  return report;
}

/** The append-only triggers refuse an UPDATE and a DELETE of an audit row (there must be one). */
async function assertAppendOnly(dbUrl: string) {
  const sql = connect(dbUrl);
  try {
    const [{ n }] = await sql('audit_log').count({ n: '*' });
    assert.ok(Number(n) > 0, 'the store has audit rows to test the triggers with');
    await assert.rejects(sql('audit_log').update({ actor: 'forged' }), /append-only/);
    await assert.rejects(sql('audit_log').delete(), /append-only/);
  } finally {
    await sql.destroy();
  }
}

for (const store of stores()) {
  describe(`backup and restore [${store}]`, () => {
    const dbs: TestDatabase[] = [];
    const fresh = async (s: Store = store) => { const d = await createDatabase(s); dbs.push(d); return d; };
    const dirs: string[] = [];
    const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'scim-backup-')); dirs.push(d); return d; };
    after(async () => {
      for (const d of dbs) await d.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    test('a backup taken under concurrent SCIM create load restores to the same counts and passes db check; the audit triggers survive', { skip: store !== 'sqlite' }, async () => {
      const source = await fresh();
      const server = await spawnServer(store, source);
      const out = join(tmp(), 'scim-backup.db');
      let backup: any;
      let during: number;
      try {
        const load = await startLoad(server);
        await load.until(20);
        const before = load.done();
        backup = json(await runCli(source.url, ['backup', '--out', out]));
        during = load.done() - before;
        // Writes go on after the backup: the copy is a snapshot, not the final state.
        await load.until(load.done() + 20);
        await load.stop();
        assert.ok(during > 0, 'people were created while the backup ran');
        assert.ok(backup.counts.users >= before && backup.counts.users <= before + during + 4, `the backup holds the people created so far (${before}..${before + during}), got ${backup.counts.users}`);
        assert.ok(backup.counts.team_members > 0 && backup.counts.channel_members > 0 && backup.counts.group_members > 0);
      } finally {
        assert.equal(await server.stop(), 0);
      }
      assert.deepEqual(readdirSync(join(out, '..')), ['scim-backup.db'], 'no temporary file is left beside the backup');
      const live = await checked(source.url);
      assert.ok(live.counts.users > backup.counts.users, 'the live store went on past the backup');

      const target = await fresh();
      const restored = json(await runCli(target.url, ['restore', '--from', out]));
      assert.deepEqual(restored.counts, backup.counts);
      assert.equal(restored.schema, backup.schema);
      const report = await checked(target.url);
      assert.deepEqual(report.counts, backup.counts, 'the restored store holds exactly what the backup reported');
      assert.equal(report.schema, backup.schema);
      await assertAppendOnly(target.url);
    });

    test('backup refuses an existing --out unless --force, a missing directory, and a store that does not exist', { skip: store !== 'sqlite' }, async () => {
      const db = await fresh();
      assert.equal((await runCli(db.url, ['token', 'create', '--name', 'first'])).code, 0);
      const dir = tmp();
      const out = join(dir, 'b.db');
      const first = json(await runCli(db.url, ['backup', '--out', out]));
      assert.equal(first.counts.api_tokens, 1);
      assert.equal((await runCli(db.url, ['token', 'create', '--name', 'second'])).code, 0);
      oneLine(await runCli(db.url, ['backup', '--out', out]), /b\.db exists; pass --force to replace it/);
      const kept = connect(`sqlite:${out}`);
      try {
        assert.equal(Number((await kept('api_tokens').count({ n: '*' }))[0]!.n), 1, 'the refused backup left the old file as it was');
      } finally {
        await kept.destroy();
      }
      const forced = json(await runCli(db.url, ['backup', '--out', out, '--force']));
      assert.equal(forced.counts.api_tokens, 2);
      assert.deepEqual(readdirSync(dir), ['b.db']);
      oneLine(await runCli(db.url, ['backup', '--out', join(dir, 'no', 'such', 'dir', 'b.db')]), /directory .* does not exist/);
      oneLine(await runCli(db.url, ['backup', '--out', db.url.slice('sqlite:'.length)]), /is the store itself/);
      const missing = join(tmp(), 'never.db');
      oneLine(await runCli(`sqlite:${missing}`, ['backup', '--out', join(dir, 'c.db')]), /no SQLite store at .*never\.db/);
      assert.equal(existsSync(missing), false, 'backing up a missing store does not create it');
    });

    test('restore refuses a store that holds data, a backup from a newer version and a file that is not a database; an only-migrated store is empty enough', { skip: store !== 'sqlite' }, async () => {
      const source = await fresh();
      assert.equal((await runCli(source.url, ['token', 'create', '--name', 'kept'])).code, 0);
      const dir = tmp();
      const out = join(dir, 'b.db');
      json(await runCli(source.url, ['backup', '--out', out]));

      const busy = await fresh();
      assert.equal((await runCli(busy.url, ['token', 'create', '--name', 'other'])).code, 0);
      oneLine(await runCli(busy.url, ['restore', '--from', out]), /already holds data \(api_tokens: 1, audit_log: 1\); restore only into an empty store/);
      const still = await checked(busy.url);
      assert.equal(still.counts.api_tokens, 1, 'the refused restore changed nothing');

      const migrated = await fresh();
      assert.equal((await runCli(migrated.url, ['migrate', 'up'])).code, 0);
      const restored = json(await runCli(migrated.url, ['restore', '--from', out]));
      assert.equal(restored.counts.api_tokens, 1);
      assert.equal((await checked(migrated.url)).counts.api_tokens, 1);

      const future = join(dir, 'future.db');
      json(await runCli(source.url, ['backup', '--out', future]));
      const f = connect(`sqlite:${future}`);
      try {
        await f('knex_migrations').insert({ name: '29991231_001_from_the_future.ts', batch: 99, migration_time: Date.now() });
      } finally {
        await f.destroy();
      }
      const target = await fresh();
      oneLine(await runCli(target.url, ['restore', '--from', future]), /taken by a newer version of this server \(unknown migrations: 29991231_001_from_the_future\)/);
      assert.equal(existsSync(target.url.slice('sqlite:'.length)), false, 'a refused restore creates no store');

      // A backup damaged after it was written: page headers overwritten (SQLite pages are 4096 bytes here).
      const damaged = join(dir, 'damaged.db');
      json(await runCli(source.url, ['backup', '--out', damaged]));
      const fd = openSync(damaged, 'r+');
      for (let page = 10; page < 20; page++) writeSync(fd, Buffer.from([0x0d, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]), 0, 8, page * 4096);
      closeSync(fd);
      oneLine(await runCli(target.url, ['restore', '--from', damaged]), /damaged\.db (is not a readable SQLite database \(database disk image is malformed\)|fails SQLite's integrity check)/);
      assert.equal(existsSync(target.url.slice('sqlite:'.length)), false);

      const junk = join(dir, 'junk.db');
      writeFileSync(junk, 'not a database at all, just some text that is long enough to have a header'.repeat(100));
      oneLine(await runCli(target.url, ['restore', '--from', junk]), /is not a readable SQLite database/);
      oneLine(await runCli(target.url, ['restore', '--from', join(dir, 'absent.db')]), /no file at/);
    });

    test('on PostgreSQL backup and restore refuse with one line that points to pg_dump / pg_restore', { skip: store !== 'pg' }, async () => {
      const db = await fresh();
      const out = join(tmp(), 'b.db');
      oneLine(await runCli(db.url, ['backup', '--out', out]), /PostgreSQL: back it up with pg_dump --format=custom \(README, "Backup and restore"\)/);
      oneLine(await runCli(db.url, ['restore', '--from', out]), /PostgreSQL: restore a pg_dump with pg_restore into a new database, then run `db check`/);
      assert.equal(existsSync(out), false);
    });

    const pgTools = spawnSync('pg_dump', ['--version']).status === 0 && spawnSync('pg_restore', ['--version']).status === 0;
    test('PostgreSQL recipe: pg_dump -Fc under load, pg_restore into a new database, db check passes and counts match', {
      skip: store !== 'pg' ? true : pgTools ? false : 'pg_dump/pg_restore are not installed on this machine: the PostgreSQL recipe is not tested',
    }, async () => {
      const dir = tmp();
      const pgDump = (url: string, file: string) => {
        const r = spawnSync('pg_dump', ['--format=custom', `--file=${file}`, url], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      };
      const pgRestore = (file: string, url: string) => {
        const r = spawnSync('pg_restore', ['--no-owner', '--exit-on-error', '--single-transaction', `--dbname=${url}`, file], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      };
      const source = await fresh();
      const server = await spawnServer(store, source);
      try {
        const load = await startLoad(server);
        await load.until(20);
        const before = load.done();
        pgDump(source.url, join(dir, 'hot.dump'));
        await load.until(load.done() + 10);
        await load.stop();
        // Taken under load: a consistent snapshot (db check compares the live counters with the rows).
        const hot = await fresh();
        pgRestore(join(dir, 'hot.dump'), hot.url);
        const report = await checked(hot.url);
        assert.ok(report.counts.users >= before && report.counts.team_members > 0, `the dump holds the people created before it (${before}), got ${report.counts.users}`);
        await assertAppendOnly(hot.url);
      } finally {
        assert.equal(await server.stop(), 0);
      }
      // At rest: the restored database holds exactly what the source holds.
      pgDump(source.url, join(dir, 'cold.dump'));
      const cold = await fresh();
      pgRestore(join(dir, 'cold.dump'), cold.url);
      const want = await checked(source.url);
      const got = await checked(cold.url);
      assert.deepEqual(got.counts, want.counts);
      assert.equal(got.schema, want.schema);
    });
  });
}
