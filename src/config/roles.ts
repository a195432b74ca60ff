/**
 * The role mapping: which IdP role values make a person a workspace admin, member or guest, and whether entitlements
 * with an admin flavour are offered. Read once at start from ROLE_MAPPING (`Admin=admin,Guest=guest`) or
 * ROLE_MAPPING_FILE (JSON, below); a bad mapping stops start-up with one line naming the setting.
 *
 * ROLE_MAPPING_FILE:
 *   { "roles": { "Admin": "admin", "Guest": "guest", "User": "member" }, "adminEntitlements": true }
 *
 * Role values are compared case-insensitively (Entra app role values and Okta role ids are free text an admin types).
 * The workspace's own role ids, which /Roles lists for Okta (`system_admin`, `system_user`, `system_guest`), always
 * map to their role and cannot be remapped.
 */
import { existsSync, readFileSync } from 'node:fs';

/** A person's one system role (Mattermost `system_user`, `system_user system_admin`, `system_guest`). */
export type SystemRole = 'member' | 'admin' | 'guest';
export const SYSTEM_ROLES: readonly SystemRole[] = ['member', 'admin', 'guest'];

/** The role ids /Roles serves, as Mattermost names the roles (model/role.go SystemUserRoleId and friends). */
export const BUILT_IN_ROLES: Readonly<Record<string, SystemRole>> = { system_admin: 'admin', system_user: 'member', system_guest: 'guest' };

export interface RoleMapping {
  /** Lower-cased IdP role value -> system role; includes BUILT_IN_ROLES. */
  roles: ReadonlyMap<string, SystemRole>;
  /** Whether /Entitlements offers `team:<name>:admin` and `channel:<team>:<name>:admin` (team or channel admin). */
  adminEntitlements: boolean;
}

type Fail = (message: string) => never;

function add(map: Map<string, SystemRole>, value: string, role: unknown, setting: string, fail: Fail): void {
  const key = value.trim().toLowerCase();
  if (!key || key.length > 1024) fail(`${setting}: a role value must be 1 to 1024 characters`);
  if (typeof role !== 'string' || !SYSTEM_ROLES.includes(role.trim().toLowerCase() as SystemRole)) {
    fail(`${setting}: "${value.slice(0, 80)}" must map to one of ${SYSTEM_ROLES.join(', ')}, got ${JSON.stringify(role)?.slice(0, 40)}`);
  }
  const r = (role as string).trim().toLowerCase() as SystemRole;
  const builtIn = BUILT_IN_ROLES[key];
  if (builtIn && builtIn !== r) fail(`${setting}: "${value}" is the workspace's own ${builtIn} role and cannot map to ${r}`);
  const had = map.get(key);
  if (had && had !== r && !builtIn) fail(`${setting}: "${value.slice(0, 80)}" is mapped twice (${had} and ${r})`);
  map.set(key, r);
}

/** Parse the role mapping settings; `fail` throws the caller's ConfigError. */
export function parseRoleMapping(env: Record<string, string | undefined>, fail: Fail): RoleMapping {
  const roles = new Map<string, SystemRole>(Object.entries(BUILT_IN_ROLES));
  const inline = env.ROLE_MAPPING?.trim();
  const file = env.ROLE_MAPPING_FILE?.trim();
  if (inline && file) fail('set ROLE_MAPPING or ROLE_MAPPING_FILE, not both');
  let adminEntitlements = /^(1|true|yes)$/i.test(env.ROLE_ADMIN_ENTITLEMENTS?.trim() ?? '');
  if (env.ROLE_ADMIN_ENTITLEMENTS && !/^(0|1|true|false|yes|no)$/i.test(env.ROLE_ADMIN_ENTITLEMENTS.trim())) fail(`ROLE_ADMIN_ENTITLEMENTS must be true or false, got "${env.ROLE_ADMIN_ENTITLEMENTS}"`);
  if (inline) {
    for (const pair of inline.split(',').map((s) => s.trim()).filter(Boolean)) {
      const at = pair.lastIndexOf('=');
      if (at <= 0) fail(`ROLE_MAPPING must be value=role pairs separated by commas (e.g. Admin=admin,Guest=guest), got "${pair.slice(0, 80)}"`);
      add(roles, pair.slice(0, at), pair.slice(at + 1), 'ROLE_MAPPING', fail);
    }
  }
  if (file) {
    if (!existsSync(file)) fail(`ROLE_MAPPING_FILE does not exist: ${file}`);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      fail(`ROLE_MAPPING_FILE is not valid JSON: ${(err as Error).message.slice(0, 120)}`);
    }
    const d = doc as Record<string, unknown>;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) fail('ROLE_MAPPING_FILE must hold a JSON object');
    for (const k of Object.keys(d)) if (k !== 'roles' && k !== 'adminEntitlements' && k !== '$comment') fail(`ROLE_MAPPING_FILE: unknown key "${k.slice(0, 40)}" (expected roles, adminEntitlements)`);
    const r = d.roles ?? {};
    if (typeof r !== 'object' || r === null || Array.isArray(r)) fail('ROLE_MAPPING_FILE: "roles" must be an object of role value -> admin | member | guest');
    for (const [value, role] of Object.entries(r as Record<string, unknown>)) add(roles, value, role, 'ROLE_MAPPING_FILE', fail);
    if (d.adminEntitlements !== undefined) {
      if (typeof d.adminEntitlements !== 'boolean') fail('ROLE_MAPPING_FILE: "adminEntitlements" must be true or false');
      adminEntitlements = d.adminEntitlements;
    }
  }
  return { roles, adminEntitlements };
}
