/**
 * PATCH for Groups (RFC 7644 §3.5.2) parsed into a plan of targeted changes, never applied by rewriting the member
 * list. Accepts the dialects real clients send (Entra's SCIM endpoint tutorial and "Known issues" page; Okta's SCIM
 * 2.0 Protocol Reference):
 * Entra's `Remove` + `path: members` + value list (removes only those listed), `members[value eq "id"]`,
 * Okta's no-path replace of `{id, displayName}`, add with a bare string id (MS reference Postman suite).
 * The parser returns a result and never throws.
 */
import { parseAttrPath } from '../query/filter-parse.js';
import type { FilterNode } from '../../store/filter-ast.js';
import { isObj } from '../shared/json.js';
import { displayNameProblem, externalIdProblem } from '../shared/group-values.js';
import { MAX_OPERATIONS, PATCH_OP, parsePatchOp, type PatchOpProblem, type CheckedOperation } from './patch-op.js';

export type GroupChange =
  | { kind: 'addMembers'; ids: string[] }
  | { kind: 'removeMembers'; ids: string[] }
  | { kind: 'clearMembers' }
  | { kind: 'replaceMembers'; ids: string[] }
  | { kind: 'displayName'; value: string }
  | { kind: 'externalId'; value: string };

export type PlanError = { scimType: 'invalidSyntax' | 'invalidPath' | 'invalidValue' | 'mutability' | 'noTarget' | 'invalidFilter'; detail: string };
export type PlanResult = { ok: true; changes: GroupChange[] } | { ok: false; error: PlanError };

const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:group:';
const err = (scimType: PlanError['scimType'], detail: string): PlanResult => ({ ok: false, error: { scimType, detail } });

/** Member ids from `[{value}]`, `{value}`, or a bare id string; `$ref: null` and `display` are ignored. */
function memberIds(value: unknown): string[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  const ids: string[] = [];
  for (const m of list) {
    const v = typeof m === 'string' ? m : isObj(m) ? (m.value ?? m.Value) : undefined;
    if (typeof v !== 'string' || !v) return undefined;
    ids.push(v);
  }
  return ids;
}

/** `value eq "a" or value eq "b"` -> [a, b]; anything else is not a member selector. */
function selectedValues(f: FilterNode): string[] | undefined {
  if (f.kind === 'or') {
    const l = selectedValues(f.left);
    const r = selectedValues(f.right);
    return l && r ? [...l, ...r] : undefined;
  }
  if (f.kind === 'compare' && f.op === 'eq' && f.path.attr.toLowerCase() === 'value' && !f.path.sub && typeof f.value === 'string') return [f.value];
  return undefined;
}

function attrChange(op: string, attr: string, value: unknown, groupId: string): PlanResult {
  switch (attr) {
    case 'members': {
      if (op === 'remove') {
        if (value === undefined || value === null) return { ok: true, changes: [{ kind: 'clearMembers' }] };
        const ids = memberIds(value);
        return ids ? { ok: true, changes: [{ kind: 'removeMembers', ids }] } : err('invalidValue', 'members must be a list of {"value": "<user id>"}');
      }
      const ids = value === null ? [] : memberIds(value ?? []);
      if (!ids) return err('invalidValue', 'members must be a list of {"value": "<user id>"}');
      if (op === 'add') return { ok: true, changes: ids.length ? [{ kind: 'addMembers', ids }] : [] };
      return { ok: true, changes: [ids.length ? { kind: 'replaceMembers', ids } : { kind: 'clearMembers' }] };
    }
    case 'displayname':
      if (op === 'remove') return err('mutability', 'displayName is required and cannot be removed');
      if (displayNameProblem(value)) return err('invalidValue', displayNameProblem(value)!);
      return { ok: true, changes: [{ kind: 'displayName', value: value as string }] };
    case 'externalid':
      if (op === 'remove') return err('mutability', 'externalId is the binding key; replace it instead of removing it');
      if (typeof value !== 'string' || !value) return err('invalidValue', 'externalId must be a non-empty string');
      if (externalIdProblem(value)) return err('invalidValue', externalIdProblem(value)!);
      return { ok: true, changes: [{ kind: 'externalId', value }] };
    case 'id':
      if (value === groupId && op !== 'remove') return { ok: true, changes: [] }; // Okta echoes the id (Okta's SCIM reference)
      return err('mutability', 'id is read-only');
    case 'schemas':
    case 'meta':
      return { ok: true, changes: [] };
    default:
      return err('invalidPath', `unknown or unsupported attribute "${attr.slice(0, 80)}" for Group`);
  }
}

/** How group PATCH has always worded a malformed message (the checks are patch-op.ts's). */
function problem(p: PatchOpProblem): PlanResult {
  switch (p.kind) {
    case 'body': return err('invalidSyntax', 'PatchOp body must be an object');
    case 'schemas': return err('invalidSyntax', `PatchOp body must declare the schema ${PATCH_OP}`);
    case 'operations': return err('invalidValue', 'PatchOp body must have at least one operation in Operations');
    case 'tooMany': return err('invalidValue', `at most ${MAX_OPERATIONS} operations per PATCH`);
    case 'operation':
      if (p.fault === 'notObject') return err('invalidSyntax', `operation ${p.index} must be an object`);
      if (p.fault === 'op') return err('invalidSyntax', `operation ${p.index}: op must be add, remove or replace`);
      return err('invalidPath', `operation ${p.index}: path must be a string`);
  }
}

/** Check the PatchOp message (patch-op.ts) and plan its operations. */
export function planGroupPatch(message: unknown, groupId: string): PlanResult {
  const parsed = parsePatchOp(message);
  if (!parsed.ok) return problem(parsed.error);
  // Group PATCH reads Operations under these two spellings only; another casing is no operations at all.
  if (parsed.value.operationsKey !== 'Operations' && parsed.value.operationsKey !== 'operations') return problem({ kind: 'operations', key: undefined, value: undefined });
  return planOperations(parsed.value.operations, groupId);
}

/** The store changes that carry out `ops`, in order; the first operation that cannot be planned fails them all. */
function planOperations(ops: CheckedOperation[], groupId: string): PlanResult {
  const changes: GroupChange[] = [];
  for (const [i, raw] of ops.entries()) {
    const op = raw.op;
    const value = raw.value;
    let path = raw.path?.trim();
    if (path === '') path = undefined;

    if (path === undefined) {
      if (op === 'remove') return err('noTarget', `operation ${i + 1}: remove needs a path`);
      if (!isObj(value)) return err('invalidValue', `operation ${i + 1}: without a path, value must be an object of attributes`);
      for (const [k, v] of Object.entries(value)) {
        const attr = k.toLowerCase().startsWith(GROUP_URN) ? k.slice(GROUP_URN.length) : k;
        const r = attrChange(op, attr.toLowerCase(), v, groupId);
        if (!r.ok) return r;
        changes.push(...r.changes);
      }
      continue;
    }

    const bare = path.toLowerCase().startsWith(GROUP_URN) ? path.slice(GROUP_URN.length) : path;
    const parsed = parseAttrPath(bare);
    if (!parsed.ok) return err('invalidPath', `operation ${i + 1}: ${parsed.error}`);
    const attr = parsed.path.attr.toLowerCase();
    if (parsed.filter) {
      // members[value eq "id"]: only a removal selector makes sense (RFC 7644 §3.5.2.2); sub-attributes of a
      // member are read-only.
      if (attr !== 'members' || op !== 'remove' || parsed.sub) return err('invalidPath', `operation ${i + 1}: only remove is supported on a filtered members path`);
      const ids = selectedValues(parsed.filter);
      if (!ids) return err('invalidFilter', `operation ${i + 1}: select members with value eq "<id>" (joined by or)`);
      changes.push({ kind: 'removeMembers', ids });
      continue;
    }
    if (parsed.path.sub || (parsed.path as any).uri) return err('invalidPath', `operation ${i + 1}: unsupported path "${path.slice(0, 80)}"`);
    const r = attrChange(op, attr, value, groupId);
    if (!r.ok) return r;
    changes.push(...r.changes);
  }
  return { ok: true, changes };
}
