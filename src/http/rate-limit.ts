/**
 * Per-token rate limiting (token bucket: RATE_LIMIT_PER_SECOND refill, RATE_LIMIT_BURST capacity). Over the limit a
 * request gets 429 with `Retry-After` and a SCIM error body (RFC 7644 §3.12 allows any HTTP status; 429 per RFC 6585).
 *
 * - SQLite (one instance): an in-process bucket per token.
 * - PostgreSQL (several instances behind a load balancer): the bucket lives in the `rate_limits` table, so the limit
 *   holds for the token across all instances. A request does not cost a database round trip: an instance reserves a
 *   small batch of tokens from the shared bucket with one atomic upsert (row lock, database clock) and serves the
 *   batch locally; an unused reservation expires after a second, so an instance never hoards capacity. The total
 *   served across instances therefore never exceeds what the shared bucket handed out (burst + rate × time); the
 *   cost of batching is at most one batch per instance of unused capacity (slightly stricter, never looser).
 *   While the bucket is empty, an instance answers 429 from memory until the next token is due.
 *   If the database cannot be asked, the instance falls back to its own in-memory bucket (fail open per instance,
 *   never fail closed: the request itself will meet the outage and answer 503).
 */
import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { reserveTokens, sharedBuckets } from '../store/rate-limits.js';
import { sendError } from './errors.js';

export type Decision = { ok: true } | { ok: false; retryAfterMs: number };

export interface Limiter {
  take(key: string): Promise<Decision>;
}

/** A token bucket per key, in memory. */
export class LocalBucketLimiter implements Limiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly rate: number, private readonly burst: number, private readonly now: () => number = Date.now) {}

  takeSync(key: string): Decision {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 10_000) this.buckets.clear();
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, t - b.at) * this.rate) / 1000);
    b.at = Math.max(b.at, t);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: ((1 - b.tokens) * 1000) / this.rate };
  }

  async take(key: string): Promise<Decision> {
    return this.takeSync(key);
  }
}

interface Reservation {
  tokens: number;
  expires: number;
  deniedUntil: number;
  waiting: number;
  pending: Promise<void> | undefined;
}

/** A token bucket per key shared through PostgreSQL, served locally in reserved batches. */
export class SharedBucketLimiter implements Limiter {
  private local = new Map<string, Reservation>();
  private fallback: LocalBucketLimiter;
  private fallbackUntil = 0;
  readonly batch: number;

  constructor(
    private readonly db: Knex,
    private readonly rate: number,
    private readonly burst: number,
    private readonly log: Logger,
    opts: { batch?: number; holdMs?: number } = {},
  ) {
    this.batch = Math.max(1, Math.min(opts.batch ?? Math.ceil(rate / 20), 50, burst));
    this.holdMs = opts.holdMs ?? 1000;
    this.fallback = new LocalBucketLimiter(rate, burst);
  }

  private readonly holdMs: number;

  private state(key: string): Reservation {
    let s = this.local.get(key);
    if (!s) {
      if (this.local.size > 10_000) this.local.clear();
      s = { tokens: 0, expires: 0, deniedUntil: 0, waiting: 0, pending: undefined };
      this.local.set(key, s);
    }
    return s;
  }

  async take(key: string): Promise<Decision> {
    if (Date.now() < this.fallbackUntil) return this.fallback.takeSync(key);
    const s = this.state(key);
    for (let round = 0; round < 20; round++) {
      const now = Date.now();
      if (s.expires > now && s.tokens >= 1) {
        s.tokens -= 1;
        return { ok: true };
      }
      if (s.deniedUntil > now) return { ok: false, retryAfterMs: s.deniedUntil - now };
      if (Date.now() < this.fallbackUntil) return this.fallback.takeSync(key);
      s.waiting++;
      try {
        if (!s.pending) s.pending = this.reserve(key, s).finally(() => { s.pending = undefined; });
        await s.pending;
      } finally {
        s.waiting--;
      }
    }
    return { ok: false, retryAfterMs: 1000 };
  }

  /** Refill the shared bucket by elapsed time (database clock) and take up to n whole tokens, in one statement. */
  private async reserve(key: string, s: Reservation): Promise<void> {
    const n = Math.max(1, Math.min(this.burst, this.batch + s.waiting));
    try {
      const { granted, left } = await reserveTokens(this.db, key, n, this.rate, this.burst);
      const t = Date.now();
      if (granted > 0) {
        // Tokens still held from an expired reservation are dropped, never carried over.
        s.tokens = (s.expires > t ? s.tokens : 0) + granted;
        s.expires = t + this.holdMs;
        s.deniedUntil = 0;
      } else {
        s.deniedUntil = t + Math.max(1, Math.ceil(((1 - left) * 1000) / this.rate));
      }
    } catch (err) {
      this.fallbackUntil = Date.now() + 1000;
      this.log.warn('rate limiter cannot reach the database; using the local bucket', { error: String((err as Error)?.message ?? err).slice(0, 200) });
    }
  }
}

export function createLimiter(db: Knex, config: Config, log: Logger): Limiter | undefined {
  if (config.rateLimitPerSecond <= 0) return undefined;
  return sharedBuckets(db)
    ? new SharedBucketLimiter(db, config.rateLimitPerSecond, config.rateLimitBurst, log)
    : new LocalBucketLimiter(config.rateLimitPerSecond, config.rateLimitBurst);
}

/** Middleware, mounted right after authentication: the bucket key is the authenticated token. */
export function rateLimit(limiter: Limiter | undefined, config: Pick<Config, 'rateLimitPerSecond'>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const principal = (req as any).principal as { tokenId: string } | undefined;
    if (!limiter || !principal) return next();
    limiter.take(`token:${principal.tokenId}`).then((d) => {
      if (d.ok) return next();
      const seconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
      sendError(res, 429, null, `too many requests: this token may send ${config.rateLimitPerSecond} requests per second`, { 'Retry-After': String(seconds) });
    }, next);
  };
}
