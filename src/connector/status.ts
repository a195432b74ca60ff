/**
 * What an admin asks of the connector: can it reach Mattermost, with what version and which rights (`check`, before
 * anything is sent), and how far behind it is (`status`: outbox depth, oldest pending age, parked count, last
 * success). Mattermost is probed with the calls its API reference gives for this: `GET /system/ping`,
 * `GET /users/me` (the token's owner and roles), the `X-Version-Id` header, `GET /license/client?format=old`, and,
 * when the license has guest accounts, `GET /config/client?format=old` (whether they are switched on).
 */
import type { UserProfile } from '@mattermost/types/users';
import { countBindings } from '../store/mattermost-bindings.js';
import { outboxStats } from '../store/outbox.js';
import type { ConnectorCtx } from './context.js';
import { MattermostFailure } from './mattermost-api.js';

export interface CheckResult {
  ok: boolean;
  url: string;
  reachable: boolean;
  version: string | null;
  tokenOwner: string | null;
  systemAdmin: boolean;
  licensed: boolean | null;
  /**
   * Whether Mattermost can hold guests: licensed with guest accounts (license/client `GuestAccounts`) and guest access
   * switched on (config/client `EnableGuestAccounts`, GuestAccountsSettings.Enable), the conditions of api4/user.go
   * demoteUserToGuest. Null when it could not be read. Not a problem by itself: it matters only for guests.
   */
  guestAccounts: boolean | null;
  /** Why not ok, in words an admin can act on. */
  problems: string[];
}

export async function checkMattermost(ctx: ConnectorCtx): Promise<CheckResult> {
  const r: CheckResult = { ok: false, url: ctx.cfg.url, reachable: false, version: null, tokenOwner: null, systemAdmin: false, licensed: null, guestAccounts: null, problems: [] };
  const base = ctx.api.client.getBaseRoute();
  try {
    const ping = await ctx.api.call<{ status?: string }>('GET', `${base}/system/ping`);
    r.reachable = ping.status === 200;
    r.version = ping.version?.split('.').slice(0, 3).join('.') ?? null;
    if (!r.reachable) r.problems.push(`GET /api/v4/system/ping answered ${ping.status}: is MATTERMOST_URL the server's base URL?`);
    const me = await ctx.api.call<UserProfile>('GET', `${ctx.api.client.getUsersRoute()}/me`);
    if (me.status === 401) r.problems.push('MATTERMOST_TOKEN is not accepted (revoked, expired, or personal access tokens are disabled: ServiceSettings.EnableUserAccessTokens)');
    else if (me.status === 403 && me.errorId?.includes('mfa_required')) r.problems.push('the token owner must set up MFA, or use a bot account (bots are exempt)');
    else if (me.status !== 200) r.problems.push(`GET /api/v4/users/me answered ${me.status}${me.errorId ? ` ${me.errorId}` : ''}`);
    else {
      r.tokenOwner = me.data.username;
      r.systemAdmin = (me.data.roles ?? '').split(' ').includes('system_admin');
      if (!r.systemAdmin) r.problems.push(`the token's owner ${me.data.username} is not a system admin (roles: ${me.data.roles}); the connector creates users and manages every team`);
    }
    const lic = await ctx.api.call<Record<string, string>>('GET', `${base}/license/client?format=old`);
    if (lic.status === 200 && lic.data && typeof lic.data === 'object') {
      r.licensed = lic.data.IsLicensed === 'true';
      if (ctx.cfg.authService === 'saml' && lic.data.SAML !== 'true') r.problems.push('MATTERMOST_AUTH_SERVICE=saml but the Mattermost license has no SAML: people could not sign in');
      if (ctx.cfg.authService === 'ldap' && lic.data.LDAP !== 'true') r.problems.push('MATTERMOST_AUTH_SERVICE=ldap but the Mattermost license has no LDAP');
      if (ctx.cfg.authService === 'openid' && lic.data.OpenId !== 'true') r.problems.push('MATTERMOST_AUTH_SERVICE=openid but the Mattermost license has no OpenID');
      if (!r.licensed || lic.data.GuestAccounts !== 'true') r.guestAccounts = false;
      else {
        const cfg = await ctx.api.call<Record<string, string>>('GET', `${base}/config/client?format=old`);
        if (cfg.status === 200 && cfg.data && typeof cfg.data === 'object') r.guestAccounts = cfg.data.EnableGuestAccounts === 'true';
      }
    }
  } catch (err) {
    r.problems.push(err instanceof MattermostFailure ? err.message : 'Mattermost could not be checked');
  }
  r.ok = r.reachable && r.systemAdmin && r.problems.length === 0;
  return r;
}

export interface ConnectorStatus {
  enabled: true;
  mattermost: CheckResult;
  outbox: { pending: number; inFlight: number; parked: number; oldestPendingAgeSeconds: number | null };
  /** The last delivery that succeeded in this instance (each instance runs its own worker). */
  lastSuccessAt: string | null;
  bindings: { users: number; teams: number; channels: number };
  pausedUntil: string | null;
}

export async function connectorStatus(ctx: ConnectorCtx, lastSuccessAt: number | null): Promise<ConnectorStatus> {
  const now = Date.now();
  const [mattermost, stats, bindings] = await Promise.all([checkMattermost(ctx), outboxStats(ctx.db, 'mattermost', now), countBindings(ctx.db)]);
  return {
    enabled: true,
    mattermost,
    outbox: {
      pending: stats.pending, inFlight: stats.leased, parked: stats.parked,
      oldestPendingAgeSeconds: stats.oldestPendingAt == null ? null : Math.max(0, Math.round((now - stats.oldestPendingAt) / 1000)),
    },
    lastSuccessAt: lastSuccessAt ? new Date(lastSuccessAt).toISOString() : null,
    bindings: { users: bindings.user, teams: bindings.team, channels: bindings.channel },
    pausedUntil: ctx.api.pausedUntilMs > now ? new Date(ctx.api.pausedUntilMs).toISOString() : null,
  };
}
