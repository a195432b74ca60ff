/**
 * One scope model for every credential (store/scopes.ts): managed tokens made with `token create --scope`, and OAuth
 * access tokens with the scopes their client was registered for or asked for. scim:read reads SCIM (GET, POST
 * .search) and nothing else; a write is 403 insufficient_scope (RFC 6750 §3.1) and changes nothing. metrics is GET
 * /metrics only, scim is SCIM only, admin is everything.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, newUser, PATCH_OP, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { basic, clientCredentials, registerClient, scim, tokenRequest, type Answer } from '../helpers/oauth.ts';
import { runCli } from '../helpers/cli.ts';

const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

async function get(s: TestServer, path: string, authorization: string): Promise<Answer> {
  const r = await fetch(`${s.url}${path}`, { headers: { Authorization: authorization } });
  const text = await r.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: r.status, body, text, headers: r.headers };
}

/** A 403 for want of `needed`: the challenge says so, and the detail starts "insufficient scope". */
function assertInsufficient(r: Answer, needed: string, what: string): void {
  assert.equal(r.status, 403, `${what}: ${r.text}`);
  const challenge = r.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer /, what);
  assert.match(challenge, /error="insufficient_scope"/, what);
  assert.match(challenge, new RegExp(`scope="${needed}"`), what);
  const detail = r.body?.detail ?? r.body?.error?.message;
  assert.match(String(detail), /^insufficient scope/, `${what}: ${r.text}`);
}

function assertScimInsufficient(r: Answer, needed: string, what: string): void {
  assertInsufficient(r, needed, what);
  assert.deepEqual(r.body.schemas, [SCIM_ERROR], what);
  assert.equal(r.body.status, '403', what);
}

async function cliToken(dbUrl: string, name: string, scope: string): Promise<string> {
  const r = await runCli(dbUrl, ['token', 'create', '--name', name, '--scope', scope]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

for (const store of stores()) {
  describe(`scopes [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    let userId: string;
    let userName: string;
    const tokens: Record<'read' | 'metrics' | 'scim' | 'admin', string> = { read: '', metrics: '', scim: '', admin: '' };
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db);
      [tokens.read, tokens.metrics, tokens.scim, tokens.admin] = await Promise.all([
        cliToken(s.dbUrl, 'reader', 'scim:read'), cliToken(s.dbUrl, 'prometheus', 'metrics'),
        cliToken(s.dbUrl, 'writer', 'scim'), cliToken(s.dbUrl, 'ops', 'admin'),
      ]);
      const u = newUser();
      const created = await scim(s, `Bearer ${s.token}`, 'POST', '/Users', u);
      assert.equal(created.status, 201, created.text);
      userId = created.body.id;
      userName = u.userName;
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    /** What a read-only credential may and may not do on SCIM; the user is unchanged afterwards. */
    async function readOnly(authorization: string): Promise<void> {
      assert.equal((await scim(s, authorization, 'GET', '/Users')).status, 200);
      assert.equal((await scim(s, authorization, 'GET', `/Users/${userId}`)).status, 200);
      const search = await scim(s, authorization, 'POST', '/Users/.search', { schemas: [SEARCH], filter: `userName eq "${userName}"` });
      assert.equal(search.status, 200, search.text);
      assert.equal(search.body.totalResults, 1);
      assertScimInsufficient(await scim(s, authorization, 'POST', '/Users', newUser()), 'scim', 'POST');
      assertScimInsufficient(await scim(s, authorization, 'PUT', `/Users/${userId}`, { schemas: [USER_SCHEMA], userName, active: false }), 'scim', 'PUT');
      assertScimInsufficient(await scim(s, authorization, 'PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] }), 'scim', 'PATCH');
      assertScimInsufficient(await scim(s, authorization, 'DELETE', `/Users/${userId}`), 'scim', 'DELETE');
      assertScimInsufficient(await scim(s, authorization, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'g' }), 'scim', 'POST /Groups');
      const after = await scim(s, `Bearer ${s.token}`, 'GET', `/Users/${userId}`);
      assert.equal(after.status, 200);
      assert.equal(after.body.active, true, 'no refused write took effect');
    }

    test('a scim:read token made by the CLI reads SCIM and is refused every write', async () => {
      assert.match(tokens.read, /^scimread_/);
      await readOnly(`Bearer ${tokens.read}`);
    });

    test('Okta header mode (the token alone) gets the same read-only treatment', async () => {
      await readOnly(tokens.read);
    });

    test('a metrics token reads /metrics and nothing else', async () => {
      const m = await get(s, '/metrics', `Bearer ${tokens.metrics}`);
      assert.equal(m.status, 200, m.text);
      assert.match(m.text, /scim_http_requests_total/);
      assertScimInsufficient(await scim(s, `Bearer ${tokens.metrics}`, 'GET', '/Users'), 'scim:read', 'SCIM read');
      assertInsufficient(await get(s, '/admin/v1/clients', `Bearer ${tokens.metrics}`), 'admin', 'admin API');
    });

    test('a scim token is refused the admin API and /metrics; the admin API answers in its own format', async () => {
      for (const t of [tokens.scim, s.token]) {
        assert.equal((await scim(s, `Bearer ${t}`, 'POST', '/Users', newUser())).status, 201);
        const a = await get(s, '/admin/v1/clients', `Bearer ${t}`);
        assertInsufficient(a, 'admin', 'admin API');
        assert.equal(a.body.error.status, 403, a.text);
        assertInsufficient(await get(s, '/metrics', `Bearer ${t}`), 'metrics', '/metrics');
      }
    });

    test('an admin token works on SCIM, the admin API and /metrics', async () => {
      for (const t of [tokens.admin, s.adminToken]) {
        assert.equal((await scim(s, `Bearer ${t}`, 'POST', '/Users', newUser())).status, 201);
        assert.equal((await scim(s, `Bearer ${t}`, 'POST', '/Users/.search', { schemas: [SEARCH], count: 1 })).status, 200);
        assert.equal((await get(s, '/admin/v1/clients', `Bearer ${t}`)).status, 200);
        assert.equal((await get(s, '/metrics', `Bearer ${t}`)).status, 200);
      }
    });

    test('an OAuth client registered for scim:read gets read-only tokens and cannot ask for more', async () => {
      const c = await registerClient(s, { name: 'entra-reader', scope: 'scim:read' });
      const r = await tokenRequest(s, { grant_type: 'client_credentials' }, { Authorization: basic(c.id, c.secret) });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.scope, 'scim:read');
      await readOnly(`Bearer ${r.body.access_token}`);
      assertInsufficient(await get(s, '/admin/v1/clients', `Bearer ${r.body.access_token}`), 'admin', 'admin API');
      const more = await tokenRequest(s, { grant_type: 'client_credentials', scope: 'scim' }, { Authorization: basic(c.id, c.secret) });
      assert.equal(more.status, 400, more.text);
      assert.equal(more.body.error, 'invalid_scope');
    });

    test('a client registered for scim and admin that asks for scim gets a token without the admin API', async () => {
      const c = await registerClient(s, { name: 'entra-both', scope: 'scim admin' });
      const narrow = await tokenRequest(s, { grant_type: 'client_credentials', scope: 'scim' }, { Authorization: basic(c.id, c.secret) });
      assert.equal(narrow.status, 200, narrow.text);
      assert.equal(narrow.body.scope, 'scim');
      assert.equal((await scim(s, `Bearer ${narrow.body.access_token}`, 'POST', '/Users', newUser())).status, 201);
      assertInsufficient(await get(s, '/admin/v1/clients', `Bearer ${narrow.body.access_token}`), 'admin', 'admin API');
      assertInsufficient(await get(s, '/metrics', `Bearer ${narrow.body.access_token}`), 'metrics', '/metrics');
      // Asking for nothing gets everything it was registered for: the refusal above is the narrowing's.
      const full = await clientCredentials(s, c.id, c.secret);
      assert.equal((await get(s, '/admin/v1/clients', `Bearer ${full}`)).status, 200);
    });
  });
}
