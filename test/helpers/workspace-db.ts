/**
 * Fixtures for engine-level tests: a migrated fresh database (SQLite or PostgreSQL) and small helpers that insert
 * users, groups and members the way the SCIM layer does, then call the real engine in a transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { bool, migrate, openDb } from '../../src/store/db.ts';
import { foldGroup, foldUser } from '../../src/store/fold.ts';
import { SyncEngine, type AuditCtx, type ReconcileStats } from '../../src/sync/engine.ts';
import type { MappingRule } from '../../src/workspace/mapping-file.ts';
import { groupRulesPort } from '../../src/workspace/group-rules.ts';
import type { ApplyGroupRules } from '../../src/scim/use-cases/context.ts';
import { createTeamTx } from '../../src/workspace/teams.ts';
import { createChannelTx } from '../../src/workspace/channels.ts';
import { linkTx } from '../../src/workspace/links.ts';
import { createDatabase, type Store, type TestDatabase } from './server.ts';

export const A: AuditCtx = { actor: 'test', requestId: 'req-1' };

export interface Fixture {
  db: Knex;
  sync: SyncEngine;
  /** The mapping rules of `opts.mappings`, as the group lifecycle calls them. */
  applyGroupRules: ApplyGroupRules;
  close(): Promise<void>;
  user(opts?: { active?: boolean }): Promise<string>;
  users(n: number): Promise<string[]>;
  group(name?: string): Promise<string>;
  join(groupId: string, userIds: string[]): Promise<void>;
  leave(groupId: string, userIds: string[]): Promise<void>;
  team(name: string, opts?: { constrained?: boolean }): Promise<string>;
  channel(teamId: string, name: string, opts?: { constrained?: boolean; type?: 'O' | 'P' }): Promise<string>;
  linkTeam(groupId: string, teamId: string, opts?: { autoAdd?: boolean; schemeAdmin?: boolean }): Promise<ReconcileStats>;
  linkChannel(groupId: string, channelId: string, opts?: { autoAdd?: boolean; schemeAdmin?: boolean }): Promise<ReconcileStats>;
  reconcile(scope?: { teamId?: string; channelId?: string; groupId?: string }, readdRemoved?: boolean): Promise<ReconcileStats>;
  teamMember(teamId: string, userId: string): Promise<{ active: boolean; schemeAdmin: boolean; addedBy: string; removedBy: string | null } | null>;
  channelMember(channelId: string, userId: string): Promise<{ active: boolean; schemeAdmin: boolean; addedBy: string; removedBy: string | null } | null>;
  channelIdByName(teamId: string, name: string): Promise<string>;
  tx<T>(fn: (tx: Knex.Transaction) => Promise<T>): Promise<T>;
}

export async function fixture(store: Store, opts: { mappings?: MappingRule[]; defaultChannels?: string[] } = {}): Promise<Fixture> {
  const tdb: TestDatabase = await createDatabase(store);
  const db = openDb({ url: tdb.url, sqliteSynchronous: 'NORMAL' });
  await migrate(db);
  const sync = new SyncEngine({ defaultChannels: opts.defaultChannels ?? ['town-square', 'off-topic'] });
  let n = 0;
  const tx = <T>(fn: (tx: Knex.Transaction) => Promise<T>) => db.transaction(fn);
  const member = (table: string, key: string) => async (id: string, userId: string) => {
    const r = await db(table).where({ [key]: id, user_id: userId }).first();
    return r ? { active: r.removed_at == null, schemeAdmin: bool(r.scheme_admin), addedBy: r.added_by, removedBy: r.removed_by } : null;
  };
  const f: Fixture = {
    db,
    sync,
    applyGroupRules: groupRulesPort(sync, opts.mappings ?? []),
    close: async () => { await db.destroy(); await tdb.drop(); },
    async user(o = {}) {
      const id = randomUUID();
      const now = Date.now();
      n++;
      await db('users').insert(foldUser({ id, user_name: `u${n}-${id}`, username: `u${n}-${id.slice(0, 8)}`, active: o.active ?? true, created_at: now, updated_at: now }));
      return id;
    },
    async users(count) {
      const now = Date.now();
      const rows = Array.from({ length: count }, () => { const id = randomUUID(); n++; return foldUser({ id, user_name: `u${n}-${id}`, username: `u${n}-${id.slice(0, 8)}`, active: true, created_at: now, updated_at: now }); });
      for (let i = 0; i < rows.length; i += 500) await db('users').insert(rows.slice(i, i + 500));
      return rows.map((r) => r.id);
    },
    async group(name) {
      const id = randomUUID();
      const now = Date.now();
      await db('groups').insert(foldGroup({ id, external_id: `ext-${id}`, display_name: name ?? `group-${id}`, created_at: now, updated_at: now }));
      return id;
    },
    async join(groupId, userIds) {
      await tx(async (t) => {
        const now = Date.now();
        for (let i = 0; i < userIds.length; i += 500) {
          await t('group_members').insert(userIds.slice(i, i + 500).map((user_id) => ({ group_id: groupId, user_id, created_at: now }))).onConflict(['group_id', 'user_id']).ignore();
        }
        await sync.membersAdded(t, groupId, userIds, A);
      });
    },
    async leave(groupId, userIds) {
      await tx(async (t) => {
        for (let i = 0; i < userIds.length; i += 500) await t('group_members').where({ group_id: groupId }).whereIn('user_id', userIds.slice(i, i + 500)).delete();
        await sync.membersRemoved(t, groupId, userIds, A);
      });
    },
    async team(name, o = {}) {
      return (await tx((t) => createTeamTx(t, sync, { name, displayName: name, groupConstrained: o.constrained ?? false }, A))).team.id;
    },
    async channel(teamId, name, o = {}) {
      return (await tx((t) => createChannelTx(t, teamId, { name, displayName: name, type: o.type ?? 'O', groupConstrained: o.constrained ?? false }, A))).id;
    },
    async linkTeam(groupId, teamId, o = {}) {
      return (await tx((t) => linkTx(t, sync, 'team', groupId, teamId, o, A))).reconcile;
    },
    async linkChannel(groupId, channelId, o = {}) {
      return (await tx((t) => linkTx(t, sync, 'channel', groupId, channelId, o, A))).reconcile;
    },
    async reconcile(scope = {}, readdRemoved = false) {
      return tx((t) => sync.reconcile(t, scope, { readdRemoved }, A));
    },
    teamMember: member('team_members', 'team_id'),
    channelMember: member('channel_members', 'channel_id'),
    async channelIdByName(teamId, name) {
      return (await db('channels').where({ team_id: teamId, name }).first('id')).id;
    },
    tx,
  };
  return f;
}
