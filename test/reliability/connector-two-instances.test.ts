/**
 * Two server instances on one PostgreSQL database, both with the connector on, as behind a load balancer: the SCIM
 * requests of an Entra burst are spread over both, both workers claim from the one outbox (FOR UPDATE SKIP LOCKED
 * leases, store/outbox.ts), and one create's reply is lost. After the drain Mattermost mirrors the store, each person
 * has one account, and no create was repeated for a person except by losing a race that the loser then adopted.
 * Five rounds, each on a fresh database, to shake out races.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createDatabase, startServer, type TestServer } from '../helpers/server.ts';
import { assertMirrors, drained, FAST, mattermostEnv, parked } from '../helpers/connector.ts';
import { accountsMade, assertOneAccountPerEmail, entraBurst, requestsTo } from '../helpers/entra-burst.ts';
import { startFakeMattermost } from '../fakes/mattermost/index.ts';

const ROUNDS = 5;

describe('connector on two instances [pg]', { skip: !process.env.TEST_DATABASE_URL && 'PostgreSQL only (TEST_DATABASE_URL)', timeout: 60_000 }, () => {
  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: one outbox, two workers, every change delivered once in effect`, async () => {
      const mm = await startFakeMattermost({ enableApiUserDeletion: true });
      const db = await createDatabase('pg');
      const servers: TestServer[] = [];
      const sql = connect(db.url);
      try {
        const env = mattermostEnv(mm, { RATE_LIMIT_PER_SECOND: '0' });
        for (let i = 0; i < 2; i++) servers.push(await startServer('pg', db, { env, connectorTuning: FAST }));
        // A little latency so both workers have deliveries in flight at once; one create's reply is lost.
        mm.faults.latencyMs = 20;
        mm.faults.crashAfterApply(/^POST \/api\/v4\/users$/);
        const burst = await entraBurst(servers, 16);
        await drained(sql);
        assert.deepEqual(await parked(sql), [], 'nothing parked');
        await assertMirrors(sql, mm);
        await assertOneAccountPerEmail(sql, mm);

        const creates = requestsTo(mm, /^POST \/api\/v4\/users$/);
        // The lost reply is the one create that "succeeded" without the connector learning it; the retry finds the
        // account by email and does not create again. Any other create beyond one per account was refused (400, the
        // address exists) because a concurrent delivery of the same person won, and the loser adopted its account.
        const made = creates.filter((r) => r.status === 201).length;
        assert.equal(made, accountsMade(mm), 'one successful create per account, the lost reply included');
        assert.deepEqual(creates.filter((r) => r.status !== 201 && r.status !== 400).map((r) => r.status), [], 'every other create was refused');
        const lost = (await sql('mattermost_bindings').where({ kind: 'user', how: 'adopted' }).count({ n: '*' }))[0]!.n;
        assert.ok(Number(lost) >= 1, 'the account whose create reply was lost was adopted');
        const delivered = await sql('audit_log').where({ operation: 'connector_deliver' }).select('request_id');
        assert.ok(delivered.length > 0);
        const outputs = servers.map((s) => (s.output().match(/"delivered to mattermost"/g) ?? []).length);
        assert.ok(outputs.every((n) => n > 0), `both instances delivered (${outputs.join(', ')})`);
        console.log(`# two instances round ${round}: ${burst.users.length} people, ${creates.length} creates (${creates.length - made} lost a race), deliveries per instance ${outputs.join('/')}, ${requestsTo(mm, /^POST \/api\/v4\/teams$/).length} team creates`);
      } finally {
        for (const s of servers) await s.stop();
        await sql.destroy();
        await db.drop();
        await mm.close();
      }
    });
  }
});
