/**
 * What every CLI command shares: the database the server uses (same settings, same migrations), the audit actor,
 * and how a command fails. Results go to stdout, everything meant for the operator's eyes to stderr, so
 * `token create` can be captured with `$(...)`.
 */
import { userInfo } from 'node:os';
import type { Knex } from 'knex';
import { ConfigError, loadConfig, loadDotEnv, type Config } from '../config/index.js';
import { openDb } from '../store/db.js';
import { migrateUp, NewerSchemaError } from '../store/migrations.js';
import { AppError } from '../errors/app-error.js';
import { enableOutbox } from '../store/outbox.js';

/** A failure the operator caused or can fix: printed as one line on stderr, exit code 1, no stack trace. */
export class CliError extends Error {}

/** Who ran the command, for the audit log (the OS user; there is no token on the command line). */
export function actor(): string {
  let name = 'unknown';
  try {
    name = userInfo().username || name;
  } catch {
    // no passwd entry (some containers): keep "unknown"
  }
  return `cli:${name}`.slice(0, 140);
}

/**
 * Open the database DATABASE_URL names (as the server does, `.env` included), migrate it (unless told not to), run `fn` with it and the
 * settings, close it. With MATTERMOST_URL set, changes made here are queued for the connector as the server's are
 * (a purge, a team created from the command line), and the server's worker delivers them.
 */
/** The settings the server would run with (`.env` included); a bad one is a CliError. */
export function cliConfig(): Config {
  loadDotEnv();
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`configuration error: ${err.message}`);
    throw err;
  }
}

export async function withDb<T>(fn: (db: Knex, config: Config) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  const config = cliConfig();
  const db = openDb({ url: config.databaseUrl, poolMax: 2, sqliteSynchronous: config.sqliteSynchronous, sqliteGroupCommit: config.sqliteGroupCommit });
  try {
    // `migrate status|down` look at the schema as it is; every other command brings it up to date first, as start-up does.
    if (opts.migrate !== false) {
      await migrateUp(db, config.databaseUrl).catch((err) => {
        throw err instanceof NewerSchemaError ? new CliError(err.message) : err;
      });
    }
    if (config.mattermost) enableOutbox(db, ['mattermost']);
    return await fn(db, config);
  } finally {
    await db.destroy().catch(() => undefined);
  }
}

/** A note for the operator: stderr, never stdout. */
export const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** `withDb` for a command that calls a use-case: its refusals (an AppError: not found, ambiguous...) print as one line. */
export async function withUseCase<T>(fn: (db: Knex, config: Config) => Promise<T>): Promise<T> {
  return withDb(async (db, config) => {
    try {
      return await fn(db, config);
    } catch (err) {
      if (err instanceof AppError) throw new CliError(err.message);
      throw err;
    }
  });
}
