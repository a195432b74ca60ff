/**
 * `token create|list|revoke`: the managed bearer tokens SCIM clients (Entra ID, Okta) and the admin API use.
 * A token is shown once, at creation, and stored only as its SHA-256 digest (src/store/tokens.ts).
 */
import type { Command } from 'commander';
import { createToken, listTokens, revokeToken, type Scope, type TokenRow } from '../store/tokens.js';
import { SCOPES } from '../store/scopes.js';
import { actor, CliError, note, withDb } from './context.js';
import { printList } from './output.js';


/** A token as `token list` shows it: ISO 8601 times, `revoked` null while live. */
const tokenOut = (r: TokenRow) => ({
  id: r.id, name: r.name, scope: r.scope,
  created: new Date(Number(r.created_at)).toISOString(),
  revoked: r.revoked_at ? new Date(Number(r.revoked_at)).toISOString() : null,
});

export function register(program: Command): void {
  const token = program.command('token').description('manage bearer tokens (stored hashed; shown once)');

  token
    .command('create')
    .description('create a token and print it alone on stdout')
    .requiredOption('--name <name>', 'a label for the client, e.g. entra or okta (1-100 characters)')
    .option('--scope <scope>', 'scim (SCIM), scim:read (SCIM reads only), admin (admin API, SCIM, metrics) or metrics (GET /metrics)', 'scim')
    .action(async (opts: { name: string; scope: string }) => {
      const name = opts.name.trim();
      if (!name || name.length > 100) throw new CliError('--name must be 1 to 100 characters');
      if (!SCOPES.includes(opts.scope as Scope)) throw new CliError(`--scope must be one of ${SCOPES.join(', ')}, got "${opts.scope}"`);
      await withDb(async (db) => {
        // Names identify tokens for `revoke`; two live tokens with one name would make that ambiguous.
        if ((await listTokens(db)).some((t) => t.name === name && !t.revoked_at)) {
          throw new CliError(`a live token named "${name}" exists; revoke it first or choose another name`);
        }
        const created = await createToken(db, name, opts.scope as Scope, actor());
        if (!created) throw new CliError('token id collision; run the command again');
        process.stdout.write(`${created.token}\n`);
        note(`created ${opts.scope} token "${name}" (id ${created.id}); it is shown once, store it now`);
      });
    });

  token
    .command('list')
    .description('list tokens: id, name, scope, created, revoked (never the token or its hash)')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      await withDb(async (db) => {
        const rows = (await listTokens(db)).map(tokenOut);
        printList(rows, ['id', 'name', 'scope', 'created', 'revoked'], opts);
      });
    });

  token
    .command('revoke')
    .description('revoke the live token(s) with this id or name; servers refuse it within a second')
    .argument('<id-or-name>', 'a token id from `token list`, or its name')
    .action(async (idOrName: string) => {
      await withDb(async (db) => {
        const n = await revokeToken(db, idOrName, actor());
        if (n === 0) throw new CliError(`no live token with id or name "${idOrName}"`);
        note(`revoked ${n} token${n === 1 ? '' : 's'}`);
      });
    });
}
