/**
 * RFC 7523 §2.2 client assertions as Entra ID sends them for workload identity federation, verified against a JWKS
 * served from 127.0.0.1: the claims are compared with the client's registered values, only asymmetric signatures
 * count, and the keys follow Microsoft's rules — refetch on an unknown kid, and while the JWKS endpoint is down keep
 * using the cached keys (for maxStaleMs) and fail only unknown kids.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { AssertionVerifier, checkJwksUrl, JWT_BEARER, type AssertionResult, type FederatedClient } from '../../src/oauth/assertion.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const SUBJECT = '3e4c2a9d-5b7f-4d1e-9a6c-0f8b2d1c7e55';
const AUDIENCE = 'api://9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d';

interface Key { kid: string; privateKey: CryptoKey; jwk: JWK }
async function key(kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}
const [keyA, keyB, intruder] = await Promise.all([key('kid-a'), key('kid-b'), key('kid-a')]);

type Mode = 'up' | '503' | 'hang' | 'huge';
async function jwksServer(keys: Key[]) {
  let served = keys.map((k) => k.jwk);
  let mode: Mode = 'up';
  let requests = 0;
  const s = createServer((_req, res) => {
    requests++;
    if (mode === 'hang') return;
    if (mode === '503') { res.writeHead(503, { 'Content-Type': 'text/plain' }); res.end('unavailable\n'); return; }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    // 'huge': a valid JWKS padded past the verifier's 256 KB bound, sent chunked (no Content-Length to refuse it by).
    if (mode === 'huge') { res.write(`{"pad":"${'x'.repeat(300 * 1024)}",`); res.end(`"keys":${JSON.stringify(served)}}`); return; }
    res.end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/discovery/v2.0/keys`,
    serve: (next: Key[]) => { served = next.map((k) => k.jwk); },
    set mode(m: Mode) { mode = m; },
    get requests() { return requests; },
    close: () => new Promise<void>((r) => { if (!s.listening) return r(); s.closeAllConnections(); s.close(() => r()); }),
  };
}

const now = () => Math.floor(Date.now() / 1000);
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const claims = (over: Record<string, unknown> = {}) => {
  const c: Record<string, unknown> = { aud: AUDIENCE, iss: ISSUER, sub: SUBJECT, tid: TENANT, iat: now(), nbf: now(), exp: now() + 3900, jti: 'a8c1f0e2', ...over };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
};
/** An Entra-shaped assertion (RS256, kid, ≈65 min lifetime); `over` sets or (with undefined) removes claims. */
const sign = (k: Key, over: Record<string, unknown> = {}) =>
  new SignJWT(claims(over)).setProtectedHeader({ alg: 'RS256', kid: k.kid, typ: 'JWT' }).sign(k.privateKey);

const shared = await jwksServer([keyA]);
after(() => shared.close());
const client = (jwksUrl = shared.url): FederatedClient => ({ id: 'entra-wif', issuer: ISSUER, subject: SUBJECT, audience: AUDIENCE, jwksUrl });

function refused(r: AssertionResult, reason: string) {
  assert.equal(r.ok, false, `expected a refusal (${reason}), got ${JSON.stringify(r)}`);
  if (!r.ok) assert.equal(r.reason, reason, `log: ${r.log}`);
  return r as Extract<AssertionResult, { ok: false }>;
}

test('a valid Entra-style assertion verifies: jti, expiresAt from exp, the verified iss/sub and tid', async () => {
  const exp = now() + 3900;
  const r = await new AssertionVerifier().verify(client(), await sign(keyA, { exp }));
  assert.deepEqual(r, { ok: true, jti: 'a8c1f0e2', expiresAt: exp * 1000, claims: { iss: ISSUER, sub: SUBJECT, tid: TENANT } });
  assert.equal(JWT_BEARER, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
});

test('an assertion without jti (Azure writes uti) verifies with jti undefined; an audience array containing ours is accepted', async () => {
  const r = await new AssertionVerifier().verify(client(), await sign(keyA, { jti: undefined, uti: 'x1y2', aud: ['api://other', AUDIENCE] }));
  assert.equal(r.ok, true, JSON.stringify(r));
  if (r.ok) assert.equal(r.jti, undefined);
});

for (const [claim, value, reason] of [
  ['iss', `https://login.microsoftonline.com/${'0'.repeat(8)}-0000-0000-0000-000000000000/v2.0`, 'the assertion issuer does not match the client'],
  ['aud', 'api://someone-else', 'the assertion audience does not match the client'],
  ['sub', 'entra-wif', 'the assertion subject does not match the client'], // RFC 7523's sub = client_id is not what Entra sends
] as const) {
  test(`a signed assertion with the wrong ${claim} is refused: "${reason}"`, async () => {
    const r = refused(await new AssertionVerifier().verify(client(), await sign(keyA, { [claim]: value })), reason);
    assert.match(r.log, new RegExp(`ERR_JWT_CLAIM_VALIDATION_FAILED.*\\[${claim} check_failed\\]`));
  });
}

test('expiry: past exp is refused beyond the clock tolerance, accepted within it', async () => {
  const v = new AssertionVerifier({ clockToleranceS: 120 });
  refused(await v.verify(client(), await sign(keyA, { exp: now() - 300, nbf: now() - 4000, iat: now() - 4000 })), 'the assertion has expired');
  assert.equal((await v.verify(client(), await sign(keyA, { exp: now() - 60 }))).ok, true, 'exp 60 s ago is within the 120 s tolerance');
});

test('nbf or iat in the future is refused', async () => {
  const v = new AssertionVerifier();
  refused(await v.verify(client(), await sign(keyA, { nbf: now() + 600 })), 'the assertion is not valid yet');
  refused(await v.verify(client(), await sign(keyA, { iat: now() + 600 })), 'the assertion was issued in the future');
  assert.equal((await v.verify(client(), await sign(keyA, { nbf: now() + 60, iat: now() + 60 }))).ok, true, '60 s of skew is tolerated');
});

test('exp unreasonably far in the future (RFC 7523 §3) or missing is refused', async () => {
  const v = new AssertionVerifier();
  refused(await v.verify(client(), await sign(keyA, { exp: now() + 25 * 3600 })), 'the assertion expires too far in the future');
  refused(await v.verify(client(), await sign(keyA, { exp: undefined })), 'the assertion has no exp claim');
  refused(await new AssertionVerifier({ maxLifetimeS: 3600 }).verify(client(), await sign(keyA)), 'the assertion expires too far in the future');
});

test('unsigned (alg none) and HMAC assertions are refused before any key is fetched', async () => {
  const v = new AssertionVerifier();
  const before = shared.requests;
  const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`;
  const r = refused(await v.verify(client(), none), 'the assertion must be signed with an asymmetric algorithm (RS256, PS256, ES256, EdDSA, ...)');
  assert.match(r.log, /ERR_JOSE_ALG_NOT_ALLOWED/);
  const hs = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'kid-a' }).sign(new TextEncoder().encode('s'.repeat(32)));
  refused(await v.verify(client(), hs), 'the assertion must be signed with an asymmetric algorithm (RS256, PS256, ES256, EdDSA, ...)');
  assert.equal(shared.requests, before, 'no JWKS fetch for an assertion that cannot be accepted');
});

test('a tampered payload or signature, or a signature by another key under a known kid, is refused', async () => {
  const v = new AssertionVerifier();
  const [h, p, s] = (await sign(keyA)).split('.');
  const reason = 'the assertion signature is not valid';
  refused(await v.verify(client(), `${h}.${b64url(claims({ exp: now() + 7200 }))}.${s}`), reason);
  const flipped = s!.slice(0, 100) + (s![100] === 'A' ? 'B' : 'A') + s!.slice(101);
  const r = refused(await v.verify(client(), `${h}.${p}.${flipped}`), reason);
  assert.match(r.log, /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  refused(await v.verify(client(), await sign(intruder)), reason);
});

test('text that is not a JWT, or longer than 16 KB, is refused without a fetch', async () => {
  const v = new AssertionVerifier();
  const before = shared.requests;
  refused(await v.verify(client(), 'not-a-jwt'), 'the assertion is not a well-formed signed JWT');
  refused(await v.verify(client(), 'a.b.c'), 'the assertion is not a well-formed signed JWT');
  refused(await v.verify(client(), `${b64url({ alg: 'RS256', kid: 'kid-a' })}.${'A'.repeat(16 * 1024)}.x`), 'the assertion is longer than 16 KB');
  assert.equal(shared.requests, before);
});

test('a client whose JWKS URL is not https (nor loopback http) is refused without a fetch', async () => {
  const r = refused(await new AssertionVerifier().verify(client('http://login.example.com/keys'), await sign(keyA)), "the client's JWKS URL is not acceptable");
  assert.match(r.log, /https/);
});

test('key rotation: an unknown kid is refused during the cooldown, then refetched and accepted', async () => {
  const s = await jwksServer([keyA]);
  try {
    const v = new AssertionVerifier({ cooldownMs: 200 });
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true);
    assert.equal(s.requests, 1);
    s.serve([keyA, keyB]);
    refused(await v.verify(client(s.url), await sign(keyB)), "no key in the JWKS matches the assertion's kid");
    assert.equal(s.requests, 1, 'no refetch within the cooldown');
    await sleep(250);
    const r = await v.verify(client(s.url), await sign(keyB));
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(s.requests, 2, 'the unknown kid caused one refetch');
    s.serve([keyB]);
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true, 'a removed key works until the next fetch (cacheMaxAge)');
  } finally {
    await s.close();
  }
});

test('JWKS endpoint down: cached keys keep working for a known kid, an unknown kid fails, and after maxStaleMs all fail', async () => {
  const s = await jwksServer([keyA]);
  const outages: string[] = [];
  // maxStaleMs leaves room for a loaded machine between the fetch and the checks that cached keys still work.
  const v = new AssertionVerifier({ cacheMaxAgeMs: 100, cooldownMs: 50, maxStaleMs: 2500, onJwksUnreachable: (url, log) => outages.push(`${url} ${log}`) });
  try {
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true);
    // Taken after the fetch: the cache's age counts from when jose stored the keys, which a loaded machine can delay.
    const fetchedAt = Date.now();
    await s.close();
    await sleep(150); // past cacheMaxAge: jose refetches, fails, and would refuse on its own
    const r = await v.verify(client(s.url), await sign(keyA));
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(outages.length, 1, 'the failed fetch was reported');
    assert.match(outages[0]!, /\/discovery\/v2\.0\/keys JWKS fetch failed: .*(ECONNREFUSED|fetch failed)/);
    const unknown = refused(await v.verify(client(s.url), await sign(keyB)), 'the JWKS endpoint is unreachable and no cached key matches');
    assert.doesNotMatch(unknown.log, /eyJ/, 'no token text in the log');
    await sleep(fetchedAt + 2600 - Date.now());
    refused(await v.verify(client(s.url), await sign(keyA)), 'the JWKS endpoint is unreachable and the cached keys are too old');
  } finally {
    await s.close();
  }
});

test('a 503 counts as down; after a failed fetch the endpoint is not asked again within the cooldown', async () => {
  const s = await jwksServer([keyA]);
  try {
    const outages: string[] = [];
    const v = new AssertionVerifier({ cacheMaxAgeMs: 100, cooldownMs: 300, onJwksUnreachable: (_url, log) => outages.push(log) });
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true);
    s.mode = '503';
    await sleep(150);
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true);
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true);
    assert.equal(s.requests, 2, 'one failed fetch, then the cached keys without asking');
    assert.equal(outages.length, 1);
    assert.match(outages[0]!, /ERR_JOSE_GENERIC: Expected 200 OK/);
    refused(await new AssertionVerifier().verify(client(s.url), await sign(keyA)), 'the JWKS endpoint is unreachable and no cached key matches');
    assert.equal(s.requests, 3);
    await sleep(320);
    s.mode = 'up';
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true);
    assert.equal(s.requests, 4, 'after the cooldown the endpoint is asked again');
    assert.equal(outages.length, 1, 'and its answer ended the outage');
  } finally {
    await s.close();
  }
});

test('a JWKS endpoint that does not answer within timeoutMs counts as down', async () => {
  const s = await jwksServer([keyA]);
  try {
    const outages: string[] = [];
    const v = new AssertionVerifier({ cacheMaxAgeMs: 50, timeoutMs: 150, onJwksUnreachable: (_url, log) => outages.push(log) });
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true);
    s.mode = 'hang';
    await sleep(80);
    const t0 = Date.now();
    assert.equal((await v.verify(client(s.url), await sign(keyA))).ok, true);
    assert.ok(Date.now() - t0 >= 140, `waited for the timeout (${Date.now() - t0} ms)`);
    assert.match(outages.join('\n'), /ERR_JWKS_TIMEOUT/);
  } finally {
    await s.close();
  }
});

test('peek reads iss and sub without verifying, and nothing from what is not a JWT', async () => {
  assert.deepEqual(AssertionVerifier.peek(await sign(keyA)), { iss: ISSUER, sub: SUBJECT });
  assert.deepEqual(AssertionVerifier.peek(`${b64url({ alg: 'none' })}.${b64url({ iss: 42, sub: 'x' })}.`), { iss: undefined, sub: 'x' });
  assert.equal(AssertionVerifier.peek('not-a-jwt'), undefined);
  assert.equal(AssertionVerifier.peek(''), undefined);
  assert.equal(AssertionVerifier.peek(`${b64url({ alg: 'RS256' })}.${b64url({ iss: ISSUER, pad: 'x'.repeat(16 * 1024) })}.x`), undefined);
});

test('checkJwksUrl: https, or http only to loopback; no credentials, no fragment', () => {
  for (const ok of ['https://login.microsoftonline.com/common/discovery/v2.0/keys', 'http://127.0.0.1:8080/keys', 'http://localhost/keys', 'http://[::1]:9000/keys']) {
    assert.equal(checkJwksUrl(ok), undefined, ok);
  }
  for (const [bad, why] of [
    ['http://login.microsoftonline.com/keys', /https/],
    ['http://127.0.0.1.example.com/keys', /https/],
    ['ftp://127.0.0.1/keys', /https/],
    ['file:///etc/keys.json', /https/],
    ['https://user:secret@idp.example.com/keys', /credentials/],
    ['https://idp.example.com/keys#kid', /fragment/],
    ['https://idp.example.com/keys#', /fragment/],
    ['/discovery/keys', /absolute/],
  ] as const) {
    assert.match(checkJwksUrl(bad) ?? 'accepted', why, bad);
  }
});

test('tuning values that jose would reject surface when the verifier is made, not per request', () => {
  assert.throws(() => new AssertionVerifier({ timeoutMs: 1.5 }), RangeError);
  assert.throws(() => new AssertionVerifier({ cooldownMs: -1 }), RangeError);
  assert.throws(() => new AssertionVerifier({ maxStaleMs: Number.NaN }), RangeError);
});

test('a JWKS answer larger than 256 KB is not read: the keys in it are not used', async () => {
  const s = await jwksServer([keyA]);
  try {
    s.mode = 'huge';
    refused(await new AssertionVerifier().verify(client(s.url), await sign(keyA)), 'the JWKS endpoint is unreachable and no cached key matches');
    s.mode = 'up';
    assert.equal((await new AssertionVerifier().verify(client(s.url), await sign(keyA))).ok, true, 'the same keys, served small, verify');
  } finally {
    await s.close();
  }
});
