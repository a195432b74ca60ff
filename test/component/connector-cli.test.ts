/**
 * The connector's CLI (`connector check|status|deliveries|retry|discard`) as a child process against a database,
 * with Mattermost an unused local port: check fails listing why, changes made from the CLI are queued when the
 * connector is configured (and only then), a parked row is listed, retried and discarded with its audit rows.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { connect, createDatabase, ROOT, stores, unusedPort, type TestDatabase } from '../helpers/server.ts';
import { park, type Delivery } from '../../src/store/outbox.ts';
import { runCli } from '../helpers/cli.ts';

interface Run { code: number | null; stdout: string; stderr: string }

const TOKEN = 'abcdefghijklmnopqrstuvwxyz';
const port = await unusedPort();

/** The CLI with DATABASE_URL and, unless `mattermost` is false, the connector's settings (nothing else inherited). */
function cli(dbUrl: string, args: string[], mattermost = true): Promise<Run> {
  return runCli(dbUrl, args, mattermost ? { MATTERMOST_URL: `http://127.0.0.1:${port}`, MATTERMOST_TOKEN: TOKEN, MATTERMOST_REQUEST_TIMEOUT: '1s' } : {});
}

const ok = (r: Run): Run => {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r;
};

for (const store of stores()) {
  describe(`connector CLI [${store}]`, () => {
    let db: TestDatabase;
    let sql: Knex;
    let teamId: string;
    before(async () => {
      db = await createDatabase(store);
      const t = ok(await cli(db.url, ['team', 'create', `cli-${store}`, '--display-name', 'CLI']));
      teamId = JSON.parse(t.stdout).team.id;
      sql = connect(db.url);
    });
    after(async () => {
      await sql?.destroy();
      await db?.drop();
    });

    test('without MATTERMOST_URL the connector commands say so; CLI changes are then not queued', async () => {
      const r = await cli(db.url, ['connector', 'status'], false);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /MATTERMOST_URL/);
      assert.equal(r.stdout, '');
      const t = ok(await cli(db.url, ['team', 'create', `off-${store}`, '--display-name', 'Off'], false));
      const offId = JSON.parse(t.stdout).team.id;
      assert.equal((await sql('outbox').where({ entity_key: `team:${offId}` })).length, 0);
    });

    test('connector check exits 1 listing the problems, with the result as JSON on stdout', async () => {
      const r = await cli(db.url, ['connector', 'check']);
      assert.equal(r.code, 1, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.ok, false);
      assert.equal(out.reachable, false);
      assert.equal(out.url, `http://127.0.0.1:${port}`);
      assert.match(r.stderr, /not ready for the connector:\n\s+- Mattermost did not answer/);
      assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN), 'the token is never printed');
    });

    test('a change made from the CLI is queued; status and deliveries print JSON', async () => {
      const [row] = await sql('outbox').where({ entity_key: `team:${teamId}` });
      assert.ok(row, 'team create queued for Mattermost');
      const status = JSON.parse(ok(await cli(db.url, ['connector', 'status'])).stdout);
      assert.equal(status.enabled, true);
      assert.ok(status.outbox.pending >= 1);
      const list = JSON.parse(ok(await cli(db.url, ['connector', 'deliveries', '--limit', '1'])).stdout);
      assert.equal(list.items.length, 1);
      assert.equal(list.items[0].entityKey, `team:${teamId}`);
      const bad = await cli(db.url, ['connector', 'deliveries', '--state', 'done']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /--state must be pending or parked/);
    });

    test('a parked delivery is listed, retried and discarded from the CLI, each audited', async () => {
      const [row] = await sql('outbox').where({ entity_key: `team:${teamId}` });
      const id = Number(row.id);
      await park(sql, { id } as Delivery, 'parked by the CLI test');
      const parked = JSON.parse(ok(await cli(db.url, ['connector', 'deliveries', '--state', 'parked'])).stdout);
      assert.deepEqual(parked.items.map((d: any) => d.id), [id]);

      const retried = JSON.parse(ok(await cli(db.url, ['connector', 'retry', String(id)])).stdout);
      assert.equal(retried.state, 'pending');
      const again = await cli(db.url, ['connector', 'retry', String(id)]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /is not parked/);

      await park(sql, { id } as Delivery, 'parked again');
      ok(await cli(db.url, ['connector', 'discard', String(id)]));
      assert.equal((await sql('outbox').where({ id })).length, 0);
      const audit = await sql('audit_log').whereIn('operation', ['connector_retry', 'connector_discard']).orderBy('id');
      assert.deepEqual(audit.map((a: any) => a.operation), ['connector_retry', 'connector_discard']);
      for (const a of audit) {
        assert.match(a.actor, /^admin:cli:/);
        assert.equal(a.resource_type, 'Connector');
        assert.equal(a.resource_id, teamId);
        assert.equal(JSON.parse(a.after).deliveryId, id);
      }
      assert.equal(JSON.parse(audit[1].after).lastError, 'parked again');

      assert.deepEqual(JSON.parse(ok(await cli(db.url, ['connector', 'retry', '--all-parked'])).stdout), { retried: 0 });
      for (const args of [['retry', 'abc'], ['retry'], ['discard', '0']]) {
        const r = await cli(db.url, ['connector', ...args]);
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, /^error: /);
      }
    });
  });
}
