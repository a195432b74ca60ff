/**
 * `requests`: the request log from the command line, the same search as GET /admin/v1/requests (src/admin/requests.ts):
 * newest first, by status (4xx, 409), time range, method, actor, path prefix and request id; `requests summary` counts
 * per minute or hour and status class (`--since`, `--until`, `--bucket`). A table for a person, `--json` for a script (the admin API's items, or its
 * summary). `--since 1h` reads as "the last hour", which is what "why did that request fail?" needs.
 */
import type { Command } from 'commander';
import { cursorText, listRequests, parseCursor, parseStatusFilter, summarizeRequests, summaryWindow, type RequestRecord } from '../store/request-log.js';
import { instantOption } from './audit.js';
import { CliError, note, withDb } from './context.js';
import { printJson, printList, printTable } from './output.js';

interface RequestsOptions {
  status?: string; since?: string; until?: string; method?: string; actor?: string; path?: string; requestId?: string;
  limit: string; after?: string; bucket?: string; json?: boolean;
}

/** The filters only the listing takes, as their options are named. */
const LIST_ONLY: [keyof RequestsOptions, string][] = [['status', '--status'], ['method', '--method'], ['actor', '--actor'], ['path', '--path'], ['requestId', '--request-id'], ['after', '--after']];

function window(o: { since?: string | undefined; until?: string | undefined }): { since: number | undefined; until: number | undefined } {
  const since = instantOption('since', o.since);
  const until = instantOption('until', o.until);
  if (since !== undefined && until !== undefined && until <= since) throw new CliError('--until must be after --since');
  return { since, until };
}

export function register(program: Command): void {
  // One command with an optional `summary` rather than a subcommand: both take --since/--until, and commander would
  // give a parent's options to the parent wherever they stand.
  program.command('requests')
    .description('search the request log, newest first; `requests summary`: counts per minute or hour and status class')
    .argument('[summary]', '"summary": requests per minute or hour and status class (by default the last hour of minutes, or day of hours)')
    .option('--status <status>', 'a class (2xx, 4xx, 5xx) or a status code (409)')
    .option('--since <when>', 'from this instant: 2026-12-01, 2026-12-01T09:30:00Z, or a time ago (30m, 12h, 7d)')
    .option('--until <when>', 'before this instant (same forms)')
    .option('--method <method>', 'GET, POST, PUT, PATCH, DELETE...')
    .option('--actor <actor>', 'token:<SCIM token>, client:<OAuth client>, admin:<admin token>; a trailing * matches a prefix')
    .option('--path <prefix>', 'paths starting with this (/scim/v2/Users)')
    .option('--request-id <id>', 'the request with this X-Request-Id')
    .option('--limit <n>', 'at most this many rows (1-1000)', '100')
    .option('--after <cursor>', 'the page after this one (the cursor printed after a full page)')
    .option('--bucket <size>', 'summary: minute (default) or hour')
    .option('--json', 'print JSON instead of a table')
    .action(async (view: string | undefined, o: RequestsOptions) => {
      if (view !== undefined && view !== 'summary') throw new CliError(`unknown view "${view.slice(0, 40)}"; the only one is summary`);
      if (view === 'summary') return summaryCommand(o);
      if (o.bucket !== undefined) throw new CliError('--bucket is for `requests summary`');
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--limit must be an integer from 1 to 1000');
      const status = o.status === undefined ? {} : parseStatusFilter(o.status);
      if (!status) throw new CliError('--status must be a class (2xx, 4xx, 5xx) or a status code (409)');
      const cursor = o.after === undefined ? undefined : parseCursor(o.after);
      if (o.after !== undefined && !cursor) throw new CliError('--after must be the cursor printed after the previous page');
      if (o.method !== undefined && !/^[A-Za-z]{1,16}$/.test(o.method)) throw new CliError('--method must be an HTTP method');
      if (o.path !== undefined && !o.path.startsWith('/')) throw new CliError('--path must start with /');
      const { since, until } = window(o);
      await withDb(async (db) => {
        const rows = await listRequests(db, {
          limit, since, until, cursor, ...status,
          method: o.method?.toUpperCase(), actor: o.actor, pathPrefix: o.path, requestId: o.requestId,
        });
        printList<RequestRecord>(rows, ['at', 'status', 'method', { header: 'path', value: (r) => (r.params ? `${r.path}?${r.params}` : r.path), max: 60 }, 'ms', 'actor', 'client', { header: 'error', value: (r) => (r.errorType ? `${r.errorType}: ${r.detail ?? ''}` : r.detail), max: 60 }, 'requestId'], o);
        if (!o.json && rows.length === limit) note(`more: --after ${cursorText(rows[rows.length - 1]!)}`);
      });
    });
}

async function summaryCommand(o: RequestsOptions): Promise<void> {
  const other = LIST_ONLY.find(([k]) => o[k] !== undefined);
  if (other) throw new CliError(`${other[1]} filters the listing, not the summary`);
  const bucket = o.bucket ?? 'minute';
  if (bucket !== 'minute' && bucket !== 'hour') throw new CliError('--bucket must be minute or hour');
  const w = window(o);
  const range = summaryWindow(bucket, w.since, w.until);
  if (typeof range === 'string') throw new CliError(range.replace(/\bsince\b/, '--since').replace(/\buntil\b/, '--until'));
  await withDb(async (db) => {
    const s = await summarizeRequests(db, bucket, range);
    if (o.json) printJson(s);
    else printTable(s.buckets, ['start', 'total', '2xx', '3xx', '4xx', '5xx']);
  });
}
