/**
 * SCIM /Bulk (RFC 7644 §3.7): the operations of a BulkRequest, run in the order bulk-plan.ts gives, each through the
 * same resource handler as the single request (UserResource, GroupResource): same validation, uniqueness, group sync,
 * audit rows and outbox entries, in the operation's own transaction. So a bulk create is, afterwards, exactly a
 * single create, and an operation that fails leaves nothing behind and does not undo the ones before it ("The service
 * provider MUST continue performing as many changes as possible and disregard partial failures", §3.7).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ScimContext } from '../use-cases/context.js';
import type { ResourceResult } from '../shared/resource-result.js';
import { errorBody, type ErrorBody } from '../shared/errors.js';
import { etagOf } from '../shared/versions.js';
import { normalizeBody } from '../shared/client-dialects.js';
import { toAppError } from '../../errors/error-mapping.js';
import { BULK_RESPONSE, type BulkOperation, type BulkRequest, type ResourceKind } from '../bulk/bulk-request.js';
import { batchesOf, planBulk, referencesOf, type Step } from '../bulk/bulk-plan.js';
import { referenceOf, resolveReferences } from '../bulk/bulk-references.js';
import { UserResource } from './users.js';
import { GroupResource } from './groups.js';

/** One entry of the BulkResponse (§3.7.3): statuses are strings, as in the RFC's examples. */
export interface BulkResponseEntry {
  method: string;
  bulkId?: string;
  location?: string;
  version?: string;
  status: string;
  response?: ErrorBody;
}

export interface BulkResponse { schemas: string[]; Operations: BulkResponseEntry[] }

export interface BulkRun {
  /** Take one rate-limit token for an operation after the first (the request itself took one); false: over the limit. */
  takeToken?: () => Promise<boolean>;
  /** True once the client has gone: nobody will read the answer, so nothing more is run for it. */
  abandoned?: () => boolean;
  /**
   * How many independent user creates may run at once (bulk-plan.ts batchesOf): 1 on SQLite, whose one connection
   * runs one transaction at a time anyway; a few on PostgreSQL, where each operation otherwise waits out its round
   * trips alone. Default 1.
   */
  concurrency?: number;
}

const RESOURCES = { Users: UserResource, Groups: GroupResource } as const;
/** How many other bulkIds of an unbreakable cycle an entry names. */
const CYCLE_NAMED = 5;

class Failure {
  constructor(readonly status: number, readonly detail: string) {}
}

/** Run a bulk job and answer its BulkResponse. Never throws for an operation's failure: that is the operation's entry. */
export async function runBulk(request: BulkRequest, base: ScimContext, run: BulkRun = {}): Promise<BulkResponse> {
  const ops = request.operations;
  const creators = new Map<string, BulkOperation>();
  for (const op of ops) if (op.method === 'POST' && op.bulkId !== undefined) creators.set(op.bulkId, op);
  const ids = new Map<string, string>();
  const entries: (BulkResponseEntry | undefined)[] = new Array(ops.length);
  let errors = 0;
  let first = true;
  let throttled = false;

  const locationOf = (kind: ResourceKind, id: string) => `${base.config.publicUrl}/${kind}/${id}`;
  const entryOf = (op: BulkOperation): BulkResponseEntry => ({ method: op.method, ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}), status: '' });
  const fail = (entry: BulkResponseEntry, status: number, scimType: string | null, detail: string): BulkResponseEntry => {
    errors++;
    return { ...entry, status: String(status), response: errorBody(status, scimType, detail) };
  };

  /** Why a referenced bulkId has no id (its POST is not in the request, or failed), or undefined when all resolve. */
  const unresolved = (refs: Iterable<string>): string | undefined => {
    for (const ref of refs) {
      if (ids.has(ref)) continue;
      const creator = creators.get(ref);
      return creator
        ? `bulkId "${ref.slice(0, 60)}" cannot be resolved: operation ${creator.index + 1}, which creates it, failed`
        : `bulkId "${ref.slice(0, 60)}" cannot be resolved: no POST in this request has that bulkId`;
    }
    return undefined;
  };

  /** The resource handler's answer for one operation, or the SCIM error it failed with. */
  const dispatch = async (op: BulkOperation, method: string, id: string | undefined, data: unknown, ifMatch: string | undefined): Promise<ResourceResult> => {
    // Once one operation is refused for the rate limit, every later one is too, without asking again: the bucket
    // refills while the job runs, and a later operation let through after an earlier one was refused would be
    // applied out of order (a retried PATCH of the refused one would then undo the later one's change).
    if (throttled || (!first && run.takeToken && !(await run.takeToken()))) {
      throttled = true;
      throw new Failure(429, 'too many requests: the rate limit of this token was reached during the bulk job; retry this operation, and those after it, later');
    }
    first = false;
    const ctx: ScimContext = { ...base, method, ifMatch, query: {} };
    const Resource = RESOURCES[op.target!.kind];
    switch (method) {
      case 'POST': return new (Resource as any)({}).write(normalizeBody(data), ctx);
      case 'PUT': return new Resource(id, {}).write(normalizeBody(data), ctx);
      case 'PATCH': return new Resource(id, {}).patch(data, ctx);
      default: return new Resource(id).dispose(ctx);
    }
  };

  /** The error an operation failed with, as the client may see it (an internal failure's text never leaves the log). */
  const errorOf = (err: unknown): { status: number; scimType: string | null; detail: string } => {
    if (err instanceof Failure) return { status: err.status, scimType: null, detail: err.detail };
    const e = toAppError(err);
    if (e.internal) base.log.error('bulk operation failed', { requestId: base.requestId, error: String((e.cause as any)?.stack ?? e.cause).slice(0, 2000) });
    return { status: e.status, scimType: e.scimType, detail: e.detail };
  };

  const runOperation = async (op: BulkOperation, data: unknown): Promise<BulkResponseEntry> => {
    const entry = entryOf(op);
    if (op.fault) return fail(entry, op.fault.status, op.fault.scimType, op.fault.detail);
    const target = op.target!;
    const pathRef = referenceOf(target.id);
    const id = pathRef !== undefined ? ids.get(pathRef) : target.id;
    const located = id !== undefined ? { ...entry, location: locationOf(target.kind, id) } : entry;
    const why = unresolved(referencesOf(op, data));
    if (why) return fail(located, 409, null, why);
    try {
      const result = await dispatch(op, op.method, id, resolveReferences(data, ids), op.version);
      const status = op.method === 'POST' ? 201 : op.method === 'DELETE' ? 204 : result.body !== undefined ? 200 : 204;
      const createdId = op.method === 'POST' ? (result.body as { id?: string } | undefined)?.id : undefined;
      if (createdId !== undefined && op.bulkId !== undefined) ids.set(op.bulkId, createdId);
      return {
        ...located,
        ...(result.location !== undefined ? { location: result.location } : {}),
        ...(result.version !== undefined ? { version: etagOf(result.version) } : {}),
        status: String(status),
      };
    } catch (err) {
      const e = errorOf(err);
      return fail(located, e.status, e.scimType, e.detail);
    }
  };

  /** A POST split for a cycle: patch in what it was created without, now that the others exist. */
  const complete = async (op: BulkOperation, patch: Record<string, unknown>, entry: BulkResponseEntry): Promise<BulkResponseEntry> => {
    const id = op.bulkId !== undefined ? ids.get(op.bulkId) : undefined;
    if (id === undefined) return entry; // its POST failed, and was counted
    const why = unresolved(referencesOf(op, patch));
    const prefix = 'created, but its circular references could not be resolved (RFC 7644 §3.7.1)';
    if (why) return fail(entry, 409, null, `${prefix}: ${why}`);
    try {
      const result = await dispatch(op, 'PATCH', id, resolveReferences(patch, ids), undefined);
      return { ...entry, ...(result.version !== undefined ? { version: etagOf(result.version) } : {}) };
    } catch (err) {
      const e = errorOf(err);
      return fail(entry, 409, null, `${prefix}: ${e.detail}`);
    }
  };

  const perform = async (step: Step): Promise<void> => {
    const op = ops[step.index]!;
    if (step.kind === 'run') entries[op.index] = await runOperation(op, step.data);
    else if (step.kind === 'complete') entries[op.index] = await complete(op, step.patch, entries[op.index]!);
    else {
      // At most a few of the others by name: every operation of the cycle gets this entry, so naming all of them made
      // the answer quadratic in the cycle's length (a 0.3 MB ring of 1,000 POSTs was answered with 64 MB).
      const all = step.bulkIds.filter((b) => b !== op.bulkId);
      const named = all.slice(0, CYCLE_NAMED).map((b) => `"${b.slice(0, 60)}"`).join(', ');
      const others = all.length > CYCLE_NAMED ? `${named} and ${all.length - CYCLE_NAMED} more` : named;
      entries[op.index] = fail(entryOf(op), 409, null, `circular bulkId references (with ${others || 'itself'}) cannot be resolved: none of the resources on the cycle can be created without them`);
    }
  };

  // failOnErrors must stop right after the N-th error, so with it nothing runs beside anything else.
  const concurrency = request.failOnErrors === undefined ? Math.max(1, run.concurrency ?? 1) : 1;
  for (const batch of batchesOf(planBulk(ops), ops, concurrency > 1)) {
    if (request.failOnErrors !== undefined && errors >= request.failOnErrors) break;
    if (run.abandoned?.()) break;
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, async () => {
      while (next < batch.length) {
        // Back to the event loop before each operation. On SQLite the driver is synchronous, so a job's awaits are
        // all microtasks: without this a 1,000-operation job held the process for its whole run (2 s: no other
        // request answered, and a client that had gone was only noticed after the last operation).
        await yieldToEventLoop();
        if (next >= batch.length || run.abandoned?.()) return;
        await perform(batch[next++]!);
      }
    }));
  }
  return { schemas: [BULK_RESPONSE], Operations: entries.filter((e): e is BulkResponseEntry => e !== undefined) };
}
