/**
 * Client authentication with a JWT bearer assertion (RFC 7523 §2.2) as Microsoft Entra ID sends it for workload
 * identity federation: Entra signs a JWT with its own keys (RS256, `kid` in the header) and the token endpoint
 * checks it against what an admin registered for the client — issuer, subject, audience and the issuer's JWKS URL.
 *
 * Entra's assertions deviate from RFC 7523 §3: `sub` is an app object id, not our client_id (§3 item 2), and `aud`
 * is the app's identifier URI, not our token endpoint (§3 item 3). So the claims are compared with the client's
 * registered values, never with client_id or the token URL. They carry iat/nbf/exp (about 65 minutes) and may lack
 * `jti` (Azure writes `uti`), so `jti` is reported when present and not required.
 *
 * All JOSE work is jose's: jwtVerify checks the signature first (refusing `none` and HMAC through the allowed
 * algorithms, RFC 8725 §3.1), then the claims; this file only chooses the options, the keys and the words.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwksCache,
  jwtVerify,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';

/** A JWKS is a few keys, a few KB: a larger answer is refused rather than read into memory (jose reads it whole). */
const MAX_JWKS_BYTES = 256 * 1024;

/** fetch for jose that stops reading a JWKS answer past MAX_JWKS_BYTES (a fetch failure, as jose sees it). */
async function boundedFetch(url: string, options: { headers: Headers; method: 'GET'; redirect: 'manual'; signal: AbortSignal }): Promise<Response> {
  const r = await fetch(url, options);
  if (Number(r.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) throw new Error(`JWKS answer larger than ${MAX_JWKS_BYTES} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of r.body ?? []) {
    size += (chunk as Uint8Array).byteLength;
    if (size > MAX_JWKS_BYTES) throw new Error(`JWKS answer larger than ${MAX_JWKS_BYTES} bytes`);
    chunks.push(chunk as Uint8Array);
  }
  return new Response(Buffer.concat(chunks), { status: r.status, statusText: r.statusText, headers: r.headers });
}

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface FederatedClient { id: string; issuer: string; subject: string; audience: string; jwksUrl: string }

export interface AssertionTuning {
  cacheMaxAgeMs?: number;   // how long fetched keys are considered fresh (default 10 min); after that a refetch is tried
  cooldownMs?: number;      // min gap before an unknown kid may trigger a refetch (default 30 s)
  timeoutMs?: number;       // JWKS fetch timeout (default 5 s)
  maxStaleMs?: number;      // when the JWKS endpoint is down, keys fetched less than this long ago keep working (default 24 h)
  clockToleranceS?: number; // exp/nbf/iat skew allowed (default 120)
  maxLifetimeS?: number;    // refuse assertions whose exp is more than this far in the future (RFC 7523 §3 "unreasonably far"; default 24 h)
  /** Called when a JWKS fetch failed and the cached keys were consulted instead, so an outage shows in the log
   * long before maxStaleMs runs out. `log` names the failure (jose code, errno, HTTP status), never token text. */
  onJwksUnreachable?: (jwksUrl: string, log: string) => void;
}

export type AssertionResult =
  | { ok: true; jti: string | undefined; expiresAt: number /* ms epoch, from exp */ ; claims: { iss: string; sub: string; tid?: string } }
  | { ok: false; reason: string; log: string };

/** Longer assertions are refused before any parsing: Entra's are about 1.5 KB. */
const MAX_ASSERTION_CHARS = 16 * 1024;

/** Asymmetric algorithms only: `none` and HS* would let anyone who knows the JWKS (public) forge an assertion. */
export const ASSERTION_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Why a JWKS URL cannot be registered, or undefined if it can: https (http only to a loopback host, for tests and a
 * local IdP), no credentials (they would be sent to and logged by whoever serves it), no fragment (RFC 3986 §3.5:
 * meaningless to a fetch, so a sign of a pasted-in wrong value).
 */
export function checkJwksUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'the JWKS URL is not an absolute URL';
  }
  if (u.username || u.password) return 'the JWKS URL must not contain credentials';
  if (u.hash || url.includes('#')) return 'the JWKS URL must not contain a fragment';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:') return LOOPBACK_HOSTS.has(u.hostname) ? undefined : 'the JWKS URL must use https (http only to 127.0.0.1, ::1 or localhost)';
  return 'the JWKS URL must use https';
}

/** One JWKS URL's keys: jose's remote set, the last JWKS it fetched, and our record of failed fetches. */
interface KeySource {
  url: string;
  remote: ReturnType<typeof createRemoteJWKSet>;
  /** Written by jose after each successful fetch (the `jwksCache` option): the set and when it arrived. */
  cache: { jwks?: JSONWebKeySet; uat?: number };
  stale: { uat: number; keys: ReturnType<typeof createLocalJWKSet> } | undefined;
  failedAt: number;
  failure: string;
}

/** The key resolver's way of saying "the endpoint failed and the cache cannot answer" to verify(). */
class JwksUnreachable extends Error {
  constructor(readonly reason: string, readonly detail: string) {
    super(reason);
  }
}

type Failure = Extract<AssertionResult, { ok: false }>;
const fail = (reason: string, log: string): Failure => ({ ok: false, reason, log });

function nonNegative(value: number | undefined, fallback: number, name: string, integer = false): number {
  const v = value ?? fallback;
  if (!(v >= 0) || (integer && !Number.isInteger(v))) throw new RangeError(`AssertionTuning.${name} must be a non-negative ${integer ? 'integer' : 'number'}`);
  return v;
}

export class AssertionVerifier {
  private readonly sources = new Map<string, KeySource>();
  private readonly cacheMaxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly timeoutMs: number;
  private readonly maxStaleMs: number;
  /** Public: an assertion is accepted until exp + this, so its jti must be remembered that long (client-auth.ts). */
  readonly clockToleranceS: number;
  private readonly maxLifetimeS: number;
  private readonly onJwksUnreachable: AssertionTuning['onJwksUnreachable'];

  constructor(tuning: AssertionTuning = {}) {
    this.cacheMaxAgeMs = nonNegative(tuning.cacheMaxAgeMs, 10 * 60_000, 'cacheMaxAgeMs');
    this.cooldownMs = nonNegative(tuning.cooldownMs, 30_000, 'cooldownMs');
    this.timeoutMs = nonNegative(tuning.timeoutMs, 5_000, 'timeoutMs', true);
    // jose itself uses keys younger than cacheMaxAge without fetching, so a shorter staleness limit would mean nothing.
    this.maxStaleMs = Math.max(nonNegative(tuning.maxStaleMs, 24 * 3_600_000, 'maxStaleMs'), this.cacheMaxAgeMs);
    this.clockToleranceS = nonNegative(tuning.clockToleranceS, 120, 'clockToleranceS');
    this.maxLifetimeS = nonNegative(tuning.maxLifetimeS, 24 * 3600, 'maxLifetimeS');
    this.onJwksUnreachable = tuning.onJwksUnreachable;
  }

  /** Unverified iss/sub of an assertion, for finding the client when client_id is absent (RFC 7521 §4.2); undefined if not a JWT. */
  static peek(assertion: string): { iss: string | undefined; sub: string | undefined } | undefined {
    if (typeof assertion !== 'string' || assertion.length > MAX_ASSERTION_CHARS) return undefined;
    try {
      const { iss, sub } = decodeJwt(assertion);
      return { iss: typeof iss === 'string' ? iss : undefined, sub: typeof sub === 'string' ? sub : undefined };
    } catch {
      return undefined;
    }
  }

  /** RFC 7523 §3 checks of one assertion for one registered client. Never throws for a bad assertion. */
  async verify(client: FederatedClient, assertion: string): Promise<AssertionResult> {
    if (typeof assertion !== 'string') return fail('the assertion is not a well-formed signed JWT', `assertion is a ${typeof assertion}`);
    if (assertion.length > MAX_ASSERTION_CHARS) return fail('the assertion is longer than 16 KB', `assertion of ${assertion.length} characters`);
    const urlProblem = checkJwksUrl(client.jwksUrl);
    if (urlProblem) return fail("the client's JWKS URL is not acceptable", `jwks_url: ${urlProblem}`);
    try {
      const { payload } = await jwtVerify(assertion, this.resolver(client.jwksUrl), {
        issuer: client.issuer,
        audience: client.audience,
        subject: client.subject,
        algorithms: ASSERTION_ALGORITHMS,
        clockTolerance: this.clockToleranceS,
        requiredClaims: ['exp'],
      });
      const exp = payload.exp as number; // required, and jose checked it is a number
      const now = Date.now() / 1000;
      if (exp > now + this.maxLifetimeS) {
        return fail('the assertion expires too far in the future', `exp is ${Math.round(exp - now)} s ahead, more than maxLifetimeS ${this.maxLifetimeS}`);
      }
      // jose compares iat with the clock only under maxTokenAge, which would make iat required (RFC 7523 §3 item 6: optional).
      if (typeof payload.iat === 'number' && payload.iat > now + this.clockToleranceS) {
        return fail('the assertion was issued in the future', `iat is ${Math.round(payload.iat - now)} s ahead`);
      }
      return {
        ok: true,
        jti: typeof payload.jti === 'string' ? payload.jti : undefined,
        expiresAt: exp * 1000,
        claims: { iss: client.issuer, sub: client.subject, ...(typeof payload.tid === 'string' ? { tid: payload.tid } : {}) },
      };
    } catch (err) {
      return explain(err);
    }
  }

  private source(jwksUrl: string): KeySource {
    let s = this.sources.get(jwksUrl);
    if (!s) {
      const cache = {};
      s = {
        url: jwksUrl,
        remote: createRemoteJWKSet(new URL(jwksUrl), {
          cacheMaxAge: this.cacheMaxAgeMs,
          cooldownDuration: this.cooldownMs,
          timeoutDuration: this.timeoutMs,
          [jwksCache]: cache,
          [customFetch]: boundedFetch,
        }),
        cache,
        stale: undefined,
        failedAt: -Infinity,
        failure: '',
      };
      this.sources.set(jwksUrl, s);
    }
    return s;
  }

  /**
   * The key for an assertion: jose's remote set, and the last fetched keys when the JWKS endpoint fails.
   *
   * What jose (v6, dist/webapi/jwks/remote.js) does: it fetches when its copy is older than cacheMaxAge, or when no
   * key matches the kid and its last *successful* fetch is older than cooldownDuration. If that fetch fails
   * (connection refused, ERR_JWKS_TIMEOUT, any non-200 or unparsable body as ERR_JOSE_GENERIC, a malformed set as
   * ERR_JWKS_INVALID), the call throws the fetch error although the previous keys are still in memory, and since
   * only a success moves its timestamp, every later call fetches again. So once cacheMaxAge has passed, an outage of
   * the endpoint would refuse every assertion; Microsoft asks that cached keys keep working and only unknown kids
   * fail. Hence:
   * - "no (or more than one) matching key" from the remote set is its answer from a set in hand: final.
   * - Any other error: verify against the JWKS jose last fetched (written to `cache`) if that is younger than
   *   maxStaleMs. Whether the error was the fetch needs no guessing from error classes: the cached set is the set
   *   jose holds, so an error that did not come from a fetch (a key jose cannot import) comes back the same from it
   *   and is passed on; a key found, or "no matching key" where the remote set said otherwise, means the fetch failed.
   * - For cooldownMs after a failed fetch the remote set is not asked, so an outage does not cost every request a
   *   fetch attempt (up to timeoutMs) — the same reason jose has a cooldown for unknown kids.
   */
  private resolver(jwksUrl: string): JWTVerifyGetKey {
    const source = this.source(jwksUrl);
    return async (header, token) => {
      if (Date.now() - source.failedAt < this.cooldownMs) return this.fromCache(source, header, token, undefined);
      try {
        return await source.remote(header, token);
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
        return this.fromCache(source, header, token, err);
      }
    };
  }

  private async fromCache(source: KeySource, header: JWSHeaderParameters, token: FlattenedJWSInput, fetchError: unknown) {
    const failed = () => {
      if (fetchError === undefined) return;
      source.failedAt = Date.now();
      source.failure = describe(fetchError);
      this.onJwksUnreachable?.(source.url, `JWKS fetch failed: ${source.failure}`);
    };
    const why = fetchError === undefined ? `a JWKS fetch failed ${Date.now() - source.failedAt} ms ago (${source.failure}); not retried within cooldownMs` : `JWKS fetch failed: ${describe(fetchError)}`;
    // No cache, or one older than maxStaleMs (≥ cacheMaxAge), means jose had to fetch, so the error was the fetch.
    const { jwks, uat } = source.cache;
    if (!jwks || uat === undefined) {
      failed();
      throw new JwksUnreachable('the JWKS endpoint is unreachable and no cached key matches', `${why}; no JWKS was ever fetched from ${source.url}`);
    }
    const age = Date.now() - uat;
    if (age > this.maxStaleMs) {
      failed();
      throw new JwksUnreachable('the JWKS endpoint is unreachable and the cached keys are too old', `${why}; the cached JWKS is ${age} ms old, more than maxStaleMs ${this.maxStaleMs}`);
    }
    if (source.stale?.uat !== uat) source.stale = { uat, keys: createLocalJWKSet(jwks) };
    try {
      const key = await source.stale.keys(header, token);
      failed();
      return key;
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      failed();
      throw new JwksUnreachable('the JWKS endpoint is unreachable and no cached key matches', `${why}; no key for the kid in the JWKS cached ${age} ms ago`);
    }
  }
}

/** A fetch or jose error as one log phrase: code, message (jose's are fixed texts), errno or cause. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 200);
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const causeText = cause && typeof cause === 'object' ? String(cause.code ?? cause.message ?? '') : '';
  return `${typeof code === 'string' ? code : err.name}: ${err.message.slice(0, 200)}${causeText ? ` (${causeText.slice(0, 200)})` : ''}`;
}

const CLAIM_MISMATCH: Record<string, string> = {
  iss: 'the assertion issuer does not match the client',
  aud: 'the assertion audience does not match the client',
  sub: 'the assertion subject does not match the client',
  nbf: 'the assertion is not valid yet',
  iat: 'the assertion was issued in the future',
};

/** A verification error as a reason a client may read (RFC 6749 §5.2 error_description) and a line for the log. */
function explain(err: unknown): Failure {
  if (err instanceof JwksUnreachable) return fail(err.reason, err.detail);
  const log = describe(err);
  if (err instanceof errors.JWTExpired) return fail('the assertion has expired', log);
  if (err instanceof errors.JWTClaimValidationFailed) {
    const { claim } = err; // jose's own name of the claim it checked, never text from the token
    const detail = `${log} [${claim} ${err.reason}]`;
    if (err.reason === 'missing') return fail(`the assertion has no ${claim} claim`, detail);
    if (err.reason === 'invalid') return fail(`the assertion's ${claim} claim is not a number`, detail);
    return fail(CLAIM_MISMATCH[claim] ?? `the assertion's ${claim} claim is not acceptable`, detail);
  }
  const code = err instanceof errors.JOSEError ? err.code : undefined;
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return fail('the assertion signature is not valid', log);
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return fail('the assertion must be signed with an asymmetric algorithm (RS256, PS256, ES256, EdDSA, ...)', log);
    case 'ERR_JWKS_NO_MATCHING_KEY': return fail("no key in the JWKS matches the assertion's kid", log);
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return fail("more than one key in the JWKS matches the assertion's kid", log);
    case 'ERR_JWKS_TIMEOUT': return fail('the JWKS endpoint did not answer in time', log);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID': return fail('the assertion is not a well-formed signed JWT', log);
    case 'ERR_JWK_INVALID':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED': return fail("the JWKS key for the assertion's kid is not usable", log);
    default: return fail('the assertion could not be verified', log);
  }
}
