/**
 * The connector's view of Mattermost's REST API v4: the official client (`@mattermost/client` Client4) builds the
 * routes and sends the requests; this file adds what Client4 does not give (its errors lose the status of a non-JSON
 * answer and every header): the status, the error id, pacing by `Retry-After` and `X-RateLimit-*`, a timeout, and a
 * classification of failures into those worth retrying and those that are not.
 * Error body and ids: Mattermost API reference, "Introduction" (`{id, message, detailed_error, request_id,
 * status_code}`); rate-limit headers: server/channels/app/ratelimit.go (X-RateLimit-Reset is seconds until reset).
 */
// The package is CommonJS whose named exports Node's ESM loader cannot see: take Client4 off the default export.
import mattermostClient from '@mattermost/client';
import type { Client4 as Client4Type } from '@mattermost/client';

const { Client4 } = mattermostClient as unknown as { Client4: typeof Client4Type };
import type { MattermostConfig } from '../config/index.js';

export interface MmAnswer<T> { status: number; data: T; errorId: string | null; message: string | null; version: string | null }

/** Why a delivery did not happen: `transient` is retried with backoff, `permanent` is parked, `rate_limited` pauses
 * every request of this instance (the limiter keys on the address) until `retryAfterMs`. */
export class MattermostFailure extends Error {
  constructor(
    readonly kind: 'transient' | 'permanent' | 'rate_limited',
    message: string,
    readonly status: number | null = null,
    readonly errorId: string | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/** Statuses that describe the server's state, not the request: worth trying again. 401 is the token (revoked,
 * expired, PATs switched off), which an admin fixes once for every delivery, so it waits instead of parking them all. */
const TRANSIENT = new Set([401, 408, 500, 502, 503, 504]);

export interface MattermostApiOptions extends Pick<MattermostConfig, 'url' | 'token' | 'requestTimeoutMs' | 'maxRequestsPerSecond'> {
  /** Observes every request (metrics): route template, status (0 = no answer), seconds. */
  observe?: (method: string, status: number, seconds: number) => void;
}

export class MattermostApi {
  readonly client = new Client4();
  private pausedUntil = 0;
  private nextSlot = 0;
  private closed = false;

  constructor(private readonly o: MattermostApiOptions) {
    this.client.setUrl(o.url);
    this.client.setToken(o.token);
  }

  /** Stop waiting: requests that are pacing (a long Retry-After) fail as transient, so a shutdown is not held up. */
  close(): void {
    this.closed = true;
  }

  /** When the rate limiter told us to wait until (epoch ms), or 0. */
  get pausedUntilMs(): number {
    return this.pausedUntil;
  }

  /**
   * One request. Resolves with the answer whatever its status (callers decide what a 404 or 400 means to them);
   * rejects only with a MattermostFailure: no answer (refused, reset, timed out) or 429, both transient.
   */
  async call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<MmAnswer<T>> {
    await this.pace();
    const started = performance.now();
    let answer: { response: Response; headers: Headers; data: unknown };
    try {
      // Client4's public methods throw away the status and headers of an error that is not JSON (a 429 is text/plain),
      // so the one method that keeps them is used; it is `private` in the .d.ts only.
      const fetchWith = (this.client as unknown as { doFetchWithResponse: (u: string, o: object) => Promise<typeof answer> }).doFetchWithResponse;
      answer = await fetchWith(url, {
        method: method.toLowerCase(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ignoreStatus: true,
        signal: AbortSignal.timeout(this.o.requestTimeoutMs),
      });
    } catch (err) {
      this.o.observe?.(method, 0, (performance.now() - started) / 1000);
      const e = err as { name?: string; message?: string; cause?: { code?: string } };
      const timedOut = e?.name === 'TimeoutError' || e?.cause?.code === 'UND_ERR_HEADERS_TIMEOUT';
      // A request we gave up on may still be applied by Mattermost: the next attempt waits at least as long as we
      // waited for it, so a late write is unlikely to land after a newer one.
      throw new MattermostFailure('transient', `Mattermost did not answer (${timedOut ? 'timed out' : (e?.cause?.code ?? 'no answer')})`, null, null, timedOut ? this.o.requestTimeoutMs : null);
    }
    // The fetch Response's own headers: Client4's `headers` is a Map keyed by re-capitalised names
    // ("X-Ratelimit-Remaining"), which a case-insensitive lookup cannot use.
    const { response } = answer;
    const headers = response.headers;
    this.o.observe?.(method, response.status, (performance.now() - started) / 1000);
    this.learnLimits(headers, response.status);
    let data = answer.data;
    // Client4 parses only an exact `application/json`; a proxy or test server may add a charset.
    if (typeof data === 'string' && /^application\/json/i.test(headers.get('content-type') ?? '')) {
      try { data = JSON.parse(data); } catch { /* left as text */ }
    }
    if (response.status === 429) {
      throw new MattermostFailure('rate_limited', 'Mattermost rate limit (429)', 429, null, Math.max(0, this.pausedUntil - Date.now()));
    }
    const err = response.ok ? null : (data as { id?: unknown; message?: unknown } | null);
    return {
      status: response.status,
      data: data as T,
      errorId: err && typeof err === 'object' && typeof err.id === 'string' ? err.id : null,
      message: err && typeof err === 'object' && typeof err.message === 'string' ? err.message : (typeof data === 'string' ? data.slice(0, 200) : null),
      version: headers.get('x-version-id'),
    };
  }

  /** An answer that is not one of `ok` becomes the failure it is. */
  expect<T>(a: MmAnswer<T>, what: string, ok: number[] = [200, 201]): MmAnswer<T> {
    if (ok.includes(a.status)) return a;
    throw failureOf(a, what);
  }

  private learnLimits(headers: Headers, status: number): void {
    const now = Date.now();
    const retryAfter = Number(headers.get('retry-after'));
    const remaining = headers.get('x-ratelimit-remaining');
    const reset = Number(headers.get('x-ratelimit-reset'));
    if (status === 429) {
      // Retry-After first (seconds); else the reset (seconds until reset in the server's code); else one second.
      const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : (Number.isFinite(reset) && reset > 0 ? reset : 1);
      this.pausedUntil = Math.max(this.pausedUntil, now + wait * 1000);
    } else if (remaining === '0' && Number.isFinite(reset) && reset > 0) {
      // The bucket is empty: the next request would be refused. Reset is the time until it is full again (rounded up
      // to a second), so reset / limit is about the time one request's worth takes to come back: wait that long
      // rather than for the whole bucket, which would leave most of the rate unused.
      const limit = Number(headers.get('x-ratelimit-limit'));
      const oneMs = (Math.min(reset, 3600) * 1000) / (Number.isFinite(limit) && limit > 0 ? limit : 1);
      this.pausedUntil = Math.max(this.pausedUntil, now + Math.max(50, oneMs));
    }
  }

  /** Wait out a rate-limit pause, then keep our own rate (MATTERMOST_MAX_RPS) if one is set. */
  private async pace(): Promise<void> {
    for (;;) {
      if (this.closed) throw new MattermostFailure('transient', 'connector stopping');
      const now = Date.now();
      if (this.pausedUntil > now) {
        await sleep(Math.min(this.pausedUntil - now, 250));
        continue;
      }
      if (this.o.maxRequestsPerSecond > 0) {
        const slot = Math.max(now, this.nextSlot);
        this.nextSlot = slot + 1000 / this.o.maxRequestsPerSecond;
        if (slot > now) await sleep(slot - now);
      }
      return;
    }
  }
}

export function failureOf(a: MmAnswer<unknown>, what: string): MattermostFailure {
  const detail = `${what}: Mattermost answered ${a.status}${a.errorId ? ` ${a.errorId}` : ''}${a.message ? ` (${a.message})` : ''}`;
  return new MattermostFailure(TRANSIENT.has(a.status) ? 'transient' : 'permanent', detail, a.status, a.errorId);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
