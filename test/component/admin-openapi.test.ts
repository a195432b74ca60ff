/**
 * The admin API answers what its OpenAPI document says (issue 16): each operation is called for real, on both stores,
 * and every answer, errors included, is validated against the documented status and schema. The document is served
 * without a token at /admin/v1/openapi.json.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, createDatabase, GROUP_SCHEMA, newUser, rand, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { startRig, type ConnectorRig } from '../helpers/connector.ts';
import { documentedAdmin } from '../helpers/openapi.ts';

/** Every documented operation must have been seen answering 2xx by the end of a store's run. */
function assertCovered(doc: any, seen: Iterable<string>): void {
  const ok = new Set([...seen].filter((s) => / 2\d\d$/.test(s)).map((s) => s.replace(/ \d{3}$/, '')));
  const missing: string[] = [];
  for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
    for (const m of Object.keys(item)) if (path !== '/openapi.json' && !ok.has(`${m.toUpperCase()} ${path}`)) missing.push(`${m.toUpperCase()} ${path}`);
  }
  assert.deepEqual(missing, [], 'documented operations this test never saw succeed');
}

for (const store of stores()) {
  const seen = new Set<string>();
  describe(`admin OpenAPI document [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof documentedAdmin>;

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      api = documentedAdmin(server);
    });
    after(async () => {
      for (const s of api?.seen ?? []) seen.add(s);
      await server?.stop();
      await db?.drop();
    });

    test('served without a token, as JSON, and equal to the document the code builds', async () => {
      const r = await fetch(`${server.url}/admin/v1/openapi.json`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type')!, /^application\/json/);
      const served = await r.json();
      assert.deepEqual(served, api.doc);
      assert.equal(served.openapi, '3.1.0');
    });

    test('teams, channels, memberships, groups and links answer as documented, errors included', async () => {
      const scim = client(server);
      const user = (await scim.post('/Users', newUser())).body;
      const other = (await scim.post('/Users', newUser())).body;
      const group = (await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `g-${rand()}`, externalId: `gx-${rand()}`, members: [{ value: other.id }] })).body;

      const made = await api.call('POST', '/teams', {}, { name: `t-${rand()}`, displayName: 'Team' });
      assert.equal(made.status, 201);
      const team = made.body.team.id as string;
      await api.call('POST', '/teams', {}, { name: made.body.team.name, displayName: 'Again' }); // 409: the name is taken
      await api.call('POST', '/teams', {}, { name: 'x', displayName: 'Bad', colour: 'red' }); // 400 unknown field
      await api.call('GET', '/teams', {}, undefined, '?limit=1');
      await api.call('GET', '/teams', {}, undefined, '?limit=0');
      await api.call('GET', '/teams/{id}', { id: team });
      await api.call('GET', '/teams/{id}', { id: 'nobody' });
      await api.call('PATCH', '/teams/{id}', { id: team }, { displayName: 'Renamed' });

      const channel = (await api.call('POST', '/teams/{id}/channels', { id: team }, { name: `c-${rand()}`, displayName: 'Chan', type: 'P' })).body.id as string;
      await api.call('GET', '/teams/{id}/channels', { id: team });
      await api.call('GET', '/channels/{id}', { id: channel });
      await api.call('PATCH', '/channels/{id}', { id: channel }, { isDefault: false });

      assert.equal((await api.call('POST', '/teams/{id}/members', { id: team }, { userId: user.id })).status, 201);
      assert.equal((await api.call('POST', '/teams/{id}/members', { id: team }, { userId: user.id })).status, 200);
      await api.call('POST', '/channels/{id}/members', { id: channel }, { userId: user.id, schemeAdmin: true });
      await api.call('GET', '/teams/{id}/members', { id: team });
      await api.call('GET', '/channels/{id}/members', { id: channel }, undefined, '?active=true');
      await api.call('GET', '/users/{id}/memberships', { id: user.id });
      await api.call('GET', '/users/{id}/memberships', { id: 'nobody' });
      await api.call('GET', '/teams/{id}/members', { id: made.body.team.name }, undefined, '?colour=red'); // 400 unknown parameter
      await api.call('GET', '/channels/{id}/members', { id: `${made.body.team.name}/nope` }); // 404
      assert.equal((await api.call('GET', '/users', {}, undefined, `?team=${team}&active=true&limit=1`)).body.items.length, 1);
      await api.call('GET', '/users', {}, undefined, `?q=${encodeURIComponent(user.userName)}&deleted=false`);
      await api.call('GET', '/users', {}, undefined, '?team=nope'); // 400
      assert.equal((await api.call('GET', '/users/{key}', { key: user.id })).body.memberships.teams.length, 1);
      await api.call('GET', '/users/{key}', { key: `externalId:${other.externalId}` });
      await api.call('GET', '/users/{key}', { key: 'nobody' }); // 404
      const twin = (await scim.post('/Users', newUser({ userName: other.externalId }))).body;
      assert.ok(twin.id);
      await api.call('GET', '/users/{key}', { key: other.externalId }); // 409 ambiguous
      await api.call('DELETE', '/channels/{id}/members/{userId}', { id: channel, userId: user.id });
      await api.call('DELETE', '/teams/{id}/members/{userId}', { id: team, userId: user.id }, undefined, '?by=self');

      assert.equal((await api.call('PUT', '/groups/{groupId}/teams/{syncableId}', { groupId: group.id, syncableId: team }, {})).status, 201);
      await api.call('PUT', '/groups/{groupId}/channels/{syncableId}', { groupId: group.id, syncableId: channel }, { schemeAdmin: true });
      await api.call('PUT', '/groups/{groupId}/teams/{syncableId}', { groupId: group.id, syncableId: team }, { autoAdd: 'yes' });
      await api.call('GET', '/groups', {});
      const read = await api.call('GET', '/groups/{groupId}', { groupId: group.id });
      assert.equal(read.body.teams.length, 1);
      await api.call('POST', '/reconcile', {}, { teamId: team });
      assert.equal((await api.call('POST', '/reconcile', {}, { teamId: team, dryRun: true })).body.dryRun, true);
      await api.call('POST', '/reconcile', {}, { dryRun: 'yes' }); // 400
      await api.call('DELETE', '/groups/{groupId}/channels/{syncableId}', { groupId: group.id, syncableId: channel });
      await api.call('DELETE', '/groups/{groupId}/teams/{syncableId}', { groupId: group.id, syncableId: team });

      await api.call('POST', '/channels/{id}/archive', { id: channel });
      await api.call('POST', '/teams/{id}/archive', { id: team });
      await api.call('PATCH', '/teams/{id}', { id: team }, { displayName: 'Archived' }); // 409 archived

      await api.call('GET', '/audit', {}, undefined, '?limit=50');
      await api.call('GET', '/audit', {}, undefined, `?resourceId=${user.id}&order=asc`);
      await api.call('GET', '/audit', {}, undefined, '?sinse=2026-01-01');

      await server.running!.requestLog!.flush();
      assert.ok((await api.call('GET', '/requests', {}, undefined, '?status=4xx&limit=5')).body.items.length > 0);
      await api.call('GET', '/requests', {}, undefined, `?requestId=x&method=GET&path=/admin/&actor=admin:*&since=2026-01-01`);
      await api.call('GET', '/requests', {}, undefined, '?status=4x'); // 400
      await api.call('GET', '/requests/summary', {}, undefined, '?bucket=hour');
      await api.call('GET', '/requests/summary', {}, undefined, '?since=2000-01-01'); // 400: too many buckets
      assert.ok((await api.call('GET', '/requests/summary', {}, undefined, '?by=actor')).body.series.length > 0);
      await api.call('GET', '/requests/summary', {}, undefined, '?by=token'); // 400
      await api.call('GET', '/requests', {}, undefined, `?resourceId=${user.id}`);
      const overview = await api.call('GET', '/overview', {});
      assert.equal(overview.body.connector.enabled, false);
      await api.call('GET', '/overview', {}, undefined, '?x=1'); // 400
    });

    test('OAuth clients answer as documented, and the connector says it is off', async () => {
      const made = await api.call('POST', '/clients', {}, { name: `entra-${rand()}`, secretTtl: '30d' });
      assert.equal(made.status, 201);
      const id = made.body.id as string;
      await api.call('POST', '/clients', {}, { name: 'fed', federation: { issuer: 'https://login.microsoftonline.com/t/v2.0', subject: 'app', audience: 'api://x', jwksUrl: 'https://login.microsoftonline.com/t/discovery/v2.0/keys' } });
      await api.call('POST', '/clients', {}, { name: 7 });
      await api.call('GET', '/clients', {});
      const secret = await api.call('POST', '/clients/{id}/secrets', { id }, {});
      await api.call('DELETE', '/clients/{id}/secrets/{secretId}', { id, secretId: secret.body.id }, undefined, '?tokens=true');
      await api.call('GET', '/clients/{id}', { id });
      await api.call('DELETE', '/clients/{id}', { id });
      await api.call('GET', '/clients/{id}', { id: 'nobody' });

      assert.deepEqual((await api.call('GET', '/connector', {})).body, { enabled: false });
      await api.call('GET', '/connector/deliveries', {});
      await api.call('POST', '/connector/reconcile', {}, {});
    });

    test('authentication failures are documented errors: no token, a SCIM token', async () => {
      const anonymous = documentedAdmin(server, '');
      assert.equal((await anonymous.call('GET', '/teams', {})).status, 401);
      const scimToken = documentedAdmin(server, server.token);
      assert.equal((await scimToken.call('GET', '/audit', {})).status, 403);
    });
  });

  describe(`admin OpenAPI document, connector on [${store}]`, () => {
    let rig: ConnectorRig;
    before(async () => { rig = await startRig(store); });
    after(async () => { await rig?.stop(); });

    test('connector status, deliveries, parked-row actions and a dry-run reconcile answer as documented', async () => {
      const api = documentedAdmin(rig.server);
      await client(rig.server).post('/Users', newUser());
      const status = await api.call('GET', '/connector', {});
      assert.equal(status.body.enabled, true);
      assert.equal((await api.call('GET', '/overview', {})).body.connector.enabled, true);
      await api.call('GET', '/connector/deliveries', {}, undefined, '?state=pending&limit=5');
      await api.call('GET', '/connector/deliveries', {}, undefined, '?state=lost');
      await api.call('POST', '/connector/deliveries/{id}/retry', { id: '999999' });
      await api.call('POST', '/connector/deliveries/{id}/discard', { id: 'abc' });
      // Parked rows as the worker leaves them after its last attempt, about a person Mattermost never heard of.
      const now = Date.now();
      const park = { consumer: 'mattermost', entity_key: 'user:nobody', operation: 'create_user', created_at: now, available_at: now, state: 'parked', attempts: 8, last_error: '400 app.user.save.username_exists' };
      const [a, b] = await rig.sql('outbox').insert([park, park, park]).returning('id');
      const idOf = (r: unknown) => String(typeof r === 'object' ? (r as { id: number }).id : r);
      assert.equal((await api.call('POST', '/connector/deliveries/{id}/discard', { id: idOf(a) })).body.state, 'parked');
      await api.call('POST', '/connector/deliveries/{id}/discard', { id: idOf(a) }); // 404 or 409: it is gone
      await api.call('GET', '/connector/deliveries', {}, undefined, '?state=parked');
      assert.equal((await api.call('POST', '/connector/deliveries/{id}/retry', { id: idOf(b) })).body.state, 'pending');
      assert.equal((await api.call('POST', '/connector/deliveries/retry-parked', {})).body.retried, 1);
      const dry = await api.call('POST', '/connector/reconcile', {}, { dryRun: true });
      assert.equal(dry.body.dryRun, true);
      await api.call('POST', '/connector/reconcile', {}, {});
      for (const s of api.seen) seen.add(s);
      assertCovered(api.doc, seen);
    });
  });
}
