// Fault injection for the fake: outages, latency, injected error statuses, a rate limiter like Mattermost's, and
// "applied but the reply was lost".

/**
 * GCRA as in github.com/throttled/throttled (GCRARateLimiter.RateLimit), which Mattermost's RateLimitSettings use
 * (server/channels/app/ratelimit.go): emission interval T = 1 s / perSec, delay variation tolerance T * (burst + 1)
 * and limit burst + 1 (NewGCRARateLimiter), so burst + 1 requests pass at once.
 */
export class Gcra {
  private tat = 0;
  constructor(private readonly perSec: number, private readonly burst: number) {}

  take(now: number): { limited: boolean; limit: number; remaining: number; resetAfterMs: number; retryAfterMs: number } {
    const interval = 1000 / this.perSec;
    const tolerance = interval * (this.burst + 1);
    const tat = Math.max(this.tat, now);
    const newTat = tat + interval;
    const allowAt = newTat - tolerance;
    const diff = now - allowAt;
    let ttl: number;
    let limited = false;
    let retryAfterMs = -1;
    if (diff < 0) {
      limited = true;
      retryAfterMs = -diff;
      ttl = tat - now;
    } else {
      this.tat = newTat;
      ttl = newTat - now;
    }
    const next = tolerance - ttl;
    const remaining = next > -interval ? Math.floor(next / interval) : 0;
    return { limited, limit: this.burst + 1, remaining: Math.max(0, remaining), resetAfterMs: ttl, retryAfterMs };
  }
}

interface FailRule { left: number; status: number; match?: RegExp }

export class Faults {
  down = false;
  latencyMs = 0;
  private failRules: FailRule[] = [];
  private limiter: Gcra | null = null;
  private crashMatch: RegExp | null = null;

  failNext(n: number, status = 500, match?: RegExp): void {
    if (n > 0) this.failRules.push({ left: n, status, match });
  }
  rateLimit(opts: { perSec: number; burst: number } | null): void {
    this.limiter = opts ? new Gcra(opts.perSec, opts.burst) : null;
  }
  crashAfterApply(match: RegExp): void {
    this.crashMatch = match;
  }
  clear(): void {
    this.down = false;
    this.latencyMs = 0;
    this.failRules = [];
    this.limiter = null;
    this.crashMatch = null;
  }

  /** `match` is tried on the path and on "METHOD path", so /users$/ and /^POST \/api\/v4\/users$/ both work. */
  static matches(re: RegExp | undefined, method: string, path: string): boolean {
    if (!re) return true;
    re.lastIndex = 0;
    if (re.test(path)) return true;
    re.lastIndex = 0;
    return re.test(`${method} ${path}`);
  }

  takeFailure(method: string, path: string): number | null {
    const rule = this.failRules.find((r) => Faults.matches(r.match, method, path));
    if (!rule) return null;
    rule.left--;
    if (rule.left <= 0) this.failRules.splice(this.failRules.indexOf(rule), 1);
    return rule.status;
  }

  rate(now: number) {
    return this.limiter ? this.limiter.take(now) : null;
  }

  takeCrash(method: string, path: string): boolean {
    if (this.crashMatch && Faults.matches(this.crashMatch, method, path)) {
      this.crashMatch = null;
      return true;
    }
    return false;
  }
}
