/**
 * Where the migrations come from, and the names Knex records for them. Knex's own file source names a migration by
 * its file, extension included, and compares those names with the rows of knex_migrations: a database migrated from
 * source (tsx, `20261122_001_core.ts`) would look unmigrated to the build (`20261122_001_core.js`), which would run
 * every migration again on tables that exist. This source lists the migrations next to this module (the `.ts` files
 * from source, the compiled `.js` files in dist/, never both) and names each one as the database already recorded
 * it, whatever the extension; a migration the database lacks is recorded under its file name. Nothing is rewritten
 * in the table, so older servers keep reading it as they did.
 */
import { readdirSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

const here = fileURLToPath(import.meta.url);

/** migrations/ beside src/: the repository's own when run from source, dist/migrations in a build. */
export const migrationsDir = resolve(dirname(here), '../../migrations');

/** `.ts` when this module runs from source, `.js` when compiled: the migrations are loaded in the same form. */
const OWN_EXTENSION = extname(here);

/** A migration's name without its extension: how the schema version, status and comparisons name it. */
export const stem = (name: string): string => name.replace(/\.(ts|js|mjs|cjs)$/, '');

/** The migration files this server carries, oldest first. */
export function migrationFiles(): string[] {
  return readdirSync(migrationsDir).filter((f) => /^\d/.test(f) && extname(f) === OWN_EXTENSION && !f.endsWith('.d.ts')).sort();
}

interface MigrationFile {
  file: string;
  /** The name in knex_migrations: the recorded one when the database has this migration, else the file name. */
  name: string;
}

/**
 * Knex asks for the list (getMigrations) before it takes its lock or opens a transaction, on the pool, so reading
 * knex_migrations here cannot wait on a connection the migrator holds (SQLite has one).
 */
export class MigrationFiles implements Knex.MigrationSource<MigrationFile> {
  constructor(private readonly db: () => Knex) {}

  async getMigrations(): Promise<MigrationFile[]> {
    const recorded = new Map<string, string>();
    const db = this.db();
    if (await db.schema.hasTable('knex_migrations')) {
      for (const name of (await db('knex_migrations').pluck('name')) as string[]) recorded.set(stem(name), name);
    }
    return migrationFiles().map((file) => ({ file, name: recorded.get(stem(file)) ?? file }));
  }

  getMigrationName(migration: MigrationFile): string {
    return migration.name;
  }

  async getMigration(migration: MigrationFile): Promise<Knex.Migration> {
    return (await import(pathToFileURL(join(migrationsDir, migration.file)).href)) as Knex.Migration;
  }
}
