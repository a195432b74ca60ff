/**
 * What the token endpoint answers when a request is wrong: RFC 6749 §5.2 bodies `{error, error_description}`, never
 * cached and never a SCIM or HTML body, whatever layer refuses (form parsing, routing, body size, the grant). Also the
 * scope values IdPs send, and the RFC 8414 metadata document that tells them where the endpoint is.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { basic, registerClient, tokenRequest, type Answer } from '../helpers/oauth.ts';

const FORM = 'application/x-www-form-urlencoded';

async function raw(s: TestServer, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${s.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await r.text();
  let parsed: any;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return { status: r.status, body: parsed, text, headers: r.headers };
}

/** An RFC 6749 §5.2 error: this status and code, exactly the two members, JSON, not cached. */
function assertOAuthError(r: Answer, status: number, error: string, description?: RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, r.text);
  assert.deepEqual(Object.keys(r.body ?? {}).sort(), ['error', 'error_description'], r.text);
  assert.equal(r.body.error, error, r.text);
  assert.equal(typeof r.body.error_description, 'string');
  assert.ok(r.body.error_description.length > 0);
  if (description) assert.match(r.body.error_description, description);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.ok(!/schemas|<html/i.test(r.text), r.text);
}

for (const store of stores()) {
  describe(`OAuth token endpoint errors and metadata [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    let c: { id: string; secret: string };
    let auth: Record<string, string>;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db);
      c = await registerClient(s, { name: 'entra-errors' });
      auth = { Authorization: basic(c.id, c.secret) };
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    test('grant_type missing is invalid_request; an unknown one unsupported_grant_type', async () => {
      assertOAuthError(await tokenRequest(s, {}, auth), 400, 'invalid_request', /grant_type is required/);
      assertOAuthError(await tokenRequest(s, { grant_type: '' }, auth), 400, 'invalid_request', /grant_type is required/);
      assertOAuthError(await tokenRequest(s, { grant_type: 'password', username: 'u', password: 'p' }, auth), 400, 'unsupported_grant_type');
    });

    test('a scope the client may not have, or one that does not exist, is invalid_scope', async () => {
      assertOAuthError(await tokenRequest(s, { grant_type: 'client_credentials', scope: 'admin' }, auth), 400, 'invalid_scope', /may not have the admin scope/);
      assertOAuthError(await tokenRequest(s, { grant_type: 'client_credentials', scope: 'scim admin' }, auth), 400, 'invalid_scope');
      assertOAuthError(await tokenRequest(s, { grant_type: 'client_credentials', scope: 'bogus' }, auth), 400, 'invalid_scope', /unknown scope "bogus"/);
    });

    test('the scope values Entra sends (scim.readwrite, <resource>/.default) are read as scim', async () => {
      for (const scope of ['scim.readwrite', 'api://x/.default', 'scim', 'scim:read']) {
        const r = await tokenRequest(s, { grant_type: 'client_credentials', scope }, auth);
        assert.equal(r.status, 200, `${scope}: ${r.text}`);
        assert.equal(r.body.scope, scope === 'scim:read' ? 'scim:read' : 'scim', scope);
      }
    });

    test('a parameter given twice is invalid_request (RFC 6749 §3.2)', async () => {
      const r = await raw(s, 'POST', '/oauth/token', 'grant_type=client_credentials&scope=scim&scope=scim', { 'Content-Type': FORM, ...auth });
      assertOAuthError(r, 400, 'invalid_request', /scope is given more than once/);
    });

    test('a JSON body instead of a form is invalid_request', async () => {
      const r = await raw(s, 'POST', '/oauth/token', JSON.stringify({ grant_type: 'client_credentials' }), { 'Content-Type': 'application/json', ...auth });
      assertOAuthError(r, 400, 'invalid_request', /x-www-form-urlencoded/);
    });

    test('HTTP Basic and client_secret in one request is invalid_request (RFC 6749 §2.3)', async () => {
      const r = await tokenRequest(s, { grant_type: 'client_credentials', client_secret: c.secret }, auth);
      assertOAuthError(r, 400, 'invalid_request', /one client authentication method/);
      const differs = await tokenRequest(s, { grant_type: 'client_credentials', client_id: 'someone-else' }, auth);
      assertOAuthError(differs, 400, 'invalid_request', /differs/);
    });

    test('malformed HTTP Basic credentials are invalid_client, a NUL in the client_id included (never a 500)', async () => {
      const b64 = (raw: string) => ({ Authorization: `Basic ${Buffer.from(raw).toString('base64')}` });
      for (const raw of ['a%00b:x', 'a\u0000b:x', `${c.id}%00:${c.secret}`, 'no-colon', '%ZZ:x']) {
        assertOAuthError(await tokenRequest(s, { grant_type: 'client_credentials' }, b64(raw)), 401, 'invalid_client');
        assertOAuthError(await tokenRequest(s, { token: 'x' }, b64(raw), '/oauth/revoke'), 401, 'invalid_client');
      }
    });

    test('a %00 in an OAuth URL is invalid_request (never a 500)', async () => {
      assertOAuthError(await raw(s, 'GET', '/oauth/authorize?response_type=code&client_id=a%00b'), 400, 'invalid_request', /NUL/);
      assertOAuthError(await raw(s, 'POST', '/oauth/token?x=%00', 'grant_type=client_credentials', { 'Content-Type': FORM, ...auth }), 400, 'invalid_request', /NUL/);
    });

    test('GET /oauth/token is 405 with Allow: POST; an unknown OAuth path is 404; both RFC 6749 JSON', async () => {
      const get = await raw(s, 'GET', '/oauth/token?grant_type=client_credentials', undefined, auth);
      assertOAuthError(get, 405, 'invalid_request');
      assert.equal(get.headers.get('allow'), 'POST');
      assertOAuthError(await raw(s, 'PUT', '/oauth/revoke', 'token=x', { 'Content-Type': FORM }), 405, 'invalid_request');
      assertOAuthError(await raw(s, 'GET', '/oauth/nowhere'), 404, 'invalid_request', /no such OAuth endpoint/);
      assertOAuthError(await raw(s, 'POST', '/oauth/nowhere', 'a=b', { 'Content-Type': FORM }), 404, 'invalid_request');
    });

    test('a 20 KB form is refused with 413 as RFC 6749 JSON', async () => {
      const r = await raw(s, 'POST', '/oauth/token', `grant_type=client_credentials&pad=${'x'.repeat(20 * 1024)}`, { 'Content-Type': FORM, ...auth });
      assertOAuthError(r, 413, 'invalid_request');
    });

    test('a client registered with redirect URIs asking for client_credentials is unauthorized_client', async () => {
      const okta = await registerClient(s, { name: 'okta-code', redirectUris: ['https://system-admin.okta.com/admin/app/cpc/callback'] });
      const r = await tokenRequest(s, { grant_type: 'client_credentials' }, { Authorization: basic(okta.id, okta.secret) });
      assertOAuthError(r, 400, 'unauthorized_client', /authorization code grant/);
      // And the other way round: a client credentials client cannot spend a code.
      assertOAuthError(await tokenRequest(s, { grant_type: 'authorization_code', code: 'oac_x' }, auth), 400, 'unauthorized_client');
    });

    test('the RFC 8414 metadata document needs no credentials and names the token endpoint', async () => {
      const r = await raw(s, 'GET', '/.well-known/oauth-authorization-server');
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      // PUBLIC_URL is derived here (http://127.0.0.1:<port>/scim/v2): the issuer is it without /scim/v2.
      assert.equal(r.body.issuer, s.url);
      assert.equal(r.body.token_endpoint, `${s.url}/oauth/token`);
      assert.equal(r.body.revocation_endpoint, `${s.url}/oauth/revoke`);
      assert.equal(r.body.authorization_endpoint, `${s.url}/oauth/authorize`);
      for (const g of ['client_credentials', 'authorization_code', 'refresh_token']) assert.ok(r.body.grant_types_supported.includes(g), g);
      for (const m of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) assert.ok(r.body.token_endpoint_auth_methods_supported.includes(m), m);
      assert.deepEqual([...r.body.scopes_supported].sort(), ['admin', 'metrics', 'scim', 'scim:read']);
    });

    test('with PUBLIC_URL under a path, the issuer keeps the path and the RFC 8414 §3 path-suffixed URL answers', async () => {
      const srv = await startServer(store, db, { env: { PUBLIC_URL: 'https://scim.example.com/tenant-a/scim/v2' } });
      try {
        for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server/tenant-a']) {
          const r = await raw(srv, 'GET', path);
          assert.equal(r.status, 200, `${path}: ${r.text}`);
          assert.equal(r.body.issuer, 'https://scim.example.com/tenant-a');
          assert.equal(r.body.token_endpoint, 'https://scim.example.com/tenant-a/oauth/token');
        }
      } finally {
        await srv.stop();
      }
    });
  });
}
