/**
 * Entra ID workload identity federation through the real token endpoint: Entra asks for a token with client
 * credentials and a JWT client assertion (RFC 7523 §2.2) that it signed with keys published at the issuer's JWKS URL;
 * the server checks it against the issuer, subject, audience and JWKS URL registered for the client (admin API or
 * CLI), and the token provisions users. Refusals are RFC 6749 §5.2 `invalid_client` with a reason; a jti is single
 * use across instances; keys rotate, and a JWKS outage leaves cached keys working. Assertions and tokens never reach
 * the log.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createDatabase, newUser, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { admin, basic, registerClient, scim, tokenRequest, type Answer } from '../helpers/oauth.ts';
import { runCli } from '../helpers/cli.ts';
import { sweepExpired } from '../../src/store/oauth-grants.ts';
import { assertion, assertionRequest, entraApp, federation, jwksServer, signingKey, type EntraApp } from '../helpers/entra.ts';

const [keyA, keyB, intruderA, intruderX] = await Promise.all([signingKey('kid-a'), signingKey('kid-b'), signingKey('kid-a'), signingKey('kid-x')]);
const now = () => Math.floor(Date.now() / 1000);

function refused(r: Answer, description: string, error = 'invalid_client', status = 401) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body?.error, error, r.text);
  assert.equal(r.body?.error_description, description, r.text);
}

/** Neither an assertion (whole, its payload or its signature) nor a token may be in a server's output. */
function assertNoSecrets(s: TestServer, secrets: string[]) {
  const out = s.output();
  assert.ok(out.length > 0, 'the server logged nothing');
  for (const v of secrets) {
    for (const part of v.split('.').slice(v.includes('.') ? 1 : 0)) assert.ok(!out.includes(part), `server output contains secret text ${part.slice(0, 12)}...`);
  }
}

for (const store of stores()) {
  describe(`Entra workload identity federation [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    let s2: TestServer;
    let jwks: Awaited<ReturnType<typeof jwksServer>>;
    const seen: string[] = []; // every assertion sent and token received, for the log check at the end
    const sign = async (app: EntraApp, over: Record<string, unknown> = {}, key = keyA) => {
      const jwt = await assertion(app, key, over);
      seen.push(jwt);
      return jwt;
    };
    const federated = async (name: string, app = entraApp(jwks.url)) => ({ app, ...(await registerClient(s, { name, federation: federation(app) })) });

    before(async () => {
      jwks = await jwksServer([keyA]);
      db = await createDatabase(store);
      s = await startServer(store, db);
      s2 = await startServer(store, db);
    });
    after(async () => {
      await s2?.stop();
      await s?.stop();
      await jwks?.close();
      await db?.drop();
    });

    test('a valid assertion gets a token (no refresh token) that provisions a user, audited as client:<name>', async () => {
      const c = await federated('entra');
      assert.equal(c.body.kind, 'federated');
      assert.equal(c.secret, undefined);
      const r = await assertionRequest(s, c.id, await sign(c.app));
      assert.equal(r.status, 200, r.text);
      seen.push(r.body.access_token);
      assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
      assert.equal(r.body.expires_in, 3600);
      assert.equal(r.body.scope, 'scim');
      const created = await scim(s, `Bearer ${r.body.access_token}`, 'POST', '/Users', newUser());
      assert.equal(created.status, 201, created.text);
      const userAudit = await admin(s, 'GET', `/audit?resourceType=User&resourceId=${created.body.id}`);
      assert.equal(userAudit.body.items?.[0]?.actor, 'client:entra', userAudit.text);
      const clientAudit = await admin(s, 'GET', `/audit?resourceType=Client&resourceId=${c.id}`);
      const issued = clientAudit.body.items.filter((e: any) => e.operation === 'issue_token');
      assert.equal(issued.length, 1, clientAudit.text);
      assert.equal(issued[0].actor, 'client:entra');
      assert.equal(issued[0].after.grantType, 'client_credentials');
    });

    test('a client registered with `client create --federated --json` authenticates too', async () => {
      const app = entraApp(jwks.url);
      const run = await runCli(db.url, ['client', 'create', '--name', 'entra-cli', '--federated', '--issuer', app.issuer, '--subject', app.subject,
        '--audience', app.audience, '--jwks-url', app.jwksUrl, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const created = JSON.parse(run.stdout);
      assert.equal(created.kind, 'federated');
      assert.deepEqual(created.federation, federation(app));
      assert.equal(created.secret, undefined);
      const r = await assertionRequest(s, created.id, await sign(app));
      assert.equal(r.status, 200, r.text);
      seen.push(r.body.access_token);
      assert.equal((await scim(s, `Bearer ${r.body.access_token}`, 'GET', '/Users?count=1')).status, 200);
    });

    test('without client_id the client is the one registered for the assertion\'s issuer and subject (RFC 7521 §4.2)', async () => {
      await federated('entra-other'); // same JWKS, another tenant and subject: must not be picked
      const c = await federated('entra-by-iss-sub');
      const r = await assertionRequest(s, undefined, await sign(c.app));
      assert.equal(r.status, 200, r.text);
      seen.push(r.body.access_token);
      const created = await scim(s, `Bearer ${r.body.access_token}`, 'POST', '/Users', newUser());
      assert.equal(created.status, 201, created.text);
      const audit = await admin(s, 'GET', `/audit?resourceType=User&resourceId=${created.body.id}`);
      assert.equal(audit.body.items?.[0]?.actor, 'client:entra-by-iss-sub', audit.text);
    });

    test('an assertion that does not match the client is invalid_client, each with its reason', async (t) => {
      const c = await federated('entra-mismatch');
      const at = now();
      const cases: [string, Record<string, unknown>, string][] = [
        ['wrong issuer', { iss: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0' }, 'the assertion issuer does not match the client'],
        ['wrong audience', { aud: 'api://00000000-0000-0000-0000-000000000000' }, 'the assertion audience does not match the client'],
        ['wrong subject', { sub: '00000000-0000-0000-0000-000000000000' }, 'the assertion subject does not match the client'],
        ['expired', { iat: at - 7200, nbf: at - 7200, exp: at - 3300 }, 'the assertion has expired'],
        ['nbf in the future', { nbf: at + 600 }, 'the assertion is not valid yet'],
      ];
      for (const [what, over, description] of cases) {
        await t.test(what, async () => refused(await assertionRequest(s, c.id, await sign(c.app, over)), description));
      }
    });

    test('an assertion signed by a key not in the JWKS is invalid_client', async () => {
      const c = await federated('entra-intruder');
      // A known kid with another key behind it: the signature does not verify.
      refused(await assertionRequest(s, c.id, await sign(c.app, {}, intruderA)), 'the assertion signature is not valid');
      // A kid the JWKS does not have.
      refused(await assertionRequest(s, c.id, await sign(c.app, {}, intruderX)), "no key in the JWKS matches the assertion's kid");
    });

    test('a jti is single use: a replay is refused by the same instance and by a second one on the database', async () => {
      const c = await federated('entra-replay');
      const first = await sign(c.app);
      assert.equal((await assertionRequest(s, c.id, first)).status, 200);
      refused(await assertionRequest(s, c.id, first), 'the assertion was already used (its jti was seen before)');
      const second = await sign(c.app);
      assert.equal((await assertionRequest(s, c.id, second)).status, 200);
      refused(await assertionRequest(s2, c.id, second), 'the assertion was already used (its jti was seen before)');
    });

    test('a jti stays spent while its assertion is still accepted: exp just past, within the clock tolerance, and swept', async () => {
      const c = await federated('entra-late-replay');
      const at = now();
      // jose accepts exp up to clockToleranceS (120 s) in the past; such an assertion must not be usable twice.
      const late = await sign(c.app, { iat: at - 3960, nbf: at - 3960, exp: at - 60 });
      assert.equal((await assertionRequest(s, c.id, late)).status, 200);
      const k = connect(db.url);
      try {
        await sweepExpired(k); // what every instance does about once a minute after issuing a token
      } finally {
        await k.destroy();
      }
      refused(await assertionRequest(s2, c.id, late), 'the assertion was already used (its jti was seen before)');
    });

    test('assertions without jti are accepted each time they are sent', async () => {
      // Entra's federated credential assertions carry no jti (Azure writes `uti`), and RFC 7523 §3 item 7 makes jti
      // optional: refusing a second use would mean refusing Entra. Single use is only enforced for a jti that is there.
      const c = await federated('entra-no-jti');
      const jwt = await sign(c.app, { jti: undefined, uti: 'AbCdEf123456' });
      for (const server of [s, s, s2]) {
        const r = await assertionRequest(server, c.id, jwt);
        assert.equal(r.status, 200, r.text);
        seen.push(r.body.access_token);
      }
    });

    test('a secret client cannot authenticate with an assertion, nor a federated client with a secret', async () => {
      const secretClient = await registerClient(s, { name: 'entra-secret' });
      seen.push(secretClient.secret);
      const fed = await federated('entra-fed-with-secret');
      // The assertion is valid for `fed`; sent for the secret client it proves nothing about that client.
      refused(await assertionRequest(s, secretClient.id, await sign(fed.app)), 'client authentication failed');
      const r = await tokenRequest(s, { grant_type: 'client_credentials', scope: 'scim' }, { Authorization: basic(fed.id, secretClient.secret) });
      refused(r, 'client authentication failed');
      refused(await tokenRequest(s, { grant_type: 'client_credentials', client_id: fed.id, client_secret: secretClient.secret }), 'client authentication failed');
    });

    test('a revoked federated client is invalid_client, and the token it had stops working', async () => {
      const c = await federated('entra-revoked');
      const earlier = await assertionRequest(s, c.id, await sign(c.app));
      assert.equal(earlier.status, 200, earlier.text);
      seen.push(earlier.body.access_token);
      const revoked = await admin(s, 'DELETE', `/clients/${c.id}`);
      assert.equal(revoked.status, 200, revoked.text);
      assert.ok(revoked.body.revoked, revoked.text);
      refused(await assertionRequest(s, c.id, await sign(c.app)), 'client authentication failed');
      refused(await assertionRequest(s2, undefined, await sign(c.app)), 'client authentication failed');
      assert.equal((await scim(s, `Bearer ${earlier.body.access_token}`, 'GET', '/Users?count=1')).status, 401);
    });

    test('a client_assertion_type other than jwt-bearer is invalid_request', async () => {
      const c = await federated('entra-type');
      const expected = 'client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
      for (const type of ['urn:ietf:params:oauth:client-assertion-type:saml2-bearer', '']) {
        refused(await assertionRequest(s, c.id, await sign(c.app), { client_assertion_type: type }), expected, 'invalid_request', 400);
      }
      refused(await assertionRequest(s, c.id, await sign(c.app), { client_assertion_type: undefined }), expected, 'invalid_request', 400);
    });

    test('no assertion text or token appears in the output of either instance', () => {
      assert.ok(seen.length > 20, `only ${seen.length} values collected`);
      assertNoSecrets(s, seen);
      assertNoSecrets(s2, seen);
      assert.match(s.output(), /client assertion refused/, 'refusals are logged (without the assertion)');
    });
  });

  describe(`Entra workload identity federation: key rotation [${store}]`, () => {
    const cooldownMs = 300;
    let db: TestDatabase;
    let s: TestServer;
    let jwks: Awaited<ReturnType<typeof jwksServer>>;
    before(async () => {
      jwks = await jwksServer([keyA]);
      db = await createDatabase(store);
      s = await startServer(store, db, { oauthTuning: { assertion: { cacheMaxAgeMs: 600_000, cooldownMs, maxStaleMs: 600_000, timeoutMs: 2000 } } });
    });
    after(async () => {
      await s?.stop();
      await jwks?.close();
      await db?.drop();
    });

    test('a kid added to the JWKS after the first fetch is found by a refetch once the cooldown has passed', async () => {
      const app = entraApp(jwks.url);
      const c = await registerClient(s, { name: 'entra-rotating', federation: federation(app) });
      assert.equal((await assertionRequest(s, c.id, await assertion(app, keyA))).status, 200);
      assert.equal(jwks.requests, 1);
      jwks.serve([keyA, keyB]); // Entra publishes the next key before signing with it
      await sleep(cooldownMs + 200);
      const r = await assertionRequest(s, c.id, await assertion(app, keyB));
      assert.equal(r.status, 200, r.text);
      assert.equal(jwks.requests, 2, 'the unknown kid caused one refetch');
      assert.equal((await assertionRequest(s, c.id, await assertion(app, keyA))).status, 200, 'the old key still works');
    });
  });

  describe(`Entra workload identity federation: JWKS endpoint down [${store}]`, () => {
    const cacheMaxAgeMs = 200;
    let db: TestDatabase;
    let s: TestServer;
    let jwks: Awaited<ReturnType<typeof jwksServer>>;
    before(async () => {
      jwks = await jwksServer([keyA, keyB]);
      db = await createDatabase(store);
      s = await startServer(store, db, { oauthTuning: { assertion: { cacheMaxAgeMs, cooldownMs: 200, maxStaleMs: 600_000, timeoutMs: 2000 } } });
    });
    after(async () => {
      await s?.stop();
      await jwks?.close();
      await db?.drop();
    });

    test('cached keys keep working, an unknown kid fails with a reason, and the outage is logged', async () => {
      const app = entraApp(jwks.url);
      const c = await registerClient(s, { name: 'entra-outage', federation: federation(app) });
      const sent: string[] = [];
      const send = async (key: typeof keyA) => {
        const jwt = await assertion(app, key);
        sent.push(jwt);
        const r = await assertionRequest(s, c.id, jwt);
        if (r.body?.access_token) sent.push(r.body.access_token);
        return r;
      };
      assert.equal((await send(keyA)).status, 200);
      await jwks.close();
      await sleep(cacheMaxAgeMs + 200); // the cached JWKS is now older than cacheMaxAge: every use tries a refetch first
      const cached = await send(keyA);
      assert.equal(cached.status, 200, cached.text);
      assert.equal((await send(keyB)).status, 200, 'another key of the cached JWKS');
      refused(await send(intruderX), 'the JWKS endpoint is unreachable and no cached key matches');
      assert.match(s.output(), /jwks endpoint unreachable/);
      assertNoSecrets(s, sent);
    });
  });
}
