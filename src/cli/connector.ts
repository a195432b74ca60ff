/**
 * `connector check|status|deliveries|retry|discard|adopt|reconcile`: the Mattermost connector from the command line,
 * through the same use-cases as the admin API (src/connector/). `check` is meant for before the first start: it
 * verifies MATTERMOST_URL, the token and its rights, and sends nothing. JSON results go to stdout, notes to stderr;
 * the audit actor is `admin:cli:<os user>`, as for the workspace commands.
 */
import type { Command } from 'commander';
import type { Knex } from 'knex';
import type { MattermostConfig } from '../config/index.js';
import { AppError } from '../errors/app-error.js';
import { createStreamLogger } from '../log.js';
import { adopt } from '../connector/adopt.js';
import { connectorCtx } from '../connector/index.js';
import type { ConnectorCtx } from '../connector/context.js';
import { discardDelivery, listDeliveries, retryAllParked, retryDelivery } from '../connector/deliveries.js';
import { MattermostFailure } from '../connector/mattermost-api.js';
import { reconcile } from '../connector/reconcile.js';
import { startProgress } from './progress.js';
import { checkMattermost, connectorStatus } from '../connector/status.js';
import { actor, CliError, note, withDb } from './context.js';
import { printJson } from './output.js';

const json = printJson;

const ID = /^[1-9]\d{0,14}$/;

function idOf(raw: string): number {
  if (!ID.test(raw)) throw new CliError(`"${raw.slice(0, 40)}" is not a delivery id (a positive integer from \`connector deliveries\`)`);
  return Number(raw);
}

/** The database, the settings of the connector (refused without MATTERMOST_URL) and the audit actor. */
async function withConnector<T>(fn: (db: Knex, cfg: MattermostConfig, who: string) => Promise<T>): Promise<T> {
  return withDb(async (db, config) => {
    if (!config.mattermost) throw new CliError('the Mattermost connector is not configured: set MATTERMOST_URL and MATTERMOST_TOKEN (in the environment or .env)');
    try {
      return await fn(db, config.mattermost, `admin:${actor()}`);
    } catch (err) {
      if (err instanceof AppError) throw new CliError(err.message);
      // An outage met mid-way (adopt, reconcile): Mattermost's words, which name the call and its status.
      if (err instanceof MattermostFailure) throw new CliError(/^Mattermost/.test(err.message) ? err.message : `Mattermost: ${err.message}`);
      throw err;
    }
  });
}

/** A context whose log lines (warnings only) go to stderr, never into the JSON on stdout. */
const ctxFor = (db: Knex, cfg: MattermostConfig, dryRun = false): ConnectorCtx => connectorCtx(db, cfg, createStreamLogger('warn', process.stderr), { dryRun });

export function register(program: Command): void {
  const connector = program.command('connector').description('the Mattermost connector: check, status, parked deliveries, adoption, reconcile');

  connector.command('check')
    .description('verify MATTERMOST_URL, the token and its permissions (sends nothing); exit 1 listing the problems')
    .action(async () => {
      await withConnector(async (db, cfg) => {
        const r = await checkMattermost(ctxFor(db, cfg));
        json(r);
        if (!r.ok) throw new CliError(`Mattermost at ${r.url} is not ready for the connector:\n${r.problems.map((p) => `  - ${p}`).join('\n') || '  - not reachable'}`);
        note(`ok: Mattermost ${r.version ?? '(version unknown)'} at ${r.url}; the token's owner ${r.tokenOwner} is a system admin`);
      });
    });

  connector.command('status')
    .description('Mattermost reachable, its version, token rights, outbox depth, oldest pending age, parked count')
    .action(async () => {
      await withConnector(async (db, cfg) => {
        // The last success is known to the server that delivered it (GET /admin/v1/connector), not to this process.
        json(await connectorStatus(ctxFor(db, cfg), null));
      });
    });

  connector.command('deliveries')
    .description('deliveries waiting or parked, oldest first (JSON; `next` is the --after of the next page)')
    .option('--state <state>', 'pending or parked (default: both)')
    .option('--limit <n>', 'at most this many (1-500)', '100')
    .option('--after <id>', 'deliveries after this id')
    .action(async (o: { state?: string; limit: string; after?: string }) => {
      if (o.state !== undefined && o.state !== 'pending' && o.state !== 'parked') throw new CliError('--state must be pending or parked');
      if (!/^\d+$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > 500) throw new CliError('--limit must be an integer from 1 to 500');
      const afterId = o.after === undefined ? undefined : idOf(o.after);
      await withConnector(async (db) => {
        json(await listDeliveries(db, { state: o.state as 'pending' | 'parked' | undefined, afterId, limit: Number(o.limit) }));
      });
    });

  connector.command('retry')
    .description('put a parked delivery (or, with --all-parked, every one) back in line; the server delivers it')
    .argument('[id]', 'a parked delivery id from `connector deliveries --state parked`')
    .option('--all-parked', 'every parked delivery')
    .action(async (id: string | undefined, o: { allParked?: boolean }) => {
      if (!!id === !!o.allParked) throw new CliError('give a delivery id or --all-parked (one of them)');
      await withConnector(async (db, _cfg, who) => {
        if (o.allParked) {
          const { retried } = await retryAllParked(db, who);
          json({ retried });
          note(`${retried} parked deliver${retried === 1 ? 'y' : 'ies'} back in line`);
          return;
        }
        json(await retryDelivery(db, idOf(id!), who));
        note(`delivery ${id} back in line`);
      });
    });

  connector.command('discard')
    .description('drop a parked delivery for good (Mattermost will not see that change)')
    .argument('<id>', 'a parked delivery id')
    .action(async (id: string) => {
      const n = idOf(id);
      await withConnector(async (db, _cfg, who) => {
        json(await discardDelivery(db, n, who));
        note(`delivery ${id} discarded`);
      });
    });

  connector.command('adopt')
    .description('bind ours to the accounts, teams and channels Mattermost already has (by email and name), then queue everything')
    .option('--dry-run', 'only report what would be bound, created and left alone')
    .action(async (o: { dryRun?: boolean }) => {
      await withConnector(async (db, cfg, who) => {
        const r = await adopt(ctxFor(db, cfg, !!o.dryRun), { actor: who });
        json(r);
        note(`${o.dryRun ? 'would bind' : 'bound'} ${r.bound.length}, already bound ${r.alreadyBound}, ${o.dryRun ? 'would create' : 'to create'} ${r.toCreate.length}, left alone ${r.leftAlone.count}`);
        if (!o.dryRun) note('everything is queued: the server delivers it');
      });
    });

  connector.command('reconcile')
    .description('compare Mattermost with the store and put Mattermost back in line (drift repair)')
    .option('--dry-run', 'only report the differences')
    .action(async (o: { dryRun?: boolean }) => {
      await withConnector(async (db, cfg, who) => {
        // A walk over every entity, one Mattermost call or more each: a running count with its rate.
        const progress = startProgress(o.dryRun ? 'connector reconcile (dry run)' : 'connector reconcile', 'entities');
        let r;
        try {
          r = await reconcile(ctxFor(db, cfg, !!o.dryRun), { actor: who, onChecked: (n) => progress.update(n) });
        } catch (err) {
          progress.abort();
          throw err;
        }
        progress.finish(`checked ${r.checked}, ${o.dryRun ? 'would fix' : 'fixed'} ${r.fixed}, failed ${r.failed}`, r.checked);
        json(r);
      });
    });
}
