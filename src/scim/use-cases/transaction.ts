/**
 * The transaction every SCIM use-case runs in, and the retry that makes a lost race invisible to the client: the
 * user and group lifecycles both write conditionally on the version they read.
 */
import type { Knex } from 'knex';
import { classifyDbError } from '../../store/db.js';
import { scimError } from '../shared/errors.js';

/** A retryable conflict: the row moved between our read and our conditional write. A retry signal, never rendered. */
export class Conflict extends Error {}

/**
 * Run a use-case transaction, retrying when a concurrent writer moved the row or took a username first, or when
 * PostgreSQL aborted it for a deadlock or serialization failure (the whole transaction runs again, with a short
 * random pause so the contenders do not meet again in step).
 */
export async function withRetry<T>(ctx: { db: Knex }, fn: (tx: Knex.Transaction, attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.db.transaction((tx) => fn(tx, attempt));
    } catch (err) {
      const kind = classifyDbError(err);
      const aborted = kind.kind === 'concurrency';
      const retryable = err instanceof Conflict || aborted || (kind.kind === 'unique' && /username/.test(kind.constraint));
      if (!retryable || attempt >= 8) {
        if (err instanceof Conflict || aborted) throw scimError(409, null, 'the resource changed concurrently; retry');
        throw err;
      }
      if (aborted) await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
    }
  }
}
