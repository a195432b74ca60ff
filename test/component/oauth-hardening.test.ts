/**
 * Attacks on the OAuth endpoints (issue 13 review): /oauth/token, /oauth/revoke, the consent page at /oauth/authorize
 * and the Okta raw `Authorization: <token>` header on SCIM. Every refusal must be a 4xx in its mount's shape (RFC 6749
 * §5.2 JSON on /oauth, the consent page's HTML for a browser), never a 5xx, and no secret, token, code, assertion or
 * CSRF value used here may reach the server's log. Each request comes from its own client address
 * (X-Forwarded-For with TRUST_PROXY_HOPS=1), so the per-address failed-auth guard does not mix the attacks up;
 * two instances share the database for the races.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, createServer, type Server } from 'node:http';
import { createHmac, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { connect, createDatabase, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { basic, registerClient } from '../helpers/oauth.ts';

const FORM = 'application/x-www-form-urlencoded';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const OAUTH_CODES = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'access_denied', 'unsupported_response_type', 'temporarily_unavailable', 'unsupported_token_type'];
const REDIRECT = 'https://okta.example/cb';

interface Reply { status: number; headers: Record<string, any>; text: string; body: any }

let address = 0;
/** A fresh client address for each request (the server trusts one proxy hop). */
const nextAddress = () => `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address++ & 255}`;

/** One HTTP request as an attacker writes it: any header, a body given as chunks is sent chunked. */
function send(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer | (string | Buffer)[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: { 'X-Forwarded-For': nextAddress(), ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        resolve({ status: res.statusCode!, headers: res.headers, text, body: parsed });
      });
    });
    req.on('error', reject);
    if (Array.isArray(body)) for (const b of body) req.write(b);
    req.end(Array.isArray(body) ? undefined : body);
  });
}

const form = (p: Record<string, string>) => new URLSearchParams(p).toString();

/** An RFC 6749 §5.2 error: a 4xx, JSON with `error` (one of the RFC's) and `error_description` only, not cached. */
function oauthError(r: Reply, status: number, error?: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(String(r.headers['content-type']), /^application\/json/, r.text);
  assert.deepEqual(Object.keys(r.body ?? {}).sort(), ['error', 'error_description'], r.text);
  assert.ok(OAUTH_CODES.includes(r.body.error), r.text);
  if (error) assert.equal(r.body.error, error, r.text);
  assert.equal(r.headers['cache-control'], 'no-store', r.text);
}

/** The consent page's refusal for a browser: HTML, never a redirect. */
function shownToBrowser(r: Reply, status = 400): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.location, undefined);
  assert.match(String(r.headers['content-type']), /^text\/html/);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

for (const store of stores()) {
  describe(`OAuth hardening [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    let s2: TestServer;
    let jwks: Server;
    let jwksUrl: string;
    /** Every secret value the attacks used or obtained: none may be in the log. */
    const secrets: string[] = [];
    const keys = generateKeyPair('RS256');
    const attackerKeys = generateKeyPair('RS256');
    const jwksHits = new Map<string, number>();

    before(async () => {
      const good = { ...(await exportJWK((await keys).publicKey)), kid: 'k1', alg: 'RS256' };
      const attacker = { ...(await exportJWK((await attackerKeys).publicKey)), kid: 'k1', alg: 'RS256' };
      jwks = createServer((req, res) => {
        jwksHits.set(req.url!, (jwksHits.get(req.url!) ?? 0) + 1);
        if (req.url === '/keys') return res.end(JSON.stringify({ keys: [good] }));
        // What a jku or x5u header names: a server that followed it would accept the attacker's assertions.
        if (req.url === '/attacker') return res.end(JSON.stringify({ keys: [attacker] }));
        if (req.url === '/html') return res.end('<html>not a key set</html>');
        if (req.url === '/redirect') { res.writeHead(302, { Location: '/keys' }); return res.end(); }
        // /silent: never answers
      });
      await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
      jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}`;
      db = await createDatabase(store);
      const opts = { env: { TRUST_PROXY_HOPS: '1' }, oauthTuning: { assertion: { timeoutMs: 300 } } };
      s = await startServer(store, db, opts);
      s2 = await startServer(store, db, opts);
      secrets.push(s.token, s.adminToken);
    });
    after(async () => {
      await s2?.stop();
      await s?.stop();
      await db?.drop();
      jwks?.closeAllConnections();
      jwks?.close();
    });

    /** The status of a SCIM read with this Authorization header (from a fresh address: refusals are counted per address). */
    const scimStatus = async (server: TestServer, authorization: string) => (await send(server.url, 'GET', '/scim/v2/Users?count=1', { Authorization: authorization })).status;
    const token = (params: Record<string, string>, headers: Record<string, string> = {}, server = s) =>
      send(server.url, 'POST', '/oauth/token', { 'Content-Type': FORM, ...headers }, form(params));
    async function secretClient(spec: Record<string, unknown> = {}) {
      const c = await registerClient(s, { name: `c-${randomUUID().slice(0, 8)}`, ...spec });
      secrets.push(c.secret);
      return c;
    }
    async function federated(path: string) {
      const subject = `sub-${randomUUID()}`;
      const c = await registerClient(s, { name: `f-${randomUUID().slice(0, 8)}`, federation: { issuer: 'https://issuer.example/', subject, audience: 'api://scim', jwksUrl: `${jwksUrl}${path}` } });
      const claims = () => ({ iss: 'https://issuer.example/', sub: subject, aud: 'api://scim', jti: randomUUID() });
      return { id: c.id, claims };
    }
    const assertion = (clientId: string | undefined, value: string) => {
      secrets.push(value);
      return token({ grant_type: 'client_credentials', ...(clientId ? { client_id: clientId } : {}), client_assertion_type: JWT_BEARER, client_assertion: value });
    };

    test('malformed token requests are RFC 6749 errors: encoding, repeats, arrays, prototype keys, media types, sizes, compression', async () => {
      const c = await secretClient();
      const auth = { client_id: c.id, client_secret: c.secret };
      const raw = (body: string | Buffer | (string | Buffer)[], headers: Record<string, string> = { 'Content-Type': FORM }) => send(s.url, 'POST', '/oauth/token', headers, body);
      oauthError(await raw(`grant_type=client_credentials&client_id=%zz&client_secret=%E0%A4%A`), 401, 'invalid_client');
      oauthError(await raw(`grant_type=client_credentials&client_id=${c.id}&client_secret=a%00b`), 400, 'invalid_request');
      oauthError(await raw(`grant_type=client_credentials&grant_type=client_credentials&${form(auth)}`), 400, 'invalid_request');
      oauthError(await raw(`grant_type=client_credentials&client_id[]=${c.id}&client_secret=${c.secret}`), 401, 'invalid_client');
      // Prototype keys are plain parameters: the request succeeds and nothing is polluted (the server runs in this process).
      const proto = await raw(`__proto__[polluted]=1&constructor[prototype][polluted]=1&__proto__=x&grant_type=client_credentials&${form(auth)}`);
      assert.equal(proto.status, 200, proto.text);
      secrets.push(proto.body.access_token);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      oauthError(await raw(`grant_type=client_credentials&client_id=${'a'.repeat(15_000)}&client_secret=x`), 401, 'invalid_client');
      oauthError(await raw(`grant_type=client_credentials&client_id=${encodeURIComponent("x' OR '1'='1 --😀\u202e")}&client_secret=${encodeURIComponent("' OR 1=1 --")}`), 401, 'invalid_client');
      oauthError(await raw(Array.from({ length: 10_000 }, (_, i) => `p${i}=`).join('&')), 413);
      oauthError(await raw(`grant_type=client_credentials&x=${'a'.repeat(20_000)}`), 413);
      oauthError(await raw(['grant_type=client_credentials&x=', 'a'.repeat(10_000), 'a'.repeat(10_000)], { 'Content-Type': FORM, 'Transfer-Encoding': 'chunked' }), 413);
      oauthError(await raw(gzipSync(`grant_type=client_credentials&x=${'a'.repeat(5_000_000)}`), { 'Content-Type': FORM, 'Content-Encoding': 'gzip' }), 413);
      oauthError(await raw('not gzip', { 'Content-Type': FORM, 'Content-Encoding': 'gzip' }), 400, 'invalid_request');
      oauthError(await raw('grant_type=client_credentials', {}), 400, 'invalid_request');
      oauthError(await raw('{"grant_type":"client_credentials"}', { 'Content-Type': 'application/json' }), 400, 'invalid_request');
      oauthError(await raw('grant_type=client_credentials', { 'Content-Type': `${FORM}; charset=bogus` }), 415);
      oauthError(await send(s.url, 'POST', '/oauth/token'), 400, 'invalid_request');
      oauthError(await send(s.url, 'GET', '/oauth/token'), 405);
      oauthError(await send(s.url, 'PUT', '/oauth/revoke', { 'Content-Type': FORM }, 'x=1'), 405);
      oauthError(await send(s.url, 'GET', '/oauth/nothing-here'), 404);
      oauthError(await send(s.url, 'POST', '/oauth/revoke', { 'Content-Type': FORM }, form({ ...auth, token: 'x', token_type_hint: 'id_token' })), 400, 'unsupported_token_type');
    });

    test('broken HTTP Basic credentials are invalid_client', async () => {
      const c = await secretClient();
      const withBasic = (value: string) => token({ grant_type: 'client_credentials' }, { Authorization: value });
      for (const value of [
        'Basic !!!not-base64!!!',
        `Basic ${Buffer.from('no-colon').toString('base64')}`,
        `Basic ${Buffer.from('%zz:%E0%A4').toString('base64')}`,
        `Basic ${Buffer.from('%ED%A0%80:x').toString('base64')}`, // a lone surrogate
        `Basic ${'A'.repeat(15_000)}`,
        basic("x' OR '1'='1", "x' OR '1'='1"),
        basic('ünïcödé-😀', 'x'),
        basic(c.id, 'wrong'),
      ]) oauthError(await withBasic(value), 401, 'invalid_client');
      oauthError(await token({ grant_type: 'client_credentials', client_secret: c.secret }, { Authorization: basic(c.id, c.secret) }), 400, 'invalid_request');
    });

    test('client assertions that are not JWTs, unsigned, HMAC-signed with the public key, or keyed elsewhere (jku, x5u, jwk) are refused', async () => {
      const { privateKey } = await keys;
      const attacker = await attackerKeys;
      const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'k1', alg: 'RS256' };
      type Fed = Awaited<ReturnType<typeof federated>>;
      const exp = () => Math.floor(Date.now() / 1000) + 600;
      const signed = (f: Fed, header: Record<string, unknown>, key = privateKey) =>
        new SignJWT(f.claims()).setProtectedHeader({ alg: 'RS256', kid: 'k1', ...header }).setExpirationTime('10m').sign(key);
      const hs256 = (f: Fed) => {
        const head = b64({ alg: 'HS256', kid: 'k1' });
        const body = b64({ ...f.claims(), exp: exp() });
        return `${head}.${body}.${createHmac('sha256', JSON.stringify(attackerJwk)).update(`${head}.${body}`).digest('base64url')}`;
      };
      const attacks: ((f: Fed) => string | Promise<string>)[] = [
        () => 'not-a-jwt', () => 'a.b.c.d.e', () => '!!.@@.##', () => 'x'.repeat(16_000),
        (f) => `${b64({ alg: 'none' })}.${b64({ ...f.claims(), exp: exp() })}.`,
        hs256,
        (f) => signed(f, { jku: `${jwksUrl}/attacker` }, attacker.privateKey),
        (f) => signed(f, { x5u: `${jwksUrl}/attacker` }, attacker.privateKey),
        (f) => signed(f, { jwk: attackerJwk }, attacker.privateKey),
        (f) => signed(f, { kid: 'unknown' }),
      ];
      for (const attack of attacks) {
        const f = await federated('/keys'); // a client each: the per-client_id throttle would refuse the tenth failure
        oauthError(await assertion(f.id, await attack(f)), 401, 'invalid_client');
        oauthError(await assertion(undefined, await attack(f)), 401, 'invalid_client');
      }
      const f = await federated('/keys');
      const ok = await assertion(f.id, await signed(f, {}));
      assert.equal(ok.status, 200, ok.text);
      secrets.push(ok.body.access_token);
    });

    // The guard: an unbounded JWKS fetch would hang this test.
    test('a JWKS URL that never answers, is not JSON or redirects refuses the assertion within the fetch timeout, and is not asked again at once', { timeout: 30_000 }, async () => {
      const { privateKey } = await keys;
      for (const path of ['/silent', '/html', '/redirect']) {
        const f = await federated(path);
        const sign = () => new SignJWT(f.claims()).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('10m').sign(privateKey);
        const answers = await Promise.all([1, 2, 3].map(async () => assertion(f.id, await sign())));
        for (const a of answers) oauthError(a, 401, 'invalid_client');
        oauthError(await assertion(f.id, await sign()), 401, 'invalid_client');
        assert.equal(jwksHits.get(path), 1, `${path} fetched ${jwksHits.get(path)} times`);
      }
      assert.equal(jwksHits.get('/attacker'), undefined);
    });

    test('redirect_uri tricks at /oauth/authorize are shown to the browser, never followed; only a registered URI gets error redirects', async () => {
      const c = await secretClient({ redirectUris: [REDIRECT, 'http://localhost:9999/cb'] });
      const authorize = (p: Record<string, string>, accept = 'text/html') => send(s.url, 'GET', `/oauth/authorize?${form({ client_id: c.id, response_type: 'code', ...p })}`, { Accept: accept });
      for (const uri of [
        `${REDIRECT}/`, `${REDIRECT}x`, 'https://okta.example/c', 'https://okta.example:444/cb', `${REDIRECT}?a=1`, `${REDIRECT}#x`, `${REDIRECT}%23x`,
        'javascript:alert(1)//', 'https://okta.example@evil.example/cb', 'https://evil.example/cb', '//evil.example/cb', 'https://okta.example\\@evil.example/cb',
        'HTTPS://OKTA.EXAMPLE/cb', 'https://okta.example/%63b', 'http://localhost:9998/cb', 'http://127.0.0.1:9999/cb',
      ]) {
        shownToBrowser(await authorize({ redirect_uri: uri }));
        oauthError(await authorize({ redirect_uri: uri }, 'application/json'), 400, 'invalid_request');
      }
      // With two registered, one must be named; an unknown client is shown, whatever redirect_uri it names.
      shownToBrowser(await authorize({}));
      shownToBrowser(await send(s.url, 'GET', `/oauth/authorize?${form({ client_id: randomUUID(), response_type: 'code', redirect_uri: 'https://evil.example/' })}`, { Accept: 'text/html' }));
      oauthError(await send(s.url, 'GET', `/oauth/authorize?client_id=${c.id}&client_id=${c.id}`), 400, 'invalid_request');
      // Faults after the redirect URI is trusted go back to it, and only to it.
      const back = await authorize({ redirect_uri: REDIRECT, response_type: 'token', state: 's1' });
      assert.equal(back.status, 302);
      const to = new URL(back.headers.location);
      assert.equal(`${to.origin}${to.pathname}`, REDIRECT);
      assert.equal(to.searchParams.get('error'), 'unsupported_response_type');
      assert.equal(to.searchParams.get('state'), 's1');
      oauthError(await send(s.url, 'DELETE', '/oauth/authorize'), 405);
    });

    /** The consent page for a request: its form fields and the browser's cookie. */
    async function consentPage(clientId: string, p: Record<string, string> = {}) {
      const r = await send(s.url, 'GET', `/oauth/authorize?${form({ client_id: clientId, response_type: 'code', redirect_uri: REDIRECT, ...p })}`, { Accept: 'text/html' });
      assert.equal(r.status, 200, r.text);
      const consent = /name="consent" value="([^"]+)"/.exec(r.text)![1]!;
      const csrf = /name="csrf" value="([^"]+)"/.exec(r.text)![1]!;
      secrets.push(csrf);
      const cookie = String(r.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
      return { page: r, consent, csrf, cookie };
    }
    const answer = (p: { consent: string; csrf: string; cookie?: string }, fields: Record<string, string>) =>
      send(s.url, 'POST', '/oauth/authorize', { 'Content-Type': FORM, Accept: 'text/html', ...(p.cookie ? { Cookie: p.cookie } : {}) }, form({ consent: p.consent, csrf: p.csrf, ...fields }));

    test('the consent page escapes the client name, state and redirect URI, and its policy allows no script and no framing', async () => {
      const xss = `<script>alert(1)</script>"'&<img src=x onerror=alert(2)>`;
      const weird = `https://okta.example/cb?x="><b>y</b>`;
      const c = await secretClient({ name: xss, redirectUris: [REDIRECT, weird] });
      const { page } = await consentPage(c.id, { redirect_uri: weird, state: `"><script>alert(3)</script>` });
      for (const raw of ['<script', '<img', '<b>', 'alert(3)']) assert.ok(!page.text.includes(raw), `${raw} in the page`);
      assert.ok(page.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;'), 'the client name is shown escaped');
      const csp = String(page.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /script-src|unsafe-inline/);
      assert.match(csp, /form-action 'self' https:\/\/okta\.example(;|$)/);
      assert.match(String(page.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
      assert.equal(page.headers['cache-control'], 'no-store');
    });

    test('the consent form refuses cross-site posts, another browser\'s CSRF value, a non-admin credential and a second answer', async () => {
      const c = await secretClient({ redirectUris: [REDIRECT] });
      const p = await consentPage(c.id, { state: 'st' });
      const other = await consentPage(c.id);
      shownToBrowser(await answer({ consent: p.consent, csrf: p.csrf }, { decision: 'approve', credential: s.adminToken }), 403);
      shownToBrowser(await answer({ consent: p.consent, csrf: other.csrf, cookie: other.cookie }, { decision: 'approve', credential: s.adminToken }));
      oauthError(await send(s.url, 'POST', '/oauth/authorize', { 'Content-Type': FORM, Cookie: 'oauth_consent=%zz; ;;=' }, form({ consent: p.consent, csrf: '%zz' })), 400, 'invalid_request');
      oauthError(await send(s.url, 'POST', '/oauth/authorize', { 'Content-Type': 'application/json', Cookie: p.cookie }, '{}'), 400, 'invalid_request');
      for (const credential of [s.token, 'not-a-token', `Bearer ${s.adminToken}`]) {
        const r = await answer(p, { decision: 'approve', credential });
        assert.equal(r.status, 401, r.text);
        assert.equal(r.headers.location, undefined);
      }
      assert.equal((await answer(p, { decision: '<script>', credential: s.adminToken })).status, 400);
      const approved = await answer(p, { decision: 'approve', credential: s.adminToken });
      assert.equal(approved.status, 303, approved.text);
      const code = new URL(approved.headers.location).searchParams.get('code')!;
      secrets.push(code);
      shownToBrowser(await answer(p, { decision: 'approve', credential: s.adminToken }));
      shownToBrowser(await answer(p, { decision: 'deny' }));
      const tokens = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, { Authorization: basic(c.id, c.secret) });
      assert.equal(tokens.status, 200, tokens.text);
      secrets.push(tokens.body.access_token, tokens.body.refresh_token);
      // The code is spent; its refresh token, the code and the client secret are no SCIM credentials, raw or Bearer.
      oauthError(await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, { Authorization: basic(c.id, c.secret) }), 400, 'invalid_grant');
      for (const value of [tokens.body.refresh_token, code, c.secret]) {
        assert.equal(await scimStatus(s, value), 401);
        assert.equal(await scimStatus(s, `Bearer ${value}`), 401);
      }
    });

    test('the raw Authorization header (Okta) is a bearer token on SCIM only, and a scheme it does not know is not one', async () => {
      const c = await secretClient();
      const t = await token({ grant_type: 'client_credentials' }, { Authorization: basic(c.id, c.secret) });
      secrets.push(t.body.access_token);
      assert.equal(await scimStatus(s, t.body.access_token), 200);
      assert.equal(await scimStatus(s, s.token), 200);
      for (const value of [`Basic ${t.body.access_token}`, `Token ${s.token}`, 'Bearer', '=', 'x']) assert.equal(await scimStatus(s, value), 401, value);
      assert.equal((await send(s.url, 'GET', '/admin/v1/clients', { Authorization: s.adminToken })).status, 401);
      assert.equal((await send(s.url, 'GET', '/metrics', { Authorization: s.adminToken })).status, 401);
    });

    test('bad secrets sent for a client_id do not lock out its good secret, from the attacker\'s address or another', async () => {
      const c = await secretClient();
      const attacker = nextAddress();
      const asAttacker = (secret: string) => token({ grant_type: 'client_credentials' }, { Authorization: basic(c.id, secret), 'X-Forwarded-For': attacker });
      const statuses = [];
      for (let i = 0; i < 25; i++) statuses.push((await asAttacker(`guess-${i}`)).status);
      assert.ok(statuses.includes(429), statuses.join(','));
      const refused = await asAttacker('guess-again');
      oauthError(refused, 429, 'temporarily_unavailable');
      assert.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After');
      for (const r of [await asAttacker(c.secret), await token({ grant_type: 'client_credentials' }, { Authorization: basic(c.id, c.secret) })]) {
        assert.equal(r.status, 200, r.text);
        secrets.push(r.body.access_token);
      }
    });

    // Fixed: the Basic client_id reached the lookup with its NUL, which PostgreSQL refuses (a 500).
    test('a NUL in the HTTP Basic client_id or secret is invalid_client, not a 500', async () => {
      const c = await secretClient();
      for (const [id, secret] of [['a%00b', 'x'], [`${c.id}%00`, c.secret], [c.id, `${c.secret}%00`]]) {
        oauthError(await token({ grant_type: 'client_credentials' }, { Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` }), 401, 'invalid_client');
      }
      oauthError(await token({ grant_type: 'client_credentials' }, { Authorization: `Basic ${Buffer.from('a\u0000b:x').toString('base64')}` }), 401, 'invalid_client');
    });

    // Fixed: client_id or state with %00 reached the client lookup or the consent row, which PostgreSQL refuses (a 500).
    test('a NUL in an /oauth/authorize parameter is shown as invalid_request, not a 500', async () => {
      const c = await secretClient({ redirectUris: [REDIRECT] });
      for (const query of ['client_id=a%00b&response_type=code', `client_id=${c.id}&response_type=code&state=a%00b`, `client_id=${c.id}&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}%00`]) {
        shownToBrowser(await send(s.url, 'GET', `/oauth/authorize?${query}`, { Accept: 'text/html' }));
        oauthError(await send(s.url, 'GET', `/oauth/authorize?${query}`, { Accept: 'application/json' }), 400, 'invalid_request');
      }
    });

    // Fixed: without client_id the client is looked up by the assertion's unverified iss and sub, NUL and all (a 500 on PostgreSQL).
    test('an assertion without client_id whose iss or sub holds a NUL is invalid_client, not a 500', async () => {
      const { privateKey } = await keys;
      for (const claims of [{ iss: 'https://issuer.example/\u0000', sub: 'x' }, { iss: 'https://issuer.example/', sub: 'x\u0000' }]) {
        const value = await new SignJWT({ ...claims, aud: 'api://scim' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('10m').sign(privateKey);
        oauthError(await assertion(undefined, value), 401, 'invalid_client');
      }
    });

    /** A code for `c` approved on the consent page, and the tokens it gives. */
    async function codeGrant(c: { id: string; secret: string }) {
      const p = await consentPage(c.id);
      const approved = await answer(p, { decision: 'approve', credential: s.adminToken });
      const code = new URL(approved.headers.location).searchParams.get('code')!;
      secrets.push(code);
      return code;
    }
    /** Every answer 4xx or 200; the tokens of each 200 no longer work (the replay revoked their grant). */
    async function replayRevokedAll(c: { id: string; secret: string }, answers: Reply[]) {
      assert.deepEqual(answers.filter((a) => a.status >= 500).map((a) => a.text), []);
      const won = answers.filter((a) => a.status === 200);
      assert.equal(won.length, 1, answers.map((a) => a.status).join(','));
      for (const w of won) {
        secrets.push(w.body.access_token, w.body.refresh_token);
        assert.equal(await scimStatus(s2, `Bearer ${w.body.access_token}`), 401);
        oauthError(await token({ grant_type: 'refresh_token', refresh_token: w.body.refresh_token }, { Authorization: basic(c.id, c.secret) }), 400, 'invalid_grant');
      }
    }

    // Fixed (PostgreSQL): the winner of a concurrent spend issued its tokens in a later transaction than the spend, so a
    // loser's grant revocation could run first and the winner's tokens lived on; losers also deadlocked (500).
    test('concurrent replays of a refresh token or a code on two instances leave no token of the grant alive', async () => {
      const c = await secretClient({ redirectUris: [REDIRECT] });
      const auth = { Authorization: basic(c.id, c.secret) };
      for (let round = 0; round < 8; round++) {
        const first = await token({ grant_type: 'authorization_code', code: await codeGrant(c), redirect_uri: REDIRECT }, auth);
        assert.equal(first.status, 200, first.text);
        secrets.push(first.body.access_token, first.body.refresh_token);
        const refresh = { grant_type: 'refresh_token', refresh_token: first.body.refresh_token };
        await replayRevokedAll(c, await Promise.all([s, s2, s, s2].map((server) => token(refresh, auth, server))));
      }
      for (let round = 0; round < 8; round++) {
        const exchange = { grant_type: 'authorization_code', code: await codeGrant(c), redirect_uri: REDIRECT };
        await replayRevokedAll(c, await Promise.all([s, s2, s, s2].map((server) => token(exchange, auth, server))));
      }
    });

    // Fixed (PostgreSQL): the revocation revoked the tokens committed so far; requests that had passed the secret
    // check committed theirs a moment later, and those lived on (most of them, in eight-request races).
    test('revoking a secret with its tokens while requests use it leaves none of their tokens alive', async () => {
      for (let round = 0; round < 5; round++) {
        const c = await secretClient(); // a client each round: its refused requests count against its client_id
        const added = await send(s.url, 'POST', `/admin/v1/clients/${c.id}/secrets`, { Authorization: `Bearer ${s.adminToken}`, 'Content-Type': 'application/json' }, '{}');
        assert.equal(added.status, 201, added.text);
        secrets.push(added.body.value);
        const requests = [s, s2, s, s2, s, s2, s, s2].map((server) => token({ grant_type: 'client_credentials' }, { Authorization: basic(c.id, added.body.value) }, server));
        const revoked = await send(s.url, 'DELETE', `/admin/v1/clients/${c.id}/secrets/${added.body.id}?tokens=true`, { Authorization: `Bearer ${s.adminToken}` });
        assert.equal(revoked.status, 200, revoked.text);
        for (const r of await Promise.all(requests)) {
          if (r.status !== 200) { oauthError(r, 401, 'invalid_client'); continue; }
          secrets.push(r.body.access_token);
          assert.equal(await scimStatus(s2, `Bearer ${r.body.access_token}`), 401);
        }
      }
    });

    // Fixed: pending requests were deleted only by the sweep after token requests, 500 a minute, so unauthenticated
    // GETs of the consent page could grow the table without end.
    test('each new consent page deletes expired pending requests, so a flood of them cannot pile up', async () => {
      const c = await secretClient({ redirectUris: [REDIRECT] });
      for (let i = 0; i < 30; i++) await consentPage(c.id);
      const k = connect(db.url);
      try {
        assert.equal(await k('oauth_consents').where({ client_id: c.id }).update({ expires_at: 1 }), 30);
        for (let i = 0; i < 30; i++) await consentPage(c.id);
        assert.deepEqual(await k('oauth_consents').where('expires_at', '<', Date.now()).select('id'), []);
      } finally {
        await k.destroy();
      }
    });

    // Fixed: Express answered HEAD with the GET handler, which stored a pending consent each time.
    test('HEAD /oauth/authorize is 405 and stores no pending request', async () => {
      const c = await secretClient({ redirectUris: [REDIRECT] });
      const r = await send(s.url, 'HEAD', `/oauth/authorize?response_type=code&client_id=${c.id}&redirect_uri=${encodeURIComponent(REDIRECT)}`, {});
      assert.equal(r.status, 405);
      assert.equal(r.headers['allow'], 'GET, POST');
      const k = connect(db.url);
      try {
        assert.deepEqual(await k('oauth_consents').where({ client_id: c.id }).select('id'), []);
      } finally {
        await k.destroy();
      }
    });

    // Fixed: revoking a refresh token left the access token of its grant working until it expired.
    test('a client revoking its refresh token (RFC 7009) ends the access token of the same grant; another client cannot revoke it', async () => {
      const c = await secretClient({ redirectUris: [REDIRECT] });
      const other = await secretClient();
      const t = await token({ grant_type: 'authorization_code', code: await codeGrant(c), redirect_uri: REDIRECT }, { Authorization: basic(c.id, c.secret) });
      assert.equal(t.status, 200, t.text);
      secrets.push(t.body.access_token, t.body.refresh_token);
      const revoke = (who: { id: string; secret: string }) => send(s.url, 'POST', '/oauth/revoke', { 'Content-Type': FORM, Authorization: basic(who.id, who.secret) }, form({ token: t.body.refresh_token, token_type_hint: 'refresh_token' }));
      assert.equal((await revoke(other)).status, 200); // RFC 7009 §2.2: no error for a token that is not the client's
      assert.equal(await scimStatus(s2, `Bearer ${t.body.access_token}`), 200); // s2 now trusts it for a second (http/auth.ts); s does not
      assert.equal((await revoke(c)).status, 200);
      assert.equal(await scimStatus(s, `Bearer ${t.body.access_token}`), 401);
      oauthError(await token({ grant_type: 'refresh_token', refresh_token: t.body.refresh_token }, { Authorization: basic(c.id, c.secret) }), 400, 'invalid_grant');
    });

    // Fixed: the throttle's warning logged the client_id as sent, which with id and secret swapped is the secret.
    test('a client secret sent as the client_id (id and secret swapped in the IdP) is not logged when the throttle engages', async () => {
      const c = await secretClient();
      const from = nextAddress();
      for (const basicAuth of [true, false]) {
        for (let i = 0; i < 11; i++) {
          const params = { grant_type: 'client_credentials', ...(basicAuth ? {} : { client_id: c.secret, client_secret: c.id }) };
          const r = await token(params, { 'X-Forwarded-For': from, ...(basicAuth ? { Authorization: basic(c.secret, c.id) } : {}) });
          assert.ok(r.status === 401 || r.status === 429, r.text);
        }
      }
      assert.match(s.output(), /token endpoint throttle engaged/);
      assert.ok(!s.output().includes(c.secret), 'the secret is in the log');
    });

    test('nothing secret reached the log, and nothing answered 5xx', () => {
      const logs = s.output() + s2.output();
      for (const value of secrets) if (value?.length >= 16) assert.ok(!logs.includes(value), `a secret value is in the log: ${value.slice(0, 8)}...`);
      for (const value of secrets) for (const part of value.split('.')) if (part.length > 40) assert.ok(!logs.includes(part), 'part of an assertion is in the log');
      const errors = logs.split('\n').filter((l) => /"level":"error"/.test(l));
      assert.deepEqual(errors, []);
    });
  });
}
