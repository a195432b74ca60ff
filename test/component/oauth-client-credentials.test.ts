/**
 * Entra's gallery flow (RFC 6749 §4.4): a client registered with a secret exchanges it at /oauth/token for a bearer
 * token that lives OAUTH_TOKEN_TTL and provisions a user with it. Client authentication by HTTP Basic and in the body;
 * wrong, unknown, expired and rotated secrets; revocation of a secret (with and without its tokens) and of a client,
 * seen by a second instance; token expiry; the per-client throttle. Error bodies and metadata: oauth-token-errors.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, createDatabase, newUser, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { admin, basic, clientCredentials, registerClient, scim, tokenRequest, type Answer } from '../helpers/oauth.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longer than the authenticator trusts a credential it found live (http/auth.ts CACHE_MS). */
const PAST_CACHE_MS = 1100;

const cc = (s: TestServer, id: string, secret: string) => tokenRequest(s, { grant_type: 'client_credentials' }, { Authorization: basic(id, secret) });
const listUsers = (s: TestServer, token: string) => scim(s, `Bearer ${token}`, 'GET', '/Users?count=1');

function assertInvalidClient(r: Answer, description?: RegExp): void {
  assert.equal(r.status, 401, r.text);
  assert.equal(r.body?.error, 'invalid_client', r.text);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm="oauth"/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  if (description) assert.match(r.body.error_description, description);
}

/** Polls until `token` is refused on `s`, for at most `boundMs`; the time it took, or a failed assertion. */
async function refusedWithin(s: TestServer, token: string, boundMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const r = await listUsers(s, token);
    if (r.status === 401) {
      assert.match(r.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      return Date.now() - start;
    }
    assert.equal(r.status, 200, r.text);
    if (Date.now() - start > boundMs) assert.fail(`token still accepted after ${boundMs} ms`);
    await sleep(100);
  }
}

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

    test('a wrong secret and an unknown client_id are 401 invalid_client with a Basic challenge', async () => {
      const c = await registerClient(s, { name: 'entra-wrong' });
      assertInvalidClient(await cc(s, c.id, `${c.secret.slice(0, -1)}${c.secret.endsWith('A') ? 'B' : 'A'}`), /authentication failed/);
      assertInvalidClient(await tokenRequest(s, { grant_type: 'client_credentials', client_id: c.id, client_secret: 'ocs_nope' }));
      assertInvalidClient(await cc(s, randomUUID(), c.secret), /authentication failed/);
      // Another client's valid secret is not this client's.
      const other = await registerClient(s, { name: 'entra-other' });
      assertInvalidClient(await cc(s, c.id, other.secret));
      assertInvalidClient(await tokenRequest(s, { grant_type: 'client_credentials' }), /required/);
    });

    test('an expired secret is refused as expired while a second live secret of the client still works', async () => {
      const c = await registerClient(s, { name: 'entra-expiry' });
      const second = await admin(s, 'POST', `/clients/${c.id}/secrets`, { secretTtl: '30d' });
      assert.equal(second.status, 201, second.text);
      const k = connect(db.url);
      try {
        assert.equal(await k('oauth_client_secrets').where({ id: c.secretId }).update({ expires_at: Date.now() - 1000 }), 1);
      } finally {
        await k.destroy();
      }
      assertInvalidClient(await cc(s, c.id, c.secret), /expired/);
      const r = await cc(s, c.id, second.body.value);
      assert.equal(r.status, 200, r.text);
      const shown = await admin(s, 'GET', `/clients/${c.id}`);
      assert.deepEqual(shown.body.secrets.map((x: any) => [x.id, x.state]), [[c.secretId, 'expired'], [second.body.id, 'live']]);
    });

    test('rotation: a second secret works alongside the first until the first is revoked', async () => {
      const c = await registerClient(s, { name: 'entra-rotate' });
      const added = await admin(s, 'POST', `/clients/${c.id}/secrets`);
      assert.equal(added.status, 201, added.text);
      assert.equal(added.headers.get('cache-control'), 'no-store');
      assert.deepEqual(Object.keys(added.body).sort(), ['expires', 'id', 'value']);
      assert.notEqual(added.body.value, c.secret);
      assert.equal((await cc(s, c.id, c.secret)).status, 200);
      assert.equal((await cc(s, c.id, added.body.value)).status, 200);

      const revoked = await admin(s, 'DELETE', `/clients/${c.id}/secrets/${c.secretId}`);
      assert.equal(revoked.status, 200, revoked.text);
      assert.deepEqual(revoked.body.secrets.map((x: any) => x.state), ['revoked', 'live']);
      assertInvalidClient(await cc(s, c.id, c.secret), /authentication failed/);
      assertInvalidClient(await cc(s2, c.id, c.secret));
      assert.equal((await cc(s2, c.id, added.body.value)).status, 200);
      assert.equal((await admin(s, 'DELETE', `/clients/${c.id}/secrets/${c.secretId}`)).status, 404, 'a revoked secret is not revoked twice');
    });

    test('revoking a secret ends the tokens obtained with it only with ?tokens=true', async () => {
      const c = await registerClient(s, { name: 'entra-leak' });
      const routine = await clientCredentials(s, c.id, c.secret);
      const leaked = await admin(s, 'POST', `/clients/${c.id}/secrets`);
      const fromLeaked = await clientCredentials(s, c.id, leaked.body.value);
      const third = await admin(s, 'POST', `/clients/${c.id}/secrets`);
      const fromThird = await clientCredentials(s, c.id, third.body.value);
      for (const t of [routine, fromLeaked, fromThird]) assert.equal((await listUsers(s, t)).status, 200);

      assert.equal((await admin(s, 'DELETE', `/clients/${c.id}/secrets/${c.secretId}`)).status, 200);
      assert.equal((await admin(s, 'DELETE', `/clients/${c.id}/secrets/${leaked.body.id}?tokens=true`)).status, 200);
      await refusedWithin(s, fromLeaked, 2000);
      await sleep(PAST_CACHE_MS);
      // Past the cache, so these answers come from the database: a routine rotation leaves the IdP its token.
      assert.equal((await listUsers(s, routine)).status, 200);
      assert.equal((await listUsers(s2, routine)).status, 200);
      assert.equal((await listUsers(s, fromThird)).status, 200);
      assert.equal((await listUsers(s2, fromLeaked)).status, 401);
      assert.equal((await admin(s, 'DELETE', `/clients/${c.id}/secrets/${third.body.id}?tokens=maybe`)).status, 400);
    });

    test('an access token past its expiry is refused', async () => {
      const c = await registerClient(s, { name: 'entra-expired-token' });
      const token = await clientCredentials(s, c.id, c.secret);
      assert.equal((await listUsers(s, token)).status, 200);
      const k = connect(db.url);
      try {
        assert.equal(await k('oauth_tokens').where({ client_id: c.id, kind: 'access' }).update({ expires_at: Date.now() - 1000 }), 1);
      } finally {
        await k.destroy();
      }
      await sleep(PAST_CACHE_MS);
      const r = await listUsers(s, token);
      assert.equal(r.status, 401, r.text);
      assert.match(r.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      assert.equal((await listUsers(s2, token)).status, 401);
    });

    test('a client revoked on one instance loses its token on the other within 2 s, and its secret everywhere', async () => {
      const c = await registerClient(s, { name: 'entra-revoked' });
      const token = await clientCredentials(s, c.id, c.secret);
      assert.equal((await listUsers(s2, token)).status, 200); // now in instance 2's cache
      const r = await admin(s, 'DELETE', `/clients/${c.id}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.revoked, r.text);
      await refusedWithin(s2, token, 2000);
      assertInvalidClient(await cc(s2, c.id, c.secret));
      assert.equal((await admin(s, 'DELETE', `/clients/${c.id}`)).status, 404);
      assert.equal((await admin(s2, 'POST', `/clients/${c.id}/secrets`)).status, 404, 'a revoked client gets no new secret');
    });
  });

  describe(`OAuth token lifetime [${store}]`, () => {
    let db: TestDatabase;
    before(async () => { db = await createDatabase(store); });
    after(async () => { await db?.drop(); });

    for (const [ttl, seconds] of [['', 3600], ['6h', 21_600]] as const) {
      test(`OAUTH_TOKEN_TTL=${ttl || '(default)'} gives expires_in ${seconds} and a token stored to expire then`, async () => {
        const srv = await startServer(store, db, { env: { OAUTH_TOKEN_TTL: ttl } });
        const k = connect(db.url);
        try {
          const c = await registerClient(srv, { name: `ttl-${seconds}` });
          const r = await cc(srv, c.id, c.secret);
          assert.equal(r.status, 200, r.text);
          assert.equal(r.body.expires_in, seconds);
          const row = await k('oauth_tokens').where({ client_id: c.id, kind: 'access' }).first();
          assert.equal(Number(row.expires_at) - Number(row.created_at), seconds * 1000);
        } finally {
          await k.destroy();
          await srv.stop();
        }
      });
    }
  });

  describe(`OAuth per-client throttle [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db, { oauthTuning: { throttle: { limit: 3, windowMs: 60_000 } } });
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    test('bad secrets for one client reach 429, yet its good secret gets a token and another client is unaffected', async () => {
      const a = await registerClient(s, { name: 'throttled-a' });
      const b = await registerClient(s, { name: 'throttled-b' });
      for (let i = 0; i < 3; i++) assertInvalidClient(await cc(s, a.id, `ocs_wrong_${i}`));
      const r = await cc(s, a.id, 'ocs_wrong_again');
      assert.equal(r.status, 429, r.text);
      assert.equal(r.body.error, 'temporarily_unavailable');
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${r.headers.get('retry-after')}`);
      assert.equal(r.headers.get('cache-control'), 'no-store');

      const good = await cc(s, a.id, a.secret);
      assert.equal(good.status, 200, good.text);
      assertInvalidClient(await cc(s, b.id, 'ocs_wrong'));
      assert.equal((await cc(s, b.id, b.secret)).status, 200);
      assert.equal((await cc(s, a.id, 'ocs_still_wrong')).status, 429, 'the good secret did not reset the count');
    });
  });
}
