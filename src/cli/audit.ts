/**
 * `audit`: the audit search from the command line, the same search as GET /admin/v1/audit (src/admin/audit.ts):
 * newest first, by time range, actor, operation, resource and request id. A table for a person, `--json` for a
 * script; `--since 1d` reads as "the last day", which is what "what did Entra change yesterday?" needs.
 */
import type { Command } from 'commander';
import { AUDIT_OPERATIONS } from '../store/audit-entry.js';
import { listAudit, type AuditRecord } from '../store/audit.js';
import { parseInstant } from '../scim/shared/time.js';
import { CliError, note, withDb } from './context.js';
import { printList } from './output.js';

const AGO = /^(\d{1,6})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An instant: RFC 3339 / a date, or a duration back from now (`30m`, `12h`, `7d`). */
export function instantOption(name: string, text: string | undefined, now = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  const ago = AGO.exec(text);
  if (ago) return now - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS];
  const ms = parseInstant(text);
  if (ms === undefined) throw new CliError(`--${name} must be a date (2026-12-01), a date-time with an offset (2026-12-01T09:30:00Z) or a time ago (30m, 12h, 7d); got "${text.slice(0, 40)}"`);
  return ms;
}

interface AuditOptions {
  since?: string; until?: string; actor?: string; operation?: string; resourceType?: string; resourceId?: string;
  requestId?: string; limit: string; after?: string; oldestFirst?: boolean; json?: boolean;
}

export function register(program: Command): void {
  program.command('audit')
    .description('search the audit trail, newest first')
    .option('--since <when>', 'from this instant: 2026-12-01, 2026-12-01T09:30:00Z, or a time ago (30m, 12h, 7d)')
    .option('--until <when>', 'before this instant (same forms)')
    .option('--actor <actor>', 'who made the change: token:<SCIM token>, client:<OAuth client>, admin:<admin token>, admin:cli:<os user>, connector...; a trailing * matches a prefix')
    .option('--operation <ops>', 'one or more operations, comma-separated (create_user, deactivate_user, team_add...)')
    .option('--resource-type <type>', 'User, Group, Team, Channel, TeamMember, ChannelMember, Link, Token, Client, Connector')
    .option('--resource-id <id>', 'only rows about this resource (a user id for memberships)')
    .option('--request-id <id>', 'only rows written by this request (the X-Request-Id of a SCIM or admin call)')
    .option('--limit <n>', 'at most this many rows (1-1000)', '100')
    .option('--after <id>', 'the page after this audit id (the last id of the previous page)')
    .option('--oldest-first', 'oldest first instead of newest first')
    .option('--json', 'print JSON instead of a table')
    .action(async (o: AuditOptions) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--limit must be an integer from 1 to 1000');
      if (o.after !== undefined && !/^\d{1,15}$/.test(o.after)) throw new CliError('--after must be an audit id');
      const since = instantOption('since', o.since);
      const until = instantOption('until', o.until);
      if (since !== undefined && until !== undefined && until <= since) throw new CliError('--until must be after --since');
      const operations = o.operation?.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = operations?.find((op) => !(AUDIT_OPERATIONS as readonly string[]).includes(op));
      if (unknown !== undefined) throw new CliError(`unknown operation "${unknown.slice(0, 40)}"; one of ${AUDIT_OPERATIONS.join(', ')}`);
      await withDb(async (db) => {
        const rows = await listAudit(db, {
          limit, since, until, operations, order: o.oldestFirst ? 'asc' : 'desc',
          actor: o.actor, resourceType: o.resourceType, resourceId: o.resourceId, requestId: o.requestId,
          ...(o.after ? { cursor: Number(o.after) } : {}),
        });
        printList<AuditRecord>(rows, ['id', 'at', 'actor', 'operation', { header: 'resource', value: (r) => (r.resourceId ? `${r.resourceType}:${r.resourceId}` : r.resourceType) }, { header: 'cause', value: 'cause', max: 40 }, 'requestId'], o);
        if (!o.json && rows.length === limit) note(`more: --after ${rows[rows.length - 1]!.id}`);
      });
    });
}
