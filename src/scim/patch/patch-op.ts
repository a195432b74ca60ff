/**
 * The one front door of PATCH (RFC 7644 §3.5.2) for users and groups: the PatchOp message is checked here, the same
 * way for both, before a resource applies (user-patch.ts) or plans (group-patch.ts) its operations. The parser
 * returns a result and never throws; each resource words a problem as it always has (its clients have seen those
 * messages), so a problem is returned as what is wrong, not as text.
 */
import { isObj } from '../shared/json.js';

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Bounded work per request: at most this many operations in one PATCH. */
export const MAX_OPERATIONS = 1000;

export type PatchVerb = 'add' | 'remove' | 'replace';

/** One operation as sent, with its verb checked and lower-cased; `path` (if any) is the string sent, untrimmed. */
export interface CheckedOperation { op: PatchVerb; path?: string; value?: unknown }

export interface PatchMessage {
  schemas: unknown[];
  operations: CheckedOperation[];
  /** The member name Operations was found under (RFC 7643 §2.1 makes attribute names case-insensitive). */
  operationsKey: string;
}

/** What is wrong with a message; `index` counts operations from 1, as the client does. */
export type PatchOpProblem =
  | { kind: 'body' }
  | { kind: 'schemas' }
  | { kind: 'operations'; key: string | undefined; value: unknown }
  | { kind: 'tooMany' }
  | { kind: 'operation'; index: number; fault: 'notObject' | 'op' | 'path'; operation: unknown };

export type PatchOpResult = { ok: true; value: PatchMessage } | { ok: false; error: PatchOpProblem };

const VERBS: readonly string[] = ['add', 'remove', 'replace'];

/** `Operations`, else `operations`, else any other casing of the name. */
function operationsKey(message: Record<string, unknown>): string | undefined {
  for (const k of ['Operations', 'operations']) if (message[k] != null) return k;
  return Object.keys(message).find((k) => k.toLowerCase() === 'operations');
}

/**
 * Check a PatchOp message: an object whose `schemas` lists the PatchOp URN, whose `Operations` is a list of 1 to
 * MAX_OPERATIONS operations, each an object with `op` add, remove or replace (any case, surrounding blanks ignored)
 * and a string `path` if it has one. What an operation may target is the resource's to say.
 */
export function parsePatchOp(message: unknown): PatchOpResult {
  if (!isObj(message)) return { ok: false, error: { kind: 'body' } };
  const schemas = message.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_OP)) return { ok: false, error: { kind: 'schemas' } };
  const key = operationsKey(message);
  const ops = key === undefined ? undefined : message[key];
  if (!Array.isArray(ops) || ops.length === 0) return { ok: false, error: { kind: 'operations', key, value: ops } };
  if (ops.length > MAX_OPERATIONS) return { ok: false, error: { kind: 'tooMany' } };
  const operations: CheckedOperation[] = [];
  for (const [i, raw] of ops.entries()) {
    const fault = (f: 'notObject' | 'op' | 'path'): PatchOpResult => ({ ok: false, error: { kind: 'operation', index: i + 1, fault: f, operation: raw } });
    if (!isObj(raw)) return fault('notObject');
    const op = typeof raw.op === 'string' ? raw.op.trim().toLowerCase() : '';
    if (!VERBS.includes(op)) return fault('op');
    if (raw.path !== undefined && typeof raw.path !== 'string') return fault('path');
    operations.push({ op: op as PatchVerb, ...(raw.path !== undefined ? { path: raw.path } : {}), ...('value' in raw ? { value: raw.value } : {}) });
  }
  return { ok: true, value: { schemas, operations, operationsKey: key! } };
}
