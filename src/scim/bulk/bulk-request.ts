/**
 * The BulkRequest message (RFC 7644 §3.7): checked here before anything runs, as a parser that returns a result.
 * What is wrong with the request as a whole (its schemas, `Operations`, `failOnErrors`, the operation count, a bulkId
 * used twice) refuses the request; what is wrong with one operation (method, path, data) is that operation's error
 * and the others still run (§3.7: "continue performing as many changes as possible").
 */
import { isObj } from '../shared/json.js';
import type { ScimType } from '../shared/errors.js';

export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

export type BulkMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ResourceKind = 'Users' | 'Groups';

/** A SCIM error an operation is answered with instead of running. */
export interface OperationFault { status: number; scimType: ScimType | null; detail: string }

/** One operation, as sent and as understood. `index` counts from 0 in request order. */
export interface BulkOperation {
  index: number;
  /** The method as sent (echoed in the response), upper-cased. */
  method: string;
  bulkId: string | undefined;
  version: string | undefined;
  /** The path as sent (bounded), for a response entry of an operation that could not be understood. */
  path: string;
  /** Understood: the resource type, and the target id (a server id, or `bulkId:x` to resolve) for PUT/PATCH/DELETE. */
  target?: { kind: ResourceKind; id: string | undefined };
  data: unknown;
  /** Set when the operation is malformed: it is answered with this and never runs. */
  fault?: OperationFault;
}

export interface BulkRequest { failOnErrors: number | undefined; operations: BulkOperation[] }

export interface BulkLimits { maxOperations: number }

export type BulkRequestResult = { ok: true; value: BulkRequest } | { ok: false; error: OperationFault };

const METHODS: readonly string[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
const PATH = /^\/(Users|Groups)(?:\/([^/]+))?\/?$/i;
const MAX_BULK_ID = 200;

const refused = (status: number, scimType: ScimType | null, detail: string): BulkRequestResult => ({ ok: false, error: { status, scimType, detail } });

/** A member by any casing of its name (RFC 7643 §2.1: attribute names are case-insensitive). */
function member(o: Record<string, unknown>, name: string): unknown {
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Check one operation; a malformed one carries its fault and is answered without running. */
function operation(raw: unknown, index: number): BulkOperation {
  const o = isObj(raw) ? raw : {};
  const method = typeof member(o, 'method') === 'string' ? (member(o, 'method') as string).toUpperCase().slice(0, 16) : '';
  const path = (text(member(o, 'path')) ?? '').slice(0, 300);
  const bulkId = text(member(o, 'bulkId'));
  const version = text(member(o, 'version'));
  const op: BulkOperation = { index, method, bulkId, version, path, data: member(o, 'data') };
  const fault = (status: number, scimType: ScimType | null, detail: string): BulkOperation => ({ ...op, fault: { status, scimType, detail: `operation ${index + 1}: ${detail}` } });

  if (!isObj(raw)) return fault(400, 'invalidSyntax', 'an operation must be an object');
  // A version that is not a string (a number, an object) must not be dropped as if absent: the client asked for a
  // precondition (RFC 7644 §3.7: version is the If-Match of the operation), and running without it could overwrite a
  // change it meant to guard against. null is unassigned (RFC 7643 §2.5), so it is no version.
  const rawVersion = member(o, 'version');
  if (rawVersion !== undefined && rawVersion !== null && typeof rawVersion !== 'string') return fault(400, 'invalidSyntax', 'version must be a string: the ETag of the resource (RFC 7644 §3.7)');
  if (!METHODS.includes(method)) return fault(400, 'invalidSyntax', 'method must be one of POST, PUT, PATCH, DELETE');
  const m = PATH.exec(path);
  if (!m) return fault(400, 'invalidPath', 'path must be /Users or /Groups, followed by /{id} except for POST');
  const kind = (m[1]!.toLowerCase() === 'users' ? 'Users' : 'Groups') as ResourceKind;
  const id = m[2];
  if (method === 'POST' && id !== undefined) return fault(400, 'invalidPath', 'a POST targets the resource type endpoint (/Users or /Groups), not a resource');
  if (method !== 'POST' && id === undefined) return fault(400, 'invalidPath', `a ${method} targets one resource: /${kind}/{id}`);
  if (method === 'POST' && (bulkId === undefined || bulkId === '')) return fault(400, 'invalidSyntax', 'a POST must have a bulkId (RFC 7644 §3.7)');
  if (method !== 'DELETE' && !isObj(op.data)) return fault(400, 'invalidSyntax', `a ${method} must have data: the body a single ${method} would send`);
  return { ...op, target: { kind, id } };
}

/** Parse a BulkRequest body. `maxOperations` over is a 413 naming the limit (RFC 7644 §3.7.4). */
export function parseBulkRequest(body: unknown, limits: BulkLimits): BulkRequestResult {
  if (!isObj(body)) return refused(400, 'invalidSyntax', 'the request body must be a BulkRequest object');
  const schemas = member(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === BULK_REQUEST.toLowerCase())) {
    return refused(400, 'invalidSyntax', `a BulkRequest must list the schema ${BULK_REQUEST}`);
  }
  const raw = member(body, 'Operations');
  if (!Array.isArray(raw) || raw.length === 0) return refused(400, 'invalidSyntax', 'Operations must be a non-empty array');
  if (raw.length > limits.maxOperations) {
    return refused(413, null, `The number of operations (${raw.length}) exceeds the maxOperations (${limits.maxOperations}).`);
  }
  const fail = member(body, 'failOnErrors');
  if (fail !== undefined && !(Number.isInteger(fail) && (fail as number) >= 1)) {
    return refused(400, 'invalidValue', 'failOnErrors must be a positive integer: the number of errors after which processing stops');
  }
  const operations = raw.map(operation);
  const seen = new Map<string, number>();
  for (const op of operations) {
    if (op.bulkId === undefined) continue;
    if (op.bulkId.length > MAX_BULK_ID) return refused(400, 'invalidValue', `operation ${op.index + 1}: bulkId is longer than ${MAX_BULK_ID} characters`);
    const first = seen.get(op.bulkId);
    // Two operations with one bulkId make every reference to it ambiguous: nothing can be run as the client meant.
    if (first !== undefined) return refused(400, 'invalidValue', `bulkId "${op.bulkId.slice(0, 60)}" is used by operations ${first + 1} and ${op.index + 1}; it must be unique within the request`);
    seen.set(op.bulkId, op.index);
  }
  return { ok: true, value: { failOnErrors: fail as number | undefined, operations } };
}
