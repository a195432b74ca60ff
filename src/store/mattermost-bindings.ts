/**
 * Which Mattermost account, team or channel each of ours is (the connector's id map). Mattermost's REST API has no
 * lookup by our ids (and none by auth_data before v11.8), so the map is the only way back; the unique index on
 * (kind, mm_id) keeps one Mattermost object from being bound to two of ours.
 */
import type { Knex } from 'knex';

export type BindingKind = 'user' | 'team' | 'channel';
export interface Binding { kind: BindingKind; localId: string; mmId: string; how: 'created' | 'adopted'; mmName: string | null; boundAt: number }

const out = (r: any): Binding => ({ kind: r.kind, localId: r.local_id, mmId: r.mm_id, how: r.how, mmName: r.mm_name ?? null, boundAt: Number(r.bound_at) });

export async function getBinding(db: Knex | Knex.Transaction, kind: BindingKind, localId: string): Promise<Binding | undefined> {
  const r = await db('mattermost_bindings').where({ kind, local_id: localId }).first();
  return r ? out(r) : undefined;
}

export async function getBindingByMmId(db: Knex | Knex.Transaction, kind: BindingKind, mmId: string): Promise<Binding | undefined> {
  const r = await db('mattermost_bindings').where({ kind, mm_id: mmId }).first();
  return r ? out(r) : undefined;
}

/**
 * Record a binding. Binding the same pair again is a no-op (a retried delivery); binding ours to a different
 * Mattermost id replaces the old one only when `replace` says so (reconcile found ours deleted by hand). Returns the
 * binding that holds afterwards. A Mattermost id already bound to another of ours raises the unique violation.
 */
export async function bind(db: Knex | Knex.Transaction, b: Omit<Binding, 'boundAt'>, opts: { replace?: boolean } = {}): Promise<Binding> {
  const row = { kind: b.kind, local_id: b.localId, mm_id: b.mmId, how: b.how, mm_name: b.mmName, bound_at: Date.now() };
  const q = db('mattermost_bindings').insert(row).onConflict(['kind', 'local_id']);
  await (opts.replace ? q.merge(['mm_id', 'how', 'mm_name', 'bound_at']) : q.ignore());
  return (await getBinding(db, b.kind, b.localId))!;
}

export async function setBoundName(db: Knex | Knex.Transaction, kind: BindingKind, localId: string, mmName: string): Promise<void> {
  await db('mattermost_bindings').where({ kind, local_id: localId }).update({ mm_name: mmName });
}

export async function unbind(db: Knex | Knex.Transaction, kind: BindingKind, localId: string): Promise<void> {
  await db('mattermost_bindings').where({ kind, local_id: localId }).delete();
}

/** A page of bindings of one kind, in local id order (reconcile walks them). */
export async function bindingPage(db: Knex, kind: BindingKind, after: string | null, limit: number): Promise<Binding[]> {
  const qb = db('mattermost_bindings').where({ kind }).orderBy('local_id').limit(limit);
  if (after) qb.where('local_id', '>', after);
  return (await qb).map(out);
}

export async function countBindings(db: Knex): Promise<Record<BindingKind, number>> {
  const rows = await db('mattermost_bindings').groupBy('kind').select('kind', db.raw('count(*) as n'));
  const by: Record<BindingKind, number> = { user: 0, team: 0, channel: 0 };
  for (const r of rows as any[]) by[r.kind as BindingKind] = Number(r.n);
  return by;
}

/** Live people who have no Mattermost account bound: after everything was delivered, those the connector never saw. */
export async function countUnboundUsers(db: Knex): Promise<number> {
  const r = await db('users as u').whereNull('u.deleted_at').where('u.active', true)
    .whereNotExists((q) => q.select(db.raw('1')).from('mattermost_bindings as b').where('b.kind', 'user').whereRaw('b.local_id = u.id'))
    .count({ n: '*' }).first();
  return Number((r as { n: unknown } | undefined)?.n ?? 0);
}
