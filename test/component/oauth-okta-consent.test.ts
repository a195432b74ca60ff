/**
 * The consent page of Okta's "OAuth 2" mode defends itself: a form post from elsewhere (no cookie, or a cookie and
 * form that disagree, or a form for another pending request) is refused without a redirect; only an admin-scope
 * credential approves; a request is answered once; guessing admin tokens on it meets the failed-auth guard shared
 * with the bearer APIs. Then the races RFC 6749 §4.1.2 and RFC 9700 §4.14.2 are about: one code or one refresh token
 * presented ten times at once is honoured once, and the replays revoke what the one success got.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { scim } from '../helpers/oauth.ts';
import { approve, connectOkta, exchangeCode, openAuthorize, pkce, REDIRECT, refresh, registerOkta, submitConsent, type OktaClient, type Page } from '../helpers/okta.ts';

/** The failed-auth guard of src/http/app.ts (`new FailureGuard()`: 20 failures a minute per address, auth.ts). */
const GUARD_LIMIT = 20;

function useOktaServer(store: Parameters<typeof createDatabase>[0]): { s: TestServer } {
  const env = {} as { s: TestServer; db: TestDatabase };
  before(async () => {
    env.db = await createDatabase(store);
    env.s = await startServer(store, env.db);
  });
  after(async () => {
    await env.s?.stop();
    await env.db?.drop();
  });
  return env;
}

const open = (s: TestServer, c: OktaClient, state = 'st') =>
  openAuthorize(s, { response_type: 'code', client_id: c.id, redirect_uri: REDIRECT, state, code_challenge: pkce().challenge, code_challenge_method: 'S256' });

/** Refused on the page itself: no redirect, so no code (or error) reaches the client. */
function refusedOnPage(p: Page, status: number): void {
  assert.equal(p.status, status, p.html);
  assert.equal(p.location, null);
  assert.match(p.headers.get('content-type') ?? '', /^text\/html/);
  assert.doesNotMatch(p.html, /oac_/);
}

for (const store of stores()) {
  describe(`Okta consent page [${store}]`, () => {
    const env = useOktaServer(store);
    let c: OktaClient;
    before(async () => {
      c = await registerOkta(env.s, 'okta-consent');
    });

    test('a post without the cookie is 403 (an HTML page for a browser, RFC 6749 JSON otherwise), never a redirect', async () => {
      const p = await open(env.s, c);
      const fields = { consent: p.consent, csrf: p.csrf, credential: env.s.adminToken, decision: 'approve' };
      refusedOnPage(await submitConsent(env.s, fields), 403);
      const json = await submitConsent(env.s, fields, undefined, 'application/json');
      assert.equal(json.status, 403);
      assert.equal(json.location, null);
      assert.equal(JSON.parse(json.html).error, 'access_denied');
      // The request is still pending: the browser that holds the cookie can answer it.
      assert.equal((await submitConsent(env.s, fields, p.cookie)).status, 303);
    });

    test('a cookie and a csrf field that differ are 403', async () => {
      const p1 = await open(env.s, c);
      const p2 = await open(env.s, c);
      refusedOnPage(await submitConsent(env.s, { consent: p2.consent, csrf: p2.csrf, credential: env.s.adminToken, decision: 'approve' }, p1.cookie), 403);
      refusedOnPage(await submitConsent(env.s, { consent: p1.consent, csrf: `${p1.csrf}x`, credential: env.s.adminToken, decision: 'approve' }, p1.cookie), 403);
    });

    test('a csrf that matches the cookie but not the pending request is refused', async () => {
      const p1 = await open(env.s, c);
      const p2 = await open(env.s, c);
      // The attacker's own page gives a cookie and csrf that agree; the consent id is the victim's.
      refusedOnPage(await submitConsent(env.s, { consent: p1.consent, csrf: p2.csrf, credential: env.s.adminToken, decision: 'approve' }, p2.cookie), 400);
      assert.equal((await submitConsent(env.s, { consent: p1.consent, csrf: p1.csrf, credential: env.s.adminToken, decision: 'approve' }, p1.cookie)).status, 303);
    });

    test('a valid credential without the admin scope, or a wrong one, is a 401 page and no code; the request stays open', async () => {
      const p = await open(env.s, c);
      for (const credential of [env.s.token, `admin_${'x'.repeat(43)}`]) {
        const r = await submitConsent(env.s, { consent: p.consent, csrf: p.csrf, credential, decision: 'approve' }, p.cookie);
        refusedOnPage(r, 401);
        assert.match(r.html, /role="alert"/);
        assert.equal(r.consent, p.consent, 'the page is shown again to retry');
      }
      assert.equal((await submitConsent(env.s, { consent: p.consent, csrf: p.csrf, credential: env.s.adminToken, decision: 'approve' }, p.cookie)).status, 303);
    });

    test('a request is answered once: a second approval, or a denial after it, is refused', async () => {
      const p = await open(env.s, c);
      const fields = { consent: p.consent, csrf: p.csrf, credential: env.s.adminToken, decision: 'approve' };
      const first = await submitConsent(env.s, fields, p.cookie);
      assert.equal(first.status, 303);
      assert.match(first.setCookie, /^oauth_consent=;/, 'the cookie is cleared');
      refusedOnPage(await submitConsent(env.s, fields, p.cookie), 400);
      refusedOnPage(await submitConsent(env.s, { ...fields, decision: 'deny' }, p.cookie), 400);
    });
  });

  describe(`Okta consent page: failed-auth guard [${store}]`, () => {
    const env = useOktaServer(store);

    test(`after ${GUARD_LIMIT} wrong admin tokens from one address the page answers 429; a right one still approves`, async () => {
      const c = await registerOkta(env.s, 'okta-guard');
      const p = await open(env.s, c);
      const attempt = (credential: string) => submitConsent(env.s, { consent: p.consent, csrf: p.csrf, credential, decision: 'approve' }, p.cookie);
      for (let i = 0; i < GUARD_LIMIT; i++) refusedOnPage(await attempt(`admin_wrong_${i}`), 401);
      const blocked = await attempt('admin_wrong_last');
      refusedOnPage(blocked, 429);
      assert.ok(Number(blocked.headers.get('retry-after')) > 0);
      // One guard per address: the bearer APIs refuse this address's bad tokens too...
      assert.equal((await scim(env.s, 'Bearer scim_wrong', 'GET', '/Users')).status, 429);
      // ...and a valid credential is checked before the guard, so the admin still gets through.
      const ok = await attempt(env.s.adminToken);
      assert.equal(ok.status, 303, ok.html);
      assert.ok(new URL(ok.location!).searchParams.get('code'));
    });
  });

  describe(`Okta races: one code, one refresh token, ten requests at once [${store}]`, () => {
    const env = useOktaServer(store);
    let c: OktaClient;
    before(async () => {
      c = await registerOkta(env.s, 'okta-race');
    });

    /** Ten at once: exactly one 200, nine invalid_grant; the winner's body. */
    async function race(send: () => Promise<{ status: number; body: any; text: string }>): Promise<any> {
      const answers = await Promise.all(Array.from({ length: 10 }, send));
      const winners = answers.filter((a) => a.status === 200);
      assert.equal(winners.length, 1, answers.map((a) => `${a.status} ${a.text}`).join('\n'));
      for (const a of answers) if (a.status !== 200) assert.equal(a.body?.error, 'invalid_grant', a.text);
      return winners[0]!.body;
    }

    for (let round = 1; round <= 5; round++) {
      test(`round ${round}: one code exchanged ten times at once is honoured once, and the replays revoke its tokens`, async () => {
        const a = await approve(env.s, c);
        const won = await race(() => exchangeCode(env.s, c, a.code, a.verifier));
        // RFC 6749 §4.1.2: the nine replays came after the winner, so what it was issued is revoked.
        const after = await refresh(env.s, c, won.refresh_token);
        assert.equal(after.body?.error, 'invalid_grant', after.text);
      });

      test(`round ${round}: one refresh token spent ten times at once is honoured once, and the replays revoke the grant`, async () => {
        const t = await connectOkta(env.s, c);
        const won = await race(() => refresh(env.s, c, t.refresh));
        const after = await refresh(env.s, c, won.refresh_token);
        assert.equal(after.body?.error, 'invalid_grant', after.text);
      });
    }
  });
}
