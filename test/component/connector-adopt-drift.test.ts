/**
 * Adopting a Mattermost workspace that already has people and teams, repairing drift made by hand in Mattermost,
 * resolving a username Mattermost refuses, and purging, on each store against the Mattermost contract fake.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { purgeUser } from '../../src/store/users.ts';
import { writeAudit } from '../../src/store/audit.ts';
import { enableOutbox } from '../../src/store/outbox.ts';
import { adopt } from '../../src/connector/adopt.ts';
import { reconcile } from '../../src/connector/reconcile.ts';
import { createStreamLogger } from '../../src/log.ts';
import { connectorCtx } from '../../src/connector/index.ts';
import type { MattermostConfig } from '../../src/config/index.ts';
import { startFakeMattermost, type FakeMattermost } from '../fakes/mattermost/index.ts';
import { connect, createDatabase, startServer, stores, type TestDatabase } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { assertMirrors, drained, FAST, mattermostEnv, parked, startRig } from '../helpers/connector.ts';
import { Writable } from 'node:stream';

const quiet = createStreamLogger('error', new Writable({ write(_c, _e, cb) { cb(); } }));
const cfgOf = (mm: FakeMattermost, extra: Partial<MattermostConfig> = {}): MattermostConfig => ({
  url: mm.url, token: mm.adminToken, authService: '', authData: 'externalId', deleteMode: 'deactivate', reconcileIntervalMs: 0,
  concurrency: 4, maxRequestsPerSecond: 0, leaseMs: 3000, requestTimeoutMs: 2000, ...extra,
});
const writes = (mm: FakeMattermost) => mm.requests.filter((r) => r.method !== 'GET').length;

for (const store of stores()) {
  describe(`connector adoption and drift (${store})`, () => {
    let mm: FakeMattermost;
    let tdb: TestDatabase;
    const ids: Record<string, string> = {};
    const mmIds: Record<string, string> = {};
    before(async () => {
      mm = await startFakeMattermost();
      tdb = await createDatabase(store);
    });
    after(async () => {
      await mm?.close();
      await tdb?.drop();
    });

    test('a store filled before the connector was on is adopted: a dry run first changes nothing', async () => {
      // Mattermost already has Alice, the sales team with a deals channel, and someone the IdP does not know.
      mmIds.alice = mm.seedUser({ username: 'alice.old', email: 'alice@example.com', first_name: 'A' }).id;
      mm.seedUser({ username: 'outsider', email: 'outsider@example.com' });
      const sales = mm.seedTeam({ name: 'sales', display_name: 'Sales' });
      mmIds.sales = sales.id;
      mmIds.deals = mm.seedChannel({ team_id: sales.id, name: 'deals', display_name: 'Deals' }).id;

      // The IdP provisions into this server while the connector is off.
      const off = await startServer(store, tdb);
      const ws = workspace(off);
      ids.alice = await ws.user({ userName: 'alice@example.com', emails: [{ value: 'alice@example.com', primary: true }], name: { givenName: 'Alice', familyName: 'A' } });
      ids.bob = await ws.user({ userName: 'bob@example.com', emails: [{ value: 'bob@example.com', primary: true }] });
      const team = await ws.team('sales');
      ids.sales = team.id;
      ids.deals = await ws.channel(team.id, 'deals');
      ids.group = await ws.group([ids.alice, ids.bob]);
      await ws.linkTeam(ids.group, team.id);
      await ws.linkChannel(ids.group, ids.deals);
      await off.stop();

      const sql = connect(tdb.url);
      try {
        const before = writes(mm);
        const dry = await adopt({ ...connectorCtx(sql, cfgOf(mm), quiet), dryRun: true }, { actor: 'test' });
        assert.equal(writes(mm), before, 'a dry run sends nothing that changes Mattermost');
        assert.equal(await sql('mattermost_bindings').count({ n: '*' }).first().then((r: any) => Number(r.n)), 0, 'and binds nothing');
        const bound = dry.bound.map((b) => `${b.kind}:${b.ours}->${b.mattermost}`).sort();
        assert.deepEqual(bound, ['channel:sales/deals->deals', 'channel:sales/off-topic->off-topic', 'channel:sales/town-square->town-square', 'team:sales->sales', 'user:alice@example.com->alice.old']);
        assert.deepEqual(dry.toCreate.map((c) => `${c.kind}:${c.ours}`), ['user:bob@example.com']);
        assert.ok(dry.leftAlone.sample.includes('outsider'));
        assert.ok(!dry.leftAlone.sample.includes('alice.old'));

        const real = await adopt(connectorCtx(sql, cfgOf(mm), quiet), { actor: 'test' });
        assert.equal(real.bound.length, 5);
      } finally {
        await sql.destroy();
      }

      // Now the connector runs: it creates Bob, and brings the adopted ones in line, memberships included.
      const on = await startServer(store, tdb, { env: mattermostEnv(mm), connectorTuning: FAST });
      const sql2 = connect(tdb.url);
      try {
        await drained(sql2);
        assert.deepEqual(await parked(sql2), []);
        await assertMirrors(sql2, mm);
        const alice = await sql2('mattermost_bindings').where({ kind: 'user', local_id: ids.alice }).first();
        assert.equal(alice.mm_id, mmIds.alice, 'Alice keeps her account');
        assert.equal(mm.state.users.get(mmIds.alice)!.first_name, 'Alice', 'now with the IdP\'s attributes');
        assert.equal([...mm.state.teams.values()].filter((t) => t.name === 'sales').length, 1, 'no second sales team');
        assert.equal([...mm.state.users.values()].filter((u) => u.email === 'alice@example.com').length, 1);
      } finally {
        await sql2.destroy();
        await on.stop();
      }
    });

    test('drift made by hand in Mattermost is reported by a dry run and repaired by a reconcile; unmanaged people are left alone', async () => {
      const sql = connect(tdb.url);
      try {
        const b = async (kind: string, id: string) => (await sql('mattermost_bindings').where({ kind, local_id: id }).first()).mm_id as string;
        const [alice, bob, sales, deals] = [await b('user', ids.alice!), await b('user', ids.bob!), await b('team', ids.sales!), await b('channel', ids.deals!)];
        // A Mattermost admin edits Alice, takes Bob out of the team, archives the channel, and adds an outsider.
        mm.state.users.get(alice)!.first_name = 'Hand-edited';
        const bm = mm.state.teamMembers.get(`${sales}:${bob}`)!;
        bm.delete_at = Date.now();
        for (const [k, m] of mm.state.channelMembers) if (m.user_id === bob && mm.state.channels.get(m.channel_id)?.team_id === sales) mm.state.channelMembers.delete(k);
        mm.state.channels.get(deals)!.delete_at = Date.now();
        const outsider = [...mm.state.users.values()].find((u) => u.username === 'outsider')!;
        mm.state.teamMembers.set(`${sales}:${outsider.id}`, { ...bm, user_id: outsider.id, delete_at: 0 });

        const before = writes(mm);
        const dry = await reconcile({ ...connectorCtx(sql, cfgOf(mm), quiet), dryRun: true }, { actor: 'test' });
        assert.equal(writes(mm), before, 'the dry run changes nothing');
        const seen = dry.differences.map((d) => `${d.entity.split(':')[0]}:${d.changes.join(',')}`).join(' | ');
        assert.match(seen, /user:updated first_name/);
        assert.match(seen, /channel:restored/);
        assert.match(seen, /team_member:joined team/);

        const real = await reconcile(connectorCtx(sql, cfgOf(mm), quiet), { actor: 'test' });
        assert.ok(real.fixed >= 3, JSON.stringify(real.differences));
        assert.equal(real.failed, 0, JSON.stringify(real.errors));
        await assertMirrors(sql, mm);
        assert.equal(mm.state.teamMembers.get(`${sales}:${outsider.id}`)?.delete_at, 0, 'the outsider is not ours to remove');
        const audit = await sql('audit_log').where({ operation: 'connector_reconcile' });
        assert.equal(audit.length, 1, 'the real run is audited, the dry run is not');
      } finally {
        await sql.destroy();
      }
    });
  });

  describe(`connector usernames and purge (${store})`, () => {
    test('a username Mattermost has for someone else gets the next free one, recorded and kept', async () => {
      const rig = await startRig(store);
      try {
        rig.mm.seedUser({ username: 'jdoe', email: 'someone.else@example.com' });
        const ws = workspace(rig.server);
        const id = await ws.user({ userName: 'jdoe', emails: [{ value: 'jdoe@example.com', primary: true }] });
        await drained(rig.sql);
        const b = await rig.sql('mattermost_bindings').where({ kind: 'user', local_id: id }).first();
        assert.equal(b.mm_name, 'jdoe1');
        assert.equal(rig.mm.state.users.get(b.mm_id)!.username, 'jdoe1');
        await ws.setActive(id, true);
        const r = await ws.scim.patch(`/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'J Doe' }] });
        assert.ok([200, 204].includes(r.status));
        await drained(rig.sql);
        assert.equal(rig.mm.state.users.get(b.mm_id)!.username, 'jdoe1', 'a later change does not fight over the name');
        await assertMirrors(rig.sql, rig.mm);
      } finally {
        await rig.stop();
      }
    });

    test('a new person with the email of a deleted one is parked with the reason, not bound to the old account', async () => {
      const rig = await startRig(store);
      try {
        const ws = workspace(rig.server);
        const email = 'reused@example.com';
        const first = await ws.user({ userName: 'first@example.com', externalId: 'x-first', emails: [{ value: email, primary: true }] });
        await drained(rig.sql);
        assert.equal((await ws.scim.del(`/Users/${first}`)).status, 204);
        const second = await ws.user({ userName: 'second@example.com', externalId: 'x-second', emails: [{ value: email, primary: true }] });
        await drained(rig.sql);
        const p = await parked(rig.sql);
        assert.equal(p.length, 1);
        assert.equal(p[0]!.entity_key, `user:${second}`);
        assert.match(p[0]!.last_error, /bound to another user here/);
        assert.equal([...rig.mm.state.users.values()].filter((u) => u.email === email).length, 1, 'no second account');
        const audit = await rig.sql('audit_log').where({ operation: 'connector_park', resource_id: second });
        assert.equal(audit.length, 1, 'the parked failure is audited');
      } finally {
        await rig.stop();
      }
    });

    for (const mode of ['deactivate', 'permanent'] as const) {
      test(`purging a user with MATTERMOST_DELETE=${mode}`, async () => {
        const rig = await startRig(store, { MATTERMOST_DELETE: mode });
        try {
          const ws = workspace(rig.server);
          const id = await ws.user();
          await drained(rig.sql);
          const b = await rig.sql('mattermost_bindings').where({ kind: 'user', local_id: id }).first();
          // The CLI's purge: the row goes, in one transaction with its audit row (and so its outbox row).
          enableOutbox(rig.sql, ['mattermost']);
          await rig.sql.transaction(async (tx) => {
            await purgeUser(tx, id);
            await writeAudit(tx, { actor: 'test', operation: 'purge_user', resourceType: 'User', resourceId: id });
          });
          await drained(rig.sql);
          const there = rig.mm.state.users.get(b.mm_id);
          if (mode === 'permanent') assert.equal(there, undefined, 'deleted for good');
          else assert.ok(there && there.delete_at > 0, 'deactivated, messages kept');
        } finally {
          await rig.stop();
        }
      });
    }
  });
}
