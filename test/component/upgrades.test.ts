/**
 * Upgrades (issue 16 §4), on both stores: `GET /version` (no token) and the start-up line give the version and the
 * schema version; `migrate status|up|down` report and move the schema; a database migrated by a newer version is
 * refused with one clear line by the server and the CLI; PostgreSQL instances started together on an empty database
 * take turns migrating.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createDatabase, ROOT, startServer, stores, type TestDatabase } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { knownMigrations } from '../../src/store/migrations.ts';

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const LATEST = knownMigrations().at(-1)!;

for (const store of stores()) {
  describe(`upgrades [${store}]`, () => {
    const dbs: TestDatabase[] = [];
    const fresh = async () => { const d = await createDatabase(store); dbs.push(d); return d; };
    after(async () => { for (const d of dbs) await d.drop(); });

    test('GET /version needs no token and names the version and the schema; the start-up line does too', async () => {
      const server = await startServer(store, await fresh());
      try {
        const res = await fetch(`${server.url}/version`);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { version: VERSION, schema: LATEST });
        const line = server.output().split('\n').map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((l) => l?.message === 'listening');
        assert.equal(line.version, VERSION);
        assert.equal(line.schema, LATEST);
        assert.equal(line.migrated, knownMigrations().length, 'an empty database got every migration');
      } finally {
        await server.stop();
      }
    });

    test('migrate status, down and up: the schema moves one migration and back, and status says so', async () => {
      const db = await fresh();
      const up = await runCli(db.url, ['migrate', 'up']);
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stderr, /applied /);
      const status = async () => JSON.parse((await runCli(db.url, ['migrate', 'status', '--json'])).stdout);
      assert.deepEqual(await status(), { version: VERSION, schema: LATEST, applied: knownMigrations(), pending: [], unknown: [] });
      assert.equal((await runCli(db.url, ['migrate', 'down'])).code, 1, 'down without --yes is refused');
      const down = await runCli(db.url, ['migrate', 'down', '--yes']);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stderr, new RegExp(`undid ${LATEST}`));
      const after = await status();
      assert.deepEqual(after.pending, [LATEST]);
      assert.equal(after.schema, knownMigrations().at(-2));
      assert.match((await runCli(db.url, ['migrate', 'up'])).stderr, new RegExp(`applied ${LATEST}`));
      assert.match((await runCli(db.url, ['migrate', 'up'])).stderr, /nothing to apply/);
      const table = await runCli(db.url, ['migrate', 'status']);
      assert.match(table.stdout, new RegExp(`schema version +${LATEST}`));
      assert.match(table.stdout, /pending +none/);
    });

    test('a database a newer version migrated: the server and the CLI refuse with one line, status names it', async () => {
      const db = await fresh();
      assert.equal((await runCli(db.url, ['migrate', 'up'])).code, 0);
      const sql = connect(db.url);
      try {
        await sql('knex_migrations').insert({ name: '29991231_001_from_the_future.ts', batch: 99, migration_time: new Date() });
      } finally {
        await sql.destroy();
      }
      await assert.rejects(startServer(store, db), (err: Error) =>
        /start-up refused, exit 1/.test(err.message) && /migrated by a newer version of this server \(unknown migrations: 29991231_001_from_the_future\)/.test(err.message));
      const cli = await runCli(db.url, ['token', 'list']);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /migrated by a newer version/);
      assert.doesNotMatch(cli.stderr, /\n\s+at /, 'one line, no stack');
      const status = JSON.parse((await runCli(db.url, ['migrate', 'status', '--json'])).stdout);
      assert.deepEqual(status.unknown, ['29991231_001_from_the_future']);
    });

    test('instances started together on an empty database: one migrates, the others wait, all serve', { skip: store !== 'pg' }, async () => {
      const db = await fresh();
      const servers = await Promise.all([startServer(store, db), startServer(store, db), startServer(store, db)]);
      try {
        for (const s of servers) assert.equal((await fetch(`${s.url}/version`).then((r) => r.json())).schema, LATEST);
        const sql = connect(db.url);
        try {
          const names = await sql('knex_migrations').pluck('name');
          assert.equal(names.length, knownMigrations().length, 'every migration ran once');
        } finally {
          await sql.destroy();
        }
      } finally {
        for (const s of servers) await s.stop();
      }
    });
  });
}
