/**
 * The production build (issue 16 §1), on both stores: the compiled server (`node dist/src/main.js`, what the
 * Dockerfile and the systemd unit run) serves and exits 0 on SIGTERM once closed; the compiled CLI moves the schema and
 * refuses a database a newer version migrated. Knex records a migration by file name, extension included, so a
 * database migrated from source holds `.ts` names and one migrated by the build `.js` names: each form must find
 * the other's database fully migrated, undo its newest migration and apply it again (src/store/migration-source.ts).
 */
import { before, describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createDatabase, ROOT, spawnServer, stores, type TestDatabase } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { ensureBuilt } from '../helpers/build.ts';
import { knownMigrations } from '../../src/store/migrations.ts';

const LATEST = knownMigrations().at(-1)!;
const listening = (output: string) => output.split('\n').map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((l) => l?.message === 'listening');

async function recorded(url: string): Promise<string[]> {
  const sql = connect(url);
  try {
    return await sql('knex_migrations').orderBy('id').pluck('name');
  } finally {
    await sql.destroy();
  }
}

for (const store of stores()) {
  describe(`production build [${store}]`, () => {
    const dbs: TestDatabase[] = [];
    const fresh = async () => { const d = await createDatabase(store); dbs.push(d); return d; };
    before(ensureBuilt);
    after(async () => { for (const d of dbs) await d.drop(); });

    const source = (url: string, ...args: string[]) => runCli(url, args);
    const build = (url: string, ...args: string[]) => runCli(url, args, {}, { compiled: true });
    const forms = [['source', source, '.ts'], ['build', build, '.js']] as const;

    test('the compiled server migrates, serves /healthz and /version, and exits 0 on SIGTERM after closing', async () => {
      const server = await spawnServer(store, await fresh(), { compiled: true });
      let code: number | null;
      try {
        assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
        assert.equal((await fetch(`${server.url}/version`).then((r) => r.json())).schema, LATEST);
        assert.equal(listening(server.output()).migrated, knownMigrations().length);
        // The console's files are not TypeScript: the build copies them, and the compiled server serves them.
        const page = await fetch(`${server.url}/console/people/someone`);
        assert.equal(page.status, 200);
        assert.equal(await page.text(), readFileSync(join(ROOT, 'src/console-ui/index.html'), 'utf8'));
        assert.equal(await (await fetch(`${server.url}/console/app.js`)).text(), readFileSync(join(ROOT, 'src/console-ui/app.js'), 'utf8'));
        assert.equal((await fetch(`${server.url}/console/vendor/preact.mjs`)).status, 200);
      } finally {
        code = await server.stop('SIGTERM');
      }
      assert.equal(code, 0, server.output());
      assert.match(server.output(), /"message":"stopped"/, 'closed before exiting');
    });

    test('the compiled CLI: migrate up, status, down --yes and up again', async () => {
      const db = await fresh();
      assert.match((await build(db.url, 'migrate', 'up')).stderr, /applied 20/);
      assert.ok((await recorded(db.url)).every((n) => n.endsWith('.js')), 'the build records its own file names');
      const status = JSON.parse((await build(db.url, 'migrate', 'status', '--json')).stdout);
      assert.deepEqual([status.schema, status.applied, status.pending, status.unknown], [LATEST, knownMigrations(), [], []]);
      assert.match((await build(db.url, 'migrate', 'down', '--yes')).stderr, new RegExp(`undid ${LATEST}`));
      assert.deepEqual(JSON.parse((await build(db.url, 'migrate', 'status', '--json')).stdout).pending, [LATEST]);
      assert.match((await build(db.url, 'migrate', 'up')).stderr, new RegExp(`applied ${LATEST}$`, 'm'));
      assert.match((await build(db.url, 'migrate', 'status')).stdout, /pending +none/);
    });

    test('a database a newer version migrated: the compiled server and CLI refuse with one line', async () => {
      const db = await fresh();
      assert.equal((await build(db.url, 'migrate', 'up')).code, 0);
      const sql = connect(db.url);
      try {
        await sql('knex_migrations').insert({ name: '29991231_001_from_the_future.js', batch: 99, migration_time: new Date() });
      } finally {
        await sql.destroy();
      }
      await assert.rejects(spawnServer(store, db, { compiled: true }), (err: Error) => {
        assert.match(err.message, /server exited with 1/);
        assert.match(err.message, /migrated by a newer version of this server \(unknown migrations: 29991231_001_from_the_future\)/);
        assert.doesNotMatch(err.message, /\n\s+at /, 'no stack');
        return true;
      });
      for (const args of [['token', 'list'], ['migrate', 'up'], ['migrate', 'down', '--yes']]) {
        const cli = await build(db.url, ...args);
        assert.equal(cli.code, 1, args.join(' '));
        assert.match(cli.stderr, /^error: the database was migrated by a newer version/, args.join(' '));
        assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
      }
      assert.deepEqual(JSON.parse((await build(db.url, 'migrate', 'status', '--json')).stdout).unknown, ['29991231_001_from_the_future']);
    });

    for (const [by, migrate, ext] of forms) {
      for (const [other, run, otherExt] of forms.filter(([name]) => name !== by)) {
        test(`migrated from ${by} (${ext} names): ${other} finds it current, undoes the newest and applies it again`, async () => {
          const db = await fresh();
          assert.equal((await migrate(db.url, 'migrate', 'up')).code, 0);
          const names = await recorded(db.url);
          assert.equal(names.length, knownMigrations().length);
          assert.ok(names.every((n) => n.endsWith(ext)), names.join(' '));

          const status = JSON.parse((await run(db.url, 'migrate', 'status', '--json')).stdout);
          assert.deepEqual([status.schema, status.pending, status.unknown], [LATEST, [], []]);
          assert.match((await run(db.url, 'migrate', 'up')).stderr, /nothing to apply/);
          assert.deepEqual(await recorded(db.url), names, 'nothing ran again, nothing was renamed');

          assert.match((await run(db.url, 'migrate', 'down', '--yes')).stderr, new RegExp(`undid ${LATEST}`));
          assert.deepEqual(await recorded(db.url), names.slice(0, -1), `${other} removed the ${ext} row`);
          assert.match((await run(db.url, 'migrate', 'up')).stderr, new RegExp(`applied ${LATEST}$`, 'm'));
          assert.equal((await recorded(db.url)).at(-1), `${LATEST}${otherExt}`);

          // Both forms now read a table with both extensions as current.
          for (const cli of [migrate, run]) {
            assert.deepEqual(JSON.parse((await cli(db.url, 'migrate', 'status', '--json')).stdout).pending, []);
          }
          const server = await spawnServer(store, db, { compiled: other === 'build' });
          let code: number | null;
          try {
            assert.equal(listening(server.output()).migrated, 0, `the server found nothing to migrate:\n${server.output()}`);
          } finally {
            code = await server.stop('SIGTERM');
          }
          assert.equal(code, 0, `exit code after SIGTERM:\n${server.output()}`);
        });
      }
    }
  });
}
