/**
 * SCIM User (RFC 7643 §4.1, EnterpriseUser §4.3) <-> store rows. Everything GET returns is stored, so Okta's PUT,
 * built from our GET, round-trips without loss.
 */
import type { UserFields, UserRow, ValueRow } from '../../store/users.js';
import { MULTI_VALUED } from '../../store/users.js';
import { scimError } from './errors.js';
import { iso } from './time.js';
import { tidyLists } from './multi-valued.js';
import { ENTERPRISE, USER_SCHEMA } from '../../store/schema-urns.js';
import { etagOf } from './versions.js';

type Json = Record<string, any>;

const MAX_STRING = 1024;
const NAME_MAX = 64; // Mattermost first/last name and nickname limit
const POSITION_MAX = 128;

function str(v: unknown, attr: string, max = MAX_STRING): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw scimError(400, 'invalidValue', `${attr} must be a string`);
  if ([...v].length > max) throw scimError(400, 'invalidValue', `${attr} is longer than ${max} characters`);
  return v;
}

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+$/;

/** Choose the workspace email: the primary one, else the work one, else the first. */
function pickEmail(emails: Json[] | undefined): string | null {
  if (!emails?.length) return null;
  const chosen = emails.find((e) => e.primary === true) ?? emails.find((e) => e.type === 'work') ?? emails[0];
  const v = chosen?.value;
  if (typeof v !== 'string' || v === '') return null;
  if (v.length > 254 || !EMAIL.test(v)) throw scimError(400, 'invalidValue', `emails: "${v.slice(0, 80)}" is not a valid email address`);
  return v.toLowerCase();
}

function values(body: Json): ValueRow[] {
  const out: ValueRow[] = [];
  for (const attr of MULTI_VALUED) {
    const list = body[attr];
    if (!Array.isArray(list)) continue;
    if (list.length > 100) throw scimError(400, 'invalidValue', `${attr} has more than 100 values`);
    list.forEach((v: Json, position: number) => {
      out.push({
        attr,
        position,
        value: str(v?.value, `${attr}.value`),
        type: str(v?.type, `${attr}.type`, 64),
        display: str(v?.display, `${attr}.display`),
        primary: v?.primary === true,
      });
    });
  }
  return out;
}

/** Attributes without a column: kept as JSON for round-trip only (not filterable). */
function extraOf(body: Json): string | null {
  const extra: Json = {};
  const name = body.name ?? {};
  for (const k of ['middleName', 'honorificPrefix', 'honorificSuffix']) if (name[k] != null && name[k] !== '') extra[`name.${k}`] = str(name[k], `name.${k}`);
  for (const k of ['addresses', 'x509Certificates']) if (Array.isArray(body[k]) && body[k].length) extra[k] = body[k];
  const s = Object.keys(extra).length ? JSON.stringify(extra) : null;
  if (s && s.length > 64 * 1024) throw scimError(400, 'invalidValue', 'user attributes are too large');
  return s;
}

export interface UserInput { fields: UserFields; values: ValueRow[]; managerId: string | null }

/** Map a SCIM user body (already coerced and quirk-normalised) to store fields. */
export function userFromScim(scim: Json): UserInput {
  // One primary per list and no duplicate values (RFC 7643 §2.4), before the workspace email is picked from them.
  const body = tidyLists(scim);
  const userName = typeof body.userName === 'string' ? body.userName.trim() : '';
  if (!userName) throw scimError(400, 'invalidValue', 'userName is required and must not be empty');
  if (userName.length > 256) throw scimError(400, 'invalidValue', 'userName is longer than 256 characters');
  const name = body.name ?? {};
  const ent = body[ENTERPRISE] ?? {};
  const managerId = str(ent.manager?.value, 'manager.value', 64);
  const active = body.active;
  const fields: UserFields = {
    external_id: str(body.externalId, 'externalId', 256),
    user_name: userName,
    email: pickEmail(body.emails),
    display_name: str(body.displayName, 'displayName'),
    first_name: str(name.givenName, 'name.givenName', NAME_MAX),
    last_name: str(name.familyName, 'name.familyName', NAME_MAX),
    formatted_name: str(name.formatted, 'name.formatted'),
    nickname: str(body.nickName, 'nickName', NAME_MAX),
    position: str(body.title, 'title', POSITION_MAX),
    user_type: str(body.userType, 'userType', 64),
    preferred_language: str(body.preferredLanguage, 'preferredLanguage', 64),
    locale: str(body.locale, 'locale', 16),
    timezone: str(body.timezone, 'timezone', 64),
    profile_url: str(body.profileUrl, 'profileUrl'),
    employee_number: str(ent.employeeNumber, 'employeeNumber', 256),
    department: str(ent.department, 'department', 256),
    cost_center: str(ent.costCenter, 'costCenter', 256),
    organization: str(ent.organization, 'organization', 256),
    division: str(ent.division, 'division', 256),
    manager_id: managerId,
    extra: extraOf(body),
    active: active === undefined ? true : active === true,
  };
  return { fields, values: values(body), managerId };
}


function compact<T extends Json>(o: T): T | undefined {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  return Object.keys(out).length ? (out as T) : undefined;
}

export interface GroupRef { value: string; display: string }

/**
 * Assignment lists read back with `primary` spelled out, true or false: Entra sends `"primary": false` on every app
 * role (AppRoleAssignmentsComplex), and a role must read back as sent. False is the RFC 7643 §2.4 default, so for a
 * client that left it out the value means the same.
 */
const EXPLICIT_PRIMARY = new Set(['roles', 'entitlements']);

/** Map a stored user to its SCIM representation (before SCIMMY applies `attributes`). */
export function userToScim(row: UserRow, vals: ValueRow[] = [], baseUrl: string, groups?: GroupRef[]): Json {
  const extra: Json = row.extra ? JSON.parse(row.extra) : {};
  const multi: Json = {};
  for (const v of vals) {
    const primary = v.primary === true || v.primary === 1;
    (multi[v.attr] ??= []).push(compact({ value: v.value, type: v.type, display: v.display, primary: primary ? true : EXPLICIT_PRIMARY.has(v.attr) ? false : undefined }) ?? {});
  }
  const ent = compact({
    employeeNumber: row.employee_number,
    department: row.department,
    costCenter: row.cost_center,
    organization: row.organization,
    division: row.division,
    manager: row.manager_id ? { value: row.manager_id, $ref: `${baseUrl}/Users/${row.manager_id}` } : undefined,
  });
  const name = compact({
    givenName: row.first_name,
    familyName: row.last_name,
    formatted: row.formatted_name,
    middleName: extra['name.middleName'],
    honorificPrefix: extra['name.honorificPrefix'],
    honorificSuffix: extra['name.honorificSuffix'],
  });
  return {
    schemas: ent ? [USER_SCHEMA, ENTERPRISE] : [USER_SCHEMA],
    id: row.id,
    ...(row.external_id != null ? { externalId: row.external_id } : {}),
    userName: row.user_name,
    ...(name ? { name } : {}),
    ...compact({
      displayName: row.display_name,
      nickName: row.nickname,
      title: row.position,
      userType: row.user_type,
      preferredLanguage: row.preferred_language,
      locale: row.locale,
      timezone: row.timezone,
      profileUrl: row.profile_url,
    }),
    active: row.active === true || row.active === 1,
    ...multi,
    ...(extra.addresses ? { addresses: extra.addresses } : {}),
    ...(extra.x509Certificates ? { x509Certificates: extra.x509Certificates } : {}),
    ...(groups?.length ? { groups: groups.map((g) => ({ value: g.value, display: g.display, $ref: `${baseUrl}/Groups/${g.value}`, type: 'direct' })) } : {}),
    ...(ent ? { [ENTERPRISE]: ent } : {}),
    meta: {
      resourceType: 'User',
      created: iso(row.created_at),
      lastModified: iso(row.updated_at),
      version: etagOf(row.version),
      location: `${baseUrl}/Users/${row.id}`,
    },
  };
}
