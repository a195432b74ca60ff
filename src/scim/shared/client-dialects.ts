/**
 * What real clients send that RFC 7644 (and SCIMMY) would refuse, rewritten into the RFC form before SCIMMY sees it.
 * Each rule cites its source inline: Microsoft Learn ("Tutorial: Develop and plan provisioning for a SCIM endpoint in
 * Microsoft Entra ID", "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra user
 * provisioning service"), Okta's "SCIM 2.0 Protocol Reference", Microsoft's SCIMReferenceCode test suites, and
 * public issue threads quoting real client traffic.
 * Every function returns a new value; nothing here throws.
 */
import { ENTERPRISE, USER_SCHEMA } from '../../store/schema-urns.js';

import { isObj, type Json } from './json.js';
export interface PatchOperation { op: string; path?: string; value?: unknown }
/** The part of a SCIMMY schema definition used to look attribute names up (`SCIMMY.Schemas.User.definition`). */
export interface SchemaLookup { attribute(path: string): { name: string }; attributes: unknown[] }

const CORE_PREFIXES = [`${USER_SCHEMA}:`, 'urn:ietf:params:scim:schemas:core:2.0:Group:'];
const MANAGER_PATHS = new Set(['manager', `${ENTERPRISE}:manager`.toLowerCase()]);
const BOOLEAN_KEYS = new Set(['active', 'primary']);
const TYPED_MULTI = new Set(['emails', 'phonenumbers', 'ims', 'photos', 'addresses']);
/** Assignment lists: Entra app role assignments and Okta roles in `roles`, Okta entitlements in `entitlements`. */
const ASSIGNMENTS = new Set(['roles', 'entitlements']);

/**
 * Entra's AppRoleAssignmentsComplex PATCH sends each role as a JSON-encoded string in `value`,
 * `{"value":"{\"id\":\"<app role id>\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}` (Microsoft Learn, "Customize
 * user provisioning attribute-mappings": AppRoleAssignmentsComplex), where its POST sends the role itself
 * (`{"primary":false,"type":"WindowsAzureActiveDirectoryRole","display":"Admin","value":"Admin"}`). Decoded into the POST
 * form, so a role reads back the same whichever way it came and the role mapping sees `Admin`. The app role id has no
 * sub-attribute in RFC 7643 §4.1.2 and is dropped; anything that is not such a JSON object is left as sent.
 */
function decodeAssignment(e: Json): Json {
  if (typeof e.value !== 'string') return e;
  const text = e.value.trim();
  if (!text.startsWith('{') || text.length > 4096) return e;
  let inner: unknown;
  try {
    inner = JSON.parse(text);
  } catch {
    return e;
  }
  if (!isObj(inner) || typeof inner.value !== 'string') return e;
  const out: Json = { ...e, value: inner.value };
  const display = inner.displayName ?? inner.display;
  if (typeof display === 'string' && (out.display === undefined || out.display === null)) out.display = display;
  if (typeof inner.type === 'string' && (out.type === undefined || out.type === null)) out.type = inner.type;
  if (typeof inner.primary === 'boolean' && out.primary === undefined) out.primary = inner.primary;
  return out;
}

/** A PATCH value for a whole assignment list as a list of elements: Entra may send one element, or one encoded string. */
function assignmentList(value: unknown): unknown {
  if (typeof value === 'string') return [{ value }];
  return isObj(value) ? [value] : value;
}

/** The key of `attr` in a resource, whatever its case. */
const keyIn = (current: Json, attr: string) => Object.keys(current).find((k) => k.toLowerCase() === attr);

/**
 * `remove` of `roles` or `entitlements` with a `value` naming the elements to remove (Entra's AppRoleAssignmentsComplex
 * and Okta send this; RFC 7644 §3.5.2.2 would remove the whole attribute, taking every other role with it): the
 * elements whose `value` matches (case-insensitively, as RFC 7643 §4.1.2 makes them caseExact false) are removed and the
 * rest kept, as a replace of the list. Removing what is not there changes nothing, so a repeated removal is a no-op.
 */
function removeAssignments(attr: string, value: unknown, current: Json): PatchOperation[] {
  const list = assignmentList(value);
  const gone = new Set((Array.isArray(list) ? list : []).map((e) => (isObj(e) ? decodeAssignment(e).value : e)).filter((v): v is string => typeof v === 'string').map((v) => v.toLowerCase()));
  const key = keyIn(current, attr);
  const held: unknown[] = key && Array.isArray(current[key]) ? current[key] : [];
  const kept = held.filter((e) => !(isObj(e) && typeof e.value === 'string' && gone.has(e.value.toLowerCase())));
  if (kept.length === held.length) return [];
  return kept.length ? [{ op: 'replace', path: key!, value: kept }] : [{ op: 'remove', path: key! }];
}

/** Entra sends "True"/"False" (any case) for booleans (Entra's SCIM "Known issues" page; scimmy#51, #86). */
function coerceBool(v: unknown): unknown {
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  return v;
}

/** Enterprise manager as a bare id, as `[{value}]`, or `{Value}` becomes `{value}` (SCIM_Update_Manager_Test). */
function coerceManager(v: unknown): unknown {
  if (typeof v === 'string') return v === '' ? null : { value: v };
  if (Array.isArray(v)) return coerceManager(v[0] ?? null);
  if (isObj(v)) {
    const value = v.value ?? v.Value;
    if (value === '' || value == null) return null;
    // A number is an id written loosely; anything else is left for SCIMMY to refuse (`{value:{}}` is no id).
    return { value: typeof value === 'string' || typeof value === 'number' ? String(value) : value };
  }
  return v;
}

/**
 * Clean a resource body (POST/PUT, or a PATCH value object): drop nulls (RFC 7643 §2.5: null means unassigned),
 * coerce string booleans, lower-case canonical `type` values ("Work"), shape the manager, and repair Entra's
 * legacy extension URN `...enterprise:2.0User` (Entra's SCIM endpoint tutorial, Example 2). `attr` is the (lower-case)
 * attribute the value sits under: only the types of attributes with canonical values are folded, so a role type such
 * as Entra's "WindowsAzureActiveDirectoryRole" keeps its case (RFC 7643 §4.1.2 defines no canonical role types).
 */
export function normalizeBody(body: unknown, depth = 0, attr?: string): unknown {
  if (Array.isArray(body)) return body.filter((v) => v !== null).map((v) => normalizeBody(v, depth + 1, attr));
  if (!isObj(body)) return body;
  const element = attr !== undefined && ASSIGNMENTS.has(attr) ? decodeAssignment(body) : body;
  const out: Json = {};
  for (let [key, value] of Object.entries(element)) {
    if (value === null) continue;
    if (depth === 0 && key.toLowerCase() === `${ENTERPRISE}`.replace(':2.0:User', ':2.0User').toLowerCase()) key = ENTERPRISE;
    const lower = key.toLowerCase();
    if (BOOLEAN_KEYS.has(lower)) value = coerceBool(value);
    if (lower === 'type' && typeof value === 'string' && attr !== undefined && TYPED_MULTI.has(attr)) value = value.toLowerCase();
    if (lower === 'manager' || lower === `${ENTERPRISE}:manager`.toLowerCase()) {
      value = coerceManager(value);
      if (value === null) continue;
    }
    out[key] = normalizeBody(value, depth + 1, lower);
  }
  if (depth === 0 && Array.isArray(out.schemas)) {
    out.schemas = out.schemas.map((s: unknown) => (typeof s === 'string' && s.toLowerCase() === `${ENTERPRISE}`.replace(':2.0:User', ':2.0User').toLowerCase() ? ENTERPRISE : s));
  }
  return out;
}

/** Strip the core schema URN from a path: SCIMMY cannot traverse `urn:...:core:2.0:User:userName`. */
function stripCoreUrn(path: string): string {
  for (const p of CORE_PREFIXES) if (path.toLowerCase().startsWith(p.toLowerCase())) return path.slice(p.length);
  return path;
}

/** `[urn:...:]attr[filter][.sub]`: the path forms a PATCH can name (RFC 7644 §3.5.2 PATH). */
const PATH_PARTS = /^(urn:[^[\]]*:)?([A-Za-z$][\w$-]*)(\[[^\]]*\])?(?:\.([A-Za-z$][\w$-]*))?$/i;

/**
 * Spell a path's attribute names as the schema does. RFC 7643 §2.1 makes them case-insensitive and Entra varies the
 * case (`name.FamilyName`, SCIMReferenceCode PostmanCollection.json), but SCIMMY traverses the resource
 * case-sensitively and answers noTarget.
 * Unknown names are left alone for SCIMMY to refuse with invalidPath.
 */
function canonicalPath(path: string, schema: SchemaLookup | undefined): string {
  if (!schema) return path;
  const extension = (urn: string) => (schema.attributes.find((a: any) => typeof a?.id === 'string' && a.id.toLowerCase() === urn.toLowerCase()) as { id: string } | undefined)?.id;
  const whole = extension(path); // the extension itself, e.g. a no-path value keyed by the enterprise URN
  if (whole) return whole;
  const m = PATH_PARTS.exec(path);
  if (!m) return path;
  const [, urnPart, attr, filter = '', sub] = m;
  try {
    const urn = urnPart ? `${extension(urnPart.slice(0, -1)) ?? urnPart.slice(0, -1)}:` : '';
    const name = schema.attribute(`${urn}${attr}`).name;
    return `${urn}${name}${filter}${sub === undefined ? '' : `.${schema.attribute(`${urn}${attr}.${sub}`).name}`}`;
  } catch {
    return path;
  }
}

const TYPE_FILTER = /^(\w+)\[\s*type\s+eq\s+"([^"]*)"\s*\](?:\.(\w+))?$/i;

/** Does the current resource hold an element of `attr` with this `type`? */
function hasTyped(current: Json, attr: string, type: string): boolean {
  const key = Object.keys(current).find((k) => k.toLowerCase() === attr.toLowerCase());
  const list = key ? current[key] : undefined;
  return Array.isArray(list) && list.some((e) => typeof e?.type === 'string' && e.type.toLowerCase() === type.toLowerCase());
}

/**
 * Rewrite one operation against the resource as the earlier operations of the same PATCH left it (RFC 7644 §3.5.2:
 * operations apply in sequence); may expand into several (a no-path value object with filtered or null keys).
 */
export function normalizeOperation(raw: Json, current: Json, schema?: SchemaLookup): PatchOperation[] {
  const op = typeof raw.op === 'string' ? raw.op.trim().toLowerCase() : raw.op;
  if (raw.path !== undefined && typeof raw.path !== 'string') return [{ ...raw, op }]; // SCIMMY: 400 invalidPath
  let path: string | undefined = typeof raw.path === 'string' ? canonicalPath(stripCoreUrn(raw.path.trim()), schema) : undefined;
  let value = raw.value;
  if (path === '') path = undefined;

  if (path === undefined) {
    if ((op !== 'add' && op !== 'replace') || !isObj(value)) return [{ ...raw, op }];
    // No-path value object (Entra aadOptscim062020, Okta): split out keys that are paths of their own.
    const rest: Json = {};
    const extra: PatchOperation[] = [];
    let view = current; // as the keys before left it: two keys on one missing typed entry create it once
    for (const [k, v] of Object.entries(value)) {
      if (k.toLowerCase() === 'id' && v === current.id) continue; // Okta echoes the read-only id (Okta's SCIM reference)
      if (k.includes('[') || v === null || v === '' || MANAGER_PATHS.has(stripCoreUrn(k).toLowerCase())) {
        const more = normalizeOperation({ op, path: k, value: v }, view, schema);
        for (const o of more) {
          if (o.op === 'add' && o.path && TYPED_MULTI.has(o.path.toLowerCase()) && Array.isArray(o.value)) view = { ...view, [o.path]: [...(Array.isArray(view[o.path]) ? view[o.path] : []), ...o.value] };
        }
        extra.push(...more);
      } else {
        rest[canonicalPath(stripCoreUrn(k), schema)] = v;
      }
    }
    const cleaned = normalizeBody(rest, 1) as Json;
    return [...(Object.keys(cleaned).length ? [{ op, value: cleaned }] : []), ...extra];
  }

  const lowerPath = path.toLowerCase();
  if (op === 'remove' && lowerPath === ENTERPRISE.toLowerCase()) {
    // Removing the extension removes all its attributes (RFC 7644 §3.5.2.2); SCIMMY cannot target the extension itself.
    const key = Object.keys(current).find((k) => k.toLowerCase() === lowerPath);
    const ext = key ? current[key] : undefined;
    return isObj(ext) ? Object.keys(ext).map((k) => ({ op, path: `${ENTERPRISE}:${k}` })) : [];
  }
  const last = lowerPath.split(/[.:\]]/).pop() ?? '';
  if (BOOLEAN_KEYS.has(last)) value = coerceBool(value);
  if (MANAGER_PATHS.has(lowerPath) || MANAGER_PATHS.has(lowerPath.replace(/\.value$/, ''))) {
    // Entra: add/replace with a bare id; removal is a replace with "" (SCIMReferenceCode SCIM_Update_Manager_Test).
    const managerPath = `${ENTERPRISE}:manager`;
    if (op === 'remove') return [{ op, path: managerPath }];
    const m = lowerPath.endsWith('.value') ? coerceManager(typeof value === 'string' ? value : value?.value) : coerceManager(value);
    return m === null ? [{ op: 'remove', path: managerPath }] : [{ op, path: managerPath, value: m }];
  }
  if ((op === 'add' || op === 'replace') && (value === null || value === '' || (Array.isArray(value) && value.length === 0 && op === 'add'))) {
    // Null update (Microsoft SCIM_Null_Update_Test): replace with "" or null clears the attribute.
    return value === null || value === '' ? normalizeOperation({ op: 'remove', path }, current, schema) : [];
  }
  if (op === 'add' || op === 'replace') {
    const m = TYPE_FILTER.exec(path);
    if (m && TYPED_MULTI.has(m[1]!.toLowerCase()) && !hasTyped(current, m[1]!, m[2]!)) {
      // A value-filter path whose element does not exist yet creates it (Entra sends these, SCIM-SDK#416), not noTarget.
      const element = m[3] ? { type: m[2]!.toLowerCase(), [m[3]]: value } : { ...(isObj(value) ? value : { value }), type: m[2]!.toLowerCase() };
      return [{ op: 'add', path: m[1]!, value: [normalizeBody(element, 1, m[1]!.toLowerCase())] }];
    }
  }
  if (ASSIGNMENTS.has(lowerPath)) {
    if (op === 'remove') return value === undefined ? [{ op, path }] : removeAssignments(lowerPath, value, current);
    value = assignmentList(value);
  }
  if (op === 'remove' && !/^members/i.test(path)) return [{ op, path }]; // a value on remove is not RFC; ignore it
  return [{ op, path, value: normalizeBody(value, 1, lowerPath.split(/[[.]/)[0]) }];
}

/**
 * Whether normalising this operation depends on the resource's state: a value-filter path (does the typed element
 * exist yet?) or the whole enterprise extension (which of its attributes are set?). Such an operation is normalised
 * against the resource as the operations before it left it, not as stored.
 */
export function dependsOnState(raw: unknown): boolean {
  if (!isObj(raw)) return false;
  // Removing assignments by value keeps the others: which ones depends on the list as the operations before left it.
  if (typeof raw.op === 'string' && raw.op.trim().toLowerCase() === 'remove' && raw.value !== undefined && typeof raw.path === 'string' && ASSIGNMENTS.has(raw.path.trim().toLowerCase())) return true;
  const paths = typeof raw.path === 'string' && raw.path.trim() !== '' ? [raw.path] : isObj(raw.value) ? Object.keys(raw.value) : [];
  return paths.some((p) => p.includes('[') || p.trim().toLowerCase() === ENTERPRISE.toLowerCase());
}
