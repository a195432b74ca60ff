/**
 * Backup and restore of the SQLite store with SQLite's online backup API (https://www.sqlite.org/backup.html),
 * through better-sqlite3's `Database#backup`: the server keeps running and writing while a backup is taken.
 *
 * Consistency: the backup API restarts a copy whenever another connection writes the source between two steps, so a
 * copy made in small steps under steady SCIM writes may never finish. Every page is copied in ONE step instead: one
 * read transaction on the source, which in WAL mode (store/db.ts) sees one committed state and blocks no writer. The
 * copy is written to a temporary name in the target's directory and renamed into place only once it is whole and
 * checked, so a backup file that exists is a complete one.
 *
 * PostgreSQL stores are backed up with pg_dump and restored with pg_restore (README, "Backup and restore").
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { dialectOf, makeDirs } from './db.js';
import { knownMigrations, stem } from './migrations.js';
import { isDataTable } from './tables.js';

/** A backup or restore the operator asked for that cannot be done as asked (one line, no stack). */
export class BackupRefused extends Error {}

/** What a backup file (or the store it came from) holds. */
export interface StoreSnapshot {
  /** The newest migration applied: the schema version. */
  schema: string | null;
  /** Every migration applied, oldest first. */
  migrations: string[];
  /** Rows per data table (store/tables.ts). */
  counts: Record<string, number>;
}

export interface BackupResult extends StoreSnapshot { file: string; bytes: number }

/** Pages per backup step: all of them, so the copy is one read transaction (see above). */
const ALL_PAGES = 0x7fffffff;

/** The file an `sqlite:` DATABASE_URL names (resolved), or undefined for PostgreSQL and an in-memory database. */
export function sqliteFileOf(url: string): string | undefined {
  if (!url.startsWith('sqlite:')) return undefined;
  const file = url.slice('sqlite:'.length);
  return file === ':memory:' ? undefined : resolve(file);
}

/** Schema and row counts of an open SQLite database, read through its own connection. */
function snapshotOf(d: Database.Database): StoreSnapshot {
  const tables = d.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];
  const migrations = tables.includes('knex_migrations')
    ? (d.prepare('SELECT name FROM knex_migrations ORDER BY id').pluck().all() as string[]).map(stem)
    : [];
  const counts: Record<string, number> = {};
  for (const t of tables.filter(isDataTable)) counts[t] = Number(d.prepare(`SELECT count(*) FROM "${t.replace(/"/g, '""')}"`).pluck().get());
  return { schema: migrations.at(-1) ?? null, migrations, counts };
}

/** `PRAGMA integrity_check`'s complaints, or none when it says "ok" (https://www.sqlite.org/pragma.html#pragma_integrity_check). */
function integrityProblems(d: Database.Database): string[] {
  const rows = d.pragma('integrity_check') as { integrity_check: string }[];
  return rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
}

/** Flush a file or directory to disk, so a rename that follows a crash finds the copy it names. */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Put `tmp` at `target`: atomically refusing an existing file (a hard link fails if the name is taken) unless
 * `force`, which replaces it in one rename. A filesystem without hard links falls back to a check and a rename.
 */
function publish(tmp: string, target: string, force: boolean): void {
  if (force) return renameSync(tmp, target);
  try {
    linkSync(tmp, target);
    unlinkSync(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new BackupRefused(`${target} exists; pass --force to replace it`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
    if (existsSync(target)) throw new BackupRefused(`${target} exists; pass --force to replace it`);
    renameSync(tmp, target);
  }
}

/**
 * A consistent online backup of the SQLite store `db` (its own Knex connection does the copy) into the file `out`.
 * The copy is made self-contained (rollback journal, not WAL, so it is one file that opens read-only anywhere),
 * passes `PRAGMA integrity_check`, and is renamed to `out` only then; an existing `out` is refused unless `force`.
 */
export async function backupSqlite(db: Knex, out: string, opts: { force?: boolean } = {}): Promise<BackupResult> {
  if (dialectOf(db) === 'pg') throw new BackupRefused('backupSqlite needs an SQLite store');
  const source = resolve((db.client.config.connection as { filename: string }).filename);
  const target = resolve(out);
  if ([source, `${source}-wal`, `${source}-shm`, `${source}-journal`].includes(target)) {
    throw new BackupRefused(`--out ${target} is the store itself; write the backup to another file`);
  }
  const dir = dirname(target);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BackupRefused(`--out: directory ${dir} does not exist`);
  if (existsSync(target) && !opts.force) throw new BackupRefused(`${target} exists; pass --force to replace it`);

  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const conn = (await db.client.acquireConnection()) as Database.Database;
    try {
      await conn.backup(tmp, { progress: () => ALL_PAGES });
    } finally {
      await db.client.releaseConnection(conn);
    }
    const copy = new Database(tmp, { fileMustExist: true });
    let snapshot: StoreSnapshot;
    try {
      // The copy inherits the store's WAL mode; a backup file is better one self-contained file.
      copy.pragma('journal_mode = DELETE');
      const problems = integrityProblems(copy);
      if (problems.length) throw new Error(`the copy failed SQLite's integrity check: ${problems.slice(0, 3).join('; ')}`);
      snapshot = snapshotOf(copy);
    } finally {
      copy.close();
    }
    fsyncPath(tmp);
    publish(tmp, target, opts.force === true);
    fsyncPath(dir);
    return { file: target, bytes: statSync(target).size, ...snapshot };
  } finally {
    for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  }
}

/** Open a file as an SQLite database and read it, or refuse it as not one. */
function readDatabase<T>(file: string, what: string, read: (d: Database.Database) => T): T {
  let d: Database.Database | undefined;
  try {
    d = new Database(file, { readonly: true, fileMustExist: true });
    return read(d);
  } catch (err) {
    if (err instanceof BackupRefused) throw err;
    throw new BackupRefused(`${what} ${file} is not a readable SQLite database (${(err as Error).message})`);
  } finally {
    d?.close();
  }
}

/**
 * What the backup file `from` holds, checked: an SQLite database that passes `PRAGMA integrity_check`, made by this
 * server (it has Knex's migration table), with no migration this build does not know (a newer version took it).
 */
export function inspectBackup(from: string): StoreSnapshot {
  const file = resolve(from);
  if (!existsSync(file)) throw new BackupRefused(`--from: no file at ${file}`);
  return readDatabase(file, 'backup', (d) => {
    const problems = integrityProblems(d);
    if (problems.length) throw new BackupRefused(`backup ${file} fails SQLite's integrity check: ${problems.slice(0, 3).join('; ')}`);
    const snapshot = snapshotOf(d);
    if (!snapshot.migrations.length) throw new BackupRefused(`${file} is not a backup of this server (it has no migration records)`);
    const known = new Set(knownMigrations());
    const unknown = snapshot.migrations.filter((m) => !known.has(m));
    if (unknown.length) {
      throw new BackupRefused(`backup ${file} was taken by a newer version of this server (unknown migrations: ${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', ...' : ''}); restore it with that version or a later one`);
    }
    return snapshot;
  });
}

/**
 * The target of a restore must be empty: no file, an empty file, or a database whose data tables have no rows (a
 * store a server has only migrated). Anything else is refused, so a restore never mixes or overwrites data.
 */
function assertEmptyStore(target: string): void {
  if (!existsSync(target) || statSync(target).size === 0) return;
  const counts = readDatabase(target, 'the store', (d) => snapshotOf(d).counts);
  const held = Object.entries(counts).filter(([, n]) => n > 0);
  if (held.length) {
    throw new BackupRefused(`the store ${target} already holds data (${held.slice(0, 4).map(([t, n]) => `${t}: ${n}`).join(', ')}${held.length > 4 ? ', ...' : ''}); restore only into an empty store: point DATABASE_URL at a new file, or move this one away first`);
  }
}

/**
 * Copy the backup `from` into the empty SQLite store at `targetFile` (the backup API again, backup to store, so the
 * store's file is written under SQLite's locks in one transaction, never half-copied). Answers what the backup holds;
 * migrating the restored store up to this build is the caller's next step.
 */
export async function restoreSqlite(from: string, targetFile: string): Promise<StoreSnapshot> {
  const source = resolve(from);
  const target = resolve(targetFile);
  if (source === target) throw new BackupRefused(`--from ${source} is the store itself`);
  const snapshot = inspectBackup(source);
  assertEmptyStore(target);
  makeDirs(dirname(target));
  const d = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await d.backup(target, { progress: () => ALL_PAGES });
  } finally {
    d.close();
  }
  return snapshot;
}
