/**
 * Connector scenarios: the Mattermost contract fake, a server pointed at it, waiting for the outbox to drain, and
 * the one check every scenario ends with: Mattermost holds exactly what the store says (people, their state and
 * attributes, teams, channels, and the memberships of managed people), read from the store's own tables and the
 * fake's state, not from the connector's reports.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { startFakeMattermost, type FakeMattermost, type FakeOptions } from '../fakes/mattermost/index.ts';
import { client, connect, createDatabase, PATCH_OP, startServer, type Store, type TestDatabase, type TestServer } from './server.ts';

export const FAST = { pollMs: 20, baseBackoffMs: 40, maxBackoffMs: 400 };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` every 25 ms until it answers something truthy (returned), or fail naming `what` after the timeout. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export interface ConnectorRig { mm: FakeMattermost; server: TestServer; db: TestDatabase; sql: Knex; stop(): Promise<void> }

export function mattermostEnv(mm: FakeMattermost, extra: Record<string, string> = {}): Record<string, string> {
  return { MATTERMOST_URL: mm.url, MATTERMOST_TOKEN: mm.adminToken, MATTERMOST_REQUEST_TIMEOUT: '2s', MATTERMOST_LEASE: '3s', ...extra };
}

export async function startRig(store: Store, env: Record<string, string> = {}, fake: FakeOptions = {}): Promise<ConnectorRig> {
  const mm = await startFakeMattermost({ enableApiUserDeletion: true, ...fake });
  const db = await createDatabase(store);
  const server = await startServer(store, db, { env: mattermostEnv(mm, env), connectorTuning: FAST });
  const sql = connect(db.url);
  return {
    mm, server, db, sql,
    async stop() {
      await server.stop();
      await sql.destroy();
      await db.drop();
      await mm.close();
    },
  };
}

/** A role mapping for connector scenarios (ROLE_MAPPING): Entra-style app role values to system roles. */
export const ROLE_MAPPING_ENV = { ROLE_MAPPING: 'Admin=admin,Guest=guest,User=member' };
/** The app role (as Entra sends it in `roles`, primary false) that ROLE_MAPPING_ENV maps to each system role. */
export const appRole = (role: 'member' | 'admin' | 'guest') => {
  const value = role === 'admin' ? 'Admin' : role === 'guest' ? 'Guest' : 'User';
  return { primary: false, type: 'WindowsAzureActiveDirectoryRole', display: value, value };
};

/** Give a person a system role as an IdP does: a SCIM PATCH replacing `roles` (the server audits `change_role`,
 * which queues the person for the connector). The rig needs ROLE_MAPPING_ENV. */
export async function setRole(rig: ConnectorRig, userId: string, role: 'member' | 'admin' | 'guest'): Promise<void> {
  const r = await client(rig.server).patch(`/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'roles', value: [appRole(role)] }] });
  assert.ok([200, 204].includes(r.status), r.text);
}

/** The roles Mattermost holds for a system role here, as a sorted list (model/user.go role ids). */
export function mmRolesFor(role: string | null | undefined): string[] {
  return role === 'admin' ? ['system_admin', 'system_user'] : role === 'guest' ? ['system_guest'] : ['system_user'];
}

/** Wait until nothing is pending in the outbox (parked rows do not count), or fail with what is left. */
export async function drained(sql: Knex, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = await sql('outbox').where({ state: 'pending' }).select('entity_key', 'attempts', 'last_error').limit(5);
    if (!left.length) return;
    if (Date.now() > end) assert.fail(`outbox not drained after ${timeoutMs} ms: ${JSON.stringify(left)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function parked(sql: Knex): Promise<{ entity_key: string; last_error: string }[]> {
  return sql('outbox').where({ state: 'parked' }).select('entity_key', 'last_error');
}

const bool = (v: unknown) => v === true || v === 1;

/** Mattermost mirrors the store. Deactivated people keep their Mattermost memberships (Mattermost's rule), so their
 * memberships are not compared. A live person's system role is (`rolesNotSent`: people whose role Mattermost was
 * unable to take, parked), and so are the scheme flags of every membership: a guest's are scheme_guest alone. */
export async function assertMirrors(sql: Knex, mm: FakeMattermost, opts: { unsendable?: Set<string>; rolesNotSent?: Set<string> } = {}): Promise<void> {
  const bindings = await sql('mattermost_bindings').select();
  const bound = (kind: string, id: string) => bindings.find((b: any) => b.kind === kind && b.local_id === id);
  const users = await sql('users').select();
  const liveUser = new Set<string>();
  for (const u of users) {
    const live = bool(u.active) && u.deleted_at == null;
    if (live) liveUser.add(u.id);
    const b = bound('user', u.id);
    if (!b) {
      assert.ok(!live || opts.unsendable?.has(u.id), `live user ${u.user_name} has no Mattermost account`);
      continue;
    }
    const m = mm.state.users.get(b.mm_id);
    assert.ok(m, `Mattermost account of ${u.user_name} is missing`);
    assert.equal(m.delete_at === 0, live, `${u.user_name}: active here ${live}, in Mattermost delete_at=${m.delete_at}`);
    assert.equal(m.email, (u.email ?? '').toLowerCase(), `${u.user_name}: email`);
    assert.equal(m.first_name, u.first_name ?? '', `${u.user_name}: first_name`);
    assert.equal(m.last_name, u.last_name ?? '', `${u.user_name}: last_name`);
    assert.equal(m.username, b.mm_name, `${u.user_name}: username recorded`);
    if (live && !opts.rolesNotSent?.has(u.id)) {
      const managed = m.roles.split(' ').filter((r) => ['system_user', 'system_admin', 'system_guest'].includes(r)).sort();
      assert.deepEqual(managed, mmRolesFor(u.system_role), `${u.user_name}: Mattermost roles "${m.roles}" for system role ${u.system_role}`);
    }
  }
  const guest = new Set(users.filter((u: any) => u.system_role === 'guest').map((u: any) => u.id));
  const teams = await sql('teams').select();
  for (const t of teams) {
    const b = bound('team', t.id);
    if (!b) {
      assert.ok(t.archived_at != null, `team ${t.name} is not in Mattermost`);
      continue;
    }
    const m = mm.state.teams.get(b.mm_id)!;
    assert.ok(m, `team ${t.name} missing in Mattermost`);
    assert.equal(m.delete_at === 0, t.archived_at == null, `team ${t.name} archived state`);
    assert.equal(m.display_name, t.display_name);
    assert.equal(m.type, t.type, `team ${t.name} type`);
  }
  const channels = await sql('channels').select();
  for (const c of channels) {
    const b = bound('channel', c.id);
    if (!b) {
      assert.ok(c.archived_at != null, `channel ${c.name} is not in Mattermost`);
      continue;
    }
    const m = mm.state.channels.get(b.mm_id)!;
    assert.ok(m, `channel ${c.name} missing in Mattermost`);
    assert.equal(m.delete_at === 0, c.archived_at == null, `channel ${c.name} archived state`);
    assert.equal(m.type, c.type, `channel ${c.name} type`);
  }
  const toLocal = new Map(bindings.filter((b: any) => b.kind === 'user').map((b: any) => [b.mm_id, b.local_id]));
  for (const [table, key, kind, mmMembers] of [['team_members', 'team_id', 'team', mm.state.teamMembers], ['channel_members', 'channel_id', 'channel', mm.state.channelMembers]] as const) {
    const rows = await sql(table).whereNull('removed_at').select(key, 'user_id', 'scheme_admin');
    for (const syncable of (kind === 'team' ? teams : channels)) {
      if (syncable.archived_at != null) continue;
      const b = bound(kind, syncable.id);
      if (!b) continue;
      // Flags as "admin/user/guest": a guest is a guest there and never an admin, whatever the store's admin flag.
      const flags = (userId: string, admin: boolean) => (guest.has(userId) ? 'admin=false user=false guest=true' : `admin=${admin} user=true guest=false`);
      const want = new Map(rows.filter((r: any) => r[key] === syncable.id && liveUser.has(r.user_id)).map((r: any) => [r.user_id, flags(r.user_id, bool(r.scheme_admin))]));
      const have = new Map<string, string>();
      for (const m of mmMembers.values() as Iterable<any>) {
        const of = kind === 'team' ? m.team_id : m.channel_id;
        if (of !== b.mm_id || (kind === 'team' && m.delete_at)) continue;
        const local = toLocal.get(m.user_id);
        if (local && liveUser.has(local)) have.set(local, `admin=${!!m.scheme_admin} user=${!!m.scheme_user} guest=${!!m.scheme_guest}`);
      }
      assert.deepEqual([...have.entries()].sort(), [...want.entries()].sort(), `${kind} ${syncable.name}: managed members (and their scheme flags) in Mattermost match the store`);
    }
  }
}
