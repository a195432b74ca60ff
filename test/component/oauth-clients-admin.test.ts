/**
 * Managing OAuth clients: the admin API (/admin/v1/clients) and the CLI (`client ...`), the same use-cases
 * (src/oauth/clients.ts). Input is checked with 400s that name the field; a secret appears once, in the answer that
 * made it, and never in a listing, a show or the audit log; the CLI prints it alone on stdout for `$(...)`.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createDatabase, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { admin, basic, clientCredentials, registerClient, scim, tokenRequest, type Answer } from '../helpers/oauth.ts';
import { runCli } from '../helpers/cli.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const SECRET_LINE = /^ocs_[A-Za-z0-9_-]{43}\n$/;
const HEX64 = /[0-9a-f]{64}/i;
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

/** `text` shows none of these secrets, nor their digests, nor anything shaped like a digest. */
function assertNoSecrets(text: string, secrets: string[], what: string): void {
  for (const v of secrets) {
    assert.ok(!text.includes(v), `${what} shows a secret`);
    assert.ok(!text.includes(sha256(v)), `${what} shows a secret's digest`);
  }
  assert.doesNotMatch(text, HEX64, `${what} shows a 64-hex digest`);
}

function assertAdminError(r: Answer, status: number, code: string, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
  assert.deepEqual(Object.keys(r.body ?? {}), ['error'], `${what}: ${r.text}`);
  assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message', 'status'], what);
  assert.equal(r.body.error.status, status, what);
  assert.equal(r.body.error.code, code, `${what}: ${r.text}`);
  assert.ok(typeof r.body.error.message === 'string' && r.body.error.message.length > 0, what);
}

const FED = { issuer: 'https://login.microsoftonline.com/t/v2.0', subject: 'obj-1', audience: 'api://scim', jwksUrl: 'https://login.microsoftonline.com/t/discovery/v2.0/keys' };

for (const store of stores()) {
  describe(`OAuth clients: admin API [${store}]`, () => {
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

    test('invalid registrations are 400s in the admin format naming the problem, and register nothing', async () => {
      const before = (await admin(s, 'GET', '/clients')).body.clients.length;
      const cases: [string, unknown, string][] = [
        ['no name', {}, 'invalid_name'],
        ['empty name', { name: '  ' }, 'invalid_name'],
        ['long name', { name: 'x'.repeat(101) }, 'invalid_name'],
        ['name not a string', { name: 7 }, 'invalid_body'],
        ['unknown scope', { name: 'a', scope: 'superuser' }, 'invalid_scope'],
        ['unknown scope in a list', { name: 'a', scope: ['scim', 'root'] }, 'invalid_scope'],
        ['empty scope', { name: 'a', scope: '' }, 'invalid_scope'],
        ['secretTtl 0d', { name: 'a', secretTtl: '0d' }, 'invalid_secret_ttl'],
        ['secretTtl 5000d', { name: 'a', secretTtl: '5000d' }, 'invalid_secret_ttl'],
        ['secretTtl words', { name: 'a', secretTtl: 'a year' }, 'invalid_secret_ttl'],
        ['federated without jwksUrl', { name: 'a', federation: { ...FED, jwksUrl: undefined } }, 'invalid_federation'],
        ['federated without subject', { name: 'a', federation: { ...FED, subject: '' } }, 'invalid_federation'],
        ['http jwks URL off loopback', { name: 'a', federation: { ...FED, jwksUrl: 'http://keys.example.com/jwks' } }, 'invalid_federation'],
        ['federation not an object', { name: 'a', federation: 'yes' }, 'invalid_body'],
        ['federated with a secretTtl', { name: 'a', federation: FED, secretTtl: '30d' }, 'invalid_secret_ttl'],
        ['federated with redirect URIs', { name: 'a', federation: FED, redirectUris: ['https://okta.example.com/cb'] }, 'invalid_redirect_uri'],
        ['redirect URI with a fragment', { name: 'a', redirectUris: ['https://okta.example.com/cb#frag'] }, 'invalid_redirect_uri'],
        ['redirect URI over http', { name: 'a', redirectUris: ['http://okta.example.com/cb'] }, 'invalid_redirect_uri'],
        ['relative redirect URI', { name: 'a', redirectUris: ['/cb'] }, 'invalid_redirect_uri'],
        ['redirect URIs not a list', { name: 'a', redirectUris: 'https://okta.example.com/cb' }, 'invalid_body'],
        ['unknown field', { name: 'a', scopes: 'scim' }, 'unknown_field'],
      ];
      for (const [what, body, code] of cases) assertAdminError(await admin(s, 'POST', '/clients', body), 400, code, what);
      assert.equal((await admin(s, 'GET', '/clients')).body.clients.length, before);
    });

    test('the loopback exceptions and the limits themselves are accepted', async () => {
      const ok: Record<string, unknown>[] = [
        { name: 'x'.repeat(100), secretTtl: '1d' },
        { name: 'three-years', secretTtl: '1095d', scope: ['scim', 'metrics'] },
        { name: 'local-wif', federation: { ...FED, jwksUrl: 'http://127.0.0.1:9/jwks' } },
        { name: 'local-okta', redirectUris: ['http://localhost:8080/cb', 'https://okta.example.com/cb'] },
      ];
      for (const body of ok) {
        const r = await admin(s, 'POST', '/clients', body);
        assert.equal(r.status, 201, `${JSON.stringify(body)}: ${r.text}`);
      }
    });

    test('secrets are shown once: never in a list, a show, a revocation answer or an audit row', async () => {
      const c = await registerClient(s, { name: 'entra-audit', secretTtl: '90d' });
      const created = c.body;
      assert.equal(created.secret.value, c.secret);
      assert.equal(created.scimEndpoint, `${s.url}/scim/v2`);
      const added = await admin(s, 'POST', `/clients/${c.id}/secrets`, { secretTtl: '400d' });
      assert.equal(added.status, 201, added.text);
      const secrets = [c.secret, added.body.value];
      const token = await clientCredentials(s, c.id, added.body.value);
      assert.equal((await scim(s, `Bearer ${token}`, 'GET', '/Users')).status, 200);

      const list = await admin(s, 'GET', '/clients');
      assert.equal(list.status, 200);
      const mine = list.body.clients.find((x: any) => x.id === c.id);
      assert.equal(mine.secrets.length, 2);
      assert.deepEqual(Object.keys(mine.secrets[0]).sort(), ['created', 'expires', 'id', 'revoked', 'state']);
      assertNoSecrets(list.text, [...secrets, token], 'GET /clients');
      const shown = await admin(s, 'GET', `/clients/${c.id}`);
      assert.deepEqual(shown.body, mine);
      assertNoSecrets(shown.text, [...secrets, token], 'GET /clients/:id');

      const revokedSecret = await admin(s, 'DELETE', `/clients/${c.id}/secrets/${c.secretId}`);
      assertNoSecrets(revokedSecret.text, secrets, 'DELETE secret');
      const revoked = await admin(s, 'DELETE', `/clients/${c.id}`);
      assert.equal(revoked.status, 200);
      assertNoSecrets(revoked.text, secrets, 'DELETE client');

      const audit = await admin(s, 'GET', `/audit?order=asc&resourceType=Client&resourceId=${c.id}`);
      assert.equal(audit.status, 200, audit.text);
      const ops = audit.body.items.map((e: any) => e.operation);
      assert.deepEqual(ops, ['create_client', 'add_client_secret', 'add_client_secret', 'issue_token', 'revoke_client_secret', 'revoke_client']);
      const byOp = (op: string) => audit.body.items.find((e: any) => e.operation === op);
      assert.equal(byOp('create_client').actor, 'admin:env-admin');
      assert.equal(byOp('issue_token').actor, 'client:entra-audit');
      assert.equal(byOp('revoke_client_secret').before.secretId, c.secretId);
      assertNoSecrets(JSON.stringify(audit.body.items.map((e: any) => [e.before, e.after])), [...secrets, token], 'audit rows');
    });

    test('unknown ids are 404; a revoked client is shown but not changed', async () => {
      const c = await registerClient(s, { name: 'entra-404' });
      const ghost = randomUUID();
      assertAdminError(await admin(s, 'GET', `/clients/${ghost}`), 404, 'not_found', 'GET unknown');
      assertAdminError(await admin(s, 'GET', `/clients/${'x'.repeat(200)}`), 404, 'not_found', 'GET long id');
      assertAdminError(await admin(s, 'DELETE', `/clients/${ghost}`), 404, 'not_found', 'DELETE unknown');
      assertAdminError(await admin(s, 'POST', `/clients/${ghost}/secrets`), 404, 'not_found', 'add secret to unknown');
      assertAdminError(await admin(s, 'DELETE', `/clients/${ghost}/secrets/${c.secretId}`), 404, 'not_found', 'secret of unknown client');
      assertAdminError(await admin(s, 'DELETE', `/clients/${c.id}/secrets/${ghost}`), 404, 'not_found', 'unknown secret');
      assertAdminError(await admin(s, 'POST', `/clients/${c.id}/secrets`, { secretTtl: '0d' }), 400, 'invalid_secret_ttl', 'bad ttl on add');
      assertAdminError(await admin(s, 'POST', `/clients/${c.id}/secrets`, { ttl: '30d' }), 400, 'unknown_field', 'unknown field on add');
      const fed = await registerClient(s, { name: 'wif', federation: FED });
      assert.equal(fed.secret, undefined);
      assertAdminError(await admin(s, 'POST', `/clients/${fed.id}/secrets`), 409, 'federated_client', 'secret for a federated client');
      assert.equal((await admin(s, 'DELETE', `/clients/${c.id}`)).status, 200);
      const shown = await admin(s, 'GET', `/clients/${c.id}`);
      assert.equal(shown.status, 200);
      assert.ok(shown.body.revoked);
      assert.deepEqual(shown.body.secrets.map((x: any) => x.state), ['revoked'], 'a revoked client has no live secret');
      assertAdminError(await admin(s, 'POST', `/clients/${c.id}/secrets`), 404, 'not_found', 'add secret to revoked');
    });

    test('a scim token gets 403 on every client route', async () => {
      const c = await registerClient(s, { name: 'entra-403' });
      const routes: [string, string, unknown?][] = [
        ['GET', '/clients'], ['POST', '/clients', { name: 'sneaky' }], ['GET', `/clients/${c.id}`], ['DELETE', `/clients/${c.id}`],
        ['POST', `/clients/${c.id}/secrets`], ['DELETE', `/clients/${c.id}/secrets/${c.secretId}`],
      ];
      for (const [method, path, body] of routes) {
        const r = await fetch(`${s.url}/admin/v1${path}`, {
          method, headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}),
        });
        assert.equal(r.status, 403, `${method} ${path}`);
        assert.equal((await r.json()).error.status, 403);
      }
      assert.equal((await clientCredentials(s, c.id, c.secret)).length > 0, true, 'the client is untouched');
      assert.ok(!(await admin(s, 'GET', '/clients')).body.clients.some((x: any) => x.name === 'sneaky'));
    });
  });

  describe(`OAuth clients: CLI [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    const PUBLIC = { PUBLIC_URL: 'https://scim.example.com/scim/v2' };
    const cli = (...args: string[]) => runCli(s.dbUrl, ['client', ...args], PUBLIC);
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db);
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    /** A failure the operator can fix: exit 1, nothing on stdout, one line on stderr. */
    async function assertCliError(args: string[], message: RegExp): Promise<void> {
      const r = await cli(...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error: [^\n]+\n$/, r.stderr);
      assert.match(r.stderr, message);
    }

    test('create prints only the secret on stdout, the id and endpoints on stderr; the secret gets a token', async () => {
      const r = await cli('create', '--name', 'entra', '--scope', 'scim');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, SECRET_LINE);
      const secret = r.stdout.trim();
      const id = UUID.exec(r.stderr)?.[0];
      assert.ok(id, r.stderr);
      assert.ok(!r.stderr.includes(secret), 'the secret is on stdout only');
      assert.match(r.stderr, /token URL: +https:\/\/scim\.example\.com\/oauth\/token$/m);
      assert.match(r.stderr, /SCIM URL: +https:\/\/scim\.example\.com\/scim\/v2$/m);
      const token = await tokenRequest(s, { grant_type: 'client_credentials' }, { Authorization: basic(id!, secret) });
      assert.equal(token.status, 200, token.text);
      assert.equal(token.body.scope, 'scim');
      assert.equal((await scim(s, `Bearer ${token.body.access_token}`, 'GET', '/Users')).status, 200);
    });

    test('create --json prints the client, its secret and endpoints', async () => {
      const r = await cli('create', '--name', 'okta', '--scope', 'scim', 'scim:read', '--redirect-uri', 'https://okta.example.com/cb', '--secret-ttl', '30d', '--json');
      assert.equal(r.code, 0, r.stderr);
      const c = JSON.parse(r.stdout);
      assert.match(c.id, UUID);
      assert.equal(c.name, 'okta');
      assert.equal(c.scope, 'scim scim:read');
      assert.deepEqual(c.grantTypes, ['authorization_code', 'refresh_token']);
      assert.deepEqual(c.redirectUris, ['https://okta.example.com/cb']);
      assert.match(c.secret.value, /^ocs_/);
      assert.equal(c.secret.id, c.secrets[0].id);
      const days = (Date.parse(c.secret.expires) - Date.parse(c.created)) / 86_400_000;
      assert.ok(Math.abs(days - 30) < 0.01, `expires in ${days} days`);
      assert.equal(c.tokenEndpoint, 'https://scim.example.com/oauth/token');
      assert.equal(c.authorizationEndpoint, 'https://scim.example.com/oauth/authorize');
      assert.equal(c.scimEndpoint, 'https://scim.example.com/scim/v2');
    });

    test('list shows a table and --json, never a secret; secret add, secret revoke and revoke take effect on the server', async () => {
      const created = await cli('create', '--name', 'rotating');
      assert.equal(created.code, 0, created.stderr);
      const first = created.stdout.trim();
      const id = UUID.exec(created.stderr)![0];

      const added = await cli('secret', 'add', id, '--secret-ttl', '60d');
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, SECRET_LINE);
      const second = added.stdout.trim();
      const secondId = new RegExp(`added secret (${UUID.source}) to client ${id}`).exec(added.stderr)?.[1];
      assert.ok(secondId, added.stderr);
      assert.ok(!added.stderr.includes(second));
      const oldToken = await clientCredentials(s, id, first);
      assert.equal((await tokenRequest(s, { grant_type: 'client_credentials' }, { Authorization: basic(id, second) })).status, 200);

      const [table, json, show] = await Promise.all([cli('list'), cli('list', '--json'), cli('show', id)]);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^ID +NAME +KIND +SCOPE +GRANTS +SECRETS +CREATED +REVOKED$/);
      const row = lines.find((l) => l.startsWith(id));
      assert.ok(row, table.stdout);
      assert.match(row!, new RegExp(`^${id} +rotating +secret +scim +client_credentials +2 live +\\S+ +-$`));
      assertNoSecrets(table.stdout, [first, second], 'client list');
      assert.equal(json.code, 0, json.stderr);
      const mine = JSON.parse(json.stdout).find((c: any) => c.id === id);
      assert.deepEqual(mine.secrets.map((x: any) => x.state), ['live', 'live']);
      assertNoSecrets(json.stdout, [first, second], 'client list --json');
      assert.deepEqual(JSON.parse(show.stdout), mine);

      const firstId = mine.secrets.find((x: any) => x.id !== secondId).id;
      const revokedSecret = await cli('secret', 'revoke', id, firstId);
      assert.equal(revokedSecret.code, 0, revokedSecret.stderr);
      assert.equal(revokedSecret.stdout, '');
      assert.match(revokedSecret.stderr, new RegExp(`revoked secret ${firstId} of client ${id}`));
      const refused = await tokenRequest(s, { grant_type: 'client_credentials' }, { Authorization: basic(id, first) });
      assert.equal(refused.status, 401, refused.text);
      assert.equal(refused.body.error, 'invalid_client');
      const newToken = await clientCredentials(s, id, second);
      assert.equal((await scim(s, `Bearer ${oldToken}`, 'GET', '/Users')).status, 200, 'without --tokens its token keeps working');

      const revoked = await cli('revoke', id);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stderr, new RegExp(`revoked client ${id}`));
      assert.equal((await tokenRequest(s, { grant_type: 'client_credentials' }, { Authorization: basic(id, second) })).status, 401);
      const deadline = Date.now() + 2000;
      while ((await scim(s, `Bearer ${newToken}`, 'GET', '/Users')).status === 200) {
        assert.ok(Date.now() < deadline, 'the token still works 2 s after client revoke');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await scim(s, `Bearer ${newToken}`, 'GET', '/Users')).status, 401);
      const [afterJson, afterTable] = await Promise.all([cli('list', '--json'), cli('list')]);
      const after = JSON.parse(afterJson.stdout).find((c: any) => c.id === id);
      assert.ok(after.revoked);
      assert.deepEqual(after.secrets.map((x: any) => x.state), ['revoked', 'revoked'], 'a revoked client has no live secret');
      assert.match(afterTable.stdout, new RegExp(`^${id} .* 0 live +\\S+ +\\d{4}-\\S+$`, 'm'));
    });

    test('mistakes exit 1 with one line on stderr', async () => {
      const ghost = randomUUID();
      const cases: [string[], RegExp][] = [
        [['create', '--name', ' '], /name must be 1 to 100 characters/],
        [['create', '--name', 'x', '--scope', 'bogus'], /unknown scope "bogus"/],
        [['create', '--name', 'x', '--redirect-uri', 'http://okta.example.com/cb'], /must be https/],
        [['create', '--name', 'x', '--issuer', 'https://issuer.example.com'], /need --federated/],
        [['create', '--name', 'x', '--federated', '--issuer', 'https://i.example.com', '--subject', 's', '--audience', 'a'], /JWKS URL/],
        [['secret', 'add', ghost], /no live client/],
        [['revoke', ghost], /no live client/],
        [['show', ghost], /no client/],
      ];
      // Each run is a process of its own (a few seconds of start-up): run them side by side.
      await Promise.all(cases.map(([args, message]) => assertCliError(args, message)));
      assert.ok(!JSON.parse((await cli('list', '--json')).stdout).some((c: any) => c.name === 'x'), 'no failed create registered anything');
    });
  });
}
