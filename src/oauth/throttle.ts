/**
 * Failed client authentications, counted per client_id (RFC 6749 §2.3.1 and §10.10 ask the token endpoint to resist
 * guessing). Only failures are counted and only failures are refused once a client_id has had too many: a caller with
 * the right secret is always served, so someone sending bad secrets for a client_id cannot lock its IdP out, and a
 * bad secret for one client never slows another. In memory per instance, bounded (client secrets are 256-bit random
 * values: the throttle keeps guessing noisy and cheap, it is not what makes a secret hard to guess).
 */
export class ClientThrottle {
  private failures = new Map<string, { count: number; since: number }>();
  constructor(readonly limit = 10, readonly windowMs = 60_000) {}

  /** How long failures for this client_id are refused, in ms (0: not refused). */
  blockedFor(clientId: string, now = Date.now()): number {
    const f = this.failures.get(clientId);
    if (!f) return 0;
    const left = f.since + this.windowMs - now;
    if (left <= 0) {
      this.failures.delete(clientId);
      return 0;
    }
    return f.count >= this.limit ? left : 0;
  }

  /** Count a failure; true when this one engaged the throttle (once per window). */
  fail(clientId: string, now = Date.now()): boolean {
    if (this.failures.size > 50_000) this.failures.clear();
    const f = this.failures.get(clientId);
    if (!f || f.since + this.windowMs <= now) {
      this.failures.set(clientId, { count: 1, since: now });
      return this.limit === 1;
    }
    return ++f.count === this.limit;
  }
}
