/**
 * The connector under Mattermost faults, on each store, against the contract fake's fault injection: an outage, a run
 * of 500s, a 429 storm, replies lost after the effect was applied, answers slower than MATTERMOST_REQUEST_TIMEOUT, and
 * failures no retry can fix. What must hold every time: SCIM answers as usual (the change is queued, not sent inline),
 * everything acknowledged reaches Mattermost once Mattermost is back (at-least-once), retries never make a second
 * account (idempotent effects), and a delivery that cannot succeed is parked with its reason without holding up the
 * rest. The 429 storm is in connector-rate-limit.test.ts (it is the slow one).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PATCH_OP, rand, stores, newUser, type Store } from '../helpers/server.ts';
import { workspace, teamName } from '../helpers/workspace-http.ts';
import { assertMirrors, drained, parked, startRig, type ConnectorRig, sleep, until } from '../helpers/connector.ts';
import { accountsMade, assertOneAccountPerEmail, entraBurst, requestsTo } from '../helpers/entra-burst.ts';
import { unpark } from '../../src/store/outbox.ts';


/** The connector's own view of what happened: requests with no answer (status 0) and delivery results. */
function watch(rig: ConnectorRig) {
  const events = rig.server.running!.connector!.events;
  const seen = { noAnswer: 0, results: [] as string[] };
  events.request.push((_m, status) => { if (status === 0) seen.noAnswer++; });
  events.result.push((r, kind) => seen.results.push(`${r}:${kind}`));
  return {
    seen,
    reset() { seen.noAnswer = 0; seen.results.length = 0; },
    count: (r: string) => seen.results.filter((x) => x.startsWith(`${r}:`)).length,
  };
}

async function settle(rig: ConnectorRig, timeoutMs?: number): Promise<void> {
  await drained(rig.sql, timeoutMs);
  assert.deepEqual(await parked(rig.sql), [], 'nothing parked');
  await assertMirrors(rig.sql, rig.mm);
  await assertOneAccountPerEmail(rig.sql, rig.mm);
}

for (const store of stores()) {
  describe(`connector under Mattermost faults (${store})`, { timeout: 60_000 }, () => {
    const rigs: ConnectorRig[] = [];
    const rigFor = async (s: Store) => {
      const r = await startRig(s);
      rigs.push(r);
      return r;
    };
    after(async () => { for (const r of rigs) await r.stop(); });

    test('an outage: SCIM keeps answering 2xx, everything is queued and arrives once Mattermost is back', async () => {
      const rig = await rigFor(store);
      rig.mm.faults.down = true;
      const burst = await entraBurst([rig.server], 10);
      assert.equal(accountsMade(rig.mm), 0, 'nothing reached Mattermost while it was down');
      // Deliveries of people fail against the outage; their memberships wait for them (a dependency, not a failure).
      const failing = await until('a failed attempt', () => rig.sql('outbox').where('last_error', 'like', '%did not answer%').first());
      assert.match(failing.last_error, /did not answer/);
      const waiting = await rig.sql('outbox').whereNotNull('last_error').whereNot('last_error', 'like', '%did not answer%').select('last_error');
      assert.ok(waiting.every((r: any) => /waiting for (user|team|channel) .* to be delivered first/.test(r.last_error)), JSON.stringify(waiting.slice(0, 3)));
      const queued = Number((await rig.sql('outbox').where({ state: 'pending' }).count({ n: '*' }))[0]!.n);
      assert.ok(queued >= burst.users.length, `the burst is queued (${queued} rows)`);
      await sleep(500); // a few rounds of retries against the outage, backing off
      rig.mm.faults.down = false;
      await settle(rig);
      // The person deactivated during the outage never had an account, and none is made for them now.
      assert.equal(accountsMade(rig.mm), burst.users.length - 1, 'one account per live person');
      assert.equal(await rig.sql('mattermost_bindings').where({ kind: 'user', local_id: burst.deactivated }).first(), undefined);
    });

    test('20 × 500 during a burst: retried, nothing lost, nothing parked', async () => {
      const rig = await rigFor(store);
      rig.mm.faults.failNext(20, 500);
      const burst = await entraBurst([rig.server], 10);
      await settle(rig);
      assert.equal(rig.mm.requests.filter((r) => r.status === 500).length, 20, 'all 20 injected 500s were met');
      assert.equal(requestsTo(rig.mm, /^POST \/api\/v4\/users$/).filter((r) => r.status === 201).length, accountsMade(rig.mm), 'each account made by one POST');
    });

    test('replies lost after the effect was applied: each retry adopts what was made instead of making it twice', async () => {
      const rig = await rigFor(store);
      const ws = workspace(rig.server);
      const w = watch(rig);
      const binding = (kind: string, id: string) => rig.sql('mattermost_bindings').where({ kind, local_id: id }).first();
      // A team alone has its default channels (town-square, off-topic) here and in Mattermost, but they are bound only
      // when a membership first needs them, so the full mirror check waits for the membership steps.
      const lost = async (what: string, re: RegExp, step: () => Promise<void>, mirrors = true) => {
        w.reset();
        rig.mm.faults.crashAfterApply(re);
        await step();
        await drained(rig.sql);
        assert.deepEqual(await parked(rig.sql), [], `${what}: nothing parked`);
        if (mirrors) await assertMirrors(rig.sql, rig.mm);
        await assertOneAccountPerEmail(rig.sql, rig.mm);
        assert.equal(w.seen.noAnswer, 1, `${what}: one reply was lost`);
        assert.equal(w.count('retry'), 1, `${what}: one delivery was retried`);
      };

      let alice = '', bob = '';
      await lost('create user', /^POST \/api\/v4\/users$/, async () => { alice = await ws.user(); });
      // The retry creates again (a live person is created straight away), Mattermost refuses it as email_exists, and
      // the connector binds the account the lost reply made.
      const creates = requestsTo(rig.mm, /^POST \/api\/v4\/users$/);
      assert.equal(creates.filter((r) => r.status === 201).length, 1, 'one account was made');
      assert.ok(creates.slice(1).every((r) => r.status === 400), 'every later create was refused, not repeated successfully');
      assert.equal((await binding('user', alice)).how, 'adopted');
      bob = await ws.user();

      const name = teamName('lost');
      let team = { id: '', channels: {} as Record<string, string> };
      await lost('create team', /^POST \/api\/v4\/teams$/, async () => { team = await ws.team(name, { groupConstrained: true }); }, false);
      assert.equal([...rig.mm.state.teams.values()].filter((t) => t.name === name).length, 1, 'one team');
      assert.equal((await binding('team', team.id)).how, 'adopted');

      let channel = '';
      await lost('create channel', /^POST \/api\/v4\/channels$/, async () => { channel = await ws.channel(team.id, 'lost-reply', { type: 'P' }); }, false);
      assert.equal([...rig.mm.state.channels.values()].filter((c) => c.name === 'lost-reply').length, 1, 'one channel');
      assert.equal((await binding('channel', channel)).how, 'adopted');

      const group = await ws.group([alice, bob]);
      await lost('team member add', /^POST \/api\/v4\/teams\/[a-z0-9]+\/members$/, async () => { await ws.linkTeam(group, team.id, { autoAdd: true }); });
      await lost('channel member add', /^POST \/api\/v4\/channels\/[a-z0-9]+\/members$/, async () => { await ws.linkChannel(group, channel, { autoAdd: true, schemeAdmin: true }); });
      const cb = await binding('channel', channel);
      const members = [...rig.mm.state.channelMembers.values()].filter((m) => m.channel_id === cb.mm_id && m.user_id !== [...rig.mm.state.users.values()].find((u) => u.username === 'connector')!.id);
      assert.equal(members.length, 2, 'two members, each once');
      assert.ok(members.every((m) => m.scheme_admin), 'and admin by the link, set after the adopted add');
    });

    test('answers slower than MATTERMOST_REQUEST_TIMEOUT for a while, then normal: everything arrives once', async () => {
      const rig = await rigFor(store);
      const w = watch(rig);
      // Turn slow (2.5 s; the rig's MATTERMOST_REQUEST_TIMEOUT is 2 s) right after the first create answers, so
      // creates are among the requests the connector gives up on, and its retry must not make a second
      // account. (The fake waits out its latency before reading the body, so a request whose client left is never
      // applied; a create applied after its client left is the lost-reply case above.)
      const log = rig.mm.requests;
      const push = log.push.bind(log);
      log.push = (...rs) => {
        if (rs.some((r) => r.method === 'POST' && r.path === '/api/v4/users')) rig.mm.faults.latencyMs = 2500;
        return push(...rs);
      };
      const burst = await entraBurst([rig.server], 6);
      await until('a timed-out request', () => rig.sql('outbox').where('last_error', 'like', '%timed out%').first(), 10_000);
      // Slow a little longer than one more timeout after the last change: a change made while a request the connector
      // gave up on is still to land would race that late write.
      await sleep(3000);
      log.push = push;
      rig.mm.faults.latencyMs = 0;
      await settle(rig);
      const lateCreates = requestsTo(rig.mm, /^POST \/api\/v4\/users$/).filter((r) => r.status === 201).length;
      const adopted = Number((await rig.sql('mattermost_bindings').where({ kind: 'user', how: 'adopted' }).count({ n: '*' }))[0]!.n);
      assert.ok(w.seen.noAnswer > 0, 'requests timed out');
      assert.equal(lateCreates, accountsMade(rig.mm), 'no account was made twice');
      assert.ok(requestsTo(rig.mm, /^POST \/api\/v4\/users$/).length >= 1);
      console.log(`# slow [${store}]: ${w.seen.noAnswer} requests timed out; ${adopted} adopted, ${lateCreates} created, for ${burst.users.length} people`);
    });

    test('a channel add while Mattermost still refuses the person\'s reactivation waits; it is not parked', async () => {
      const rig = await rigFor(store);
      const ws = workspace(rig.server);
      const person = await ws.user();
      const team = await ws.team(teamName('back'), { groupConstrained: true });
      const first = await ws.channel(team.id, 'first', { type: 'P' });
      const group = await ws.group([person]);
      await ws.linkTeam(group, team.id, { autoAdd: true });
      await ws.linkChannel(group, first, { autoAdd: true });
      await ws.setActive(person, false);
      await settle(rig);

      // Back here, and into a second channel at once; Mattermost answers the reactivation with 500s for a while, so
      // the channel add meets a deactivated account there (403 app.channel.add_member.deleted_user.app_error). The
      // person's own delivery is what fixes that, so the add must wait for it, not be parked as if it could never
      // succeed.
      rig.mm.faults.failNext(6, 500, /^PUT \/api\/v4\/users\/[a-z0-9]+\/active$/);
      await ws.setActive(person, true);
      const second = await ws.channel(team.id, 'second', { type: 'P' });
      const other = await ws.group([person]);
      await ws.linkChannel(other, second, { autoAdd: true });
      await settle(rig);
      const parkings = await ws.audit(`resourceType=ChannelMember&resourceId=${person}`);
      assert.deepEqual(parkings.filter((r) => r.operation === 'connector_park').map((r) => r.after.error), [], 'never parked');
      assert.equal(requestsTo(rig.mm, /^PUT \/api\/v4\/users\/[a-z0-9]+\/active$/).filter((r) => r.status === 500).length, 6, 'the reactivation was refused 6 times first');
    });

    test('permanent failures are parked with their reason, block nobody else, and clear by a later change or an unpark', async () => {
      const rig = await rigFor(store);
      const ws = workspace(rig.server);
      const parkedOf = async (id: string) => (await parked(rig.sql)).filter((p) => p.entity_key === `user:${id}`);

      // An injected 400 on the create: Mattermost refused the request as such, so retrying the same one is pointless.
      rig.mm.faults.failNext(1, 400, /^POST \/api\/v4\/users$/);
      const refused = await ws.user();
      const [p1] = await until('the refused create to be parked', async () => (await parkedOf(refused)).length ? parkedOf(refused) : null);
      assert.match(p1!.last_error, /create user: Mattermost answered 400 fake\.injected_fault\.app_error/);
      const audit = await ws.audit(`resourceType=User&resourceId=${refused}`);
      assert.ok(audit.some((r) => r.operation === 'connector_park'), 'the parking is audited');

      // An address SCIM accepts and Mattermost does not (net/mail.ParseAddress refuses consecutive dots in a
      // dot-atom: server/public/model/utils.go IsValidEmail).
      const r = rand();
      const badEmail = `first..last.${r}@example.com`;
      const bad = ws.ok(await ws.scim.post('/Users', newUser({ userName: `odd.${r}@example.com`, emails: [{ value: badEmail, primary: true, type: 'work' }] })), 201).body.id;
      await until('the bad address to be parked', async () => (await parkedOf(bad)).length);
      assert.match((await parkedOf(bad))[0]!.last_error, /model\.user\.is_valid\.email\.app_error/);

      // Everyone else goes through meanwhile, memberships included.
      const burst = await entraBurst([rig.server], 6);
      await drained(rig.sql);
      const stuck = (await parked(rig.sql)).map((p) => p.entity_key).sort();
      assert.deepEqual(stuck, [`user:${refused}`, `user:${bad}`].sort(), 'only the two are parked');
      for (const id of burst.users.filter((u) => u !== burst.deactivated)) assert.ok(await rig.sql('mattermost_bindings').where({ kind: 'user', local_id: id }).first(), `${id} arrived`);
      const made = accountsMade(rig.mm);

      // A later change of the same person that still cannot succeed is parked too; the one that fixes the address is
      // delivered and clears every parked row of that person.
      ws.ok(await ws.scim.patch(`/Users/${bad}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'still odd' }] }), 200, 204);
      await until('the second parked row', async () => (await parkedOf(bad)).length === 2);
      ws.ok(await ws.scim.patch(`/Users/${bad}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: `first.last.${r}@example.com` }] }), 200, 204);
      await until('the fixed person to be delivered', async () => !(await parkedOf(bad)).length && !(await rig.sql('outbox').where({ entity_key: `user:${bad}` }).first()));
      assert.equal(accountsMade(rig.mm), made + 1);

      // The refused one needed nothing changed: an operator puts it back in line.
      const row = await rig.sql('outbox').where({ entity_key: `user:${refused}`, state: 'parked' }).first();
      assert.equal(await unpark(rig.sql, 'mattermost', Number(row.id), Date.now()), true);
      await settle(rig);
      assert.equal(accountsMade(rig.mm), made + 2);
    });
  });
}
