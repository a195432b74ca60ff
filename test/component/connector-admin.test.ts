/**
 * The connector's operations surface over HTTP: GET /admin/v1/connector, the deliveries list, retry and discard of a
 * parked delivery (audited), retry of every parked one, reconcile, their 400s, 401/403 and 409s, and the connector's
 * series at /metrics. Mattermost is an unused local port (nothing listens): deliveries fail and wait, SCIM answers
 * as ever. A row is parked by hand through the store, as the worker parks one retrying cannot fix.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { client, newUser, stores, unusedPort, useServer, type Reply } from '../helpers/server.ts';
import { park, type Delivery } from '../../src/store/outbox.ts';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const TOKEN = 'abcdefghijklmnopqrstuvwxyz';
const port = await unusedPort();

const errorOf = (r: Reply, status: number, code: string) => {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body?.error?.code, code, r.text);
  assert.ok(!/\bat \S+:\d+|stack|Knex|SQLITE|ECONNREFUSED/i.test(r.text), `no internals: ${r.text}`);
};

for (const store of stores()) {
  describe(`connector admin API, Mattermost unreachable [${store}]`, () => {
    // A failed attempt waits a minute before the next: the test parks rows the worker is not touching.
    const env = useServer(store, {
      env: { MATTERMOST_URL: `http://127.0.0.1:${port}`, MATTERMOST_TOKEN: TOKEN, MATTERMOST_REQUEST_TIMEOUT: '1s' },
      connectorTuning: { pollMs: 20, baseBackoffMs: 60_000, maxBackoffMs: 60_000 },
    });
    let admin: ReturnType<typeof client>;
    let A: string;
    let userId: string;
    const get = (path: string) => admin.get(`${A}${path}`);
    const post = (path: string, body?: unknown) => admin.call('POST', `${A}${path}`, body, body === undefined ? {} : { 'Content-Type': 'application/json' });
    /** The delivery of `key`, once the worker has tried it and let go of it. */
    const tried = (key: string) => waitFor(`a failed attempt at ${key}`, async () => {
      const r = await get('/connector/deliveries?limit=500');
      assert.equal(r.status, 200, r.text);
      return r.body.items.find((d: any) => d.entityKey === key && d.attempts >= 1 && d.lastError && !d.leased && d.state === 'pending');
    });
    const parkByHand = (id: number, why: string) => park(env.server.running!.connector!.ctx.db, { id } as Delivery, why);
    const auditRows = async (operation: string) => {
      const r = await get('/audit?resourceType=Connector&limit=1000');
      assert.equal(r.status, 200, r.text);
      return r.body.items.filter((e: any) => e.operation === operation);
    };

    before(async () => {
      admin = client(env.server, env.server.adminToken);
      A = `${env.server.url}/admin/v1`;
      const created = await client(env.server).post('/Users', newUser());
      assert.equal(created.status, 201, 'SCIM answers with Mattermost away');
      userId = created.body.id;
    });

    test('a SCIM change is queued; its failed delivery waits with the reason, and GET /connector says Mattermost is unreachable', async () => {
      const d = await tried(`user:${userId}`);
      assert.equal(d.operation, 'create_user');
      assert.deepEqual(d.entity, { kind: 'user', id: userId });
      assert.match(d.lastError, /Mattermost did not answer/);
      assert.ok(Date.parse(d.availableAt) > Date.now() + 30_000, 'backed off');
      const s = await get('/connector');
      assert.equal(s.status, 200, s.text);
      assert.equal(s.body.enabled, true);
      assert.equal(s.body.mattermost.reachable, false);
      assert.equal(s.body.mattermost.ok, false);
      assert.ok(s.body.mattermost.problems.length > 0);
      assert.ok(s.body.outbox.pending >= 1);
      assert.equal(s.body.outbox.parked, 0);
      assert.equal(typeof s.body.outbox.oldestPendingAgeSeconds, 'number');
      assert.equal(s.body.lastSuccessAt, null);
      assert.ok(!s.text.includes(TOKEN), 'the token is never shown');
    });

    test('a parked delivery is listed, retried (audited, back in line) and cannot be retried twice', async () => {
      const d = await tried(`user:${userId}`);
      await parkByHand(d.id, 'create user: Mattermost answered 400 app.user.save.username_exists.app_error');
      const parked = await get('/connector/deliveries?state=parked');
      assert.equal(parked.status, 200, parked.text);
      assert.deepEqual(parked.body.items.map((x: any) => x.id), [d.id]);
      assert.equal(parked.body.items[0].state, 'parked');
      assert.equal(parked.body.next, null);
      const pending = await get('/connector/deliveries?state=pending');
      assert.ok(!pending.body.items.some((x: any) => x.id === d.id));
      assert.equal((await get('/connector')).body.outbox.parked, 1);

      const r = await post(`/connector/deliveries/${d.id}/retry`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.id, d.id);
      assert.equal(r.body.state, 'pending');
      assert.equal(r.body.attempts, 0);
      const [audit] = (await auditRows('connector_retry')).filter((e: any) => e.after.deliveryId === d.id);
      assert.ok(audit, 'connector_retry audited');
      assert.match(audit.actor, /^admin:/);
      assert.equal(audit.resourceId, userId);
      assert.deepEqual(audit.after, { deliveryId: d.id, entityKey: `user:${userId}`, lastError: 'create user: Mattermost answered 400 app.user.save.username_exists.app_error' });
      assert.equal(audit.requestId, r.headers.get('x-request-id'));

      errorOf(await post(`/connector/deliveries/${d.id}/retry`), 409, 'not_parked');
      errorOf(await post(`/connector/deliveries/${d.id}/discard`), 409, 'not_parked');
    });

    test('a parked delivery is discarded for good (audited); a second discard is a 404', async () => {
      const d = await tried(`user:${userId}`);
      await parkByHand(d.id, 'parked for the discard test');
      const r = await post(`/connector/deliveries/${d.id}/discard`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.id, d.id);
      const all = await get('/connector/deliveries?limit=500');
      assert.ok(!all.body.items.some((x: any) => x.id === d.id), 'gone');
      const audit = (await auditRows('connector_discard')).find((e: any) => e.after.deliveryId === d.id);
      assert.ok(audit, 'connector_discard audited');
      assert.equal(audit.after.lastError, 'parked for the discard test');
      errorOf(await post(`/connector/deliveries/${d.id}/discard`), 404, 'not_found');
      errorOf(await post(`/connector/deliveries/${d.id}/retry`), 404, 'not_found');
    });

    test('retry-parked puts every parked delivery back in line, one audit row each; keyset paging walks the list', async () => {
      const teams: string[] = [];
      for (const n of ['ops-a', 'ops-b']) {
        const t = await post('/teams', { name: `${n}-${store}`, displayName: n });
        assert.equal(t.status, 201, t.text);
        teams.push(t.body.team.id);
      }
      const ids: number[] = [];
      for (const t of teams) ids.push((await tried(`team:${t}`)).id);
      for (const id of ids) await parkByHand(id, 'parked for retry-parked');
      const before = (await auditRows('connector_retry')).length;
      const r = await post('/connector/deliveries/retry-parked');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { retried: 2 });
      assert.equal((await auditRows('connector_retry')).length, before + 2);
      assert.deepEqual((await get('/connector/deliveries?state=parked')).body.items, []);

      const seen: number[] = [];
      let next: string | null = null;
      do {
        const page: Reply = await get(`/connector/deliveries?limit=1${next ? `&after=${next}` : ''}`);
        assert.equal(page.status, 200, page.text);
        assert.ok(page.body.items.length <= 1);
        seen.push(...page.body.items.map((x: any) => x.id));
        next = page.body.next;
      } while (next);
      assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'oldest first');
      assert.equal(new Set(seen).size, seen.length, 'no row twice');
      for (const id of ids) assert.ok(seen.includes(id));
    });

    test('bad ids and query values are clear 400s; an unknown id a 404', async () => {
      for (const bad of ['abc', '0', '-1', '1.5', '1e3', '9999999999999999', '%20']) {
        errorOf(await post(`/connector/deliveries/${bad}/retry`), 400, 'invalid_id');
        errorOf(await post(`/connector/deliveries/${bad}/discard`), 400, 'invalid_id');
      }
      errorOf(await post('/connector/deliveries/987654321/retry'), 404, 'not_found');
      for (const q of ['state=done', 'state=parked&state=pending', 'after=x', 'after=0', 'limit=0', 'limit=501', 'limit=ten']) {
        errorOf(await get(`/connector/deliveries?${q}`), 400, 'invalid_query');
      }
      errorOf(await post('/connector/reconcile', { dryRun: 'yes' }), 400, 'invalid_body');
      errorOf(await post('/connector/reconcile', { dry: true }), 400, 'unknown_field');
      errorOf(await post('/connector/deliveries/1/retry', { force: true }), 400, 'unknown_field');
      const wrongMethod = await admin.del(`${A}/connector/deliveries/1/retry`);
      assert.equal(wrongMethod.status, 405, wrongMethod.text);
    });

    test('reconcile with Mattermost away is a 502 that names no internals', async () => {
      assert.equal((await post('/teams', { name: `ops-rec-${store}`, displayName: 'Rec' })).status, 201);
      errorOf(await post('/connector/reconcile', { dryRun: true }), 502, 'mattermost_unavailable');
    });

    test('the connector endpoints need an admin token: 401 without one, 403 with a SCIM token', async () => {
      const anon = client(env.server, '');
      const scim = client(env.server);
      for (const [method, path] of [['GET', '/connector'], ['GET', '/connector/deliveries'], ['POST', '/connector/deliveries/1/retry'], ['POST', '/connector/deliveries/1/discard'], ['POST', '/connector/deliveries/retry-parked'], ['POST', '/connector/reconcile']] as const) {
        assert.equal((await anon.call(method, `${A}${path}`)).status, 401, `${method} ${path}`);
        assert.equal((await scim.call(method, `${A}${path}`)).status, 403, `${method} ${path}`);
      }
    });

    test('/metrics has the connector series: outbox gauges, deliveries by result, lag, Mattermost latency with status 0', async () => {
      const r = await admin.get(`${env.server.url}/metrics`);
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /^scim_connector_outbox_pending [1-9]\d*$/m);
      assert.match(r.text, /^scim_connector_outbox_parked 0$/m);
      assert.match(r.text, /^scim_connector_outbox_oldest_pending_seconds \d+(\.\d+)?(e[+-]?\d+)?$/m);
      assert.match(r.text, /^scim_connector_deliveries_total\{result="retry",entity="user"\} [1-9]\d*$/m);
      assert.match(r.text, /^scim_connector_deliveries_total\{result="retry",entity="team"\} [1-9]\d*$/m);
      assert.match(r.text, /^# TYPE scim_connector_delivery_lag_seconds histogram$/m);
      assert.match(r.text, /^scim_connector_delivery_lag_seconds_count 0$/m, 'nothing was delivered');
      assert.match(r.text, /^scim_connector_mattermost_request_seconds_count\{method="(GET|POST|PUT)",status="0"\} [1-9]\d*$/m);
    });
  });

  describe(`connector admin API, connector off [${store}]`, () => {
    const env = useServer(store);

    test('GET /connector says it is off; every other connector endpoint is a 409 connector_disabled; no connector series', async () => {
      const admin = client(env.server, env.server.adminToken);
      const A = `${env.server.url}/admin/v1`;
      const s = await admin.get(`${A}/connector`);
      assert.equal(s.status, 200, s.text);
      assert.deepEqual(s.body, { enabled: false });
      for (const [method, path] of [['GET', '/connector/deliveries?state=parked'], ['POST', '/connector/deliveries/1/retry'], ['POST', '/connector/deliveries/1/discard'], ['POST', '/connector/deliveries/retry-parked'], ['POST', '/connector/reconcile']] as const) {
        errorOf(await admin.call(method, `${A}${path}`), 409, 'connector_disabled');
      }
      const m = await admin.get(`${env.server.url}/metrics`);
      assert.equal(m.status, 200);
      assert.ok(!m.text.includes('scim_connector_'), 'no connector series without a connector');
    });
  });
}
