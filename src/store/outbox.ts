/**
 * The transactional outbox: every change a consumer (the Mattermost connector; later a webhook) must see is queued
 * here in the transaction that makes it, so a change the IdP was told about cannot be lost and a change rolled back is
 * never sent. Changes are queued where they are audited (audit.ts calls `enqueueAudited`), the one place every change
 * already passes through.
 *
 * A row names an entity (`entity_key`), not a payload: the consumer makes the far side match the entity's current
 * state, so the rows of one entity that wait together are delivered by one effect, and a later delivery always carries
 * the latest state. Rows of one entity are delivered one at a time in id order (only the oldest pending row of an
 * entity, its head, can be claimed); different entities go concurrently. Several instances share the table through
 * leases taken with `FOR UPDATE SKIP LOCKED` (PostgreSQL); SQLite has one writer, so a plain UPDATE is the lease.
 */
import type { Knex } from 'knex';
import type { AuditEntry, AuditOperation } from './audit-entry.js';
import { dialectOf } from './db.js';
import { chunk, marks, rawRows } from './sql.js';

export type Consumer = 'mattermost';

/** Consumers enabled per database (keyed by its client config, which a transaction shares with its knex). */
const enabled = new WeakMap<object, readonly Consumer[]>();

/** Turn queuing on for `db` (server and CLI start-up, from settings); with none, nothing is queued. */
export function enableOutbox(db: Knex, consumers: readonly Consumer[]): void {
  enabled.set(db.client.config, consumers);
}

export function outboxConsumers(db: Knex | Knex.Transaction): readonly Consumer[] {
  return enabled.get(db.client.config) ?? [];
}

/** The operations Mattermost must see, and which entity each is about. Groups themselves never reach Mattermost: their
 * effect is the team and channel memberships the sync derives, each audited (and so queued) on its own. */
const USER_OPS = new Set<AuditOperation>(['create_user', 'restore_user', 'update_user', 'rebind_user', 'deactivate_user', 'reactivate_user', 'delete_user', 'purge_user', 'bind_user', 'import_user', 'change_role']);
const TEAM_OPS = new Set<AuditOperation>(['create_team', 'update_team', 'archive_team', 'import_team']);
const CHANNEL_OPS = new Set<AuditOperation>(['create_channel', 'update_channel', 'archive_channel', 'import_channel']);
const TEAM_MEMBER_OPS = new Set<AuditOperation>(['team_add', 'team_remove', 'team_promote', 'team_demote']);
const CHANNEL_MEMBER_OPS = new Set<AuditOperation>(['channel_add', 'channel_remove', 'channel_promote', 'channel_demote']);

export type EntityKey =
  | { kind: 'user'; id: string } | { kind: 'team'; id: string } | { kind: 'channel'; id: string }
  | { kind: 'team_member'; teamId: string; userId: string } | { kind: 'channel_member'; channelId: string; userId: string };

export function formatKey(k: EntityKey): string {
  if (k.kind === 'team_member') return `team_member:${k.teamId}:${k.userId}`;
  if (k.kind === 'channel_member') return `channel_member:${k.channelId}:${k.userId}`;
  return `${k.kind}:${k.id}`;
}

export function parseKey(s: string): EntityKey | null {
  const [kind, a, b] = s.split(':');
  if (!a) return null;
  if (kind === 'user' || kind === 'team' || kind === 'channel') return { kind, id: a };
  if (kind === 'team_member' && b) return { kind, teamId: a, userId: b };
  if (kind === 'channel_member' && b) return { kind, channelId: a, userId: b };
  return null;
}

/** The entity an audited change is about, or null when no consumer needs to see it. Membership rows carry the team or
 * channel id in `after` (added, role changed) or `before` (removed): audit.ts's member operations. */
export function entityOf(e: AuditEntry): EntityKey | null {
  const id = e.resourceId;
  if (!id) return null;
  if (USER_OPS.has(e.operation)) return { kind: 'user', id };
  if (TEAM_OPS.has(e.operation)) return { kind: 'team', id };
  if (CHANNEL_OPS.has(e.operation)) return { kind: 'channel', id };
  const side = (e.after ?? e.before) as Record<string, unknown> | undefined;
  if (TEAM_MEMBER_OPS.has(e.operation) && typeof side?.teamId === 'string') return { kind: 'team_member', teamId: side.teamId, userId: id };
  if (CHANNEL_MEMBER_OPS.has(e.operation) && typeof side?.channelId === 'string') return { kind: 'channel_member', channelId: side.channelId, userId: id };
  return null;
}

/** The outbox rows the changes among `entries` need, one per enabled consumer (none when no consumer is on). */
export function outboxRowsOf(db: Knex | Knex.Transaction, entries: readonly AuditEntry[]) {
  const consumers = outboxConsumers(db);
  if (!consumers.length) return [];
  const now = Date.now();
  const rows = [];
  for (const e of entries) {
    const key = entityOf(e);
    if (!key) continue;
    for (const consumer of consumers) {
      rows.push({ consumer, entity_key: formatKey(key), operation: e.operation, request_id: e.requestId ?? null, created_at: now, available_at: now });
    }
  }
  return rows;
}

/** Queue the changes among `entries` for every enabled consumer, in the caller's transaction. */
export async function enqueueAudited(db: Knex | Knex.Transaction, entries: readonly AuditEntry[]): Promise<void> {
  for (const part of chunk(outboxRowsOf(db, entries))) await db('outbox').insert(part);
}

/** Queue entities directly (a consumer asking for work it found itself, e.g. the memberships of a reactivated user). */
export async function enqueueKeys(db: Knex | Knex.Transaction, consumer: Consumer, keys: readonly EntityKey[], operation: string, now = Date.now()): Promise<void> {
  const rows = keys.map((k) => ({ consumer, entity_key: formatKey(k), operation, request_id: null, created_at: now, available_at: now }));
  for (const part of chunk(rows)) await db('outbox').insert(part);
}

/** A claimed head and the rows of the same entity waiting behind it: one delivery settles them all. */
export interface Delivery {
  id: number;
  entityKey: string;
  /** Every row this delivery settles, head first. */
  ids: number[];
  operations: string[];
  requestIds: string[];
  attempts: number;
  createdAt: number;
}

interface RawRow { id: number | string; entity_key: string; operation: string; request_id: string | null; attempts: number | string; created_at: number | string }

/**
 * Lease up to `limit` due heads to `owner` until `now + leaseMs`, the longest due first. A head whose lease ran out
 * (its instance died) is claimable again, which is why effects must be idempotent. The due index gives the rows in
 * that order, so a claim reads about as many rows as it takes however long the backlog is (on SQLite a claim runs on
 * the event loop: sorting a backlog of 100,000 rows there would stall every request). The rows behind each head are read after the lease is
 * taken, so the state the consumer then reads is at least as new as every row it settles.
 */
export async function claimDue(db: Knex, consumer: Consumer, owner: string, limit: number, now: number, leaseMs: number): Promise<Delivery[]> {
  const pg = dialectOf(db) === 'pg';
  const heads = await rawRows<RawRow>(db, `
    UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
    WHERE id IN (
      SELECT o.id FROM outbox o
      WHERE o.consumer = ? AND o.state = 'pending' AND o.available_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)
        AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.consumer = o.consumer AND p.entity_key = o.entity_key AND p.state = 'pending' AND p.id < o.id)
      ORDER BY o.available_at, o.id LIMIT ?${pg ? ' FOR UPDATE SKIP LOCKED' : ''})
    RETURNING id, entity_key, operation, request_id, attempts, created_at`,
  [owner, now + leaseMs, consumer, now, now, limit]);
  if (!heads.length) return [];
  const out = new Map<string, Delivery>();
  for (const h of heads) {
    out.set(h.entity_key, { id: Number(h.id), entityKey: h.entity_key, ids: [Number(h.id)], operations: [h.operation], requestIds: h.request_id ? [h.request_id] : [], attempts: Number(h.attempts), createdAt: Number(h.created_at) });
  }
  for (const part of chunk([...out.keys()])) {
    // By entity only (the state is checked here): given `state` too, SQLite's planner walks the due index over the
    // whole backlog instead of the entity index over these few entities.
    const behind = await rawRows<RawRow & { state: string }>(db, `
      SELECT id, entity_key, operation, request_id, attempts, created_at, state FROM outbox
      WHERE consumer = ? AND entity_key IN (${marks(part.length)}) ORDER BY id`, [consumer, ...part]);
    for (const r of behind) {
      const d = out.get(r.entity_key)!;
      if (r.state !== 'pending' || Number(r.id) <= d.id) continue;
      d.ids.push(Number(r.id));
      if (!d.operations.includes(r.operation)) d.operations.push(r.operation);
      if (r.request_id && !d.requestIds.includes(r.request_id)) d.requestIds.push(r.request_id);
    }
  }
  return [...out.values()].sort((a, b) => a.id - b.id);
}

/** Delivered: the rows are gone (the audit log keeps the record), and so are parked rows of the same entity, which a
 * later successful delivery has made true as well. Two instances settling the same rows (a lease that ran out
 * mid-delivery) both converged the entity, so either deleting them is right. Run it in the transaction that audits
 * the delivery. */
export async function settleDelivered(tx: Knex | Knex.Transaction, consumer: Consumer, d: Delivery): Promise<void> {
  for (const part of chunk(d.ids)) await tx('outbox').whereIn('id', part).where({ consumer }).delete();
  await tx('outbox').where({ consumer, entity_key: d.entityKey, state: 'parked' }).where('id', '<', d.id).delete();
}

/** Not now: the head goes back to pending after `at`, with the reason. `at` is rounded up to a whole millisecond:
 * the column is a bigint on PostgreSQL, which refuses a fraction (the worker's jittered backoff is one). */
export async function retryLater(db: Knex | Knex.Transaction, d: Delivery, at: number, error: string): Promise<void> {
  await db('outbox').where('id', d.id).update({ available_at: Math.ceil(at), lease_owner: null, lease_until: null, last_error: error.slice(0, 2000) });
}

/** Never by retrying: the head is parked with its reason and stops blocking its entity; the rows behind it stay
 * pending (each is a newer change of the entity, which may well succeed). */
export async function park(db: Knex | Knex.Transaction, d: Delivery, error: string): Promise<void> {
  await db('outbox').where('id', d.id).update({ state: 'parked', lease_owner: null, lease_until: null, last_error: error.slice(0, 2000) });
}

/** Whether an entity has a change of its own waiting (a dependency that its own delivery should send). */
export async function hasPending(db: Knex | Knex.Transaction, consumer: Consumer, key: EntityKey): Promise<boolean> {
  return !!(await db('outbox').where({ consumer, entity_key: formatKey(key), state: 'pending' }).first('id'));
}

/** Give back leases of this owner (graceful stop) so another instance need not wait for them to run out. */
export async function releaseLeases(db: Knex, owner: string): Promise<void> {
  await db('outbox').where({ lease_owner: owner }).update({ lease_owner: null, lease_until: null });
}

/** SQLite has a single process by design: at its start, every lease is a dead process's. */
export async function releaseAllLeases(db: Knex, consumer: Consumer): Promise<void> {
  await db('outbox').where({ consumer }).whereNotNull('lease_owner').update({ lease_owner: null, lease_until: null });
}

export interface OutboxRow {
  id: number; entityKey: string; operation: string; state: 'pending' | 'parked'; attempts: number;
  createdAt: number; availableAt: number; lastError: string | null; requestId: string | null; leased: boolean;
}

const toRow = (r: any, now: number): OutboxRow => ({
  id: Number(r.id), entityKey: r.entity_key, operation: r.operation, state: r.state, attempts: Number(r.attempts),
  createdAt: Number(r.created_at), availableAt: Number(r.available_at), lastError: r.last_error ?? null,
  requestId: r.request_id ?? null, leased: r.lease_until != null && Number(r.lease_until) > now,
});

export async function listOutbox(db: Knex, consumer: Consumer, q: { state?: 'pending' | 'parked'; afterId?: number; limit: number }): Promise<OutboxRow[]> {
  const qb = db('outbox').where({ consumer }).orderBy('id', 'asc').limit(q.limit);
  if (q.state) qb.where('state', q.state);
  if (q.afterId) qb.where('id', '>', q.afterId);
  const now = Date.now();
  return (await qb).map((r: any) => toRow(r, now));
}

export async function getOutboxRow(db: Knex | Knex.Transaction, consumer: Consumer, id: number): Promise<OutboxRow | undefined> {
  const r = await db('outbox').where({ consumer, id }).first();
  return r ? toRow(r, Date.now()) : undefined;
}

/** A parked row back in line, due now. */
export async function unpark(db: Knex | Knex.Transaction, consumer: Consumer, id: number, now: number): Promise<boolean> {
  return (await db('outbox').where({ consumer, id, state: 'parked' }).update({ state: 'pending', available_at: now, attempts: 0 })) > 0;
}

/** A parked row dropped for good. */
export async function discardParked(db: Knex | Knex.Transaction, consumer: Consumer, id: number): Promise<boolean> {
  return (await db('outbox').where({ consumer, id, state: 'parked' }).delete()) > 0;
}

export interface OutboxStats { pending: number; parked: number; oldestPendingAt: number | null; leased: number }

export async function outboxStats(db: Knex, consumer: Consumer, now = Date.now()): Promise<OutboxStats> {
  const rows = await db('outbox').where({ consumer }).groupBy('state')
    .select('state', db.raw('count(*) as n'), db.raw('min(created_at) as oldest'), db.raw('sum(case when lease_until > ? then 1 else 0 end) as leased', [now]));
  const by = new Map(rows.map((r: any) => [r.state, r]));
  const p: any = by.get('pending');
  return {
    pending: Number(p?.n ?? 0),
    parked: Number((by.get('parked') as any)?.n ?? 0),
    oldestPendingAt: p?.oldest != null ? Number(p.oldest) : null,
    leased: Number(p?.leased ?? 0),
  };
}

/**
 * Queue everything of the workspace for a consumer (adoption, or a connector switched on over an existing store):
 * teams, channels, people, then live memberships, each one set-based statement whatever the size.
 */
export async function enqueueWorkspace(db: Knex, consumer: Consumer, operation: string, now = Date.now()): Promise<void> {
  const cols = 'consumer, entity_key, operation, request_id, created_at, available_at, state, attempts';
  const vals = (key: string) => `?, ${key}, ?, NULL, ?, ?, 'pending', 0`;
  await db.transaction(async (tx) => {
    for (const [kind, from] of [['team', 'teams'], ['channel', 'channels'], ['user', 'users']] as const) {
      await tx.raw(`INSERT INTO outbox (${cols}) SELECT ${vals(`'${kind}:' || id`)} FROM ${from} ORDER BY id`, [consumer, operation, now, now]);
    }
    await tx.raw(`INSERT INTO outbox (${cols}) SELECT ${vals(`'team_member:' || team_id || ':' || user_id`)} FROM team_members WHERE removed_at IS NULL ORDER BY team_id, user_id`, [consumer, operation, now, now]);
    await tx.raw(`INSERT INTO outbox (${cols}) SELECT ${vals(`'channel_member:' || channel_id || ':' || user_id`)} FROM channel_members WHERE removed_at IS NULL ORDER BY channel_id, user_id`, [consumer, operation, now, now]);
  });
}
