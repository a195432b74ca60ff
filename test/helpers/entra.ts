/**
 * Entra ID workload identity federation for component tests: an issuer's JWKS endpoint on 127.0.0.1 (node:http, the
 * same approach as test/unit/client-assertion.test.ts) and assertions shaped like Entra's (RS256 with a kid; iss
 * https://login.microsoftonline.com/<tenant>/v2.0, sub = the app's object id, aud = api://<app id>, tid, oid, appid,
 * iat, nbf, exp about 65 minutes on), sent to /oauth/token as Entra sends them (RFC 7523 §2.2).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { tokenRequest, type Answer } from './oauth.ts';
import type { TestServer } from './server.ts';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface SigningKey { kid: string; privateKey: CryptoKey; jwk: JWK }

export async function signingKey(kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** A JWKS endpoint whose key list can change (rotation) and which can be closed (an outage); counts its requests. */
export async function jwksServer(keys: SigningKey[]) {
  let served = keys.map((k) => k.jwk);
  let requests = 0;
  const s = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/discovery/v2.0/keys`,
    serve: (next: SigningKey[]) => { served = next.map((k) => k.jwk); },
    get requests() { return requests; },
    close: () => new Promise<void>((r) => { if (!s.listening) return r(); s.closeAllConnections(); s.close(() => r()); }),
  };
}

/** One Entra app as an admin registers it: a fake tenant (issuer of that shape), an object id and an app id. */
export interface EntraApp { tenant: string; issuer: string; subject: string; audience: string; appId: string; jwksUrl: string }

export function entraApp(jwksUrl: string, tenant = randomUUID()): EntraApp {
  const appId = randomUUID();
  return { tenant, issuer: `https://login.microsoftonline.com/${tenant}/v2.0`, subject: randomUUID(), audience: `api://${appId}`, appId, jwksUrl };
}

export const federation = (a: EntraApp) => ({ issuer: a.issuer, subject: a.subject, audience: a.audience, jwksUrl: a.jwksUrl });

const now = () => Math.floor(Date.now() / 1000);

/** An assertion for `app` signed by `key`; `over` sets claims or (undefined) removes them, e.g. `{ jti: undefined }`. */
export async function assertion(app: EntraApp, key: SigningKey, over: Record<string, unknown> = {}): Promise<string> {
  const t = now();
  const c: Record<string, unknown> = {
    iss: app.issuer, sub: app.subject, aud: app.audience, tid: app.tenant, oid: app.subject, appid: app.appId,
    iat: t, nbf: t, exp: t + 3900, jti: randomUUID(), ...over,
  };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return new SignJWT(c).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

/** Entra's token request: client credentials with a client assertion; `extra` adds or (undefined) drops parameters. */
export function assertionRequest(s: TestServer, clientId: string | undefined, jwt: string, extra: Record<string, string | undefined> = {}): Promise<Answer> {
  const p: Record<string, string | undefined> = {
    grant_type: 'client_credentials', client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: jwt, scope: 'scim', ...extra,
  };
  return tokenRequest(s, Object.fromEntries(Object.entries(p).filter((e): e is [string, string] => e[1] !== undefined)));
}
