/**
 * Okta's two ways of authenticating to a SCIM app:
 * - "Header" mode: Okta sends `Authorization: <token>` with no scheme; the SCIM API takes it (and only the SCIM API).
 * - "OAuth 2" mode: the authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636) through the consent page, then
 *   refresh token rotation (RFC 6749 §6, RFC 9700 §4.14.2), and every refusal the RFCs ask of the two endpoints.
 * The consent page's own defences and the races are in oauth-okta-consent.test.ts.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createDatabase, newUser, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { admin, basic, registerClient, scim, tokenRequest } from '../helpers/oauth.ts';
import { runCli } from '../helpers/cli.ts';
import { approve, connectOkta, exchangeCode, openAuthorize, pastAuthCache, pkce, REDIRECT, refresh, registerOkta, submitConsent } from '../helpers/okta.ts';

const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

for (const store of stores()) {
  describe(`Okta header mode [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db);
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    test('a raw token in Authorization reads and provisions: the static SCIM_TOKEN, a managed token and an OAuth token', async () => {
      const made = await runCli(s.dbUrl, ['token', 'create', '--name', 'okta-header', '--scope', 'scim']);
      assert.equal(made.code, 0, made.stderr);
      const managed = made.stdout.trim();
      assert.match(managed, /^scim_[A-Za-z0-9_-]{43}$/);
      const oauth = (await connectOkta(s, await registerOkta(s, 'okta-raw-oauth'))).access;
      for (const raw of [s.token, managed, oauth]) {
        const list = await scim(s, raw, 'GET', '/Users?count=1');
        assert.equal(list.status, 200, `${raw.slice(0, 5)}: ${list.text}`);
        const created = await scim(s, raw, 'POST', '/Users', newUser());
        assert.equal(created.status, 201, `${raw.slice(0, 5)}: ${created.text}`);
      }
    });

    test('a wrong raw token is 401 invalid_token with a SCIM error body, on GET and on POST', async () => {
      for (const [method, body] of [['GET', undefined], ['POST', newUser()]] as const) {
        const r = await scim(s, `scim_${'x'.repeat(43)}`, method, '/Users', body);
        assert.equal(r.status, 401, r.text);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="scim", error="invalid_token"');
        assert.deepEqual(r.body.schemas, [SCIM_ERROR]);
        assert.equal(r.body.status, '401');
      }
    });

    test('`Basic <the SCIM token>` and a bare scheme are not read as raw tokens; the admin API takes no raw token at all', async () => {
      const b = await scim(s, `Basic ${s.token}`, 'GET', '/Users');
      assert.equal(b.status, 401, b.text);
      assert.equal(b.headers.get('www-authenticate'), 'Bearer realm="scim"');
      // A bare scheme is no token at all (RFC 6750 §3.1: no error code), not the raw token "Bearer".
      for (const bare of ['Bearer', 'Bearer ', 'basic']) {
        const r = await scim(s, bare, 'GET', '/Users');
        assert.equal(r.status, 401, r.text);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="scim"', bare);
      }
      const raw = await fetch(`${s.url}/admin/v1/clients`, { headers: { Authorization: s.adminToken } });
      assert.equal(raw.status, 401, await raw.text());
      const bearer = await fetch(`${s.url}/admin/v1/clients`, { headers: { Authorization: `Bearer ${s.adminToken}` } });
      assert.equal(bearer.status, 200);
    });
  });

  describe(`Okta OAuth 2 mode: authorization code with PKCE [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db);
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    test('consent page, approval, code for tokens (HTTP Basic); the access token provisions as client:<name>', async () => {
      const reg = await registerClient(s, { name: 'okta-acme', redirectUris: [REDIRECT] });
      assert.equal(reg.body.authorizationEndpoint, `${s.url}/oauth/authorize`);
      const c = { id: reg.id, secret: reg.secret, name: 'okta-acme' };
      const { verifier, challenge } = pkce();
      const p = await openAuthorize(s, { response_type: 'code', client_id: c.id, redirect_uri: REDIRECT, state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256' });
      assert.equal(p.status, 200, p.html);
      assert.match(p.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(p.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(p.headers.get('cache-control'), 'no-store');
      assert.match(p.setCookie, /; HttpOnly/i);
      assert.match(p.setCookie, /; SameSite=Strict/i);
      assert.ok(p.consent && p.csrf, p.html);
      assert.match(p.html, /okta-acme/);

      const a = await submitConsent(s, { consent: p.consent, csrf: p.csrf, credential: s.adminToken, decision: 'approve' }, p.cookie);
      assert.equal(a.status, 303, a.html);
      const back = new URL(a.location!);
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
      assert.equal(back.searchParams.get('state'), 'st-1');
      const code = back.searchParams.get('code');
      assert.match(code ?? '', /^oac_/);

      const t = await exchangeCode(s, c, code!, verifier);
      assert.equal(t.status, 200, t.text);
      assert.equal(t.headers.get('cache-control'), 'no-store');
      assert.equal(t.body.token_type, 'Bearer');
      assert.equal(t.body.scope, 'scim');
      assert.match(t.body.access_token, /^oat_/);
      assert.match(t.body.refresh_token, /^ort_/);
      const created = await scim(s, `Bearer ${t.body.access_token}`, 'POST', '/Users', newUser());
      assert.equal(created.status, 201, created.text);
      const audit = await admin(s, 'GET', `/audit?resourceId=${created.body.id}`);
      assert.equal(audit.body.items[0].actor, 'client:okta-acme', audit.text);
    });

    test('the code exchange with client_secret_post', async () => {
      const c = await registerOkta(s, 'okta-post');
      const a = await approve(s, c);
      const t = await tokenRequest(s, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, code_verifier: a.verifier, client_id: c.id, client_secret: c.secret });
      assert.equal(t.status, 200, t.text);
      assert.ok(t.body.refresh_token);
      assert.equal((await scim(s, `Bearer ${t.body.access_token}`, 'GET', '/Users?count=1')).status, 200);
    });

    test('an unregistered redirect_uri is shown, never redirected to: an HTML page for a browser, RFC 6749 JSON otherwise', async () => {
      const c = await registerOkta(s, 'okta-bad-redirect');
      for (const uri of ['https://evil.example/oauth/callback', `${REDIRECT}/`, `${REDIRECT}?x=1`, REDIRECT.toUpperCase()]) {
        const q = { response_type: 'code', client_id: c.id, redirect_uri: uri, state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256' };
        const page = await openAuthorize(s, q);
        assert.equal(page.status, 400, uri);
        assert.equal(page.location, null);
        assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(page.html, /invalid_request/);
        assert.equal(page.consent, undefined);
        const json = await openAuthorize(s, q, 'application/json');
        assert.equal(json.status, 400);
        assert.equal(json.location, null);
        const body = JSON.parse(json.html);
        assert.equal(body.error, 'invalid_request');
        assert.equal(typeof body.error_description, 'string');
      }
    });

    test('response_type other than code, and a denial, go back to the client with error and state', async () => {
      const c = await registerOkta(s, 'okta-errors-back');
      const p = await openAuthorize(s, { response_type: 'token', client_id: c.id, redirect_uri: REDIRECT, state: 'st-unsupported' });
      assert.equal(p.status, 302);
      const u = new URL(p.location!);
      assert.equal(`${u.origin}${u.pathname}`, REDIRECT);
      assert.equal(u.searchParams.get('error'), 'unsupported_response_type');
      assert.equal(u.searchParams.get('state'), 'st-unsupported');

      const page = await openAuthorize(s, { response_type: 'code', client_id: c.id, redirect_uri: REDIRECT, state: 'st-deny', code_challenge: pkce().challenge, code_challenge_method: 'S256' });
      const d = await submitConsent(s, { consent: page.consent, csrf: page.csrf, decision: 'deny' }, page.cookie);
      assert.equal(d.status, 303, d.html);
      const back = new URL(d.location!);
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('state'), 'st-deny');
      assert.equal(back.searchParams.get('code'), null);
    });

    test('redirect_uri at the token endpoint must repeat the authorization request\'s (another registered one, or none, is invalid_grant)', async () => {
      const other = 'https://acme.okta.example/oauth/callback2';
      const reg = await registerClient(s, { name: 'okta-two-uris', redirectUris: [REDIRECT, other] });
      const c = { id: reg.id, secret: reg.secret, name: 'okta-two-uris' };
      for (const sent of [other, undefined]) {
        const a = await approve(s, c);
        const params: Record<string, string> = { grant_type: 'authorization_code', code: a.code, code_verifier: a.verifier, ...(sent ? { redirect_uri: sent } : {}) };
        const t = await tokenRequest(s, params, { Authorization: basic(c.id, c.secret) });
        assert.equal(t.status, 400, t.text);
        assert.equal(t.body.error, 'invalid_grant');
      }
    });

    test('a missing or wrong code_verifier is invalid_grant', async () => {
      const c = await registerOkta(s, 'okta-pkce');
      for (const verifier of [undefined, pkce().verifier, 'short']) {
        const a = await approve(s, c);
        const t = await exchangeCode(s, c, a.code, verifier);
        assert.equal(t.status, 400, t.text);
        assert.equal(t.body.error, 'invalid_grant');
      }
    });

    test('a code used twice is invalid_grant, and the tokens issued with it the first time stop working', async () => {
      const c = await registerOkta(s, 'okta-replay');
      const a = await approve(s, c);
      const first = await exchangeCode(s, c, a.code, a.verifier);
      assert.equal(first.status, 200, first.text);
      assert.equal((await scim(s, `Bearer ${first.body.access_token}`, 'GET', '/Users?count=1')).status, 200);
      const again = await exchangeCode(s, c, a.code, a.verifier);
      assert.equal(again.status, 400, again.text);
      assert.equal(again.body.error, 'invalid_grant');
      await pastAuthCache();
      assert.equal((await scim(s, `Bearer ${first.body.access_token}`, 'GET', '/Users?count=1')).status, 401);
      const r = await refresh(s, c, first.body.refresh_token);
      assert.equal(r.body.error, 'invalid_grant', r.text);
    });

    test('an expired code is invalid_grant', async () => {
      const c = await registerOkta(s, 'okta-expired');
      const a = await approve(s, c);
      const k = connect(s.dbUrl);
      try {
        assert.equal(await k('oauth_codes').where({ client_id: c.id }).update({ expires_at: Date.now() - 1000 }), 1);
      } finally {
        await k.destroy();
      }
      const t = await exchangeCode(s, c, a.code, a.verifier);
      assert.equal(t.status, 400, t.text);
      assert.equal(t.body.error, 'invalid_grant');
    });

    test('a code issued to client A is invalid_grant for client B (and B\'s attempt does not spend it)', async () => {
      const a = await registerOkta(s, 'okta-a');
      const b = await registerOkta(s, 'okta-b');
      const got = await approve(s, a);
      const byB = await exchangeCode(s, b, got.code, got.verifier);
      assert.equal(byB.status, 400, byB.text);
      assert.equal(byB.body.error, 'invalid_grant');
      const byA = await exchangeCode(s, a, got.code, got.verifier);
      assert.equal(byA.status, 200, byA.text);
    });
  });

  describe(`Okta OAuth 2 mode: refresh token rotation [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db);
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    test('a refresh gives a new access token and a new refresh token; the spent one replayed revokes the whole grant', async () => {
      const c = await registerOkta(s, 'okta-rotate');
      const t0 = await connectOkta(s, c);
      const r1 = await refresh(s, c, t0.refresh);
      assert.equal(r1.status, 200, r1.text);
      assert.notEqual(r1.body.access_token, t0.access);
      assert.notEqual(r1.body.refresh_token, t0.refresh);
      assert.equal(r1.body.scope, 'scim');
      const r2 = await refresh(s, c, r1.body.refresh_token);
      assert.equal(r2.status, 200, r2.text);
      assert.equal((await scim(s, `Bearer ${r2.body.access_token}`, 'POST', '/Users', newUser())).status, 201);

      const replay = await refresh(s, c, r1.body.refresh_token);
      assert.equal(replay.status, 400, replay.text);
      assert.equal(replay.body.error, 'invalid_grant');
      const newest = await refresh(s, c, r2.body.refresh_token);
      assert.equal(newest.body.error, 'invalid_grant', newest.text);
      await pastAuthCache();
      assert.equal((await scim(s, `Bearer ${r2.body.access_token}`, 'GET', '/Users?count=1')).status, 401);
    });

    test('a refresh may narrow the scope; the refresh token it gives keeps the scope granted (RFC 6749 §6)', async () => {
      const c = await registerOkta(s, 'okta-narrow');
      const t0 = await connectOkta(s, c);
      const narrow = await refresh(s, c, t0.refresh, { scope: 'scim:read' });
      assert.equal(narrow.status, 200, narrow.text);
      assert.equal(narrow.body.scope, 'scim:read');
      assert.equal((await scim(s, `Bearer ${narrow.body.access_token}`, 'GET', '/Users?count=1')).status, 200);
      assert.equal((await scim(s, `Bearer ${narrow.body.access_token}`, 'POST', '/Users', newUser())).status, 403);
      const full = await refresh(s, c, narrow.body.refresh_token);
      assert.equal(full.status, 200, full.text);
      assert.equal(full.body.scope, 'scim');
    });

    test('a refresh asking for more than was granted is invalid_scope, and the refresh token is still good', async () => {
      const c = await registerOkta(s, 'okta-widen');
      const t0 = await connectOkta(s, c, { scope: 'scim:read' });
      assert.equal(t0.scope, 'scim:read');
      for (const scope of ['scim', 'admin']) {
        const wide = await refresh(s, c, t0.refresh, { scope });
        assert.equal(wide.status, 400, wide.text);
        assert.equal(wide.body.error, 'invalid_scope');
      }
      const ok = await refresh(s, c, t0.refresh);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.scope, 'scim:read');
    });

    test('a refresh token is good only for the client it was issued to', async () => {
      const a = await registerOkta(s, 'okta-rt-a');
      const b = await registerOkta(s, 'okta-rt-b');
      const t = await connectOkta(s, a);
      const byB = await refresh(s, b, t.refresh);
      assert.equal(byB.body.error, 'invalid_grant', byB.text);
      assert.equal((await refresh(s, a, t.refresh)).status, 200);
    });
  });
}
