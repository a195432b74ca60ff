// A small router shaped like Mattermost's gorilla/mux routes (server/channels/api4/api.go): path variables carry the
// same character classes, so an id with a character outside [A-Za-z0-9] does not match a route (404) while a
// matching one of the wrong length is refused by Require*Id (400 api.context.invalid_url_param.app_error).
import type { IncomingMessage } from 'node:http';
import type { UserProfile } from '@mattermost/types/users';
import { AppError, invalidBodyParam, invalidUrlParam } from './errors.ts';
import { isValidId } from './ids.ts';
import type { FakeSession, FakeSettings, Model } from './model.ts';

export interface Reply { status: number; body?: unknown }

export interface Ctx {
  req: IncomingMessage;
  requestId: string;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  session: FakeSession;
  me: UserProfile;
  isAdmin: boolean;
  model: Model;
  options: { enableApiUserDeletion: boolean; enableApiTeamDeletion: boolean; version: string; samlOwnedAttributes: string[]; settings: FakeSettings };
  /** The JSON body; a body that does not parse is refused as the named parameter. */
  json(param: string): unknown;
  /** The body as Go's StringInterfaceFromJSON reads it: anything but a JSON object becomes {}. */
  props(): Record<string, unknown>;
  /** 403 unless the session is a system admin. */
  requireAdmin(permission: string): void;
  page(): { page: number; perPage: number };
}

export type Handler = (c: Ctx) => Reply | Promise<Reply>;
export interface Route { method: string; pattern: string; handler: Handler; noAuth?: boolean }

const PARAM_CLASS: Record<string, RegExp> = {
  username: /^[A-Za-z0-9_\-.]+$/,
  email: /^.+$/,
  team_name: /^[A-Za-z0-9\-]+$/,
  channel_name: /^[A-Za-z0-9_\-]+$/,
};

export function match(routes: Route[], method: string, path: string): { route: Route; params: Record<string, string> } | null {
  const segs = path.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.method !== method) continue;
    const pat = route.pattern.split('/').filter(Boolean);
    if (pat.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      const p = pat[i];
      let s: string;
      try {
        s = decodeURIComponent(segs[i]);
      } catch {
        ok = false;
        break;
      }
      if (p.startsWith(':')) {
        const name = p.slice(1);
        const cls = PARAM_CLASS[name] ?? /^[A-Za-z0-9]+$/;
        if (!cls.test(s)) ok = false;
        params[name] = s;
      } else if (p !== s) {
        ok = false;
      }
    }
    if (ok) return { route, params };
  }
  return null;
}

/** web/context.go RequireUserId / RequireTeamId / RequireChannelId, and "me" for the session user (web/handlers.go). */
export function checkIdParams(params: Record<string, string>, me: string | undefined): void {
  for (const [name, value] of Object.entries(params)) {
    if (!name.endsWith('_id')) continue;
    if (name === 'user_id' && value === 'me' && me) {
      params[name] = me;
      continue;
    }
    if (!isValidId(value)) throw invalidUrlParam(name);
  }
}

export function parseJson(raw: string, param: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw invalidBodyParam(param);
  }
}

export const ok = (body: unknown = { status: 'OK' }, status = 200): Reply => ({ status, body });
export { AppError };
