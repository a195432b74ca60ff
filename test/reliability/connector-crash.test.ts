/**
 * kill -9 of the server while the connector has deliveries in flight, on each store. The server runs as a child
 * process (the process is the subject); the Mattermost contract fake runs here, slowed so that deliveries are under
 * way when the process dies. After a restart on the same database (leases of the dead process run out after
 * MATTERMOST_LEASE; on SQLite they are given back at start), every change SCIM acknowledged reaches Mattermost exactly
 * once in effect: the mirror holds, each person has one account, and no create made before the kill was repeated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createDatabase, spawnServer, stores, type SpawnedServer, type TestDatabase } from '../helpers/server.ts';
import { assertMirrors, drained, mattermostEnv, parked } from '../helpers/connector.ts';
import { accountsMade, assertOneAccountPerEmail, entraBurst, requestsTo } from '../helpers/entra-burst.ts';
import { startFakeMattermost, type FakeMattermost } from '../fakes/mattermost/index.ts';
import { sleep } from './util.ts';

for (const store of stores()) {
  describe(`connector: kill -9 with deliveries in flight [${store}]`, { timeout: 90_000 }, () => {
    let mm: FakeMattermost;
    let db: TestDatabase;
    let server: SpawnedServer | undefined;
    before(async () => {
      mm = await startFakeMattermost({ enableApiUserDeletion: true });
      db = await createDatabase(store);
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
      await mm?.close();
    });

    test('every acknowledged change arrives exactly once in effect after a restart', async () => {
      const env = mattermostEnv(mm, { MATTERMOST_LEASE: '2s', RATE_LIMIT_PER_SECOND: '0' });
      // Slow enough that the burst (SCIM only, local) is answered long before its deliveries are done: 40 people at 4
      // in flight and one request each take about 6 s, so the kill lands part way.
      mm.faults.latencyMs = 600;
      server = await spawnServer(store, db, { env });
      // Every request of the burst is answered 2xx (entraBurst checks): these are the acknowledged changes.
      const burst = await entraBurst([server], 40);
      const sql = connect(db.url);
      try {
        const start = Date.now();
        while (accountsMade(mm) < 10 && Date.now() - start < 20_000) await sleep(10);
        const before = accountsMade(mm);
        server.proc.kill('SIGKILL');
        await new Promise((r) => (server!.proc.exitCode !== null || server!.proc.signalCode !== null ? r(undefined) : server!.proc.once('exit', r)));
        assert.equal(server.proc.signalCode, 'SIGKILL');
        const left = Number((await sql('outbox').where({ state: 'pending' }).count({ n: '*' }))[0]!.n);
        const leased = Number((await sql('outbox').whereNotNull('lease_owner').count({ n: '*' }))[0]!.n);
        assert.ok(before >= 10 && before < burst.users.length, `killed part way: ${before} of ${burst.users.length} accounts made`);
        assert.ok(left > 0, 'deliveries were left when the process died');

        mm.faults.latencyMs = 50; // the rest drains at a normal pace
        server = await spawnServer(store, db, { env });
        await drained(sql, 45_000);
        assert.deepEqual(await parked(sql), [], 'nothing parked');
        await assertMirrors(sql, mm);
        await assertOneAccountPerEmail(sql, mm);
        // Each account was made by one create. Another create of the same person can only have been refused (400,
        // the address exists): a membership delivery converging its person while that person's own delivery is under
        // way (members.ts ensureBound) loses that race and adopts the winner's account.
        const creates = requestsTo(mm, /^POST \/api\/v4\/users$/);
        assert.equal(creates.filter((r) => r.status === 201).length, accountsMade(mm), 'one successful create per account');
        assert.deepEqual(creates.filter((r) => r.status !== 201 && r.status !== 400).map((r) => r.status), [], 'every other create was refused');
        const team = await sql('teams').where({ id: burst.team }).first();
        assert.equal([...mm.state.teams.values()].filter((t) => t.name === team.name).length, 1, 'one team');
        const repeats = creates.length - accountsMade(mm);
        console.log(`# connector crash [${store}]: killed with ${before} accounts made, ${left} rows pending (${leased} leased); after restart ${accountsMade(mm)} accounts (${repeats} creates lost a race), ${requestsTo(mm, /^POST \/api\/v4\/teams$/).length} team creates, ${mm.requests.length} requests`);
      } finally {
        await sql.destroy();
      }
    });
  });
}
