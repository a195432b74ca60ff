/**
 * The schema's version: which migrations a database has, which it lacks, and which it has that this server does not
 * know (a newer server migrated it). Start-up migrates only a database it understands, and on PostgreSQL several
 * instances starting together take turns: one migrates, the others wait for it and then find nothing to do.
 */
import type { Knex } from 'knex';
import pg from 'pg';
import { dialectOf } from './db.js';
import { migrationFiles, stem } from './migration-source.js';

export interface SchemaStatus {
  /** Migrations the database has, oldest first (names without extension). */
  applied: string[];
  /** Migrations this server has that the database lacks. */
  pending: string[];
  /** Migrations the database has that this server does not know: it was migrated by a newer version. */
  unknown: string[];
  /** The newest applied migration: the schema version. */
  current: string | null;
}

/** A migration's name without its extension (knex_migrations records `.ts` or `.js` depending on the build). */
export { stem };

/** The migrations this server carries, oldest first (names without extension). */
export function knownMigrations(): string[] {
  return migrationFiles().map(stem);
}

export async function schemaStatus(db: Knex): Promise<SchemaStatus> {
  const known = knownMigrations();
  const applied = (await db.schema.hasTable('knex_migrations'))
    ? (await db('knex_migrations').orderBy('id').pluck('name')).map((n: string) => stem(n))
    : [];
  const have = new Set(applied);
  const knows = new Set(known);
  return {
    applied,
    pending: known.filter((m) => !have.has(m)),
    unknown: applied.filter((m) => !knows.has(m)),
    current: applied.at(-1) ?? null,
  };
}

/** The database is newer than this server: refuse rather than run against a schema it does not know. */
export class NewerSchemaError extends Error {
  constructor(readonly unknown: string[]) {
    super(`the database was migrated by a newer version of this server (unknown migrations: ${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', ...' : ''}); run the newer version, or restore a backup taken before it`);
  }
}

/** Key of the PostgreSQL advisory lock start-up migrations take (any constant no other code uses). */
const MIGRATION_LOCK = 7_201_512;

/**
 * Bring the schema up to date. On PostgreSQL a session advisory lock on a connection of its own (outside the pool,
 * so a pool of one cannot deadlock) makes concurrent instances take turns; without it the second instance fails on
 * Knex's lock table ("Migration table is already locked") instead of waiting.
 */
export async function migrateUp(db: Knex, databaseUrl: string): Promise<string[]> {
  const run = async () => {
    const status = await schemaStatus(db);
    if (status.unknown.length) throw new NewerSchemaError(status.unknown);
    if (!status.pending.length) return [];
    const [, names] = await db.migrate.latest();
    return (names as string[]).map(stem);
  };
  if (dialectOf(db) !== 'pg') return run();
  const lock = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return await run();
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.end().catch(() => undefined);
  }
}

/** Undo the newest migration (every migration here has a `down`); answers its name, or null when none is applied. */
export async function migrateDown(db: Knex): Promise<string | null> {
  const status = await schemaStatus(db);
  if (status.unknown.length) throw new NewerSchemaError(status.unknown);
  const [, names] = await db.migrate.down();
  return (names as string[]).map(stem)[0] ?? null;
}
