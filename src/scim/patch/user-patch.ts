/**
 * PATCH of one user (RFC 7644 §3.5.2) applied in memory with SCIMMY, in sequence: each operation sees what the
 * operations before it did. That matters for the client dialects client-dialects.ts rewrites against the resource's state:
 * Entra sends `addresses[type eq "work"].streetAddress`, `.locality` and `.postalCode` as three operations on a work
 * address that does not exist yet (Entra's SCIM endpoint tutorial, default mappings); the first creates it, the
 * others must fill that one in.
 */
import SCIMMY from 'scimmy';
import { scimError } from '../shared/errors.js';
import { dependsOnState, normalizeOperation, type PatchOperation } from '../shared/client-dialects.js';
import { isObj } from '../shared/json.js';
import { tidyLists } from '../shared/multi-valued.js';
import { ENTERPRISE } from '../../store/schema-urns.js';

import { MAX_OPERATIONS, PATCH_OP, type PatchMessage, type PatchOpProblem } from './patch-op.js';

type Json = Record<string, any>;

const userDefinition = () => (SCIMMY.Schemas.User as any).definition;
/**
 * An operation whose path names a readOnly attribute (id, meta, groups) is 400 mutability (RFC 7644 §3.5.2,
 * RFC 7643 §2.2); SCIMMY would drop it silently and answer 200. Read-only keys in a no-path value are ignored
 * instead, since Okta echoes the id there (Okta SCIM 2.0 Protocol Reference).
 */
function assertWritable(ops: PatchOperation[]): void {
  for (const o of ops) {
    if (typeof o?.path !== 'string') continue;
    let attribute: any;
    try {
      attribute = userDefinition().attribute(o.path.replace(/\[[^\]]*\]/g, ''));
    } catch {
      continue; // an unknown path: SCIMMY answers 400 invalidPath
    }
    if (attribute?.config?.mutable === false) throw scimError(400, 'mutability', `${o.path.slice(0, 100)} is read-only`);
  }
}

/** SCIMMY numbers operations within the message it was given; tell the client the number in its own message. */
function renumber(err: unknown, origin: number[]): unknown {
  if (err instanceof Error && typeof err.message === 'string') {
    err.message = err.message.replace(/\boperation (\d+)\b/g, (all, n) => (origin[Number(n) - 1] ? `operation ${origin[Number(n) - 1]}` : all));
  }
  return err;
}

/** The attribute a path starts in, lower-cased: `emails` for `emails[type eq "work"].value`; the extension as a whole. */
function attributeOf(path: string): string {
  const p = path.trim().toLowerCase();
  return p.startsWith(ENTERPRISE.toLowerCase()) ? ENTERPRISE.toLowerCase() : p.replace(/^urn:[^[\]]*:/, '').split(/[[.]/)[0]!;
}

/** The attributes an operation that depends on state reads; `*` for a no-path value that is not an object. */
function readsOf(raw: Json): string[] {
  if (typeof raw.path === 'string' && raw.path.trim() !== '') return [attributeOf(raw.path)];
  return isObj(raw.value) ? Object.keys(raw.value).map(attributeOf) : ['*'];
}

/**
 * The attributes whose elements an operation may add or remove; `*` for a no-path value. A sub-attribute write into
 * elements a filter selects (`emails[type eq "work"].display`) changes no element's existence, so it is left out.
 */
function writesOf(o: PatchOperation): string[] {
  if (typeof o.path !== 'string') return ['*'];
  if (o.op !== 'remove' && /\]\.\w+$/.test(o.path)) return [];
  return [attributeOf(o.path)];
}

/**
 * How user PATCH has always worded a malformed message (patch-op.ts checks it): SCIMMY's PatchOp validation words,
 * which user PATCH answered with before the checks moved in front of it.
 */
export function userPatchError(p: PatchOpProblem): Error {
  switch (p.kind) {
    case 'body': return scimError(400, 'invalidSyntax', 'PatchOp body must be an object');
    case 'schemas': return scimError(400, 'invalidSyntax', `PatchOp request body messages must exclusively specify schema as '${PATCH_OP}'`);
    case 'operations':
      // SCIMMY reads the exact name `Operations`: present but not a list, or absent (under another casing) or empty.
      return p.key === 'Operations' && p.value !== undefined && !Array.isArray(p.value)
        ? scimError(400, 'invalidValue', "PatchOp expects 'Operations' attribute of 'request' parameter to be an array")
        : scimError(400, 'invalidValue', "PatchOp request body must contain 'Operations' attribute with at least one operation");
    case 'tooMany': return scimError(400, 'invalidValue', `at most ${MAX_OPERATIONS} operations per PATCH`);
    case 'operation': {
      const { index, operation: raw } = p;
      if (p.fault === 'notObject') {
        const found = Array.isArray(raw) ? 'collection' : raw === null ? 'null' : typeof raw;
        return scimError(400, 'invalidValue', `PatchOp request body expected value type 'complex' for operation ${index} but found type '${found}'`);
      }
      const { op, path } = raw as Json;
      if (p.fault === 'op' && op === undefined) return scimError(400, 'invalidValue', `Missing required attribute 'op' from operation ${index} in PatchOp request body`);
      if (p.fault === 'op') return scimError(400, 'invalidSyntax', `Invalid operation '${typeof op === 'string' ? op.trim().toLowerCase() : op}' for operation ${index} in PatchOp request body`);
      return scimError(400, 'invalidPath', `Invalid path '${path}' for operation ${index} in PatchOp request body`);
    }
  }
}

/**
 * Apply a PatchOp message (checked by patch-op.ts) to `current` (the user's SCIM form). Answers the patched user, with
 * at most one primary value per multi-valued attribute (the value this PATCH made primary wins, RFC 7644 §3.5.2), or
 * undefined when the operations change nothing.
 *
 * Operations run in batches: one SCIMMY apply for a run of operations, and a new batch only before an operation
 * whose rewriting depends on state the batch may have changed, so the common PATCH is still one apply and 1000
 * operations on one address are not 1000 applies.
 */
export async function applyUserPatch(message: PatchMessage, current: Json): Promise<Json | undefined> {
  const ops = message.operations;
  let instance: any = new SCIMMY.Schemas.User(current);
  let state = current;
  let changed = false;
  let batch: PatchOperation[] = [];
  let origin: number[] = [];
  const flush = async () => {
    if (!batch.length) return;
    try {
      // No finaliser: SCIMMY would coerce what it returns once more. apply() answers a copy only when it changed.
      // SCIMMY also checks the message's schemas again, and more strictly: the PatchOp URN alone (RFC 7644 §3.5.2).
      const patched = await new SCIMMY.Messages.PatchOp({ schemas: message.schemas, Operations: batch } as any).apply(instance);
      if (patched) {
        instance = patched;
        state = JSON.parse(JSON.stringify(patched));
        changed = true;
      }
    } catch (err) {
      throw renumber(err, origin);
    } finally {
      batch = [];
      origin = [];
    }
  };
  // What the operations in the batch may have changed: a state-dependent operation starts a new batch only if it
  // reads one of those (Entra's address ops: the first creates the address, the second must see it).
  const written = new Set<string>();
  for (const [i, raw] of ops.entries()) {
    const verb = raw.op;
    const hasPath = typeof raw.path === 'string' && raw.path.trim() !== '';
    if (verb === 'replace' && raw.value === undefined) throw scimError(400, 'invalidValue', `Missing required attribute 'value' for 'replace' op of operation ${i + 1} in PatchOp request body`);
    if ((verb === 'add' || verb === 'replace') && !hasPath && raw.value === null) throw scimError(400, 'invalidValue', `Attribute 'value' must be an object when 'path' is empty for '${verb}' op of operation ${i + 1} in PatchOp request body`);
    if (dependsOnState(raw) && (written.has('*') || readsOf(raw).some((a) => a === '*' || written.has(a)))) {
      await flush();
      written.clear();
    }
    const normalized = normalizeOperation(raw, state, userDefinition());
    assertWritable(normalized);
    batch.push(...normalized);
    origin.push(...normalized.map(() => i + 1));
    for (const o of normalized) for (const a of writesOf(o)) written.add(a);
  }
  await flush();
  return changed ? tidyLists(state, current) : undefined;
}
