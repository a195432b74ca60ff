/**
 * Sessions of the admin console: an admin signs in once with an admin-scope credential and the browser then holds a
 * random cookie instead of the credential (OWASP Session Management Cheat Sheet: 128 bits of entropy at least; these
 * are 256). The database keeps only the cookie's SHA-256 digest (store/console-sessions.ts), so the table cannot be
 * replayed, and any instance on the shared database serves the next request.
 *
 * A session is only as good as its credential: each use re-checks it (the managed token not revoked, the OAuth
 * access token live and its client not revoked, ADMIN_TOKEN unchanged), with the same one-second trust as bearer
 * tokens (http/auth.ts), so a revocation ends every console session of that credential within a second. Idle and
 * absolute expiry are checked on every use; activity restarts the idle clock.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { Principal } from '../scim/use-cases/context.js';
import {
  deleteConsoleSession, findConsoleSession, insertConsoleSession, pruneConsoleSessions, touchConsoleSession,
  type CredentialKind, type StoredSession,
} from '../store/console-sessions.js';
import { allows } from '../store/scopes.js';
import { digest } from '../store/tokens.js';

/** How long a session row read from the database is trusted before it is read again (as auth.ts trusts a token). */
const CACHE_MS = 1000;
/** A cookie value as signIn makes them: 32 random bytes, base64url without padding. Anything else is not ours. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;
const ENV_ADMIN = 'env:ADMIN_TOKEN';

export interface ConsoleSessionSettings {
  idleMs: number;
  absoluteMs: number;
  /** ADMIN_TOKEN, to check that a session made with it still matches it (a rotated token ends its sessions). */
  adminToken: string | undefined;
}

/** A session that may act: who it acts as, and what the browser must echo on changes. */
export interface LiveSession {
  id: string;
  principal: Principal;
  csrfToken: string;
  /** The earlier of the session's absolute expiry and its credential's (an OAuth access token's) expiry. */
  expiresAt: number;
  idleMs: number;
}

/** What the console is told about its session (POST and GET /console/session). */
export interface SessionView { csrfToken: string; actor: string; idleMinutes: number; expiresAt: string }

const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');
/** ADMIN_TOKEN's fingerprint for one session, keyed by its cookie: the table alone cannot be used to test guesses. */
const envRef = (cookie: string, token: string): string => createHmac('sha256', cookie).update(token, 'utf8').digest('hex');

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Whether `presented` equals the session's CSRF token, in constant time (both are hashed to one length first). */
export function csrfMatches(session: LiveSession, presented: string | undefined): boolean {
  if (!presented) return false;
  return sameHex(sha256(presented), sha256(session.csrfToken));
}

export class ConsoleSessions {
  private readonly cache = new Map<string, { row: StoredSession; until: number }>();

  constructor(private readonly db: Knex, private readonly settings: ConsoleSessionSettings, private readonly now: () => number = Date.now) {}

  /**
   * A new session for an admin-scope principal that just presented `credential`. Always a new cookie value, never
   * one the browser brought (session fixation: OWASP, "renew the session ID after any privilege level change"); the
   * session the browser held before, if any, is ended. Expired rows are pruned here, where it costs one statement.
   */
  async signIn(principal: Principal, credential: string, previousCookie?: string): Promise<{ cookie: string; session: LiveSession }> {
    if (!allows(principal.scopes, 'admin')) throw new Error('a console session needs an admin-scope credential');
    const now = this.now();
    await pruneConsoleSessions(this.db, now);
    if (previousCookie && COOKIE_VALUE.test(previousCookie)) await this.signOut(previousCookie);
    const cookie = randomBytes(32).toString('base64url');
    const kind: CredentialKind = principal.kind === 'client' ? 'client' : principal.tokenId === ENV_ADMIN ? 'env' : 'token';
    const credentialRef = kind === 'client' ? digest(credential) : kind === 'env' ? envRef(cookie, credential) : null;
    const row = {
      id: sha256(cookie), credentialKind: kind, tokenId: principal.tokenId, credentialRef, name: principal.name,
      scopes: [...principal.scopes], csrfToken: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now,
      idleMs: this.settings.idleMs, expiresAt: now + this.settings.absoluteMs,
    };
    await insertConsoleSession(this.db, row);
    const session = await this.resume(cookie);
    if (!session) throw new Error('the console session just stored cannot be read back');
    return { cookie, session };
  }

  /**
   * The live session this cookie value names, its idle clock restarted; undefined when the value is not one we
   * issued, or the session expired, or its credential no longer holds (revoked, expired, rotated, lost the admin
   * scope). A session found dead is deleted.
   */
  async resume(cookie: string): Promise<LiveSession | undefined> {
    if (!COOKIE_VALUE.test(cookie)) return undefined;
    const id = sha256(cookie);
    const now = this.now();
    let row = this.cached(id, now);
    if (!row) {
      row = await findConsoleSession(this.db, id);
      if (!row) return undefined;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(id, { row, until: now + CACHE_MS });
    }
    const live = this.check(row, cookie, now);
    if (!live) {
      this.cache.delete(id);
      await deleteConsoleSession(this.db, id);
      return undefined;
    }
    // The idle clock is written at most every few seconds per session: a console polling once a second would
    // otherwise write a row per request, and idle expiry needs nowhere near millisecond precision.
    if (now - row.lastSeenAt >= Math.min(30_000, row.idleMs / 10)) {
      await touchConsoleSession(this.db, id, now);
      row.lastSeenAt = now;
    }
    return live;
  }

  /** End the session this cookie value names; true when there was one. */
  async signOut(cookie: string): Promise<boolean> {
    if (!COOKIE_VALUE.test(cookie)) return false;
    const id = sha256(cookie);
    this.cache.delete(id);
    return deleteConsoleSession(this.db, id);
  }

  view(s: LiveSession): SessionView {
    return { csrfToken: s.csrfToken, actor: `admin:${s.principal.name}`, idleMinutes: Math.round(s.idleMs / 60_000 * 100) / 100, expiresAt: new Date(s.expiresAt).toISOString() };
  }

  private cached(id: string, now: number): StoredSession | undefined {
    const hit = this.cache.get(id);
    if (hit && hit.until > now) return hit.row;
    if (hit) this.cache.delete(id);
    return undefined;
  }

  /** The session as a principal, if it has neither expired nor outlived its credential. */
  private check(row: StoredSession, cookie: string, now: number): LiveSession | undefined {
    if (now >= row.expiresAt || now >= row.lastSeenAt + row.idleMs) return undefined;
    let name = row.name;
    let scopes = row.scopes;
    let expiresAt = row.expiresAt;
    if (row.credentialKind === 'env') {
      const token = this.settings.adminToken;
      if (row.tokenId !== ENV_ADMIN || !token || !row.credentialRef || !sameHex(envRef(cookie, token), row.credentialRef)) return undefined;
    } else {
      const c = row.credential;
      if (!c || c.revoked || (c.expiresAt !== null && now >= c.expiresAt)) return undefined;
      name = c.name;
      scopes = c.scopes;
      if (c.expiresAt !== null) expiresAt = Math.min(expiresAt, c.expiresAt);
    }
    if (!allows(scopes, 'admin')) return undefined;
    return {
      id: row.id, csrfToken: row.csrfToken, expiresAt, idleMs: row.idleMs,
      principal: { tokenId: row.tokenId, name, scopes, kind: row.credentialKind === 'client' ? 'client' : 'token' },
    };
  }
}
