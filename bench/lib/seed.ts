/**
 * A fresh database per run (a temp SQLite file, or a new PostgreSQL database that is dropped afterwards), migrated
 * and seeded with batch inserts. Setup is not what is measured, but the rows are the ones the server writes: users go
 * through the same mapping as createUser (user-lifecycle.ts), groups and members as createGroup (group-lifecycle.ts),
 * with their audit rows (but not the per-member ones: audit_log is only appended to on the measured paths).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { dialectOf, migrate, openDb } from '../../src/store/db.js';
import { userFromScim, userToScim } from '../../src/scim/shared/user-representation.js';
import { cleanUsername } from '../../src/scim/shared/username.js';
import { foldGroup, foldUser, foldValue } from '../../src/store/fold.js';

export type Store = 'sqlite' | 'pg';

export interface BenchDb { store: Store; url: string; drop(): Promise<void> }

export async function createDatabase(store: Store, pgAdminUrl: string): Promise<BenchDb> {
  if (store === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'scim-bench-'));
    return { store, url: `sqlite:${join(dir, 'scim.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `scim_bench_${randomBytes(5).toString('hex')}`;
  const admin = () => knexFactory({ client: 'pg', connection: pgAdminUrl, pool: { min: 0, max: 1 } });
  const k = admin();
  await k.raw(`CREATE DATABASE ${name}`).finally(() => k.destroy());
  const u = new URL(pgAdminUrl);
  u.pathname = `/${name}`;
  return {
    store,
    url: u.toString(),
    drop: async () => {
      const k2 = admin();
      await k2.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined).finally(() => k2.destroy());
    },
  };
}

export const userName = (i: number) => `user${i}@bench.example.com`;
export const spareName = (i: number) => `spare${i}@bench.example.com`;
export const externalId = (i: number) => `ext-${i}`;

/** The SCIM body an IdP would POST for user i (Entra's shape, clients.md E3). */
export function userBody(name: string, ext: string, n: number): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    externalId: ext,
    userName: name,
    active: true,
    displayName: `Bench User ${n}`,
    emails: [{ primary: true, type: 'work', value: name }],
    name: { formatted: `Bench User${n}`, familyName: `User${n}`, givenName: 'Bench' },
    title: 'Engineer',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Research', employeeNumber: String(100000 + n) },
  };
}

export interface Fixtures {
  size: number;
  /** Ids of the `size` seeded users, in order (user i has userName(i) and externalId(i)). */
  userIds: string[];
  /** Users in no group, for membership PATCHes. */
  spareIds: string[];
  smallGroup: { id: string; name: string; members: number };
  bigGroups: { id: string; name: string; members: number }[];
  emptyGroups: { id: string; name: string }[];
}

export const SPARE_USERS = 100;
const ACTOR = 'token:env-scim';
const BASE = 'http://127.0.0.1/scim/v2';

/**
 * Bulk insert on one raw connection, fast enough that 100,000-member groups seed in seconds: foreign-key checks off
 * for the load, secondary indexes dropped and rebuilt from their own DDL afterwards, prepared statements in one
 * transaction on SQLite, `INSERT ... SELECT FROM unnest(arrays)` per 10,000 rows on PostgreSQL.
 */
async function bulkLoad(db: Knex, tables: [string, Record<string, unknown>[]][]): Promise<void> {
  const sqlite = dialectOf(db) === 'sqlite';
  const conn: any = await db.client.acquireConnection();
  const all = async (sql: string, params: unknown[] = []): Promise<any[]> => (sqlite ? conn.prepare(sql).all(...params) : (await conn.query(sql, params)).rows);
  const exec = async (sql: string) => { if (sqlite) conn.exec(sql); else await conn.query(sql); };
  try {
    await exec(sqlite ? 'PRAGMA foreign_keys = OFF' : "SET session_replication_role = 'replica'");
    if (sqlite) conn.pragma('cache_size = -262144');
    for (const [table, rows] of tables) {
      if (!rows.length) continue;
      const indexes: { name: string; ddl: string }[] = sqlite
        ? await all("SELECT name, sql AS ddl FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", [table])
        : await all('SELECT indexname AS name, indexdef AS ddl FROM pg_indexes WHERE tablename = $1 AND indexname NOT IN (SELECT conname FROM pg_constraint)', [table]);
      for (const ix of indexes) await exec(`DROP INDEX ${ix.name}`);
      const cols = Object.keys(rows[0]!);
      const list = cols.map((c) => `"${c}"`).join(', ');
      if (sqlite) {
        const stmt = conn.prepare(`INSERT INTO ${table} (${list}) VALUES (${cols.map(() => '?').join(', ')})`);
        conn.transaction(() => { for (const r of rows) stmt.run(cols.map((c) => (typeof r[c] === 'boolean' ? Number(r[c]) : r[c]))); })();
      } else {
        const types = new Map((await all('SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1', [table])).map((r) => [r.column_name, r.data_type]));
        const sql = `INSERT INTO ${table} (${list}) SELECT * FROM unnest(${cols.map((c, i) => `$${i + 1}::${types.get(c)}[]`).join(', ')})`;
        for (let i = 0; i < rows.length; i += 10_000) {
          const part = rows.slice(i, i + 10_000);
          await conn.query(sql, cols.map((c) => part.map((r) => r[c])));
        }
      }
      for (const ix of indexes) await exec(ix.ddl);
    }
    // The live counts' triggers (migration 006) are off while PostgreSQL loads as a replica: count once instead.
    for (const [table, type] of [['users', 'User'], ['groups', 'Group']]) {
      await exec(`UPDATE live_counts SET n = CASE WHEN shard = 0 THEN (SELECT count(*) FROM ${table} WHERE deleted_at IS NULL) ELSE 0 END WHERE resource_type = '${type}'`);
    }
    // PostgreSQL's autovacuum would vacuum and analyze tables this size in production (vacuum sets the visibility map
    // that index-only scans need); SQLite never runs ANALYZE by itself.
    if (!sqlite) await exec('VACUUM ANALYZE');
  } finally {
    await exec(sqlite ? 'PRAGMA foreign_keys = ON' : "SET session_replication_role = 'origin'").catch(() => undefined);
    await db.client.releaseConnection(conn);
  }
}

/** Migrate the database and seed `size` users, SPARE_USERS spare users, and the bench groups. */
export async function seed(url: string, size: number, opts: { bigGroups: number; bigGroupSize: number }): Promise<Fixtures> {
  const db = openDb({ url, sqliteSynchronous: 'NORMAL' });
  try {
    await migrate(db);
    const now = Date.now();
    const users: Record<string, unknown>[] = [];
    const values: Record<string, unknown>[] = [];
    const audit: Record<string, unknown>[] = [];
    // Users arrive one millisecond apart, as if created over time (paging orders by created_at).
    const start = now - size - SPARE_USERS;
    const make = (name: string, ext: string, n: number): string => {
      const input = userFromScim(userBody(name, ext, n));
      const row = { ...input.fields, id: randomUUID(), username: cleanUsername(name), deactivated_at: null, deleted_at: null, created_at: start + n, updated_at: start + n, version: 1 };
      // Straight into the tables: the folds the store's writes add (store/fold.ts) are added here.
      users.push(foldUser(row));
      for (const v of input.values) values.push(foldValue({ ...v, user_id: row.id }));
      const { meta, ...out } = userToScim(row as any, input.values, BASE);
      audit.push({ at: row.created_at, actor: ACTOR, request_id: null, operation: 'create_user', resource_type: 'User', resource_id: row.id, cause: null, before: null, after: JSON.stringify({ ...out, username: row.username }) });
      return row.id;
    };
    const userIds = Array.from({ length: size }, (_, i) => make(userName(i), externalId(i), i));
    const spareIds = Array.from({ length: SPARE_USERS }, (_, i) => make(spareName(i), `spare-${i}`, size + i));

    const groups: Record<string, unknown>[] = [];
    const members: Record<string, unknown>[] = [];
    const group = (name: string, ids: string[]) => {
      const id = randomUUID();
      groups.push(foldGroup({ id, external_id: `gext-${name}`, display_name: name, created_at: now, updated_at: now, deleted_at: null, version: 1 }));
      audit.push({ at: now, actor: ACTOR, request_id: null, operation: 'create_group', resource_type: 'Group', resource_id: id, cause: null, before: null, after: JSON.stringify({ displayName: name, externalId: `gext-${name}` }) });
      for (const user_id of ids) members.push({ group_id: id, user_id, created_at: now });
      return { id, name, members: ids.length };
    };
    const smallGroup = group('bench-small', userIds.slice(0, 10));
    const big = userIds.slice(0, Math.min(opts.bigGroupSize, size));
    const bigGroups = Array.from({ length: opts.bigGroups }, (_, i) => group(`bench-big-${i}`, big));
    const emptyGroups = Array.from({ length: Math.max(1, opts.bigGroups) }, (_, i) => group(`bench-empty-${i}`, []));
    await bulkLoad(db, [['users', users], ['user_values', values], ['groups', groups], ['group_members', members], ['audit_log', audit]]);
    return { size, userIds, spareIds, smallGroup, bigGroups, emptyGroups };
  } finally {
    await db.destroy();
  }
}
