// A contract fake of the Mattermost REST API v4: the routes, bodies, error ids, status codes and side effects a
// provisioning connector meets, each cited to the mattermost/mattermost source it follows. In-memory, one process.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { UserProfile } from '@mattermost/types/users';
import type { Team } from '@mattermost/types/teams';
import type { Channel } from '@mattermost/types/channels';
import { AppError, notFoundRoute, permissionError, sessionExpired } from './errors.ts';
import { Faults } from './faults.ts';
import { newId } from './ids.ts';
import { emptyState, Model, type FakeSettings, type FakeState } from './model.ts';
import { checkIdParams, match, parseJson, type Ctx, type Route } from './router.ts';
import { channelRoutes } from './routes-channels.ts';
import { teamRoutes } from './routes-teams.ts';
import { createUser, userRoutes } from './routes-users.ts';
import { roleRoutes } from './routes-roles.ts';
import { fakeStats } from './stats.ts';

export type { FakeState, FakeTeamMember, FakeChannelMember, FakeSession, FakeSettings } from './model.ts';

export interface FakeMattermost {
  url: string;
  adminToken: string;
  userToken: string;
  state: FakeState;
  /** License and guest-account setting, changeable while the fake runs; reset() puts back the started ones. */
  settings: FakeSettings;
  requests: { method: string; path: string; status: number; at: number }[];
  faults: {
    down: boolean;
    latencyMs: number;
    failNext(n: number, status?: number, match?: RegExp): void;
    rateLimit(opts: { perSec: number; burst: number } | null): void;
    crashAfterApply(match: RegExp): void;
  };
  seedUser(u: Partial<UserProfile> & { username: string; email: string }): UserProfile;
  seedTeam(t: { name: string; display_name: string; type?: 'O' | 'I' }): Team;
  seedChannel(c: { team_id: string; name: string; display_name: string; type?: 'O' | 'P' }): Channel;
  reset(): void;
  close(): Promise<void>;
}

export interface FakeOptions {
  port?: number;
  version?: string;
  enableApiUserDeletion?: boolean;
  /** SamlSettings attribute mappings (FirstNameAttribute, ...): the UserPatch fields SAML owns for SAML users. */
  samlOwnedAttributes?: string[];
  /** TeamSettings.ExperimentalDefaultChannels: replaces off-topic; town-square is always first (app/channel.go DefaultChannelNames). */
  defaultChannels?: string[];
  /** The license's features (model/license.go Features, e.g. `{ GuestAccounts: true }`); none: unlicensed. */
  license?: Record<string, boolean> | null;
  /** GuestAccountsSettings.Enable (default false). */
  guestAccounts?: boolean;
}

const MAX_BODY = 10 * 1024 * 1024;

export async function startFakeMattermost(opts: FakeOptions = {}): Promise<FakeMattermost> {
  const version = opts.version ?? '11.9.0';
  const defaultChannelNames = ['town-square'];
  for (const n of opts.defaultChannels?.length ? opts.defaultChannels : ['off-topic']) if (!defaultChannelNames.includes(n)) defaultChannelNames.push(n);
  const state = emptyState();
  const model = new Model(state, defaultChannelNames);
  const faults = new Faults();
  const requests: FakeMattermost['requests'] = [];
  const initialSettings = (): FakeSettings => ({ license: opts.license ? { ...opts.license } : null, guestAccounts: opts.guestAccounts === true });
  const settings = initialSettings();
  const options = { enableApiUserDeletion: opts.enableApiUserDeletion === true, enableApiTeamDeletion: false, version, samlOwnedAttributes: opts.samlOwnedAttributes ?? [], settings };
  const adminToken = newId();
  const userToken = newId();

  let owners: UserProfile[] = [];
  let ownerSnapshots: UserProfile[] = [];
  function seedOwners(): void {
    if (owners.length) {
      // reset(): the same two accounts, ids and tokens, back to their first state.
      for (const u of ownerSnapshots) state.users.set(u.id, structuredClone(u));
      owners = ownerSnapshots.map((u) => state.users.get(u.id)!);
    } else {
      owners = makeOwners();
      ownerSnapshots = owners.map((u) => structuredClone(u));
    }
    for (const [token, user] of [[adminToken, owners[0]], [userToken, owners[1]]] as const) {
      state.sessions.set(token, { id: newId(), token, user_id: user.id, create_at: Date.now(), is_access_token: true });
    }
  }
  function makeOwners(): UserProfile[] {
    // The connector's bot: a bot account promoted with roles "system_user system_admin" and given an access token.
    const bot = createUser(model, { username: 'connector', email: 'connector@bots.invalid', password: '' }, true, {
      is_bot: true, bot_description: 'provisioning connector', roles: 'system_user system_admin', auth_service: '',
    });
    const plain = createUser(model, { username: 'plainuser', email: 'plainuser@example.com', password: 'plain-password' }, true);
    return [bot, plain];
  }
  seedOwners();

  const routes: Route[] = [...userRoutes(), ...roleRoutes(), ...teamRoutes(), ...channelRoutes()];
  // X-Version-Id is "<version>.<build number>.<client config hash>.<licensed>" (web/handlers.go ServeHTTP).
  const versionId = () => `${version}.${version}.fakeconfighash.${settings.license ? 'true' : 'false'}`;

  function send(res: ServerResponse, status: number, body: unknown, requestId: string, record: () => void): void {
    const text = JSON.stringify(body);
    // Exactly "application/json": Client4 only parses a body whose Content-Type is that string.
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Request-Id': requestId, 'X-Version-Id': versionId(), 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    record();
  }

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (b: Buffer) => {
        size += b.length;
        if (size > MAX_BODY) reject(new AppError('api.context.invalid_body_param.app_error', 413));
        else chunks.push(b);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  function kill(socket: Socket): void {
    // An RST, so the client sees ECONNRESET rather than a clean close.
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }

  function systemRoute(method: string, path: string, query: URLSearchParams): unknown | undefined {
    if (method !== 'GET') return undefined;
    if (path === '/system/ping') {
      const body: Record<string, unknown> = { status: 'OK' };
      if (query.get('get_server_status') === 'true') Object.assign(body, { database_status: 'OK', filestore_status: 'OK' });
      return body;
    }
    if (path === '/config/client') {
      // api4/system.go getClientConfig (format=old): a flat map of strings.
      // EnableGuestAccounts is in the limited config too (config/client.go GenerateLimitedClientConfig).
      return { Version: version, BuildNumber: version, BuildDate: '', BuildHash: 'fake', BuildHashEnterprise: 'none',
        BuildEnterpriseReady: 'false', SiteName: 'Mattermost', EnableUserCreation: 'true', EnableOpenServer: 'false',
        EnableGuestAccounts: String(settings.guestAccounts) };
    }
    if (path === '/license/client') {
      if (query.get('format') !== 'old') throw new AppError('api.license.client.old_format.app_error', 501);
      // app GetClientLicense: {IsLicensed:"false"} without a license, else model/license.go ToClientLicense's flat
      // map of strings, a feature as "true"/"false" under its name (GuestAccounts, SAML, LDAP, ...).
      if (!settings.license) return { IsLicensed: 'false' };
      const out: Record<string, string> = { IsLicensed: 'true' };
      for (const [k, v] of Object.entries(settings.license)) out[k] = String(v);
      return out;
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const fullPath = url.pathname;
    const requestId = newId();
    let recorded = false;
    const record = (status: number) => () => {
      if (!recorded) requests.push({ method, path: fullPath, status, at });
      recorded = true;
    };
    if (method === 'GET' && fullPath === '/__fake/stats') {
      // Test-only, not Mattermost's (stats.ts): before faults, the rate limit and the request log.
      const text = JSON.stringify(fakeStats(state, new Set(owners.map((u) => u.id)), requests));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (faults.down) return kill(req.socket);
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (faults.down) return kill(req.socket);

    // server/channels/app/ratelimit.go RateLimitHandler: in front of every route, one bucket for this client address.
    const rl = faults.rate(Date.now());
    if (rl) {
      res.setHeader('X-RateLimit-Limit', String(rl.limit));
      res.setHeader('X-RateLimit-Remaining', String(rl.remaining));
      res.setHeader('X-RateLimit-Reset', String(Math.ceil(rl.resetAfterMs / 1000)));
      if (rl.limited) {
        res.setHeader('Retry-After', String(Math.ceil(rl.retryAfterMs / 1000)));
        // http.Error: text/plain body "limit exceeded\n", no JSON, no X-Request-Id.
        res.writeHead(429, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end('limit exceeded\n');
        record(429)();
        return;
      }
    }

    const failWith = faults.takeFailure(method, fullPath);
    if (failWith !== null) {
      const err = new AppError(failWith === 503 ? 'api.context.server_busy.app_error' : 'fake.injected_fault.app_error', failWith, 'injected by the fake');
      return send(res, failWith, err.body(requestId), requestId, record(failWith));
    }

    const crash = faults.takeCrash(method, fullPath);
    let status = 500;
    let body: unknown;
    try {
      if (!fullPath.startsWith('/api/v4/')) throw notFoundRoute();
      const path = fullPath.slice('/api/v4'.length);
      const raw = await readBody(req);
      const system = systemRoute(method, path, url.searchParams);
      if (system !== undefined) {
        status = 200;
        body = system;
      } else {
        const found = match(routes, method, path);
        if (!found) throw notFoundRoute();
        // web/context.go ParseAuthTokenFromRequest: "BEARER <token>", the scheme in any case.
        const auth = req.headers.authorization ?? '';
        const token = auth.length > 6 && auth.slice(0, 6).toUpperCase() === 'BEARER' ? auth.slice(7) : '';
        const session = state.sessions.get(token);
        const me = session ? state.users.get(session.user_id) : undefined;
        if (!session || !me || me.delete_at > 0) throw sessionExpired();
        checkIdParams(found.params, me.id);
        const isAdmin = me.roles.split(' ').includes('system_admin');
        const ctx: Ctx = {
          req, requestId, method, path, query: url.searchParams, params: found.params, session, me, isAdmin, model, options,
          json: (param) => parseJson(raw, param),
          props: () => {
            try {
              const v = JSON.parse(raw);
              return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
            } catch {
              return {};
            }
          },
          requireAdmin: (permission) => {
            if (!isAdmin) throw permissionError(permission);
          },
          page: () => {
            // web/params.go: page < 0 or garbage → 0; per_page garbage or < 0 → 60, above 200 → 200.
            const p = Number.parseInt(url.searchParams.get('page') ?? '', 10);
            const pp = Number.parseInt(url.searchParams.get('per_page') ?? '', 10);
            return { page: Number.isNaN(p) || p < 0 ? 0 : p, perPage: Number.isNaN(pp) || pp < 0 ? 60 : Math.min(pp, 200) };
          },
        };
        const reply = await found.route.handler(ctx);
        status = reply.status;
        body = reply.body;
      }
    } catch (e) {
      const err = e instanceof AppError ? e : new AppError('fake.internal.app_error', 500, String(e));
      status = err.statusCode;
      body = err.body(requestId);
    }
    if (crash) {
      // Applied to state; the reply is lost.
      record(status)();
      return kill(req.socket);
    }
    send(res, status, body, requestId, record(status));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on('connection', (socket) => {
    if (faults.down) kill(socket);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    adminToken,
    userToken,
    state,
    settings,
    requests,
    faults: {
      get down() { return faults.down; },
      set down(v: boolean) { faults.down = v; },
      get latencyMs() { return faults.latencyMs; },
      set latencyMs(v: number) { faults.latencyMs = v; },
      failNext: (n, s, m) => faults.failNext(n, s, m),
      rateLimit: (o) => faults.rateLimit(o),
      crashAfterApply: (m) => faults.crashAfterApply(m),
    },
    seedUser(u) {
      const { username, email, ...rest } = u;
      const user = createUser(model, { username, email, password: rest.auth_service ? '' : 'seeded-password', ...rest }, true);
      for (const key of ['roles', 'is_bot', 'delete_at', 'create_at', 'update_at'] as const) {
        if (rest[key] !== undefined) (user as Record<string, unknown>)[key] = rest[key];
      }
      // A seeded user has logged in once, so revocation has something to revoke.
      const token = newId();
      state.sessions.set(token, { id: newId(), token, user_id: user.id, create_at: Date.now(), is_access_token: false });
      return user;
    },
    seedTeam(t) {
      return model.createTeam({ name: t.name, display_name: t.display_name, type: t.type ?? 'O', allow_open_invite: (t.type ?? 'O') === 'O' });
    },
    seedChannel(c) {
      model.team(c.team_id);
      return model.createChannel({ team_id: c.team_id, name: c.name, display_name: c.display_name, type: c.type ?? 'O' }, '');
    },
    reset() {
      for (const m of [state.users, state.teams, state.channels, state.teamMembers, state.channelMembers, state.sessions]) m.clear();
      Object.assign(settings, initialSettings());
      requests.length = 0;
      faults.clear();
      seedOwners();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
