/**
 * What an admin does with the connector's outbox (admin API and CLI alike): list what waits or is parked, put a
 * parked delivery back in line, or drop it for good. Each retry and discard is audited in the transaction that makes
 * it, so the log says who took a failure out of the parked list and what the failure was.
 */
import type { Knex } from 'knex';
import { writeAudit, writeAuditMany, type AuditEntry } from '../store/audit.js';
import { discardParked, getOutboxRow, listOutbox, parseKey, unpark, type EntityKey, type OutboxRow } from '../store/outbox.js';
import { conflict, notFound } from '../workspace/errors.js';

export interface DeliveryView {
  id: number;
  entityKey: string;
  /** The entity the row is about, or null when the key is not one the connector knows (such a row is parked). */
  entity: EntityKey | null;
  operation: string;
  state: 'pending' | 'parked';
  attempts: number;
  createdAt: string;
  /** When a pending row is due (after a backoff or a rate-limit pause). */
  availableAt: string;
  /** Why the last attempt failed (Mattermost's status and error id), or null. */
  lastError: string | null;
  requestId: string | null;
  /** An instance is delivering it right now. */
  leased: boolean;
}

export const deliveryOut = (r: OutboxRow): DeliveryView => ({
  id: r.id, entityKey: r.entityKey, entity: parseKey(r.entityKey), operation: r.operation, state: r.state, attempts: r.attempts,
  createdAt: new Date(r.createdAt).toISOString(), availableAt: new Date(r.availableAt).toISOString(),
  lastError: r.lastError, requestId: r.requestId, leased: r.leased,
});

export interface DeliveryPage { items: DeliveryView[]; next: string | null }

/** One page in id order (oldest first), keyset-paged: `next` is the id to pass as `afterId` for the next page. */
export async function listDeliveries(db: Knex, q: { state?: 'pending' | 'parked' | undefined; afterId?: number | undefined; limit: number }): Promise<DeliveryPage> {
  const rows = await listOutbox(db, 'mattermost', { limit: q.limit, ...(q.state ? { state: q.state } : {}), ...(q.afterId ? { afterId: q.afterId } : {}) });
  return { items: rows.map(deliveryOut), next: rows.length === q.limit ? String(rows[rows.length - 1]!.id) : null };
}

/** The id an audit row of a delivery names: the entity's own id (the person, for a membership), as the worker's rows do. */
const resourceIdOf = (entityKey: string): string | null => {
  const k = parseKey(entityKey);
  if (!k) return null;
  return 'id' in k ? k.id : k.userId;
};

const auditOf = (operation: 'connector_retry' | 'connector_discard', row: OutboxRow, actor: string, requestId?: string): AuditEntry => ({
  actor, requestId, operation, resourceType: 'Connector', resourceId: resourceIdOf(row.entityKey), cause: `outbox:${row.id}`,
  after: { deliveryId: row.id, entityKey: row.entityKey, lastError: row.lastError },
});

/** The parked row `id`, read in `tx`; a 404 when there is none, a 409 when it is not parked (pending rows are the worker's). */
async function parkedRow(tx: Knex.Transaction, id: number): Promise<OutboxRow> {
  const row = await getOutboxRow(tx, 'mattermost', id);
  if (!row) throw notFound('delivery', String(id));
  if (row.state !== 'parked') throw conflict('not_parked', `delivery ${id} is not parked (it is ${row.state}); only parked deliveries can be retried or discarded`);
  return row;
}

/** A parked delivery back in line, due now; the worker of any instance picks it up. */
export async function retryDelivery(db: Knex, id: number, actor: string, requestId?: string): Promise<DeliveryView> {
  return db.transaction(async (tx) => {
    const row = await parkedRow(tx, id);
    // Another admin may have retried or discarded it since the read: the conditional update says who won.
    if (!(await unpark(tx, 'mattermost', id, Date.now()))) throw conflict('not_parked', `delivery ${id} is no longer parked`);
    await writeAudit(tx, auditOf('connector_retry', row, actor, requestId));
    return deliveryOut((await getOutboxRow(tx, 'mattermost', id))!);
  });
}

/** A parked delivery dropped for good: Mattermost will not see that change unless a later one of the entity goes through. */
export async function discardDelivery(db: Knex, id: number, actor: string, requestId?: string): Promise<DeliveryView> {
  return db.transaction(async (tx) => {
    const row = await parkedRow(tx, id);
    if (!(await discardParked(tx, 'mattermost', id))) throw conflict('not_parked', `delivery ${id} is no longer parked`);
    await writeAudit(tx, auditOf('connector_discard', row, actor, requestId));
    return deliveryOut(row);
  });
}

const PAGE = 500;

/**
 * Every parked delivery back in line (after the admin fixed what parked them: a permission, a name clash), one
 * audit row each. Pages of 500 in id order, each its own transaction, so a large backlog holds no long lock.
 */
export async function retryAllParked(db: Knex, actor: string, requestId?: string): Promise<{ retried: number }> {
  let retried = 0;
  for (let after = 0; ;) {
    const page = await listOutbox(db, 'mattermost', { state: 'parked', afterId: after, limit: PAGE });
    if (!page.length) break;
    retried += await db.transaction(async (tx) => {
      const now = Date.now();
      const done: AuditEntry[] = [];
      for (const row of page) if (await unpark(tx, 'mattermost', row.id, now)) done.push(auditOf('connector_retry', row, actor, requestId));
      await writeAuditMany(tx, done);
      return done.length;
    });
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }
  return { retried };
}
